/* mattr.h - a model file's settings, kept as text attributes of its one
 * record (so tzinfo shows them): written, and read back checked.
 *
 * A model file may be hostile: every getter checks that the attribute is
 * there, is a number of the right kind and lies in the range given, and
 * otherwise returns ERR_DATA with a message naming the attribute ("model
 * attribute 'width' is 99999, outside 1..65536"), so that a file is
 * checked before anything is allocated for it.  The interpolants' model
 * files (model.h) and the classifier's (classifier.h) share these. */
#ifndef MATTR_H
#define MATTR_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tz.h"

/* The one record of the model file at path into rec (initialised here;
 * the caller frees it on success, and it holds nothing on failure).  A
 * model file is whole: one record, then its end; ERR_DATA naming the file
 * if it holds none or more, or the reader's ERR_*. */
int mattr_read(const char *path, tz_record *rec);

/* Set key to v in full precision (%.17g).  0 or ERR_*. */
int mattr_set_num(tz_record *r, const char *key, double v);
/* Set key to the n numbers of v as "a,b,c".  0 or ERR_*. */
int mattr_set_list(tz_record *r, const char *key, const int *v, int n);

/* s itself if it is short and printable, for a one-line message. */
const char *mattr_shown(const char *s);

/* The attribute key's text (borrowed); ERR_DATA if missing or empty. */
int mattr_get_text(const tz_record *r, const char *key, const char **s);
/* The attribute key as a finite number in [lo, hi] (NaN too if nan_ok). */
int mattr_get_num(const tz_record *r, const char *key, double lo, double hi, int nan_ok,
                  double *v);
/* The attribute key as a whole number in decimal digits (no sign, no
 * exponent), at most hi. */
int mattr_get_u64(const tz_record *r, const char *key, uint64_t hi, uint64_t *v);

/* A whole-number setting: its key, where it goes, its range. */
typedef struct {
    const char *key;
    int *v;
    int lo, hi;
} mattr_int;

int mattr_get_int(const tz_record *r, const mattr_int *a);
/* A flag: 0 or 1. */
int mattr_get_flag(const tz_record *r, const char *key, int *v);
/* A printable name of fewer than n characters, copied to dst. */
int mattr_get_name(const tz_record *r, const char *key, char *dst, size_t n);
/* Exactly n comma-separated whole numbers in [lo, hi] into v. */
int mattr_get_list(const tz_record *r, const char *key, int n, int lo, int hi, int *v);

/* A command line's list "a,b,c": 1 to max whole numbers in [lo, hi] into
 * v.  How many, or ERR_USAGE with no message stored (v then partly
 * written). */
int mattr_parse_list(const char *list, int max, int lo, int hi, int *v);

#endif
