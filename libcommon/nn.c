/* nn.c - neural-network layers; see nn.h. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

void nn_set_threads(int threads)
{
    openblas_set_num_threads(threads);
}

void nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                       int B, int IN, int OUT)
{
    /* in is (B, IN), w is (OUT, IN), out is (B, OUT): bias rows first, then
     * one GEMM accumulates in' w^T onto them. */
    for (int i = 0; i < B; i++)
        memcpy(out + (size_t)i * (size_t)OUT, b, sizeof(float) * (size_t)OUT);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OUT, IN, 1.0f, in, IN,
                w, IN, 1.0f, out, OUT);
}

void nn_linear_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int B, int IN, int OUT)
{
    /* dout is (B, OUT).  dw += dout^T in; din += dout w; db += column sums. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, B, 1.0f, dout, OUT,
                in, IN, 1.0f, dw, IN);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IN, OUT, 1.0f, dout,
                    OUT, w, IN, 1.0f, din, IN);
    for (int i = 0; i < B; i++) {
        const float *d = dout + (size_t)i * (size_t)OUT;
        for (int o = 0; o < OUT; o++)
            db[o] += d[o];
    }
}

void nn_linear_forward_ref(float *out, const float *in, const float *w,
                           const float *b, int B, int IN, int OUT)
{
    for (int i = 0; i < B; i++)
        for (int o = 0; o < OUT; o++) {
            double s = b[o];
            for (int k = 0; k < IN; k++)
                s += (double)in[(size_t)i * (size_t)IN + (size_t)k] *
                     w[(size_t)o * (size_t)IN + (size_t)k];
            out[(size_t)i * (size_t)OUT + (size_t)o] = (float)s;
        }
}

void nn_linear_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int B, int IN, int OUT)
{
    for (int i = 0; i < B; i++)
        for (int o = 0; o < OUT; o++) {
            float d = dout[(size_t)i * (size_t)OUT + (size_t)o];
            db[o] += d;
            for (int k = 0; k < IN; k++) {
                dw[(size_t)o * (size_t)IN + (size_t)k] += d * in[(size_t)i * (size_t)IN + (size_t)k];
                if (din)
                    din[(size_t)i * (size_t)IN + (size_t)k] += d * w[(size_t)o * (size_t)IN + (size_t)k];
            }
        }
}

void nn_silu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] / (1.0f + expf(-in[i]));
}

void nn_silu_backward(float *din, const float *dout, const float *in,
                      const float *out, size_t n)
{
    /* With y = x s: dy/dx = s + x s (1 - s) = s + y (1 - s), and s = y / x
     * (1/2 at x = 0).  Divisions vectorise; expf does not here. */
    for (size_t i = 0; i < n; i++) {
        float s = in[i] != 0.0f ? out[i] / in[i] : 0.5f;
        din[i] += dout[i] * (s + out[i] * (1.0f - s));
    }
}

void nn_temb_forward(float *out, const float *t, int B, int dim)
{
    int half = dim / 2;
    /* linspace(log 1, log 1000, half), exponentiated; once per call */
    double fs[512], *f = half <= 512 ? fs : malloc(sizeof(double) * (size_t)half);
    for (int k = 0; k < half; k++)
        f[k] = exp(log(1000.0) * (half > 1 ? (double)k / (half - 1) : 0));
    for (int i = 0; i < B; i++)
        for (int k = 0; k < half; k++) {
            double a = t[i] * f[k];
            out[(size_t)i * (size_t)dim + (size_t)k] = (float)sin(a);
            out[(size_t)i * (size_t)dim + (size_t)(half + k)] = (float)cos(a);
        }
    if (f != fs)
        free(f);
}

double nn_mse(float *dpred, const float *pred, const float *target, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        s += d * d;
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)n);
    }
    return s / (double)n;
}

/* ---- convolution -------------------------------------------------------- */

size_t nn_conv2d_workspace(int C, int H, int W, int k, int stride, int pad)
{
    return (size_t)C * (size_t)k * (size_t)k * (size_t)nn_conv_out(H, k, stride, pad) *
           (size_t)nn_conv_out(W, k, stride, pad);
}

/* col (C k k, Ho Wo) from one image x (C, H, W). */
static void im2col(float *col, const float *x, int C, int H, int W, int k, int stride,
                   int pad, int Ho, int Wo)
{
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + (((size_t)c * (size_t)k + (size_t)ky) * (size_t)k + (size_t)kx) *
                                       (size_t)Ho * (size_t)Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride - pad + ky;
                    for (int ox = 0; ox < Wo; ox++) {
                        int ix = ox * stride - pad + kx;
                        row[(size_t)oy * (size_t)Wo + (size_t)ox] =
                            iy < 0 || iy >= H || ix < 0 || ix >= W ? 0.0f
                            : x[((size_t)c * (size_t)H + (size_t)iy) * (size_t)W + (size_t)ix];
                    }
                }
            }
}

/* The adjoint of im2col: x (C, H, W) += the columns' entries. */
static void col2im(float *x, const float *col, int C, int H, int W, int k, int stride,
                   int pad, int Ho, int Wo)
{
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + (((size_t)c * (size_t)k + (size_t)ky) * (size_t)k +
                                          (size_t)kx) * (size_t)Ho * (size_t)Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int ox = 0; ox < Wo; ox++) {
                        int ix = ox * stride - pad + kx;
                        if (ix >= 0 && ix < W)
                            x[((size_t)c * (size_t)H + (size_t)iy) * (size_t)W + (size_t)ix] +=
                                row[(size_t)oy * (size_t)Wo + (size_t)ox];
                    }
                }
            }
}

void nn_conv2d_forward(float *out, float *ws, const float *in, const float *w,
                       const float *b, int B, int C, int H, int W, int O, int k,
                       int stride, int pad)
{
    int Ho = nn_conv_out(H, k, stride, pad), Wo = nn_conv_out(W, k, stride, pad);
    int K = C * k * k, P = Ho * Wo;
    for (int i = 0; i < B; i++) {
        float *o = out + (size_t)i * (size_t)O * (size_t)P;
        for (int oc = 0; oc < O; oc++)
            for (int p = 0; p < P; p++)
                o[(size_t)oc * (size_t)P + (size_t)p] = b[oc];
        im2col(ws, in + (size_t)i * (size_t)C * (size_t)H * (size_t)W, C, H, W, k, stride,
               pad, Ho, Wo);
        /* out_i (O, P) += w (O, K) col (K, P) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, P, K, 1.0f, w, K, ws, P,
                    1.0f, o, P);
    }
}

void nn_conv2d_backward(float *din, float *dw, float *db, float *ws,
                        const float *dout, const float *in, const float *w, int B,
                        int C, int H, int W, int O, int k, int stride, int pad)
{
    int Ho = nn_conv_out(H, k, stride, pad), Wo = nn_conv_out(W, k, stride, pad);
    int K = C * k * k, P = Ho * Wo;
    for (int i = 0; i < B; i++) {
        const float *g = dout + (size_t)i * (size_t)O * (size_t)P;
        for (int oc = 0; oc < O; oc++)
            for (int p = 0; p < P; p++)
                db[oc] += g[(size_t)oc * (size_t)P + (size_t)p];
        im2col(ws, in + (size_t)i * (size_t)C * (size_t)H * (size_t)W, C, H, W, k, stride,
               pad, Ho, Wo);
        /* dw (O, K) += g (O, P) col^T (P, K) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, K, P, 1.0f, g, P, ws, P,
                    1.0f, dw, K);
        if (!din)
            continue;
        /* dcol (K, P) = w^T (K, O) g (O, P), then back onto the image */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, O, 1.0f, w, K, g, P,
                    0.0f, ws, P);
        col2im(din + (size_t)i * (size_t)C * (size_t)H * (size_t)W, ws, C, H, W, k, stride,
               pad, Ho, Wo);
    }
}

void nn_conv2d_forward_ref(float *out, const float *in, const float *w,
                           const float *b, int B, int C, int H, int W, int O,
                           int k, int stride, int pad)
{
    int Ho = nn_conv_out(H, k, stride, pad), Wo = nn_conv_out(W, k, stride, pad);
    for (int i = 0; i < B; i++)
        for (int oc = 0; oc < O; oc++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double s = b[oc];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                s += (double)w[(((size_t)oc * (size_t)C + (size_t)c) * (size_t)k +
                                                (size_t)ky) * (size_t)k + (size_t)kx] *
                                     in[(((size_t)i * (size_t)C + (size_t)c) * (size_t)H +
                                         (size_t)iy) * (size_t)W + (size_t)ix];
                            }
                    out[(((size_t)i * (size_t)O + (size_t)oc) * (size_t)Ho + (size_t)oy) *
                        (size_t)Wo + (size_t)ox] = (float)s;
                }
}

/* ---- group normalisation ----------------------------------------------- */

void nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *x,
                          const float *gamma, const float *beta, int B, int C,
                          int N, int G)
{
    int cg = C / G;
    size_t n = (size_t)cg * (size_t)N;
    for (int i = 0; i < B; i++)
        for (int g = 0; g < G; g++) {
            const float *xg = x + ((size_t)i * (size_t)C + (size_t)g * (size_t)cg) * (size_t)N;
            float *og = out + ((size_t)i * (size_t)C + (size_t)g * (size_t)cg) * (size_t)N;
            double s = 0, s2 = 0;
            for (size_t j = 0; j < n; j++)
                s += xg[j];
            double m = s / (double)n;
            for (size_t j = 0; j < n; j++)
                s2 += (xg[j] - m) * (xg[j] - m);
            double r = 1.0 / sqrt(s2 / (double)n + 1e-5);   /* biased variance */
            mean[i * G + g] = (float)m;
            rstd[i * G + g] = (float)r;
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                for (int p = 0; p < N; p++) {
                    size_t j = (size_t)c * (size_t)N + (size_t)p;
                    og[j] = (float)((xg[j] - m) * r) * gamma[ch] + beta[ch];
                }
            }
        }
}

void nn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout,
                           const float *x, const float *gamma, const float *mean,
                           const float *rstd, int B, int C, int N, int G)
{
    /* With xhat = (x - mean) rstd and dxhat = dout gamma:
     * dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) over the group. */
    int cg = C / G;
    size_t n = (size_t)cg * (size_t)N;
    for (int i = 0; i < B; i++)
        for (int g = 0; g < G; g++) {
            size_t base = ((size_t)i * (size_t)C + (size_t)g * (size_t)cg) * (size_t)N;
            double m = mean[i * G + g], r = rstd[i * G + g], a = 0, bsum = 0;
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                for (int p = 0; p < N; p++) {
                    size_t j = base + (size_t)c * (size_t)N + (size_t)p;
                    double xhat = (x[j] - m) * r, dxh = (double)dout[j] * gamma[ch];
                    dgamma[ch] += (float)(dout[j] * xhat);
                    dbeta[ch] += dout[j];
                    a += dxh;
                    bsum += dxh * xhat;
                }
            }
            a /= (double)n;
            bsum /= (double)n;
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                for (int p = 0; p < N; p++) {
                    size_t j = base + (size_t)c * (size_t)N + (size_t)p;
                    double xhat = (x[j] - m) * r, dxh = (double)dout[j] * gamma[ch];
                    dx[j] += (float)(r * (dxh - a - xhat * bsum));
                }
            }
        }
}

/* ---- resampling and skip connections ----------------------------------- */

void nn_upsample2_forward(float *out, const float *in, int B, int C, int H, int W)
{
    size_t planes = (size_t)B * (size_t)C;
    for (size_t p = 0; p < planes; p++) {
        const float *src = in + p * (size_t)H * (size_t)W;
        float *dst = out + p * 4 * (size_t)H * (size_t)W;
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                dst[(size_t)y * 2 * (size_t)W + (size_t)x] = src[(size_t)(y / 2) * (size_t)W + (size_t)(x / 2)];
    }
}

void nn_upsample2_backward(float *din, const float *dout, int B, int C, int H, int W)
{
    size_t planes = (size_t)B * (size_t)C;
    for (size_t p = 0; p < planes; p++) {
        float *dst = din + p * (size_t)H * (size_t)W;
        const float *src = dout + p * 4 * (size_t)H * (size_t)W;
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                dst[(size_t)(y / 2) * (size_t)W + (size_t)(x / 2)] += src[(size_t)y * 2 * (size_t)W + (size_t)x];
    }
}

void nn_concat_forward(float *out, const float *a, const float *b, int B, int Ca,
                       int Cb, int N)
{
    size_t na = (size_t)Ca * (size_t)N, nb = (size_t)Cb * (size_t)N;
    for (int i = 0; i < B; i++) {
        memcpy(out + (size_t)i * (na + nb), a + (size_t)i * na, sizeof(float) * na);
        memcpy(out + (size_t)i * (na + nb) + na, b + (size_t)i * nb, sizeof(float) * nb);
    }
}

void nn_concat_backward(float *da, float *db, const float *dout, int B, int Ca,
                        int Cb, int N)
{
    size_t na = (size_t)Ca * (size_t)N, nb = (size_t)Cb * (size_t)N;
    for (int i = 0; i < B; i++) {
        const float *g = dout + (size_t)i * (na + nb);
        for (size_t j = 0; j < na; j++)
            da[(size_t)i * na + j] += g[j];
        for (size_t j = 0; j < nb; j++)
            db[(size_t)i * nb + j] += g[na + j];
    }
}
