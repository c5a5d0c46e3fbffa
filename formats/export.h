/* export.h - a field of a tensor stream out to the other formats: images
 * (one sample, or the first n, as floats), a whole field for .npy and idx,
 * and CSV lines, one per sample.
 *
 * The stream functions read a tz_reader to the end (or as far as they
 * need) with a record of their own, and name the file and record in their
 * messages.  Outputs given by path go through out.h, so they appear whole
 * or not at all.  Like all of formats/ nothing here prints or exits:
 * 0 (or a count) or a negative ERR_* with err_set. */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "formats/batch.h"
#include "formats/img.h"
#include "formats/tz.h"

/* ---- fields and samples --------------------------------------------- */

/* Rows (samples) of t: its leading dimension, 1 for a scalar. */
uint64_t export_rows(const tz_tensor *t);

/* The per-sample (C, H, W) of a batch of images t, (N, C, H, W) with
 * 1 <= C <= 4 or (N, H, W) with C = 1.  0, or ERR_DATA "field 'NAME' is
 * not a batch of images ..." or, for a side outside 1..IMG_DIM_MAX,
 * "field 'NAME': images of WxH are outside 1..65535 pixels a side". */
int export_image_shape(const tz_tensor *t, int *c, int *h, int *w);

/* Row i of t as floats (u8 divided by 255, so images come out in [0, 1]).
 * dst holds a row's elements and is the caller's. */
void export_sample_f32(const tz_tensor *t, uint64_t i, float *dst);

/* The field name of rec, the record r just read; NULL with ERR_DATA
 * "FILE: record N: no field 'NAME'" if it has none.  Borrowed from rec. */
tz_tensor *export_field(const tz_reader *r, const tz_record *rec, const char *name);

/* ---- images --------------------------------------------------------- */

/* Images as floats, laid out (n, c, h, w). */
typedef struct {
    float *px;          /* owned: n*c*h*w floats; free with export_images_free */
    uint64_t n;
    int c, h, w;
} export_images;

/* Free im->px and zero *im (the struct is the caller's). */
void export_images_free(export_images *im);

/* Sample index of field (counted from 0 across records) as one image in
 * *out (n = 1), reading r no further than its record.  Returns 1; 0 if the
 * input ends first, with *rows the samples it had; or ERR_DATA (no field,
 * not images), ERR_IO (out of memory) or tz_read's error.  *out is zeroed
 * unless 1 is returned. */
int export_sample(tz_reader *r, const char *field, uint64_t index,
                  export_images *out, uint64_t *rows);

/* The first max samples of field (fewer if the input ends first: out->n
 * says how many, 0 for none) in *out, reading r no further than needed.
 * max floats of one image are allocated at the first record.  Returns 0;
 * ERR_DATA (no field, not images, "field 'NAME' changes image shape at
 * record N"), ERR_IO (out of memory) or tz_read's error, and then *out is
 * zeroed. */
int export_samples(tz_reader *r, const char *field, uint64_t max,
                   export_images *out);

/* Encode im as PNG (export_png) or as JPEG of quality 1..100
 * (export_jpeg) and write it to path ("-": standard output) through
 * out.h.  0, or the encoder's error, or ERR_IO naming the output. */
int export_png(const char *path, const img_image *im);
int export_jpeg(const char *path, const img_image *im, int quality);

/* ---- whole fields --------------------------------------------------- */

/* Read r to the end, stacking the rows of field from every record into acc
 * (batch_init'ed and empty; the caller batch_frees it): a scalar is one
 * row.  The field is then acc->rec.t[0].  0; ERR_DATA "FILE: record N:
 * field 'NAME' changes dtype or shape", or "no field 'NAME' in the input"
 * if there were no records; or the reader's or batch_append's error. */
int export_gather(tz_reader *r, const char *field, batch_acc *acc);

/* Write t to path as a .npy array (npy_write_header, then the data).
 * 0, or ERR_IO "PATH: ..." naming the output, or npy_write_header's
 * ERR_USAGE.  Nothing is left at path on error. */
int export_npy(const char *path, const tz_tensor *t);

/* Write t to path as an uncompressed idx file of type idx_type (IDX_*; 0:
 * idx_type_for its dtype), converting its elements to the dtype idx_write
 * takes.  0; ERR_DATA "field 'NAME' is DTYPE, which idx cannot hold" or
 * "field 'NAME': " and tz_convert's reason for a value the type cannot
 * hold; or idx_write's error; or ERR_IO naming the output.  Nothing is
 * left at path on error. */
int export_idx(const char *path, const tz_tensor *t, int idx_type);

/* ---- CSV ------------------------------------------------------------ */

/* Read r to the end and write to f one line per sample: the rows of the
 * comma-separated fields (NULL: every field of each record, in order),
 * flattened and side by side, as csv_write_values prints them.  With
 * header, the first line names the columns: "name" for a field of one
 * element a row, "name[k]" for each element k otherwise.  0; ERR_DATA (no
 * field; "FILE: record N: fields 'A' and 'B' have different numbers of
 * rows"), ERR_IO (out of memory) or the reader's error.  Write errors are
 * left in f's error flag for the caller's commit. */
int export_csv(tz_reader *r, const char *fields, int header, FILE *f);

#endif
