/* push.c - one record through a model's transport; see push.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/push.h"
#include "method/si.h"

int push_load(model *m, const char *path, const char *method, int sde, int raw, int steps,
              push_opts *o)
{
    int mt = !strcmp(method, "heun") ? SI_HEUN : !strcmp(method, "euler") ? SI_EULER : -1;
    if (mt < 0)
        return err_set(ERR_USAGE, "--method must be euler or heun; got '%s'", method);
    int rc = model_load(m, path);
    if (rc < 0)
        return rc;
    if (sde && !((m->ip.combined || m->ip.denoiser) && m->ip.g > 0))
        rc = err_set(ERR_USAGE, "--sde needs a model trained with --gamma > 0 and "
                     "--combined or --denoiser");
    /* The combined drift b + eta is the SDE's; as an ODE drift it is wrong. */
    else if (!sde && m->ip.combined)
        rc = err_set(ERR_USAGE, "a model trained with --combined needs --sde");
    if (rc < 0) {
        model_free(m);
        return rc;
    }
    if (!raw && m->os.ema)
        memcpy(m->net.params, m->os.ema, sizeof(float) * m->net.nparams);
    *o = (push_opts){ sde, mt, steps, 0 };
    return 0;
}

const tz_tensor *push_observation(const model *m, const tz_record *rec, const char *where)
{
    const tz_tensor *y = tz_record_find(rec, m->x1);
    if (!y || y->dtype != TZ_F32 || tz_tensor_row_bytes(y) != 4 * (size_t)m->net.dim) {
        err_set(ERR_DATA, "%s: need an f32 field '%s' of %d values per sample", where, m->x1,
                m->net.dim);
        return NULL;
    }
    return y;
}

/* The model's side fields of rec, per sample in the model's order, into
 * cond (n, net.cond). */
static int gather_cond(const model *m, const tz_record *rec, uint64_t n, float *cond,
                       const char *where)
{
    char buf[256];
    const char *names[16];
    int nn = model_split_names(m->cond, buf, sizeof buf, names, 16);
    size_t off = 0, dc = (size_t)m->net.cond;
    for (int k = 0; k < nn; k++) {
        const tz_tensor *t = tz_record_find(rec, names[k]);
        if (!t || t->dtype != TZ_F32)
            return err_set(ERR_DATA, "%s: no f32 side field '%s'", where, names[k]);
        size_t w = tz_tensor_row_bytes(t) / 4;
        if (off + w > dc)
            break;
        for (uint64_t i = 0; i < n; i++)
            memcpy(cond + i * dc + off, (float *)t->data + i * w, 4 * w);
        off += w;
    }
    if (off != dc)
        return err_set(ERR_DATA, "%s: the side fields '%s' do not hold the %zu values per "
                       "sample the model takes", where, m->cond, dc);
    return 0;
}

/* ---- groups of records --------------------------------------------------- */

enum { PUSH_WHERE = 600 };      /* a file name and a record number */

int push_group_read(push_group *g, tz_reader *r, uint64_t first, int dim)
{
    g->n = 0;
    g->rows = 0;
    for (;;) {
        if (g->n == g->cap) {
            int cap = g->cap ? 2 * g->cap : 8;
            tz_record *rec = realloc(g->rec, sizeof *rec * (size_t)cap);
            if (rec)
                g->rec = rec;
            char **where = realloc(g->where, sizeof *where * (size_t)cap);
            if (where)
                g->where = where;
            if (!rec || !where)
                return err_set(ERR_IO, "out of memory");
            for (int i = g->cap; i < cap; i++) {
                tz_record_init(&g->rec[i], TZ_BATCH);
                g->where[i] = NULL;
            }
            g->cap = cap;
        }
        tz_record *rec = &g->rec[g->n];
        int rc = tz_read(r, rec);
        if (rc <= 0)
            return rc < 0 ? rc : g->n > 0;
        if (!g->where[g->n] && !(g->where[g->n] = malloc(PUSH_WHERE)))
            return err_set(ERR_IO, "out of memory");
        snprintf(g->where[g->n], PUSH_WHERE, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        g->n++;
        if (rec->kind != TZ_BATCH)
            continue;
        g->rows += tz_record_batch(rec);
        if ((first + g->rows) % 64 == 0 || g->rows * (uint64_t)dim >= PUSH_GROUP_VALUES)
            return 1;
    }
}

void push_group_free(push_group *g)
{
    for (int i = 0; i < g->cap; i++) {
        tz_record_free(&g->rec[i]);
        free(g->where[i]);
    }
    free(g->rec);
    free(g->where);
    memset(g, 0, sizeof *g);
}

int push_transport(model *m, const push_group *g, float *x, const push_opts *o,
                   uint64_t first)
{
    if (g->rows > INT32_MAX)
        return err_set(ERR_DATA, "%s: too many rows", g->where[g->n - 1]);
    size_t D = (size_t)m->net.dim, C = (size_t)m->net.cond;
    float *cond = C ? mem_alloc_array((size_t)g->rows, sizeof(float) * C) : NULL;
    int rc = C && !cond ? ERR_IO : 0;
    uint64_t off = 0;
    for (int i = 0; rc == 0 && i < g->n; i++) {
        const tz_record *rec = &g->rec[i];
        if (rec->kind != TZ_BATCH)
            continue;
        const tz_tensor *y = push_observation(m, rec, g->where[i]);
        uint64_t n = tz_record_batch(rec);
        if (!y)
            rc = err_code();
        else if (C)
            rc = gather_cond(m, rec, n, cond + off * C, g->where[i]);
        if (rc == 0)
            memcpy(x + off * D, y->data, 4 * (size_t)n * D);
        off += n;
    }
    if (rc == 0)
        rc = si_transport(&m->net, &m->ip, o->sde, o->method, o->steps, x, cond,
                          (int)g->rows, o->seed, first);
    free(cond);
    off = 0;
    for (int i = 0; rc == 0 && i < g->n; i++) {
        if (g->rec[i].kind != TZ_BATCH)
            continue;
        uint64_t n = tz_record_batch(&g->rec[i]);
        rc = push_check_finite(x + off * D, n, D, g->where[i]);
        off += n;
    }
    return rc;
}

void push_group_scatter(const push_group *g, const char *name, const float *src,
                        size_t width)
{
    for (int i = 0; i < g->n; i++) {
        const tz_record *rec = &g->rec[i];
        if (rec->kind != TZ_BATCH)
            continue;
        const tz_tensor *t = tz_record_find(rec, name);
        uint64_t n = tz_record_batch(rec);
        memcpy(t->data, src, sizeof(float) * (size_t)n * width);
        src += (size_t)n * width;
    }
}

int push_check_finite(const float *x, uint64_t n, size_t D, const char *where)
{
    /* A transport that blew up must not feed the next stage. */
    for (size_t i = 0; i < (size_t)n * D; i++)
        if (!isfinite(x[i]))
            return err_set(ERR_NUMERIC, "%s: the transport gave NaN or Inf (sample %zu)",
                           where, i / D);
    return 0;
}
