/* bench_nn.c - throughput of the engine's networks, for `make bench`.
 *
 * Usage: bench-nn CASE THREADS [SECONDS]
 *   CASE: mlp2d (2 -> 256 x 3 -> 2, batch 1024) or mlp784 (784 -> 1024 x 4
 *   -> 784, batch 128), both with a 64-wide time embedding, as
 *   ../shared/bench/torch_ref.py defines them; unet28 or unet32 (UNet-S on
 *   1 x 28 x 28 or on 3 x 32 x 32, two heads: training at batch 64,
 *   inference at batch 256).
 * Prints "train SAMPLES_PER_S" (forward, MSE, backward, AdamW) and "infer
 * SAMPLES_PER_S" (forward only), each over whole steps for at least SECONDS
 * (default 2; 0: one step) after one warm-up step.  One case per process,
 * so that no case runs on another's warm caches: scripts/bench-nn
 * interleaves these runs with the PyTorch mirror's (tests/torch/bench_*.py,
 * the same protocol) and takes medians across them.
 *
 * bench-nn sgemm THREADS: "sgemm GFLOPS", 2048^3, median of 5.
 *
 * bench-nn unet28-profile THREADS [SECONDS]: UNet-S training steps at batch
 * 64 for at least SECONDS (default 2), after one warm-up step, with the
 * U-Net's profile on; prints a TSV of stage, pass, seconds_per_step, share
 * (of the whole step).
 *
 * bench-nn corename: OpenBLAS's core type, then its build configuration,
 * one line each, for the report of the run. */
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
#include "tool/blas.h"

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
static double g_seconds = 2;       /* the SECONDS argument */

/* Samples/s of step(ctx), `batch` samples a call, over whole calls for at
 * least g_seconds after one warm-up call (allocations, page faults). */
static double rate(void (*step)(void *), void *ctx, int batch)
{
    step(ctx);
    long n = 0;
    double t0 = cli_now(), el;
    do {
        step(ctx);
        n++;
    } while ((el = cli_now() - t0) < g_seconds);
    return (double)n * batch / el;
}

/* ---- UNet-S ---------------------------------------------------------- */

typedef struct {
    unet u;
    opt_config oc;
    opt_state os;
    float *x, *y, *out, *d, *t;
    size_t O;                   /* output values per sample */
} unet_bench;

static void unet_bench_init(unet_bench *b, int C, int H, int W)
{
    unet_config c = unet_small(C, H, W);
    if (unet_init(&b->u, &c, 1) < 0)
        exit(1);
    b->oc = opt_defaults();
    opt_init(&b->os, &b->oc, b->u.nparams, b->u.params);
    b->os.threads = g_threads;
    size_t N = (size_t)C * (size_t)H * (size_t)W;
    b->O = (size_t)c.heads * N;
    size_t nx = (size_t)UB_INFER * N, no = (size_t)UB_INFER * b->O;
    b->x = malloc(4 * nx), b->y = malloc(4 * no), b->out = malloc(4 * no);
    b->d = malloc(4 * no), b->t = malloc(4 * (size_t)UB_INFER);
    fill(b->x, nx), fill(b->y, no), fill_t(b->t, UB_INFER);
}

/* One training step; returns the seconds of MSE, zeroing and AdamW. */
static double unet_step(unet_bench *b)
{
    unet_forward(&b->u, b->out, b->x, NULL, b->t, UB);
    double t0 = cli_now();
    nn_mse(b->d, b->out, b->y, (size_t)UB * b->O);
    memset(b->u.grads, 0, sizeof(float) * b->u.nparams);
    double loss = cli_now() - t0;
    unet_backward(&b->u, b->d, UB);
    t0 = cli_now();
    opt_step(&b->os, &b->oc, b->u.params, b->u.grads);
    return loss + cli_now() - t0;
}

static void unet_train(void *b) { unet_step(b); }

static void unet_run(void *ctx)
{
    unet_bench *b = ctx;
    unet_infer(&b->u, b->out, b->x, NULL, b->t, UB_INFER);
}

/* Print one profile row. */
static void row(const char *stage, const char *pass, double s, double step)
{
    printf("%s\t%s\t%.6f\t%.4f\n", stage, pass, s, s / step);
}

static int unet_profile(unet_bench *b)
{
    static double prof[2 * UNET_PROF_N];
    const unet_config *c = &b->u.c;
    unet_step(b);                                   /* warm-up */
    b->u.prof = prof;
    double other = 0, t0 = cli_now(), el;
    int steps = 0;
    do {
        other += unet_step(b);
        steps++;
    } while ((el = cli_now() - t0) < g_seconds);
    double step = el / steps;
    for (int i = 0; i < 2 * UNET_PROF_N; i++)
        prof[i] /= steps;
    printf("stage\tpass\tseconds_per_step\tshare\n");
    const char *pass[2] = { "forward", "backward" };
    for (int p = 0; p < 2; p++) {
        const double *f = prof + p * UNET_PROF_N;
        char name[64];
        double total = 0, conv = f[UNET_PROF_CONV] + f[UNET_PROF_CIN];
        row("temb", pass[p], f[UNET_PROF_TEMB], step);
        row("cin", pass[p], f[UNET_PROF_CIN], step);
        for (int k = 0, i = 0; i < b->u.nblocks; i++) {
            const unet_block *bl = &b->u.blk[i];
            int l = i < c->levels ? i : i >= c->levels + c->nmid ? b->u.nblocks - 1 - i : -1;
            if (i >= c->levels + c->nmid) {  /* the upsampling and concat before it */
                snprintf(name, sizeof name, "upcat%d", ++k);
                row(name, pass[p], f[UNET_PROF_UP + l], step);
                total += f[UNET_PROF_UP + l];
            }
            const char *kind = i < c->levels ? "r" : l < 0 ? "m" : "u";
            int idx = i < c->levels ? i + 1 : l < 0 ? i - c->levels + 1 : k;
            snprintf(name, sizeof name, "%s%d(%d->%d@%dx%d)", kind, idx, bl->ci, bl->co,
                     bl->H, bl->W);
            row(name, pass[p], f[UNET_PROF_BLOCK + i], step);
            total += f[UNET_PROF_BLOCK + i];
            if (i < c->levels) {
                snprintf(name, sizeof name, "d%d(%d->%d/2@%dx%d)", i + 1, bl->co, bl->co,
                         bl->H, bl->W);
                row(name, pass[p], f[UNET_PROF_DOWN + i], step);
                total += f[UNET_PROF_DOWN + i], conv += f[UNET_PROF_DOWN + i];
            }
        }
        row("out", pass[p], f[UNET_PROF_OUT], step);
        total += f[UNET_PROF_TEMB] + f[UNET_PROF_CIN] + f[UNET_PROF_OUT];
        row("total", pass[p], total, step);
        /* kinds: every convolution, and the ResBlocks' and head's norms and SiLUs
         * (forward, each SiLU runs in its norm's pass: counted there) */
        double gn = f[UNET_PROF_GN], silu = f[UNET_PROF_SILU];
        row("kind:conv", pass[p], conv, step);
        row("kind:groupnorm", pass[p], gn, step);
        row("kind:silu", pass[p], silu, step);
        row("kind:other", pass[p], total - conv - gn - silu, step);
    }
    row("mse+zero_grad+adamw", "step", other / steps, step);
    row("step", "step", step, step);
    return 0;
}

/* ---- the MLPs -------------------------------------------------------- */

typedef struct {
    mlp m;
    opt_config oc;
    opt_state os;
    float *x, *y, *out, *d, *t;
    int B;
} mlp_bench;

static void mlp_bench_init(mlp_bench *b, int big)
{
    mlp_config c = big ? (mlp_config){ 784, 0, 64, 1024, 4, 1 } : (mlp_config){ 2, 0, 64, 256, 3, 1 };
    b->B = big ? 128 : 1024;
    if (mlp_init(&b->m, &c, 1) < 0)
        exit(1);
    b->oc = opt_defaults();
    opt_init(&b->os, &b->oc, b->m.nparams, b->m.params);
    b->os.threads = g_threads;
    size_t n = (size_t)b->B * (size_t)c.dim;
    b->x = malloc(4 * n), b->y = malloc(4 * n), b->out = malloc(4 * n), b->d = malloc(4 * n);
    b->t = malloc(4 * (size_t)b->B);
    fill(b->x, n), fill(b->y, n);
    for (int i = 0; i < b->B; i++)
        b->t[i] = (float)i / (float)b->B;
}

static void mlp_infer(void *ctx)
{
    mlp_bench *b = ctx;
    mlp_forward(&b->m, b->out, b->x, NULL, b->t, b->B);
}

static void mlp_train(void *ctx)
{
    mlp_bench *b = ctx;
    mlp_infer(b);
    nn_mse(b->d, b->out, b->y, (size_t)b->B * (size_t)b->m.c.dim);
    mlp_zero_grad(&b->m);
    mlp_backward(&b->m, b->d, b->B);
    opt_step(&b->os, &b->oc, b->m.params, b->m.grads);
}

/* ---- OpenBLAS -------------------------------------------------------- */

static int sgemm(void)
{
    /* OpenBLAS's own figure on THREADS threads (the layers keep it on one
     * and split their GEMMs themselves) */
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

static int usage(void)
{
    fprintf(stderr, "usage: bench-nn mlp2d|mlp784|unet28|unet32|unet28-profile THREADS [SECONDS]\n"
                    "       bench-nn sgemm THREADS\n"
                    "       bench-nn corename\n");
    return 1;
}

int main(int argc, char **argv)
{
    blas_refit(argv);    /* OpenBLAS's kernels for this CPU, as the tools run */
    if (argc == 2 && !strcmp(argv[1], "corename")) {
        printf("%s\n%s\n", openblas_get_corename(), openblas_get_config());
        return 0;
    }
    if (argc < 3 || argc > 4)
        return usage();
    const char *name = argv[1];
    g_threads = atoi(argv[2]);
    if (argc == 4)
        g_seconds = atof(argv[3]);
    nn_set_threads(g_threads);
    if (!strcmp(name, "sgemm"))
        return sgemm();
    mlp_bench m;
    unet_bench u;
    void (*train)(void *), (*infer)(void *);
    void *ctx;
    int btrain, binfer;
    if (!strcmp(name, "mlp2d") || !strcmp(name, "mlp784")) {
        mlp_bench_init(&m, !strcmp(name, "mlp784"));
        train = mlp_train, infer = mlp_infer, ctx = &m, btrain = binfer = m.B;
    } else if (!strcmp(name, "unet28") || !strcmp(name, "unet32") ||
               !strcmp(name, "unet28-profile")) {
        int big = !strcmp(name, "unet32");
        unet_bench_init(&u, big ? 3 : 1, big ? 32 : 28, big ? 32 : 28);
        if (!strcmp(name, "unet28-profile"))
            return unet_profile(&u);
        train = unet_train, infer = unet_run, ctx = &u, btrain = UB, binfer = UB_INFER;
    } else
        return usage();
    double tr = rate(train, ctx, btrain);
    double in = rate(infer, ctx, binfer);
    printf("train %.1f\ninfer %.1f\n", tr, in);
    return 0;
}
