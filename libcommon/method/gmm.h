/* gmm.h - Gaussian mixtures in closed form: the analytic prior of tilt(1)
 * and its exact targets.
 *
 * A mixture p(x) = sum_k w_k N(x; mu_k, Sigma_k) in d dimensions is read
 * from a small spec file (tilt(1), "MIXTURE SPEC"):
 *
 *     dim 2
 *     component 0.5  mean  2 0  cov 0.25          # isotropic
 *     component 0.5  mean -2 0  cov 0.1 0.4       # diagonal
 *     component 1    mean  0 3  cov 1 0.5 0.5 1   # full, row-major
 *
 * Each covariance is kept as its eigendecomposition Sigma = V diag(l) V^T
 * (V the identity for a diagonal one), so that the mixture seen through
 * the noise of a variance-exploding path, p_s = p * N(0, s I), is again a
 * mixture whose covariances are V diag(l + s) V^T: its log-density, score
 * and score divergence (the Laplacian of log p_s) are exact at every
 * noise level s.
 *
 * The same spec with one component describes a Gaussian factor
 * exp(-(x - c)^T C^-1 (x - c) / 2), the quadratic reward of tilt(1); the
 * product of a mixture raised to a power with such a factor is what the
 * exact targets are built from (gmm_product, gmm_anneal_accept). */
#ifndef GMM_H
#define GMM_H

#include <stddef.h>

#include "base/rng.h"

#define GMM_DIM_MAX 4096
#define GMM_COMPONENTS_MAX 65536

typedef struct {
    int d, k;
    double *w;          /* (k) weights, summing to 1 */
    double *mu;         /* (k, d) means */
    double *ev;         /* (k, d) each covariance's eigenvalues, > 0 */
    double *V;          /* (k, d, d) eigenvectors as columns, row-major, of
                         * the components with rot set; NULL if none is */
    int *rot;           /* (k) 1: V holds the eigenvectors; 0: diagonal */
    /* set by gmm_set_noise, read by gmm_eval */
    double noise;       /* s */
    double *lc;         /* (k) log w_k - (d log 2 pi + log det(Sigma_k + s)) / 2 */
    double *iev;        /* (k, d) 1 / (l + s) */
    double *tr;         /* (k) trace of (Sigma_k + s I)^-1 */
} gmm;

/* Parse a spec (text, NUL-terminated); name is the file's name for
 * messages ("NAME: line N: reason").  g is owned by the caller
 * (gmm_free); its noise is set to 0.  0, or ERR_DATA (a malformed spec:
 * an unknown keyword, a number missing or not finite, a weight <= 0, a
 * covariance that is not symmetric positive definite) or ERR_IO. */
int gmm_parse(gmm *g, const char *text, const char *name);
/* gmm_parse on the file at path.  ERR_IO if it cannot be read. */
int gmm_read(gmm *g, const char *path);
void gmm_free(gmm *g);

/* Precompute the mixture convolved with N(0, s I), s >= 0, for the
 * gmm_eval calls that follow.  Not thread-safe; gmm_eval only reads. */
void gmm_set_noise(gmm *g, double s);

/* Doubles of scratch gmm_eval needs. */
size_t gmm_work_doubles(const gmm *g);

/* At x (d): the log-density of p_s (gmm_set_noise), and, if not NULL, its
 * score (d) and the score's divergence (the Laplacian of log p_s).  work
 * holds gmm_work_doubles() doubles; thread-safe with distinct work. */
double gmm_eval(const gmm *g, const double *x, double *score, double *div, double *work);

/* One draw of p (noise 0) into x (d), from r. */
void gmm_sample(const gmm *g, rng_t *r, double *x);

/* The mixture proportional to sum_k (w_k N(x; mu_k, Sigma_k))^gamma
 * exp(-(x - c)^T C^-1 (x - c) / 2), with c and C the one component of f
 * (f NULL: no factor), into out (owned by the caller, gmm_free).  With
 * gamma 1 it is p(x) times the factor exactly; otherwise the proposal of
 * gmm_anneal_accept.  gamma > 0.  0, or ERR_NUMERIC (LAPACK failed),
 * ERR_DATA (dimensions differ), ERR_IO. */
int gmm_product(const gmm *g, double gamma, const gmm *f, gmm *out);

/* For a draw x of gmm_product(g, gamma, f): the log of the probability
 * with which to accept it so that accepted draws follow p(x)^gamma times
 * the factor exactly,
 *
 *     (sum_k w_k N_k(x))^gamma / (K^max(gamma - 1, 0) sum_k (w_k N_k(x))^gamma),
 *
 * at most 0 since (sum a_k)^gamma <= K^(gamma - 1) sum a_k^gamma for
 * gamma >= 1 and <= sum a_k^gamma for gamma <= 1.  Needs g's noise 0;
 * work holds gmm_work_doubles(g) doubles. */
double gmm_anneal_accept(const gmm *g, double gamma, const double *x, double *work);

/* y (d) = C^-1 x: the precision of f's first component applied to x (d).
 * work holds d doubles. */
void gmm_precision_apply(const gmm *f, const double *x, double *y, double *work);

#endif
