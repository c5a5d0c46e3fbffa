/* npy.c - .npy reading and writing; see npy.h.  The format is NumPy's
 * NEP 1 ("A simple file format for NumPy arrays"): a 6-byte magic, a
 * version, a little-endian header length (2 bytes in 1.0, 4 in 2.0 and
 * 3.0), and the repr of a dict, padded so the data starts 64-aligned. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/npy.h"

static const unsigned char NPY_MAGIC[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
#define NPY_ALIGN 64
/* numpy >= 1.24 leaves room after the dict for the first dimension to grow
 * to this many digits, so a file can be appended to in place. */
#define NPY_GROWTH_DIGITS 21
#define NPY_DESCR_MAX 64

static const struct {
    const char *descr;
    int dtype;
} NPY_TYPES[] = {
    { "<f4", TZ_F32 }, { "<f8", TZ_F64 }, { "|u1", TZ_U8 }, { "<u1", TZ_U8 },
    { "<i4", TZ_I32 }, { "<i8", TZ_I64 },
};

/* The descr numpy writes for a tz dtype, or NULL. */
static const char *descr_of(int dtype)
{
    for (size_t i = 0; i < sizeof NPY_TYPES / sizeof *NPY_TYPES; i++)
        if (NPY_TYPES[i].dtype == dtype)
            return NPY_TYPES[i].descr;
    return NULL;
}

/* ---- the header dict ------------------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skip spaces, then take ch if it is next. */
static int take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal without escapes ('...' or "...") into dst. */
static int parse_string(cursor *c, char *dst, size_t cap, const char *what)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return err_set(ERR_DATA, "bad npy header: %s is not a string", what);
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n' || *c->p == '\0')
            return err_set(ERR_DATA, "bad npy header: unsupported character in "
                           "%s", what);
        if (n + 1 >= cap)
            return err_set(ERR_DATA, "bad npy header: %s longer than %zu "
                           "characters", what, cap - 1);
        dst[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return err_set(ERR_DATA, "bad npy header: unterminated string in %s", what);
    c->p++;
    dst[n] = '\0';
    return 0;
}

static int parse_bool(cursor *c, int *v)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *v = 1;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *v = 0;
    } else {
        return err_set(ERR_DATA, "bad npy header: fortran_order is not True "
                       "or False");
    }
    return 0;
}

/* A non-negative decimal integer; Python 2's numpy wrote a trailing L. */
static int parse_dim(cursor *c, uint64_t *v)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return err_set(ERR_DATA, "bad npy header: shape holds something other "
                       "than a non-negative integer");
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            return err_set(ERR_DATA, "bad npy header: dimension overflows 64 bits");
        x = x * 10 + d;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *v = x;
    return 0;
}

/* A tuple of dimensions: (), (5,), (3, 4) or (3, 4,). */
static int parse_shape(cursor *c, npy_header *h)
{
    if (!take(c, '('))
        return err_set(ERR_DATA, "bad npy header: shape is not a tuple");
    h->rank = 0;
    if (take(c, ')'))
        return 0;
    for (;;) {
        uint64_t d = 0;
        int rc = parse_dim(c, &d);
        if (rc < 0)
            return rc;
        if (h->rank == TZ_RANK_MAX)
            return err_set(ERR_DATA, "bad npy header: shape has more than %d "
                           "dimensions", TZ_RANK_MAX);
        h->dims[h->rank++] = d;
        int comma = take(c, ',');
        if (take(c, ')')) {
            /* "(5)" is a parenthesised int in Python, not a tuple. */
            if (h->rank == 1 && !comma)
                return err_set(ERR_DATA, "bad npy header: shape is not a tuple");
            return 0;
        }
        if (!comma)
            return err_set(ERR_DATA, "bad npy header: malformed shape tuple");
    }
}

/* Parse the dict in text[0..len) into h. */
static int parse_dict(const char *text, size_t len, npy_header *h)
{
    enum { DESCR = 1, FORTRAN = 2, SHAPE = 4 };
    cursor c = { text, text + len };
    char descr[NPY_DESCR_MAX + 1] = "", key[32];
    int seen = 0, fortran = 0, rc;
    if (!take(&c, '{'))
        return err_set(ERR_DATA, "bad npy header: not a dict");
    while (!take(&c, '}')) {
        if ((rc = parse_string(&c, key, sizeof key, "a key")) < 0)
            return rc;
        if (!take(&c, ':'))
            return err_set(ERR_DATA, "bad npy header: no ':' after key '%s'", key);
        int bit = strcmp(key, "descr") == 0 ? DESCR
                : strcmp(key, "fortran_order") == 0 ? FORTRAN
                : strcmp(key, "shape") == 0 ? SHAPE : 0;
        if (!bit)
            return err_set(ERR_DATA, "bad npy header: unknown key '%s'", key);
        if (seen & bit)
            return err_set(ERR_DATA, "bad npy header: key '%s' appears twice", key);
        seen |= bit;
        if (bit == DESCR)
            rc = parse_string(&c, descr, sizeof descr, "descr");
        else if (bit == FORTRAN)
            rc = parse_bool(&c, &fortran);
        else
            rc = parse_shape(&c, h);
        if (rc < 0)
            return rc;
        /* numpy ends every item with ", ", the last one too. */
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return err_set(ERR_DATA, "bad npy header: expected ',' or '}' "
                               "after key '%s'", key);
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return err_set(ERR_DATA, "bad npy header: %zu stray bytes after the dict",
                       (size_t)(c.end - c.p));
    if (!(seen & DESCR))
        return err_set(ERR_DATA, "bad npy header: no 'descr' key");
    if (!(seen & FORTRAN))
        return err_set(ERR_DATA, "bad npy header: no 'fortran_order' key");
    if (!(seen & SHAPE))
        return err_set(ERR_DATA, "bad npy header: no 'shape' key");
    h->dtype = 0;
    for (size_t i = 0; i < sizeof NPY_TYPES / sizeof *NPY_TYPES; i++)
        if (strcmp(descr, NPY_TYPES[i].descr) == 0)
            h->dtype = NPY_TYPES[i].dtype;
    if (!h->dtype)
        return err_set(ERR_DATA, "unsupported npy dtype '%s' (supported: <f4 <f8 "
                       "|u1 <i4 <i8, little-endian)", descr);
    if (fortran)
        return err_set(ERR_DATA, "npy array is in Fortran order "
                       "(fortran_order True); only C order is supported");
    size_t bytes;
    return npy_bytes(h, &bytes);
}

/* ---- reading --------------------------------------------------------- */

int npy_bytes(const npy_header *h, size_t *bytes)
{
    size_t n = tz_dtype_size(h->dtype);
    for (int i = 0; i < h->rank; i++)
        if (h->dims[i] > SIZE_MAX || mem_mul(n, (size_t)h->dims[i], &n) < 0)
            return err_set(ERR_DATA, "npy array size overflows");
    *bytes = n;
    return 0;
}

static int read_error(FILE *f, const char *what, size_t got, size_t want)
{
    if (ferror(f))
        return err_set(ERR_IO, "read error in %s: %s", what, strerror(errno));
    return err_set(ERR_DATA, "truncated %s: %zu of %zu bytes", what, got, want);
}

int npy_read_header(FILE *f, npy_header *h)
{
    unsigned char pre[12];
    size_t got;
    memset(h, 0, sizeof *h);
    if ((got = fread(pre, 1, 8, f)) < 8)
        return read_error(f, "npy magic", got, 8);
    if (memcmp(pre, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return err_set(ERR_DATA, "not a .npy file (bad magic)");
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        return err_set(ERR_DATA, "unsupported npy version %d.%d", major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if ((got = fread(pre + 8, 1, lenbytes, f)) < lenbytes)
        return read_error(f, "npy header length", got, lenbytes);
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (major > 1)
        hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if (hlen > NPY_HEADER_MAX)
        return err_set(ERR_DATA, "npy header of %u bytes exceeds the %u-byte cap",
                       hlen, NPY_HEADER_MAX);
    char *text = mem_alloc_array(hlen ? hlen : 1, 1);
    if (!text)
        return ERR_IO;
    int rc = 0;
    if ((got = fread(text, 1, hlen, f)) < hlen)
        rc = read_error(f, "npy header", got, hlen);
    else
        rc = parse_dict(text, hlen, h);
    free(text);
    return rc;
}

/* Growth step for data whose declared size is total and of which have
 * bytes have arrived: never allocate far beyond what has arrived. */
static size_t grow_to(size_t have, size_t total)
{
    size_t want = have < ((size_t)1 << 20) ? (size_t)1 << 20
                : have > SIZE_MAX / 2 ? SIZE_MAX : 2 * have;
    return want < total ? want : total;
}

int npy_read(FILE *f, npy_header *h, void **data, size_t *bytes)
{
    *data = NULL;
    *bytes = 0;
    size_t total = 0;
    int rc = npy_read_header(f, h);
    if (rc < 0 || (rc = npy_bytes(h, &total)) < 0)
        return rc;
    unsigned char *buf = NULL;
    size_t have = 0, cap = 0;
    while (have < total) {
        if (have == cap) {
            size_t ncap = grow_to(have, total);
            unsigned char *p = realloc(buf, ncap);
            if (!p) {
                free(buf);
                return err_set(ERR_IO, "out of memory for %zu bytes of npy data",
                               ncap);
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + have, 1, cap - have, f);
        have += got;
        if (got == 0) {
            free(buf);
            if (ferror(f))
                return err_set(ERR_IO, "read error in npy data: %s",
                               strerror(errno));
            return err_set(ERR_DATA, "truncated array: %zu of %zu bytes", have,
                           total);
        }
    }
    if (!buf && !(buf = malloc(1)))
        return err_set(ERR_IO, "out of memory");
    *data = buf;
    *bytes = total;
    return 0;
}

/* ---- writing --------------------------------------------------------- */

int npy_write_header(FILE *f, int dtype, int rank, const uint64_t *dims)
{
    const char *descr = descr_of(dtype);
    if (!descr)
        return err_set(ERR_USAGE, "no npy dtype for tz dtype %d", dtype);
    if (rank < 0 || rank > TZ_RANK_MAX)
        return err_set(ERR_USAGE, "npy rank %d is not in 0..%d", rank, TZ_RANK_MAX);
    /* Room for the dict, 8 dims of 20 digits, the growth spaces and up to a
     * full pad of 64; the text is at most a few hundred bytes, so the 2.0
     * branch below is numpy's rule kept for completeness. */
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{'descr': '%s', 'fortran_order': False, "
                                "'shape': (", descr);
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%llu",
                              i ? ", " : "", (unsigned long long)dims[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "%s), }",
                          rank == 1 ? "," : "");
    if (rank > 0) {
        int digits = snprintf(NULL, 0, "%llu", (unsigned long long)dims[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            text[n++] = ' ';
    }
    /* numpy pads with spaces and a final '\n' so that the magic, version,
     * length field and header end on a 64-byte boundary; an already aligned
     * length still gets a full 64 bytes of padding. */
    size_t lenbytes = 2, hlen = n + 1;
    size_t pad = NPY_ALIGN - (8 + lenbytes + hlen) % NPY_ALIGN;
    if (hlen + pad > 65535) {
        lenbytes = 4;
        pad = NPY_ALIGN - (8 + lenbytes + hlen) % NPY_ALIGN;
    }
    memset(text + n, ' ', pad);
    n += pad;
    text[n++] = '\n';
    unsigned char pre[12];
    memcpy(pre, NPY_MAGIC, sizeof NPY_MAGIC);
    pre[6] = lenbytes == 2 ? 1 : 2;
    pre[7] = 0;
    for (size_t i = 0; i < lenbytes; i++)
        pre[8 + i] = (unsigned char)(n >> (8 * i));
    if (fwrite(pre, 1, 8 + lenbytes, f) != 8 + lenbytes ||
        fwrite(text, 1, n, f) != n)
        return err_set(ERR_IO, "cannot write npy header: %s", strerror(errno));
    return 0;
}
