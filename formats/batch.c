/* batch.c - building batch records row by row; see batch.h. */
#include <stdlib.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "formats/batch.h"
#include "base/err.h"
#include "base/mem.h"

void batch_init(batch_acc *b)
{
    memset(b, 0, sizeof *b);
    tz_record_init(&b->rec, TZ_BATCH);
}

void batch_free(batch_acc *b)
{
    tz_record_free(&b->rec);
    memset(b, 0, sizeof *b);
}

void batch_reset(batch_acc *b)
{
    batch_free(b);
    batch_init(b);
}

int batch_compatible(const batch_acc *b, const tz_record *src)
{
    if (!b->has_schema)
        return 1;
    if (src->kind != TZ_BATCH || src->ntensors != b->rec.ntensors)
        return 0;
    for (int i = 0; i < src->ntensors; i++) {
        const tz_tensor *s = &src->t[i], *t = &b->rec.t[i];
        if (strcmp(s->name, t->name) || s->dtype != t->dtype || s->rank != t->rank ||
            memcmp(s->dims + 1, t->dims + 1, sizeof(uint64_t) * (size_t)(s->rank - 1)))
            return 0;
    }
    return 1;
}

/* Make room for at least need rows in every tensor. */
static int reserve_rows(batch_acc *b, uint64_t need)
{
    if (need <= b->cap)
        return 0;
    uint64_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    for (int i = 0; i < b->rec.ntensors; i++) {
        tz_tensor *t = &b->rec.t[i];
        void *p = mem_realloc_array(t->data, (size_t)cap, tz_tensor_row_bytes(t));
        if (!p)
            return ERR_IO;
        t->data = p;
    }
    b->cap = cap;
    return 0;
}

int batch_append(batch_acc *b, const tz_record *src, uint64_t begin, uint64_t end)
{
    if (!batch_compatible(b, src))
        return err_set(ERR_DATA, "record's fields differ from the batch being built");
    if (!b->has_schema) {
        for (int i = 0; i < src->ntensors; i++) {
            const tz_tensor *s = &src->t[i];
            uint64_t dims[TZ_RANK_MAX];
            memcpy(dims, s->dims, sizeof dims);
            dims[0] = 0;
            /* Zero rows: tz_record_add allocates a placeholder we replace. */
            tz_tensor *t = tz_record_add(&b->rec, s->name, s->dtype, s->rank, dims, NULL);
            if (!t)
                return ERR_DATA;
        }
        for (int i = 0; i < src->nattrs; i++)
            if (tz_record_set_attr(&b->rec, src->a[i].key, src->a[i].val) < 0)
                return ERR_DATA;
        b->has_schema = 1;
    }
    uint64_t n = end - begin;
    if (reserve_rows(b, b->rows + n) < 0)
        return ERR_IO;
    for (int i = 0; i < src->ntensors; i++) {
        tz_tensor *t = &b->rec.t[i];
        size_t rb = tz_tensor_row_bytes(t);
        memcpy((char *)t->data + (size_t)b->rows * rb,
               (const char *)src->t[i].data + (size_t)begin * rb, (size_t)n * rb);
        t->dims[0] = b->rows + n;
    }
    b->rows += n;
    return 0;
}

void batch_drop_front(batch_acc *b, uint64_t n)
{
    for (int i = 0; i < b->rec.ntensors; i++) {
        tz_tensor *t = &b->rec.t[i];
        size_t rb = tz_tensor_row_bytes(t);
        memmove(t->data, (char *)t->data + (size_t)n * rb, (size_t)(b->rows - n) * rb);
        t->dims[0] = b->rows - n;
    }
    b->rows -= n;
}

void batch_view(tz_record *view, const tz_record *src, uint64_t begin, uint64_t end)
{
    tz_record_init(view, src->kind);
    view->ntensors = src->ntensors;
    for (int i = 0; i < src->ntensors; i++) {
        view->t[i] = src->t[i];
        view->t[i].owned = 0;
        view->t[i].data = (char *)src->t[i].data +
                          (size_t)begin * tz_tensor_row_bytes(&src->t[i]);
        view->t[i].dims[0] = end - begin;
    }
    /* Attributes are shared, not copied: the view must not be cleared with
     * tz_record_clear, only abandoned (see batch_view's callers). */
    view->nattrs = src->nattrs;
    memcpy(view->a, src->a, sizeof src->a[0] * (size_t)src->nattrs);
}

void batch_swap_rows(batch_acc *b, uint64_t i, uint64_t j)
{
    unsigned char tmp[4096];
    for (int k = 0; k < b->rec.ntensors; k++) {
        tz_tensor *t = &b->rec.t[k];
        size_t rb = tz_tensor_row_bytes(t);
        unsigned char *p = (unsigned char *)t->data + (size_t)i * rb;
        unsigned char *q = (unsigned char *)t->data + (size_t)j * rb;
        for (size_t off = 0; off < rb; off += sizeof tmp) {
            size_t n = rb - off < sizeof tmp ? rb - off : sizeof tmp;
            memcpy(tmp, p + off, n);
            memcpy(p + off, q + off, n);
            memcpy(q + off, tmp, n);
        }
    }
}

int batch_f32_field(const tz_record *rec, const char *name, uint64_t at, const char *f,
                    const char *who, const tz_tensor **t)
{
    if (rec->kind != TZ_BATCH)
        return err_set(ERR_DATA, "%s: record %" PRIu64 ": not a batch record", name, at);
    if (!(*t = tz_record_find(rec, f)))
        return err_set(ERR_DATA, "%s: record %" PRIu64 ": no field '%s'", name, at, f);
    if ((*t)->dtype != TZ_F32)
        return err_set(ERR_DATA, "%s: record %" PRIu64 ": field '%s' is %s; %s needs f32", name,
                       at, f, tz_dtype_name((*t)->dtype), who);
    if ((*t)->rank < 1)
        return err_set(ERR_DATA, "%s: record %" PRIu64 ": field '%s' is a scalar, not a batch "
                       "of samples", name, at, f);
    return 0;
}

int batch_check_finite(const tz_tensor *t, uint64_t rows, const char *name, uint64_t at,
                       uint64_t before)
{
    size_t per = tz_tensor_row_bytes(t) / sizeof(float);
    const float *x = t->data;
    for (uint64_t i = 0; i < rows * per; i++)
        if (!isfinite(x[i]))
            return err_set(ERR_NUMERIC, "%s: record %" PRIu64 ": field '%s' holds %s (sample %"
                           PRIu64 " of the input)", name, at, t->name,
                           isnan(x[i]) ? "NaN" : "Inf", before + i / per);
    return 0;
}
