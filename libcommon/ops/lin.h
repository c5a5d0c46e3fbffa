/* lin.h - the linear part of the built-in forward operators, and its
 * adjoint.
 *
 * Given a sample's side information (its mask, its motion angle, its
 * smoothing width and tilt), a chain of mask, Gaussian blur, motion blur,
 * block averaging, 1-D smoothing and tilt is a linear map A; the noise the
 * chain adds is not part of it.  Guidance (DPS) needs
 * A x and A^T g to differentiate |y - A x| through the instrument; the
 * classical deconvolutions need A's matrix.  fwd.c runs the same kernels
 * (this file's), so A x is, bit for bit, the instrument without its noise,
 * and A^T is the exact transpose of it, reflected edges included.
 *
 * A sample is (C, H, W) floats; the mask is (H, W), shared by the channels.
 * The spectral steps (smooth, tilt) run along the last axis, W, of every
 * row: a 1-D signal is a sample of H = 1. */
#ifndef LIN_H
#define LIN_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tz.h"

enum { LIN_MASK, LIN_BLUR, LIN_MOTION, LIN_DOWN, LIN_SMOOTH, LIN_TILT };
#define LIN_STEPS_MAX 16
#define LIN_MOTION_MAX 101      /* motion kernel length */
#define LIN_TAPS_MAX 8003       /* 1-D Gaussian taps (radius 4000) */

typedef struct {
    int kind;
    double p;           /* blur: sigma; motion: length k; down: factor f;
                         * smooth: the nominal sigma; tilt: the bound a */
} lin_step;

typedef struct {
    int n;
    lin_step step[LIN_STEPS_MAX];
    double noise_var;   /* of the white noise the chain adds at its output */
    int snr;            /* 1: it also adds white noise of std lin_snr_std() */
} lin_chain;

/* One sample's side information: mask (H W values, 1 kept, 0 dropped) if
 * the chain masks, angle / pi if it has a motion blur; for the spectral
 * steps the smoothing's std (0: the step's nominal sigma), the tilt's
 * slope s (0: none), and the sample's signal-to-noise ratio (for
 * lin_noise_var). */
typedef struct {
    const float *mask;
    double angle;
    double smooth, tilt, snr;
} lin_side;

/* Scratch floats lin_apply and lin_adjoint need for (C, H, W) samples. */
size_t lin_work_floats(int C, int H, int W);
/* x = A x, in place; work holds lin_work_floats() floats. */
void lin_apply(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *x,
               float *work);
/* g = A^T g, in place. */
void lin_adjoint(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *g,
                 float *work);
/* 1 if the chain has a spectral step (smooth, tilt) or snr's noise: the
 * steps whose side information lin_fields reads from a record. */
int lin_spectral(const lin_chain *lc);
/* The farthest two values of a row that A mixes: A's entries (i, j) of a
 * row are 0 for |i - j| > lin_reach (the smoothing's radii summed, edges
 * reflected inside it).  -1 if A mixes rows (blur, motion, down). */
int lin_reach(const lin_chain *lc, const lin_side *sd);
/* The variance of the noise the chain adds to a sample whose noise-free
 * output has the given mean (snr noise depends on it). */
double lin_noise_var(const lin_chain *lc, const lin_side *sd, double mean);
/* y = 0 where a mask dropped the pixel (what the instrument did not
 * observe: its fill noise carries nothing), in place. */
void lin_observed(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *y);

/* The side fields of a batch record that a chain reads (fwd.h's names),
 * borrowed from the record: NULL where absent. */
typedef struct {
    const float *mask, *angle, *smooth, *tilt, *snr;
    size_t hw;          /* mask values per sample */
} lin_fields;

/* Find in rec, of n samples, the side fields lc reads: f32 mask (hw values
 * per sample) for a mask, angle for a motion blur, snr for snr noise, each
 * required; smooth and tilt (one f32 per sample) when they are there: an
 * absent smooth means each sample's smoothing is the nominal sigma, an
 * absent tilt no tilt (an unknown calibration, its mean).  0, or ERR_DATA
 * naming the field missing or ill-shaped. */
int lin_fields_find(const lin_chain *lc, const tz_record *rec, uint64_t n, size_t hw,
                    lin_fields *f);
/* Sample i's side information from f. */
lin_side lin_fields_at(const lin_fields *f, uint64_t i);

/* ---- kernels, shared with fwd.c and exposed for the tests -------------- */

/* The normalised Gaussian kernel of standard deviation sigma with radius
 * ceil(radius_sigmas sigma) into k (at most cap taps).  Returns the taps. */
int lin_gauss_kernel(double sigma, double radius_sigmas, float *k, int cap);
/* The k x k motion kernel: a line of length k through the centre at angle
 * theta (radians), anti-aliased, normalised to sum 1. */
void lin_motion_kernel(int k, double theta, float *kern);
/* Each row of a (rows, n) array convolved with k (taps, centred),
 * reflected edges, in place; tmp holds n floats. */
void lin_conv_rows(float *a, int rows, int n, const float *k, int taps, float *tmp);
/* The same down the columns of an (h, w) image; tmp holds h w floats. */
void lin_conv_cols(float *a, int h, int w, const float *k, int taps, float *tmp);
/* An (h, w) image convolved with a k x k kernel, reflected edges, in
 * place; tmp holds h w floats. */
void lin_conv2d(float *img, int h, int w, const float *kern, int k, float *tmp);
/* Each f x f block replaced by its mean, in place. */
void lin_down(float *img, int h, int w, int f);
/* Each row of a (rows, n) array smoothed by the Gaussian of std sigma,
 * radius ceil(4 sigma) (at most LIN_TAPS_MAX taps), reflected edges, in
 * place; kern holds LIN_TAPS_MAX floats, tmp n. */
void lin_smooth(float *a, int rows, int n, double sigma, float *kern, float *tmp);
/* Each row of a (rows, n) array times 1 + s (j - mid) / mid, mid = (n -
 * 1) / 2, j the position in the row: a flux-calibration tilt. */
void lin_tilt(float *a, int rows, int n, double s);
/* The std of snr noise on a signal of the given mean: |mean| / snr + 1e-4. */
double lin_snr_std(double mean, double snr);

#endif
