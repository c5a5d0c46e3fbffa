/* test_nn.c - layers against their naive twins and against finite
 * differences; the MLP's gradient as a whole; AdamW against its formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/mlp.h"
#include "nn/nn.h"
#include "nn/opt.h"
#include "base/rng.h"
#include "nn/simd.h"
#include "nn/sum.h"
#include "nn/wino.h"

static void fill(float *x, size_t n, uint32_t stream, double scale)
{
    rng_t r;
    rng_init(&r, 42, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
}

static double max_abs(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* The largest difference over the reference's largest magnitude: the
 * measure of Winograd's rounding (wino.h), which scales with the output
 * rather than with each entry. */
static double scale_rel(const float *a, const float *b, size_t n)
{
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)b[i]));
    return max_abs(a, b, n) / fmax(scale, 1e-30);
}

/* dw (O, C, 3, 3) += the gradient of a 3 x 3 "same" convolution's
 * weights by its definition, in double: over the B images and the pixels,
 * dy[o] times x[c] shifted by the kernel's offset. */
static void conv3_dw_ref(double *dw, const float *x, const float *dy, int B, int C, int H,
                         int W, int O)
{
    for (int i = 0; i < B; i++)
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++)
                for (int k = 0; k < 9; k++) {
                    double sum = 0;
                    const float *yo = dy + ((size_t)i * O + o) * H * W;
                    const float *xc = x + ((size_t)i * C + c) * H * W;
                    for (int py = 0; py < H; py++)
                        for (int px = 0; px < W; px++) {
                            int iy = py + k / 3 - 1, ix = px + k % 3 - 1;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                sum += (double)yo[py * W + px] * xc[iy * W + ix];
                        }
                    dw[((size_t)o * C + c) * 9 + k] += sum;
                }
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        worst = fmax(worst, d);
    }
    return worst;
}

void test_nn_linear_vs_ref(void)
{
    int shapes[][3] = { { 1, 1, 1 }, { 3, 5, 7 }, { 64, 66, 256 }, { 17, 784, 33 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int B = shapes[s][0], IN = shapes[s][1], OUT = shapes[s][2];
        size_t nx = (size_t)B * IN, nw = (size_t)OUT * IN, ny = (size_t)B * OUT;
        float *x = malloc(4 * nx), *w = malloc(4 * nw), *b = malloc(4 * (size_t)OUT);
        float *y1 = malloc(4 * ny), *y2 = malloc(4 * ny), *dy = malloc(4 * ny);
        float *dx1 = calloc(nx, 4), *dx2 = calloc(nx, 4), *dw1 = calloc(nw, 4),
              *dw2 = calloc(nw, 4), *db1 = calloc((size_t)OUT, 4), *db2 = calloc((size_t)OUT, 4);
        fill(x, nx, 1, 1), fill(w, nw, 2, 0.1), fill(b, (size_t)OUT, 3, 0.1), fill(dy, ny, 4, 1);
        nn_linear_forward(y1, x, w, b, B, IN, OUT);
        nn_linear_forward_ref(y2, x, w, b, B, IN, OUT);
        CHECK(max_rel(y1, y2, ny) < 1e-5);
        /* backward accumulates: start both from the same non-zero state */
        dx1[0] = dx2[0] = 1.5f;
        nn_linear_backward(dx1, dw1, db1, dy, x, w, B, IN, OUT);
        nn_linear_backward_ref(dx2, dw2, db2, dy, x, w, B, IN, OUT);
        CHECK(max_rel(dx1, dx2, nx) < 1e-4);
        CHECK(max_rel(dw1, dw2, nw) < 1e-4);
        CHECK(max_rel(db1, db2, (size_t)OUT) < 1e-4);
        free(x), free(w), free(b), free(y1), free(y2), free(dy);
        free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    }
}

void test_nn_silu_finite_difference(void)
{
    float x[41], y[41], d[41] = { 0 }, one[41];
    for (int i = 0; i < 41; i++)
        x[i] = -8 + 0.4f * (float)i, one[i] = 1;
    nn_silu_forward(y, x, 41);
    nn_silu_backward(d, one, x, y, 41);
    for (int i = 0; i < 41; i++) {
        double h = 1e-3, xp = x[i] + h, xm = x[i] - h;
        double fd = (xp / (1 + exp(-xp)) - xm / (1 + exp(-xm))) / (2 * h);
        CHECK_NEAR(d[i], fd, 1e-4);
        CHECK_NEAR(y[i], x[i] / (1 + exp(-x[i])), 1e-6);
    }
}

void test_nn_temb(void)
{
    float t[2] = { 0, 0.5f }, e[2 * 8];
    nn_temb_forward(e, t, 2, 8);
    /* t = 0: sin 0 = 0, cos 0 = 1; frequencies 1, 10, 100, 1000 */
    for (int k = 0; k < 4; k++)
        CHECK(e[k] == 0 && e[4 + k] == 1);
    CHECK_NEAR(e[8 + 1], sin(0.5 * 10), 1e-6);
    CHECK_NEAR(e[8 + 4 + 3], cos(0.5 * 1000), 1e-5);
    /* against libm over t in [0, 1] and the 32 frequencies of a 64-wide
     * embedding (arguments up to 1000, every quadrant): the floats are
     * libm's rounded, but where a value is within 1e-15 of a boundary */
    enum { NT = 4001, D = 64 };
    float *tt = malloc(4 * NT), *em = malloc(4 * (size_t)NT * D);
    for (int i = 0; i < NT; i++)
        tt[i] = (float)i / (NT - 1);
    nn_temb_forward(em, tt, NT, D);
    int off = 0;
    double worst = 0;
    for (int i = 0; i < NT; i++)
        for (int k = 0; k < D / 2; k++) {
            double a = tt[i] * exp(log(1000.0) * ((double)k / (D / 2 - 1)));
            double ds = fabs(em[i * D + k] - sin(a)), dc = fabs(em[i * D + D / 2 + k] - cos(a));
            worst = fmax(worst, fmax(ds, dc));
            off += em[i * D + k] != (float)sin(a) || em[i * D + D / 2 + k] != (float)cos(a);
        }
    fprintf(stderr, "  temb: %d of %d values off libm's rounding, worst %.2g\n", off,
            NT * D, worst);
    CHECK(worst < 6e-8 && off <= 2);
    free(tt), free(em);
}

/* Loss of the MLP on fixed data: 0.5 * sum(out^2 weighted by c). */
static double mlp_loss(mlp *m, const float *x, const float *cond, const float *t,
                       const float *c, int B, float *out)
{
    mlp_forward(m, out, x, cond, t, B);
    double s = 0;
    for (int i = 0; i < B * m->c.dim; i++)
        s += 0.5 * c[i] * (double)out[i] * out[i];
    return s;
}

void test_mlp_gradient_finite_difference(void)
{
    mlp_config cfg = { .dim = 3, .cond = 2, .temb = 8, .width = 16, .hidden = 2 };
    mlp m;
    CHECK(mlp_init(&m, &cfg, 7) == 0);
    enum { B = 5 };
    float x[B * 3], cond[B * 2], t[B], c[B * 3], out[B * 3], dout[B * 3];
    fill(x, B * 3, 10, 1), fill(cond, B * 2, 11, 1), fill(c, B * 3, 13, 1);
    for (int i = 0; i < B; i++)
        t[i] = 0.1f + 0.2f * (float)i;
    /* Untrained: the output layer is zero, so the drift is zero. */
    mlp_forward(&m, out, x, cond, t, B);
    for (int i = 0; i < B * 3; i++)
        CHECK(out[i] == 0);
    fill(m.params, m.nparams, 12, 0.3);   /* every parameter live */
    mlp_loss(&m, x, cond, t, c, B, out);
    for (int i = 0; i < B * 3; i++)
        dout[i] = c[i] * out[i];
    mlp_zero_grad(&m);
    mlp_backward(&m, dout, B);
    /* Central differences on every parameter, in f32: the error is about
     * eps^2 f''' + u |f| / eps; with eps = 1e-2 that is well under 1e-3. */
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < m.nparams; i++) {
        float keep = m.params[i];
        const float h = 1e-2f;
        m.params[i] = keep + h;
        double lp = mlp_loss(&m, x, cond, t, c, B, out);
        m.params[i] = keep - h;
        double lm = mlp_loss(&m, x, cond, t, c, B, out);
        m.params[i] = keep;
        double fd = (lp - lm) / (2 * h), an = m.grads[i];
        double err = fabs(fd - an) / fmax(1e-2, fabs(fd));
        worst = fmax(worst, err);
        bad += err > 2e-2;
    }
    if (bad)
        fprintf(stderr, "  %d of %zu gradients off, worst relative error %g\n", bad,
                m.nparams, worst);
    CHECK(bad == 0);
    /* The input's gradient (x only, not cond or t), the same way. */
    float dx[B * 3];
    mlp_loss(&m, x, cond, t, c, B, out);
    mlp_backward_dx(&m, dout, dx, B);
    bad = 0, worst = 0;
    for (int i = 0; i < B * 3; i++) {
        float keep = x[i];
        const float h = 1e-2f;
        x[i] = keep + h;
        double lp = mlp_loss(&m, x, cond, t, c, B, out);
        x[i] = keep - h;
        double lm = mlp_loss(&m, x, cond, t, c, B, out);
        x[i] = keep;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(fd - dx[i]) / fmax(1e-2, fabs(fd));
        worst = fmax(worst, err);
        bad += err > 2e-2;
    }
    if (bad)
        fprintf(stderr, "  %d of %d input gradients off, worst relative error %g\n", bad,
                B * 3, worst);
    CHECK(bad == 0);
    mlp_free(&m);
}

void test_opt_adamw_formula(void)
{
    opt_config c = opt_defaults();
    c.lr = 0.1;
    c.weight_decay = 0.05;
    float p[3] = { 1, -2, 0.5f }, g[3];
    double P[3] = { 1, -2, 0.5 }, M[3] = { 0 }, V[3] = { 0 };
    opt_state s;
    CHECK(opt_init(&s, &c, 3, p) == 0);
    for (int step = 1; step <= 3; step++) {
        for (int i = 0; i < 3; i++)
            g[i] = (float)(0.3 * (i + 1) * step - P[i]);
        double G[3] = { g[0], g[1], g[2] };
        opt_step(&s, &c, p, g);
        for (int i = 0; i < 3; i++) {   /* torch.optim.AdamW, in double */
            P[i] *= 1 - c.lr * c.weight_decay;
            M[i] = c.beta1 * M[i] + (1 - c.beta1) * G[i];
            V[i] = c.beta2 * V[i] + (1 - c.beta2) * G[i] * G[i];
            double mh = M[i] / (1 - pow(c.beta1, step)), vh = V[i] / (1 - pow(c.beta2, step));
            P[i] -= c.lr * mh / (sqrt(vh) + c.eps);
            CHECK_NEAR(p[i], P[i], 1e-5);
        }
    }
    opt_free(&s);
}

void test_opt_clip_and_schedule(void)
{
    opt_config c = opt_defaults();
    c.clip = 1.0;
    float p[2] = { 0, 0 }, g[2] = { 3, 4 };
    opt_state s;
    CHECK(opt_init(&s, &c, 2, p) == 0);
    CHECK_NEAR(opt_step(&s, &c, p, g), 5.0, 1e-9);
    CHECK_NEAR(g[0], 0.6, 1e-5);
    CHECK_NEAR(g[1], 0.8, 1e-5);
    opt_free(&s);
    c.lr = 1;
    c.warmup = 10;
    c.total = 110;
    CHECK_NEAR(opt_lr(&c, 0), 0.1, 1e-12);
    CHECK_NEAR(opt_lr(&c, 9), 1.0, 1e-12);
    CHECK_NEAR(opt_lr(&c, 60), 0.5, 1e-12);
    CHECK_NEAR(opt_lr(&c, 110), 0.0, 1e-12);
    c.ema = 0.5;
    p[0] = 1;
    CHECK(opt_init(&s, &c, 2, p) == 0);
    CHECK(s.ema[0] == 1);
    g[0] = g[1] = 0;
    c.weight_decay = 0.5;
    opt_step(&s, &c, p, g);      /* p decays to 0.95 (lr 0.1 in warm-up) */
    CHECK_NEAR(p[0], 0.95, 1e-6);
    /* step 1: decay min(0.5, 2/11) */
    CHECK_NEAR(s.ema[0], 2.0 / 11 * 1 + 9.0 / 11 * 0.95, 1e-6);
    opt_free(&s);
}

/* opt_step splits its blocks over threads; the bytes must not move, the
 * norm must be the gradient's, and clipping must apply it. */
void test_opt_threads(void)
{
    enum { N = 3 * OPT_BLOCK + 123 };
    opt_config c = opt_defaults();
    c.clip = 1.0, c.ema = 0.9;
    float *p0 = malloc(4 * N), *last = malloc(4 * N), *p[2], *g[2], *ema[2];
    fill(p0, N, 60, 1);
    fill(last, N, 63, 0.1);     /* the last step's gradient */
    double norm[2], sq = 0;
    for (int t = 0; t < 2; t++) {
        opt_state s;
        p[t] = malloc(4 * N), g[t] = malloc(4 * N), ema[t] = malloc(4 * N);
        memcpy(p[t], p0, 4 * N);
        CHECK(opt_init(&s, &c, N, p[t]) == 0);
        s.threads = t + 1;
        for (int step = 0; step < 3; step++) {
            fill(g[t], N, 61 + (uint32_t)step, 0.1);
            norm[t] = opt_step(&s, &c, p[t], g[t]);
        }
        CHECK(memcmp(p[t], p0, 4 * N) != 0);
        memcpy(ema[t], s.ema, 4 * N);
        opt_free(&s);
    }
    for (size_t i = 0; i < N; i++)
        sq += (double)last[i] * last[i];
    CHECK(!memcmp(p[0], p[1], 4 * N) && !memcmp(g[0], g[1], 4 * N) && norm[0] == norm[1]);
    CHECK(!memcmp(ema[0], ema[1], 4 * N));
    CHECK_NEAR(norm[0], sqrt(sq), 1e-9);
    CHECK(norm[0] > 1);    /* so the last gradient was clipped to norm 1 */
    CHECK_NEAR(opt_grad_norm(g[0], N), 1.0, 1e-5);
    for (int t = 0; t < 2; t++)
        free(p[t]), free(g[t]), free(ema[t]);
    free(p0), free(last);
}

/* sum(c * f) for the outputs f of a layer: a scalar loss whose gradient
 * with respect to the outputs is c. */
static double dot(const float *c, const float *f, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)c[i] * f[i];
    return s;
}

void test_nn_conv2d(void)
{
    /* B, C, H, W, O, k, stride, pad */
    /* the last: 3 x 3 same on 11 x 13, 9 -> 8 channels, takes Winograd */
    int cfg[][8] = { { 2, 3, 7, 6, 4, 3, 1, 1 }, { 2, 2, 8, 8, 3, 3, 2, 1 },
                     { 1, 5, 4, 5, 2, 1, 1, 0 }, { 3, 1, 5, 5, 2, 3, 2, 1 },
                     { 2, 9, 11, 13, 8, 3, 1, 1 } };
    for (size_t s = 0; s < sizeof cfg / sizeof *cfg; s++) {
        int B = cfg[s][0], C = cfg[s][1], H = cfg[s][2], W = cfg[s][3], O = cfg[s][4];
        int k = cfg[s][5], st = cfg[s][6], pad = cfg[s][7];
        int Ho = nn_conv_out(H, k, st, pad), Wo = nn_conv_out(W, k, st, pad);
        size_t nin = (size_t)B * C * H * W, nw = (size_t)O * C * k * k, nout = (size_t)B * O * Ho * Wo;
        float *x = malloc(4 * nin), *w = malloc(4 * nw), *b = malloc(4 * (size_t)O);
        float *y = malloc(4 * nout), *yr = malloc(4 * nout), *c = malloc(4 * nout);
        float *ws = malloc(4 * nn_conv2d_workspace(B, C, H, W, O, k, st, pad));
        float *dx = calloc(nin, 4), *dw = calloc(nw, 4), *db = calloc((size_t)O, 4);
        fill(x, nin, 20, 1), fill(w, nw, 21, 0.5), fill(b, (size_t)O, 22, 0.5), fill(c, nout, 23, 1);
        nn_conv2d_forward(y, ws, x, w, b, B, C, H, W, O, k, st, pad);
        nn_conv2d_forward_ref(yr, x, w, b, B, C, H, W, O, k, st, pad);
        /* Winograd's (3 x 3 same, from 8 channels): of the output's scale */
        int wino = k == 3 && st == 1 && pad == 1 && C >= 8;
        CHECK((wino ? scale_rel(y, yr, nout) : max_rel(y, yr, nout)) < 1e-5);
        nn_conv2d_backward(dx, dw, db, ws, c, x, w, B, C, H, W, O, k, st, pad);
        /* The loss is linear in each input, so central differences are
         * exact but for rounding. */
        float *vars[3] = { x, w, b }, *grads[3] = { dx, dw, db };
        size_t sizes[3] = { nin, nw, (size_t)O };
        for (int v = 0; v < 3; v++)
            for (size_t i = 0; i < sizes[v]; i++) {
                float keep = vars[v][i];
                vars[v][i] = keep + 0.5f;
                nn_conv2d_forward_ref(yr, x, w, b, B, C, H, W, O, k, st, pad);
                double lp = dot(c, yr, nout);
                vars[v][i] = keep - 0.5f;
                nn_conv2d_forward_ref(yr, x, w, b, B, C, H, W, O, k, st, pad);
                double lm = dot(c, yr, nout);
                vars[v][i] = keep;
                CHECK_NEAR(grads[v][i], (lp - lm) / 1.0, 1e-4);
            }
        free(x), free(w), free(b), free(y), free(yr), free(c), free(ws), free(dx), free(dw), free(db);
    }
}

/* A large image: Winograd's calls take fewer images (here 2 and 1 of a
 * group of 3, the weight gradient added up over the calls).  Against the
 * definition: the output, the weight gradient by a direct sum in double,
 * the input's by the convolution of the output's gradient with the
 * flipped, transposed kernel, the bias's by sums; the bytes the same on 1
 * and 2 threads. */
void test_nn_conv2d_large(void)
{
    enum { B = 3, C = 16, H = 150, W = 150, O = 16 };
    size_t nin = (size_t)B * C * H * W, nw = (size_t)O * C * 9, nout = (size_t)B * O * H * W;
    float *x = malloc(4 * nin), *w = malloc(4 * nw), *b = malloc(4 * O), *c = malloc(4 * nout);
    float *yr = malloc(4 * nout), *wf = malloc(4 * nw), *zero = calloc(C, 4);
    float *dxr = malloc(4 * nin), *dwr = malloc(4 * nw);
    double *dwd = calloc(nw, sizeof(double));
    float *ws = malloc(4 * nn_conv2d_workspace(B, C, H, W, O, 3, 1, 1));
    float *y[2], *dx[2], *dw[2], *db[2];
    fill(x, nin, 90, 1), fill(w, nw, 91, 0.5), fill(b, O, 92, 0.5), fill(c, nout, 93, 1);
    for (int t = 0; t < 2; t++) {
        nn_set_threads(t + 1);
        y[t] = malloc(4 * nout), dx[t] = calloc(nin, 4), dw[t] = calloc(nw, 4);
        db[t] = calloc(O, 4);
        nn_conv2d_forward(y[t], ws, x, w, b, B, C, H, W, O, 3, 1, 1);
        nn_conv2d_backward(dx[t], dw[t], db[t], ws, c, x, w, B, C, H, W, O, 3, 1, 1);
    }
    nn_set_threads(1);
    CHECK(!memcmp(y[0], y[1], 4 * nout) && !memcmp(dx[0], dx[1], 4 * nin));
    CHECK(!memcmp(dw[0], dw[1], 4 * nw) && !memcmp(db[0], db[1], 4 * O));
    nn_conv2d_forward_ref(yr, x, w, b, B, C, H, W, O, 3, 1, 1);
    /* wf[c][o][ky][kx] = w[o][c][2 - ky][2 - kx] */
    for (int o = 0; o < O; o++)
        for (int ch = 0; ch < C; ch++)
            for (int k = 0; k < 9; k++)
                wf[((size_t)ch * O + o) * 9 + k] = w[((size_t)o * C + ch) * 9 + 8 - k];
    nn_conv2d_forward_ref(dxr, c, wf, zero, B, O, H, W, C, 3, 1, 1);
    conv3_dw_ref(dwd, x, c, B, C, H, W, O);
    for (size_t k = 0; k < nw; k++)
        dwr[k] = (float)dwd[k];
    double ey = scale_rel(y[0], yr, nout), ex = scale_rel(dx[0], dxr, nin);
    double ew = scale_rel(dw[0], dwr, nw);
    fprintf(stderr, "  conv 150x150 (Winograd, 2 + 1 images a call): y %.2g, dx %.2g, dw %.2g\n",
            ey, ex, ew);
    CHECK(ey < 1e-5 && ex < 1e-5 && ew < 1e-5);
    for (int o = 0; o < O; o++) {
        double sum = 0;
        for (int i = 0; i < B; i++)
            for (int p = 0; p < H * W; p++)
                sum += c[((size_t)i * O + o) * H * W + (size_t)p];
        CHECK_NEAR(db[0][o], sum, 1e-5 * (1 + fabs(sum)));
    }
    for (int t = 0; t < 2; t++)
        free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
    free(x), free(w), free(b), free(c), free(yr), free(wf), free(zero), free(dxr), free(dwr);
    free(dwd), free(ws);
}

/* nn_conv2d_forward_ex gives the bits of the convolution, then the
 * per-sample bias, then the residual added in separate passes, on every
 * path: Winograd (3x3 same), batched small outputs (stride 2), pointwise,
 * im2col per sample (5x5); B = 11: a partial group.  And
 * nn_conv2d_backward_set sets what nn_conv2d_backward adds. */
void test_nn_conv_plus(void)
{
    enum { B = 11, C = 9, H = 8, W = 9, O = 5 };
    int kinds[][3] = { { 3, 1, 1 }, { 3, 2, 1 }, { 1, 1, 0 }, { 5, 1, 2 } };  /* k stride pad */
    for (int s = 0; s < 4; s++) {
        int k = kinds[s][0], st = kinds[s][1], pad = kinds[s][2];
        int Ho = nn_conv_out(H, k, st, pad), Wo = nn_conv_out(W, k, st, pad);
        size_t no = (size_t)B * O * Ho * Wo, ni = (size_t)B * C * H * W;
        float *x = malloc(4 * ni), *w = malloc(4 * O * C * k * k), b[O], sb[B * O];
        float *res = malloc(4 * no), *y = malloc(4 * no), *z = malloc(4 * no);
        float *ws = malloc(4 * nn_conv2d_workspace(B, C, H, W, O, k, st, pad));
        fill(x, ni, 90, 1), fill(w, (size_t)O * C * k * k, 91, 0.5), fill(b, O, 92, 1);
        fill(sb, B * O, 93, 1), fill(res, no, 94, 1);
        nn_conv2d_forward(y, ws, x, w, b, B, C, H, W, O, k, st, pad);
        for (size_t i = 0; i < no; i++)
            y[i] += sb[i / ((size_t)Ho * Wo)];
        for (size_t i = 0; i < no; i++)
            y[i] += res[i];
        nn_conv_extra both = { .sb = sb, .res = res }, r = { .res = res }, q = { .sb = sb };
        nn_conv2d_forward_ex(z, ws, x, w, b, &both, B, C, H, W, O, k, st, pad);
        CHECK(memcmp(y, z, 4 * no) == 0);
        /* each term alone */
        nn_conv2d_forward(y, ws, x, w, b, B, C, H, W, O, k, st, pad);
        for (size_t i = 0; i < no; i++)
            y[i] += res[i];
        nn_conv2d_forward_ex(z, ws, x, w, b, &r, B, C, H, W, O, k, st, pad);
        CHECK(memcmp(y, z, 4 * no) == 0);
        nn_conv2d_forward(y, ws, x, w, b, B, C, H, W, O, k, st, pad);
        for (size_t i = 0; i < no; i++)
            y[i] += sb[i / ((size_t)Ho * Wo)];
        nn_conv2d_forward_ex(z, ws, x, w, b, &q, B, C, H, W, O, k, st, pad);
        CHECK(memcmp(y, z, 4 * no) == 0);
        /* backward_set: what backward adds to zeros, over garbage */
        float *dx = calloc(ni, 4), *dxs = malloc(4 * ni), dw[2][O * C * 25] = { { 0 } };
        float db[2][O] = { { 0 } };
        for (size_t i = 0; i < ni; i++)
            dxs[i] = NAN;
        nn_conv2d_backward(dx, dw[0], db[0], ws, res, x, w, B, C, H, W, O, k, st, pad);
        nn_conv2d_backward_set(dxs, dw[1], db[1], ws, res, x, w, B, C, H, W, O, k, st, pad);
        CHECK(memcmp(dx, dxs, 4 * ni) == 0 && memcmp(dw, dw + 1, sizeof dw[0]) == 0 &&
              memcmp(db, db + 1, sizeof db[0]) == 0);
        free(dx), free(dxs);
        free(x), free(w), free(res), free(y), free(z), free(ws);
    }
}

void test_nn_groupnorm(void)
{
    enum { B = 2, C = 6, N = 10, G = 3 };
    float x[B * C * N], gm[C], bt[C], y[B * C * N], c[B * C * N], mean[B * G], rstd[B * G];
    float dx[B * C * N] = { 0 }, dg[C] = { 0 }, dbt[C] = { 0 };
    fill(x, B * C * N, 30, 2), fill(gm, C, 31, 1), fill(bt, C, 32, 1), fill(c, B * C * N, 33, 1);
    nn_groupnorm_forward(y, mean, rstd, x, gm, bt, B, C, N, G);
    /* each group's normalised values have mean 0 and variance 1 - eps-ish */
    for (int i = 0; i < B; i++)
        for (int g = 0; g < G; g++) {
            double s = 0, s2 = 0;
            for (int j = 0; j < 2 * N; j++) {
                int ch = g * 2 + j / N;
                double z = (y[(i * C + ch) * N + j % N] - bt[ch]) / gm[ch];
                s += z, s2 += z * z;
            }
            CHECK(fabs(s / (2 * N)) < 1e-5);
            CHECK(fabs(s2 / (2 * N) - 1) < 1e-3);
        }
    /* The statistics of a group far from 0 against long double: 1000 +
     * 0.01 z, its first value (the one-pass sums' shift) an outlier. */
    float far[B * C * N], yf[B * C * N], mf[B * G], rf[B * G];
    for (int i = 0; i < B * C * N; i++)
        far[i] = 1000.0f + 0.01f * x[i];
    far[0] = 1000.5f;
    nn_groupnorm_forward(yf, mf, rf, far, gm, bt, B, C, N, G);
    for (int q = 0; q < B * G; q++) {
        long double s = 0, s2 = 0;
        for (int k = 0; k < 2 * N; k++)
            s += far[q * 2 * N + k];
        s /= 2 * N;
        for (int k = 0; k < 2 * N; k++)
            s2 += (far[q * 2 * N + k] - s) * (far[q * 2 * N + k] - s);
        double r = (double)(1 / sqrtl(s2 / (2 * N) + 1e-5L));
        CHECK_NEAR(mf[q], (double)s, 1e-4);
        CHECK_NEAR(rf[q], r, 1e-5 * r);
    }
    nn_groupnorm_backward(dx, dg, dbt, c, x, gm, mean, rstd, B, C, N, G);
    {   /* the set variant over garbage: the same bits as adding to zeros */
        float dxs[B * C * N], dgs[C] = { 0 }, dbs[C] = { 0 };
        for (int i = 0; i < B * C * N; i++)
            dxs[i] = NAN;
        nn_groupnorm_backward_set(dxs, dgs, dbs, c, x, gm, mean, rstd, B, C, N, G);
        CHECK(memcmp(dxs, dx, sizeof dxs) == 0 && memcmp(dgs, dg, sizeof dgs) == 0 &&
              memcmp(dbs, dbt, sizeof dbs) == 0);
    }
    float *vars[3] = { x, gm, bt }, *grads[3] = { dx, dg, dbt };
    int sizes[3] = { B * C * N, C, C };
    int bad = 0;
    for (int v = 0; v < 3; v++)
        for (int i = 0; i < sizes[v]; i++) {
            float keep = vars[v][i];
            const float h = 1e-2f;
            vars[v][i] = keep + h;
            nn_groupnorm_forward(y, mean, rstd, x, gm, bt, B, C, N, G);
            double lp = dot(c, y, B * C * N);
            vars[v][i] = keep - h;
            nn_groupnorm_forward(y, mean, rstd, x, gm, bt, B, C, N, G);
            double lm = dot(c, y, B * C * N);
            vars[v][i] = keep;
            double fd = (lp - lm) / (2 * h);
            bad += fabs(fd - grads[v][i]) > 2e-2 * fmax(1, fabs(fd));
        }
    CHECK(bad == 0);
}

void test_nn_upsample_concat(void)
{
    /* The join is linear: its backward pass must be the adjoint of the
     * forward one, <f(a, b), g> = <a, da> + <b, db>, for random a, b, g;
     * and its values are the upsampled a, then b, sample by sample: for
     * images (rows 2) and signals (rows 1, H = 1). */
    enum { B = 2, Ca = 3, Cb = 2, H = 4, W = 5, NO = B * (Ca + Cb) * 4 * H * W };
    for (int rows = 1; rows <= 2; rows++) {
        int h = rows == 2 ? H : 1, P = rows * h * 2 * W;   /* an output plane */
        int na = B * Ca * h * W, nb = B * Cb * P, no = B * (Ca + Cb) * P;
        float a[B * Ca * H * W], b[B * Cb * 4 * H * W], out[NO], g[NO];
        float da[B * Ca * H * W] = { 0 }, db[B * Cb * 4 * H * W] = { 0 };
        fill(a, (size_t)na, 40, 1), fill(b, (size_t)nb, 41, 1), fill(g, (size_t)no, 42, 1);
        nn_upcat_forward(out, a, b, B, Ca, Cb, h, W, rows);
        nn_upcat_backward(da, db, g, B, Ca, Cb, h, W, rows);
        CHECK_NEAR(dot(g, out, (size_t)no), dot(da, a, (size_t)na) + dot(db, b, (size_t)nb), 1e-5);
        int bad = 0;
        for (int i = 0; i < B; i++)
            for (int c = 0; c < Ca + Cb; c++)
                for (int y = 0; y < rows * h; y++)
                    for (int x = 0; x < 2 * W; x++) {
                        float v = out[((i * (Ca + Cb) + c) * rows * h + y) * 2 * W + x];
                        float want = c < Ca ? a[((i * Ca + c) * h + y / rows) * W + x / 2]
                                            : b[((i * Cb + c - Ca) * rows * h + y) * 2 * W + x];
                        bad += v != want;
                    }
        CHECK(bad == 0);
    }
}

/* Convolutions split the batch over threads; the bytes must not move. */
void test_nn_conv2d_threads(void)
{
    /* k, stride, pad, B, C, H, W, O; the last takes Winograd */
    int cfg[][8] = { { 3, 1, 1, 20, 5, 8, 6, 7 }, { 3, 2, 1, 17, 4, 8, 6, 7 },
                     { 1, 1, 0, 9, 6, 8, 6, 7 }, { 3, 1, 1, 19, 8, 12, 11, 9 } };
    for (size_t s = 0; s < sizeof cfg / sizeof *cfg; s++) {
        int k = cfg[s][0], st = cfg[s][1], pad = cfg[s][2], B = cfg[s][3], C = cfg[s][4];
        int H = cfg[s][5], W = cfg[s][6], O = cfg[s][7];
        int Ho = nn_conv_out(H, k, st, pad), Wo = nn_conv_out(W, k, st, pad);
        size_t nin = (size_t)B * C * H * W, nw = (size_t)O * C * k * k, nout = (size_t)B * O * Ho * Wo;
        float *x = malloc(4 * nin), *w = malloc(4 * nw), *b = malloc(4 * (size_t)O);
        float *c = malloc(4 * nout), *ws = malloc(4 * nn_conv2d_workspace(B, C, H, W, O, k, st, pad));
        float *y[2], *dx[2], *dw[2], *db[2];
        fill(x, nin, 30, 1), fill(w, nw, 31, 0.5), fill(b, (size_t)O, 32, 0.5), fill(c, nout, 33, 1);
        for (int t = 0; t < 2; t++) {
            nn_set_threads(t + 1);
            y[t] = malloc(4 * nout), dx[t] = calloc(nin, 4), dw[t] = calloc(nw, 4);
            db[t] = calloc((size_t)O, 4);
            nn_conv2d_forward(y[t], ws, x, w, b, B, C, H, W, O, k, st, pad);
            nn_conv2d_backward(dx[t], dw[t], db[t], ws, c, x, w, B, C, H, W, O, k, st, pad);
        }
        nn_set_threads(1);
        float *yr = malloc(4 * nout);
        nn_conv2d_forward_ref(yr, x, w, b, B, C, H, W, O, k, st, pad);
        int wino = k == 3 && st == 1 && pad == 1 && C >= 8;    /* as in test_nn_conv2d */
        CHECK((wino ? scale_rel(y[0], yr, nout) : max_rel(y[0], yr, nout)) < 1e-5);
        CHECK(!memcmp(y[0], y[1], 4 * nout) && !memcmp(dx[0], dx[1], 4 * nin));
        CHECK(!memcmp(dw[0], dw[1], 4 * nw) && !memcmp(db[0], db[1], 4 * (size_t)O));
        for (int t = 0; t < 2; t++)
            free(y[t]), free(dx[t]), free(dw[t]), free(db[t]);
        free(x), free(w), free(b), free(c), free(ws), free(yr);
    }
}

/* The SiLU's derivative at each level the CPU runs: the portable bits,
 * zeros among the inputs (s = 1/2 there) and a scalar tail included; and
 * the portable one against its definition from the logistic function. */
void test_simd_silu_grad_levels(void)
{
    enum { N = 1003 };
    float *x = malloc(4 * N), *y = malloc(4 * N), *g = malloc(4 * N), *d[SIMD_COUNT];
    fill(x, N, 70, 4), fill(g, N, 71, 1);
    for (int i = 0; i < N; i += 7)
        x[i] = 0;
    simd_silu(y, x, N);
    for (int l = 0; l < SIMD_COUNT; l++) {
        d[l] = malloc(4 * N);
        fill(d[l], N, 72, 1);
        if (!simd_supported(l))
            continue;
        simd_silu_grad_at(l, d[l], g, x, y, N);
        CHECK(!memcmp(d[l], d[0], 4 * N));
    }
    for (int i = 0; i < N; i++) {    /* set, whatever d held (fill 72) */
        double s = 1 / (1 + exp(-(double)x[i]));
        CHECK_NEAR(d[0][i], g[i] * (s + x[i] * s * (1 - s)), 1e-5);
    }
    for (int l = 0; l < SIMD_COUNT; l++)
        free(d[l]);
    free(x), free(y), free(g);
}

/* The 32-chain sums at each level the CPU runs: the portable bits, and
 * the portable ones against plain sums in long double, for lengths with
 * and without a tail; the one-pass moments against the two sums. */
void test_sum_levels(void)
{
    enum { N = 4099 };
    float *x = malloc(4 * N), *y = malloc(4 * N);
    fill(x, N, 80, 3), fill(y, N, 81, 1);
    size_t lens[] = { 0, 5, 8, 1000, N };
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        size_t n = lens[k];
        long double s = 0, sq = 0, d = 0;
        for (size_t i = 0; i < n; i++) {
            s += (long double)x[i] - 0.25L;
            sq += ((long double)x[i] - 0.25L) * ((long double)x[i] - 0.25L);
            d += (long double)x[i] * y[i];
        }
        double f = sum_f32_at(SIMD_PORTABLE, x, n, 0.25, 0);
        double q = sum_f32_at(SIMD_PORTABLE, x, n, 0.25, 1);
        double p = sum_dot_at(SIMD_PORTABLE, x, y, n);
        CHECK_NEAR(f, (double)s, 1e-12);
        CHECK_NEAR(q, (double)sq, 1e-12);
        CHECK_NEAR(p, (double)d, 1e-12);
        for (int l = 1; l < SIMD_COUNT; l++) {
            if (!simd_supported(l))
                continue;
            CHECK(sum_f32_at(l, x, n, 0.25, 0) == f && sum_f32_at(l, x, n, 0.25, 1) == q);
            CHECK(sum_dot_at(l, x, y, n) == p);
        }
        /* both moments in one pass: the two sums' bits, at every level */
        for (int l = 0; l < SIMD_COUNT; l++) {
            double s1 = -1, s2 = -1;
            sum_moments_at(l, x, n, 0.25, &s1, &s2);
            CHECK(s1 == f && s2 == q);
        }
    }
    free(x), free(y);
}

/* Winograd's loops at each level the CPU runs give the portable one's
 * bits (they only add, subtract and scale by constants), and the portable
 * one is the convolution's definition, for odd and even sizes, one image
 * and several side by side: the output, and the weight gradient against
 * the direct sum over pixels.  Tolerance: wino.h's error bound, 1e-5 of
 * the output's scale (inputs of scale 1, weights of 0.5). */
void test_wino_levels(void)
{
    /* n C H W O; widths 4 m - 1 (7, 11, 3) put the images' paddings on one
     * column, the last tile of one image reading the next */
    int sizes[][5] = { { 1, 3, 13, 13, 5 }, { 3, 4, 14, 17, 6 }, { 2, 2, 28, 28, 3 },
                       { 2, 32, 16, 16, 8 }, { 1, 5, 7, 7, 4 }, { 2, 3, 3, 5, 2 },
                       { 3, 4, 7, 7, 5 }, { 4, 3, 9, 11, 2 }, { 3, 2, 5, 3, 3 } };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s][0], C = sizes[s][1], H = sizes[s][2], W = sizes[s][3], O = sizes[s][4];
        size_t nx = (size_t)n * C * H * W, ny = (size_t)n * O * H * W, nw = (size_t)O * C * 9;
        size_t nu = wino_kernel_size(O, C);
        float *x = malloc(4 * nx), *w = malloc(4 * nw), *u = malloc(4 * nu);
        float *dy = malloc(4 * ny), *ref = malloc(4 * ny), *zero = calloc((size_t)O, 4);
        float *scratch = malloc(4 * wino_scratch(n, C, H, W, O)), *y[SIMD_COUNT], *dw[SIMD_COUNT];
        float *du = malloc(4 * nu);
        double *dwr = calloc(nw, sizeof(double));
        fill(x, nx, 50, 1), fill(w, nw, 51, 0.5), fill(dy, ny, 52, 1);
        wino_kernels(u, w, O, C);
        nn_conv2d_forward_ref(ref, x, w, zero, n, C, H, W, O, 3, 1, 1);
        conv3_dw_ref(dwr, x, dy, n, C, H, W, O);
        float *dwf = malloc(4 * nw);
        for (size_t k = 0; k < nw; k++)
            dwf[k] = (float)dwr[k];
        for (int l = 0; l < SIMD_COUNT; l++) {
            y[l] = calloc(ny, 4), dw[l] = calloc(nw, 4);
            if (!simd_supported(l))
                continue;
            wino_conv_at(l, y[l], scratch, x, NULL, u, NULL, n, C, H, W, O);
            fill(du, nu, 53, 1);    /* overwritten */
            wino_grad_at(l, du, scratch, x, dy, 0, n, C, H, W, O);
            wino_kernels_adjoint(dw[l], du, O, C);
            CHECK(!memcmp(y[l], y[0], 4 * ny) && !memcmp(dw[l], dw[0], 4 * nw));
        }
        double ey = scale_rel(y[0], ref, ny), eg = scale_rel(dw[0], dwf, nw);
        fprintf(stderr, "  wino n=%d C=%d %dx%d: y error %.2g, dw error %.2g of the scale\n", n, C,
                H, W, ey, eg);
        CHECK(ey < 1e-5 && eg < 1e-5);
        for (int l = 0; l < SIMD_COUNT; l++)
            free(y[l]), free(dw[l]);
        free(x), free(w), free(u), free(dy), free(ref), free(zero), free(scratch), free(du);
        free(dwr), free(dwf);
    }
}

/* Each SiLU kernel the CPU runs against the portable one (libm's expf):
 * over the whole useful range, the extremes, and lengths that leave
 * tails; and a value's bits do not depend on where it sits. */
void test_simd_silu_levels(void)
{
    enum { N = 4099 };
    float *x = malloc(4 * N), *ref = malloc(4 * N), *y = malloc(4 * N);
    for (int i = 0; i < N; i++)
        x[i] = -100.0f + 200.0f * (float)i / (N - 1);
    x[0] = -1e30f, x[1] = 1e30f, x[2] = 0.0f, x[3] = -0.0f, x[4] = 1e-30f, x[5] = -87.5f;
    simd_silu_at(SIMD_PORTABLE, ref, x, N);
    int tested = 0;
    for (int l = 0; l < SIMD_COUNT; l++) {
        if (!simd_supported(l))
            continue;
        tested++;
        simd_silu_at(l, y, x, N);
        double worst = 0;
        for (int i = 0; i < N; i++) {
            /* relative, but for results that are 0 to within 1e-30 */
            double d = fabs((double)y[i] - ref[i]) / fmax(1e-24, fabs((double)ref[i]));
            worst = fmax(worst, d);
        }
        fprintf(stderr, "  silu %s: worst relative error %.2g\n", simd_name(l), worst);
        CHECK(worst < 1e-6);
        CHECK(isfinite(y[0]) && isfinite(y[1]) && y[1] == 1e30f);
        /* each value's bits wherever it sits: pieces of every length from
         * every offset give the whole call's */
        float piece[40];
        for (int off = 0; off < 40; off++)
            for (int len = 1; len <= 33; len++) {
                simd_silu_at(l, piece, x + 1000 + off, (size_t)len);
                CHECK(memcmp(piece, y + 1000 + off, sizeof(float) * (size_t)len) == 0);
            }
    }
    CHECK(tested >= 1 && simd_level() >= 0 && simd_level() < SIMD_COUNT);
    free(x), free(ref), free(y);
}

/* conv1d against its definition and central differences (the loss is
 * linear in each input, so they are exact but for rounding). */
void test_nn_conv1d(void)
{
    int cfg[][6] = { { 3, 2, 9, 4, 3, 1 }, { 2, 3, 8, 2, 3, 2 }, { 9, 2, 5, 3, 1, 1 } };
    for (size_t s = 0; s < sizeof cfg / sizeof *cfg; s++) {
        int B = cfg[s][0], C = cfg[s][1], L = cfg[s][2], O = cfg[s][3], k = cfg[s][4];
        int st = cfg[s][5], pad = k / 2, Lo = nn_conv_out(L, k, st, pad);
        size_t nin = (size_t)B * C * L, nw = (size_t)O * C * k, nout = (size_t)B * O * Lo;
        float *x = malloc(4 * nin), *w = malloc(4 * nw), *b = malloc(4 * (size_t)O);
        float *y = malloc(4 * nout), *yr = malloc(4 * nout), *c = malloc(4 * nout);
        float *ws = malloc(4 * nn_conv1d_workspace(B, C, L, O, k, st, pad));
        float *dx = calloc(nin, 4), *dw = calloc(nw, 4), *db = calloc((size_t)O, 4);
        fill(x, nin, 40, 1), fill(w, nw, 41, 0.5), fill(b, (size_t)O, 42, 0.5), fill(c, nout, 43, 1);
        nn_conv1d_forward(y, ws, x, w, b, B, C, L, O, k, st, pad);
        nn_conv1d_forward_ref(yr, x, w, b, B, C, L, O, k, st, pad);
        CHECK(max_rel(y, yr, nout) < 1e-5);
        nn_conv1d_backward(dx, dw, db, ws, c, x, w, B, C, L, O, k, st, pad);
        float *vars[3] = { x, w, b }, *grads[3] = { dx, dw, db };
        size_t sizes[3] = { nin, nw, (size_t)O };
        double worst = 0;
        for (int v = 0; v < 3; v++)
            for (size_t i = 0; i < sizes[v]; i++) {
                float keep = vars[v][i];
                vars[v][i] = keep + 0.5f;
                nn_conv1d_forward_ref(yr, x, w, b, B, C, L, O, k, st, pad);
                double lp = dot(c, yr, nout);
                vars[v][i] = keep - 0.5f;
                nn_conv1d_forward_ref(yr, x, w, b, B, C, L, O, k, st, pad);
                double lm = dot(c, yr, nout);
                vars[v][i] = keep;
                double fd = lp - lm;
                worst = fmax(worst, fabs(fd - grads[v][i]) / fmax(1, fabs(fd)));
            }
        CHECK(worst < 1e-4);
        free(x), free(w), free(b), free(y), free(yr), free(c), free(ws), free(dx), free(dw), free(db);
    }
}
