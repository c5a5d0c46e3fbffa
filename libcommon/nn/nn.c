/* nn.c - neural-network layers; see nn.h. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "base/par.h"
#include "nn/simd.h"
#include "nn/sum.h"
#include "nn/wino.h"

/* Layers split their work over this many threads, each running
 * single-threaded GEMMs: OpenBLAS's own threads would spin between calls
 * and take the core from ours (SiLU, GroupNorm, AdamW between the GEMMs),
 * so it keeps one. */
static int g_threads = 1;

void nn_set_threads(int threads)
{
    g_threads = threads < 1 ? 1 : threads > NN_SLOTS ? NN_SLOTS : threads;
    openblas_set_num_threads(1);
}

/* ---- linear ------------------------------------------------------------- */

/* A linear layer's GEMMs are cut into chunks of one dimension whose
 * number depends on that dimension alone, never on the thread count, so
 * each chunk's GEMM and its rounding are the same on any number of
 * threads.  A chunk is at least 128 wide and there are at most NN_SLOTS:
 * every chunk packs the whole of the other operand again, and chunks of
 * 64 cost MLP-2D's training (layers of 256) 4.5% on two threads. */
static int lin_chunks(int n)
{
    int c = n / 128;
    return c < 1 ? 1 : c > NN_SLOTS ? NN_SLOTS : c;
}

typedef struct {
    float *out, *din, *dw, *db;
    const float *in, *w, *dout;
    int B, IN, OUT, n;      /* n: chunks */
} lin_job;

/* Chunk c of n over [0, len): its first index. */
static int lin_edge(int len, int c, int n)
{
    return (int)((int64_t)len * c / n);
}

/* out[:, o0:o1] += in w[o0:o1]^T */
static void lin_forward_worker(void *ctx, uint64_t c0, uint64_t c1)
{
    const lin_job *j = ctx;
    for (int c = (int)c0; c < (int)c1; c++) {
        int o0 = lin_edge(j->OUT, c, j->n), o1 = lin_edge(j->OUT, c + 1, j->n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->B, o1 - o0, j->IN, 1.0f, j->in,
                    j->IN, j->w + (size_t)o0 * (size_t)j->IN, j->IN, 1.0f, j->out + o0, j->OUT);
    }
}

void nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                       int B, int IN, int OUT)
{
    /* in is (B, IN), w is (OUT, IN), out is (B, OUT): bias rows first, then
     * the GEMMs accumulate in w^T onto them, a chunk of outputs each. */
    for (int i = 0; i < B; i++)
        memcpy(out + (size_t)i * (size_t)OUT, b, sizeof(float) * (size_t)OUT);
    lin_job j = { .out = out, .in = in, .w = w, .B = B, .IN = IN, .OUT = OUT,
                  .n = lin_chunks(OUT) };
    par_for(g_threads, (uint64_t)j.n, lin_forward_worker, &j);
}

/* dw[o0:o1] += dout[:, o0:o1]^T in, db[o0:o1] += column sums of dout. */
static void lin_weight_worker(void *ctx, uint64_t c0, uint64_t c1)
{
    const lin_job *j = ctx;
    for (int c = (int)c0; c < (int)c1; c++) {
        int o0 = lin_edge(j->OUT, c, j->n), o1 = lin_edge(j->OUT, c + 1, j->n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->IN, j->B, 1.0f,
                    j->dout + o0, j->OUT, j->in, j->IN, 1.0f, j->dw + (size_t)o0 * (size_t)j->IN,
                    j->IN);
        for (int i = 0; i < j->B; i++) {
            const float *d = j->dout + (size_t)i * (size_t)j->OUT;
            for (int o = o0; o < o1; o++)
                j->db[o] += d[o];
        }
    }
}

/* din[:, i0:i1] += dout w[:, i0:i1] */
static void lin_input_worker(void *ctx, uint64_t c0, uint64_t c1)
{
    const lin_job *j = ctx;
    for (int c = (int)c0; c < (int)c1; c++) {
        int i0 = lin_edge(j->IN, c, j->n), i1 = lin_edge(j->IN, c + 1, j->n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->B, i1 - i0, j->OUT, 1.0f,
                    j->dout, j->OUT, j->w + i0, j->IN, 1.0f, j->din + i0, j->IN);
    }
}

void nn_linear_backward(float *din, float *dw, float *db, const float *dout,
                        const float *in, const float *w, int B, int IN, int OUT)
{
    /* dout is (B, OUT).  dw += dout^T in; din += dout w; db += column sums. */
    lin_job j = { .din = din, .dw = dw, .db = db, .in = in, .w = w, .dout = dout, .B = B,
                  .IN = IN, .OUT = OUT, .n = lin_chunks(OUT) };
    par_for(g_threads, (uint64_t)j.n, lin_weight_worker, &j);
    if (din) {
        j.n = lin_chunks(IN);
        par_for(g_threads, (uint64_t)j.n, lin_input_worker, &j);
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

typedef struct {
    float *out;
    const float *in;
    uint64_t n;
} silu_job;

/* Blocks of 64 elements, so that which elements the vector kernels leave
 * to their scalar tail does not depend on the thread count. */
enum { SILU_BLOCK = 64 };

static void silu_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    const silu_job *j = ctx;
    uint64_t i0 = b0 * SILU_BLOCK, i1 = b1 * SILU_BLOCK < j->n ? b1 * SILU_BLOCK : j->n;
    simd_silu(j->out + i0, j->in + i0, (size_t)(i1 - i0));
}

void nn_silu_forward(float *out, const float *in, size_t n)
{
    /* Elementwise: any split gives the same bytes.  Small arrays are not
     * worth a thread. */
    silu_job j = { out, in, (uint64_t)n };
    par_for(n >= 65536 ? g_threads : 1, ((uint64_t)n + SILU_BLOCK - 1) / SILU_BLOCK,
            silu_worker, &j);
}

typedef struct {
    float *din;
    const float *dout, *in, *out;
    uint64_t n;
} silu_grad_job;

static void silu_grad_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    /* With y = x s: dy/dx = s + x s (1 - s) = s + y (1 - s), and s = y / x
     * (1/2 at x = 0): no second exponential. */
    const silu_grad_job *j = ctx;
    uint64_t i0 = b0 * SILU_BLOCK, i1 = b1 * SILU_BLOCK < j->n ? b1 * SILU_BLOCK : j->n;
    simd_silu_grad(j->din + i0, j->dout + i0, j->in + i0, j->out + i0, (size_t)(i1 - i0));
}

void nn_silu_backward(float *din, const float *dout, const float *in,
                      const float *out, size_t n)
{
    silu_grad_job j = { din, dout, in, out, (uint64_t)n };
    par_for(n >= 65536 ? g_threads : 1, ((uint64_t)n + SILU_BLOCK - 1) / SILU_BLOCK,
            silu_grad_worker, &j);
}

/* ---- elementwise helpers ------------------------------------------------ */

/* Big arrays are cut into blocks of this many floats for the threads; an
 * elementwise result does not depend on the cut. */
enum { EW_BLOCK = 1 << 14 };

typedef struct {
    float *y;
    const float *x;
    uint64_t n;
} ew_job;

static void zero_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    const ew_job *j = ctx;
    uint64_t i0 = b0 * EW_BLOCK, i1 = b1 * EW_BLOCK < j->n ? b1 * EW_BLOCK : j->n;
    memset(j->y + i0, 0, sizeof(float) * (size_t)(i1 - i0));
}

static void add_worker(void *ctx, uint64_t b0, uint64_t b1)
{
    const ew_job *j = ctx;
    uint64_t i0 = b0 * EW_BLOCK, i1 = b1 * EW_BLOCK < j->n ? b1 * EW_BLOCK : j->n;
    float *restrict y = j->y;
    const float *restrict x = j->x;
    for (uint64_t i = i0; i < i1; i++)
        y[i] += x[i];
}

static void ew_run(par_fn fn, float *y, const float *x, size_t n)
{
    ew_job j = { y, x, (uint64_t)n };
    par_for(n >= 4 * EW_BLOCK ? g_threads : 1, ((uint64_t)n + EW_BLOCK - 1) / EW_BLOCK, fn, &j);
}

void nn_zero(float *y, size_t n)
{
    ew_run(zero_worker, y, NULL, n);
}

void nn_add(float *y, const float *x, size_t n)
{
    ew_run(add_worker, y, x, n);
}

typedef struct {
    float *h;
    const float *v;
    int C, N;
} chan_job;

static void chan_sum_worker(void *ctx, uint64_t i0, uint64_t i1)
{
    const chan_job *j = ctx;
    for (uint64_t k = i0 * (uint64_t)j->C; k < i1 * (uint64_t)j->C; k++)
        j->h[k] = (float)sum_f32(j->v + k * (uint64_t)j->N, (size_t)j->N, 0, 0);
}

void nn_channel_sum(float *s, const float *h, int B, int C, int N)
{
    chan_job j = { s, h, C, N };
    par_for(g_threads, (uint64_t)B, chan_sum_worker, &j);
}

/* sin a and cos a for |a| < 2^20, to about 1e-16 absolute: a reduced by
 * q pi/2 (q = a 2/pi rounded) with pi/2 in three parts of 33 bits, whose
 * products with q are exact (Cody and Waite), then fdlibm's minimax
 * polynomials on |r| <= pi/4, the quadrant q mod 4 choosing and signing
 * them.  A straight loop of arithmetic that vectorises, where libm's
 * sincos is a call per value (the MLPs' time embedding spent 8% of a
 * training step there); rounded to float, the same as libm's but where a
 * value lies within 1e-16 of a rounding boundary. */
static void sincos_small(double *restrict s, double *restrict c, const double *restrict a, int n)
{
    const double RND = 0x1.8p52, P1 = 1.57079632673412561417e+00,
                 P2 = 6.07710050630396597660e-11, P3 = 2.02226624871116645580e-21;
    for (int k = 0; k < n; k++) {
        double q = (a[k] * 0.63661977236758134308 + RND) - RND;
        double r = ((a[k] - q * P1) - q * P2) - q * P3, z = r * r;
        double sr = r + r * z * (-1.66666666666666324348e-01 +
                                 z * (8.33333333332248946124e-03 +
                                      z * (-1.98412698298579493134e-04 +
                                           z * (2.75573137070700676789e-06 +
                                                z * (-2.50507602534068634195e-08 +
                                                     z * 1.58969099521155010221e-10)))));
        double cr = 1.0 - 0.5 * z + z * z * (4.16666666666666019037e-02 +
                                             z * (-1.38888888888741095749e-03 +
                                                  z * (2.48015872894767294178e-05 +
                                                       z * (-2.75573143513906633035e-07 +
                                                            z * (2.08757232129817482790e-09 +
                                                                 z * -1.13596475577881948265e-11)))));
        /* the quadrant q mod 4, 0 to 3: q / 4 - 3/8 rounds to floor(q / 4)
         * (its fraction is 0, 1/4, 1/2 or 3/4: no ties), as floor() would
         * but in a loop that vectorises on any x86-64 */
        double m = q - 4.0 * ((q * 0.25 - 0.375 + RND) - RND);
        double odd = m == 1.0 || m == 3.0 ? 1.0 : 0.0;
        double ss = odd != 0.0 ? cr : sr, cc = odd != 0.0 ? sr : cr;
        s[k] = m >= 2.0 ? -ss : ss;
        c[k] = m == 1.0 || m == 2.0 ? -cc : cc;
    }
}

void nn_temb_forward(float *out, const float *t, int B, int dim)
{
    int half = dim / 2;
    /* linspace(log 1, log 1000, half), exponentiated; once per call */
    double fs[4 * 512], *f = half <= 512 ? fs : malloc(sizeof(double) * 4 * (size_t)half);
    if (!f)
        abort();        /* a few kilobytes, the width of a layer: no sane way on */
    double *ang = f + half, *sn = ang + half, *cs = sn + half;
    for (int k = 0; k < half; k++)
        f[k] = exp(log(1000.0) * (half > 1 ? (double)k / (half - 1) : 0));
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < half; k++)
            ang[k] = t[i] * f[k];
        sincos_small(sn, cs, ang, half);
        for (int k = 0; k < half; k++) {
            out[(size_t)i * (size_t)dim + (size_t)k] = (float)sn[k];
            out[(size_t)i * (size_t)dim + (size_t)(half + k)] = (float)cs[k];
        }
    }
    if (f != fs)
        free(f);
}

double nn_sse(float *dpred, const float *pred, const float *target, size_t n, size_t total)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        s += d * d;
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)total);
    }
    return s;
}

double nn_mse(float *dpred, const float *pred, const float *target, size_t n)
{
    return nn_sse(dpred, pred, target, n, n) / (double)n;
}

double nn_softmax_xent(float *dlogits, double *loss, const float *logits,
                       const int32_t *labels, int B, int K)
{
    double total = 0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * (size_t)K;
        double top = z[0], s = 0;
        for (int k = 1; k < K; k++)
            top = z[k] > top ? z[k] : top;
        for (int k = 0; k < K; k++)
            s += exp((double)z[k] - top);
        double lse = top + log(s), l = lse - z[labels[i]];
        total += l;
        if (loss)
            loss[i] = l;
        if (dlogits)
            for (int k = 0; k < K; k++)
                dlogits[(size_t)i * (size_t)K + (size_t)k] =
                    (float)((exp((double)z[k] - lse) - (k == labels[i])) / B);
    }
    return total / B;
}

/* ---- convolution -------------------------------------------------------- */

static size_t conv_groups(int B)
{
    return ((size_t)B + NN_GROUP - 1) / NN_GROUP;
}

/* A convolution's shape: C input channels of H x W, O outputs, a kh x kw
 * kernel with strides sh, sw and zero padding ph, pw (a 1-D one is H = 1,
 * kh = 1, sh = 1, ph = 0). */
typedef struct {
    int C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo;
} conv_geom;

static conv_geom geom(int C, int H, int W, int O, int kh, int kw, int sh, int sw, int ph,
                      int pw)
{
    conv_geom g = { C, H, W, O, kh, kw, sh, sw, ph, pw, nn_conv_out(H, kh, sh, ph),
                    nn_conv_out(W, kw, sw, pw) };
    return g;
}

static conv_geom geom2d(int C, int H, int W, int O, int k, int stride, int pad)
{
    return geom(C, H, W, O, k, k, stride, stride, pad, pad);
}

static conv_geom geom1d(int C, int L, int O, int k, int stride, int pad)
{
    return geom(C, 1, L, O, 1, k, 1, stride, 0, pad);
}

/* A stride-1 convolution whose padding keeps the size ("same"): its
 * gradient at the input is the convolution of the output's gradient with
 * the flipped, transposed kernel, one GEMM of inner size O kh kw per
 * sample, instead of a GEMM of inner size O and a scattering col2im. */
static int same(const conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->kh % 2 && g->kw % 2 && 2 * g->ph == g->kh - 1 &&
           2 * g->pw == g->kw - 1;
}

/* A 3 x 3 "same" image convolution: Winograd's F(4x4, 3x3) (wino.h)
 * computes it and its gradients with 36 multiplications per 4 x 4 outputs
 * instead of 144, several images in one call.  From 7 x 7 on it beats
 * im2col's GEMM (UNet-S's 7 x 7 layers: training 4% faster, inference 6%;
 * bench-nn unet28, one thread); from fewer than 8 input channels im2col
 * was the faster (measured with F(2x2)). */
static int winograd(const conv_geom *g)
{
    return same(g) && g->kh == 3 && g->kw == 3 && g->H >= 7 && g->W >= 7 && g->C >= 8;
}

/* Winograd's calls take up to 4 images, fewer where their scratch would
 * pass 16 MB (64 + 64 channels: 4 up to 56 x 56, 1 from 84 x 84):
 * with 8 (a whole group) the transformed inputs outgrow the caches and
 * UNet-S inference is 7% slower; with 1 or 2 the GEMMs are too narrow
 * (bench-nn unet28, one thread). */
enum { WINO_IMAGES = 4 };
static const size_t WINO_BUDGET = (size_t)4 << 20;    /* floats */

static size_t wino_chunk(const conv_geom *g)
{
    size_t n = WINO_IMAGES;
    while (n > 1 && wino_scratch((int)n, g->C, g->H, g->W, g->O) > WINO_BUDGET)
        n--;
    return n;
}

/* out (n, O, H, W) = the convolution of x (C channels), or of pre
 * applied to it, with the kernels u + the terms t (wino.h; pre and t for
 * image 0 of x and out), or with t NULL, += it, in calls of wino_chunk(g)
 * images; C and O are g's or, for the input's gradient, swapped. */
static void wino_images(float *out, float *scratch, const float *x, const wino_pre *pre,
                        const float *u, const wino_terms *t, size_t n, const conv_geom *g,
                        int C, int O)
{
    size_t in = (size_t)C * (size_t)g->H * (size_t)g->W;
    size_t on = (size_t)O * (size_t)g->H * (size_t)g->W, m = wino_chunk(g);
    for (size_t a = 0, k; a < n; a += k) {
        k = n - a < m ? n - a : m;
        wino_terms ta;
        wino_pre pa;
        if (t)
            ta = (wino_terms){ t->bias, t->sbias ? t->sbias + a * (size_t)O : NULL,
                               t->res ? t->res + a * on : NULL };
        if (pre)
            pa = (wino_pre){ pre->scale + a * (size_t)C, pre->shift + a * (size_t)C };
        wino_conv(out + a * on, scratch, x + a * in, pre ? &pa : NULL, u, t ? &ta : NULL,
                  (int)k, C, g->H, g->W, O);
    }
}

/* A 1 x 1, stride-1 convolution's columns are its input: no im2col. */
static int pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* On small outputs (a 7 x 7 image) a GEMM per sample is too narrow to run
 * well: the columns of a group's samples go side by side, into one GEMM
 * NN_GROUP times as wide. */
static int batched(const conv_geom *g)
{
    return !winograd(g) && !pointwise(g) && g->Ho * g->Wo <= 64;
}

/* Floats per worker slot: the im2col of the input or of the output's
 * gradient, (C or O) kh kw Ho Wo, or Winograd's scratch; batched, the
 * group's im2col and a (C or O, NN_GROUP Ho Wo) matrix. */
static size_t col_size(const conv_geom *g)
{
    size_t ch = (size_t)(g->C > g->O ? g->C : g->O);
    size_t n = ch * (size_t)g->kh * (size_t)g->kw * (size_t)g->Ho * (size_t)g->Wo;
    if (batched(g))
        n = NN_GROUP * (n + ch * (size_t)g->Ho * (size_t)g->Wo);
    size_t nw = winograd(g) ? wino_scratch((int)wino_chunk(g), g->C, g->H, g->W, g->O) : 0;
    n = n > nw ? n : nw;
    return (n + 15) / 16 * 16;    /* each slot as aligned as the workspace */
}

/* Floats of a group's partial sums: the weight gradient (Winograd's: of
 * the transformed kernels, carried back once summed), the bias's. */
static size_t part_size(const conv_geom *g)
{
    size_t nw = winograd(g) ? wino_kernel_size(g->O, g->C)
                            : (size_t)g->O * (size_t)g->C * (size_t)g->kh * (size_t)g->kw;
    return nw + (size_t)g->O;
}

/* Slots, the groups' partial weight gradients, the flipped kernel, the
 * Winograd kernels. */
static size_t workspace(int B, const conv_geom *g)
{
    size_t nw = (size_t)g->O * (size_t)g->C * (size_t)g->kh * (size_t)g->kw;
    return NN_SLOTS * col_size(g) + conv_groups(B) * part_size(g) + nw +
           wino_kernel_size(g->O, g->C);
}

size_t nn_conv2d_workspace(int B, int C, int H, int W, int O, int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    return workspace(B, &g);
}

size_t nn_conv1d_workspace(int B, int C, int L, int O, int k, int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    return workspace(B, &g);
}

/* The output columns [*lo, *hi) whose input column ox stride - pad + kx
 * lies inside 0..W-1: the rest read the zero padding. */
static void valid_cols(int kx, int stride, int pad, int W, int Wo, int *lo, int *hi)
{
    int a = pad - kx, b = W - 1 + pad - kx;    /* need a <= ox stride <= b */
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = b < 0 ? 0 : b / stride + 1;
    if (*hi > Wo)
        *hi = Wo;
    if (*lo > *hi)
        *lo = *hi;
}

/* col (C kh kw, Ho Wo) from one image x (C, H, W), its rows ld floats
 * apart.  The bounds are worked out per kernel offset, not per element:
 * this runs as often as a GEMM. */
static void im2col(float *col, size_t ld, const float *x, const conv_geom *g)
{
    int Ho = g->Ho, Wo = g->Wo, H = g->H, W = g->W;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                float *row = col + (((size_t)c * (size_t)g->kh + (size_t)ky) * (size_t)g->kw +
                                    (size_t)kx) * ld;
                int lo, hi;
                valid_cols(kx, g->sw, g->pw, W, Wo, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * g->sh - g->ph + ky;
                    float *r = row + (size_t)oy * (size_t)Wo;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, sizeof(float) * (size_t)Wo);
                        continue;
                    }
                    const float *src = x + ((size_t)c * (size_t)H + (size_t)iy) * (size_t)W;
                    for (int ox = 0; ox < lo; ox++)
                        r[ox] = 0;
                    if (g->sw == 1)
                        memcpy(r + lo, src + lo - g->pw + kx, sizeof(float) * (size_t)(hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            r[ox] = src[ox * g->sw - g->pw + kx];
                    for (int ox = hi; ox < Wo; ox++)
                        r[ox] = 0;
                }
            }
}

/* The adjoint of im2col: x (C, H, W) += the columns' entries. */
static void col2im(float *x, const float *col, size_t ld, const conv_geom *g)
{
    int Ho = g->Ho, Wo = g->Wo, H = g->H, W = g->W;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const float *row = col + (((size_t)c * (size_t)g->kh + (size_t)ky) *
                                          (size_t)g->kw + (size_t)kx) * ld;
                int lo, hi;
                valid_cols(kx, g->sw, g->pw, W, Wo, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * g->sh - g->ph + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    float *dst = x + ((size_t)c * (size_t)H + (size_t)iy) * (size_t)W;
                    const float *r = row + (size_t)oy * (size_t)Wo;
                    for (int ox = lo; ox < hi; ox++)
                        dst[ox * g->sw - g->pw + kx] += r[ox];
                }
            }
}

/* One convolution call, shared by the worker threads. */
typedef struct {
    float *out, *din, *dw, *db, *ws, *wflip, *wino;    /* wino: wino_kernels's */
    const float *in, *w, *b, *dout;
    nn_conv_extra e;            /* forward: what nn_conv2d_forward_ex does besides */
    int set;                    /* backward: din = the gradient, not += */
    int B, threads;
    conv_geom g;
} conv_job;

/* The im2col slot of worker t. */
static float *conv_col(const conv_job *j, int t)
{
    return j->ws + (size_t)t * col_size(&j->g);
}

/* The samples [*i0, *i1) of group q. */
static void group_range(const conv_job *j, size_t q, size_t *i0, size_t *i1)
{
    *i0 = q * NN_GROUP;
    *i1 = *i0 + NN_GROUP < (size_t)j->B ? *i0 + NN_GROUP : (size_t)j->B;
}

/* Batched forward of group q: out_i = w im2col(x_i) + b, one GEMM (O, K)
 * (K, n P) for the group's n samples, into buf (O, n P). */
static void forward_group(const conv_job *j, size_t q, float *col)
{
    const conv_geom *g = &j->g;
    size_t i0, i1, P = (size_t)g->Ho * (size_t)g->Wo, in = (size_t)g->C * g->H * g->W;
    group_range(j, q, &i0, &i1);
    size_t ld = (i1 - i0) * P, K = (size_t)g->C * g->kh * g->kw;
    float *buf = col + K * ld;
    for (size_t i = i0; i < i1; i++)
        im2col(col + (i - i0) * P, ld, j->in + i * in, g);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->O, (int)ld, (int)K, 1.0f, j->w,
                (int)K, col, (int)ld, 0.0f, buf, (int)ld);
    for (size_t i = i0; i < i1; i++)
        for (int oc = 0; oc < g->O; oc++) {
            const float *src = buf + (size_t)oc * ld + (i - i0) * P;
            float *o = j->out + (i * (size_t)g->O + (size_t)oc) * P;
            for (size_t p = 0; p < P; p++)
                o[p] = src[p] + j->b[oc];
        }
}

/* Batched backward of group q: the output gradients side by side in buf
 * (O, n P), the inputs' im2col in col; dw (O, K) += buf col^T; then the
 * input gradients, by the flipped kernel for a "same" convolution (the
 * gradients' im2col in col, the product in buf) or by col2im of w^T buf. */
static void backward_group(const conv_job *j, size_t q, float *col, float *pw, float *pb)
{
    const conv_geom *g = &j->g;
    size_t i0, i1, P = (size_t)g->Ho * (size_t)g->Wo, in = (size_t)g->C * g->H * g->W;
    group_range(j, q, &i0, &i1);
    size_t n = i1 - i0, ld = n * P, K = (size_t)g->C * g->kh * g->kw;
    size_t ch = (size_t)(g->C > g->O ? g->C : g->O);
    float *buf = col + ch * (size_t)g->kh * g->kw * ld;
    for (size_t i = i0; i < i1; i++) {
        const float *gr = j->dout + i * (size_t)g->O * P;
        im2col(col + (i - i0) * P, ld, j->in + i * in, g);
        for (int oc = 0; oc < g->O; oc++) {
            memcpy(buf + (size_t)oc * ld + (i - i0) * P, gr + (size_t)oc * P, sizeof(float) * P);
            pb[oc] += (float)sum_f32(gr + (size_t)oc * P, P, 0, 0);
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->O, (int)K, (int)ld, 1.0f, buf,
                (int)ld, col, (int)ld, 1.0f, pw, (int)K);
    if (!j->din)
        return;
    if (same(g)) {
        conv_geom gt = *g;
        gt.C = g->O, gt.O = g->C;
        size_t Kt = (size_t)g->O * g->kh * g->kw;
        for (size_t i = i0; i < i1; i++)
            im2col(col + (i - i0) * P, ld, j->dout + i * (size_t)g->O * P, &gt);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->C, (int)ld, (int)Kt, 1.0f,
                    j->wflip, (int)Kt, col, (int)ld, 0.0f, buf, (int)ld);
        for (size_t i = i0; i < i1; i++)
            for (int c = 0; c < g->C; c++) {
                const float *src = buf + (size_t)c * ld + (i - i0) * P;
                float *dx = j->din + i * in + (size_t)c * P;
                if (j->set)
                    memcpy(dx, src, sizeof(float) * P);
                else
                    for (size_t p = 0; p < P; p++)
                        dx[p] += src[p];
            }
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)ld, g->O, 1.0f, j->w,
                (int)K, buf, (int)ld, 0.0f, col, (int)ld);
    for (size_t i = i0; i < i1; i++) {
        if (j->set)
            memset(j->din + i * in, 0, sizeof(float) * in);
        col2im(j->din + i * in, col + (i - i0) * P, ld, g);
    }
}

/* Worker t of j->threads takes the groups of NN_GROUP samples [*g0, *g1)
 * = [G t / threads, G (t + 1) / threads): the split depends on the thread
 * count, but no sum crosses a group, so the results do not. */
static void worker_groups(const conv_job *j, uint64_t t, uint64_t t_end, size_t *g0,
                          size_t *g1)
{
    size_t G = conv_groups(j->B);
    *g0 = G * t / (size_t)j->threads;
    *g1 = G * t_end / (size_t)j->threads;
}

/* out += sb and res for the samples [i0, i1), after the convolution and
 * its bias, as Winograd adds them. */
static void add_terms(const conv_job *j, size_t i0, size_t i1)
{
    size_t P = (size_t)j->g.Ho * (size_t)j->g.Wo, O = (size_t)j->g.O;
    for (size_t i = i0; i < i1; i++)
        for (size_t oc = 0; oc < O; oc++) {
            float *o = j->out + (i * O + oc) * P;
            if (j->e.sb)
                for (size_t p = 0; p < P; p++)
                    o[p] += j->e.sb[i * O + oc];
            if (j->e.res)
                for (size_t p = 0; p < P; p++)
                    o[p] += j->e.res[(i * O + oc) * P + p];
        }
}

static void conv_forward_worker(void *ctx, uint64_t t, uint64_t t_end)
{
    const conv_job *j = ctx;
    const conv_geom *g = &j->g;
    size_t g0, g1;
    worker_groups(j, t, t_end, &g0, &g1);
    int K = g->C * g->kh * g->kw, P = g->Ho * g->Wo;
    size_t in = (size_t)g->C * (size_t)g->H * (size_t)g->W, out = (size_t)g->O * (size_t)P;
    float *col = conv_col(j, (int)t);
    for (size_t q = g0; q < g1; q++) {
        size_t i0, i1;
        group_range(j, q, &i0, &i1);
        if (batched(g)) {
            forward_group(j, q, col);
            add_terms(j, i0, i1);
            continue;
        }
        if (j->wino) {
            const nn_conv_extra *e = &j->e;
            wino_terms tt = { j->b, e->sb ? e->sb + i0 * (size_t)g->O : NULL,
                              e->res ? e->res + i0 * out : NULL };
            wino_pre pre = { e->scale ? e->scale + i0 * (size_t)g->C : NULL,
                             e->shift ? e->shift + i0 * (size_t)g->C : NULL };
            wino_images(j->out + i0 * out, col, j->in + i0 * in, e->scale ? &pre : NULL, j->wino,
                        &tt, i1 - i0, g, g->C, g->O);
            continue;
        }
        for (size_t i = i0; i < i1; i++)
            for (int oc = 0; oc < g->O; oc++)
                for (int p = 0; p < P; p++)
                    j->out[i * out + (size_t)oc * (size_t)P + (size_t)p] = j->b[oc];
        for (size_t i = i0; i < i1; i++) {
            const float *c = j->in + i * in;
            if (!pointwise(g)) {
                im2col(col, (size_t)P, c, g);
                c = col;
            }
            /* out_i (O, P) += w (O, K) col (K, P) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->O, P, K, 1.0f, j->w, K, c,
                        P, 1.0f, j->out + i * out, P);
        }
        add_terms(j, i0, i1);
    }
}

/* The gradients of group g's samples: din directly (each sample its own
 * rows), dw and db into the group's partial sums. */
static void conv_backward_worker(void *ctx, uint64_t t, uint64_t t_end)
{
    const conv_job *j = ctx;
    const conv_geom *g = &j->g;
    size_t g0, g1;
    worker_groups(j, t, t_end, &g0, &g1);
    int K = g->C * g->kh * g->kw, P = g->Ho * g->Wo;
    float *col = conv_col(j, (int)t);
    float *parts = conv_col(j, NN_SLOTS);
    int wino = winograd(g);
    size_t np = part_size(g);
    for (size_t q = g0; q < g1; q++) {
        /* pw: the weight gradient, or Winograd's (wino_grad sets it) */
        float *pw = parts + q * np, *pb = pw + np - (size_t)g->O;
        memset(wino ? pb : pw, 0, sizeof(float) * (wino ? (size_t)g->O : np));
        if (batched(g)) {
            backward_group(j, q, col, pw, pb);
            continue;
        }
        size_t i0, i1, in = (size_t)g->C * (size_t)g->H * (size_t)g->W;
        group_range(j, q, &i0, &i1);
        for (size_t i = i0; i < i1; i++)
            for (int oc = 0; oc < g->O; oc++)
                pb[oc] += (float)sum_f32(j->dout + (i * (size_t)g->O + (size_t)oc) * (size_t)P,
                                         (size_t)P, 0, 0);
        if (wino) {
            /* pw = the first chunk's gradient, += the others' */
            size_t m = wino_chunk(g), dn = (size_t)g->O * (size_t)P;
            for (size_t a = i0, k; a < i1; a += k) {
                k = i1 - a < m ? i1 - a : m;
                wino_grad(pw, col, j->in + a * in, j->dout + a * dn, a > i0, (int)k, g->C, g->H,
                          g->W, g->O);
            }
            wino_terms none = { 0 };    /* set: din = the convolution */
            if (j->din)
                wino_images(j->din + i0 * in, col, j->dout + i0 * dn, NULL, j->wino,
                            j->set ? &none : NULL, i1 - i0, g, g->O, g->C);
            continue;
        }
        for (size_t i = i0; i < i1; i++) {
            const float *gr = j->dout + i * (size_t)g->O * (size_t)P;
            const float *x = j->in + i * in;
            float *dx = j->din ? j->din + i * in : NULL;
            const float *c = x;
            if (!pointwise(g)) {
                im2col(col, (size_t)P, x, g);
                c = col;
            }
            /* dw (O, K) += g (O, P) col^T (P, K) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->O, K, P, 1.0f, gr, P, c, P,
                        1.0f, pw, K);
            if (!dx)
                continue;
            float beta = j->set ? 0.0f : 1.0f;
            /* dcol (K, P) = w^T (K, O) g (O, P), then back onto the image */
            if (pointwise(g)) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->O, 1.0f, j->w, K,
                            gr, P, beta, dx, P);
                continue;
            }
            if (same(g)) {
                /* dx (C, P) += wflip (C, O kh kw) im2col(g) (O kh kw, P) */
                conv_geom gt = *g;
                gt.C = g->O, gt.O = g->C;
                im2col(col, (size_t)P, gr, &gt);
                int Kt = g->O * g->kh * g->kw;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->C, P, Kt, 1.0f,
                            j->wflip, Kt, col, P, beta, dx, P);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->O, 1.0f, j->w, K, gr,
                        P, 0.0f, col, P);
            if (j->set)
                memset(dx, 0, sizeof(float) * in);
            col2im(dx, col, (size_t)P, g);
        }
    }
}

static void conv_run(conv_job *j, par_fn fn)
{
    size_t G = conv_groups(j->B);
    j->threads = G < (size_t)g_threads ? (int)G : g_threads;
    par_for(j->threads, (uint64_t)j->threads, fn, j);
}

/* Where the Winograd kernels go: after the flipped kernel. */
static float *wino_area(const conv_job *j)
{
    const conv_geom *g = &j->g;
    size_t nw = (size_t)g->O * (size_t)g->C * (size_t)g->kh * (size_t)g->kw;
    return conv_col(j, NN_SLOTS) + conv_groups(j->B) * part_size(g) + nw;
}

static void conv_forward(float *out, float *ws, const float *in, const float *w,
                         const float *b, const nn_conv_extra *e, int B, const conv_geom *g)
{
    conv_job j = { .out = out, .ws = ws, .in = in, .w = w, .b = b, .B = B, .g = *g };
    if (e)
        j.e = *e;
    if (winograd(g)) {
        j.wino = wino_area(&j);
        wino_kernels(j.wino, w, g->O, g->C);
    }
    conv_run(&j, conv_forward_worker);
}

static void conv_backward(float *din, float *dw, float *db, float *ws, const float *dout,
                          const float *in, const float *w, int B, const conv_geom *g, int set)
{
    conv_job j = { .din = din, .dw = dw, .db = db, .ws = ws, .dout = dout, .in = in, .w = w,
                   .B = B, .g = *g, .set = set };
    const float *parts = conv_col(&j, NN_SLOTS);
    if (din && same(g) && !pointwise(g)) {
        /* wflip[c][o][ky][kx] = w[o][c][kh-1-ky][kw-1-kx] */
        j.wflip = (float *)parts + conv_groups(B) * part_size(g);
        size_t kk = (size_t)g->kh * (size_t)g->kw;
        for (int o = 0; o < g->O; o++)
            for (int c = 0; c < g->C; c++) {
                const float *src = w + ((size_t)o * (size_t)g->C + (size_t)c) * kk;
                float *dst = j.wflip + ((size_t)c * (size_t)g->O + (size_t)o) * kk;
                for (size_t k = 0; k < kk; k++)
                    dst[k] = src[kk - 1 - k];
            }
        if (winograd(g)) {
            j.wino = wino_area(&j);
            wino_kernels(j.wino, j.wflip, g->C, g->O);
        }
    }
    conv_run(&j, conv_backward_worker);
    /* The groups' partial sums, in group order: Winograd's into the first
     * group's, then carried back once. */
    size_t np = part_size(g), nk = np - (size_t)g->O;
    float *first = (float *)parts;
    for (size_t q = 0; q < conv_groups(B); q++) {
        const float *pw = parts + q * np;
        if (!winograd(g))
            for (size_t i = 0; i < nk; i++)
                dw[i] += pw[i];
        else if (q > 0)
            for (size_t i = 0; i < nk; i++)
                first[i] += pw[i];
        for (int oc = 0; oc < g->O; oc++)
            db[oc] += pw[nk + (size_t)oc];
    }
    if (winograd(g) && conv_groups(B) > 0)
        wino_kernels_adjoint(dw, first, g->O, g->C);
}

void nn_conv2d_forward(float *out, float *ws, const float *in, const float *w,
                       const float *b, int B, int C, int H, int W, int O, int k,
                       int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    conv_forward(out, ws, in, w, b, NULL, B, &g);
}

int nn_conv2d_reads_affine(int C, int H, int W, int O, int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    return winograd(&g);
}

void nn_conv2d_forward_ex(float *out, float *ws, const float *in, const float *w,
                          const float *b, const nn_conv_extra *e, int B, int C, int H, int W,
                          int O, int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    conv_forward(out, ws, in, w, b, e, B, &g);
}

void nn_conv2d_backward(float *din, float *dw, float *db, float *ws,
                        const float *dout, const float *in, const float *w, int B,
                        int C, int H, int W, int O, int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    conv_backward(din, dw, db, ws, dout, in, w, B, &g, 0);
}

void nn_conv2d_backward_set(float *din, float *dw, float *db, float *ws, const float *dout,
                            const float *in, const float *w, int B, int C, int H, int W, int O,
                            int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    conv_backward(din, dw, db, ws, dout, in, w, B, &g, 1);
}

void nn_conv1d_forward(float *out, float *ws, const float *in, const float *w,
                       const float *b, int B, int C, int L, int O, int k, int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    conv_forward(out, ws, in, w, b, NULL, B, &g);
}

void nn_conv1d_forward_ex(float *out, float *ws, const float *in, const float *w,
                          const float *b, const nn_conv_extra *e, int B, int C, int L, int O,
                          int k, int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    conv_forward(out, ws, in, w, b, e, B, &g);
}

void nn_conv1d_backward(float *din, float *dw, float *db, float *ws, const float *dout,
                        const float *in, const float *w, int B, int C, int L, int O, int k,
                        int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    conv_backward(din, dw, db, ws, dout, in, w, B, &g, 0);
}

void nn_conv1d_backward_set(float *din, float *dw, float *db, float *ws, const float *dout,
                            const float *in, const float *w, int B, int C, int L, int O, int k,
                            int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    conv_backward(din, dw, db, ws, dout, in, w, B, &g, 1);
}

/* The convolution by its definition, in double: the tests' oracle. */
static void conv_ref(float *out, const float *in, const float *w, const float *b, int B,
                     const conv_geom *g)
{
    int Ho = g->Ho, Wo = g->Wo;
    for (int i = 0; i < B; i++)
        for (int oc = 0; oc < g->O; oc++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double s = b[oc];
                    for (int c = 0; c < g->C; c++)
                        for (int ky = 0; ky < g->kh; ky++)
                            for (int kx = 0; kx < g->kw; kx++) {
                                int iy = oy * g->sh - g->ph + ky, ix = ox * g->sw - g->pw + kx;
                                if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
                                    continue;
                                s += (double)w[(((size_t)oc * (size_t)g->C + (size_t)c) *
                                                (size_t)g->kh + (size_t)ky) * (size_t)g->kw +
                                               (size_t)kx] *
                                     in[(((size_t)i * (size_t)g->C + (size_t)c) * (size_t)g->H +
                                         (size_t)iy) * (size_t)g->W + (size_t)ix];
                            }
                    out[(((size_t)i * (size_t)g->O + (size_t)oc) * (size_t)Ho + (size_t)oy) *
                        (size_t)Wo + (size_t)ox] = (float)s;
                }
}

void nn_conv2d_forward_ref(float *out, const float *in, const float *w,
                           const float *b, int B, int C, int H, int W, int O,
                           int k, int stride, int pad)
{
    conv_geom g = geom2d(C, H, W, O, k, stride, pad);
    conv_ref(out, in, w, b, B, &g);
}

void nn_conv1d_forward_ref(float *out, const float *in, const float *w, const float *b,
                           int B, int C, int L, int O, int k, int stride, int pad)
{
    conv_geom g = geom1d(C, L, O, k, stride, pad);
    conv_ref(out, in, w, b, B, &g);
}

/* ---- group normalisation ----------------------------------------------- */

/* GroupNorm's passes run sample by sample on the nn threads: a sample's
 * result never depends on another's, and the parameter gradients are
 * kept per sample and summed in sample order. */
typedef struct {
    float *out, *silu, *mean, *rstd, *dx;    /* silu: the SiLU of out, or NULL */
    int set;                    /* backward: dx = the gradient, not += */
    float *scale, *shift;       /* (B, C) out = x scale + shift, or NULL; no out */
    double *pg, *pb;            /* per-sample dgamma, dbeta (B, C) */
    const float *x, *gamma, *beta, *dout, *cmean, *crstd;
    int C, N, G;
} gn_job;

static void gn_forward_worker(void *ctx, uint64_t i0, uint64_t i1)
{
    const gn_job *j = ctx;
    int cg = j->C / j->G, N = j->N;
    size_t n = (size_t)cg * (size_t)N;
    for (uint64_t i = i0; i < i1; i++)
        for (int g = 0; g < j->G; g++) {
            size_t base = ((size_t)i * (size_t)j->C + (size_t)g * (size_t)cg) * (size_t)N;
            const float *xg = j->x + base;
            /* One pass, shifted by the group's first value: the moments
             * of x - x0 carry no cancellation worth a second pass. */
            double s1, s2, sh = xg[0];
            sum_moments(xg, n, sh, &s1, &s2);
            double d = s1 / (double)n, v = s2 / (double)n - d * d, m = sh + d;
            double r = 1.0 / sqrt((v > 0 ? v : 0) + 1e-5);  /* biased variance */
            j->mean[i * (uint64_t)j->G + (uint64_t)g] = (float)m;
            j->rstd[i * (uint64_t)j->G + (uint64_t)g] = (float)r;
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                float scale = (float)r * j->gamma[ch];
                float shift = j->beta[ch] - (float)m * scale;
                if (j->scale) {
                    j->scale[i * (uint64_t)j->C + (uint64_t)ch] = scale;
                    j->shift[i * (uint64_t)j->C + (uint64_t)ch] = shift;
                    continue;
                }
                const float *xc = xg + (size_t)c * (size_t)N;
                float *oc = j->out + base + (size_t)c * (size_t)N;
                for (int p = 0; p < N; p++)
                    oc[p] = xc[p] * scale + shift;
                if (j->silu)    /* while the channel is in cache */
                    simd_silu(j->silu + base + (size_t)c * (size_t)N, oc, (size_t)N);
            }
        }
}

void nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *x,
                          const float *gamma, const float *beta, int B, int C,
                          int N, int G)
{
    nn_groupnorm_silu_forward(out, NULL, mean, rstd, x, gamma, beta, B, C, N, G);
}

void nn_groupnorm_silu_forward(float *out, float *silu, float *mean, float *rstd,
                               const float *x, const float *gamma, const float *beta, int B,
                               int C, int N, int G)
{
    gn_job j = { .out = out, .silu = silu, .mean = mean, .rstd = rstd, .x = x,
                 .gamma = gamma, .beta = beta, .C = C, .N = N, .G = G };
    par_for(g_threads, (uint64_t)B, gn_forward_worker, &j);
}

void nn_groupnorm_affine(float *scale, float *shift, float *mean, float *rstd,
                         const float *x, const float *gamma, const float *beta, int B, int C,
                         int N, int G)
{
    gn_job j = { .scale = scale, .shift = shift, .mean = mean, .rstd = rstd, .x = x,
                 .gamma = gamma, .beta = beta, .C = C, .N = N, .G = G };
    par_for(g_threads, (uint64_t)B, gn_forward_worker, &j);
}

static void gn_backward_worker(void *ctx, uint64_t i0, uint64_t i1)
{
    /* With xhat = (x - mean) rstd and dxhat = dout gamma:
     * dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) over the
     * group, which is k1 dout + k2 x + k3 per channel. */
    const gn_job *j = ctx;
    int cg = j->C / j->G, N = j->N;
    double n = (double)cg * N;
    for (uint64_t i = i0; i < i1; i++)
        for (int g = 0; g < j->G; g++) {
            size_t base = ((size_t)i * (size_t)j->C + (size_t)g * (size_t)cg) * (size_t)N;
            double m = j->cmean[i * (uint64_t)j->G + (uint64_t)g];
            double r = j->crstd[i * (uint64_t)j->G + (uint64_t)g], a = 0, bs = 0;
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                const float *dc = j->dout + base + (size_t)c * (size_t)N;
                const float *xc = j->x + base + (size_t)c * (size_t)N;
                double sd = sum_f32(dc, (size_t)N, 0, 0), sdx = sum_dot(dc, xc, (size_t)N);
                double sxh = r * (sdx - m * sd);        /* sum dout xhat */
                j->pb[i * (uint64_t)j->C + (uint64_t)ch] = sd;
                j->pg[i * (uint64_t)j->C + (uint64_t)ch] = sxh;
                a += j->gamma[ch] * sd;
                bs += j->gamma[ch] * sxh;
            }
            a /= n, bs /= n;
            float k2 = (float)(-r * r * bs), k3 = (float)(-r * a + m * r * r * bs);
            for (int c = 0; c < cg; c++) {
                int ch = g * cg + c;
                float k1 = (float)r * j->gamma[ch];
                const float *dc = j->dout + base + (size_t)c * (size_t)N;
                const float *xc = j->x + base + (size_t)c * (size_t)N;
                float *o = j->dx + base + (size_t)c * (size_t)N;
                if (j->set)
                    for (int p = 0; p < N; p++)
                        o[p] = k1 * dc[p] + k2 * xc[p] + k3;
                else
                    for (int p = 0; p < N; p++)
                        o[p] += k1 * dc[p] + k2 * xc[p] + k3;
            }
        }
}

static void gn_backward(float *dx, int set, float *dgamma, float *dbeta, const float *dout,
                        const float *x, const float *gamma, const float *mean,
                        const float *rstd, int B, int C, int N, int G)
{
    /* The per-sample parameter gradients: (B, C) doubles twice, a small
     * fraction of the activations this pass reads. */
    double *pg = malloc(sizeof(double) * 2 * (size_t)B * (size_t)C);
    if (!pg)
        abort();        /* a few kilobytes: there is no sane way on */
    gn_job j = { .dx = dx, .set = set, .pg = pg, .pb = pg + (size_t)B * (size_t)C, .x = x,
                 .gamma = gamma, .dout = dout, .cmean = mean, .crstd = rstd, .C = C, .N = N,
                 .G = G };
    par_for(g_threads, (uint64_t)B, gn_backward_worker, &j);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            dgamma[c] += (float)j.pg[(size_t)i * (size_t)C + (size_t)c];
            dbeta[c] += (float)j.pb[(size_t)i * (size_t)C + (size_t)c];
        }
    free(pg);
}

void nn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout,
                           const float *x, const float *gamma, const float *mean,
                           const float *rstd, int B, int C, int N, int G)
{
    gn_backward(dx, 0, dgamma, dbeta, dout, x, gamma, mean, rstd, B, C, N, G);
}

void nn_groupnorm_backward_set(float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *x, const float *gamma, const float *mean,
                               const float *rstd, int B, int C, int N, int G)
{
    gn_backward(dx, 1, dgamma, dbeta, dout, x, gamma, mean, rstd, B, C, N, G);
}

/* ---- resampling and skip connections ----------------------------------- */

/* The up path's join runs plane by plane on the layers' threads: each
 * output depends on its own plane only.  A plane of a (H x W) becomes
 * rows x 2 of out's (rows 2 for images, 1 for signals), in place in its
 * sample's ld floats; b's planes follow a's in the sample. */
typedef struct {
    float *y, *y2;
    const float *x, *x2;
    size_t H, W, rows, Ca, Cb, ld;
} upcat_job;

/* The output plane of a's plane p: sample p / Ca, channel p % Ca. */
static size_t up_plane(const upcat_job *j, uint64_t p)
{
    return (size_t)(p / j->Ca) * j->ld + (size_t)(p % j->Ca) * j->rows * j->H * 2 * j->W;
}

static void upcat_forward_worker(void *ctx, uint64_t p0, uint64_t p1)
{
    const upcat_job *j = ctx;
    size_t H = j->H, W = j->W, nb = j->Cb * j->rows * H * 2 * W;
    for (uint64_t p = p0; p < p1; p++) {
        float *out = j->y + up_plane(j, p);
        for (size_t y = 0; y < H; y++) {
            const float *src = j->x + (p * H + y) * W;
            float *dst = out + j->rows * y * 2 * W;
            for (size_t x = 0; x < W; x++)
                dst[2 * x] = dst[2 * x + 1] = src[x];
            if (j->rows == 2)
                memcpy(dst + 2 * W, dst, sizeof(float) * 2 * W);
        }
        if (p % j->Ca == j->Ca - 1) {   /* the sample's last plane of a: then b */
            size_t i = (size_t)(p / j->Ca);
            memcpy(j->y + i * j->ld + j->ld - nb, j->x2 + i * nb, sizeof(float) * nb);
        }
    }
}

static void upcat_backward_worker(void *ctx, uint64_t p0, uint64_t p1)
{
    const upcat_job *j = ctx;
    size_t H = j->H, W = j->W, nb = j->Cb * j->rows * H * 2 * W;
    for (uint64_t p = p0; p < p1; p++) {
        const float *g = j->x + up_plane(j, p);
        for (size_t y = 0; y < H; y++) {
            float *dst = j->y + (p * H + y) * W;
            const float *s0 = g + j->rows * y * 2 * W, *s1 = s0 + 2 * W;
            if (j->rows == 2)
                for (size_t x = 0; x < W; x++)
                    dst[x] = dst[x] + s0[2 * x] + s0[2 * x + 1] + s1[2 * x] + s1[2 * x + 1];
            else
                for (size_t x = 0; x < W; x++)
                    dst[x] = dst[x] + s0[2 * x] + s0[2 * x + 1];
        }
        if (p % j->Ca == j->Ca - 1) {
            size_t i = (size_t)(p / j->Ca);
            const float *gb = j->x + i * j->ld + j->ld - nb;
            float *db = j->y2 + i * nb;
            for (size_t k = 0; k < nb; k++)
                db[k] += gb[k];
        }
    }
}

static upcat_job upcat(int Ca, int Cb, int H, int W, int rows)
{
    upcat_job j = { .H = (size_t)H, .W = (size_t)W, .rows = (size_t)rows, .Ca = (size_t)Ca,
                    .Cb = (size_t)Cb };
    j.ld = (j.Ca + j.Cb) * j.rows * j.H * 2 * j.W;
    return j;
}

void nn_upcat_forward(float *out, const float *a, const float *b, int B, int Ca, int Cb, int H,
                      int W, int rows)
{
    upcat_job j = upcat(Ca, Cb, H, W, rows);
    j.y = out, j.x = a, j.x2 = b;
    par_for(g_threads, (uint64_t)B * (uint64_t)Ca, upcat_forward_worker, &j);
}

void nn_upcat_backward(float *da, float *db, const float *dout, int B, int Ca, int Cb, int H,
                       int W, int rows)
{
    upcat_job j = upcat(Ca, Cb, H, W, rows);
    j.y = da, j.y2 = db, j.x = dout;
    par_for(g_threads, (uint64_t)B * (uint64_t)Ca, upcat_backward_worker, &j);
}
