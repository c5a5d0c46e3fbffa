/* unet.c - the U-Net of the image interpolants; see unet.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/mem.h"
#include "nn/nn.h"
#include "base/rng.h"
#include "nn/unet.h"

enum { UNET_RNG_INIT = 0x554e0001, UNET_SINUSOID = 64 };

unet_config unet_small(int C, int H, int W)
{
    unet_config c = { .C = C, .H = H, .W = W, .heads = 2, .levels = 2,
                      .width = { 32, 64 }, .nmid = 2, .temb = 128, .groups = 8 };
    return c;
}

/* H = 1 makes the 1-D U-Net for signals (C, L = W): 3-tap kernels, and
 * the resolution halves along W only. */
static int oned(const unet_config *c)
{
    return c->H == 1;
}

/* Values of a 3-wide kernel per channel pair: 9, or 3 in 1-D. */
static int area(const unet_config *c)
{
    return oned(c) ? 3 : 9;
}

static int level_h(const unet_config *c, int l)
{
    return oned(c) ? 1 : c->H >> l;
}

static int level_w(const unet_config *c, int l)
{
    return c->W >> l;
}

/* The convolutions, in 2-D or 1-D; conv_f does e besides (nn.h; NULL:
 * nothing). */
static void conv_f(const unet *u, float *out, const float *in, const float *w, const float *b,
                   const nn_conv_extra *e, int B, int C, int H, int W, int O, int k, int stride,
                   int pad)
{
    if (oned(&u->c))
        nn_conv1d_forward_ex(out, u->ws, in, w, b, e, B, C, W, O, k, stride, pad);
    else
        nn_conv2d_forward_ex(out, u->ws, in, w, b, e, B, C, H, W, O, k, stride, pad);
}

/* din += (set: =) the gradient at the input; dw, db += theirs. */
static void conv_b(const unet *u, int set, float *din, float *dw, float *db, const float *dout,
                   const float *in, const float *w, int B, int C, int H, int W, int O, int k,
                   int stride, int pad)
{
    if (oned(&u->c) && set)
        nn_conv1d_backward_set(din, dw, db, u->ws, dout, in, w, B, C, W, O, k, stride, pad);
    else if (oned(&u->c))
        nn_conv1d_backward(din, dw, db, u->ws, dout, in, w, B, C, W, O, k, stride, pad);
    else if (set)
        nn_conv2d_backward_set(din, dw, db, u->ws, dout, in, w, B, C, H, W, O, k, stride, pad);
    else
        nn_conv2d_backward(din, dw, db, u->ws, dout, in, w, B, C, H, W, O, k, stride, pad);
}

static size_t conv_ws(const unet_config *c, int B, int C, int H, int W, int O, int k,
                      int stride, int pad)
{
    return oned(c) ? nn_conv1d_workspace(B, C, W, O, k, stride, pad)
                   : nn_conv2d_workspace(B, C, H, W, O, k, stride, pad);
}

/* ---- layout ------------------------------------------------------------- */

/* Parameters and activations are laid out by walking the network once
 * with a cursor: with a NULL base the walk only counts. */
typedef struct {
    float *base;        /* NULL: count only */
    size_t n;           /* floats taken so far */
    uint64_t seed;
    int tensor;         /* parameter tensors so far, the init's rng stream */
    int init;           /* fill parameters as they are taken */
    int align;          /* start every tensor on a multiple of 16 floats */
} cursor;

static float *take(cursor *k, size_t n)
{
    if (k->align)
        k->n = (k->n + 15) / 16 * 16;
    float *p = k->base ? k->base + k->n : NULL;
    k->n += n;
    return p;
}

enum { P_UNIFORM, P_ONE, P_ZERO };

/* A parameter tensor of n values; initialised as PyTorch's default for a
 * layer of the given fan-in when the walk initialises. */
static float *param(cursor *k, size_t n, int fan_in, int kind)
{
    float *p = take(k, n);
    uint32_t stream = UNET_RNG_INIT + (uint32_t)k->tensor++;
    if (!p || !k->init)
        return p;
    rng_t r;
    rng_init(&r, k->seed, stream, 0);
    double bound = 1.0 / sqrt((double)fan_in);
    for (size_t i = 0; i < n; i++)
        p[i] = kind == P_ONE ? 1.0f : kind == P_ZERO ? 0.0f
               : (float)(bound * (2 * rng_uniform(&r) - 1));
    return p;
}

static void block_params(unet_block *b, cursor *k, int T, int kk)
{
    size_t ci = (size_t)b->ci, co = (size_t)b->co, a = (size_t)kk;
    b->g1 = param(k, ci, 1, P_ONE), b->be1 = param(k, ci, 1, P_ZERO);
    b->w1 = param(k, co * ci * a, b->ci * kk, P_UNIFORM);
    b->b1 = param(k, co, b->ci * kk, P_UNIFORM);
    b->wt = param(k, co * (size_t)T, T, P_UNIFORM), b->bt = param(k, co, T, P_UNIFORM);
    b->g2 = param(k, co, 1, P_ONE), b->be2 = param(k, co, 1, P_ZERO);
    b->w2 = param(k, co * co * a, b->co * kk, P_UNIFORM);
    b->b2 = param(k, co, b->co * kk, P_UNIFORM);
    b->ws = b->bs = NULL;
    if (b->ci != b->co) {
        b->ws = param(k, co * ci, b->ci, P_UNIFORM);
        b->bs = param(k, co, b->ci, P_UNIFORM);
    }
}

/* The gradient twin of a parameter view. */
static float *twin(const unet *u, const float *p)
{
    return p ? u->grads + (p - u->params) : NULL;
}

static void block_twins(const unet *u, unet_block *b)
{
    b->dg1 = twin(u, b->g1), b->dbe1 = twin(u, b->be1), b->dw1 = twin(u, b->w1);
    b->db1 = twin(u, b->b1), b->dwt = twin(u, b->wt), b->dbt = twin(u, b->bt);
    b->dg2 = twin(u, b->g2), b->dbe2 = twin(u, b->be2), b->dw2 = twin(u, b->w2);
    b->db2 = twin(u, b->b2), b->dws = twin(u, b->ws), b->dbs = twin(u, b->bs);
}

/* Walk the parameters in PyTorch's registration order (unet.h). */
static void lay_params(unet *u, cursor *k)
{
    const unet_config *c = &u->c;
    int T = c->temb, L = c->levels, w0 = c->width[0], kk = area(c);
    u->wt1 = param(k, (size_t)T * UNET_SINUSOID, UNET_SINUSOID, P_UNIFORM);
    u->bt1 = param(k, (size_t)T, UNET_SINUSOID, P_UNIFORM);
    u->wt2 = param(k, (size_t)T * (size_t)T, T, P_UNIFORM);
    u->bt2 = param(k, (size_t)T, T, P_UNIFORM);
    int cin = c->C + c->E;
    u->wc = param(k, (size_t)w0 * (size_t)cin * (size_t)kk, cin * kk, P_UNIFORM);
    u->bc = param(k, (size_t)w0, cin * kk, P_UNIFORM);
    int nb = 0, ch = w0;
    for (int l = 0; l < L; l++) {
        unet_block *b = &u->blk[nb++];
        b->ci = ch, b->co = c->width[l], b->H = level_h(c, l), b->W = level_w(c, l);
        block_params(b, k, T, kk);
        ch = c->width[l];
        u->wd[l] = param(k, (size_t)ch * (size_t)ch * (size_t)kk, ch * kk, P_UNIFORM);
        u->bd[l] = param(k, (size_t)ch, ch * kk, P_UNIFORM);
    }
    for (int i = 0; i < c->nmid; i++) {
        unet_block *b = &u->blk[nb++];
        b->ci = b->co = ch, b->H = level_h(c, L), b->W = level_w(c, L);
        block_params(b, k, T, kk);
    }
    for (int l = L - 1; l >= 0; l--) {
        unet_block *b = &u->blk[nb++];
        b->ci = ch + c->width[l], b->co = c->width[l];
        b->H = level_h(c, l), b->W = level_w(c, l);
        block_params(b, k, T, kk);
        ch = c->width[l];
    }
    u->nblocks = nb;
    u->gn = param(k, (size_t)w0, 1, P_ONE), u->bn = param(k, (size_t)w0, 1, P_ZERO);
    int O = c->heads * c->C;
    u->wo = param(k, (size_t)O * (size_t)w0 * (size_t)kk, w0 * kk, P_ZERO);
    u->bo = param(k, (size_t)O, w0 * kk, P_ZERO);
    u->ws1 = u->bs1 = u->ws2 = u->bs2 = NULL;
    if (c->S) {
        u->ws1 = param(k, (size_t)T * (size_t)c->S, c->S, P_UNIFORM);
        u->bs1 = param(k, (size_t)T, c->S, P_UNIFORM);
        u->ws2 = param(k, (size_t)T * (size_t)T, T, P_UNIFORM);
        u->bs2 = param(k, (size_t)T, T, P_UNIFORM);
    }
}

static void lay_twins(unet *u)
{
    float **p[] = { &u->wt1, &u->bt1, &u->wt2, &u->bt2, &u->wc, &u->bc, &u->gn, &u->bn,
                    &u->wo, &u->bo, &u->ws1, &u->bs1, &u->ws2, &u->bs2 };
    float **d[] = { &u->dwt1, &u->dbt1, &u->dwt2, &u->dbt2, &u->dwc, &u->dbc, &u->dgn,
                    &u->dbn, &u->dwo, &u->dbo, &u->dws1, &u->dbs1, &u->dws2, &u->dbs2 };
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        *d[i] = twin(u, *p[i]);
    for (int l = 0; l < u->c.levels; l++)
        u->dwd[l] = twin(u, u->wd[l]), u->dbd[l] = twin(u, u->bd[l]);
    for (int i = 0; i < u->nblocks; i++)
        block_twins(u, &u->blk[i]);
}

/* The activations of a batch of B, and the largest per-sample tensor. */
static void lay_acts(unet *u, cursor *k, int B, size_t *biggest)
{
    const unet_config *c = &u->c;
    size_t Bz = (size_t)B, T = (size_t)c->temb, G = (size_t)c->groups;
    size_t N0 = (size_t)c->H * (size_t)c->W, w0 = (size_t)c->width[0], big = T;
    u->te0 = take(k, Bz * UNET_SINUSOID), u->te1 = take(k, Bz * T);
    u->te1s = take(k, Bz * T), u->te = take(k, Bz * T), u->ste = take(k, Bz * T);
    u->se1 = take(k, Bz * T), u->se1s = take(k, Bz * T);
    u->sv = take(k, Bz * (size_t)(c->S + 1));
    u->dste = take(k, Bz * T), u->dte = take(k, Bz * T);
    u->xin = take(k, Bz * (size_t)(c->C + c->E) * N0);
    u->h0 = take(k, Bz * w0 * N0);
    for (int i = 0; i < u->nblocks; i++) {
        unet_block *b = &u->blk[i];
        size_t N = (size_t)b->H * (size_t)b->W, ci = (size_t)b->ci, co = (size_t)b->co;
        b->a1 = take(k, Bz * ci * N), b->s1 = take(k, Bz * ci * N);
        b->m1 = take(k, Bz * G), b->r1 = take(k, Bz * G);
        b->h = take(k, Bz * co * N), b->tp = take(k, Bz * co);
        b->a2 = take(k, Bz * co * N), b->s2 = take(k, Bz * co * N);
        b->m2 = take(k, Bz * G), b->r2 = take(k, Bz * G);
        b->y = take(k, Bz * co * N);
        if (ci * N > big)
            big = ci * N;
        if (co * N > big)
            big = co * N;
    }
    for (int l = 0; l < c->levels; l++) {
        size_t Nl = (size_t)level_h(c, l) * (size_t)level_w(c, l), wl = (size_t)c->width[l];
        size_t Nb = (size_t)level_h(c, l + 1) * (size_t)level_w(c, l + 1);
        size_t below = l + 1 < c->levels ? (size_t)c->width[l + 1] : wl;
        u->down[l] = take(k, Bz * wl * Nb);
        u->cat[l] = take(k, Bz * (below + wl) * Nl);
        u->dskip[l] = take(k, Bz * wl * Nl);
    }
    u->on = take(k, Bz * w0 * N0), u->os = take(k, Bz * w0 * N0);
    size_t wide = w0;       /* the most channels a GroupNorm normalises */
    for (int i = 0; i < u->nblocks; i++)
        wide = (size_t)u->blk[i].ci > wide ? (size_t)u->blk[i].ci : wide;
    u->nsc = take(k, Bz * wide), u->nsh = take(k, Bz * wide);
    u->om = take(k, Bz * G), u->orr = take(k, Bz * G);
    if ((size_t)(c->heads * c->C) * N0 > big)
        big = (size_t)(c->heads * c->C) * N0;
    if ((size_t)(c->C + c->E) * N0 > big)     /* the input's gradient (unet_backward_dx) */
        big = (size_t)(c->C + c->E) * N0;
    for (int i = 0; i < 4; i++)
        u->g[i] = take(k, Bz * big);
    *biggest = big;
    /* The convolution workspace: the largest any convolution needs. */
    size_t ws = conv_ws(c, B, c->C + c->E, c->H, c->W, c->width[0], 3, 1, 1);
    for (int i = 0; i < u->nblocks; i++) {
        unet_block *b = &u->blk[i];
        size_t a = conv_ws(c, B, b->ci, b->H, b->W, b->co, 3, 1, 1);
        size_t d = conv_ws(c, B, b->co, b->H, b->W, b->co, 3, 1, 1);
        size_t e = conv_ws(c, B, b->co, b->H, b->W, b->co, 3, 2, 1);
        size_t f = conv_ws(c, B, b->ci, b->H, b->W, b->co, 1, 1, 0);
        ws = a > ws ? a : ws, ws = d > ws ? d : ws, ws = e > ws ? e : ws, ws = f > ws ? f : ws;
    }
    size_t o = conv_ws(c, B, c->width[0], c->H, c->W, c->heads * c->C, 3, 1, 1);
    ws = o > ws ? o : ws;
    u->ws = take(k, ws);
}

size_t unet_param_count(const unet_config *c)
{
    int ok = c->C >= 1 && c->E >= 0 && c->S >= 0 && c->heads >= 1 && c->heads <= 2 &&
             c->levels >= 1 && c->levels <= UNET_LEVELS_MAX && c->nmid >= 0 &&
             c->nmid <= 8 && c->temb >= 1 && c->groups >= 1 && c->H >= 1 && c->W >= 1 &&
             (c->H == 1 || c->H % (1 << c->levels) == 0) && c->W % (1 << c->levels) == 0;
    for (int l = 0; ok && l < c->levels; l++)
        ok = c->width[l] >= 1 && c->width[l] % c->groups == 0;
    if (!ok) {
        err_set(ERR_USAGE, "U-Net: bad shape (%d x %d x %d, %d levels, groups %d): "
                "the sides (but a height of 1: the 1-D U-Net) must be divisible by "
                "2^levels and the widths by the groups", c->C, c->H, c->W, c->levels,
                c->groups);
        return 0;
    }
    /* The layout walk only counts with a NULL base. */
    unet *u = mem_calloc_array(1, sizeof *u);
    if (!u)
        return 0;
    u->c = *c;
    cursor k = { 0 };
    lay_params(u, &k);
    free(u);
    return k.n;
}

int unet_init(unet *u, const unet_config *c, uint64_t seed)
{
    memset(u, 0, sizeof *u);
    size_t n = unet_param_count(c);
    if (!n)
        return err_code();
    u->c = *c;
    u->nparams = n;
    u->params = mem_alloc_array(n, sizeof(float));
    u->grads = mem_calloc_array(n, sizeof(float));
    if (!u->params || !u->grads) {
        unet_free(u);
        return ERR_IO;
    }
    cursor k = { .base = u->params, .seed = seed, .init = 1 };
    lay_params(u, &k);
    lay_twins(u);
    return 0;
}

void unet_free(unet *u)
{
    free(u->params);
    free(u->grads);
    free(u->act);
    memset(u, 0, sizeof *u);
}

static int reserve(unet *u, int B)
{
    if (B <= u->cap)
        return 0;
    size_t big;
    /* Activations on 64-byte boundaries (a base so aligned, each a
     * multiple of 16 floats on): whole-vector loads and stores. */
    cursor k = { .align = 1 };
    lay_acts(u, &k, B, &big);
    float *a = mem_alloc_aligned(k.n, sizeof(float));
    if (!a)
        return ERR_IO;
    free(u->act);
    u->act = a;
    u->cap = B;
    k = (cursor){ .base = a, .align = 1 };
    lay_acts(u, &k, B, &big);
    return 0;
}

/* ---- profiling (unet.h: u->prof) ---------------------------------------- */

enum { FW = 0, BW = UNET_PROF_N };     /* slot offsets of the passes */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The start of a lap: free without a profile. */
static double lap_start(const unet *u)
{
    return u->prof ? now() : 0;
}

/* With a profile, add the seconds since *t to slot i and restart *t. */
static void lap(const unet *u, int i, double *t)
{
    if (!u->prof)
        return;
    double s = now();
    u->prof[i] += s - *t;
    *t = s;
}

/* ---- forward ------------------------------------------------------------ */

/* SiLU(GroupNorm(x)) (C channels of H x W) for a 3 x 3 convolution to
 * O channels: into a (GroupNorm) and s (its SiLU), and s is what the
 * convolution reads; or in inference, where the convolution can read x
 * through the GroupNorm's scale and shift (nn_conv2d_reads_affine), only
 * the statistics, e takes the scale and shift, and x is what it reads.
 * The same bits either way. */
static const float *gn_silu(unet *u, nn_conv_extra *e, float *a, float *s, float *m, float *r,
                            const float *x, const float *gamma, const float *beta, int B,
                            int C, int H, int W, int O)
{
    int N = H * W, G = u->c.groups;
    if (u->infer && !oned(&u->c) && nn_conv2d_reads_affine(C, H, W, O, 3, 1, 1)) {
        nn_groupnorm_affine(u->nsc, u->nsh, m, r, x, gamma, beta, B, C, N, G);
        e->scale = u->nsc, e->shift = u->nsh;
        return x;
    }
    nn_groupnorm_silu_forward(a, s, m, r, x, gamma, beta, B, C, N, G);
    return s;
}

static void block_forward(unet *u, unet_block *b, const float *x, int B)
{
    int T = u->c.temb;
    double t = lap_start(u);
    b->x = x;
    nn_conv_extra e1 = { .sb = b->tp }, e2 = { 0 };
    const float *in1 = gn_silu(u, &e1, b->a1, b->s1, b->m1, b->r1, x, b->g1, b->be1, B, b->ci,
                               b->H, b->W, b->co);
    lap(u, FW + UNET_PROF_GN, &t);
    /* the time projection and the skip first: the convolutions add them
     * as they write (the order of separate passes: the same bits) */
    nn_linear_forward(b->tp, u->ste, b->wt, b->bt, B, T, b->co);
    lap(u, FW + UNET_PROF_REST, &t);
    conv_f(u, b->h, in1, b->w1, b->b1, &e1, B, b->ci, b->H, b->W, b->co, 3, 1, 1);
    lap(u, FW + UNET_PROF_CONV, &t);
    const float *in2 = gn_silu(u, &e2, b->a2, b->s2, b->m2, b->r2, b->h, b->g2, b->be2, B, b->co,
                               b->H, b->W, b->co);
    lap(u, FW + UNET_PROF_GN, &t);
    if (b->ws)
        conv_f(u, u->g[0], x, b->ws, b->bs, NULL, B, b->ci, b->H, b->W, b->co, 1, 1, 0);
    e2.res = b->ws ? u->g[0] : x;
    conv_f(u, b->y, in2, b->w2, b->b2, &e2, B, b->co, b->H, b->W, b->co, 3, 1, 1);
    lap(u, FW + UNET_PROF_CONV, &t);
}

int unet_infer(unet *u, float *out, const float *x, const float *cond, const float *t, int B)
{
    u->infer = 1;
    int rc = unet_forward(u, out, x, cond, t, B);
    u->infer = 0;
    return rc;
}

int unet_forward(unet *u, float *out, const float *x, const float *cond,
                 const float *t, int B)
{
    if (reserve(u, B) < 0)
        return ERR_IO;
    const unet_config *c = &u->c;
    int T = c->temb, L = c->levels, H = c->H, W = c->W, N0 = H * W;
    size_t nT = (size_t)B * (size_t)T, row = (size_t)c->E * (size_t)N0 + (size_t)c->S;
    double t0 = lap_start(u), t1;
    nn_temb_forward(u->te0, t, B, UNET_SINUSOID);
    nn_linear_forward(u->te1, u->te0, u->wt1, u->bt1, B, UNET_SINUSOID, T);
    nn_silu_forward(u->te1s, u->te1, nT);
    nn_linear_forward(u->te, u->te1s, u->wt2, u->bt2, B, T, T);
    if (c->S) {
        for (int i = 0; i < B; i++)
            memcpy(u->sv + (size_t)i * (size_t)c->S,
                   cond + (size_t)i * row + (size_t)c->E * (size_t)N0,
                   sizeof(float) * (size_t)c->S);
        nn_linear_forward(u->se1, u->sv, u->ws1, u->bs1, B, c->S, T);
        nn_silu_forward(u->se1s, u->se1, nT);
        nn_linear_forward(u->g[0], u->se1s, u->ws2, u->bs2, B, T, T);
        nn_add(u->te, u->g[0], nT);
    }
    nn_silu_forward(u->ste, u->te, nT);
    lap(u, FW + UNET_PROF_TEMB, &t0);
    const float *in = x;
    if (c->E) {
        size_t nx = (size_t)c->C * (size_t)N0, ne = (size_t)c->E * (size_t)N0;
        for (int i = 0; i < B; i++) {
            float *r = u->xin + (size_t)i * (nx + ne);
            memcpy(r, x + (size_t)i * nx, sizeof(float) * nx);
            memcpy(r + nx, cond + (size_t)i * row, sizeof(float) * ne);
        }
        in = u->xin;
    }
    u->in = in;
    conv_f(u, u->h0, in, u->wc, u->bc, NULL, B, c->C + c->E, H, W, c->width[0], 3, 1, 1);
    lap(u, FW + UNET_PROF_CIN, &t0);
    const float *h = u->h0;
    int ch = c->width[0], nb = 0;
    for (int l = 0; l < L; l++) {
        unet_block *b = &u->blk[nb];
        block_forward(u, b, h, B);
        lap(u, FW + UNET_PROF_BLOCK + nb++, &t0);
        conv_f(u, u->down[l], b->y, u->wd[l], u->bd[l], NULL, B, b->co, b->H, b->W, b->co,
               3, 2, 1);
        lap(u, FW + UNET_PROF_DOWN + l, &t0);
        h = u->down[l], ch = b->co;
    }
    for (int i = 0; i < c->nmid; i++) {
        unet_block *b = &u->blk[nb];
        block_forward(u, b, h, B);
        lap(u, FW + UNET_PROF_BLOCK + nb++, &t0);
        h = b->y;
    }
    for (int l = L - 1; l >= 0; l--) {
        nn_upcat_forward(u->cat[l], h, u->blk[l].y, B, ch, c->width[l], level_h(c, l + 1),
                         level_w(c, l + 1), oned(c) ? 1 : 2);
        lap(u, FW + UNET_PROF_UP + l, &t0);
        unet_block *b = &u->blk[nb];
        block_forward(u, b, u->cat[l], B);
        lap(u, FW + UNET_PROF_BLOCK + nb++, &t0);
        h = b->y, ch = b->co;
    }
    t1 = t0;
    nn_conv_extra eo = { 0 };
    const float *ino = gn_silu(u, &eo, u->on, u->os, u->om, u->orr, h, u->gn, u->bn, B, ch, H, W,
                               c->heads * c->C);
    lap(u, FW + UNET_PROF_GN, &t1);
    conv_f(u, out, ino, u->wo, u->bo, &eo, B, ch, H, W, c->heads * c->C, 3, 1, 1);
    lap(u, FW + UNET_PROF_CONV, &t1);
    lap(u, FW + UNET_PROF_OUT, &t0);
    return 0;
}

/* ---- backward ----------------------------------------------------------- */

/* dx = the gradient at the block's input for dy at its output; the
 * gradient at SiLU(temb) goes to u->dste.  Scratch: u->g[2], u->g[3],
 * which dy and dx must not be. */
static void block_backward(unet *u, unet_block *b, float *dx, const float *dy, int B)
{
    int N = b->H * b->W, G = u->c.groups, T = u->c.temb;
    size_t ni = (size_t)B * (size_t)b->ci * (size_t)N, no = (size_t)B * (size_t)b->co * (size_t)N;
    float *p = u->g[2], *q = u->g[3];
    double t = lap_start(u);
    /* dx = the skip's gradient, then += the residual branch's */
    if (b->ws) {
        conv_b(u, 1, dx, b->dws, b->dbs, dy, b->x, b->ws, B, b->ci, b->H, b->W, b->co, 1, 1, 0);
        lap(u, BW + UNET_PROF_CONV, &t);
    } else {
        memcpy(dx, dy, sizeof(float) * no);
        lap(u, BW + UNET_PROF_REST, &t);
    }
    conv_b(u, 1, p, b->dw2, b->db2, dy, b->s2, b->w2, B, b->co, b->H, b->W, b->co, 3, 1, 1);
    lap(u, BW + UNET_PROF_CONV, &t);
    nn_silu_backward(q, p, b->a2, b->s2, no);
    lap(u, BW + UNET_PROF_SILU, &t);
    /* p: the gradient at h */
    nn_groupnorm_backward_set(p, b->dg2, b->dbe2, q, b->h, b->g2, b->m2, b->r2, B, b->co, N, G);
    lap(u, BW + UNET_PROF_GN, &t);
    nn_channel_sum(q, p, B, b->co, N);          /* q: at the time projection */
    nn_linear_backward(u->dste, b->dwt, b->dbt, q, u->ste, b->wt, B, T, b->co);
    lap(u, BW + UNET_PROF_REST, &t);
    conv_b(u, 1, q, b->dw1, b->db1, p, b->s1, b->w1, B, b->ci, b->H, b->W, b->co, 3, 1, 1);
    lap(u, BW + UNET_PROF_CONV, &t);
    nn_silu_backward(p, q, b->a1, b->s1, ni);
    lap(u, BW + UNET_PROF_SILU, &t);
    nn_groupnorm_backward(dx, b->dg1, b->dbe1, p, b->x, b->g1, b->m1, b->r1, B, b->ci, N, G);
    lap(u, BW + UNET_PROF_GN, &t);
}

/* dx: NULL, or the gradient at the data channels of the input, set. */
static void backward(unet *u, const float *dout, float *dx, int B)
{
    const unet_config *c = &u->c;
    int T = c->temb, L = c->levels, H = c->H, W = c->W, N0 = H * W, G = c->groups;
    int w0 = c->width[0];
    size_t nT = (size_t)B * (size_t)T, n0 = (size_t)B * (size_t)w0 * (size_t)N0;
    double t0 = lap_start(u), t1 = t0;
    float *gy = u->g[0], *gx = u->g[1];         /* the gradient at y, at x */
    nn_zero(u->dste, nT);
    for (int l = 0; l < L; l++)
        nn_zero(u->dskip[l],
                (size_t)B * (size_t)c->width[l] * (size_t)(level_h(c, l) * level_w(c, l)));
    /* the output head */
    lap(u, BW + UNET_PROF_REST, &t1);
    conv_b(u, 1, u->g[2], u->dwo, u->dbo, dout, u->os, u->wo, B, w0, H, W, c->heads * c->C, 3,
           1, 1);
    lap(u, BW + UNET_PROF_CONV, &t1);
    nn_silu_backward(u->g[3], u->g[2], u->on, u->os, n0);
    lap(u, BW + UNET_PROF_SILU, &t1);
    int nb = u->nblocks;
    nn_groupnorm_backward_set(gy, u->dgn, u->dbn, u->g[3], u->blk[nb - 1].y, u->gn, u->om,
                              u->orr, B, w0, N0, G);
    lap(u, BW + UNET_PROF_GN, &t1);
    lap(u, BW + UNET_PROF_OUT, &t0);
    /* the up path, from the full resolution */
    for (int l = 0; l < L; l++) {
        unet_block *b = &u->blk[--nb];
        int below = b->ci - b->co;
        block_backward(u, b, gx, gy, B);
        lap(u, BW + UNET_PROF_BLOCK + nb, &t0);
        /* gx holds the gradient at the join: the skip's part to dskip,
         * the upsampled part summed down into gy (free now) */
        int Hb = level_h(c, l + 1), Wb = level_w(c, l + 1);
        nn_zero(gy, (size_t)B * (size_t)below * (size_t)(Hb * Wb));
        nn_upcat_backward(gy, u->dskip[l], gx, B, below, b->co, Hb, Wb, oned(c) ? 1 : 2);
        lap(u, BW + UNET_PROF_UP + l, &t0);
    }
    for (int i = 0; i < c->nmid; i++) {
        unet_block *b = &u->blk[--nb];
        block_backward(u, b, gx, gy, B);
        lap(u, BW + UNET_PROF_BLOCK + nb, &t0);
        float *s = gy;
        gy = gx, gx = s;
    }
    /* the down path: each down convolution's input is a skip, whose
     * gradient from the up path is already in dskip */
    for (int l = L - 1; l >= 0; l--) {
        unet_block *b = &u->blk[--nb];
        conv_b(u, 0, u->dskip[l], u->dwd[l], u->dbd[l], gy, b->y, u->wd[l], B, b->co, b->H,
               b->W, b->co, 3, 2, 1);
        lap(u, BW + UNET_PROF_DOWN + l, &t0);
        block_backward(u, b, gx, u->dskip[l], B);
        lap(u, BW + UNET_PROF_BLOCK + nb, &t0);
        float *s = gy;
        gy = gx, gx = s;
    }
    float *din = NULL;      /* gx is free now, and holds (C + E) N0 per sample */
    size_t nx = (size_t)c->C * (size_t)N0, nin = (size_t)(c->C + c->E) * (size_t)N0;
    if (dx)
        din = c->E ? gx : dx;
    conv_b(u, 1, din, u->dwc, u->dbc, gy, u->in, u->wc, B, c->C + c->E, H, W, w0, 3, 1, 1);
    if (dx && c->E)         /* the side channels' part is not wanted */
        for (int i = 0; i < B; i++)
            memcpy(dx + (size_t)i * nx, gx + (size_t)i * nin, sizeof(float) * nx);
    lap(u, BW + UNET_PROF_CIN, &t0);
    /* the time (and side) embedding */
    nn_silu_backward(u->dte, u->dste, u->te, u->ste, nT);
    nn_zero(u->g[2], nT);
    nn_linear_backward(u->g[2], u->dwt2, u->dbt2, u->dte, u->te1s, u->wt2, B, T, T);
    nn_silu_backward(u->g[3], u->g[2], u->te1, u->te1s, nT);
    nn_linear_backward(NULL, u->dwt1, u->dbt1, u->g[3], u->te0, u->wt1, B, UNET_SINUSOID, T);
    if (c->S) {
        nn_zero(u->g[2], nT);
        nn_linear_backward(u->g[2], u->dws2, u->dbs2, u->dte, u->se1s, u->ws2, B, T, T);
        nn_silu_backward(u->g[3], u->g[2], u->se1, u->se1s, nT);
        nn_linear_backward(NULL, u->dws1, u->dbs1, u->g[3], u->sv, u->ws1, B, c->S, T);
    }
    lap(u, BW + UNET_PROF_TEMB, &t0);
}

void unet_backward(unet *u, const float *dout, int B)
{
    backward(u, dout, NULL, B);
}

void unet_backward_dx(unet *u, const float *dout, float *dx, int B)
{
    backward(u, dout, dx, B);
}
