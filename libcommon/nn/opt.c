/* opt.c - AdamW and friends; see opt.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "nn/opt.h"
#include "base/par.h"
#include "nn/sum.h"

opt_config opt_defaults(void)
{
    return (opt_config){ .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                         .weight_decay = 0.01 };
}

static size_t blocks(size_t n)
{
    return (n + OPT_BLOCK - 1) / OPT_BLOCK;
}

int opt_init(opt_state *s, const opt_config *c, size_t n, const float *params)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->threads = 1;
    s->part = mem_alloc_array(blocks(n) ? blocks(n) : 1, sizeof(double));
    s->m = mem_calloc_array(n, sizeof(float));
    s->v = mem_calloc_array(n, sizeof(float));
    if (c->ema > 0 && (s->ema = mem_alloc_array(n, sizeof(float))))
        memcpy(s->ema, params, sizeof(float) * n);
    if (!s->m || !s->v || !s->part || (c->ema > 0 && !s->ema)) {
        opt_free(s);
        return ERR_IO;
    }
    return 0;
}

void opt_free(opt_state *s)
{
    free(s->m);
    free(s->v);
    free(s->ema);
    free(s->part);
    memset(s, 0, sizeof *s);
}

double opt_lr(const opt_config *c, uint64_t step)
{
    if (c->warmup && step < c->warmup)
        return c->lr * (double)(step + 1) / (double)c->warmup;
    if (!c->total)
        return c->lr;
    double done = (double)(step - c->warmup) / (double)(c->total > c->warmup
                                                          ? c->total - c->warmup : 1);
    if (done > 1)
        done = 1;
    return c->lr * 0.5 * (1 + cos(M_PI * done));
}

/* One step, shared by the threads; each takes whole blocks. */
typedef struct {
    opt_state *s;
    float *params, *grads;
    double *part;                       /* per block: sum of squared grads */
    float scale, b1, b2, eps, decay, step, rbc2, ema;
} step_job;

static void norm_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    const step_job *j = ctx;
    for (uint64_t b = b0; b < b1; b++) {
        size_t lo = b * OPT_BLOCK, hi = lo + OPT_BLOCK < j->s->n ? lo + OPT_BLOCK : j->s->n;
        j->part[b] = sum_dot(j->grads + lo, j->grads + lo, hi - lo);
    }
}

static double norm_of(step_job *j, int threads)
{
    size_t nb = blocks(j->s->n);
    par_for(threads, nb, norm_worker, j);
    double t = 0;
    for (size_t b = 0; b < nb; b++)
        t += j->part[b];
    return sqrt(t);
}

static void update_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    const step_job *j = ctx;
    float *restrict m = j->s->m, *restrict v = j->s->v, *restrict ema = j->s->ema;
    float *restrict p = j->params, *restrict gr = j->grads;
    size_t lo = b0 * OPT_BLOCK, hi = b1 * OPT_BLOCK < j->s->n ? b1 * OPT_BLOCK : j->s->n;
    for (size_t i = lo; i < hi; i++) {
        float g = gr[i] * j->scale;
        gr[i] = g;
        m[i] = j->b1 * m[i] + (1 - j->b1) * g;
        v[i] = j->b2 * v[i] + (1 - j->b2) * g * g;
        p[i] = p[i] * j->decay - j->step * m[i] / (sqrtf(v[i]) * j->rbc2 + j->eps);
    }
    if (ema)
        for (size_t i = lo; i < hi; i++)
            ema[i] = j->ema * ema[i] + (1 - j->ema) * p[i];
}

double opt_grad_norm(const float *g, size_t n)
{
    opt_state s = { .n = n };
    double *part = mem_alloc_array(blocks(n) ? blocks(n) : 1, sizeof(double));
    if (!part)
        return NAN;
    step_job j = { .s = &s, .grads = (float *)g, .part = part };
    double norm = norm_of(&j, 1);
    free(part);
    return norm;
}

double opt_step(opt_state *s, const opt_config *c, float *params, float *grads)
{
    step_job j = { .s = s, .params = params, .grads = grads, .part = s->part };
    double norm = norm_of(&j, s->threads);
    j.scale = c->clip > 0 && norm > c->clip ? (float)(c->clip / (norm + 1e-6)) : 1.0f;
    double lr = opt_lr(c, s->step);
    s->step++;
    /* Bias corrections of PyTorch's AdamW: step size lr / (1 - b1^t), and
     * the denominator sqrt(v / (1 - b2^t)) + eps. */
    double bc1 = 1 - pow(c->beta1, (double)s->step), bc2 = 1 - pow(c->beta2, (double)s->step);
    j.b1 = (float)c->beta1, j.b2 = (float)c->beta2, j.eps = (float)c->eps;
    j.decay = (float)(1 - lr * c->weight_decay), j.step = (float)(lr / bc1);
    j.rbc2 = (float)(1 / sqrt(bc2));
    /* The EMA's decay warms up as (1 + t) / (10 + t): an average over a
     * fixed 0.999 would otherwise remember the untrained start for
     * thousands of steps. */
    double warm = (1.0 + (double)s->step) / (10.0 + (double)s->step);
    j.ema = (float)(c->ema < warm ? c->ema : warm);
    par_for(s->threads, blocks(s->n), update_worker, &j);
    return norm;
}
