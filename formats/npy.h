/* npy.h - NumPy's .npy array files: reading versions 1.0, 2.0 and 3.0,
 * writing 1.0 exactly as numpy.save does.
 *
 * Only little-endian C-order arrays of the tz dtypes are accepted:
 * '<f4' f32, '<f8' f64, '|u1' or '<u1' u8, '<i4' i32, '<i8' i64.  The
 * header is a Python dict literal, parsed here by hand: the reader takes
 * hostile input (it is fuzzed), so it never evaluates anything, caps the
 * header at NPY_HEADER_MAX bytes and checks every size it derives. */
#ifndef NPY_H
#define NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/tz.h"

#define NPY_HEADER_MAX (1u << 20)

typedef struct {
    int dtype;                  /* TZ_F32 ... TZ_I64 */
    int rank;                   /* 0 .. TZ_RANK_MAX */
    uint64_t dims[TZ_RANK_MAX];
} npy_header;

/* Read the magic, version and header dict of the array at f's position,
 * reading only forward (pipes work), and leave f at the first data byte.
 * Returns 0 or ERR_DATA with the reason (bad magic, unsupported version or
 * dtype, fortran_order True, malformed dict, rank over TZ_RANK_MAX, size
 * overflow, truncation); ERR_IO on a read error or out of memory. */
int npy_read_header(FILE *f, npy_header *h);

/* Bytes of the array h describes into *bytes.  0, or ERR_DATA if the size
 * does not fit in size_t. */
int npy_bytes(const npy_header *h, size_t *bytes);

/* Read a whole .npy array: the header into *h and the data into a new
 * buffer *data of *bytes bytes (little-endian, C order; the caller frees
 * *data, which is never NULL on success).  Memory grows with the data that
 * arrives, so a header that lies about its size costs nothing.  Returns 0,
 * ERR_DATA (as npy_read_header, or "truncated array: N of M bytes") or
 * ERR_IO; on error *data is NULL. */
int npy_read(FILE *f, npy_header *h, void **data, size_t *bytes);

/* Write the magic, version and header of an array of dtype and shape
 * (rank, dims) byte for byte as numpy.save does (version 1.0, or 2.0 if
 * the header would exceed 65535 bytes), ready for the caller to write the
 * little-endian C-order data after it.  Returns 0, ERR_USAGE (bad dtype or
 * rank) or ERR_IO (write error). */
int npy_write_header(FILE *f, int dtype, int rank, const uint64_t *dims);

#endif
