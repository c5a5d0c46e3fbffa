/* layer_dump - the conv2d and GroupNorm passes of the C engine on fixed
 * random data, written out for tests/torch/check_layers.py.
 *
 * Usage: layer-dump > layers.tz
 * One raw plain record: conv2d (B 2, C 3, 9x9 -> O 4, k 3, stride 2, pad 1)
 * input cx, weight cw, bias cb, output cy, upstream gradient cg, and the
 * gradients cdx, cdw, cdb; GroupNorm (B 2, C 8, 5x5, G 4) input gx, gamma
 * gg, beta gb, output gy, upstream gradient gd, gradients gdx, gdg, gdb. */
#include <stdio.h>
#include <stdlib.h>

#include "nn.h"
#include "rng.h"
#include "tz.h"

static float *rnd(size_t n, uint32_t stream, double scale)
{
    float *x = malloc(4 * n);
    rng_t r;
    rng_init(&r, 5, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
    return x;
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
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t din[4] = { B, C, H, H }, dw[4] = { O, C, K, K }, db[1] = { O };
    uint64_t dout[4] = { B, O, (uint64_t)Ho, (uint64_t)Ho }, dg[3] = { B, GC, GN }, dc[1] = { GC };
    struct { const char *name; int rank; uint64_t *dims; float *data; } t[] = {
        { "cx", 4, din, cx }, { "cw", 4, dw, cw }, { "cb", 1, db, cb }, { "cy", 4, dout, cy },
        { "cg", 4, dout, cg }, { "cdx", 4, din, cdx }, { "cdw", 4, dw, cdw }, { "cdb", 1, db, cdb },
        { "gx", 3, dg, gx }, { "gg", 1, dc, gg }, { "gb", 1, dc, gb }, { "gy", 3, dg, gy },
        { "gd", 3, dg, gd }, { "gdx", 3, dg, gdx }, { "gdg", 1, dc, gdg }, { "gdb", 1, dc, gdb },
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
