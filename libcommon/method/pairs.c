/* pairs.c - the training set of coupled records; see pairs.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "method/pairs.h"

enum { PAIRS_RNG_STEP = 0x53490001 };

/* Whether p holds the sample at place g of the input, and where: its
 * index among the samples held. */
static int holds(const pairs *p, uint64_t g, uint64_t *at)
{
    const pairs_part *q = &p->part;
    uint64_t c = g % (uint64_t)q->S;
    if (c < (uint64_t)q->first || c >= (uint64_t)q->last)
        return 0;
    *at = g / (uint64_t)q->S * (uint64_t)(q->last - q->first) + (c - (uint64_t)q->first);
    return 1;
}

/* The samples of v held by p, the first at place g of the input, appended
 * to p->acc in runs of consecutive places. */
static int append_held(pairs *p, const tz_record *v, uint64_t g)
{
    uint64_t rows = tz_record_batch(v), at;
    for (uint64_t i = 0; i < rows;) {
        if (!holds(p, g + i, &at)) {
            i++;
            continue;
        }
        uint64_t j = i + 1;
        while (j < rows && holds(p, g + j, &at))
            j++;
        if (batch_append(&p->acc, v, i, j) < 0)
            return err_code();
        i = j;
    }
    return 0;
}

/* The fields of each record, copied as a view of just those used, in a
 * fixed order, into p->acc (the samples p holds); p->total counts them
 * all.  0 or ERR_*, the message naming the record. */
static int read_all(pairs *p, tz_reader *r, const char *const *want, int nw)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH)
            continue;
        tz_record v;
        tz_record_init(&v, TZ_BATCH);
        for (int i = 0; i < nw; i++) {
            tz_tensor *t = tz_record_find(&rec, want[i]);
            if (!t || t->dtype != TZ_F32 || t->rank < 1) {
                rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": %s field '%s'",
                             tz_reader_name(r), tz_reader_index(r),
                             t ? "need an f32 batch" : "no", want[i]);
                goto out;
            }
            v.t[v.ntensors] = *t;
            v.t[v.ntensors++].owned = 0;
        }
        if (!batch_compatible(&p->acc, &v)) {
            rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": fields change shape",
                         tz_reader_name(r), tz_reader_index(r));
            goto out;
        }
        if ((rc = append_held(p, &v, p->total)) < 0)
            goto out;
        p->total += tz_record_batch(&v);
    }
out:
    tz_record_free(&rec);
    return rc < 0 ? rc : 0;
}

/* 0, or ERR_DATA if fields a and b differ in values per sample. */
static int same_width(const tz_tensor *a, const tz_tensor *b, const char *na, const char *nb)
{
    if (tz_tensor_row_bytes(a) == tz_tensor_row_bytes(b))
        return 0;
    return err_set(ERR_DATA, "fields '%s' and '%s' hold different numbers of values "
                   "per sample", na, nb);
}

int pairs_load(pairs *p, const model *m, char *const *files, int nfiles, double alpha,
               const char *real, const char *real_prefix, const pairs_part *part)
{
    char buf[256];
    const char *cond[16];
    memset(p, 0, sizeof *p);
    p->alpha = alpha;
    p->part = part ? *part : (pairs_part){ 1, 0, 1 };
    p->ncond = model_split_names(m->cond, buf, sizeof buf, cond, 16);
    int base = m->generative ? 1 : 2;    /* index in acc of the first cond field */
    p->real = alpha < 1 ? base + p->ncond : -1;
    p->rcond = p->real >= 0 && real_prefix && p->ncond ? p->real + 1 : -1;
    char rnames[16][2 * MODEL_NAME_MAX];
    const char *want[35] = { m->x0 };
    int nw = 1;
    if (!m->generative)
        want[nw++] = m->x1;
    for (int i = 0; i < p->ncond; i++)
        want[nw++] = cond[i];
    if (p->real >= 0)
        want[nw++] = real;
    for (int i = 0; p->rcond >= 0 && i < p->ncond; i++) {
        snprintf(rnames[i], sizeof rnames[i], "%s%s", real_prefix, cond[i]);
        want[nw++] = rnames[i];
    }
    batch_init(&p->acc);
    tz_reader *r = tz_reader_open_list(files, nfiles);
    if (!r)
        return err_code();
    int rc = read_all(p, r, want, nw);
    tz_reader_close(r);
    const tz_record *a = &p->acc.rec;
    p->n = p->acc.rows;
    if (!rc && !p->total)
        rc = err_set(ERR_DATA, "no training samples in the input");
    else if (!rc && p->total < (uint64_t)p->part.S)
        rc = err_set(ERR_DATA, "%" PRIu64 " training samples cannot fill %d shards: give "
                     "--shards at most the number of samples", p->total, p->part.S);
    if (!rc && !m->generative)
        rc = same_width(&a->t[1], &a->t[0], m->x0, m->x1);
    for (int i = 0; !rc && p->rcond >= 0 && i < p->ncond; i++)
        rc = same_width(&a->t[p->rcond + i], &a->t[base + i], a->t[p->rcond + i].name,
                        a->t[base + i].name);
    if (!rc && p->real >= 0)
        rc = same_width(&a->t[p->real], &a->t[0], m->x0, real);
    if (rc < 0) {
        batch_free(&p->acc);
        return rc;
    }
    p->d = (int)(tz_tensor_row_bytes(&a->t[0]) / 4);
    for (int i = 0; i < p->ncond; i++)
        p->dc += (int)(tz_tensor_row_bytes(&a->t[base + i]) / 4);
    return 0;
}

void pairs_free(pairs *p)
{
    batch_free(&p->acc);
}

/* The U-Net takes side channels (fields whose samples are images of x0's
 * size) before side scalars: put them first, in the data and in the
 * model's list of fields, keeping the order within each kind. */
static void order_cond(pairs *p, model *m)
{
    tz_record *a = &p->acc.rec;
    const tz_tensor *x = &a->t[0];
    int base = m->generative ? 1 : 2, n = p->ncond;
    tz_tensor t[16], rt[16];
    char names[256] = "";
    int k = 0;
    p->side_channels = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const tz_tensor *c = &a->t[base + i];
            /* a field of images of x0's size, or of signals of its length */
            int image = c->rank == x->rank && c->dims[x->rank - 1] == x->dims[x->rank - 1] &&
                        (x->rank == 3 || c->dims[2] == x->dims[2]);
            if (image != (pass == 0))
                continue;
            if (image)
                p->side_channels += (int)c->dims[1];
            if (p->rcond >= 0)
                rt[k] = a->t[p->rcond + i];
            t[k++] = *c;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     strlen(names) ? "," : "", c->name);
        }
    memcpy(&a->t[base], t, sizeof *t * (size_t)n);
    if (p->rcond >= 0)
        memcpy(&a->t[p->rcond], rt, sizeof *rt * (size_t)n);
    snprintf(m->cond, sizeof m->cond, "%s", names);
}

int pairs_new_model(pairs *p, model *m, const pairs_arch *a)
{
    const tz_tensor *x = &p->acc.rec.t[0];
    int image = x->rank == 4, signal = x->rank == 3;
    net_config c;
    memset(&c, 0, sizeof c);
    c.arch = a->arch ? (!strcmp(a->arch, "unet") ? NET_UNET : NET_MLP)
                     : image || signal ? NET_UNET : NET_MLP;
    if (c.arch == NET_MLP) {
        c.mlp = (mlp_config){ p->d, p->dc, a->temb < 0 ? 64 : a->temb,
                              a->width < 0 ? 256 : a->width,
                              a->hidden < 0 ? 3 : a->hidden, 0 };
    } else {
        if (!image && !signal)
            return err_set(ERR_DATA, "--arch unet needs images (N, C, H, W) or signals "
                           "(N, C, L): field '%s' is neither", m->x0);
        order_cond(p, m);
        unet_config *u = &c.unet;
        /* a signal is an image of height 1: the 1-D U-Net */
        *u = image ? unet_small((int)x->dims[1], (int)x->dims[2], (int)x->dims[3])
                   : unet_small((int)x->dims[1], 1, (int)x->dims[2]);
        u->E = p->side_channels;
        u->S = p->dc - p->side_channels * u->H * u->W;
        if (a->widths && model_parse_widths(a->widths, u) < 0)
            return err_set(ERR_USAGE, "--widths wants 1 to %d channel counts: '%s'",
                           UNET_LEVELS_MAX, a->widths);
        if (a->mid >= 0)
            u->nmid = a->mid;
        if (a->groups >= 0)
            u->groups = a->groups;
        if (a->temb >= 0)
            u->temb = a->temb;
    }
    return model_create(m, &c);
}

int pairs_batch_alloc(pairs_batch *b, const pairs *p, int B)
{
    size_t n = (size_t)B * (size_t)p->d;
    b->x0 = mem_alloc_array(n, sizeof(float));
    b->x1 = mem_alloc_array(n, sizeof(float));
    b->z = mem_alloc_array(n, sizeof(float));
    b->cond = mem_alloc_array((size_t)B * (size_t)(p->dc + 1), sizeof(float));
    b->t = mem_alloc_array((size_t)B, sizeof(float));
    b->row = mem_alloc_array((size_t)B, sizeof(uint64_t));
    if (!b->x0 || !b->x1 || !b->z || !b->cond || !b->t || !b->row) {
        pairs_batch_free(b);
        return err_code();
    }
    return 0;
}

void pairs_batch_free(pairs_batch *b)
{
    free(b->x0), free(b->x1), free(b->z), free(b->cond), free(b->t), free(b->row);
    memset(b, 0, sizeof *b);
}

void pairs_draw(const pairs *p, const model *m, uint64_t k, int B, pairs_batch *b)
{
    rng_t r;
    rng_init(&r, m->seed, PAIRS_RNG_STEP, k);
    const tz_record *a = &p->acc.rec;
    int D = p->d;
    for (int i = 0; i < B; i++) {
        /* every draw is made whether the sample is held or not, so that
         * all processes draw the same batch */
        uint64_t row = rng_below(&r, p->total), idx = 0;
        int held = holds(p, row, &idx), real = 0;
        b->row[i] = row;
        if (held)
            memcpy(b->x0 + (size_t)i * D, (float *)a->t[0].data + idx * (uint64_t)D,
                   4 * (size_t)D);
        if (m->generative) {
            memset(b->x1 + (size_t)i * D, 0, 4 * (size_t)D);
            rng_add_normal_f32(&r, b->x1 + (size_t)i * D, (uint64_t)D, 1.0f);
        } else {
            /* The draw is made only when mixing, so that alpha 1 keeps
             * the batches of a run without the option. */
            real = p->real >= 0 && rng_uniform(&r) >= p->alpha;
            if (held)
                memcpy(b->x1 + (size_t)i * D, (float *)a->t[real ? p->real : 1].data +
                       idx * (uint64_t)D, 4 * (size_t)D);
        }
        float *c = b->cond + (size_t)i * (size_t)p->dc;
        int c0 = real && p->rcond >= 0 ? p->rcond : m->generative ? 1 : 2;
        for (int j = 0; held && j < p->ncond; j++) {
            const tz_tensor *t = &a->t[c0 + j];
            size_t w = tz_tensor_row_bytes(t) / 4;
            memcpy(c, (float *)t->data + idx * w, 4 * w);
            c += w;
        }
        b->t[i] = (float)rng_uniform(&r);
        memset(b->z + (size_t)i * D, 0, 4 * (size_t)D);
        if (m->ip.g > 0 || m->ip.combined)
            rng_add_normal_f32(&r, b->z + (size_t)i * D, (uint64_t)D, 1.0f);
    }
}
