/* test_dist.c - sample distances (dist.h) and image quality (imq.h):
 * against naive loops that follow the formulas word for word, closed
 * forms, and their invariances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eval/dist.h"
#include "eval/imq.h"
#include "base/rng.h"

/* n x d values mean + sd N(0, 1), keyed by (seed, stream 77, index). */
static float *normal_set(size_t n, int d, double mean, double sd, uint64_t seed)
{
    float *x = malloc(sizeof(float) * n * (size_t)d);
    for (size_t i = 0; i < n; i++) {
        rng_t r;
        rng_init(&r, seed, 77, i);
        for (int c = 0; c < d; c++)
            x[i * (size_t)d + c] = (float)(mean + sd * rng_normal(&r));
    }
    return x;
}

/* The oracle: every ordered pair, i == j skipped, the formula of dist.h. */
static double mmd2_ref(const float *x, size_t n, const float *y, size_t m, int d, double s)
{
    double kxx = 0, kyy = 0, kxy = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j) {
                double q = 0;
                for (int c = 0; c < d; c++)
                    q += ((double)x[i * d + c] - x[j * d + c]) * ((double)x[i * d + c] - x[j * d + c]);
                kxx += exp(-q / (2 * s * s));
            }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            if (i != j) {
                double q = 0;
                for (int c = 0; c < d; c++)
                    q += ((double)y[i * d + c] - y[j * d + c]) * ((double)y[i * d + c] - y[j * d + c]);
                kyy += exp(-q / (2 * s * s));
            }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double q = 0;
            for (int c = 0; c < d; c++)
                q += ((double)x[i * d + c] - y[j * d + c]) * ((double)x[i * d + c] - y[j * d + c]);
            kxy += exp(-q / (2 * s * s));
        }
    return kxx / ((double)n * (n - 1)) + kyy / ((double)m * (m - 1)) - 2 * kxy / ((double)n * m);
}

void test_dist_mmd_vs_naive(void)
{
    /* Odd sizes and dimensions exercise the row groups, the column blocks
     * (d = 300 makes blocks of 16 points) and the four-way sums. */
    static const struct { size_t n, m; int d; double s; } c[] = {
        { 2, 2, 1, 1 }, { 37, 53, 3, 0.7 }, { 61, 40, 7, 2 }, { 45, 33, 300, 20 },
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        float *x = normal_set(c[k].n, c[k].d, 0, 1, 1 + k);
        float *y = normal_set(c[k].m, c[k].d, 0.3, 1.2, 100 + k);
        dist_set_threads(1);
        double one = dist_mmd2(x, c[k].n, y, c[k].m, c[k].d, c[k].s);
        CHECK_NEAR(one, mmd2_ref(x, c[k].n, y, c[k].m, c[k].d, c[k].s), 1e-12);
        /* Bit for bit the same on other thread counts. */
        dist_set_threads(2);
        CHECK(dist_mmd2(x, c[k].n, y, c[k].m, c[k].d, c[k].s) == one);
        dist_set_threads(3);
        CHECK(dist_mmd2(x, c[k].n, y, c[k].m, c[k].d, c[k].s) == one);
        free(x);
        free(y);
    }
    dist_set_threads(1);
    float z[4] = { 0 };
    CHECK(isnan(dist_mmd2(z, 1, z, 4, 1, 1)));
    CHECK(isnan(dist_mmd2(z, 2, z, 2, 1, 0)));
}

void test_dist_mmd_same_distribution(void)
{
    size_t n = 3000;
    float *x = normal_set(n, 2, 0, 1, 1), *y = normal_set(n, 2, 0, 1, 2);
    dist_set_threads(2);
    double a = dist_mmd2(x, n, y, n, 2, 1), b = dist_mmd2(y, n, x, n, 2, 1);
    /* Two draws of one distribution: mean 0, sd about 2.2e-4 at n = 3000
     * (0.00032 at 2000, measured with numpy over 20 draws). */
    CHECK(fabs(a) < 1.5e-3);
    CHECK_NEAR(a, b, 1e-12);
    /* A set against itself: 2 (A - 1) / n, A the mean off-diagonal
     * kernel, so a little below 0. */
    double self = dist_mmd2(x, n, x, n, 2, 1);
    CHECK(self < 0 && self > -2.0 / (double)n);
    /* Moved by one standard deviation, the estimate is far from 0. */
    float *z = normal_set(n, 2, 1, 1, 3);
    CHECK(dist_mmd2(x, n, z, n, 2, 1) > 0.1);
    dist_set_threads(1);
    free(x);
    free(y);
    free(z);
}

void test_dist_mmd_gaussians(void)
{
    /* 1-D N(0, 1) against N(mu, 1): with z ~ N(m, v), E exp(-z^2/(2 s^2))
     * = sqrt(s^2/(s^2+v)) exp(-m^2/(2(s^2+v))), and x - x' ~ N(0, 2), x - y
     * ~ N(-mu, 2), so MMD^2 = 2 sqrt(s^2/(s^2+2)) (1 - exp(-mu^2/(2(s^2+2)))).
     * The tolerances are 4 sampling sds at n = 3000 (numpy, 20 draws at n =
     * 2000: 0.012, 0.0049, 0.017 for the three cases). */
    static const struct { double s, mu, tol; } c[] = {
        { 1, 1, 0.04 }, { 0.5, 0.5, 0.016 }, { 2, 2, 0.055 },
    };
    size_t n = 3000;
    dist_set_threads(2);
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        float *x = normal_set(n, 1, 0, 1, 10 + k), *y = normal_set(n, 1, c[k].mu, 1, 20 + k);
        double s2 = c[k].s * c[k].s;
        double pop = 2 * sqrt(s2 / (s2 + 2)) * (1 - exp(-c[k].mu * c[k].mu / (2 * (s2 + 2))));
        double est = dist_mmd2(x, n, y, n, 1, c[k].s);
        CHECK(fabs(est - pop) < c[k].tol);
        free(x);
        free(y);
    }
    dist_set_threads(1);
}

void test_dist_swd(void)
{
    size_t n = 2000;
    int d = 4;
    float *x = normal_set(n, d, 0, 1, 5);
    CHECK(dist_swd(x, n, x, n, d, 50, 1) == 0);
    /* Shifted by v: every projection moves by u.v, the order stays, so
     * SWD^2 is exactly the mean of (u.v)^2 over the directions, whose
     * expectation is |v|^2 / d.  Its relative sd over K directions is
     * sqrt((2d-2)/((d+2) K)), 1.4% of SWD^2 for d = 4, K = 2000. */
    const float v[4] = { 0.3f, -0.4f, 1.2f, 0.5f };
    float *y = malloc(sizeof(float) * n * (size_t)d);
    double v2 = 0;
    for (int c = 0; c < d; c++)
        v2 += (double)v[c] * v[c];
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < d; c++)
            y[i * d + c] = x[i * d + c] + v[c];
    dist_set_threads(1);
    double one = dist_swd(x, n, y, n, d, 2000, 3);
    CHECK(fabs(one / sqrt(v2 / d) - 1) < 0.03);
    dist_set_threads(2);
    CHECK(dist_swd(x, n, y, n, d, 2000, 3) == one);
    CHECK(dist_swd(y, n, x, n, d, 2000, 3) == one);
    CHECK(dist_swd(x, n, y, n, d, 2000, 4) != one);
    dist_set_threads(1);
    /* Unequal sizes, 1-D, where every direction is +-1: x = 0,1,2,3 and
     * y = 0.5,2.5.  At the levels 1/8, 3/8, 5/8, 7/8 the quantiles are
     * 0,1,2,3 and 0.5,0.5,2.5,2.5: every difference is 0.5. */
    const float a[4] = { 3, 0, 2, 1 }, b[2] = { 2.5f, 0.5f };
    CHECK_NEAR(dist_swd(a, 4, b, 2, 1, 7, 0), 0.5, 1e-15);
    CHECK_NEAR(dist_swd(b, 2, a, 4, 1, 7, 0), 0.5, 1e-15);
    /* And a set against the same set repeated: the same distribution. */
    float xx[2 * 2000 * 4];
    memcpy(xx, x, sizeof(float) * n * d);
    memcpy(xx + n * d, x, sizeof(float) * n * d);
    CHECK_NEAR(dist_swd(x, n, xx, 2 * n, d, 20, 0), 0, 1e-12);
    CHECK(isnan(dist_swd(x, 0, y, n, d, 10, 0)));
    free(x);
    free(y);
}

void test_dist_median_bandwidth(void)
{
    /* Pooled 0, 1, 3, 7: distances 1, 3, 7, 2, 6, 4; median (3 + 4) / 2. */
    const float x[2] = { 0, 1 }, y[2] = { 3, 7 };
    CHECK_NEAR(dist_median_bandwidth(x, 2, y, 2, 1, 100), 3.5, 1e-15);
    /* Three of them (indices 0, 1, 2 of 4): distances 1, 3, 2. */
    CHECK_NEAR(dist_median_bandwidth(x, 2, y, 2, 1, 3), 2, 1e-15);
    CHECK(dist_median_bandwidth(x, 1, y, 0, 1, 100) == 0);
    /* 2-D unit normals: the median of |N(0, 2 I)| is sqrt(2 * 2 ln 2). */
    float *z = normal_set(3000, 2, 0, 1, 9);
    CHECK(fabs(dist_median_bandwidth(z, 1500, z + 3000, 1500, 2, 1000)
               - sqrt(4 * log(2))) < 0.05);
    free(z);
}

void test_imq_mse_psnr(void)
{
    float a[50], b[50];
    for (int i = 0; i < 50; i++) {
        a[i] = (float)i / 50;
        b[i] = a[i] + (i % 2 ? 0.1f : -0.1f);
    }
    double mse = imq_mse(a, b, 50);
    CHECK_NEAR(mse, 0.01, 1e-7);
    CHECK_NEAR(imq_psnr(0.01, 1), 20, 1e-12);
    CHECK_NEAR(imq_psnr(0.01, 255), 20 + 20 * log10(255), 1e-12);
    CHECK(isinf(imq_psnr(imq_mse(a, a, 50), 1)) && imq_psnr(0, 1) > 0);
}

/* The oracle: the 2-D window written out, for one channel at a time. */
static double ssim_ref(const float *a, const float *b, int C, int H, int W, double L)
{
    int w = imq_ssim_window(H, W), r = (w - 1) / 2;
    double g[11], gs = 0;
    for (int u = 0; u < w; u++)
        gs += g[u] = exp(-(u - r) * (u - r) / (2 * 1.5 * 1.5));
    double c1 = 0.01 * L * 0.01 * L, c2 = 0.03 * L * 0.03 * L, total = 0;
    for (int c = 0; c < C; c++)
        for (int y = 0; y + w <= H; y++)
            for (int x = 0; x + w <= W; x++) {
                double ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
                for (int u = 0; u < w; u++)
                    for (int v = 0; v < w; v++) {
                        double k = g[u] * g[v] / (gs * gs);
                        double p = a[((size_t)c * H + y + u) * W + x + v];
                        double q = b[((size_t)c * H + y + u) * W + x + v];
                        ma += k * p, mb += k * q, aa += k * p * p, bb += k * q * q, ab += k * p * q;
                    }
                total += (2 * ma * mb + c1) * (2 * (ab - ma * mb) + c2) /
                         ((ma * ma + mb * mb + c1) * (aa - ma * ma + bb - mb * mb + c2));
            }
    return total / ((double)C * (H - w + 1) * (W - w + 1));
}

void test_imq_ssim(void)
{
    CHECK(imq_ssim_window(28, 28) == 11);
    CHECK(imq_ssim_window(8, 40) == 7);
    CHECK(imq_ssim_window(40, 10) == 9);
    CHECK(imq_ssim_window(1, 5) == 1);
    static const struct { int C, H, W; } s[] = {
        { 1, 28, 28 }, { 3, 13, 17 }, { 2, 8, 9 }, { 1, 2, 5 },
    };
    for (size_t k = 0; k < sizeof s / sizeof *s; k++) {
        size_t n = (size_t)s[k].C * s[k].H * s[k].W;
        float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
        rng_t r;
        rng_init(&r, 4, 1, k);
        for (size_t i = 0; i < n; i++) {
            a[i] = (float)rng_uniform(&r);
            b[i] = (float)(0.7 * a[i] + 0.3 * rng_uniform(&r));
        }
        CHECK_NEAR(imq_ssim(a, a, s[k].C, s[k].H, s[k].W, 1), 1, 1e-12);
        double v = imq_ssim(a, b, s[k].C, s[k].H, s[k].W, 1);
        CHECK(v > 0.2 && v < 0.99);
        CHECK_NEAR(v, ssim_ref(a, b, s[k].C, s[k].H, s[k].W, 1), 1e-12);
        CHECK_NEAR(imq_ssim(b, a, s[k].C, s[k].H, s[k].W, 1), v, 1e-12);
        CHECK_NEAR(imq_ssim(a, b, s[k].C, s[k].H, s[k].W, 2),
                   ssim_ref(a, b, s[k].C, s[k].H, s[k].W, 2), 1e-12);
        free(a);
        free(b);
    }
    /* Constant images p and q: no variance, so SSIM is the luminance term
     * (2pq + C1) / (p^2 + q^2 + C1) alone. */
    float p[400], q[400];
    for (int i = 0; i < 400; i++)
        p[i] = 0.25f, q[i] = 0.75f;
    double c1 = 0.01 * 0.01;
    CHECK_NEAR(imq_ssim(p, q, 1, 20, 20, 1), (2 * 0.25 * 0.75 + c1) /
               (0.25 * 0.25 + 0.75 * 0.75 + c1), 1e-12);
    CHECK(isnan(imq_ssim(p, q, 1, 0, 20, 1)));
    CHECK(isnan(imq_ssim(p, q, 1, 20, 20, 0)));
}
