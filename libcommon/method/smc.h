/* smc.h - the weights of a particle population (sequential Monte Carlo):
 * normalised weights from log-weights, their effective sample size,
 * systematic resampling, and weighted moments.
 *
 * Sums run over the particles in index order, so results do not depend on
 * the thread count of whatever produced the particles. */
#ifndef SMC_H
#define SMC_H

#include <stddef.h>
#include <stdint.h>

/* w (n) = softmax(lw): the normalised weights of the log-weights lw (n),
 * computed after subtracting their maximum so that none overflows.
 * Returns the effective sample size 1 / sum w_i^2, from 1 (one particle
 * holds all the weight) to n (equal weights).  n >= 1; lw finite. */
double smc_normalize(const double *lw, size_t n, double *w);

/* Systematic resampling: m ancestor indices into idx (ascending), the
 * j-th the particle whose cumulative weight first passes (u + j) / m, u
 * uniform on [0, 1).  Particle i is drawn floor(m w_i) or ceil(m w_i)
 * times: the least variance of the usual schemes (Douc and Cappe 2005).
 * w (n) normalised. */
void smc_systematic(const double *w, size_t n, double u, size_t m, uint32_t *idx);

/* Rows of x (n rows of width values) replaced by rows idx[0..n) of the
 * old x; tmp holds n width values. */
void smc_gather(double *x, size_t n, size_t width, const uint32_t *idx, double *tmp);

/* sum_i w_i a_i over the n particles. */
double smc_mean(const double *w, const double *a, size_t n);

/* out (width) = sum_i w_i x_i over the n rows of x (n, width). */
void smc_mean_rows(const double *w, const double *x, size_t n, size_t width, double *out);

/* The weighted covariance sum_i w_i (a_i - abar)(b_i - bbar) of two
 * per-particle quantities (a == b: the variance). */
double smc_cov(const double *w, const double *a, const double *b, size_t n);

#endif
