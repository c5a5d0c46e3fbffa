/* labelled.c - labelled images from streams; see labelled.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "method/labelled.h"

enum { LAB_RNG_STEP = 0x4c420001 };

int lab_check_images(const tz_tensor *t, const int chw[3], const char *whose,
                     const char *where)
{
    char have[TZ_SHAPE_TEXT_MAX];
    if (t->dtype != TZ_F32 || t->rank != 4)
        return err_set(ERR_DATA, "%s: field '%s' is %s %s; images are f32 (N, C, H, W)",
                       where, t->name, tz_dtype_name(t->dtype),
                       tz_shape_text(t->dims, t->rank, have, sizeof have));
    if (chw && (t->dims[1] != (uint64_t)chw[0] || t->dims[2] != (uint64_t)chw[1] ||
                t->dims[3] != (uint64_t)chw[2]))
        return err_set(ERR_DATA, "%s: field '%s' holds images of %s; %s [%d,%d,%d]", where,
                       t->name, tz_shape_text(t->dims + 1, 3, have, sizeof have), whose,
                       chw[0], chw[1], chw[2]);
    return 0;
}

int lab_labels(const tz_record *rec, const char *field, uint64_t n, int K, int32_t *y,
               const char *where)
{
    const tz_tensor *t = tz_record_find(rec, field);
    if (!t)
        return err_set(ERR_DATA, "%s: no label field '%s'", where, field);
    if (t->rank != 1 || t->dims[0] != n)
        return err_set(ERR_DATA, "%s: label field '%s' is not one number per sample (%"
                       PRIu64 " samples)", where, field, n);
    if (tz_convert(t->data, t->dtype, y, TZ_I32, n) < 0)
        return err_prefix(ERR_DATA, "%s: label field '%s'", where, field);
    for (uint64_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return err_set(ERR_DATA, "%s: label field '%s': sample %" PRIu64 " has label "
                           "%" PRId32 ", outside 0..%d", where, field, i, y[i], K - 1);
    return 0;
}

/* Append rec's images and labels to s->acc. */
static int add_record(lab_set *s, const tz_record *rec, const char *xf, const char *yf,
                      int K, const char *where)
{
    const tz_tensor *x = tz_record_find(rec, xf);
    if (!x)
        return err_set(ERR_DATA, "%s: no image field '%s'", where, xf);
    int first = !s->acc.rows;       /* the first rows set the shape */
    int rc = lab_check_images(x, first ? NULL : s->chw, "the first record holds", where);
    if (rc < 0)
        return rc;
    uint64_t n = x->dims[0];
    int32_t *y = mem_alloc_array(n ? n : 1, sizeof(int32_t));
    if (!y)
        return err_code();
    tz_record v;
    tz_record_init(&v, TZ_BATCH);
    v.t[0] = *x;
    v.t[0].owned = 0;
    v.t[1] = (tz_tensor){ .name = "label", .dtype = TZ_I32, .rank = 1, .dims = { n },
                          .data = y };
    v.ntensors = 2;
    if ((rc = lab_labels(rec, yf, n, K, y, where)) == 0 &&
        (rc = batch_append(&s->acc, &v, 0, n)) == 0 && first)
        for (int i = 0; i < 3; i++)
            s->chw[i] = (int)x->dims[i + 1];
    free(y);
    return rc;
}

int lab_load(lab_set *s, char *const *files, int nfiles, const char *xf, const char *yf,
             int K)
{
    memset(s, 0, sizeof *s);
    batch_init(&s->acc);
    tz_reader *r = tz_reader_open_list(files, nfiles);
    if (!r)
        return err_code();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    char where[600];
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH)
            continue;
        snprintf(where, sizeof where, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        if ((rc = add_record(s, &rec, xf, yf, K, where)) < 0)
            break;
    }
    tz_record_free(&rec);
    tz_reader_close(r);
    if (rc == 0 && !s->acc.rows)
        rc = err_set(ERR_DATA, "no labelled images in the input");
    if (rc < 0) {
        lab_free(s);
        return rc;
    }
    s->n = s->acc.rows;
    s->d = (size_t)s->chw[0] * (size_t)s->chw[1] * (size_t)s->chw[2];
    s->x = s->acc.rec.t[0].data;
    s->y = s->acc.rec.t[1].data;
    return 0;
}

void lab_free(lab_set *s)
{
    batch_free(&s->acc);
    memset(s, 0, sizeof *s);
}

void lab_draw(const lab_set *s, uint64_t seed, uint64_t k, int B, float *x, int32_t *y)
{
    rng_t r;
    rng_init(&r, seed, LAB_RNG_STEP, k);
    for (int i = 0; i < B; i++) {
        uint64_t j = rng_below(&r, s->n);
        memcpy(x + (size_t)i * s->d, s->x + j * s->d, sizeof(float) * s->d);
        y[i] = s->y[j];
    }
}
