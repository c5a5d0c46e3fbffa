/* tikhonov.h - Tikhonov deconvolution of 1-D signals, one at a time,
 * through a known linear instrument: the per-spectrum baseline that SCSI,
 * which learns from all spectra at once, is compared with.
 *
 * For a sample's observation y = A x + white noise of variance s2, A the
 * chain's matrix for the sample's side information (its smoothing width,
 * tilt, mask; ops/lin.h) and s2 its noise variance, the estimate is
 *
 *   x = argmin_x |y - A x|^2 / s2 + lambda |D_k x|^2
 *     = (A^T A + lambda s2 D_k^T D_k)^-1 A^T y,
 *
 * D_k the k-th differences along the signal: k = 0 the identity (a ridge,
 * which pulls x to 0), k = 1 the rows x[j+1] - x[j], k = 2 the rows
 * x[j-1] - 2 x[j] + x[j+1] (L - k rows each; a straight line costs nothing
 * at k = 2, so a continuum is not pulled down).  lambda is thus the weight
 * of roughness against the chi-square: the same lambda suits samples of
 * different noise levels.
 *
 * A works along each row of a sample (C, H, W) alone and mixes values at
 * most lin_reach() apart, so A^T A + ... is banded: A is read off the
 * instrument's own kernels (lin_apply on 2 reach + 1 combs of unit values,
 * whose responses do not overlap), and the band solved by Cholesky (LAPACK
 * dpbtrf, dpbtrs) in double, row by row: O(L reach^2) per row, not O(L^3). */
#ifndef TIKHONOV_H
#define TIKHONOV_H

#include "ops/lin.h"
#include "formats/tz.h"

typedef struct {
    double lambda;      /* >= 0 */
    int order;          /* k: 0, 1 or 2 */
    double noise_var;   /* s2 for every sample; < 0: the instrument's,
                         * lin_noise_var() of the sample's mean */
} tik_opts;

/* A batch record's observations, the f32 field `y` of signals (n, L), (n,
 * H, L) or (n, C, H, L), with the side fields lc reads (lin_fields_find:
 * mask, snr required if it has them; smooth and tilt if present), restored
 * into the new f32 field `x` of y's shape, the samples split over
 * `threads` threads (the bytes do not depend on the count).  0; ERR_USAGE
 * (a chain with image steps: blur, motion, down); ERR_DATA (a field
 * missing or ill-shaped, x already there); ERR_NUMERIC (NaN or Inf in y,
 * a factorisation that failed: no noise and no penalty) naming the
 * sample; ERR_IO. */
int tik_restore_record(tz_record *rec, const char *y, const char *x, const lin_chain *lc,
                       const tik_opts *o, int threads);

#endif
