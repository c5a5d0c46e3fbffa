/* opt.h - training a flat parameter array: AdamW, gradient-norm clipping,
 * the learning-rate schedule (linear warm-up, cosine decay) and an
 * exponential moving average of the weights.
 *
 * The EMA's decay is min(ema, (1 + t) / (10 + t)) at step t, so it
 * forgets the initial weights early on.
 *
 * AdamW follows PyTorch's torch.optim.AdamW exactly (decoupled weight
 * decay applied first, bias-corrected moments), so a step can be checked
 * against it to rounding. */
#ifndef OPT_H
#define OPT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double lr;              /* peak learning rate */
    double beta1, beta2, eps;
    double weight_decay;
    uint64_t warmup;        /* steps of linear warm-up from 0 */
    uint64_t total;         /* steps of the cosine decay to 0; 0: constant */
    double clip;            /* max gradient norm; 0: no clipping */
    double ema;             /* EMA decay of the weights; 0: no EMA */
} opt_config;

/* PyTorch's AdamW defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, decay 0.01. */
opt_config opt_defaults(void);

typedef struct {
    size_t n;
    float *m, *v;           /* first and second moments, n each */
    float *ema;             /* EMA of the weights, or NULL */
    uint64_t step;          /* steps taken */
    int threads;            /* opt_step's threads (opt_init: 1); the results
                               do not depend on it */
    double *part;           /* opt_step's per-block sums */
} opt_state;

/* Allocate zeroed moments for n parameters; the EMA (if c->ema > 0)
 * starts at params.  0 or ERR_IO. */
int opt_init(opt_state *s, const opt_config *c, size_t n, const float *params);
void opt_free(opt_state *s);

/* The learning rate of step (counted from 0). */
double opt_lr(const opt_config *c, uint64_t step);

/* L2 norm of g[0..n), in double, summed in a fixed order (blocks of
 * OPT_BLOCK, each by sum.h, then the blocks in turn). */
enum { OPT_BLOCK = 1 << 14 };
double opt_grad_norm(const float *g, size_t n);

/* One step: clip grads (in place) to c->clip, update params, the moments
 * and the EMA.  Returns the gradient norm before clipping. */
double opt_step(opt_state *s, const opt_config *c, float *params, float *grads);

#endif
