/* deconv.h - linear-Gaussian restoration through a known linear
 * instrument (ops/lin.h): the classical baselines for blurs.
 *
 * Under a Gaussian prior N(mu, S) and y = A x + white noise of variance
 * s2, the posterior mean is
 *
 *   x = mu + S A^T (A S A^T + (s2 + ridge) I)^-1 (y - A mu),
 *
 * A the chain's matrix for the sample's side information (its mask, its
 * angle), built column by column from lin_apply, so that the reflected
 * edges are the instrument's own.  Unobserved pixels (a mask's) are left
 * out: their rows of A and their y are zero, so their equation is
 * (s2 + ridge) u = 0 and they carry nothing.  In double: two products
 * (BLAS dgemm), a Cholesky factorisation (LAPACK dpotrf, dpotrs).  With a
 * chain that needs no side information (a Gaussian blur) the gain
 * S A^T (A S A^T + ...)^-1 is the same for every image and is made once.
 *
 * The prior is a moments file (eval/moments.h): the clean images' (the
 * reference that saw clean data), or the stationary one that
 * dcv_spectrum estimates from the observations alone, which makes this
 * the Wiener filter (without its usual periodic edges). */
#ifndef DECONV_H
#define DECONV_H

#include <stddef.h>
#include <stdint.h>

#include "method/classic.h"
#include "ops/lin.h"
#include "formats/tz.h"

/* A batch record's observations `y` (f32 images (n, C, H, W), or (n, H, W)
 * when C is 1: the prior's shape, not only its size), with the side fields
 * the chain needs (mask, angle), restored into the new f32 field `x` of
 * y's shape, under prior p (p->s2 the noise variance), the images split
 * over `threads` threads (the bytes do not depend on the count).  0;
 * ERR_DATA (a field missing or ill-shaped, a prior of another size),
 * ERR_NUMERIC (a failed factorisation) naming the sample; ERR_IO. */
int dcv_restore_record(tz_record *rec, const char *y, const char *x, const cls_prior *p,
                       const lin_chain *lc, int C, int H, int W, int threads);

/* ---- the stationary prior from observations ------------------------------
 *
 * For images seen through a blur (no mask), per channel: the observations'
 * mean image m and power spectrum Py(w) = mean |DFT(h (y - m))|^2 / sum h^2,
 * h the Hann taper sin^2(pi (i + 1/2) / n) along each axis (the blur's
 * reflected edges and the DFT's torus disagree at the border; untapered,
 * that adds to Py along the frequency axes, 0.004 against the noise's
 * 0.0025 for Fashion-MNIST through blur:sigma=1:noise=0.05, and the
 * spectrum below blows up there: the restoration fell below the
 * observation); the blur's mean squared frequency response E|Hk(w)|^2 (its
 * kernel on the torus, averaged over the samples' angles); the clean
 * spectrum
 *
 *   Px(w) = (Py(w) - s2) / E|Hk(w)|^2   where Py(w) > 2 s2, else 0
 *
 * (a frequency that the noise swamps is left to the mean), and the
 * stationary covariance S(p, q) = c(p - q) on the torus, c the inverse DFT
 * of Px: the covariance whose eigenvalues are Px.  The mean image is taken
 * as the prior's mean (a blur keeps a mean's smooth shape). */
typedef struct {
    int C, H, W;
    uint64_t n;
    double s2;
    double *sum;        /* C H W: sum of the observations */
    double *pow;        /* C H W: sum of |DFT(y)|^2 per frequency */
    double *resp;       /* H W: sum of the blurs' |Hk|^2 */
    double *dre, *dim;  /* H W + max(H, W) each: the DFT's scratch */
    double *hr, *hi;    /* H W each: the chain's response */
    double *tab;        /* 2 (H + W): the DFT's tables */
    double *win, wsum;  /* H W: the taper; the sum of its squares */
} dcv_spectrum;

/* Allocates; dcv_spectrum_free frees.  s2: the noise variance.  0 or ERR_IO. */
int dcv_spectrum_init(dcv_spectrum *s, int C, int H, int W, double s2);
void dcv_spectrum_free(dcv_spectrum *s);
/* Add one observation (C H W values) and its side information; the chain
 * must hold no mask (ERR_USAGE).  0 or ERR_*. */
int dcv_spectrum_add(dcv_spectrum *s, const lin_chain *lc, const lin_side *sd,
                     const float *y);
/* mean (C H W) and cov (C H W squared, block-diagonal by channel).  Needs
 * n >= 2: ERR_DATA.  0 or ERR_*. */
int dcv_spectrum_finish(dcv_spectrum *s, double *mean, double *cov);

#endif
