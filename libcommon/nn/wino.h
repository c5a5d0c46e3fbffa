/* wino.h - 3 x 3, stride-1, padding-1 convolutions of a few images at once
 * by Winograd's F(4x4, 3x3) (Lavin and Gray, 2016): each 4 x 4 block of
 * the output costs 36 multiplications per input channel instead of 144, as
 * 36 GEMMs (O x C) (C x tiles) whose columns are the tiles of all n
 * images, so that they are wide enough to run well.  The transforms are
 * exact in real arithmetic; in f32 the result differs from the direct sum
 * by rounding, larger than the direct sum's (the transforms scale by up to
 * 8 and 1/24): relative 2e-6 to 1e-5 of the output's scale for weights and
 * inputs of one scale, measured against a double-precision sum (test_nn's
 * test_wino_levels prints it).
 *
 * Images of any size.  The loops over tiles are chosen by
 * simd_level() (simd.h); the _at versions take the level (tests): they
 * only add, subtract and scale by constants, in one order, so every level
 * gives the same bits (but for a wino_pre's SiLU, which is simd.h's).
 *
 * The caller owns every buffer; nothing here allocates. */
#ifndef WINO_H
#define WINO_H

#include <stddef.h>

/* Floats of the transformed kernels of O x C: 36 O C. */
size_t wino_kernel_size(int O, int C);
/* Floats of the scratch wino_conv and wino_grad need for n images: the
 * transformed inputs (36 C tiles), the products (36 O tiles), planes. */
size_t wino_scratch(int n, int C, int H, int W, int O);
/* u (36, O, C): the transformed kernels of w (O, C, 3, 3). */
void wino_kernels(float *u, const float *w, int O, int C);
/* The terms added to a convolution as it is written, each NULL or: a
 * bias (O), a bias per image (n, O), a residual like the output (n, O,
 * H, W).  Added in that order, as separate passes would. */
typedef struct {
    const float *bias, *sbias, *res;
} wino_terms;

/* What the input is taken as, if given: SiLU(x scale + shift), scale and
 * shift (n, C) per image and channel (a GroupNorm's, nn.h), the SiLU
 * simd_silu's at the call's level; the padding stays 0. */
typedef struct {
    const float *scale, *shift;
} wino_pre;

/* out (n, O, H, W) = the convolution of x (n, C, H, W), or of pre applied
 * to it, with the kernels whose transform is u, zero-padded by 1, + the
 * terms t; with t NULL, out += the convolution instead.  scratch:
 * wino_scratch(). */
void wino_conv(float *out, float *scratch, const float *x, const wino_pre *pre, const float *u,
               const wino_terms *t, int n, int C, int H, int W, int O);
void wino_conv_at(int level, float *out, float *scratch, const float *x, const wino_pre *pre,
                  const float *u, const wino_terms *t, int n, int C, int H, int W, int O);

/* The weight gradient, in two steps.  du (36, O, C) = the gradient of
 * the transformed kernels, from the images x (n, C, H, W) and the
 * gradients dy (n, O, H, W) at their outputs (scratch: wino_scratch());
 * add: du += it instead.  Summed over calls, du is then carried back:
 * dw (O, C, 3, 3) += the adjoint of wino_kernels applied to du. */
void wino_grad(float *du, float *scratch, const float *x, const float *dy, int add, int n,
               int C, int H, int W, int O);
void wino_grad_at(int level, float *du, float *scratch, const float *x, const float *dy,
                  int add, int n, int C, int H, int W, int O);
void wino_kernels_adjoint(float *dw, const float *du, int O, int C);

#endif
