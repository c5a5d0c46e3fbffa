/* bench_nn.c - throughput of the engine's networks, for `make bench`.
 *
 * Usage: bench-nn NET THREADS
 *   NET: mlp2d (2 -> 256 x 3 -> 2, batch 1024) or mlp784 (784 -> 1024 x 4
 *   -> 784, batch 128), both with a 64-wide time embedding, as
 *   ../shared/bench/torch_ref.py defines them; unet28 (UNet-S on 1 x 28 x
 *   28, two heads: training at batch 64, inference at batch 256); or sgemm
 *   (2048^3 GFLOP/s).
 * Prints "train SAMPLES_PER_S" (forward, MSE, backward, AdamW) and "infer
 * SAMPLES_PER_S" (forward only), each the median of 5 timed runs after a
 * warm-up; for sgemm, "sgemm GFLOPS".
 *
 * bench-nn unet28-profile THREADS: 20 UNet-S training steps at batch 64
 * (after one warm-up step) with the U-Net's profile on; prints a TSV of
 * stage, pass, seconds_per_step, share (of the whole step). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"
#include "nn/mlp.h"
#include "nn/nn.h"
#include "nn/opt.h"
#include "base/rng.h"
#include "nn/unet.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median5(double *v)
{
    qsort(v, 5, sizeof *v, cmp);
    return v[2];
}

static void fill(float *x, size_t n)
{
    rng_t r;
    rng_init(&r, 1, 0, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_normal(&r);
}

static void fill_t(float *t, int B)
{
    rng_t r;
    rng_init(&r, 2, 0, 0);
    for (int i = 0; i < B; i++)
        t[i] = (float)rng_uniform(&r);
}

enum { UB = 64, UB_INFER = 256 };   /* UNet-S batches: training, inference */
static int g_threads = 1;          /* the THREADS argument */

/* One UNet-S training step; returns the seconds of MSE, zeroing and AdamW. */
static double unet_step(unet *u, opt_state *os, const opt_config *oc, float *out, float *d,
                        const float *x, const float *y, const float *t, size_t n)
{
    unet_forward(u, out, x, NULL, t, UB);
    double t0 = cli_now();
    nn_mse(d, out, y, n);
    memset(u->grads, 0, sizeof(float) * u->nparams);
    double loss = cli_now() - t0;
    unet_backward(u, d, UB);
    t0 = cli_now();
    opt_step(os, oc, u->params, u->grads);
    return loss + cli_now() - t0;
}

/* Print one profile row. */
static void row(const char *stage, const char *pass, double s, double step)
{
    printf("%s\t%s\t%.6f\t%.4f\n", stage, pass, s, s / step);
}

static int bench_unet(int profile)
{
    unet_config c = unet_small(1, 28, 28);
    unet u;
    if (unet_init(&u, &c, 1) < 0)
        return 1;
    opt_config oc = opt_defaults();
    opt_state os;
    opt_init(&os, &oc, u.nparams, u.params);
    os.threads = g_threads;
    size_t N = (size_t)c.C * (size_t)c.H * (size_t)c.W, O = (size_t)c.heads * N;
    size_t nx = (size_t)UB_INFER * N, no = (size_t)UB_INFER * O;
    float *x = malloc(4 * nx), *y = malloc(4 * no), *out = malloc(4 * no), *d = malloc(4 * no);
    float *t = malloc(4 * (size_t)UB_INFER);
    fill(x, nx), fill(y, no), fill_t(t, UB_INFER);
    if (profile) {
        enum { STEPS = 20 };
        static double prof[2 * UNET_PROF_N];
        unet_step(&u, &os, &oc, out, d, x, y, t, (size_t)UB * O);   /* warm-up */
        u.prof = prof;
        double other = 0, t0 = cli_now();
        for (int s = 0; s < STEPS; s++)
            other += unet_step(&u, &os, &oc, out, d, x, y, t, (size_t)UB * O);
        double step = (cli_now() - t0) / STEPS;
        for (int i = 0; i < 2 * UNET_PROF_N; i++)
            prof[i] /= STEPS;
        printf("stage\tpass\tseconds_per_step\tshare\n");
        const char *pass[2] = { "forward", "backward" };
        for (int p = 0; p < 2; p++) {
            const double *f = prof + p * UNET_PROF_N;
            char name[64];
            double total = 0, conv = f[UNET_PROF_CONV] + f[UNET_PROF_CIN];
            row("temb", pass[p], f[UNET_PROF_TEMB], step);
            row("cin", pass[p], f[UNET_PROF_CIN], step);
            for (int b = 0, k = 0; b < u.nblocks; b++) {
                const unet_block *bl = &u.blk[b];
                int l = b < c.levels ? b : b >= c.levels + c.nmid ? u.nblocks - 1 - b : -1;
                if (b >= c.levels + c.nmid) {  /* the upsampling and concat before it */
                    snprintf(name, sizeof name, "upcat%d", ++k);
                    row(name, pass[p], f[UNET_PROF_UP + l], step);
                    total += f[UNET_PROF_UP + l];
                }
                const char *kind = b < c.levels ? "r" : l < 0 ? "m" : "u";
                int idx = b < c.levels ? b + 1 : l < 0 ? b - c.levels + 1 : k;
                snprintf(name, sizeof name, "%s%d(%d->%d@%dx%d)", kind, idx, bl->ci, bl->co,
                         bl->H, bl->W);
                row(name, pass[p], f[UNET_PROF_BLOCK + b], step);
                total += f[UNET_PROF_BLOCK + b];
                if (b < c.levels) {
                    snprintf(name, sizeof name, "d%d(%d->%d/2@%dx%d)", b + 1, bl->co, bl->co,
                             bl->H, bl->W);
                    row(name, pass[p], f[UNET_PROF_DOWN + b], step);
                    total += f[UNET_PROF_DOWN + b], conv += f[UNET_PROF_DOWN + b];
                }
            }
            row("out", pass[p], f[UNET_PROF_OUT], step);
            total += f[UNET_PROF_TEMB] + f[UNET_PROF_CIN] + f[UNET_PROF_OUT];
            row("total", pass[p], total, step);
            /* kinds: every convolution, and the ResBlocks' and head's norms and SiLUs */
            double gn = f[UNET_PROF_GN], silu = f[UNET_PROF_SILU];
            row("kind:conv", pass[p], conv, step);
            row("kind:groupnorm", pass[p], gn, step);
            row("kind:silu", pass[p], silu, step);
            row("kind:other", pass[p], total - conv - gn - silu, step);
        }
        row("mse+zero_grad+adamw", "step", other / STEPS, step);
        row("step", "step", step, step);
        return 0;
    }
    double train[5], infer[5];
    int steps = 4, passes = 2;
    for (int run = -1; run < 5; run++) {       /* run -1 warms up */
        double t0 = cli_now();
        for (int s = 0; s < steps; s++)
            unet_step(&u, &os, &oc, out, d, x, y, t, (size_t)UB * O);
        double t1 = cli_now();
        for (int s = 0; s < passes; s++)
            unet_forward(&u, out, x, NULL, t, UB_INFER);
        double t2 = cli_now();
        if (run >= 0) {
            train[run] = steps * (double)UB / (t1 - t0);
            infer[run] = passes * (double)UB_INFER / (t2 - t1);
        }
    }
    printf("train %.1f\ninfer %.1f\n", median5(train), median5(infer));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-nn mlp2d|mlp784|unet28|unet28-profile|sgemm THREADS\n");
        return 1;
    }
    g_threads = atoi(argv[2]);
    nn_set_threads(g_threads);
    if (!strcmp(argv[1], "unet28") || !strcmp(argv[1], "unet28-profile"))
        return bench_unet(!strcmp(argv[1], "unet28-profile"));
    if (!strcmp(argv[1], "sgemm")) {
        /* OpenBLAS's own figure on THREADS threads (the layers keep it on
         * one and split their GEMMs themselves) */
        openblas_set_num_threads(g_threads);
        int n = 2048;
        float *a = malloc(4 * (size_t)n * n), *b = malloc(4 * (size_t)n * n), *c = malloc(4 * (size_t)n * n);
        fill(a, (size_t)n * n), fill(b, (size_t)n * n);
        double runs[5];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        for (int k = 0; k < 5; k++) {
            double t0 = cli_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
            runs[k] = 2.0 * n * n * (double)n / (cli_now() - t0) / 1e9;
        }
        printf("sgemm %.1f\n", median5(runs));
        return 0;
    }
    int big = !strcmp(argv[1], "mlp784");
    mlp_config c = big ? (mlp_config){ 784, 0, 64, 1024, 4, 1 } : (mlp_config){ 2, 0, 64, 256, 3, 1 };
    int B = big ? 128 : 1024, steps = big ? 20 : 100;
    mlp m;
    mlp_init(&m, &c, 1);
    opt_config oc = opt_defaults();
    opt_state os;
    opt_init(&os, &oc, m.nparams, m.params);
    os.threads = g_threads;
    size_t n = (size_t)B * (size_t)c.dim;
    float *x = malloc(4 * n), *y = malloc(4 * n), *out = malloc(4 * n), *d = malloc(4 * n);
    float *t = malloc(4 * (size_t)B);
    fill(x, n), fill(y, n);
    for (int i = 0; i < B; i++)
        t[i] = (float)i / (float)B;
    double train[5], infer[5];
    for (int run = -1; run < 5; run++) {       /* run -1 warms up */
        double t0 = cli_now();
        for (int s = 0; s < steps; s++) {
            mlp_forward(&m, out, x, NULL, t, B);
            nn_mse(d, out, y, n);
            mlp_zero_grad(&m);
            mlp_backward(&m, d, B);
            opt_step(&os, &oc, m.params, m.grads);
        }
        double t1 = cli_now();
        for (int s = 0; s < steps; s++)
            mlp_forward(&m, out, x, NULL, t, B);
        double t2 = cli_now();
        if (run >= 0) {
            train[run] = steps * (double)B / (t1 - t0);
            infer[run] = steps * (double)B / (t2 - t1);
        }
    }
    printf("train %.0f\ninfer %.0f\n", median5(train), median5(infer));
    return 0;
}
