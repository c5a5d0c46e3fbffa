/* test_fwd.c - the forward operators: properties, not recorded outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/err.h"
#include "base/rng.h"
#include "ops/fwd.h"
#include "ops/synth.h"
#include "formats/tz.h"

/* n smooth test images (n, c, h, w) in [0, 1]: blobs of random centres. */
static tz_record images(uint64_t n, int c, int h, int w)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t dims[4] = { n, (uint64_t)c, (uint64_t)h, (uint64_t)w };
    tz_tensor *x = tz_record_add(&rec, "x", TZ_F32, 4, dims, NULL);
    float *p = x->data;
    for (uint64_t i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    double cy = h * (0.3 + 0.4 * ((i * 7) % 10) / 10.0);
                    double cx = w * (0.3 + 0.4 * ((i * 3) % 10) / 10.0);
                    double d2 = (y - cy) * (y - cy) + (xx - cx) * (xx - cx);
                    *p++ = (float)(0.1 + 0.8 * exp(-d2 / (0.05 * h * w)) * (ch + 1) / c);
                }
    return rec;
}

/* Apply spec to rec's x; returns the output record (caller frees). */
static tz_record run(const char *spec_text, const tz_record *in, uint64_t first,
                     int threads, uint64_t seed)
{
    fwd_spec spec;
    tz_record out;
    tz_record_init(&out, TZ_BATCH);
    CHECK(fwd_parse(spec_text, &spec) == 0);
    CHECK(fwd_apply(&spec, tz_record_find(in, "x"), first, 0, seed, threads, &out, "y") == 0);
    return out;
}

static float *field(tz_record *r, const char *name)
{
    tz_tensor *t = tz_record_find(r, name);
    CHECK(t != NULL);
    return t ? t->data : NULL;
}

void test_fwd_parse(void)
{
    fwd_spec s;
    CHECK(fwd_parse("blur:sigma=1,awgn:sigma=0.1,jpeg:q=10-50", &s) == 0 && s.nops == 3);
    CHECK(s.op[2].p[0] == 10 && s.op[2].p[1] == 50);
    CHECK(fwd_parse("jpeg:q=30", &s) == 0 && s.op[0].p[0] == 30 && s.op[0].p[1] == 30);
    CHECK(fwd_parse("mask", &s) == 0 && s.op[0].p[0] == 0.5);
    CHECK(fwd_parse("", &s) == ERR_USAGE);
    CHECK(fwd_parse("smudge:x=1", &s) == ERR_USAGE);
    CHECK(strstr(err_msg(), "unknown operator 'smudge'") != NULL);
    CHECK(fwd_parse("blur:radius=1", &s) == ERR_USAGE);
    CHECK(strstr(err_msg(), "no parameter 'radius'") != NULL);
    CHECK(fwd_parse("mask:p=1.5", &s) == ERR_USAGE);
    CHECK(fwd_parse("jpeg:q=50-10", &s) == ERR_USAGE);
    CHECK(fwd_parse("motion:k=2.5", &s) == ERR_USAGE);
    CHECK(fwd_parse("motion:k=4", &s) == ERR_USAGE);
    CHECK(strstr(err_msg(), "odd") != NULL);
    CHECK(fwd_parse("awgn,", &s) == ERR_USAGE);
    CHECK(fwd_parse("mask,mask", &s) == ERR_USAGE);
    CHECK(fwd_parse("awgn:sigma=nan", &s) == ERR_USAGE);
}

void test_fwd_kernels(void)
{
    float k[64];
    for (double sigma = 0.5; sigma <= 3; sigma += 0.5) {
        int taps = lin_gauss_kernel(sigma, 3, k, 64);
        CHECK(taps == 2 * (int)ceil(3 * sigma) + 1);
        double sum = 0;
        for (int i = 0; i < taps; i++)
            sum += k[i];
        CHECK_NEAR(sum, 1.0, 1e-6);
        CHECK(k[taps / 2] > k[0] && fabsf(k[0] - k[taps - 1]) < 1e-9f);
    }
    float m[15 * 15];
    for (int len = 3; len <= 15; len += 4)
        for (double th = -3; th < 3.2; th += 0.7) {
            lin_motion_kernel(len, th, m);
            double sum = 0, mx = 0, my = 0;
            for (int i = 0; i < len * len; i++)
                sum += m[i];
            CHECK_NEAR(sum, 1.0, 1e-5);
            /* The line's extent along its direction is len - 1 pixels
             * between the centres of its end pixels: check the spread. */
            double var = 0, c = (len - 1) / 2.0;
            for (int y = 0; y < len; y++)
                for (int x = 0; x < len; x++) {
                    double t = (x - c) * cos(th) - (y - c) * sin(th);
                    var += m[y * len + x] * t * t;
                    mx += m[y * len + x] * (x - c);
                    my += m[y * len + x] * (y - c);
                }
            /* a uniform segment of length L has variance L^2/12 */
            CHECK(fabs(var - (len - 1) * (len - 1) / 12.0) < 0.25 + 0.02 * len * len / 12);
            CHECK(fabs(mx) < 1e-4 && fabs(my) < 1e-4);
        }
    lin_motion_kernel(7, 0, m);     /* horizontal: one row, 7 long */
    int nonzero = 0;
    for (int i = 0; i < 49; i++)
        nonzero += m[i] > 1e-6f;
    CHECK(nonzero == 7);
}

void test_fwd_mask_fraction(void)
{
    tz_record in = images(200, 1, 28, 28);
    tz_record out = run("mask:p=0.3", &in, 0, 2, 5);
    float *mask = field(&out, "mask"), *y = field(&out, "y"), *x = field(&in, "x");
    uint64_t n = 200 * 28 * 28, kept = 0, bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        kept += mask[i] == 1.0f;
        bad += mask[i] == 1.0f ? y[i] != x[i] : y[i] != 0.0f;
    }
    /* binomial: mean 0.7 n, sd sqrt(n 0.21) = 181; allow 5 sd */
    CHECK(fabs((double)kept - 0.7 * (double)n) < 5 * 181);
    CHECK(bad == 0);
    tz_record_free(&out);
    /* channels share the mask; fill draws noise where dropped */
    tz_record_free(&in);
    in = images(20, 3, 16, 16);
    out = run("mask:p=0.5:fill=1", &in, 0, 1, 5);
    y = field(&out, "y");
    mask = field(&out, "mask");
    x = field(&in, "x");
    uint64_t shared = 0, filled = 0;
    for (uint64_t i = 0; i < 20; i++)
        for (int p = 0; p < 256; p++) {
            int keep = mask[i * 256 + (uint64_t)p] == 1.0f;
            for (int c = 0; c < 3; c++) {
                uint64_t at = (i * 3 + (uint64_t)c) * 256 + (uint64_t)p;
                shared += keep == (y[at] == x[at]);
                filled += !keep && y[at] != 0;
            }
        }
    CHECK(shared == 20 * 3 * 256);
    CHECK(filled > 0);
    tz_record_free(&out);
    tz_record_free(&in);
}

void test_fwd_blur_preserves_constant(void)
{
    tz_record in = images(4, 1, 20, 20);
    float *x = field(&in, "x");
    for (int i = 0; i < 4 * 400; i++)
        x[i] = 0.37f;
    const char *specs[] = { "blur:sigma=1.5", "motion:k=9", "down:f=4" };
    for (int s = 0; s < 3; s++) {
        tz_record out = run(specs[s], &in, 0, 1, 1);
        float *y = field(&out, "y");
        for (int i = 0; i < 4 * 400; i++)
            CHECK_NEAR(y[i], 0.37, 1e-5);
        tz_record_free(&out);
    }
    /* A kernel that sums to 1 keeps the mean of an image that is flat near
     * its border (where the reflected edge would add or lose mass). */
    tz_record_free(&in);
    in = images(4, 1, 28, 28);
    x = field(&in, "x");
    for (int i = 0; i < 4 * 784; i++) {
        int r = (i % 784) / 28, c = i % 28;
        x[i] = r >= 9 && r < 19 && c >= 11 && c < 17 ? 0.9f - 0.01f * (float)(r + c) : 0.2f;
    }
    const char *keep[] = { "blur:sigma=1", "motion:k=5", "down:f=2" };
    for (int s = 0; s < 3; s++) {
        tz_record out = run(keep[s], &in, 0, 1, 1);
        double mx = 0, my = 0;
        for (int i = 0; i < 4 * 784; i++)
            mx += field(&in, "x")[i], my += field(&out, "y")[i];
        CHECK_NEAR(my / mx, 1.0, 1e-5);
        tz_record_free(&out);
    }
    tz_record_free(&in);
}

void test_fwd_noise_std(void)
{
    tz_record in = images(100, 1, 28, 28);
    const char *specs[] = { "awgn:sigma=0.2", "blur:sigma=1:noise=0.05" };
    double want[] = { 0.2, 0.05 };
    for (int s = 0; s < 2; s++) {
        tz_record clean = run(s ? "blur:sigma=1" : "clip:lo=-1e9:hi=1e9", &in, 0, 1, 9);
        tz_record out = run(specs[s], &in, 0, 2, 9);
        double s2 = 0, m = 0;
        uint64_t n = 100 * 784;
        for (uint64_t i = 0; i < n; i++) {
            double d = field(&out, "y")[i] - field(&clean, "y")[i];
            m += d;
            s2 += d * d;
        }
        /* sd of the variance estimate: sigma^2 sqrt(2/n) = 0.5% */
        CHECK(fabs(sqrt(s2 / n) - want[s]) < 0.02 * want[s]);
        CHECK(fabs(m / n) < 4 * want[s] / sqrt((double)n));
        tz_record_free(&out);
        tz_record_free(&clean);
    }
    tz_record_free(&in);
}

void test_fwd_jpeg_quality(void)
{
    tz_record in = images(16, 1, 32, 32);
    double prev = 1e9;
    const char *specs[] = { "jpeg:q=10", "jpeg:q=40", "jpeg:q=90" };
    for (int s = 0; s < 3; s++) {
        tz_record out = run(specs[s], &in, 0, 2, 1);
        double e = 0;
        for (int i = 0; i < 16 * 1024; i++) {
            double d = field(&out, "y")[i] - field(&in, "x")[i];
            e += d * d;
        }
        CHECK(e < prev);
        prev = e;
        CHECK(field(&out, "quality")[0] == (s == 0 ? 10 : s == 1 ? 40 : 90));
        tz_record_free(&out);
    }
    tz_record out = run("jpeg:q=20-22", &in, 0, 2, 3);
    int seen[3] = { 0 };
    for (int i = 0; i < 16; i++) {
        float q = field(&out, "quality")[i];
        CHECK(q >= 20 && q <= 22 && q == floorf(q));
        if (q >= 20 && q <= 22)
            seen[(int)q - 20] = 1;
    }
    CHECK(seen[0] && seen[1] && seen[2]);
    tz_record_free(&out);
    tz_record_free(&in);
}

void test_fwd_poisson(void)
{
    tz_record in = images(50, 1, 20, 20);
    float *x = field(&in, "x");
    for (int i = 0; i < 50 * 400; i++)
        x[i] = i % 2 ? 0.5f : 0.05f;
    tz_record out = run("poisson:gain=40", &in, 0, 2, 4);
    float *y = field(&out, "y");
    /* counts: lambda 20 (normal-ish path) and 2 (multiplication path) */
    for (int par = 0; par < 2; par++) {
        double lam = par ? 20 : 2, m = 0, v = 0;
        int n = 0;
        for (int i = par; i < 50 * 400; i += 2, n++)
            m += y[i] * 40;
        m /= n;
        for (int i = par; i < 50 * 400; i += 2)
            v += (y[i] * 40 - m) * (y[i] * 40 - m);
        v /= n;
        CHECK(fabs(m - lam) < 5 * sqrt(lam / n));
        CHECK(fabs(v - lam) < 0.1 * lam);
    }
    tz_record_free(&out);
    tz_record_free(&in);
}

void test_fwd_spectral(void)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t dims[2] = { 30, 256 };
    tz_tensor *x = tz_record_add(&rec, "x", TZ_F32, 2, dims, NULL);
    for (int i = 0; i < 30 * 256; i++)
        ((float *)x->data)[i] = 2.0f;
    tz_record out = run("tilt:a=0.1,smooth:sigma=3:jitter=0.2,snr:min=100:max=100", &rec, 0, 1, 2);
    float *tilt = field(&out, "tilt"), *sm = field(&out, "smooth"), *snr = field(&out, "snr");
    for (int i = 0; i < 30; i++) {
        CHECK(fabsf(tilt[i]) <= 0.1f && sm[i] >= 2.4f && sm[i] <= 3.6f);
        CHECK(snr[i] == 100);
    }
    /* the tilt is linear around the middle, so the mean stays 2 */
    double m = 0;
    for (int i = 0; i < 30 * 256; i++)
        m += field(&out, "y")[i];
    CHECK(fabs(m / (30 * 256) - 2) < 0.01);
    tz_record_free(&out);
    tz_record_free(&rec);
}

void test_fwd_project(void)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t dims[2] = { 100, 3 };
    tz_tensor *x = tz_record_add(&rec, "x", TZ_F32, 2, dims, NULL);
    for (int i = 0; i < 300; i++)
        ((float *)x->data)[i] = (float)((i * 37) % 11) - 5;
    tz_record out = run("project", &rec, 0, 1, 2);
    float *u = field(&out, "direction"), *y = field(&out, "y"), *xv = x->data;
    for (int i = 0; i < 100; i++) {
        double nu = 0, dot = 0, cross = 0;
        for (int j = 0; j < 3; j++) {
            nu += u[3 * i + j] * u[3 * i + j];
            dot += u[3 * i + j] * xv[3 * i + j];
        }
        for (int j = 0; j < 3; j++)
            cross += fabs(y[3 * i + j] - dot * u[3 * i + j]);
        CHECK_NEAR(nu, 1, 1e-5);
        CHECK(cross < 1e-4);
    }
    tz_record_free(&out);
    tz_record_free(&rec);
}

void test_fwd_determinism(void)
{
    /* The same samples corrupt the same way whatever the threads and the
     * batching: sample i of a batch of 10 at first=0 equals sample 0 of a
     * batch of 1 at first=i. */
    tz_record in = images(10, 3, 16, 16);
    const char *spec = "mask:p=0.4:noise=0.1,motion:k=5,jpeg:q=20-60:noise=0.01,poisson:gain=50";
    tz_record a = run(spec, &in, 0, 1, 11), b = run(spec, &in, 0, 2, 11);
    CHECK(!memcmp(field(&a, "y"), field(&b, "y"), 10 * 768 * sizeof(float)));
    CHECK(!memcmp(field(&a, "angle"), field(&b, "angle"), 10 * sizeof(float)));
    tz_record one;
    tz_record_init(&one, TZ_BATCH);
    uint64_t d[4] = { 1, 3, 16, 16 };
    tz_record_add(&one, "x", TZ_F32, 4, d, field(&in, "x") + 7 * 768);
    tz_record c = run(spec, &one, 7, 1, 11);
    CHECK(!memcmp(field(&c, "y"), field(&a, "y") + 7 * 768, 768 * sizeof(float)));
    tz_record e = run(spec, &in, 0, 1, 12);
    CHECK(memcmp(field(&a, "y"), field(&e, "y"), 10 * 768 * sizeof(float)) != 0);
    tz_record_free(&a), tz_record_free(&b), tz_record_free(&c), tz_record_free(&e);
    tz_record_free(&one), tz_record_free(&in);
}

/* ---- the linear part and its adjoint (lin.h) --------------------------- */

/* Per sample of the instrument's output, its side information. */
static lin_side side_of(const lin_chain *lc, tz_record *y, uint64_t i, size_t hw)
{
    lin_fields f;
    CHECK(lin_fields_find(lc, y, tz_record_batch(y), hw, &f) == 0);
    return lin_fields_at(&f, i);
}

/* A x is the instrument without its noise, bit for bit; <A x, g> =
 * <x, A^T g> (the adjoint is the transpose) in double to 1e-5, on
 * random x and g, odd and square sizes, one and three channels. */
void test_lin_adjoint(void)
{
    /* each instrument, and the same without its noise */
    static const char *specs[][2] = {
        { "mask:p=0.4", "mask:p=0.4" }, { "blur:sigma=1:noise=0.1", "blur:sigma=1" },
        { "blur:sigma=2.3", "blur:sigma=2.3" }, { "motion:k=5:noise=0.05", "motion:k=5" },
        { "motion:k=9", "motion:k=9" }, { "down:f=2", "down:f=2" },
        { "blur:sigma=1,mask:p=0.3,awgn:sigma=0.1", "blur:sigma=1,mask:p=0.3" },
        { "motion:k=7,down:f=2", "motion:k=7,down:f=2" },
        { "tilt:a=0.05,smooth:sigma=2:jitter=0.05,snr:min=5:max=20",
          "tilt:a=0.05,smooth:sigma=2:jitter=0.05" },
        { "smooth:sigma=0.7:jitter=0.3,mask:p=0.2,awgn:sigma=0.1",
          "smooth:sigma=0.7:jitter=0.3,mask:p=0.2" } };
    static const int shapes[][3] = { { 1, 28, 28 }, { 3, 10, 14 }, { 1, 6, 4 }, { 1, 1, 200 } };
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++)
        for (size_t z = 0; z < sizeof shapes / sizeof *shapes; z++) {
            int C = shapes[z][0], H = shapes[z][1], W = shapes[z][2];
            if (strstr(specs[s][0], "down") && (H % 2 || W % 2))
                continue;
            if (H == 1 && (strstr(specs[s][0], "blur") || strstr(specs[s][0], "motion") ||
                           strstr(specs[s][0], "down")))
                continue;       /* image operators: not on signals */
            enum { N = 4 };
            tz_record in = images(N, C, H, W);
            fwd_spec spec, quiet;
            lin_chain lc;
            CHECK(fwd_parse(specs[s][0], &spec) == 0);
            CHECK(fwd_linear(&spec, &lc) == 0);
            CHECK(fwd_parse(specs[s][1], &quiet) == 0);
            tz_record y = run(specs[s][0], &in, 0, 1, 11);
            tz_record out;
            tz_record_init(&out, TZ_BATCH);
            CHECK(fwd_apply(&quiet, tz_record_find(&in, "x"), 0, 0, 11, 1, &out, "y") == 0);
            size_t hw = (size_t)H * (size_t)W, per = (size_t)C * hw;
            float *x = malloc(4 * per), *ax = malloc(4 * per), *g = malloc(4 * per);
            float *work = malloc(4 * lin_work_floats(C, H, W));
            rng_t r;
            rng_init(&r, 5, (uint32_t)(s * 10 + z), 0);
            for (uint64_t i = 0; i < N; i++) {
                lin_side sd = side_of(&lc, &y, i, hw);
                memcpy(ax, field(&in, "x") + i * per, 4 * per);
                lin_apply(&lc, &sd, C, H, W, ax, work);
                /* equal values (the instrument's dropped pixels are 0 z, -0 at times) */
                const float *ref = field(&out, "y") + i * per;
                size_t diff = 0;
                for (size_t k = 0; k < per; k++)
                    diff += ax[k] != ref[k];
                if (diff)
                    fprintf(stderr, "  %s on %dx%dx%d: A x is not the noise-free instrument\n",
                            specs[s][0], C, H, W);
                CHECK(diff == 0);
                for (size_t k = 0; k < per; k++)
                    x[k] = (float)rng_normal(&r), g[k] = (float)rng_normal(&r);
                memcpy(ax, x, 4 * per);
                lin_apply(&lc, &sd, C, H, W, ax, work);
                double lhs = 0, rhs = 0, scale = 0;
                for (size_t k = 0; k < per; k++)
                    lhs += (double)ax[k] * g[k];
                lin_adjoint(&lc, &sd, C, H, W, g, work);
                for (size_t k = 0; k < per; k++)
                    rhs += (double)x[k] * g[k], scale += fabs((double)x[k] * g[k]);
                if (fabs(lhs - rhs) > 1e-5 * scale)
                    fprintf(stderr, "  %s on %dx%dx%d: <Ax,g> %.9g, <x,A'g> %.9g\n", specs[s][0],
                            C, H, W, lhs, rhs);
                CHECK(fabs(lhs - rhs) <= 1e-5 * scale);
            }
            free(x), free(ax), free(g), free(work);
            tz_record_free(&in), tz_record_free(&y), tz_record_free(&out);
        }
}

/* The spectral steps against dense matrices: A from lin_apply on unit
 * vectors equals the smoothing's matrix built here from the Gaussian's
 * formula and reflect's rule (to float rounding); lin_adjoint on unit
 * vectors gives A's rows (to float rounding); A is 0 beyond lin_reach and
 * not at it. */
void test_lin_smooth_dense(void)
{
    static const double sigmas[] = { 0.6, 2.3, 7 };
    static const int lengths[] = { 64, 9 };
    for (size_t a = 0; a < sizeof sigmas / sizeof *sigmas; a++)
        for (size_t b = 0; b < sizeof lengths / sizeof *lengths; b++) {
            int L = lengths[b];
            lin_chain lc = { .n = 2, .step = { { LIN_TILT, 0.05 }, { LIN_SMOOTH, 1 } } };
            lin_side sd = { .smooth = sigmas[a], .tilt = -0.03 };
            double *ref = calloc((size_t)L * L, sizeof(double));
            float *A = malloc(sizeof(float) * (size_t)L * L), *e = malloc(sizeof(float) * L);
            float *work = malloc(sizeof(float) * lin_work_floats(1, 1, L));
            int r = (int)ceil(4 * sigmas[a]);
            double sum = 0;
            for (int j = -r; j <= r; j++)
                sum += exp(-0.5 * j * j / (sigmas[a] * sigmas[a]));
            for (int i = 0; i < L; i++)
                for (int j = -r; j <= r; j++) {
                    int m = i + j, period = 2 * (L - 1);
                    m = ((m % period) + period) % period;
                    m = m < L ? m : period - m;
                    /* smooth after tilt: column m scaled by the tilt */
                    double t = 1 + sd.tilt * (m - (L - 1) / 2.0) / ((L - 1) / 2.0);
                    ref[(size_t)i * L + m] +=
                        exp(-0.5 * j * j / (sigmas[a] * sigmas[a])) / sum * t;
                }
            double worst = 0;
            for (int m = 0; m < L; m++) {
                memset(e, 0, sizeof(float) * L);
                e[m] = 1;
                lin_apply(&lc, &sd, 1, 1, L, e, work);
                for (int i = 0; i < L; i++) {
                    A[(size_t)i * L + m] = e[i];
                    worst = fmax(worst, fabs(e[i] - ref[(size_t)i * L + m]));
                }
            }
            CHECK(worst < 1e-6);
            int reach = lin_reach(&lc, &sd), at_reach = 0;
            for (int i = 0; i < L; i++) {
                memset(e, 0, sizeof(float) * L);
                e[i] = 1;
                lin_adjoint(&lc, &sd, 1, 1, L, e, work);
                for (int m = 0; m < L; m++) {
                    /* equal but for the order of a sum: where reflection
                     * folds two taps onto one value, A adds k t + k' t and
                     * the adjoint (k + k') t */
                    CHECK(fabsf(e[m] - A[(size_t)i * L + m]) <= 1e-7f);
                    if (abs(i - m) > reach)
                        CHECK(A[(size_t)i * L + m] == 0);
                    at_reach += abs(i - m) == reach && A[(size_t)i * L + m] != 0;
                }
            }
            CHECK(reach == r && (r >= L || at_reach > 0));
            free(ref), free(A), free(e), free(work);
        }
    /* a blur mixes rows: no reach along them */
    lin_chain blur = { .n = 1, .step = { { LIN_BLUR, 1 } } };
    lin_side none = { .mask = NULL };
    CHECK(lin_reach(&blur, &none) == -1);
}

void test_lin_chain_of_spec(void)
{
    fwd_spec spec;
    lin_chain lc;
    CHECK(fwd_parse("blur:sigma=1:noise=0.05", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == 0 && lc.n == 1 && lc.step[0].kind == LIN_BLUR);
    CHECK_NEAR(lc.noise_var, 0.0025, 1e-12);
    CHECK(fwd_parse("mask:p=0.5:noise=0.1,awgn:sigma=0.2", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == 0 && lc.n == 1);
    CHECK_NEAR(lc.noise_var, 0.05, 1e-12);
    CHECK(fwd_parse("blur,jpeg:q=30", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == ERR_USAGE && strstr(err_msg(), "jpeg is not a linear operator"));
    CHECK(fwd_parse("awgn:sigma=0.1,blur", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == ERR_USAGE && strstr(err_msg(), "not white"));
    /* the spectral chain: two steps, snr's noise per sample, awgn's added */
    CHECK(fwd_parse("tilt:a=0.05,smooth:sigma=3,snr:min=10:max=30,awgn:sigma=0.1", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == 0 && lc.n == 2 && lc.snr == 1);
    CHECK(lc.step[0].kind == LIN_TILT && lc.step[1].kind == LIN_SMOOTH && lc.step[1].p == 3);
    lin_side sd = { .snr = 10 };
    CHECK_NEAR(lin_noise_var(&lc, &sd, -2), 0.01 + 0.2001 * 0.2001, 1e-12);
    CHECK(fwd_parse("snr,smooth", &spec) == 0);
    CHECK(fwd_linear(&spec, &lc) == ERR_USAGE && strstr(err_msg(), "smooth after snr"));
}
