/* cnn.c - the image classifier; see cnn.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "nn/cnn.h"
#include "nn/nn.h"

enum { CNN_RNG_INIT = 0x434e0001 };

cnn_config cnn_small(int C, int H, int W, int K)
{
    cnn_config c = { .C = C, .H = H, .W = W, .nconv = 3, .width = { 32, 64, 64 },
                     .stride = { 1, 2, 2 }, .features = 128, .classes = K };
    return c;
}

/* The sides of every map, the flattened size; 0 if the shape is bad. */
static int geometry(const cnn_config *c, int *h, int *w, int *flat)
{
    if (c->C < 1 || c->H < 1 || c->W < 1 || c->nconv < 1 || c->nconv > CNN_CONV_MAX ||
        c->features < 1 || c->classes < 2 || c->C > 65536 || c->features > 65536 ||
        c->classes > 65536)
        return 0;
    h[0] = c->H, w[0] = c->W;
    int ch = c->C;
    for (int l = 0; l < c->nconv; l++) {
        if (c->width[l] < 1 || c->width[l] > 65536 || (c->stride[l] != 1 && c->stride[l] != 2))
            return 0;
        h[l + 1] = nn_conv_out(h[l], 3, c->stride[l], 1);
        w[l + 1] = nn_conv_out(w[l], 3, c->stride[l], 1);
        ch = c->width[l];
    }
    /* every per-sample size, and its im2col, in an int, as the kernels take them */
    double big = 0;
    for (int l = 0; l < c->nconv; l++) {
        double in = (double)(l ? c->width[l - 1] : c->C) * h[l] * w[l];
        big = fmax(big, fmax(in, (double)c->width[l] * h[l + 1] * w[l + 1]));
    }
    if (9 * big > INT32_MAX)
        return 0;
    *flat = ch * h[c->nconv] * w[c->nconv];
    return 1;
}

/* Layer l's fan-in and outputs: the convolutions, then the two Linears. */
static void layer_shape(const cnn_config *c, int flat, int l, size_t *fan_in, size_t *out)
{
    if (l < c->nconv) {
        *fan_in = 9 * (size_t)(l ? c->width[l - 1] : c->C);
        *out = (size_t)c->width[l];
    } else if (l == c->nconv) {
        *fan_in = (size_t)flat, *out = (size_t)c->features;
    } else {
        *fan_in = (size_t)c->features, *out = (size_t)c->classes;
    }
}

size_t cnn_param_count(const cnn_config *c)
{
    int h[CNN_CONV_MAX + 1], w[CNN_CONV_MAX + 1], flat;
    if (!geometry(c, h, w, &flat)) {
        err_set(ERR_USAGE, "classifier: bad shape (%d x %d x %d, %d convolutions, "
                "%d features, %d classes): widths 1..65536, strides 1 or 2, 2 classes "
                "or more", c->C, c->H, c->W, c->nconv, c->features, c->classes);
        return 0;
    }
    size_t n = 0;
    for (int l = 0; l < c->nconv + 2; l++) {
        size_t fan_in, out;
        layer_shape(c, flat, l, &fan_in, &out);
        n += out * fan_in + out;
    }
    return n;
}

int cnn_init(cnn *n, const cnn_config *c, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    size_t np = cnn_param_count(c);
    if (!np)
        return err_code();
    n->c = *c;
    geometry(c, n->side_h, n->side_w, &n->flat);
    n->nparams = np;
    n->params = mem_alloc_array(np, sizeof(float));
    n->grads = mem_calloc_array(np, sizeof(float));
    if (!n->params || !n->grads) {
        cnn_free(n);
        return ERR_IO;
    }
    float *p = n->params, *g = n->grads;
    for (int l = 0; l < c->nconv + 2; l++) {
        size_t fan_in, out;
        layer_shape(c, n->flat, l, &fan_in, &out);
        float **wv = l < c->nconv ? &n->wc[l] : l == c->nconv ? &n->wf : &n->wo;
        float **bv = l < c->nconv ? &n->bc[l] : l == c->nconv ? &n->bf : &n->bo;
        float **dwv = l < c->nconv ? &n->dwc[l] : l == c->nconv ? &n->dwf : &n->dwo;
        float **dbv = l < c->nconv ? &n->dbc[l] : l == c->nconv ? &n->dbf : &n->dbo;
        *wv = p, *dwv = g;
        *bv = p + out * fan_in, *dbv = g + out * fan_in;
        rng_t r;
        rng_init(&r, seed, CNN_RNG_INIT + (uint32_t)l, 0);
        double bound = 1.0 / sqrt((double)fan_in);
        for (size_t i = 0; i < out * fan_in + out; i++)
            p[i] = (float)(bound * (2 * rng_uniform(&r) - 1));
        p += out * fan_in + out;
        g += out * fan_in + out;
    }
    return 0;
}

void cnn_free(cnn *n)
{
    free(n->params);
    free(n->grads);
    free(n->act);
    memset(n, 0, sizeof *n);
}

void cnn_zero_grad(cnn *n)
{
    memset(n->grads, 0, sizeof(float) * n->nparams);
}

/* Values per sample of convolution l's output. */
static size_t map_size(const cnn *n, int l)
{
    return (size_t)n->c.width[l] * (size_t)n->side_h[l + 1] * (size_t)n->side_w[l + 1];
}

static int in_channels(const cnn *n, int l)
{
    return l ? n->c.width[l - 1] : n->c.C;
}

/* Lay out the activation arena for batches up to B. */
static int reserve(cnn *n, int B)
{
    if (B <= n->cap)
        return 0;
    const cnn_config *c = &n->c;
    size_t Bz = (size_t)B, total = 0, big = (size_t)c->features, ws = 0;
    for (int l = 0; l < c->nconv; l++) {
        size_t m = map_size(n, l);
        total += 2 * Bz * m;
        big = m > big ? m : big;
        size_t s = nn_conv2d_workspace(B, in_channels(n, l), n->side_h[l], n->side_w[l],
                                       c->width[l], 3, c->stride[l], 1);
        ws = s > ws ? s : ws;
    }
    total += 2 * Bz * (size_t)c->features + 2 * Bz * big + ws;
    float *a = mem_alloc_array(total, sizeof(float));
    if (!a)
        return ERR_IO;
    free(n->act);
    n->act = a;
    n->cap = B;
    for (int l = 0; l < c->nconv; l++) {
        n->pre[l] = a, a += Bz * map_size(n, l);
        n->post[l] = a, a += Bz * map_size(n, l);
    }
    n->fpre = a, a += Bz * (size_t)c->features;
    n->fpost = a, a += Bz * (size_t)c->features;
    n->g[0] = a, a += Bz * big;
    n->g[1] = a, a += Bz * big;
    n->ws = a;
    return 0;
}

/* The forward pass up to the features, kept in n->fpost. */
static int forward_features(cnn *n, const float *x, int B)
{
    if (reserve(n, B) < 0)
        return ERR_IO;
    const cnn_config *c = &n->c;
    n->x = x;
    const float *h = x;
    for (int l = 0; l < c->nconv; l++) {
        nn_conv2d_forward(n->pre[l], n->ws, h, n->wc[l], n->bc[l], B, in_channels(n, l),
                          n->side_h[l], n->side_w[l], c->width[l], 3, c->stride[l], 1);
        nn_silu_forward(n->post[l], n->pre[l], (size_t)B * map_size(n, l));
        h = n->post[l];
    }
    /* the last map (B, w_L, Ho, Wo) is already (B, flat), row-major */
    nn_linear_forward(n->fpre, h, n->wf, n->bf, B, n->flat, c->features);
    nn_silu_forward(n->fpost, n->fpre, (size_t)B * (size_t)c->features);
    return 0;
}

int cnn_forward(cnn *n, float *logits, const float *x, int B)
{
    int rc = forward_features(n, x, B);
    if (rc == 0)
        nn_linear_forward(logits, n->fpost, n->wo, n->bo, B, n->c.features, n->c.classes);
    return rc;
}

int cnn_features(cnn *n, float *feat, const float *x, int B)
{
    int rc = forward_features(n, x, B);
    if (rc == 0 && feat)
        memcpy(feat, n->fpost, sizeof(float) * (size_t)B * (size_t)n->c.features);
    return rc;
}

void cnn_backward(cnn *n, const float *dlogits, int B)
{
    const cnn_config *c = &n->c;
    int F = c->features, L = c->nconv;
    size_t nf = (size_t)B * (size_t)F, nflat = (size_t)B * (size_t)n->flat;
    /* g[0] and g[1] take turns: the gradient at a layer's output is read
     * by the SiLU backward into the other, and the layer's backward writes
     * the gradient at its input over the first, read by then. */
    float *a = n->g[0], *b = n->g[1];
    nn_zero(a, nf);
    nn_linear_backward(a, n->dwo, n->dbo, dlogits, n->fpost, n->wo, B, F, c->classes);
    nn_silu_backward(b, a, n->fpre, n->fpost, nf);
    nn_zero(a, nflat);
    nn_linear_backward(a, n->dwf, n->dbf, b, n->post[L - 1], n->wf, B, n->flat, F);
    for (int l = L - 1; l >= 0; l--) {
        size_t m = (size_t)B * map_size(n, l);
        nn_silu_backward(b, a, n->pre[l], n->post[l], m);
        float *din = NULL;      /* no gradient at the images */
        if (l > 0) {
            din = a;
            nn_zero(din, (size_t)B * map_size(n, l - 1));
        }
        nn_conv2d_backward(din, n->dwc[l], n->dbc[l], n->ws, b, l ? n->post[l - 1] : n->x,
                           n->wc[l], B, in_channels(n, l), n->side_h[l], n->side_w[l],
                           c->width[l], 3, c->stride[l], 1);
    }
}
