/* test_cnn.c - the classifier: softmax cross-entropy against its
 * definition and central differences, stable at huge logits; the
 * network's gradient, every parameter, against central differences; its
 * features are what the logits are made from; the default's size is
 * PyTorch's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/rng.h"
#include "nn/cnn.h"
#include "nn/nn.h"

static void fill(float *x, size_t n, uint32_t stream, double scale)
{
    rng_t r;
    rng_init(&r, 44, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
}

void test_nn_softmax_xent(void)
{
    enum { B = 4, K = 5 };
    float z[B * K], dz[B * K];
    int32_t y[B] = { 0, 4, 2, 2 };
    double per[B];
    fill(z, B * K, 1, 2);
    double loss = nn_softmax_xent(dz, per, z, y, B, K);
    /* the definition, naively in double */
    double want = 0;
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += exp(z[i * K + k]);
        double li = log(s) - z[i * K + y[i]];
        CHECK_NEAR(per[i], li, 1e-12);
        want += li / B;
    }
    CHECK_NEAR(loss, want, 1e-12);
    /* the gradient against central differences */
    int bad = 0;
    for (int j = 0; j < B * K; j++) {
        float keep = z[j];
        const float h = 1e-3f;
        z[j] = keep + h;
        double lp = nn_softmax_xent(NULL, NULL, z, y, B, K);
        z[j] = keep - h;
        double lm = nn_softmax_xent(NULL, NULL, z, y, B, K);
        z[j] = keep;
        double fd = (lp - lm) / (2 * (double)h);
        bad += fabs(fd - dz[j]) > 1e-4;
    }
    CHECK(bad == 0);
    /* each row's gradient sums to 0 (softmax minus a one-hot) */
    for (int i = 0; i < B; i++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += dz[i * K + k];
        CHECK(fabs(s) < 1e-7);
    }
    /* logits of 1000 and more: exp would overflow without the shift */
    float big[2 * 3] = { 1000, 999, 0, -3000, 1000, 1000 };
    int32_t yb[2] = { 1, 0 };
    double pb[2];
    nn_softmax_xent(dz, pb, big, yb, 2, 3);
    CHECK_NEAR(pb[0], 1 + log(1 + exp(-1.0) + exp(-1000.0)), 1e-12);
    CHECK_NEAR(pb[1], 4000 + log(2.0), 1e-12);
    for (int j = 0; j < 6; j++)
        CHECK(isfinite(dz[j]));
}

/* 0.5 sum c logits^2, in double. */
static double loss(cnn *n, const float *x, const float *c, int B, float *out)
{
    size_t no = (size_t)B * (size_t)n->c.classes;
    cnn_forward(n, out, x, B);
    double s = 0;
    for (size_t i = 0; i < no; i++)
        s += 0.5 * c[i] * (double)out[i] * out[i];
    return s;
}

/* Central differences on every parameter of a small classifier: odd and
 * non-square sides, both strides, the stride-2 maps of 7 x 6 and 4 x 3
 * (the batched im2col path) and a 3-wide one. */
void test_cnn_gradient_finite_difference(void)
{
    cnn_config cfg = { .C = 2, .H = 7, .W = 6, .nconv = 3, .width = { 3, 4, 5 },
                       .stride = { 1, 2, 2 }, .features = 6, .classes = 4 };
    cnn n;
    CHECK(cnn_init(&n, &cfg, 5) == 0);
    enum { B = 3 };
    size_t nx = (size_t)B * 2 * 7 * 6, no = (size_t)B * 4;
    float *x = malloc(4 * nx), *c = malloc(4 * no), *out = malloc(4 * no);
    float *dout = malloc(4 * no);
    fill(x, nx, 1, 1), fill(c, no, 2, 1);
    CHECK(n.flat == 5 * 2 * 2);
    CHECK(n.nparams == (2 * 9 * 3 + 3) + (3 * 9 * 4 + 4) + (4 * 9 * 5 + 5) + (20 * 6 + 6) +
                       (6 * 4 + 4));
    /* PyTorch's default initialisation: within +-1/sqrt(fan_in), and the
     * conv1 weights (fan-in 18) spread over it */
    float lo = 0, hi = 0;
    for (int i = 0; i < 54; i++)
        lo = fminf(lo, n.wc[0][i]), hi = fmaxf(hi, n.wc[0][i]);
    CHECK(hi <= 1 / sqrtf(18) && lo >= -1 / sqrtf(18) && hi - lo > 1.5f / sqrtf(18));
    fill(n.params, n.nparams, 3, 0.5);     /* larger than at start: every unit live */
    loss(&n, x, c, B, out);
    for (size_t i = 0; i < no; i++)
        dout[i] = c[i] * out[i];
    cnn_zero_grad(&n);
    cnn_backward(&n, dout, B);
    int bad = 0;
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < n.nparams; i++)
        gmax = fmax(gmax, fabs(n.grads[i]));
    for (size_t i = 0; i < n.nparams; i++) {
        float keep = n.params[i];
        const float h = 1e-2f;
        n.params[i] = keep + h;
        double lp = loss(&n, x, c, B, out);
        n.params[i] = keep - h;
        double lm = loss(&n, x, c, B, out);
        n.params[i] = keep;
        double fd = (lp - lm) / (2 * (double)h), an = n.grads[i];
        double err = fabs(fd - an) / fmax(1e-2 * gmax, fabs(fd));
        worst = fmax(worst, err);
        bad += err > 2e-2;
    }
    fprintf(stderr, "  classifier: %d of %zu gradients off, worst relative error %.2g "
            "(largest gradient %.3g)\n", bad, n.nparams, worst, gmax);
    CHECK(bad == 0);
    CHECK(gmax > 0.1);
    /* The backward pass adds: a second one doubles every gradient (to
     * rounding: a GEMM adds into its output in its own order). */
    float *g1 = malloc(4 * n.nparams);
    memcpy(g1, n.grads, 4 * n.nparams);
    loss(&n, x, c, B, out);
    cnn_backward(&n, dout, B);
    int twice = 1;
    for (size_t i = 0; i < n.nparams; i++)
        twice &= fabsf(n.grads[i] - 2 * g1[i]) <= 1e-5f * fmaxf(1, fabsf(2 * g1[i]));
    CHECK(twice);
    /* The features are the penultimate layer: the logits are its Linear. */
    float feat[B * 6], ref[B * 4];
    CHECK(cnn_features(&n, feat, x, B) == 0);
    CHECK(memcmp(feat, n.fpost, sizeof feat) == 0);
    nn_linear_forward_ref(ref, feat, n.wo, n.bo, B, 6, 4);
    cnn_forward(&n, out, x, B);
    for (int i = 0; i < B * 4; i++)
        CHECK_NEAR(out[i], ref[i], 1e-5);
    free(g1);
    free(x), free(c), free(out), free(dout);
    cnn_free(&n);
}

void test_cnn_shapes(void)
{
    /* The default for 28 x 28 x 1 and 10 classes: PyTorch counts 458,570
     * parameters (tests/torch/check_cnn.py --count prints it). */
    cnn_config c = cnn_small(1, 28, 28, 10);
    cnn n;
    CHECK(cnn_init(&n, &c, 1) == 0);
    CHECK(n.flat == 64 * 7 * 7);
    CHECK(n.nparams == 458570);
    cnn_free(&n);
    cnn_config bad = c;
    bad.stride[1] = 3;
    CHECK(cnn_param_count(&bad) == 0);
    bad = c, bad.classes = 1;
    CHECK(cnn_param_count(&bad) == 0);
    bad = c, bad.nconv = CNN_CONV_MAX + 1;
    CHECK(cnn_init(&n, &bad, 1) < 0);
    bad = c, bad.H = 1 << 20, bad.W = 1 << 20;
    CHECK(cnn_param_count(&bad) == 0);
}
