/* lin.h - the linear part of the built-in forward operators, and its
 * adjoint.
 *
 * Given a sample's side information (its mask, its motion angle), a chain
 * of mask, Gaussian blur, motion blur and block averaging is a linear map
 * A; the noise the chain adds is not part of it.  Guidance (DPS) needs
 * A x and A^T g to differentiate |y - A x| through the instrument; the
 * classical deconvolutions need A's matrix.  fwd.c runs the same kernels
 * (this file's), so A x is, bit for bit, the instrument without its noise,
 * and A^T is the exact transpose of it, reflected edges included.
 *
 * A sample is (C, H, W) floats; the mask is (H, W), shared by the channels. */
#ifndef LIN_H
#define LIN_H

#include <stddef.h>

enum { LIN_MASK, LIN_BLUR, LIN_MOTION, LIN_DOWN };
#define LIN_STEPS_MAX 16
#define LIN_MOTION_MAX 101      /* motion kernel length */
#define LIN_TAPS_MAX 8003       /* 1-D Gaussian taps (radius 4000) */

typedef struct {
    int kind;
    double p;           /* blur: sigma; motion: length k; down: factor f */
} lin_step;

typedef struct {
    int n;
    lin_step step[LIN_STEPS_MAX];
    double noise_var;   /* of the white noise the chain adds at its output */
} lin_chain;

/* One sample's side information: mask (H W values, 1 kept, 0 dropped) if
 * the chain masks, angle / pi if it has a motion blur. */
typedef struct {
    const float *mask;
    double angle;
} lin_side;

/* Scratch floats lin_apply and lin_adjoint need for (C, H, W) samples. */
size_t lin_work_floats(int C, int H, int W);
/* x = A x, in place; work holds lin_work_floats() floats. */
void lin_apply(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *x,
               float *work);
/* g = A^T g, in place. */
void lin_adjoint(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *g,
                 float *work);
/* y = 0 where a mask dropped the pixel (what the instrument did not
 * observe: its fill noise carries nothing), in place. */
void lin_observed(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *y);

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

#endif
