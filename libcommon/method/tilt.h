/* tilt.h - sampling q(x) ~ p(x)^gamma exp(r(x)) from a prior p known by
 * its score (prior.h) and a reward r (reward.h): guidance, guidance with
 * sequential Monte Carlo, DriftLite's variance-controlling guidance, and
 * the boosted start for quadratic rewards (../shared/research/
 * adaptation.md sections 1 and 2; Ren et al. 2025, Bruna and Han 2024).
 *
 * The path.  In the variance-exploding coordinates of prior.h the noised
 * prior p_k = p * N(0, k^2 I) has no drift and the forward diffusion
 * U^2 dt = d(k^2).  The particles follow
 *
 *     q_k(y) ~ p_k(y)^gamma exp(beta(k) r(y)),   beta(k) = S^2 / (S^2 + k^2),
 *
 * from k = sigma_max (y ~ N(0, sigma_max^2 / gamma I), p_k taken as
 * N(0, k^2 I) there) down to k = 0, where q_0 is the target; S is the
 * reward's scale (reward.h), the noise at which the reward is half on.
 * Noise levels k_0 > ... > k_{M-1} follow Karras et al.'s schedule
 * (rho 7) from sigma_max to sigma_min, then k_M = 0.  Step j, with
 * D = 2 k_j (k_j - k_{j+1}) (U^2 dt) and S_q = gamma s + beta grad r,
 * s the prior's score:
 *
 *   guidance (PG)    y += (1 + lambda) D / 2 S_q + sqrt(lambda D) xi,
 *                    the reverse SDE with the score of q_k in place of p's
 *                    (lambda = 1) down to the probability-flow ODE
 *                    (lambda = 0); the last step is noiseless;
 *   G-SMC            and the log-weights gain, at the step's start,
 *                    the Feynman-Kac increment
 *                      g = (beta_{j+1} - beta_j) r
 *                          + D/2 (beta lap r + |S_q|^2 - gamma |s|^2)
 *                    (DriftLite's potential G with no forward drift:
 *                    it needs no Laplacian of log p); resampled
 *                    (systematic) when the effective sample size falls
 *                    below a fraction of the particles;
 *   VCG-SMC          and a control drift D/2 sum_i theta_i e_i in the
 *                    span of e = (beta grad r, s, -y) (the reward's
 *                    gradient, the score, and the forward drift of the
 *                    interpolant's own coordinates, which is -y up to a
 *                    factor), whose potential h_i = S_q . e_i + div e_i
 *                    joins the increment: g + D/2 theta . h.  theta
 *                    solves the weighted least-squares system
 *                      Cov_w(h) theta = -Cov_w(h, g) / (D/2)
 *                    (a relative ridge of 1e-8), minimising the
 *                    variance of the increments over the particles;
 *                    div s is the prior's (prior.h: exact for a mixture,
 *                    Hutchinson's for a model);
 *   boosted          (a quadratic reward, r = -y^T Q y / 2 + h^T y, gamma
 *                    1) the unguided reverse SDE down to k' with
 *                    k'^2 = level / lambda_max(Q); there MCMC on the
 *                    boosted distribution
 *                      nu(y) ~ p_k'(y) exp(-y^T Q' y / 2 + h'^T y),
 *                      Q' = Q (I - k'^2 Q)^-1, h' = (I - k'^2 Q)^-1 h,
 *                    whose gradient is s + (I - k'^2 Q)^-1 grad r (a
 *                    conjugate-gradient solve): MALA when the prior has a
 *                    log-density, ULA otherwise; then the unchanged
 *                    reverse SDE (lambda 1) to k = 0, which carries nu to
 *                    the target exactly (adaptation.md 2.2); no weights;
 *   exact            (a mixture prior, a Gaussian or no reward) draws of
 *                    the target itself (gmm_product, by rejection when
 *                    gamma is not 1).
 *
 * Randomness is keyed by (seed, purpose and step, particle index), the
 * index of particle i of population P being P n + i, so a population's
 * result does not depend on the others, the batching or the threads. */
#ifndef TILT_H
#define TILT_H

#include <stddef.h>
#include <stdint.h>

#include "method/prior.h"
#include "method/reward.h"

enum { TILT_PG, TILT_GSMC, TILT_VCG, TILT_BOOST, TILT_EXACT };

typedef struct {
    int method;             /* TILT_* */
    double gamma;           /* the prior's exponent, > 0 */
    int steps;              /* M >= 2 */
    double sigma_max, sigma_min;
    double lambda;          /* the reverse SDE's noise, 0 (ODE) to 1 */
    double ess;             /* resample when ESS < ess n (0: never) */
    double scale;           /* S of beta(k) */
    int resample_final;     /* end with equal weights */
    double level;           /* boosted: k'^2 lambda_max(Q) */
    int mcmc_steps;
    double mcmc_step;       /* boosted: the MCMC step over its bound */
    uint64_t seed;
    /* called after each step with the step count so far, or NULL */
    void (*progress)(void *ctx, int steps_done);
    void *ctx;
} tilt_opts;

/* One step's record of a population. */
typedef struct {
    int step;
    double kappa, beta;     /* at the step's start */
    double ess;             /* after the step's weights, before resampling */
    double var_g, var_phi;  /* weighted variance of the increment: G-SMC's
                             * g, and with the control g + theta . h */
    double theta[3];        /* reward gradient, score, drift */
    double accept;          /* boosted: MALA's acceptance rate */
    int resampled;
} tilt_row;

/* The names of the methods, in TILT_* order. */
extern const char *const tilt_methods[];

/* Check o against the prior and the reward (the method's needs, the
 * ranges); ERR_USAGE with the reason, or 0. */
int tilt_check(const tilt_opts *o, const prior *p, const reward *rw);

/* The rows of trace tilt_run fills (steps, plus one for boosted's MCMC). */
int tilt_trace_rows(const tilt_opts *o);

/* Run population index of n particles: x (n, dim) the particles, w (n)
 * their normalised weights, trace (room for tilt_trace_rows) or NULL.
 * Returns the rows of trace filled (the boosted start may skip a step),
 * or ERR_NUMERIC (a particle or weight not finite), ERR_EXTERNAL (the
 * reward program), ERR_IO. */
int tilt_run(prior *p, reward *rw, const tilt_opts *o, size_t n, uint64_t index, double *x,
             double *w, tilt_row *trace);

/* One particle drawn by its weight w (n, normalised), keyed by (seed,
 * index): a sample of the population's target. */
size_t tilt_pick(const tilt_opts *o, const double *w, size_t n, uint64_t index);

#endif
