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

void nn_silu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-in[i]));
        din[i] += dout[i] * (s + in[i] * s * (1.0f - s));
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
