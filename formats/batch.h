/* batch.h - building batch records row by row.
 *
 * A batch_acc collects rows (samples) from batch records that share a
 * schema (same field names, dtypes and per-row shapes, in order) into one
 * growing record, so tools can re-batch, slice and shuffle streams.  The
 * accumulated record owns its data; attributes come from the first record
 * that contributed rows. */
#ifndef BATCH_H
#define BATCH_H

#include <stdint.h>

#include "formats/tz.h"

typedef struct {
    tz_record rec;                  /* the rows so far; kind TZ_BATCH */
    uint64_t rows;                  /* == tz_record_batch(&rec) once non-empty */
    uint64_t cap;                   /* rows allocated per tensor */
    int has_schema;
} batch_acc;

void batch_init(batch_acc *b);
void batch_free(batch_acc *b);
/* Forget the rows and the schema; keep nothing. */
void batch_reset(batch_acc *b);

/* 1 if src's fields match the accumulated schema (or there is none yet). */
int batch_compatible(const batch_acc *b, const tz_record *src);
/* Append rows [begin, end) of src.  src must be compatible.  0 or ERR_*. */
int batch_append(batch_acc *b, const tz_record *src, uint64_t begin, uint64_t end);
/* Remove the first n rows (n <= rows). */
void batch_drop_front(batch_acc *b, uint64_t n);
/* Point view (a record of borrowed tensors) at rows [begin, end) of src. */
void batch_view(tz_record *view, const tz_record *src, uint64_t begin, uint64_t end);
/* Swap rows i and j in every tensor. */
void batch_swap_rows(batch_acc *b, uint64_t i, uint64_t j);


/* Field f of record `at` of input `name` (as messages name them), checked
 * to be a batch of f32 samples (`who` names the tool in the message).  0
 * and *t set, or ERR_DATA with the reason. */
int batch_f32_field(const tz_record *rec, const char *name, uint64_t at, const char *f,
                    const char *who, const tz_tensor **t);
/* ERR_NUMERIC naming the sample (counting `before` samples of the input
 * before this record) if the first `rows` samples of t hold a NaN or Inf;
 * else 0. */
int batch_check_finite(const tz_tensor *t, uint64_t rows, const char *name, uint64_t at,
                       uint64_t before);

#endif
