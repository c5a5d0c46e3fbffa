/* layer_dump - the conv2d, conv1d and GroupNorm passes of the C engine on
 * fixed random data, written out for tests/torch/check_layers.py.
 *
 * Usage: layer-dump > layers.tz
 * One raw plain record: conv2d (B 2, C 3, 9x9 -> O 4, k 3, stride 2, pad 1)
 * input cx, weight cw, bias cb, output cy, upstream gradient cg, and the
 * gradients cdx, cdw, cdb; GroupNorm (B 2, C 8, 5x5, G 4) input gx, gamma
 * gg, beta gb, output gy, upstream gradient gd, gradients gdx, gdg, gdb;
 * conv1d (B 2, C 3, L 11 -> O 4, k 3, pad 1) with stride 1 and stride 2,
 * as the 2-D one but named s1x .. s1db and s2x .. s2db. */
#include <stdio.h>
#include <stdlib.h>

#include "nn/nn.h"
#include "base/rng.h"
#include "formats/tz.h"

static float *rnd(size_t n, uint32_t stream, double scale)
{
    float *x = malloc(4 * n);
    rng_t r;
    rng_init(&r, 5, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
    return x;
}

/* A conv1d case: its tensors, named prefix + x, w, b, y, g, dx, dw, db. */
typedef struct {
    float *x, *w, *b, *y, *g, *dx, *dw, *db;
    uint64_t din[3], dw_[3], db_[1], dout[3];
} conv1d_case;

static void conv1d_run(conv1d_case *k, int B, int C, int L, int O, int K, int S, int P,
                       uint32_t stream)
{
    int Lo = nn_conv_out(L, K, S, P);
    size_t nin = (size_t)B * C * L, nw = (size_t)O * C * K, nout = (size_t)B * O * Lo;
    k->x = rnd(nin, stream, 1), k->w = rnd(nw, stream + 1, 0.3);
    k->b = rnd(O, stream + 2, 0.3), k->g = rnd(nout, stream + 3, 1);
    k->y = malloc(4 * nout);
    k->dx = calloc(nin, 4), k->dw = calloc(nw, 4), k->db = calloc(O, 4);
    float *ws = malloc(4 * nn_conv1d_workspace(B, C, L, O, K, S, P));
    nn_conv1d_forward(k->y, ws, k->x, k->w, k->b, B, C, L, O, K, S, P);
    nn_conv1d_backward(k->dx, k->dw, k->db, ws, k->g, k->x, k->w, B, C, L, O, K, S, P);
    free(ws);
    k->din[0] = B, k->din[1] = C, k->din[2] = L;
    k->dw_[0] = O, k->dw_[1] = C, k->dw_[2] = K, k->db_[0] = O;
    k->dout[0] = B, k->dout[1] = O, k->dout[2] = (uint64_t)Lo;
}

int main(void)
{
    enum { B = 2, C = 3, H = 9, O = 4, K = 3, S = 2, P = 1, GC = 8, GN = 25, G = 4 };
    int Ho = nn_conv_out(H, K, S, P);
    size_t nin = (size_t)B * C * H * H, nw = (size_t)O * C * K * K, nout = (size_t)B * O * Ho * Ho;
    float *cx = rnd(nin, 1, 1), *cw = rnd(nw, 2, 0.3), *cb = rnd(O, 3, 0.3), *cg = rnd(nout, 4, 1);
    float *cy = malloc(4 * nout), *ws = malloc(4 * nn_conv2d_workspace(B, C, H, H, O, K, S, P));
    float *cdx = calloc(nin, 4), *cdw = calloc(nw, 4), *cdb = calloc(O, 4);
    nn_conv2d_forward(cy, ws, cx, cw, cb, B, C, H, H, O, K, S, P);
    nn_conv2d_backward(cdx, cdw, cdb, ws, cg, cx, cw, B, C, H, H, O, K, S, P);
    size_t ng = (size_t)B * GC * GN;
    float *gx = rnd(ng, 5, 2), *gg = rnd(GC, 6, 1), *gb = rnd(GC, 7, 1), *gd = rnd(ng, 8, 1);
    float *gy = malloc(4 * ng), mean[B * G], rstd[B * G];
    float *gdx = calloc(ng, 4), *gdg = calloc(GC, 4), *gdb = calloc(GC, 4);
    nn_groupnorm_forward(gy, mean, rstd, gx, gg, gb, B, GC, GN, G);
    nn_groupnorm_backward(gdx, gdg, gdb, gd, gx, gg, mean, rstd, B, GC, GN, G);
    conv1d_case k1, k2;
    conv1d_run(&k1, B, C, 11, O, K, 1, P, 11);
    conv1d_run(&k2, B, C, 11, O, K, 2, P, 21);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t din[4] = { B, C, H, H }, dw[4] = { O, C, K, K }, db[1] = { O };
    uint64_t dout[4] = { B, O, (uint64_t)Ho, (uint64_t)Ho }, dg[3] = { B, GC, GN }, dc[1] = { GC };
    struct { const char *name; int rank; uint64_t *dims; float *data; } t[] = {
        { "cx", 4, din, cx }, { "cw", 4, dw, cw }, { "cb", 1, db, cb }, { "cy", 4, dout, cy },
        { "cg", 4, dout, cg }, { "cdx", 4, din, cdx }, { "cdw", 4, dw, cdw }, { "cdb", 1, db, cdb },
        { "gx", 3, dg, gx }, { "gg", 1, dc, gg }, { "gb", 1, dc, gb }, { "gy", 3, dg, gy },
        { "gd", 3, dg, gd }, { "gdx", 3, dg, gdx }, { "gdg", 1, dc, gdg }, { "gdb", 1, dc, gdb },
#define CONV1D(k, p)                                                                        \
        { p "x", 3, k.din, k.x }, { p "w", 3, k.dw_, k.w }, { p "b", 1, k.db_, k.b },       \
        { p "y", 3, k.dout, k.y }, { p "g", 3, k.dout, k.g }, { p "dx", 3, k.din, k.dx },   \
        { p "dw", 3, k.dw_, k.dw }, { p "db", 1, k.db_, k.db }
        CONV1D(k1, "s1"), CONV1D(k2, "s2"),
#undef CONV1D
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        tz_record_add(&rec, t[i].name, TZ_F32, t[i].rank, t[i].dims, t[i].data);
    tz_writer *w = tz_writer_to_file(stdout, 0);
    int rc = tz_write(w, &rec) < 0 || tz_writer_close(w) < 0;
    tz_record_free(&rec);
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        free(t[i].data);
    free(ws);
    return rc;
}
