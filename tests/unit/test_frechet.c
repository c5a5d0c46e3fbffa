/* test_frechet.c - the Frechet distance's trace term (frechet.h) and the
 * PSD square root (psd.h) against closed forms; KID's kernel sum
 * (kid.h) against the formula word for word, its pools and subsets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eval/frechet.h"
#include "eval/kid.h"
#include "eval/psd.h"
#include "base/rng.h"

/* Q = H(u) H(v), two Householder reflections of random directions: an
 * orthogonal d x d matrix that is neither diagonal nor symmetric. */
static void rotation(double *Q, size_t d, uint64_t seed)
{
    double *u = malloc(sizeof(double) * d), *v = malloc(sizeof(double) * d);
    rng_t r;
    rng_init(&r, seed, 1, 0);
    double nu = 0, nv = 0;
    for (size_t i = 0; i < d; i++) {
        u[i] = rng_normal(&r), v[i] = rng_normal(&r);
        nu += u[i] * u[i], nv += v[i] * v[i];
    }
    double *Hv = malloc(sizeof(double) * d * d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            Hv[i * d + j] = (i == j) - 2 * v[i] * v[j] / nv;
    for (size_t i = 0; i < d; i++)          /* Q = Hv - 2 u (u^T Hv) / |u|^2 */
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            for (size_t k = 0; k < d; k++)
                s += u[k] * Hv[k * d + j];
            Q[i * d + j] = Hv[i * d + j] - 2 * u[i] * s / nu;
        }
    free(u), free(v), free(Hv);
}

/* S = Q diag(l) Q^T, exactly symmetric. */
static void with_eigen(double *S, const double *Q, const double *l, size_t d)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++) {
            double s = 0;
            for (size_t k = 0; k < d; k++)
                s += Q[i * d + k] * l[k] * Q[j * d + k];
            S[i * d + j] = S[j * d + i] = s;
        }
}

void test_frechet_trace_sqrt(void)
{
    enum { D = 40 };
    double *Q = malloc(sizeof(double) * D * D), *S1 = malloc(sizeof(double) * D * D);
    double *S2 = malloc(sizeof(double) * D * D), a[D], b[D], t;
    rng_t r;
    rng_init(&r, 3, 2, 0);
    /* Commuting (a shared eigenbasis): tr (S1^1/2 S2 S1^1/2)^1/2 =
     * sum sqrt(a_i b_i).  In the axes' basis (the diagonal case) a quarter
     * of a's eigenvalues are 0, as in a covariance of constant features;
     * in a rotated basis too, where they are 0 only to rounding, eps |S1|,
     * and each then adds up to sqrt(eps |S1| b_i) = 3e-8 to the exact
     * trace of the matrices as stored: the square root's own condition at
     * 0, whatever computes it.  Hence the tolerances. */
    static const struct { int rotated, zeros; double tol; } cases[] = {
        { 0, 1, 1e-11 }, { 1, 0, 1e-11 }, { 1, 1, 1e-6 }
    };
    for (int c = 0; c < 3; c++) {
        if (cases[c].rotated)
            rotation(Q, D, 9);
        else
            for (size_t i = 0; i < D * D; i++)
                Q[i] = i % (D + 1) == 0;
        double want = 0, tr1 = 0, tr2 = 0;
        for (int i = 0; i < D; i++) {
            a[i] = cases[c].zeros && i % 4 == 0 ? 0 : 0.01 + 3 * rng_uniform(&r);
            b[i] = 0.01 + 3 * rng_uniform(&r);
            want += sqrt(a[i] * b[i]);
            tr1 += a[i], tr2 += b[i];
        }
        with_eigen(S1, Q, a, D);
        with_eigen(S2, Q, b, D);
        CHECK(fr_trace_sqrt(S1, S2, D, &t) == 0);
        CHECK_NEAR(t, want, cases[c].tol);
        CHECK(fr_trace_sqrt(S2, S1, D, &t) == 0);
        CHECK_NEAR(t, want, cases[c].tol);
        /* The distance between N(0, S1) and N(mu, S2): |mu|^2 + sum
         * (sqrt a_i - sqrt b_i)^2 when they commute. */
        double mu0[D] = { 0 }, mu[D], fd, want_fd = 0;
        for (int i = 0; i < D; i++) {
            mu[i] = 0.1 * i - 1;
            want_fd += mu[i] * mu[i] + (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
        }
        CHECK(fr_distance(mu0, S1, mu, S2, D, &fd) == 0);
        CHECK_NEAR(fd, want_fd, cases[c].tol);
        /* A Gaussian against itself: 0, though S1 is singular. */
        CHECK(fr_distance(mu, S1, mu, S1, D, &fd) == 0);
        CHECK(fabs(fd) < 1e-12 * tr1);
    }
    /* Not commuting, 2 x 2: M = S1^1/2 S2 S1^1/2 has tr M = tr S1 S2 and
     * det M = det S1 det S2, and a 2 x 2 PSD matrix's root has trace
     * sqrt(tr M + 2 sqrt(det M)). */
    double P[4] = { 2, 0.7, 0.7, 1 }, R[4] = { 0.5, -0.3, -0.3, 3 };
    double trM = P[0] * R[0] + 2 * P[1] * R[1] + P[3] * R[3];
    double detM = (P[0] * P[3] - P[1] * P[1]) * (R[0] * R[3] - R[1] * R[1]);
    CHECK(fr_trace_sqrt(P, R, 2, &t) == 0);
    CHECK_NEAR(t, sqrt(trM + 2 * sqrt(detM)), 1e-13);
    free(Q), free(S1), free(S2);
}

void test_psd_sqrt(void)
{
    enum { D = 30 };
    double *Q = malloc(sizeof(double) * D * D), *S = malloc(sizeof(double) * D * D);
    double *H = malloc(sizeof(double) * D * D), l[D];
    rotation(Q, D, 4);
    for (int i = 0; i < D; i++)
        l[i] = i < 5 ? 0 : i * 0.25;
    with_eigen(S, Q, l, D);
    memcpy(H, S, sizeof(double) * D * D);
    CHECK(psd_sqrt(H, D) == 0);
    /* H = Q sqrt(l) Q^T, entry by entry, exactly symmetric */
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int k = 0; k < D; k++)
                s += Q[i * D + k] * sqrt(l[k]) * Q[j * D + k];
            CHECK_NEAR(H[i * D + j], s, 1e-7);    /* zero eigenvalues: sqrt(eps) */
            CHECK(H[i * D + j] == H[j * D + i]);
        }
    /* and H H = S to rounding */
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int k = 0; k < D; k++)
                s += H[i * D + k] * H[k * D + j];
            CHECK_NEAR(s, S[i * D + j], 1e-12);
        }
    /* psd_clip of S minus 1: eigenvalues max(l - 1, 0) */
    for (int i = 0; i < D; i++) {
        S[i * D + i] -= 1;
        l[i] = l[i] > 1 ? l[i] - 1 : 0;
    }
    CHECK(psd_clip(S, D) == 0);
    with_eigen(H, Q, l, D);
    for (int i = 0; i < D * D; i++)
        CHECK_NEAR(S[i], H[i], 1e-12);
    free(Q), free(S), free(H);
}

static double poly(const double *x, const double *y, size_t d)
{
    double s = 0;
    for (size_t c = 0; c < d; c++)
        s += x[c] * y[c];
    s = s / (double)d + 1;
    return s * s * s;
}

void test_kid_mmd2_vs_naive(void)
{
    enum { M = 37, D = 11 };
    double X[M * D], Y[M * D], G[M * M];
    rng_t r;
    rng_init(&r, 5, 3, 0);
    for (int i = 0; i < M * D; i++)
        X[i] = rng_normal(&r), Y[i] = 0.3 + 1.2 * rng_normal(&r);
    double kxx = 0, kyy = 0, kxy = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < M; j++) {
            if (i != j) {
                kxx += poly(X + i * D, X + j * D, D);
                kyy += poly(Y + i * D, Y + j * D, D);
            }
            kxy += poly(X + i * D, Y + j * D, D);
        }
    double want = (kxx + kyy) / (M * (M - 1.0)) - 2 * kxy / ((double)M * M);
    double got = kid_mmd2(X, Y, M, D, G);
    CHECK(fabs(got - want) <= 1e-12 * fabs(want));
    CHECK(want > 0.05);     /* the sets differ: not a test of zeros */
}

/* A pool of n samples of D values, sample i being (i, i, ...). */
static void fill(kid_pool *p, size_t d, size_t cap, uint64_t n, uint64_t seed, int side)
{
    kid_pool_init(p, d, cap, seed, side);
    float *x = malloc(sizeof(float) * d);
    for (uint64_t i = 0; i < n; i++) {
        for (size_t c = 0; c < d; c++)
            x[c] = (float)i + 0.01f * (float)c;
        CHECK(kid_pool_add(p, x) == 0);
    }
    free(x);
}

void test_kid_pool_and_subsets(void)
{
    /* Reservoir: while n <= cap, slot i is sample i; beyond, every sample
     * is kept with probability cap / n: over 4000 seeds, sample 0's and
     * sample 19's frequencies are 0.25 (sd 0.007). */
    kid_pool p;
    fill(&p, 3, 100, 90, 1, 0);
    CHECK(kid_pool_size(&p) == 90);
    for (size_t i = 0; i < 90; i++)
        CHECK(p.x[i * 3] == (float)i);
    kid_pool_free(&p);
    int first = 0, last = 0;
    for (uint64_t seed = 0; seed < 4000; seed++) {
        fill(&p, 1, 5, 20, seed, seed % 2);
        CHECK(kid_pool_size(&p) == 5);
        int seen[20] = { 0 };
        for (size_t i = 0; i < 5; i++)
            seen[(int)p.x[i]]++;
        for (int i = 0; i < 20; i++)
            CHECK(seen[i] <= 1);
        first += seen[0], last += seen[19];
        kid_pool_free(&p);
    }
    CHECK(fabs(first / 4000.0 - 0.25) < 0.03);
    CHECK(fabs(last / 4000.0 - 0.25) < 0.03);

    /* One subset of all samples is the whole-set MMD^2 (the order the
     * subset draws does not change it); the thread count changes no bit. */
    kid_pool a, b;
    enum { N = 60, D = 4 };
    fill(&a, D, 1000, N, 7, 0);
    fill(&b, D, 1000, N, 7, 1);
    for (size_t i = 0; i < N * D; i++)
        b.x[i] = b.x[i] * 1.1f + 2;
    double X[N * D], Y[N * D], G[N * N];
    for (size_t i = 0; i < N * D; i++)
        X[i] = a.x[i], Y[i] = b.x[i];
    kid_result k1, k3;
    CHECK(kid_estimate(&a, &b, 1, 5000, 0, 1, &k1) == 0);
    CHECK(k1.m == N && isnan(k1.se));
    CHECK_NEAR(k1.mean, kid_mmd2(X, Y, N, D, G), 1e-12);
    CHECK(kid_estimate(&a, &b, 7, 20, 3, 1, &k1) == 0);
    CHECK(kid_estimate(&a, &b, 7, 20, 3, 3, &k3) == 0);
    CHECK(k1.m == 20 && k1.subsets == 7 && k1.sd > 0);
    CHECK(k1.mean == k3.mean && k1.se == k3.se);
    CHECK(k1.se == k1.sd / sqrt(7.0));
    CHECK(kid_estimate(&a, &b, 7, 20, 4, 1, &k3) == 0);
    CHECK(k1.mean != k3.mean);      /* the seed draws the subsets */
    kid_pool_free(&a), kid_pool_free(&b);
}
