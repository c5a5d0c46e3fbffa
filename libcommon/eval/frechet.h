/* frechet.h - the Frechet distance between two Gaussians, N(mu1, S1) and
 * N(mu2, S2), from their means and covariances (as moments.h estimates
 * them): the squared Wasserstein-2 distance between the two Gaussians,
 * which FID (Heusel et al. 2017) evaluates on features of two sample sets:
 *
 *   FD = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^{1/2} S2 S1^{1/2})^{1/2}.
 *
 * The square roots S1^{1/2}, S2^{1/2} come from the eigendecompositions
 * (psd.h); the last trace is the sum of the singular values of
 * S1^{1/2} S2^{1/2} (LAPACK dgesdd), which equals it because
 * (S1^{1/2} S2^{1/2}) (S1^{1/2} S2^{1/2})^T = S1^{1/2} S2 S1^{1/2}.  Why
 * not the square roots of the eigenvalues of S1^{1/2} S2 S1^{1/2}: that
 * matrix squares the small eigenvalues, so rounding error eps |S|^2 in it
 * becomes sqrt(eps) |S| = 1e-8 |S| in each small one's root.  On 500
 * Fashion-MNIST images (784 pixels, 284 zero eigenvalues) the distance of
 * the set to itself came out 1.2e-5 that way (scipy.linalg.sqrtm of S1 S2:
 * 1.1e-5), 2e-13 through the singular values.
 *
 * Everything is in double precision, in one thread (BLAS and LAPACK as the
 * caller has set them; the tools set one thread), so the result depends
 * on the arguments alone. */
#ifndef FRECHET_H
#define FRECHET_H

#include <stddef.h>

/* tr (S1^{1/2} S2 S1^{1/2})^{1/2} for S1, S2 symmetric positive
 * semi-definite d x d (row-major, exactly symmetric), into *tr.
 * 0, ERR_NUMERIC if LAPACK fails, ERR_IO out of memory. */
int fr_trace_sqrt(const double *S1, const double *S2, size_t d, double *tr);

/* The Frechet distance above, into *fd.  It cannot be negative in exact
 * arithmetic; a rounding-size negative result is returned as it is, so
 * that a set against itself shows its rounding (about 1e-13 of tr S).
 * 0 or as fr_trace_sqrt. */
int fr_distance(const double *mu1, const double *S1, const double *mu2, const double *S2,
                size_t d, double *fd);

#endif
