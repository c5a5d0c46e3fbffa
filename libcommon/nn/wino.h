/* wino.h - 3 x 3, stride-1, padding-1 convolutions of one image by
 * Winograd's F(2x2, 3x3) (Lavin and Gray, 2016): each 2 x 2 block of the
 * output costs 16 multiplications per input channel instead of 36, as 16
 * GEMMs (O x C) (C x tiles).  The transforms are exact in real arithmetic;
 * in f32 the result differs from the direct sum by rounding only (relative
 * 1e-6 for weights and inputs of one scale).
 *
 * Images must be at least 7 x 7.  The loops over tiles are chosen by
 * simd_level() (simd.h); the _at versions take the level (tests): they
 * only add and subtract, so every level gives the same bits.
 *
 * The caller owns every buffer; nothing here allocates. */
#ifndef WINO_H
#define WINO_H

#include <stddef.h>

/* The 2 x 2 output tiles of an H x W image, with one column of tiles
 * outside it (see wino.c): ceil(H/2) (ceil(W/2) + 1). */
size_t wino_tiles(int H, int W);
/* Floats of the scratch wino_conv needs: the transformed input (16 C
 * tiles) and the products (16 O tiles). */
size_t wino_scratch(int C, int H, int W, int O);
/* u (16, O, C): the transformed kernels of w (O, C, 3, 3). */
void wino_kernels(float *u, const float *w, int O, int C);
/* out (O, H, W) += the convolution of x (C, H, W) with the kernels whose
 * transform is u, zero-padded by 1.  scratch: wino_scratch() floats. */
void wino_conv(float *out, float *scratch, const float *x, const float *u, int C, int H,
               int W, int O);
void wino_conv_at(int level, float *out, float *scratch, const float *x, const float *u,
                  int C, int H, int W, int O);

/* The weight gradient, in two steps.  du (16, O, C) += the gradient of
 * the transformed kernels, from one image x (C, H, W) and the gradient
 * dy (O, H, W) at its output (scratch: wino_scratch() floats); summed
 * over images, du is then carried back once: dw (O, C, 3, 3) += the
 * adjoint of wino_kernels applied to du. */
void wino_grad(float *du, float *scratch, const float *x, const float *dy, int C, int H,
               int W, int O);
void wino_grad_at(int level, float *du, float *scratch, const float *x, const float *dy,
                  int C, int H, int W, int O);
void wino_kernels_adjoint(float *dw, const float *du, int O, int C);

#endif
