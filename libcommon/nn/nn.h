/* nn.h - neural-network layers: forward and backward passes.
 *
 * Conventions (llm.c's): nn_X_forward(out, caches..., in, weights...,
 * dims) and nn_X_backward(din, dweights..., dout, in, weights, caches...,
 * dims), side by side.  Tensors are row-major f32; B is the batch.
 * Backward passes ADD into their gradient buffers (the caller zeroes), so a
 * value used twice sums its gradients.  Each BLAS-backed kernel has a naive
 * twin (suffix _ref), the oracle of the tests. */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

/* Threads of the layers (at most NN_SLOTS; the results do not depend on
 * it).  OpenBLAS is kept to one thread: the layers split their GEMMs. */
void nn_set_threads(int threads);

/* out[B, OUT] = in[B, IN] w[OUT, IN]^T + b[OUT]  (PyTorch's Linear). */
void nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                       int B, int IN, int OUT);
/* din[B, IN] += dout w;  dw[OUT, IN] += dout^T in;  db[OUT] += sum dout.
 * din may be NULL (no gradient wanted for the input). */
void nn_linear_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int B, int IN, int OUT);
void nn_linear_forward_ref(float *out, const float *in, const float *w,
                           const float *b, int B, int IN, int OUT);
void nn_linear_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int B, int IN, int OUT);

/* Elementwise helpers on the layers' threads: y = 0; y += x;
 * s[b, c] = sum of h[b, c, :] over N positions (in double, sum.h). */
void nn_zero(float *y, size_t n);
void nn_add(float *y, const float *x, size_t n);
void nn_channel_sum(float *s, const float *h, int B, int C, int N);

/* out = x sigmoid(x), n elements. */
void nn_silu_forward(float *out, const float *in, size_t n);
/* din = dout (s + x s (1 - s)), s = sigmoid(x), from the forward pass's
 * input in and output out (s = out / in: no second exponential). */
void nn_silu_backward(float *din, const float *dout, const float *in,
                      const float *out, size_t n);

/* Sinusoidal time embedding: out[B, dim] = [sin(t f_k), cos(t f_k)],
 * k < dim/2, frequencies geometric from 1 to 1000 (torch_ref.py's). */
void nn_temb_forward(float *out, const float *t, int B, int dim);

/* ---- convolution and normalisation (for the U-Nets; issue 4) ---------- */

/* Output side of a k x k convolution with the given stride and padding. */
static inline int nn_conv_out(int size, int k, int stride, int pad)
{
    return (size + 2 * pad - k) / stride + 1;
}

/* Convolutions run the batch in groups of NN_GROUP samples on up to
 * NN_SLOTS threads (nn_set_threads); each group sums its own weight
 * gradients, and the groups are summed in order, so the results do not
 * depend on the thread count. */
#define NN_SLOTS 8
#define NN_GROUP 8

/* Floats of workspace the conv2d passes of a batch of B need: an im2col
 * per thread, the groups' partial weight gradients. */
size_t nn_conv2d_workspace(int B, int C, int H, int W, int O, int k, int stride, int pad);

/* out (B, O, Ho, Wo) = conv(in (B, C, H, W), w (O, C, k, k)) + b (O), zero
 * padding, by im2col and one GEMM per sample.  ws: workspace (above). */
void nn_conv2d_forward(float *out, float *ws, const float *in, const float *w,
                       const float *b, int B, int C, int H, int W, int O, int k,
                       int stride, int pad);
/* What nn_conv2d_forward_ex does besides the convolution, each NULL or:
 * scale, shift (B, C): the input taken as SiLU(in scale + shift), per
 * sample and channel (a GroupNorm and SiLU, nn_groupnorm_affine, that
 * need not be written out), the bits of those passes; only where
 * nn_conv2d_reads_affine() is 1 (else ignored);
 * sb (B, O): a bias per sample, res (B, O, Ho, Wo): a residual, added
 * after b in that order, the bits of separate passes, but as the
 * convolution writes its output where it can (Winograd's). */
typedef struct {
    const float *scale, *shift, *sb, *res;
} nn_conv_extra;
int nn_conv2d_reads_affine(int C, int H, int W, int O, int k, int stride, int pad);
/* nn_conv2d_forward and e (NULL: nothing). */
void nn_conv2d_forward_ex(float *out, float *ws, const float *in, const float *w,
                          const float *b, const nn_conv_extra *e, int B, int C, int H, int W,
                          int O, int k, int stride, int pad);
/* din (may be NULL), dw, db += the gradients for dout (B, O, Ho, Wo). */
void nn_conv2d_backward(float *din, float *dw, float *db, float *ws,
                        const float *dout, const float *in, const float *w, int B,
                        int C, int H, int W, int O, int k, int stride, int pad);
/* The same but din = its gradient (not +=): no zeroing pass before. */
void nn_conv2d_backward_set(float *din, float *dw, float *db, float *ws, const float *dout,
                            const float *in, const float *w, int B, int C, int H, int W, int O,
                            int k, int stride, int pad);
/* The same, by the definition (test oracle). */
void nn_conv2d_forward_ref(float *out, const float *in, const float *w,
                           const float *b, int B, int C, int H, int W, int O,
                           int k, int stride, int pad);

/* The 1-D convolution (for signals): in (B, C, L), w (O, C, k), out (B, O,
 * Lo), as conv1d of PyTorch; the same machinery as conv2d with H = 1. */
size_t nn_conv1d_workspace(int B, int C, int L, int O, int k, int stride, int pad);
void nn_conv1d_forward(float *out, float *ws, const float *in, const float *w,
                       const float *b, int B, int C, int L, int O, int k, int stride, int pad);
/* with e's sb and res (1-D convolutions never read an affine input) */
void nn_conv1d_forward_ex(float *out, float *ws, const float *in, const float *w,
                          const float *b, const nn_conv_extra *e, int B, int C, int L, int O,
                          int k, int stride, int pad);
void nn_conv1d_backward(float *din, float *dw, float *db, float *ws, const float *dout,
                        const float *in, const float *w, int B, int C, int L, int O, int k,
                        int stride, int pad);
void nn_conv1d_backward_set(float *din, float *dw, float *db, float *ws, const float *dout,
                            const float *in, const float *w, int B, int C, int L, int O, int k,
                            int stride, int pad);
void nn_conv1d_forward_ref(float *out, const float *in, const float *w, const float *b,
                           int B, int C, int L, int O, int k, int stride, int pad);

/* GroupNorm (PyTorch's, eps 1e-5): x (B, C, N) in G groups of C/G channels;
 * out = (x - mean) rstd gamma_c + beta_c.  mean, rstd (B, G) are kept for
 * the backward pass. */
void nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *x,
                          const float *gamma, const float *beta, int B, int C,
                          int N, int G);
/* The same, and silu = the SiLU of out, each channel while it is in
 * cache: one pass over memory fewer; the bits of nn_silu_forward's. */
void nn_groupnorm_silu_forward(float *out, float *silu, float *mean, float *rstd,
                               const float *x, const float *gamma, const float *beta, int B,
                               int C, int N, int G);
/* GroupNorm without its output: mean, rstd, and scale, shift (B, C) with
 * which nn_groupnorm_forward's out is x scale + shift, channel by channel
 * (a product, then a sum: those bits).  For a convolution that normalises
 * its input as it reads it (nn_conv_extra). */
void nn_groupnorm_affine(float *scale, float *shift, float *mean, float *rstd,
                         const float *x, const float *gamma, const float *beta, int B, int C,
                         int N, int G);
/* dx, dgamma, dbeta += the gradients for dout. */
void nn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout,
                           const float *x, const float *gamma, const float *mean,
                           const float *rstd, int B, int C, int N, int G);
/* The same but dx = its gradient (not +=). */
void nn_groupnorm_backward_set(float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *x, const float *gamma, const float *mean,
                               const float *rstd, int B, int C, int N, int G);

/* The U-Net's join: out (B, Ca + Cb, rows H, 2 W) = a (B, Ca, H, W)
 * upsampled by 2 (nearest neighbour; rows = 2 for images, 1 for signals,
 * H = 1), then the channels of b (B, Cb, rows H, 2 W), in one pass.  The
 * backward pass: da += the sum of each block of dout's first Ca channels
 * (rows x 2), db += its last Cb.  Ca >= 1. */
void nn_upcat_forward(float *out, const float *a, const float *b, int B, int Ca, int Cb, int H,
                      int W, int rows);
void nn_upcat_backward(float *da, float *db, const float *dout, int B, int Ca, int Cb, int H,
                       int W, int rows);

/* Mean squared error over n elements; dpred (if not NULL) receives
 * d loss / d pred = 2 (pred - target) / n (assigned, not added). */
double nn_mse(float *dpred, const float *pred, const float *target, size_t n);
/* The sum of the n squared errors, in double, in order; dpred (if not
 * NULL) receives 2 (pred - target) / total: the gradient of the mean over
 * total elements of which these n are a part, so that the gradients of
 * the parts of a batch add up to the whole batch's.  nn_mse is
 * nn_sse(..., n, n) / n. */
double nn_sse(float *dpred, const float *pred, const float *target, size_t n, size_t total);

/* Softmax cross-entropy of B rows of K logits against labels in [0, K):
 * the mean over the rows of log sum_k exp(z_k) - z_label, each computed
 * after subtracting the row's largest logit (no overflow), in double.
 * dlogits (if not NULL) receives d loss / d logits = (softmax - onehot) / B
 * (assigned, not added); loss (if not NULL) each row's own term. */
double nn_softmax_xent(float *dlogits, double *loss, const float *logits,
                       const int32_t *labels, int B, int K);

#endif
