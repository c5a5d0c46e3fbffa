/* opt.c - AdamW and friends; see opt.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "opt.h"

opt_config opt_defaults(void)
{
    return (opt_config){ .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                         .weight_decay = 0.01 };
}

int opt_init(opt_state *s, const opt_config *c, size_t n, const float *params)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->m = mem_calloc_array(n, sizeof(float));
    s->v = mem_calloc_array(n, sizeof(float));
    if (c->ema > 0 && (s->ema = mem_alloc_array(n, sizeof(float))))
        memcpy(s->ema, params, sizeof(float) * n);
    if (!s->m || !s->v || (c->ema > 0 && !s->ema)) {
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

double opt_grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s);
}

double opt_step(opt_state *s, const opt_config *c, float *params, float *grads)
{
    double norm = opt_grad_norm(grads, s->n);
    float scale = c->clip > 0 && norm > c->clip ? (float)(c->clip / (norm + 1e-6)) : 1.0f;
    double lr = opt_lr(c, s->step);
    s->step++;
    /* Bias corrections of PyTorch's AdamW: step size lr / (1 - b1^t), and
     * the denominator sqrt(v / (1 - b2^t)) + eps. */
    double bc1 = 1 - pow(c->beta1, (double)s->step), bc2 = 1 - pow(c->beta2, (double)s->step);
    float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    float decay = (float)(1 - lr * c->weight_decay), step = (float)(lr / bc1);
    float rbc2 = (float)(1 / sqrt(bc2));
    for (size_t i = 0; i < s->n; i++) {
        float g = grads[i] * scale;
        grads[i] = g;
        s->m[i] = b1 * s->m[i] + (1 - b1) * g;
        s->v[i] = b2 * s->v[i] + (1 - b2) * g * g;
        params[i] = params[i] * decay - step * s->m[i] / (sqrtf(s->v[i]) * rbc2 + eps);
    }
    if (s->ema) {
        /* The decay warms up as (1 + t) / (10 + t): an average over a
         * fixed 0.999 would otherwise remember the untrained start for
         * thousands of steps. */
        double warm = (1.0 + (double)s->step) / (10.0 + (double)s->step);
        float d = (float)(c->ema < warm ? c->ema : warm);
        for (size_t i = 0; i < s->n; i++)
            s->ema[i] = d * s->ema[i] + (1 - d) * params[i];
    }
    return norm;
}
