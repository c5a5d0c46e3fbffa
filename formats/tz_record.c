/* tz_record.c - the in-memory record: tensors, attributes, validation.
 * The byte layout lives in tz.c; this file knows nothing of it. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/tz.h"

static const struct {
    const char *name;
    size_t size;
} g_dtypes[TZ_DTYPE_COUNT] = {
    [TZ_F32] = { "f32", 4 }, [TZ_F64] = { "f64", 8 }, [TZ_U8] = { "u8", 1 },
    [TZ_I32] = { "i32", 4 }, [TZ_I64] = { "i64", 8 },
};

size_t tz_dtype_size(int dtype)
{
    return dtype > 0 && dtype < TZ_DTYPE_COUNT ? g_dtypes[dtype].size : 0;
}

const char *tz_dtype_name(int dtype)
{
    return dtype > 0 && dtype < TZ_DTYPE_COUNT ? g_dtypes[dtype].name : "?";
}

int tz_dtype_parse(const char *name)
{
    for (int d = 1; d < TZ_DTYPE_COUNT; d++)
        if (strcmp(name, g_dtypes[d].name) == 0)
            return d;
    return 0;
}

static double get_as_double(const void *p, int dtype, uint64_t i)
{
    switch (dtype) {
    case TZ_F32: return ((const float *)p)[i];
    case TZ_F64: return ((const double *)p)[i];
    case TZ_U8: return ((const uint8_t *)p)[i];
    case TZ_I32: return ((const int32_t *)p)[i];
    default: return (double)((const int64_t *)p)[i];
    }
}

int tz_convert(const void *src, int from, void *dst, int to, uint64_t n)
{
    if (from == to) {
        memcpy(dst, src, (size_t)n * tz_dtype_size(from));
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        /* i64 to i64 never reaches here; other paths fit a double exactly
         * except i64 beyond 2^53, which the range check below catches. */
        double v = get_as_double(src, from, i);
        double lo = to == TZ_U8 ? 0 : to == TZ_I32 ? -2147483648.0 : -9223372036854775808.0;
        double hi = to == TZ_U8 ? 255 : to == TZ_I32 ? 2147483647.0 : 9223372036854774784.0;
        switch (to) {
        case TZ_F32: ((float *)dst)[i] = (float)v; continue;
        case TZ_F64: ((double *)dst)[i] = v; continue;
        default:
            if (!(v >= lo && v <= hi) || v != (double)(int64_t)v)
                return err_set(ERR_DATA, "element %llu (%.17g) is not a whole "
                               "number that %s can hold", (unsigned long long)i, v,
                               tz_dtype_name(to));
        }
        if (to == TZ_U8)
            ((uint8_t *)dst)[i] = (uint8_t)v;
        else if (to == TZ_I32)
            ((int32_t *)dst)[i] = (int32_t)v;
        else
            ((int64_t *)dst)[i] = (int64_t)v;
    }
    return 0;
}

int tz_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > TZ_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '=' || c == ',')
            return 0;
    }
    return 1;
}

void tz_record_init(tz_record *rec, int kind)
{
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
}

void tz_record_clear(tz_record *rec)
{
    for (int i = 0; i < rec->ntensors; i++)
        if (rec->t[i].owned)
            free(rec->t[i].data);
    for (int i = 0; i < rec->nattrs; i++) {
        free(rec->a[i].key);
        free(rec->a[i].val);
    }
    rec->ntensors = 0;
    rec->nattrs = 0;
}

void tz_record_free(tz_record *rec)
{
    tz_record_clear(rec);
    free(rec->buf);
    rec->buf = NULL;
    rec->cap = 0;
}

uint64_t tz_tensor_count(const tz_tensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

double tz_tensor_get(const tz_tensor *t, uint64_t i)
{
    switch (t->dtype) {
    case TZ_F32: return ((const float *)t->data)[i];
    case TZ_F64: return ((const double *)t->data)[i];
    case TZ_U8: return ((const uint8_t *)t->data)[i];
    case TZ_I32: return ((const int32_t *)t->data)[i];
    case TZ_I64: return (double)((const int64_t *)t->data)[i];
    default: return NAN;
    }
}

size_t tz_tensor_row_bytes(const tz_tensor *t)
{
    size_t n = tz_dtype_size(t->dtype);
    for (int i = 1; i < t->rank; i++)
        n *= (size_t)t->dims[i];
    return n;
}

size_t tz_tensor_bytes(const tz_tensor *t)
{
    return (size_t)tz_tensor_count(t) * tz_dtype_size(t->dtype);
}

const char *tz_shape_text(const uint64_t *dims, int rank, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%" PRIu64, i ? "," : "", dims[i]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
    return buf;
}

/* Validate one tensor's shape: known dtype, rank within caps, and the
 * element size times the product of the non-zero dims at most the payload
 * cap (tz(5)), so that no partial product (a row's bytes, say) can
 * overflow even in an empty tensor.  The byte size goes to *bytes. */
static int check_shape(const char *name, int dtype, int rank,
                       const uint64_t *dims, uint64_t *bytes)
{
    size_t esize = tz_dtype_size(dtype);
    if (!esize)
        return err_set(ERR_DATA, "tensor '%s': unknown dtype code %d", name, dtype);
    if (rank < 0 || rank > TZ_RANK_MAX)
        return err_set(ERR_DATA, "tensor '%s': rank %d exceeds %d", name, rank,
                       TZ_RANK_MAX);
    uint64_t n = esize;
    int empty = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0) {
            empty = 1;
            continue;
        }
        if (n > TZ_PAYLOAD_MAX / dims[i])
            return err_set(ERR_DATA, "tensor '%s': shape overflows the %llu-byte "
                           "payload cap at axis %d (size %llu)", name,
                           (unsigned long long)TZ_PAYLOAD_MAX, i,
                           (unsigned long long)dims[i]);
        n *= dims[i];
    }
    if (n > SIZE_MAX)
        return err_set(ERR_DATA, "tensor '%s': %llu bytes exceeds this host's "
                       "address space", name, (unsigned long long)n);
    *bytes = empty ? 0 : n;
    return 0;
}

tz_tensor *tz_record_add(tz_record *rec, const char *name, int dtype,
                         int rank, const uint64_t *dims, void *data)
{
    uint64_t bytes;
    if (!tz_name_valid(name, strlen(name))) {
        err_set(ERR_DATA, "invalid tensor name '%.64s'", name);
        return NULL;
    }
    if (tz_record_find(rec, name)) {
        err_set(ERR_DATA, "duplicate tensor name '%s'", name);
        return NULL;
    }
    if (rec->ntensors >= TZ_TENSORS_MAX) {
        err_set(ERR_DATA, "more than %d tensors in a record", TZ_TENSORS_MAX);
        return NULL;
    }
    if (check_shape(name, dtype, rank, dims, &bytes) < 0)
        return NULL;
    tz_tensor *t = &rec->t[rec->ntensors];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->dtype = dtype;
    t->rank = rank;
    if (rank > 0)       /* dims may be NULL for a scalar */
        memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    if (data) {
        t->data = data;
    } else {
        t->data = mem_calloc_array((size_t)bytes, 1);
        if (!t->data)
            return NULL;
        t->owned = 1;
    }
    rec->ntensors++;
    return t;
}

void tz_record_remove(tz_record *rec, int i)
{
    if (rec->t[i].owned)
        free(rec->t[i].data);
    memmove(&rec->t[i], &rec->t[i + 1],
            (size_t)(rec->ntensors - i - 1) * sizeof rec->t[0]);
    rec->ntensors--;
}

tz_tensor *tz_record_find(const tz_record *rec, const char *name)
{
    for (int i = 0; i < rec->ntensors; i++)
        if (strcmp(rec->t[i].name, name) == 0)
            return (tz_tensor *)&rec->t[i];
    return NULL;
}

int tz_record_set_attr(tz_record *rec, const char *key, const char *val)
{
    if (!tz_name_valid(key, strlen(key)))
        return err_set(ERR_DATA, "invalid attribute key '%.64s'", key);
    if (strlen(val) > TZ_VALUE_MAX)
        return err_set(ERR_DATA, "attribute '%s': value longer than %d bytes",
                       key, TZ_VALUE_MAX);
    char *v = strdup(val);
    if (!v)
        return err_set(ERR_IO, "out of memory");
    for (int i = 0; i < rec->nattrs; i++)
        if (strcmp(rec->a[i].key, key) == 0) {
            free(rec->a[i].val);
            rec->a[i].val = v;
            return 0;
        }
    if (rec->nattrs >= TZ_ATTRS_MAX) {
        free(v);
        return err_set(ERR_DATA, "more than %d attributes in a record",
                       TZ_ATTRS_MAX);
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return err_set(ERR_IO, "out of memory");
    }
    rec->a[rec->nattrs].key = k;
    rec->a[rec->nattrs].val = v;
    rec->nattrs++;
    return 0;
}

int tz_record_set_attr_u64(tz_record *rec, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return tz_record_set_attr(rec, key, buf);
}

void tz_record_remove_attr(tz_record *rec, const char *key)
{
    for (int i = 0; i < rec->nattrs; i++)
        if (strcmp(rec->a[i].key, key) == 0) {
            free(rec->a[i].key);
            free(rec->a[i].val);
            memmove(&rec->a[i], &rec->a[i + 1],
                    (size_t)(rec->nattrs - i - 1) * sizeof rec->a[0]);
            rec->nattrs--;
            return;
        }
}

const char *tz_record_attr(const tz_record *rec, const char *key)
{
    for (int i = 0; i < rec->nattrs; i++)
        if (strcmp(rec->a[i].key, key) == 0)
            return rec->a[i].val;
    return NULL;
}

uint64_t tz_record_batch(const tz_record *rec)
{
    if (rec->kind != TZ_BATCH || rec->ntensors == 0 || rec->t[0].rank == 0)
        return 0;
    return rec->t[0].dims[0];
}

int tz_record_check(const tz_record *rec)
{
    if (rec->kind != TZ_BATCH && rec->kind != TZ_PLAIN)
        return err_set(ERR_DATA, "record kind %d is not a data record", rec->kind);
    uint64_t total = 0;
    for (int i = 0; i < rec->ntensors; i++) {
        const tz_tensor *t = &rec->t[i];
        uint64_t bytes;
        if (!tz_name_valid(t->name, strlen(t->name)))
            return err_set(ERR_DATA, "invalid tensor name '%.64s'", t->name);
        for (int j = 0; j < i; j++)
            if (strcmp(rec->t[j].name, t->name) == 0)
                return err_set(ERR_DATA, "duplicate tensor name '%s'", t->name);
        if (check_shape(t->name, t->dtype, t->rank, t->dims, &bytes) < 0)
            return ERR_DATA;
        if (rec->kind == TZ_BATCH) {
            if (t->rank == 0)
                return err_set(ERR_DATA, "tensor '%s': a batch record's tensors "
                               "need a leading batch axis", t->name);
            if (t->dims[0] != rec->t[0].dims[0])
                return err_set(ERR_DATA, "tensor '%s' has batch size %llu, "
                               "tensor '%s' has %llu", t->name,
                               (unsigned long long)t->dims[0], rec->t[0].name,
                               (unsigned long long)rec->t[0].dims[0]);
        }
        total += (bytes + TZ_ALIGN - 1) / TZ_ALIGN * TZ_ALIGN;
        if (total > TZ_PAYLOAD_MAX)
            return err_set(ERR_DATA, "record payload exceeds %llu bytes",
                           (unsigned long long)TZ_PAYLOAD_MAX);
    }
    for (int i = 0; i < rec->nattrs; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(rec->a[j].key, rec->a[i].key) == 0)
                return err_set(ERR_DATA, "duplicate attribute '%s'", rec->a[i].key);
    return 0;
}
