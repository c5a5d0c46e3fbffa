/* test_classic.c - method/classic.h and eval/moments.h on hand-made cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "method/classic.h"
#include "eval/moments.h"
#include "base/err.h"
#include "base/rng.h"

/* The 4x4 case of neighbour fill worked by hand (classic.h's sweeps):
 * corners observed, 1 top-left and 5 bottom-right. */
void test_classic_neighbour_4x4(void)
{
    float y[16] = { 0 }, m[16] = { 0 }, x[16];
    y[0] = 1, m[0] = 1, y[15] = 5, m[15] = 1;
    static const float want[16] = { 1, 1, 1, 3,  1, 1, 3, 5,  1, 3, 5, 5,  3, 5, 5, 5 };
    CHECK(cls_neighbour(y, m, 16, 1, 4, 4, x) == 0);
    for (int i = 0; i < 16; i++)
        CHECK(x[i] == want[i]);
    memset(m, 0, sizeof m);         /* nothing observed: zeros */
    CHECK(cls_neighbour(y, m, 16, 1, 4, 4, x) == 0);
    for (int i = 0; i < 16; i++)
        CHECK(x[i] == 0);
}

/* Harmonic: the residual at unobserved pixels below 1e-6 in f32, observed
 * pixels untouched, on random 2-channel images and masks (per pixel and
 * per value), and a constant observation fills with the constant. */
void test_classic_harmonic(void)
{
    enum { C = 2, H = 9, W = 11, D = C * H * W };
    float y[D], m[D], x[D];
    rng_t r;
    for (int trial = 0; trial < 20; trial++) {
        rng_init(&r, 7, 1, (uint64_t)trial);
        size_t mc = trial % 2 ? D : H * W;
        for (int i = 0; i < D; i++) {
            y[i] = (float)rng_uniform(&r);
            m[i] = rng_uniform(&r) < 0.3 + 0.03 * trial ? 1.0f : 0.0f;
        }
        CHECK(cls_harmonic(y, m, mc, C, H, W, x) == 0);
        CHECK(cls_harmonic_residual(x, m, mc, C, H, W) < 1e-6);
        for (int i = 0; i < D; i++)
            if (m[i % mc] != 0)
                CHECK(x[i] == y[i]);
    }
    for (int i = 0; i < D; i++)
        y[i] = 0.25f, m[i] = i % 7 == 0;
    CHECK(cls_harmonic(y, m, D, C, H, W, x) == 0);
    for (int i = 0; i < D; i++)
        CHECK_NEAR(x[i], 0.25, 1e-7);
}

/* LMMSE on a 2-value prior, worked by hand. */
void test_classic_lmmse_2d(void)
{
    double mu[2] = { 0, 0 }, cov[4] = { 1, 0.5, 0.5, 1 };
    cls_prior p = { 2, mu, cov, 0, 0 };
    float y[2] = { 2, 0 }, m[2] = { 1, 0 }, x[2];
    CHECK(cls_lmmse(&p, y, m, 2, x) == 0);
    CHECK(x[0] == 2);
    CHECK_NEAR(x[1], 1.0, 1e-12);
    p.s2 = 1;                       /* noisy: the estimate everywhere */
    CHECK(cls_lmmse(&p, y, m, 2, x) == 0);
    CHECK_NEAR(x[0], 1.0, 1e-7);
    CHECK_NEAR(x[1], 0.5, 1e-7);
    m[0] = 0;                       /* nothing observed: the mean */
    CHECK(cls_lmmse(&p, y, m, 2, x) == 0);
    CHECK(x[0] == 0 && x[1] == 0);
    double bad[4] = { 1, 2, 2, 1 };  /* not positive definite */
    cls_prior q = { 2, mu, bad, 0, 0 };
    float m2[2] = { 1, 1 };
    CHECK(cls_lmmse(&q, y, m2, 2, x) == ERR_NUMERIC);
}

/* Moments: the full estimator against two-pass sums; the pairwise one with
 * every value observed equals it, and with a mask against direct sums. */
void test_moments_estimators(void)
{
    enum { N = 37, D = 5 };
    float x[N][D], m[N][D], ones[D];
    rng_t r;
    rng_init(&r, 3, 2, 0);
    for (int k = 0; k < N; k++)
        for (int j = 0; j < D; j++) {
            x[k][j] = (float)(10 + rng_uniform(&r) + (j ? 0.5 * x[k][j - 1] : 0));
            m[k][j] = rng_uniform(&r) < 0.6;
        }
    for (int j = 0; j < D; j++)
        ones[j] = 1;
    double mean[D], cov[D * D], mean1[D], cov1[D * D], mean2[D], cov2[D * D];
    mom_acc a, b, c;
    CHECK(mom_init(&a, D, 0) == 0 && mom_init(&b, D, 1) == 0 && mom_init(&c, D, 1) == 0);
    for (int k = 0; k < N; k++) {
        mom_add(&a, x[k], NULL, 0);
        mom_add(&b, x[k], ones, D);
        mom_add(&c, x[k], m[k], D);
    }
    uint64_t mp;
    CHECK(mom_finish(&a, mean, cov, &mp) == 0 && mp == N);
    CHECK(mom_finish(&b, mean1, cov1, &mp) == 0 && mp == N);
    CHECK(mom_finish(&c, mean2, cov2, &mp) == 0);
    for (int i = 0; i < D; i++) {
        double s = 0, si = 0, n = 0;
        for (int k = 0; k < N; k++) {
            s += x[k][i];
            si += m[k][i] * x[k][i];
            n += m[k][i];
        }
        CHECK_NEAR(mean[i], s / N, 1e-12);
        CHECK_NEAR(mean1[i], s / N, 1e-12);
        CHECK_NEAR(mean2[i], si / n, 1e-12);
        for (int j = 0; j < D; j++) {
            double t = 0;
            for (int k = 0; k < N; k++)
                t += (x[k][i] - s / N) * (x[k][j] - mean[j]);
            CHECK_NEAR(cov[i * D + j], t / (N - 1), 1e-12);
            CHECK_NEAR(cov1[i * D + j], t / (N - 1), 1e-11);
            CHECK(cov2[i * D + j] == cov2[j * D + i]);
        }
    }
    mom_free(&a), mom_free(&b), mom_free(&c);
}
