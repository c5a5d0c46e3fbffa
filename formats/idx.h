/* idx.h - the idx files of MNIST and Fashion-MNIST, plain or gzipped.
 *
 * An idx file is two zero bytes, a type byte, a rank byte, rank big-endian
 * u32 dimensions, then the elements big-endian in row-major order.  On
 * reading, elements become tz dtypes in host (little-endian) order: u8 stays
 * u8, the signed integer types widen to i32, f32 and f64 stay as they are.
 * The original type is reported too, so idx_write can reproduce the file
 * byte for byte. */
#ifndef IDX_H
#define IDX_H

#include <stdint.h>
#include <stdio.h>

#include "formats/tz.h"

enum {
    IDX_U8 = 0x08, IDX_I8 = 0x09, IDX_I16 = 0x0B, IDX_I32 = 0x0C,
    IDX_F32 = 0x0D, IDX_F64 = 0x0E
};

/* The tz dtype an idx type is read as (TZ_U8, TZ_I32, TZ_F32 or TZ_F64),
 * or 0 for an unknown type byte. */
int idx_dtype(int idx_type);

/* The IDX_* type named "u8", "i8", "i16", "i32", "f32" or "f64", or 0. */
int idx_type_parse(const char *name);

/* The idx type a tensor of tz dtype is written as when none is asked for:
 * the one whose idx_dtype it is, TZ_I64 as IDX_I32 (whose values must then
 * fit: tz_convert checks), or 0 for an unknown dtype. */
int idx_type_for(int dtype);

/* Read the idx file at path, gzip-compressed or not, whole: its tz dtype,
 * rank (0..TZ_RANK_MAX) and dims, and the elements in a new buffer *data
 * that the caller frees.  *idx_type (if idx_type is not NULL) gets the
 * file's type byte.  Returns 0; ERR_IO "PATH: cannot open: reason" or on a
 * read error; ERR_DATA "PATH: reason" for a bad magic or type, a rank over
 * TZ_RANK_MAX, a size that overflows, corrupt gzip data, truncation or
 * bytes after the array.  On error *data is NULL. */
int idx_read(const char *path, int *dtype, int *rank, uint64_t dims[TZ_RANK_MAX],
             void **data, int *idx_type);

/* Write an uncompressed idx file of type idx_type (IDX_*) to f from data of
 * tz dtype dtype, shaped (rank, dims): IDX_U8 takes TZ_U8; IDX_I8, IDX_I16
 * and IDX_I32 take TZ_I32; IDX_F32 takes TZ_F32; IDX_F64 takes TZ_F64.
 * Returns 0; ERR_USAGE for an unknown type, a dtype that does not go with
 * it or a bad rank; ERR_DATA if a dimension does not fit in 32 bits or a
 * value does not fit in i8 or i16 (checked before anything is written);
 * ERR_IO on a write error. */
int idx_write(FILE *f, int idx_type, int rank, const uint64_t *dims,
              const void *data, int dtype);

#endif
