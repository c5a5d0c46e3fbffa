/* prior.h - a prior's score along the variance-exploding path: the field
 * tilt(1) guides.
 *
 * tilt works in the coordinates y = x_t / a(t) of the generative
 * interpolant x_t = a(t) x0 + sigma(t) e, a = 1 - t, sigma^2 = t^2 +
 * gamma(t)^2 (si.h: x1 and z are both fresh noise), where the noised
 * prior is p_kappa = law(x0 + kappa e), kappa = sigma / a: a
 * variance-exploding path with no drift, the same for every interpolant
 * (Karras et al. 2022).  kappa runs from 0 (the data) to infinity (t =
 * 1), and p_kappa is the prior convolved with N(0, kappa^2 I).
 *
 * The prior is either an analytic mixture (gmm.h: score, divergence and
 * log-density exact) or a generative model (si-train --generative).  A
 * model's network gives, at x = a y and the t of kappa, the drift b (or
 * the combined drift b + eta) regressed on x1 - x0 + gamma' z (+ z), an
 * affine function of m = E[t x1 + gamma z | x]:
 *
 *     o = k m - x / (1 - t),   k = (t + gamma gamma' + c gamma) / sigma^2 + 1 / (1 - t),
 *
 * c = 1 for the combined drift, else 0; so the score of p_kappa is
 *
 *     s(y) = -(a / (sigma^2 k)) (o + y),
 *
 * and its divergence -(a / (sigma^2 k)) (a tr(do/dx) + d), the trace by
 * Hutchinson's estimator: xi^T J xi with Rademacher xi, J^T xi the
 * network's input-gradient (net_backward_dx).  A model has no
 * log-density. */
#ifndef PRIOR_H
#define PRIOR_H

#include <stddef.h>
#include <stdint.h>

#include "method/gmm.h"
#include "method/model.h"

typedef struct {
    gmm *g;             /* the analytic prior (borrowed), or NULL */
    model *m;           /* the model (borrowed), or NULL */
    int dim;            /* values per sample */
    int rank;           /* a sample's shape: rank and dims */
    uint64_t shape[3];
    int threads;        /* a mixture's evaluations split over them */
    int probes;         /* Hutchinson's probes per divergence */
    uint64_t seed;      /* keys the probes */
    /* scratch, owned */
    float *cx, *ct, *out, *dout, *dx;
    double *work;
} prior;

/* p reads the analytic mixture g (borrowed; its noise is set by
 * prior_eval).  0 or ERR_IO. */
int prior_gmm(prior *p, gmm *g, int threads);
/* p reads the generative model m (borrowed, loaded by model_load; its EMA
 * weights, if it has them, should already be in its parameters).
 * ERR_USAGE if m is not a generative model without side inputs; 0 or
 * ERR_IO. */
int prior_model(prior *p, model *m, int probes, uint64_t seed);
void prior_free(prior *p);

/* 1 if prior_eval can give the log-density (a mixture). */
int prior_has_density(const prior *p);

/* The t of the model's interpolant at which sigma(t) / (1 - t) = kappa. */
double prior_time(const si_interp *ip, double kappa);

/* For n particles y (n, dim), the first with index first (a model's
 * network places particle g at row g mod 64 of its blocks, so a
 * particle's score does not depend on the others; the probes are keyed
 * by (seed, step, index)): score (n, dim) of p_kappa; if div is not NULL
 * its divergence (n), exact or estimated; if logp is not NULL (a
 * mixture's only) the log-density (n).  0, or ERR_IO. */
int prior_eval(prior *p, double kappa, const double *y, size_t n, uint64_t first,
               uint32_t step, double *score, double *div, double *logp);

#endif
