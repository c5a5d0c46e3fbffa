/* prior.c - a prior's score along the variance-exploding path; see
 * prior.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "base/rng.h"
#include "method/prior.h"

/* The network runs on blocks of this many rows with particle g at row
 * g mod PRIOR_CHUNK, as si_transport's does (si.c says why). */
#define PRIOR_CHUNK 64
enum { PRIOR_RNG_PROBE = 0x50520000 };

int prior_gmm(prior *p, gmm *g, int threads)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    p->dim = g->d;
    p->rank = 1;
    p->shape[0] = (uint64_t)g->d;
    p->threads = threads < 1 ? 1 : threads;
    p->work = mem_alloc_array((size_t)p->threads * gmm_work_doubles(g), sizeof(double));
    return p->work ? 0 : ERR_IO;
}

int prior_model(prior *p, model *m, int probes, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    if (!m->generative || m->net.cond)
        return err_set(ERR_USAGE, "the prior must be a generative model without side inputs "
                       "(si-train --generative)");
    p->m = m;
    p->dim = m->net.dim;
    p->probes = probes < 1 ? 1 : probes;
    p->seed = seed;
    const unet_config *u = &m->net.c.unet;
    if (m->net.c.arch == NET_UNET) {    /* images (C, H, W), or signals (C, L) */
        p->rank = u->H == 1 ? 2 : 3;
        p->shape[0] = (uint64_t)u->C;
        p->shape[1] = (uint64_t)(u->H == 1 ? u->W : u->H);
        p->shape[2] = (uint64_t)u->W;
    } else {
        p->rank = 1;
        p->shape[0] = (uint64_t)p->dim;
    }
    size_t n = (size_t)PRIOR_CHUNK * (size_t)p->dim, H = (size_t)m->net.heads;
    p->cx = mem_alloc_array(n, sizeof(float));
    p->ct = mem_alloc_array(PRIOR_CHUNK, sizeof(float));
    p->out = mem_alloc_array(n * H, sizeof(float));
    p->dout = mem_calloc_array(n * H, sizeof(float));
    p->dx = mem_alloc_array(n, sizeof(float));
    if (!p->cx || !p->ct || !p->out || !p->dout || !p->dx) {
        prior_free(p);
        return ERR_IO;
    }
    return 0;
}

void prior_free(prior *p)
{
    free(p->cx), free(p->ct), free(p->out), free(p->dout), free(p->dx), free(p->work);
    memset(p, 0, sizeof *p);
}

int prior_has_density(const prior *p)
{
    return p->g != NULL;
}

/* sigma(t) / (1 - t) of the interpolant. */
static double kappa_of(const si_interp *ip, double t)
{
    double g = si_gamma(ip, t);
    return sqrt(t * t + g * g) / (1 - t);
}

double prior_time(const si_interp *ip, double kappa)
{
    if (ip->g == 0)
        return kappa / (1 + kappa);
    /* kappa_of increases from 0 at t = 0 to infinity at t = 1 */
    double lo = 0, hi = 1;
    for (int i = 0; i < 100 && hi - lo > 1e-15; i++) {
        double mid = 0.5 * (lo + hi);
        if (kappa_of(ip, mid) < kappa)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- a mixture --------------------------------------------------------- */

typedef struct {
    prior *p;
    const double *y;
    double *score, *div, *logp;
    size_t n;
} gmm_job;

/* Units [begin, end) of threads: unit u takes particles [n u / T,
 * n (u + 1) / T) with scratch of its own. */
static void gmm_units(void *ctx, uint64_t begin, uint64_t end)
{
    gmm_job *j = ctx;
    const gmm *g = j->p->g;
    size_t d = (size_t)g->d, T = (size_t)j->p->threads;
    for (uint64_t u = begin; u < end; u++) {
        double *work = j->p->work + u * gmm_work_doubles(g);
        for (size_t i = j->n * u / T; i < j->n * (u + 1) / T; i++) {
            double lp = gmm_eval(g, j->y + i * d, j->score + i * d,
                                 j->div ? j->div + i : NULL, work);
            if (j->logp)
                j->logp[i] = lp;
        }
    }
}

/* ---- a model ------------------------------------------------------------- */

/* The block of rows [off, off + live) of particles starting at y (the
 * block's row 0 is particle base): score, and with div its estimate. */
static int model_block(prior *p, double kappa, const double *y, int off, int live,
                       uint64_t base, uint32_t step, double *score, double *div)
{
    model *m = p->m;
    int D = p->dim, H = m->net.heads;
    const si_interp *ip = &m->ip;
    double t = prior_time(ip, kappa), a = 1 - t, g = si_gamma(ip, t);
    double s2 = t * t + g * g;
    double k = (t + g * si_dgamma(ip, t) + (ip->combined ? g : 0)) / s2 + 1 / (1 - t);
    double c1 = a / (s2 * k);
    size_t n = (size_t)PRIOR_CHUNK * (size_t)D;
    memset(p->cx, 0, sizeof(float) * n);
    for (int i = 0; i < live; i++)
        for (int j = 0; j < D; j++)
            p->cx[(size_t)(off + i) * D + j] = (float)(a * y[(size_t)i * D + j]);
    for (int i = 0; i < PRIOR_CHUNK; i++)
        p->ct[i] = (float)t;
    int rc = net_forward(&m->net, p->out, p->cx, NULL, p->ct, PRIOR_CHUNK);
    if (rc < 0)
        return rc;
    for (int i = 0; i < live; i++) {
        const float *o = p->out + (size_t)(off + i) * H * D;
        for (int j = 0; j < D; j++)
            score[(size_t)i * D + j] = -c1 * ((double)o[j] + y[(size_t)i * D + j]);
    }
    if (!div)
        return 0;
    /* Hutchinson: tr(do/dx) ~ xi^T J xi, J^T xi from the input-gradient;
     * the second head (the denoiser's) gets no probe */
    double *tr = div;
    for (int i = 0; i < live; i++)
        tr[i] = 0;
    for (int q = 0; q < p->probes; q++) {
        memset(p->dout, 0, sizeof(float) * n * (size_t)H);
        for (int i = 0; i < live; i++) {
            rng_t r;
            rng_init(&r, p->seed, PRIOR_RNG_PROBE + step, (base + (uint64_t)(off + i)) *
                     (uint64_t)p->probes + (uint64_t)q);
            float *xi = p->dout + (size_t)(off + i) * H * D;
            for (int j = 0; j < D; j += 32) {
                uint32_t bits = rng_u32(&r);
                for (int b = 0; b < 32 && j + b < D; b++)
                    xi[j + b] = (bits >> b) & 1 ? 1.0f : -1.0f;
            }
        }
        if (q > 0 && (rc = net_forward(&m->net, p->out, p->cx, NULL, p->ct, PRIOR_CHUNK)) < 0)
            return rc;
        net_zero_grad(&m->net);
        net_backward_dx(&m->net, p->dout, p->dx, PRIOR_CHUNK);
        for (int i = 0; i < live; i++) {
            const float *xi = p->dout + (size_t)(off + i) * H * D;
            const float *jx = p->dx + (size_t)(off + i) * D;
            double s = 0;
            for (int j = 0; j < D; j++)
                s += (double)xi[j] * jx[j];
            tr[i] += s / p->probes;
        }
    }
    for (int i = 0; i < live; i++)
        div[i] = -c1 * (a * tr[i] + D);
    return 0;
}

int prior_eval(prior *p, double kappa, const double *y, size_t n, uint64_t first,
               uint32_t step, double *score, double *div, double *logp)
{
    if (p->g) {
        gmm_set_noise(p->g, kappa * kappa);
        gmm_job j = { p, y, score, div, logp, n };
        par_for(p->threads, (uint64_t)p->threads, gmm_units, &j);
        return 0;
    }
    if (logp)
        return err_set(ERR_USAGE, "a model has no log-density");
    int rc = 0;
    size_t D = (size_t)p->dim;
    for (size_t s = 0; rc == 0 && s < n;) {
        int off = (int)((first + s) % PRIOR_CHUNK);
        int live = (int)(n - s < (size_t)(PRIOR_CHUNK - off) ? n - s : (size_t)(PRIOR_CHUNK - off));
        rc = model_block(p, kappa, y + s * D, off, live, first + s - (uint64_t)off, step,
                         score + s * D, div ? div + s : NULL);
        s += (size_t)live;
    }
    return rc;
}
