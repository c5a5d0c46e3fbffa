/* dps.c - diffusion posterior sampling on a generative interpolant; see
 * dps.h.
 *
 * The network runs on chunks of DPS_CHUNK rows with the stream's sample g
 * at row g mod DPS_CHUNK, as si_transport does, so that a sample's result
 * does not depend on which others share its batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "method/dps.h"

#define DPS_CHUNK 64
enum { DPS_RNG_START = 0x44505300 };

int dps_check_model(const model *m)
{
    if (!m->generative)
        return err_set(ERR_USAGE, "DPS needs a generative model (si-train --generative, "
                       "trained on clean data)");
    if (m->ip.g != 0 || m->ip.combined)
        return err_set(ERR_USAGE, "DPS needs the plain drift of gamma 0 (its denoiser is "
                       "x - t b); this model has gamma %g%s", m->ip.g,
                       m->ip.combined ? " and the combined drift" : "");
    if (m->net.c.arch != NET_UNET)
        return err_set(ERR_USAGE, "DPS runs on images: a U-Net model");
    if (m->net.cond)
        return err_set(ERR_USAGE, "DPS needs a generative model without side inputs");
    return 0;
}

/* One record's f32 field of `per` values per sample, or NULL (err set). */
static const float *field(const tz_record *rec, const char *name, size_t per,
                          const char *where)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t || t->dtype != TZ_F32 || tz_tensor_row_bytes(t) != per * sizeof(float)) {
        err_set(ERR_DATA, "%s: DPS needs an f32 field '%s' of %zu values per sample", where,
                name, per);
        return NULL;
    }
    return t->data;
}

int dps_guidance(net *nw, const lin_chain *lc, int C, int H, int W, const float *x,
                 const float *y, const float *mask, const float *angle, double t, int B,
                 float *b, float *grad, float *scratch)
{
    int D = nw->dim, heads = nw->heads, hw = H * W;
    size_t n = (size_t)B * (size_t)D;
    float *out = scratch, *dout = out + n * (size_t)heads, *yo = dout + n * (size_t)heads;
    float *work = yo + D, *tt = work + lin_work_floats(C, H, W);
    for (int i = 0; i < B; i++)
        tt[i] = (float)t;
    int rc = net_forward(nw, out, x, NULL, tt, B);
    if (rc < 0)
        return rc;
    memset(dout, 0, sizeof(float) * n * (size_t)heads);
    for (int i = 0; i < B; i++) {
        const float *bi = out + (size_t)i * (size_t)(heads * D), *xi = x + (size_t)i * D;
        lin_side sd = { .mask = mask ? mask + (size_t)i * hw : NULL,
                        .angle = angle ? angle[i] : 0 };
        memcpy(b + (size_t)i * D, bi, sizeof(float) * (size_t)D);
        /* r = A x0hat - y, on what the instrument observed */
        float *r = grad + (size_t)i * D;
        for (int j = 0; j < D; j++)
            r[j] = xi[j] - (float)t * bi[j];
        lin_apply(lc, &sd, C, H, W, r, work);
        memcpy(yo, y + (size_t)i * D, sizeof(float) * (size_t)D);
        lin_observed(lc, &sd, C, H, W, yo);
        double nr = 0;
        for (int j = 0; j < D; j++) {
            r[j] -= yo[j];
            nr += (double)r[j] * r[j];
        }
        lin_observed(lc, &sd, C, H, W, r);
        lin_adjoint(lc, &sd, C, H, W, r, work);
        /* r becomes g, the gradient of |r| at x0hat; through x0hat = x - t b
         * the gradient at x is g + J_b^T (-t g), the second term the
         * network's input-gradient below */
        float inv = nr > 0 ? (float)(1 / sqrt(nr)) : 0;
        float *d = dout + (size_t)i * (size_t)(heads * D);
        for (int j = 0; j < D; j++) {
            r[j] *= inv;
            d[j] = -(float)t * r[j];
        }
    }
    float *jg = out;    /* the forward's output is in b now */
    net_backward_dx(nw, dout, jg, B);
    for (size_t k = 0; k < n; k++)
        grad[k] += jg[k];
    return 0;
}

size_t dps_scratch_floats(const net *nw, int C, int H, int W, int B)
{
    size_t n = (size_t)B * (size_t)nw->dim;
    return 2 * n * (size_t)nw->heads + (size_t)nw->dim + lin_work_floats(C, H, W) + (size_t)B;
}

int dps_transport(model *m, const push_group *g, const lin_chain *lc, float *x,
                  const dps_opts *o, uint64_t first)
{
    const unet_config *u = &m->net.c.unet;
    int C = u->C, H = u->H, W = u->W, D = m->net.dim, hw = H * W;
    int want_mask = 0, want_angle = 0;
    for (int i = 0; i < lc->n; i++) {
        want_mask |= lc->step[i].kind == LIN_MASK;
        want_angle |= lc->step[i].kind == LIN_MOTION;
    }
    /* the chunk: its rows' x, y, mask (dead rows: all dropped, so no
     * guidance) and angle; the drift and the guidance */
    size_t n = (size_t)DPS_CHUNK * (size_t)D;
    float *cx = mem_alloc_array(n, sizeof(float)), *cy = mem_alloc_array(n, sizeof(float));
    float *cm = mem_alloc_array((size_t)DPS_CHUNK * (size_t)hw, sizeof(float));
    float *ca = mem_alloc_array(DPS_CHUNK, sizeof(float));
    float *b = mem_alloc_array(n, sizeof(float)), *gr = mem_alloc_array(n, sizeof(float));
    float *scr = mem_alloc_array(dps_scratch_floats(&m->net, C, H, W, DPS_CHUNK), sizeof(float));
    int rc = !cx || !cy || !cm || !ca || !b || !gr || !scr ? ERR_IO : 0;
    double dt = 1.0 / o->steps;
    uint64_t done = 0;
    for (int k = 0; rc == 0 && k < g->n; k++) {
        const tz_record *rec = &g->rec[k];
        if (rec->kind != TZ_BATCH)
            continue;
        uint64_t rows = tz_record_batch(rec);
        const float *y = field(rec, o->y, (size_t)D, g->where[k]);
        const float *mask = want_mask ? field(rec, "mask", (size_t)hw, g->where[k]) : NULL;
        const float *angle = want_angle ? field(rec, "angle", 1, g->where[k]) : NULL;
        if (!y || (want_mask && !mask) || (want_angle && !angle)) {
            rc = err_code();
            break;
        }
        for (uint64_t s = 0; rc == 0 && s < rows;) {
            uint64_t at = first + done + s;
            int off = (int)(at % DPS_CHUNK);
            int live = (int)(rows - s < (uint64_t)(DPS_CHUNK - off) ? rows - s
                                                                   : (uint64_t)(DPS_CHUNK - off));
            memset(cx, 0, sizeof(float) * n);
            memset(cy, 0, sizeof(float) * n);
            memset(cm, 0, sizeof(float) * (size_t)DPS_CHUNK * (size_t)hw);
            memset(ca, 0, sizeof(float) * DPS_CHUNK);
            memcpy(cy + (size_t)off * D, y + s * (uint64_t)D, sizeof(float) * (size_t)live * D);
            if (mask)
                memcpy(cm + (size_t)off * hw, mask + s * (uint64_t)hw,
                       sizeof(float) * (size_t)live * hw);
            if (angle)
                memcpy(ca + off, angle + s, sizeof(float) * (size_t)live);
            for (int i = 0; i < live; i++) {
                rng_t r;
                rng_init(&r, o->seed, DPS_RNG_START, at + (uint64_t)i);
                rng_add_normal_f32(&r, cx + (size_t)(off + i) * (size_t)D, (uint64_t)D, 1.0f);
            }
            /* Euler steps of the reverse ODE from t = 1, each guided */
            for (int st = 0; rc == 0 && st < o->steps; st++) {
                rc = dps_guidance(&m->net, lc, C, H, W, cx, cy, want_mask ? cm : NULL,
                                  ca, 1 - st * dt, DPS_CHUNK, b, gr, scr);
                for (size_t j = 0; rc == 0 && j < n; j++)
                    cx[j] -= (float)dt * b[j] + (float)o->zeta * gr[j];
            }
            memcpy(x + (done + s) * (uint64_t)D, cx + (size_t)off * (size_t)D,
                   sizeof(float) * (size_t)live * (size_t)D);
            if (rc == 0)
                rc = push_check_finite(x + (done + s) * (uint64_t)D, (uint64_t)live,
                                       (size_t)D, g->where[k]);
            s += (uint64_t)live;
        }
        done += rows;
    }
    free(cx), free(cy), free(cm), free(ca), free(b), free(gr), free(scr);
    return rc;
}
