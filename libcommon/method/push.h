/* push.h - records' observations through a model's transport: the step
 * pushback(1) and restore(1) share.
 *
 * The observation field m->x1 and the model's side fields are read from
 * the records; the transport's result (same shape as x1) goes to a buffer
 * of the caller's. */
#ifndef PUSH_H
#define PUSH_H

#include <stdint.h>

#include "method/model.h"
#include "formats/tz.h"

typedef struct {
    int sde;            /* integrate the SDE */
    int method;         /* SI_EULER or SI_HEUN */
    int steps;
    uint64_t seed;
} push_opts;

/* Load the model at path for transport and fill o but its seed: method
 * "euler" or "heun"; sde must suit the model (an SDE needs gamma > 0 and
 * the combined drift or the denoiser head; a combined drift is only an
 * SDE's); the EMA weights replace the raw ones unless raw.  0, or ERR_USAGE
 * / ERR_DATA / ERR_IO (m then holds nothing). */
int push_load(model *m, const char *path, const char *method, int sde, int raw, int steps,
              push_opts *o);

/* The record's observation tensor, checked against the model (f32, the
 * model's values per sample); NULL with err_set naming `where`. */
const tz_tensor *push_observation(const model *m, const tz_record *rec, const char *where);

/* ---- groups of records --------------------------------------------------
 * The network runs on blocks of 64 rows with the stream's sample g at row
 * g mod 64 (si.h), so a record whose rows end inside a block leaves the
 * rest of it idle.  The tools therefore transport records in groups whose
 * rows end on a block's edge (or reach PUSH_GROUP_VALUES values, or the
 * input's end), and write each record as it came. */

enum { PUSH_GROUP_VALUES = 1 << 24 };

typedef struct {
    tz_record *rec;     /* the records in stream order, batch or not (owned) */
    char **where;       /* each one's "FILE: record N", for messages (owned) */
    int n, cap;         /* records held; allocated */
    uint64_t rows;      /* rows of the batch records */
} push_group;

/* Read the next records of r into g (emptied first): until their batch
 * rows, the first of which has stream index first, end on a multiple of
 * 64, or hold PUSH_GROUP_VALUES observation values of dim each, or the
 * input ends.  1 if g holds records, 0 at the end of the input, or an
 * ERR_* from the reader. */
int push_group_read(push_group *g, tz_reader *r, uint64_t first, int dim);
void push_group_free(push_group *g);

/* x (g->rows, dim) = the transport of the group's observations, the first
 * with stream index first (the SDE's noise is keyed by it), each record's
 * checked (push_observation) and its side fields gathered.  0, or
 * ERR_DATA (a missing or ill-shaped field), ERR_NUMERIC (NaN or Inf came
 * out), ERR_IO; the message names the record. */
int push_transport(model *m, const push_group *g, float *x, const push_opts *o,
                   uint64_t first);

/* Copy the group's rows of src, width values each, into the f32 field
 * `name` of each batch record, in order. */
void push_group_scatter(const push_group *g, const char *name, const float *src,
                        size_t width);

/* 0, or ERR_NUMERIC naming `where` and the sample if any of the n
 * samples of D values in x is NaN or Inf. */
int push_check_finite(const float *x, uint64_t n, size_t D, const char *where);

#endif
