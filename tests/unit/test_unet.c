/* test_unet.c - the U-Net: an untrained one outputs zero; its gradient,
 * with every side input live, against central differences; UNet-S has
 * the reference's parameter count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/rng.h"
#include "nn/nn.h"
#include "nn/unet.h"

static void fill(float *x, size_t n, uint32_t stream, double scale)
{
    rng_t r;
    rng_init(&r, 43, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
}

/* 0.5 sum c out^2, in double. */
static double loss(unet *u, const float *x, const float *cond, const float *t,
                   const float *c, int B, float *out, size_t n)
{
    unet_forward(u, out, x, cond, t, B);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += 0.5 * c[i] * (double)out[i] * out[i];
    return s;
}

/* Central differences on every parameter of a small U-Net with every
 * kind of block (skip convolution and identity), side channels, side
 * scalars and two heads. */
static void check_gradient(const unet_config *cfg, const char *what)
{
    unet u;
    CHECK(unet_init(&u, cfg, 5) == 0);
    enum { B = 3 };
    size_t N = (size_t)cfg->H * (size_t)cfg->W;
    size_t nx = (size_t)B * (size_t)cfg->C * N, nc = (size_t)B * ((size_t)cfg->E * N + (size_t)cfg->S);
    size_t no = (size_t)cfg->heads * nx;
    float *x = malloc(4 * nx), *cond = malloc(4 * nc), *c = malloc(4 * no);
    float *out = malloc(4 * no), *dout = malloc(4 * no);
    float t[B] = { 0.1f, 0.5f, 0.8f };
    fill(x, nx, 1, 1), fill(cond, nc, 2, 1), fill(c, no, 3, 1);
    unet_forward(&u, out, x, cond, t, B);
    int zero = 1;
    for (size_t i = 0; i < no; i++)
        zero &= out[i] == 0;
    CHECK(zero);        /* the zero output layer: an identity transport */
    /* Every parameter live (GroupNorm's too, so its gradients are not
     * trivially those of 1 and 0). */
    fill(u.params, u.nparams, 4, 0.3);
    loss(&u, x, cond, t, c, B, out, no);
    for (size_t i = 0; i < no; i++)
        dout[i] = c[i] * out[i];
    memset(u.grads, 0, 4 * u.nparams);
    unet_backward(&u, dout, B);
    int bad = 0, tried = 0;
    double worst = 0;
    for (size_t i = 0; i < u.nparams; i++) {
        float keep = u.params[i];
        const float h = 1e-2f;
        u.params[i] = keep + h;
        double lp = loss(&u, x, cond, t, c, B, out, no);
        u.params[i] = keep - h;
        double lm = loss(&u, x, cond, t, c, B, out, no);
        u.params[i] = keep;
        double fd = (lp - lm) / (2 * h), an = u.grads[i];
        double err = fabs(fd - an) / fmax(1e-1, fabs(fd));
        worst = fmax(worst, err);
        bad += err > 2e-2;
        tried++;
    }
    fprintf(stderr, "  %s: %d of %d gradients off, worst relative error %.2g\n", what, bad,
            tried, worst);
    CHECK(bad == 0);
    /* The input's gradient (guidance's), against central differences on
     * every value of x; the parameter gradients it also adds are those of
     * unet_backward. */
    float *dx = malloc(4 * nx), *g0 = malloc(4 * u.nparams);
    memcpy(g0, u.grads, 4 * u.nparams);
    loss(&u, x, cond, t, c, B, out, no);
    memset(u.grads, 0, 4 * u.nparams);
    unet_backward_dx(&u, dout, dx, B);
    CHECK(memcmp(g0, u.grads, 4 * u.nparams) == 0);
    bad = 0, worst = 0;
    for (size_t i = 0; i < nx; i++) {
        float keep = x[i];
        const float h = 1e-2f;
        x[i] = keep + h;
        double lp = loss(&u, x, cond, t, c, B, out, no);
        x[i] = keep - h;
        double lm = loss(&u, x, cond, t, c, B, out, no);
        x[i] = keep;
        double fd = (lp - lm) / (2 * h);
        double err = fabs(fd - dx[i]) / fmax(1e-1, fabs(fd));
        worst = fmax(worst, err);
        bad += err > 2e-2;
    }
    fprintf(stderr, "  %s: %d of %zu input gradients off, worst relative error %.2g\n", what,
            bad, nx, worst);
    CHECK(bad == 0);
    free(dx), free(g0);
    free(x), free(cond), free(c), free(out), free(dout);
    unet_free(&u);
}

void test_unet_gradient_finite_difference(void)
{
    unet_config cfg = { .C = 2, .H = 8, .W = 4, .E = 1, .S = 2, .heads = 2, .levels = 2,
                        .width = { 4, 8 }, .nmid = 1, .temb = 8, .groups = 2 };
    check_gradient(&cfg, "U-Net");
    cfg.E = 0, cfg.S = 0;       /* the input convolution reads x alone */
    check_gradient(&cfg, "U-Net without side inputs");
}

/* H = 1: the 1-D U-Net of signals, conv1d all through. */
void test_unet1d_gradient_finite_difference(void)
{
    unet_config cfg = { .C = 2, .H = 1, .W = 16, .E = 1, .S = 1, .heads = 2, .levels = 2,
                        .width = { 4, 8 }, .nmid = 1, .temb = 8, .groups = 2 };
    check_gradient(&cfg, "1-D U-Net");
    unet u;
    CHECK(unet_init(&u, &cfg, 1) == 0);
    /* 3-tap kernels: the parameters of the 2-D net's 3 x 3 ones, a third */
    size_t n1 = u.nparams;
    unet_free(&u);
    cfg.H = 4;
    CHECK(unet_init(&u, &cfg, 1) == 0);
    CHECK(u.nparams > n1);
    unet_free(&u);
    cfg.H = 1, cfg.W = 18;      /* not divisible by 4 */
    CHECK(unet_init(&u, &cfg, 1) < 0);
}

void test_unet_small_shape(void)
{
    /* UNet-S for 28 x 28 x 1: PyTorch counts 497,474 parameters
     * (sum(p.numel()) of torch_ref.py's UNetS(1)). */
    unet_config c = unet_small(1, 28, 28);
    unet u;
    CHECK(unet_init(&u, &c, 1) == 0);
    fprintf(stderr, "  UNet-S 28x28x1: %zu parameters\n", u.nparams);
    CHECK(u.nparams == 497474);
    unet_free(&u);
    c.H = 30;           /* not divisible by 4 */
    CHECK(unet_init(&u, &c, 1) < 0);
}

/* unet_infer gives unet_forward's bits, with the GroupNorms read through
 * by Winograd's convolutions (28, 14 and 7 pixels wide, 8 and 16
 * channels: all of them but the stride-2 and 1 x 1 ones) and every side
 * input live, on one thread and two, for a batch with a partial group. */
void test_unet_infer_bits(void)
{
    unet_config c = { .C = 1, .H = 28, .W = 28, .E = 1, .S = 1, .heads = 2, .levels = 2,
                      .width = { 8, 16 }, .nmid = 1, .temb = 16, .groups = 4 };
    enum { B = 11 };
    unet u;
    CHECK(unet_init(&u, &c, 3) == 0);
    CHECK(nn_conv2d_reads_affine(8, 28, 28, 8, 3, 1, 1) && nn_conv2d_reads_affine(16, 7, 7, 16, 3, 1, 1));
    fill(u.params, u.nparams, 60, 0.3);     /* the zero output convolution too */
    size_t nx = (size_t)B * 28 * 28, no = 2 * nx, nc = (size_t)B * (28 * 28 + 1);
    float *x = malloc(4 * nx), *cond = malloc(4 * nc), t[B];
    float *a = malloc(4 * no), *b = malloc(4 * no);
    fill(x, nx, 61, 1), fill(cond, nc, 62, 1);
    for (int i = 0; i < B; i++)
        t[i] = (float)(i + 1) / (B + 2);
    for (int th = 1; th <= 2; th++) {
        nn_set_threads(th);
        CHECK(unet_forward(&u, a, x, cond, t, B) == 0);
        CHECK(unet_infer(&u, b, x, cond, t, B) == 0);
        CHECK(memcmp(a, b, 4 * no) == 0);
    }
    double s = 0;
    for (size_t i = 0; i < no; i++)
        s += fabs(a[i]);
    CHECK(s > 0.01 * (double)no);       /* a live output */
    nn_set_threads(1);
    unet_free(&u);
    free(x), free(cond), free(a), free(b);
}
