/* imq.h - image quality of one image against a reference.
 *
 * Images are (C, H, W) f32, row-major, channels outermost, as a batch
 * field of images holds one sample.  All arithmetic is in double.
 *
 *   imq_mse    mean squared error over every value;
 *   imq_psnr   peak signal-to-noise ratio from an MSE and the data range;
 *   imq_ssim   structural similarity (Wang, Bovik, Sheikh and Simoncelli,
 *              "Image quality assessment: from error visibility to
 *              structural similarity", IEEE TIP 13(4), 2004), with the
 *              Gaussian window that torchmetrics and scikit-image
 *              (gaussian_weights=True) use. */
#ifndef IMQ_H
#define IMQ_H

#include <stddef.h>
#include <stdint.h>

/* SSIM's constants: the window, its std, K1 and K2. */
#define IMQ_SSIM_WINDOW 11
#define IMQ_SSIM_SIGMA 1.5
#define IMQ_SSIM_K1 0.01
#define IMQ_SSIM_K2 0.03

/* 1/n sum (a_i - b_i)^2 over n values (0 if n == 0). */
double imq_mse(const float *a, const float *b, size_t n);

/* 10 log10(data_range^2 / mse) in dB; +Inf when mse == 0. */
double imq_psnr(double mse, double data_range);

/* The window SSIM uses for an H x W image: IMQ_SSIM_WINDOW, or when H or W
 * is smaller, the largest odd size <= min(H, W). */
int imq_ssim_window(int H, int W);

/* Mean SSIM of a against b, both (C, H, W), with L = data_range:
 *
 *   SSIM(p) = (2 mu_a mu_b + C1) (2 s_ab + C2)
 *             / ((mu_a^2 + mu_b^2 + C1) (s_a^2 + s_b^2 + C2)),
 *
 *   C1 = (K1 L)^2, C2 = (K2 L)^2, where mu, s^2 and s_ab are the local
 * means, variances and covariance under a normalised w x w Gaussian window
 * g(u) g(v), g(u) = exp(-(u - r)^2 / (2 sigma^2)) for u = 0..w-1, r =
 * (w-1)/2 (w from imq_ssim_window, sigma = 1.5 whatever w): s_a^2 =
 * E[a^2] - mu_a^2 and s_ab = E[ab] - mu_a mu_b, without the n/(n-1)
 * correction.  The window takes only positions wholly inside the image (the
 * "valid" region, (H-w+1) x (W-w+1) centres, no padding: what torchmetrics
 * keeps after cropping its reflected border), and the result is the mean
 * of SSIM(p) over those positions and the C channels.  Needs C, H, W >= 1
 * and data_range > 0; NaN with err set (ERR_DATA for bad sizes, ERR_IO out
 * of memory) otherwise. */
double imq_ssim(const float *a, const float *b, int C, int H, int W,
                double data_range);

/* The three scores of sample a against ref, one sample of a batch field
 * of the given rank and dims (dims[0] the batch): s[IMQ_MSE], s[IMQ_PSNR]
 * and s[IMQ_SSIM], the SSIM only for images ((N, H, W) or (N, C, H, W)
 * fields), else NaN. */
enum { IMQ_MSE, IMQ_PSNR, IMQ_SSIM, IMQ_NSCORES };
void imq_scores(const float *a, const float *ref, int rank, const uint64_t *dims,
                double data_range, double *s);

#endif
