/* classic.h - classical restorers of masked images, the baselines a
 * learned restorer is compared with: neighbour fill, harmonic inpainting
 * and the linear MMSE estimate under a Gaussian prior.  Arrays only (no
 * files); one image per call, so a caller may run images in parallel.
 *
 * An image is (C, H, W) f32, channels outermost, as one sample of a batch
 * field.  Its mask holds `mcount` values: C*H*W (one per value) or H*W
 * (one per pixel, shared by the channels: what `corrupt mask:p=...`
 * writes).  Value j of the image is observed when its mask value, at
 * index j mod mcount, is 1, unobserved when it is 0; no other mask value
 * is allowed (cls_mask_check).
 *
 * Every restorer keeps the observed values of a noiseless observation as
 * they are, and is deterministic: the result depends only on its inputs,
 * not on the thread or the order images are done in. */
#ifndef CLASSIC_H
#define CLASSIC_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tz.h"

/* Harmonic inpainting stops when the largest residual of the discrete
 * Laplace equation at an unobserved pixel (in double) is at most this. */
#define CLS_HARMONIC_TOL 1e-9

/* The index in [0, n) of the first mask value that is neither 0 nor 1
 * (NaN included), or n if there is none. */
size_t cls_mask_check(const float *m, size_t n);

/* Neighbour fill.  Sweep s = 1, 2, ...: every unobserved pixel that is not
 * yet filled and has at least one 8-neighbour inside the image that was
 * observed or filled before sweep s takes the mean of those neighbours'
 * values (as they stood before sweep s, so the order of pixels within a
 * sweep does not matter); repeat until every pixel is filled.  Each
 * channel is filled alone.  A channel with no observed value at all is
 * filled with 0.  Observed values are copied.  x may not alias y.
 * 0, or ERR_IO out of memory. */
int cls_neighbour(const float *y, const float *m, size_t mcount, int C, int H, int W,
                  float *x);

/* Harmonic inpainting: the unobserved values u of each channel solve the
 * discrete Laplace equation with the observed values fixed,
 *
 *   deg(p) u_p - sum_{q ~ p} v_q = 0      for every unobserved pixel p,
 *
 * where q ~ p are p's 4-neighbours inside the image, deg(p) their number
 * (reflecting, Neumann, edges: the image's graph Laplacian), and v_q is
 * u_q or the observed y_q.  Solved in double by conjugate gradients from
 * the neighbour fill, until the largest |residual| is at most
 * CLS_HARMONIC_TOL (checked on the true residual, not CG's recursion).  A
 * channel with no observed value is filled with 0.  Observed values are
 * copied.  0; ERR_NUMERIC if CG has not converged in 10 n + 100 iterations
 * (n unobserved pixels); ERR_IO out of memory. */
int cls_harmonic(const float *y, const float *m, size_t mcount, int C, int H, int W,
                 float *x);

/* The largest |residual| of harmonic's equation over the unobserved
 * pixels of x (in double), for tests. */
double cls_harmonic_residual(const float *x, const float *m, size_t mcount, int C, int H,
                             int W);

/* A Gaussian prior N(mu, cov) on images of d values; borrowed arrays,
 * cov d x d row-major (symmetric). */
typedef struct {
    size_t d;
    const double *mu, *cov;
    double s2;          /* the observation's noise variance (0: noiseless) */
    double ridge;       /* added to the diagonal with s2 */
} cls_prior;

/* Linear MMSE (the posterior mean under the prior, for a Gaussian noise of
 * variance s2 on the observed values):
 *
 *   x = mu + cov[:, O] (cov[O, O] + (s2 + ridge) I)^-1 (y_O - mu_O),
 *
 * O the observed values, in double: a Cholesky factorisation (LAPACK
 * dpotrf, dpotrs), then the sums in index order.  With s2 == 0 the
 * observed values are then replaced by y (the prior's estimate there
 * differs from y only by the ridge); with s2 > 0 every value is the
 * estimate.  No observed value: x = mu.  0; ERR_NUMERIC when the matrix is
 * not positive definite (a covariance that is not, and no ridge); ERR_IO
 * out of memory. */
int cls_lmmse(const cls_prior *p, const float *y, const float *m, size_t mcount, float *x);

/* ---- a batch of images --------------------------------------------------- */

/* CLS_DEBLOCK is method/deblock.h's and CLS_TIKHONOV method/tikhonov.h's,
 * named here so that one name parses them all; cls_restore takes neither. */
enum { CLS_NEIGHBOUR, CLS_HARMONIC, CLS_LMMSE, CLS_DEBLOCK, CLS_TIKHONOV };

/* The restorer named "neighbour", "harmonic", "lmmse", "deblock" or
 * "tikhonov", or -1. */
int cls_parse(const char *name);

/* Restore n images of d = C*H*W values each (y, n x d; masks m, n x
 * mcount) into x (n x d) with the restorer `method` (and prior p for
 * CLS_LMMSE; for it C*H*W need only be d), the images split over
 * `threads` threads (base/par.h): the bytes do not depend on the count.
 * 0, or the error of the first image (by index) that failed, its message
 * prefixed with "image I" (I counted from 0 in this batch). */
int cls_restore(int method, const cls_prior *p, const float *y, const float *m,
                uint64_t n, size_t mcount, int C, int H, int W, float *x, int threads);

/* A batch record's observations restored: the f32 field `y` (n, C, H, W)
 * or (n, H, W) (any shape of p->d values per sample for CLS_LMMSE), and
 * its f32 mask field `mask` (as many values per sample, or those of one
 * channel), each value 0 or 1, give the new f32 field `x` of y's shape.
 * 0; ERR_DATA (a field missing or of the wrong dtype or shape, x already
 * there, a mask value neither 0 nor 1, a prior of another size), ERR_NUMERIC
 * (NaN or Inf in y, a failed solve) with a message naming the field and
 * the sample; ERR_IO out of memory. */
int cls_restore_record(tz_record *rec, const char *y, const char *mask, const char *x,
                       int method, const cls_prior *p, int threads);

#endif
