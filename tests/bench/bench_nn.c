/* bench_nn.c - throughput of the engine's MLPs, for `make bench`.
 *
 * Usage: bench-nn NET THREADS
 *   NET: mlp2d (2 -> 256 x 3 -> 2, batch 1024) or mlp784 (784 -> 1024 x 4
 *   -> 784, batch 128), both with a 64-wide time embedding, as
 *   ../shared/bench/torch_ref.py defines them; or sgemm (2048^3 GFLOP/s).
 * Prints "train SAMPLES_PER_S" (forward, MSE, backward, AdamW) and "infer
 * SAMPLES_PER_S" (forward only), each the median of 5 timed runs after a
 * warm-up; for sgemm, "sgemm GFLOPS". */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mlp.h"
#include "nn.h"
#include "opt.h"
#include "rng.h"

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

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-nn mlp2d|mlp784|sgemm THREADS\n");
        return 1;
    }
    nn_set_threads(atoi(argv[2]));
    if (!strcmp(argv[1], "sgemm")) {
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
    mlp_config c = big ? (mlp_config){ 784, 0, 64, 1024, 4 } : (mlp_config){ 2, 0, 64, 256, 3 };
    int B = big ? 128 : 1024, steps = big ? 20 : 100;
    mlp m;
    mlp_init(&m, &c, 1);
    opt_config oc = opt_defaults();
    opt_state os;
    opt_init(&os, &oc, m.nparams, m.params);
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
