/* unet_dump - one training step of the C U-Net, written out for the
 * PyTorch cross-check (tests/torch/check_unet.py).
 *
 * Usage: unet-dump C H W E S LEVELS W1,W2,.. NMID TEMB GROUPS HEADS BATCH SEED > step.tz
 * H = 1 is the 1-D U-Net for signals of length W (unet.c): its kernels are
 * 3 taps, and the tensors are still written (B, C, 1, W).
 * Writes one raw plain record: the inputs x (B, C, H, W), cond (B, E H W + S),
 * t (B), target (B, heads C, H, W), the parameters before (p0), the output,
 * the MSE loss, the gradients, the loss's gradient at x (dx), and the parameters after one AdamW step (p1)
 * with lr 1e-2, weight decay 0.1.  The configuration is in the attributes
 * "unet" (C,H,W,E,S,heads,levels,nmid,temb,groups) and "widths".
 *
 * The initialisation is moved off two special points so that every
 * parameter shows in the output and the gradients: the zero output
 * convolution gets small random weights and bias, and the GroupNorm
 * scales and shifts (1 and 0 at initialisation, where a gamma/beta mix-up
 * would not show) get random values around them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/opt.h"
#include "base/rng.h"
#include "formats/tz.h"
#include "nn/unet.h"

static void fill(float *x, size_t n, uint32_t stream, double base, double scale)
{
    rng_t r;
    rng_init(&r, 99, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(base + scale * rng_normal(&r));
}

/* GroupNorm gamma (n values) around 1 and beta around 0. */
static void perturb_norm(float *gamma, float *beta, size_t n, uint32_t stream)
{
    fill(gamma, n, stream, 1, 0.1);
    fill(beta, n, stream + 1, 0, 0.1);
}

int main(int argc, char **argv)
{
    if (argc != 14) {
        fprintf(stderr, "usage: unet-dump C H W E S LEVELS W1,W2,.. NMID TEMB GROUPS HEADS "
                        "BATCH SEED\n");
        return 1;
    }
    unet_config c = { .C = atoi(argv[1]), .H = atoi(argv[2]), .W = atoi(argv[3]),
                      .E = atoi(argv[4]), .S = atoi(argv[5]), .levels = atoi(argv[6]),
                      .nmid = atoi(argv[8]), .temb = atoi(argv[9]), .groups = atoi(argv[10]),
                      .heads = atoi(argv[11]) };
    int nw = 0;
    for (char *s = argv[7], *end; *s && nw < UNET_LEVELS_MAX; s = *end ? end + 1 : end) {
        c.width[nw++] = (int)strtol(s, &end, 10);
        if (end == s)
            break;
    }
    if (c.levels < 1 || nw != c.levels) {
        fprintf(stderr, "unet-dump: %d widths for %d levels\n", nw, c.levels);
        return 1;
    }
    int B = atoi(argv[12]);
    unet u;
    if (B < 1 || unet_init(&u, &c, strtoull(argv[13], NULL, 10)) < 0) {
        fprintf(stderr, "unet-dump: bad configuration\n");
        return 2;
    }
    /* the output convolution's kernel: 3 x 3, or 3 taps in 1-D */
    int O = c.heads * c.C, w0 = c.width[0], area = c.H == 1 ? 3 : 9;
    fill(u.wo, (size_t)O * (size_t)w0 * (size_t)area, 5, 0, 0.05);
    fill(u.bo, (size_t)O, 6, 0, 0.05);
    perturb_norm(u.gn, u.bn, (size_t)w0, 7);
    for (int i = 0; i < u.nblocks; i++) {
        unet_block *b = &u.blk[i];
        perturb_norm(b->g1, b->be1, (size_t)b->ci, 100 + 4 * (uint32_t)i);
        perturb_norm(b->g2, b->be2, (size_t)b->co, 102 + 4 * (uint32_t)i);
    }
    size_t N = (size_t)c.H * (size_t)c.W, Bz = (size_t)B;
    size_t nx = Bz * (size_t)c.C * N, no = Bz * (size_t)O * N;
    size_t row = (size_t)c.E * N + (size_t)c.S, nc = Bz * row;
    float *x = malloc(4 * nx), *cond = malloc(4 * nc + 4), *t = malloc(4 * Bz);
    float *target = malloc(4 * no), *out = malloc(4 * no), *dout = malloc(4 * no);
    float *p0 = malloc(4 * u.nparams), *grads = malloc(4 * u.nparams);
    fill(x, nx, 1, 0, 1), fill(cond, nc, 2, 0, 1), fill(target, no, 3, 0, 1);
    rng_t r;
    rng_init(&r, 99, 4, 0);
    for (int i = 0; i < B; i++)
        t[i] = (float)rng_uniform(&r);
    memcpy(p0, u.params, 4 * u.nparams);
    if (unet_forward(&u, out, x, nc ? cond : NULL, t, B) < 0)
        return 2;
    double loss = nn_mse(dout, out, target, no);
    memset(u.grads, 0, 4 * u.nparams);
    float *gx = malloc(4 * nx);
    unet_backward_dx(&u, dout, gx, B);
    opt_config oc = opt_defaults();
    oc.lr = 1e-2;
    oc.weight_decay = 0.1;
    opt_state os;
    if (opt_init(&os, &oc, u.nparams, u.params) < 0)
        return 2;
    memcpy(grads, u.grads, 4 * u.nparams);
    opt_step(&os, &oc, u.params, u.grads);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t dx[4] = { Bz, (uint64_t)c.C, (uint64_t)c.H, (uint64_t)c.W };
    uint64_t dy[4] = { Bz, (uint64_t)O, (uint64_t)c.H, (uint64_t)c.W };
    uint64_t dc[2] = { Bz, row }, db[1] = { Bz }, dp[1] = { u.nparams };
    tz_record_add(&rec, "x", TZ_F32, 4, dx, x);
    tz_record_add(&rec, "cond", TZ_F32, 2, dc, cond);
    tz_record_add(&rec, "t", TZ_F32, 1, db, t);
    tz_record_add(&rec, "target", TZ_F32, 4, dy, target);
    tz_record_add(&rec, "p0", TZ_F32, 1, dp, p0);
    tz_record_add(&rec, "out", TZ_F32, 4, dy, out);
    tz_record_add(&rec, "loss", TZ_F64, 0, NULL, &loss);
    tz_record_add(&rec, "grads", TZ_F32, 1, dp, grads);
    tz_record_add(&rec, "dx", TZ_F32, 4, dx, gx);
    tz_record_add(&rec, "p1", TZ_F32, 1, dp, u.params);
    char buf[128];
    snprintf(buf, sizeof buf, "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d", c.C, c.H, c.W, c.E, c.S,
             c.heads, c.levels, c.nmid, c.temb, c.groups);
    tz_record_set_attr(&rec, "unet", buf);
    int n = 0;
    for (int l = 0; l < c.levels; l++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%d", l ? "," : "", c.width[l]);
    tz_record_set_attr(&rec, "widths", buf);
    tz_writer *w = tz_writer_to_file(stdout, 0);
    int rc = tz_write(w, &rec) < 0 || tz_writer_close(w) < 0 ? 3 : 0;
    tz_record_free(&rec);       /* the tensors were borrowed */
    free(x), free(cond), free(t), free(target), free(out), free(dout), free(p0), free(grads), free(gx);
    opt_free(&os);
    unet_free(&u);
    return rc;
}
