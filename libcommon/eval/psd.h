/* psd.h - functions of a symmetric matrix through its eigendecomposition
 * (LAPACK dsyev, double precision): C = V L V^T becomes V f(L) V^T.
 *
 *   psd_clip   f(l) = max(l, 0): the nearest positive semi-definite matrix
 *              in the Frobenius norm, for an estimate that is not quite one
 *              (moments.h's pairwise covariance);
 *   psd_sqrt   f(l) = sqrt(max(l, 0)): the principal square root of a
 *              positive semi-definite matrix, its rounding-size negative
 *              eigenvalues taken as 0 (frechet.h).
 *
 * A direct factorisation, not an iteration (Newton-Schulz, Denman-Beavers):
 * it needs no convergence test and copes with singular matrices, which a
 * sample covariance with constant features or fewer samples than values is.
 * C is d x d, row-major and symmetric (dsyev reads one triangle of it);
 * the result is written exactly symmetric.
 * Cost O(d^3): about a second at d = 784 on one core. */
#ifndef PSD_H
#define PSD_H

#include <stddef.h>

/* In place.  0, ERR_NUMERIC if dsyev fails, ERR_IO out of memory. */
int psd_clip(double *C, size_t d);
int psd_sqrt(double *C, size_t d);

#endif
