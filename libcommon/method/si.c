/* si.c - the stochastic interpolant; see si.h. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "method/si.h"

double si_gamma(const si_interp *ip, double t)
{
    return ip->g * t * (1 - t);
}

double si_dgamma(const si_interp *ip, double t)
{
    return ip->g * (1 - 2 * t);
}

void si_make_batch(const si_interp *ip, const float *x0, const float *x1,
                   const float *t, const float *z, int B, int D, float *xt,
                   float *target)
{
    int H = si_heads(ip);
    float ds = (float)si_dscale(ip);
    for (int i = 0; i < B; i++) {
        float ti = t[i], gm = (float)si_gamma(ip, ti), dg = (float)si_dgamma(ip, ti);
        float zc = ip->combined ? 1.0f : 0.0f;
        float *tg = target + (size_t)i * (size_t)H * (size_t)D;
        for (int j = 0; j < D; j++) {
            size_t k = (size_t)i * (size_t)D + (size_t)j;
            xt[k] = (1 - ti) * x0[k] + ti * x1[k] + gm * z[k];
            tg[j] = x1[k] - x0[k] + (dg + zc) * z[k];
            if (H == 2)
                tg[D + j] = ds * z[k];
        }
    }
}

/* ---- transport --------------------------------------------------------- */

enum { SI_RNG_TRANSPORT = 0x53490100 };

/* Transport of the live rows [off, off + live) of a block of exactly
 * SI_CHUNK rows whose row 0 is the stream's sample `base`. */
static int transport_chunk(net *nw, const si_interp *ip, int sde, int method,
                           int steps, float *x, const float *cond, int off, int live,
                           uint64_t seed, uint64_t base);

/* The network sees blocks of this many rows, and the stream's sample g
 * always sits at row g mod SI_CHUNK of its block, whatever the record
 * size.  A GEMM's rounding can depend not only on its row count but on a
 * row's place in it (OpenBLAS's Haswell and Zen sgemm kernels, for one,
 * sum rows 6-11 of every 12 in another order than rows 0-5), and a
 * sample's result must not depend on how the stream was batched: with
 * both the shape and the place fixed, every sample meets the same
 * arithmetic on any kernel.  The rest of a block is padding. */
#define SI_CHUNK 64

int si_transport(net *nw, const si_interp *ip, int sde, int method, int steps,
                 float *x, const float *cond, int B, uint64_t seed, uint64_t first)
{
    int D = nw->dim, C = nw->cond;
    float *bx = mem_calloc_array((size_t)SI_CHUNK * (size_t)D, sizeof(float));
    float *bc = C ? mem_calloc_array((size_t)SI_CHUNK * (size_t)C, sizeof(float)) : NULL;
    int rc = !bx || (C && !bc) ? ERR_IO : 0;
    for (int s = 0; rc == 0 && s < B;) {
        int off = (int)((first + (uint64_t)s) % SI_CHUNK);
        int n = B - s < SI_CHUNK - off ? B - s : SI_CHUNK - off;
        memset(bx, 0, sizeof(float) * (size_t)SI_CHUNK * (size_t)D);
        memcpy(bx + (size_t)off * (size_t)D, x + (size_t)s * (size_t)D,
               sizeof(float) * (size_t)n * (size_t)D);
        if (C) {
            memset(bc, 0, sizeof(float) * (size_t)SI_CHUNK * (size_t)C);
            memcpy(bc + (size_t)off * (size_t)C, cond + (size_t)s * (size_t)C,
                   sizeof(float) * (size_t)n * (size_t)C);
        }
        rc = transport_chunk(nw, ip, sde, method, steps, bx, bc, off, n, seed,
                             first + (uint64_t)s - (uint64_t)off);
        memcpy(x + (size_t)s * (size_t)D, bx + (size_t)off * (size_t)D,
               sizeof(float) * (size_t)n * (size_t)D);
        s += n;
    }
    free(bx);
    free(bc);
    return rc;
}

/* v (B, D) = the drift of the reverse dynamics at (x, t): b, or for the
 * SDE b + eta (the combined head, or the sum of the two heads).  raw
 * holds the network's output (B, heads D). */
static int velocity(net *nw, const si_interp *ip, int sde, float *v, float *raw,
                    const float *x, const float *cond, const float *t, int B)
{
    int D = nw->dim, H = nw->heads;
    int rc = net_infer(nw, H == 1 ? v : raw, x, cond, t, B);
    if (rc < 0 || H == 1)
        return rc;
    float ids = (float)(1 / si_dscale(ip));
    for (int i = 0; i < B; i++) {
        const float *r = raw + (size_t)i * (size_t)H * (size_t)D;
        float *o = v + (size_t)i * (size_t)D;
        for (int j = 0; j < D; j++)
            o[j] = sde ? r[j] + ids * r[D + j] : r[j];
    }
    return 0;
}

/* The SDE's noise of step s, sqrt(2 gamma(t) dt) xi, for the live rows. */
static void add_noise(const si_interp *ip, float *x, int off, int live, int D, int s,
                      double t, double dt, uint64_t seed, uint64_t base)
{
    float sd = (float)sqrt(2 * si_gamma(ip, t) * dt);
    for (int i = off; i < off + live; i++) {
        rng_t r;
        rng_init(&r, seed, SI_RNG_TRANSPORT + (uint32_t)s, base + (uint64_t)i);
        rng_add_normal_f32(&r, x + (size_t)i * (size_t)D, (uint64_t)D, sd);
    }
}

static int transport_chunk(net *nw, const si_interp *ip, int sde, int method,
                           int steps, float *x, const float *cond, int off, int live,
                           uint64_t seed, uint64_t base)
{
    /* The network runs on all SI_CHUNK rows; only the live ones get noise. */
    int B = SI_CHUNK;
    int D = nw->dim;
    size_t n = (size_t)B * (size_t)D;
    float *b1 = mem_alloc_array(n, sizeof(float)), *b2 = mem_alloc_array(n, sizeof(float));
    float *xp = mem_alloc_array(n, sizeof(float)), *t = mem_alloc_array((size_t)B, sizeof(float));
    float *raw = mem_alloc_array(n, sizeof(float) * (size_t)nw->heads);
    int rc = (!b1 || !b2 || !xp || !t || !raw) ? ERR_IO : 0;
    int noisy = sde && ip->g > 0;
    double dt = 1.0 / steps;
    for (int s = 0; rc == 0 && s < steps; s++) {
        double t0 = 1 - s * dt, t1 = t0 - dt;      /* from t0 down to t1 */
        /* The last step is plain Euler and noiseless: its end, t = 0, is
         * where the drift of an SDE may be singular. */
        int heun = method == SI_HEUN && s < steps - 1, noise = noisy && s < steps - 1;
        /* Stochastic Heun adds the step's noise first, then takes the
         * predictor-corrector step on the drift (as the reference does). */
        if (noise && heun)
            add_noise(ip, x, off, live, D, s, t0, dt, seed, base);
        for (int i = 0; i < B; i++)
            t[i] = (float)t0;
        if ((rc = velocity(nw, ip, sde, b1, raw, x, cond, t, B)) < 0)
            break;
        if (heun) {
            for (size_t k = 0; k < n; k++)
                xp[k] = x[k] - (float)dt * b1[k];
            for (int i = 0; i < B; i++)
                t[i] = (float)t1;
            if ((rc = velocity(nw, ip, sde, b2, raw, xp, cond, t, B)) < 0)
                break;
            for (size_t k = 0; k < n; k++)
                b1[k] = 0.5f * (b1[k] + b2[k]);
        }
        for (size_t k = 0; k < n; k++)
            x[k] -= (float)dt * b1[k];
        if (noise && !heun)
            add_noise(ip, x, off, live, D, s, t0, dt, seed, base);
    }
    free(b1), free(b2), free(xp), free(t), free(raw);
    return rc;
}
