/* idx.c - idx files (MNIST's format) through zlib's gz* calls, which read
 * gzipped and plain files alike; see idx.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/err.h"
#include "formats/idx.h"
#include "base/mem.h"

/* One gzread moves at most this much: its length is an unsigned and its
 * result an int. */
#define IDX_CHUNK ((size_t)1 << 30)

static const struct {
    int type;
    size_t size;        /* bytes per element in the file */
    int dtype;          /* tz dtype in memory */
    const char *name;
} IDX_TYPES[] = {
    { IDX_U8, 1, TZ_U8, "u8" },   { IDX_I8, 1, TZ_I32, "i8" },
    { IDX_I16, 2, TZ_I32, "i16" }, { IDX_I32, 4, TZ_I32, "i32" },
    { IDX_F32, 4, TZ_F32, "f32" }, { IDX_F64, 8, TZ_F64, "f64" },
};

static int type_index(int idx_type)
{
    for (int i = 0; i < (int)(sizeof IDX_TYPES / sizeof *IDX_TYPES); i++)
        if (IDX_TYPES[i].type == idx_type)
            return i;
    return -1;
}

int idx_dtype(int idx_type)
{
    int i = type_index(idx_type);
    return i < 0 ? 0 : IDX_TYPES[i].dtype;
}

int idx_type_parse(const char *name)
{
    for (size_t i = 0; i < sizeof IDX_TYPES / sizeof *IDX_TYPES; i++)
        if (!strcmp(name, IDX_TYPES[i].name))
            return IDX_TYPES[i].type;
    return 0;
}

int idx_type_for(int dtype)
{
    switch (dtype) {
    case TZ_U8: return IDX_U8;
    case TZ_I32: case TZ_I64: return IDX_I32;
    case TZ_F32: return IDX_F32;
    case TZ_F64: return IDX_F64;
    default: return 0;
    }
}

/* ---- reading --------------------------------------------------------- */

/* Read up to n bytes; returns how many (0 at the end of the file), or
 * ERR_* for a zlib error. */
static long long read_some(gzFile gz, const char *path, void *dst, size_t n)
{
    unsigned want = (unsigned)(n < IDX_CHUNK ? n : IDX_CHUNK);
    int got = gzread(gz, dst, want);
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    /* A gzip stream cut short is not a gzread error: it returns what it
     * has and leaves Z_BUF_ERROR for gzerror, as for a file still being
     * written.  Here the file is complete, so that is truncation. */
    if (got >= 0 && (unsigned)got < want && zerr == Z_BUF_ERROR)
        return err_set(ERR_DATA, "%s: truncated gzip data", path);
    if (got >= 0)
        return got;
    if (zerr == Z_ERRNO)
        return err_set(ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (zerr == Z_MEM_ERROR)
        return err_set(ERR_IO, "%s: out of memory", path);
    return err_set(ERR_DATA, "%s: corrupt gzip data: %s", path, msg);
}

/* Read exactly n bytes of what; ERR_DATA if the input ends first. */
static int read_all(gzFile gz, const char *path, void *dst, size_t n,
                       const char *what)
{
    size_t have = 0;
    while (have < n) {
        long long got = read_some(gz, path, (unsigned char *)dst + have,
                                     n - have);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return err_set(ERR_DATA, "%s: truncated %s: %zu of %zu bytes", path,
                           what, have, n);
        have += (size_t)got;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Turn count big-endian elements of type t at buf into tz elements, in
 * place: buf has room for count elements of the tz dtype.  Wider outputs
 * are filled from the end so no input is overwritten before it is read. */
static void convert_in(unsigned char *buf, size_t count, int t)
{
    switch (t) {
    case IDX_U8:
        break;
    case IDX_I8:
        for (size_t i = count; i-- > 0;) {
            int32_t v = (int8_t)buf[i];
            memcpy(buf + 4 * i, &v, 4);
        }
        break;
    case IDX_I16:
        for (size_t i = count; i-- > 0;) {
            int32_t v = (int16_t)(uint16_t)(buf[2 * i] << 8 | buf[2 * i + 1]);
            memcpy(buf + 4 * i, &v, 4);
        }
        break;
    case IDX_I32:
    case IDX_F32:
        for (size_t i = 0; i < count; i++) {
            uint32_t v = be32(buf + 4 * i);
            memcpy(buf + 4 * i, &v, 4);
        }
        break;
    case IDX_F64:
        for (size_t i = 0; i < count; i++) {
            uint64_t v = be64(buf + 8 * i);
            memcpy(buf + 8 * i, &v, 8);
        }
        break;
    }
}

/* Read the elements (total bytes in the file, out_bytes in memory) into a
 * new *data.  Memory grows with what arrives, so a header that lies about
 * the size cannot make us reserve gigabytes for a short file. */
static int read_elements(gzFile gz, const char *path, size_t total,
                         size_t out_bytes, unsigned char **data)
{
    unsigned char *buf = NULL;
    size_t have = 0, cap = 0;
    while (have < total) {
        if (have == cap) {
            size_t want = have < ((size_t)1 << 20) ? (size_t)1 << 20
                        : have > SIZE_MAX / 2 ? SIZE_MAX : 2 * have;
            size_t ncap = want < total ? want : total;
            unsigned char *p = realloc(buf, ncap);
            if (!p) {
                free(buf);
                return err_set(ERR_IO, "%s: out of memory for %zu bytes", path,
                               ncap);
            }
            buf = p;
            cap = ncap;
        }
        long long got = read_some(gz, path, buf + have, cap - have);
        if (got <= 0) {
            free(buf);
            if (got < 0)
                return (int)got;
            return err_set(ERR_DATA, "%s: truncated idx data: %zu of %zu bytes",
                           path, have, total);
        }
        have += (size_t)got;
    }
    unsigned char *p = realloc(buf, out_bytes ? out_bytes : 1);
    if (!p) {
        free(buf);
        return err_set(ERR_IO, "%s: out of memory for %zu bytes", path, out_bytes);
    }
    *data = p;
    return 0;
}

static int read_gz(gzFile gz, const char *path, int *dtype, int *rank,
                   uint64_t dims[TZ_RANK_MAX], void **data, int *idx_type)
{
    unsigned char head[4], d[4 * TZ_RANK_MAX];
    int rc = read_all(gz, path, head, 4, "idx header");
    if (rc < 0)
        return rc;
    if (head[0] != 0 || head[1] != 0)
        return err_set(ERR_DATA, "%s: not an idx file (bad magic %02x %02x)",
                       path, head[0], head[1]);
    int t = type_index(head[2]);
    if (t < 0)
        return err_set(ERR_DATA, "%s: unknown idx type 0x%02x", path, head[2]);
    if (head[3] > TZ_RANK_MAX)
        return err_set(ERR_DATA, "%s: idx rank %d exceeds %d", path, head[3],
                       TZ_RANK_MAX);
    int r = head[3];
    if ((rc = read_all(gz, path, d, 4 * (size_t)r, "idx dimensions")) < 0)
        return rc;
    size_t count = 1, total, out_bytes;
    for (int i = 0; i < r; i++) {
        dims[i] = be32(d + 4 * i);
        if (mem_mul(count, (size_t)dims[i], &count) < 0)
            return err_set(ERR_DATA, "%s: idx array size overflows", path);
    }
    if (mem_mul(count, IDX_TYPES[t].size, &total) < 0 ||
        mem_mul(count, tz_dtype_size(IDX_TYPES[t].dtype), &out_bytes) < 0)
        return err_set(ERR_DATA, "%s: idx array size overflows", path);
    unsigned char *buf = NULL;
    if ((rc = read_elements(gz, path, total, out_bytes, &buf)) < 0)
        return rc;
    /* Reading on to the end also makes zlib check the gzip trailer's CRC. */
    unsigned char extra;
    long long more = read_some(gz, path, &extra, 1);
    if (more != 0) {
        free(buf);
        return more < 0 ? (int)more
                        : err_set(ERR_DATA, "%s: bytes after the idx array", path);
    }
    convert_in(buf, count, IDX_TYPES[t].type);
    *dtype = IDX_TYPES[t].dtype;
    *rank = r;
    *data = buf;
    if (idx_type)
        *idx_type = IDX_TYPES[t].type;
    return 0;
}

int idx_read(const char *path, int *dtype, int *rank, uint64_t dims[TZ_RANK_MAX],
             void **data, int *idx_type)
{
    *data = NULL;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return err_set(ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1 << 17);
    int rc = read_gz(gz, path, dtype, rank, dims, data, idx_type);
    gzclose(gz);
    return rc;
}

/* ---- writing --------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Element i of data (tz dtype) as big-endian bytes of idx type t at p. */
static void convert_out(unsigned char *p, const void *data, size_t i, int t)
{
    switch (t) {
    case IDX_U8:
        *p = ((const unsigned char *)data)[i];
        break;
    case IDX_I8:
        *p = (unsigned char)((const int32_t *)data)[i];
        break;
    case IDX_I16: {
        uint16_t v = (uint16_t)((const int32_t *)data)[i];
        p[0] = (unsigned char)(v >> 8);
        p[1] = (unsigned char)v;
        break;
    }
    case IDX_I32:
    case IDX_F32: {
        uint32_t v;
        memcpy(&v, (const unsigned char *)data + 4 * i, 4);
        put_be32(p, v);
        break;
    }
    case IDX_F64: {
        uint64_t v;
        memcpy(&v, (const unsigned char *)data + 8 * i, 8);
        put_be32(p, (uint32_t)(v >> 32));
        put_be32(p + 4, (uint32_t)v);
        break;
    }
    }
}

int idx_write(FILE *f, int idx_type, int rank, const uint64_t *dims,
              const void *data, int dtype)
{
    int t = type_index(idx_type);
    if (t < 0)
        return err_set(ERR_USAGE, "unknown idx type 0x%02x", (unsigned)idx_type);
    if (IDX_TYPES[t].dtype != dtype)
        return err_set(ERR_USAGE, "idx type %s is written from %s data, not %s",
                       IDX_TYPES[t].name, tz_dtype_name(IDX_TYPES[t].dtype),
                       tz_dtype_name(dtype));
    if (rank < 0 || rank > TZ_RANK_MAX)
        return err_set(ERR_USAGE, "idx rank %d is not in 0..%d", rank, TZ_RANK_MAX);
    unsigned char head[4 + 4 * TZ_RANK_MAX] = { 0, 0, (unsigned char)idx_type,
                                                (unsigned char)rank };
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] > UINT32_MAX)
            return err_set(ERR_DATA, "dimension %d of %llu does not fit an idx "
                           "file's 32 bits", i, (unsigned long long)dims[i]);
        if (mem_mul(count, (size_t)dims[i], &count) < 0)
            return err_set(ERR_DATA, "idx array size overflows");
        put_be32(head + 4 + 4 * i, (uint32_t)dims[i]);
    }
    /* Check the narrow types first so a bad value leaves nothing written. */
    if (idx_type == IDX_I8 || idx_type == IDX_I16) {
        int32_t lo = idx_type == IDX_I8 ? INT8_MIN : INT16_MIN;
        int32_t hi = idx_type == IDX_I8 ? INT8_MAX : INT16_MAX;
        const int32_t *v = data;
        for (size_t i = 0; i < count; i++)
            if (v[i] < lo || v[i] > hi)
                return err_set(ERR_DATA, "element %zu is %ld, outside the range "
                               "of idx type %s", i, (long)v[i], IDX_TYPES[t].name);
    }
    size_t hlen = 4 + 4 * (size_t)rank;
    if (fwrite(head, 1, hlen, f) != hlen)
        return err_set(ERR_IO, "cannot write idx header: %s", strerror(errno));
    unsigned char buf[1 << 16];
    size_t size = IDX_TYPES[t].size, per = sizeof buf / size;
    for (size_t i = 0; i < count; i += per) {
        size_t n = count - i < per ? count - i : per;
        for (size_t k = 0; k < n; k++)
            convert_out(buf + k * size, data, i + k, idx_type);
        if (fwrite(buf, size, n, f) != n)
            return err_set(ERR_IO, "cannot write idx data: %s", strerror(errno));
    }
    return 0;
}
