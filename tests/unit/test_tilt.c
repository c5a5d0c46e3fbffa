/* test_tilt.c - tilt's library: the mixture's density, score and score
 * divergence against an independent dense formula and central
 * differences, its products against the exact proportionality, the SMC
 * weights and resampling, and a model's score against the probability-flow
 * identity and its Hutchinson divergence against differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/err.h"
#include "base/rng.h"
#include "method/gmm.h"
#include "method/prior.h"
#include "method/smc.h"

/* Three components in 3-D: a full covariance, a diagonal, an isotropic. */
static const char *SPEC3 =
    "# a test mixture\n"
    "dim 3\n"
    "component 0.5 mean 1 -0.5 2   cov 1.2 0.3 -0.2  0.3 0.8 0.1  -0.2 0.1 0.5\n"
    "component 1.0 mean -1 1 0     cov 0.4 0.9 1.3   # diagonal\n"
    "component 0.5 mean 0 0 -2\n"
    "  cov 0.7\n";

/* det and inverse of a 3 x 3 matrix by cofactors: no LAPACK. */
static double inv3(const double *a, double *inv)
{
    double c[9] = {
        a[4] * a[8] - a[5] * a[7], a[5] * a[6] - a[3] * a[8], a[3] * a[7] - a[4] * a[6],
        a[2] * a[7] - a[1] * a[8], a[0] * a[8] - a[2] * a[6], a[1] * a[6] - a[0] * a[7],
        a[1] * a[5] - a[2] * a[4], a[2] * a[3] - a[0] * a[5], a[0] * a[4] - a[1] * a[3]
    };
    double det = a[0] * c[0] + a[1] * c[1] + a[2] * c[2];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            inv[i * 3 + j] = c[j * 3 + i] / det;
    return det;
}

/* log of SPEC3's density convolved with N(0, s I), from the numbers. */
static double spec3_logpdf(const double *x, double s)
{
    static const double w[3] = { 0.25, 0.5, 0.25 };
    static const double mu[3][3] = { { 1, -0.5, 2 }, { -1, 1, 0 }, { 0, 0, -2 } };
    double cov[3][9] = { { 1.2, 0.3, -0.2, 0.3, 0.8, 0.1, -0.2, 0.1, 0.5 },
                         { 0.4, 0, 0, 0, 0.9, 0, 0, 0, 1.3 },
                         { 0.7, 0, 0, 0, 0.7, 0, 0, 0, 0.7 } };
    double p = 0;
    for (int k = 0; k < 3; k++) {
        double inv[9], d[3], q = 0;
        for (int i = 0; i < 3; i++)
            cov[k][i * 4] += s;
        double det = inv3(cov[k], inv);
        for (int i = 0; i < 3; i++)
            d[i] = x[i] - mu[k][i];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                q += d[i] * inv[i * 3 + j] * d[j];
        p += w[k] * exp(-0.5 * q) / sqrt(pow(2 * M_PI, 3) * det);
    }
    return log(p);
}

void test_gmm_spec(void)
{
    gmm g;
    CHECK(gmm_parse(&g, SPEC3, "t.spec") == 0);
    CHECK(g.d == 3 && g.k == 3);
    CHECK_NEAR(g.w[0], 0.25, 1e-15);
    CHECK(g.rot[0] == 1 && g.rot[1] == 0 && g.rot[2] == 0);
    CHECK_NEAR(g.ev[1 * 3 + 2], 1.3, 1e-15);
    gmm_free(&g);
    /* each bad spec: ERR_DATA, and the message names the file and line */
    static const struct { const char *text, *says; } bad[] = {
        { "component 1 mean 0 cov 1\n", "t.spec: line 1: expected 'dim'" },
        { "dim 0\ncomponent 1 mean 0 cov 1\n", "whole number" },
        { "dim 2\n", "no component" },
        { "dim 1\ncomponent -1 mean 0 cov 1\n", "line 2: component 1: the weight" },
        { "dim 2\ncomponent 1 mean 0 cov 1\n", "a mean's value" },
        { "dim 1\ncomponent 1 mean 0 1 cov 1\n", "more than 1 values" },
        { "dim 2\ncomponent 1 mean 0 0\ncov 1 2 3\n", "line 3: component 1: cov needs 1, 2 or 4" },
        { "dim 2\ncomponent 1 mean 0 0 cov 1 0.5 0.4 1\n", "not symmetric" },
        { "dim 2\ncomponent 1 mean 0 0 cov 1 2 2 1\n", "not positive definite" },
        { "dim 1\ncomponent 1 mean 0 cov 0\n", "a variance must be above 0" },
        { "dim 1\ncomponent 1 mean nan cov 1\n", "finite number" },
        { "dim 1\ncomponent 1 mean 0 cov 1\nbogus\n", "line 3: unexpected 'bogus'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = gmm_parse(&g, bad[i].text, "t.spec");
        CHECK(rc == ERR_DATA);
        if (!strstr(err_msg(), bad[i].says)) {
            fprintf(stderr, "  spec %zu: '%s' lacks '%s'\n", i, err_msg(), bad[i].says);
            g_check_failed++;
        }
    }
}

void test_gmm_score_divergence_finite_difference(void)
{
    gmm g;
    CHECK(gmm_parse(&g, SPEC3, "t.spec") == 0);
    double *work = malloc(sizeof(double) * gmm_work_doubles(&g));
    rng_t r;
    rng_init(&r, 5, 1, 0);
    for (int trial = 0; trial < 6; trial++) {
        double s = trial % 3 == 0 ? 0 : 0.37 * trial;
        gmm_set_noise(&g, s);
        double x[3], sc[3], div;
        for (int i = 0; i < 3; i++)
            x[i] = 1.5 * rng_normal(&r);
        double lp = gmm_eval(&g, x, sc, &div, work);
        CHECK_NEAR(lp, spec3_logpdf(x, s), 1e-12);
        /* the score against central differences of the log-density, the
         * divergence against central differences of the score */
        double h = 1e-5, fd_div = 0;
        for (int i = 0; i < 3; i++) {
            double xp[3], xm[3], sp[3], sm[3];
            memcpy(xp, x, sizeof x), memcpy(xm, x, sizeof x);
            xp[i] += h, xm[i] -= h;
            double dl = (gmm_eval(&g, xp, sp, NULL, work) - gmm_eval(&g, xm, sm, NULL, work)) /
                        (2 * h);
            CHECK_NEAR(sc[i], dl, 1e-7);
            fd_div += (sp[i] - sm[i]) / (2 * h);
        }
        CHECK_NEAR(div, fd_div, 1e-6);
    }
    free(work);
    gmm_free(&g);
}

void test_gmm_product_exact(void)
{
    gmm g, f, one, out;
    CHECK(gmm_parse(&g, SPEC3, "t.spec") == 0);
    CHECK(gmm_parse(&f, "dim 3 component 1 mean 0.5 0.5 -1 cov 2 0.4 0 0.4 1 0.3 0 0.3 1.5",
                    "f") == 0);
    CHECK(gmm_parse(&one, "dim 3 component 1 mean 1 -0.5 2 cov 1.2 0.3 -0.2 0.3 0.8 0.1 "
                    "-0.2 0.1 0.5", "one") == 0);
    double *work = malloc(sizeof(double) * (gmm_work_doubles(&g) + 64));
    rng_t r;
    rng_init(&r, 6, 1, 0);
    /* log out(x) - gamma log p(x) - log factor(x) is the same at every x:
     * gamma 1 with a mixture, gamma 2.5 with one component */
    struct { gmm *p; double gamma; } cases[] = { { &g, 1 }, { &one, 2.5 }, { &g, 1 } };
    for (int c = 0; c < 3; c++) {
        CHECK(gmm_product(cases[c].p, cases[c].gamma, c == 2 ? NULL : &f, &out) == 0);
        double ref = NAN;
        for (int t = 0; t < 5; t++) {
            double x[3], u[3], fu[3];
            for (int i = 0; i < 3; i++)
                x[i] = rng_normal(&r);
            for (int i = 0; i < 3; i++)
                u[i] = x[i] - f.mu[i];
            gmm_precision_apply(&f, u, fu, work);
            double lf = c == 2 ? 0 : -0.5 * (u[0] * fu[0] + u[1] * fu[1] + u[2] * fu[2]);
            double v = gmm_eval(&out, x, NULL, NULL, work) -
                       cases[c].gamma * gmm_eval(cases[c].p, x, NULL, NULL, work) - lf;
            if (t == 0)
                ref = v;
            CHECK_NEAR(v, ref, 1e-9);
        }
        gmm_free(&out);
    }
    /* the acceptance of the annealed mixture, against its formula */
    double x[3] = { 0.3, -0.2, 0.8 }, lp[3], s = 0, s2 = 0;
    gmm_set_noise(&g, 0);
    for (int k = 0; k < 3; k++) {
        gmm comp;
        char text[256];
        snprintf(text, sizeof text, "dim 3 component 1 mean %.17g %.17g %.17g cov %s", g.mu[k * 3],
                 g.mu[k * 3 + 1], g.mu[k * 3 + 2],
                 k == 0 ? "1.2 0.3 -0.2 0.3 0.8 0.1 -0.2 0.1 0.5" : k == 1 ? "0.4 0.9 1.3" : "0.7");
        CHECK(gmm_parse(&comp, text, "comp") == 0);
        lp[k] = log(g.w[k]) + gmm_eval(&comp, x, NULL, NULL, work);
        s += exp(lp[k]), s2 += exp(2 * lp[k]);
        gmm_free(&comp);
    }
    CHECK_NEAR(gmm_anneal_accept(&g, 2, x, work), 2 * log(s) - log(s2) - log(3.0), 1e-10);
    CHECK(gmm_anneal_accept(&g, 2, x, work) <= 0);
    free(work);
    gmm_free(&g), gmm_free(&f), gmm_free(&one);
}

void test_smc_weights_resampling(void)
{
    double lw[5] = { 3, 3, 3, 3, 3 }, w[5];
    CHECK_NEAR(smc_normalize(lw, 5, w), 5, 1e-12);
    CHECK_NEAR(w[2], 0.2, 1e-15);
    double lw2[3] = { 0, -2000, -3000 };        /* no underflow to NaN */
    CHECK_NEAR(smc_normalize(lw2, 3, w), 1, 1e-12);
    CHECK(w[0] == 1 && w[1] == 0);
    /* systematic: particle i drawn floor(n w_i) or ceil(n w_i) times */
    rng_t r;
    rng_init(&r, 9, 1, 0);
    enum { N = 37 };
    double lwn[N], wn[N], u[] = { 0, 0.5, 0.999999 };
    for (int i = 0; i < N; i++)
        lwn[i] = 2 * rng_normal(&r);
    smc_normalize(lwn, N, wn);
    for (size_t t = 0; t < sizeof u / sizeof *u; t++) {
        uint32_t idx[N];
        int count[N] = { 0 };
        smc_systematic(wn, N, u[t], N, idx);
        for (int j = 0; j < N; j++) {
            CHECK(idx[j] < N);
            CHECK(j == 0 || idx[j] >= idx[j - 1]);
            count[idx[j]]++;
        }
        for (int i = 0; i < N; i++)
            CHECK(count[i] >= (int)floor(N * wn[i]) && count[i] <= (int)ceil(N * wn[i]));
    }
    /* weighted moments */
    double a[4] = { 1, 2, 3, 4 }, b[4] = { 2, 4, 6, 8 }, ww[4] = { 0.1, 0.2, 0.3, 0.4 };
    CHECK_NEAR(smc_mean(ww, a, 4), 3.0, 1e-15);
    CHECK_NEAR(smc_cov(ww, a, a, 4), 1.0, 1e-14);
    CHECK_NEAR(smc_cov(ww, a, b, 4), 2.0, 1e-14);
}

/* A random generative MLP of 4 values with interpolant gamma g. */
static void random_model(model *m, double g, int combined)
{
    memset(m, 0, sizeof *m);
    m->generative = 1;
    m->ip = (si_interp){ .g = g, .combined = combined };
    net_config nc = { .arch = NET_MLP };
    nc.mlp = (mlp_config){ .dim = 4, .cond = 0, .temb = 8, .width = 16, .hidden = 2, .heads = 1 };
    CHECK(net_init(&m->net, &nc, 11) == 0);
    rng_t r;
    rng_init(&r, 12, 1, 0);
    for (size_t i = 0; i < m->net.nparams; i++)      /* a drift far from zero */
        m->net.params[i] = (float)(0.4 * rng_normal(&r));
}

/* kappa(t) = sigma(t) / (1 - t). */
static double kappa_t(const si_interp *ip, double t)
{
    double g = si_gamma(ip, t);
    return sqrt(t * t + g * g) / (1 - t);
}

void test_prior_model_score(void)
{
    static const struct { double g; int combined; } cases[] = { { 0, 0 }, { 0.7, 0 }, { 0.7, 1 } };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        model m;
        random_model(&m, cases[c].g, cases[c].combined);
        prior p;
        CHECK(prior_model(&p, &m, 1, 3) == 0);
        enum { N = 5, D = 4 };
        double y[N * D], s[N * D], div[N];
        rng_t r;
        rng_init(&r, 13, (uint32_t)c, 0);
        for (int i = 0; i < N * D; i++)
            y[i] = rng_normal(&r);
        double kappa = 0.8;
        double t = prior_time(&m.ip, kappa), a = 1 - t, h = 1e-6;
        CHECK_NEAR(kappa_t(&m.ip, t), kappa, 1e-12);
        CHECK(prior_eval(&p, kappa, y, N, 0, 0, s, div, NULL) == 0);
        /* the probability-flow identity, no use of prior.h's k: the ODE
         * dx/dt = b in y = x / a runs dy/dt = (b + y) / a, and the
         * variance-exploding ODE runs dy/dt = -kappa kappa'(t) s; a
         * combined drift c = b + eta has b = c + gamma s / a */
        double kk = kappa * (kappa_t(&m.ip, t + h) - kappa_t(&m.ip, t - h)) / (2 * h);
        double g = si_gamma(&m.ip, t);
        float x[64 * D], out[64 * D], tt[64];
        memset(x, 0, sizeof x);
        for (int i = 0; i < N * D; i++)
            x[i] = (float)(a * y[i]);
        for (int i = 0; i < 64; i++)
            tt[i] = (float)t;
        CHECK(net_forward(&m.net, out, x, NULL, tt, 64) == 0);
        for (int i = 0; i < N * D; i++) {
            double o = out[i], want = cases[c].combined ? -(o + y[i]) / (a * kk + g / a)
                                                          : -(o + y[i]) / (a * kk);
            CHECK_NEAR(s[i], want, 1e-6);
        }
        /* Hutchinson's divergence: its mean over many probes against
         * central differences of the score itself */
        double fd[N] = { 0 }, mean[N] = { 0 };
        for (int j = 0; j < D; j++) {
            double yp[N * D], ym[N * D], sp[N * D], sm[N * D];
            memcpy(yp, y, sizeof y), memcpy(ym, y, sizeof y);
            for (int i = 0; i < N; i++)
                yp[i * D + j] += 1e-3, ym[i * D + j] -= 1e-3;
            prior_eval(&p, kappa, yp, N, 0, 0, sp, NULL, NULL);
            prior_eval(&p, kappa, ym, N, 0, 0, sm, NULL, NULL);
            for (int i = 0; i < N; i++)
                fd[i] += (sp[i * D + j] - sm[i * D + j]) / 2e-3;
        }
        enum { PROBES = 400 };
        for (uint32_t st = 0; st < PROBES; st++) {
            prior_eval(&p, kappa, y, N, 0, st, s, div, NULL);
            for (int i = 0; i < N; i++)
                mean[i] += div[i] / PROBES;
        }
        for (int i = 0; i < N; i++)     /* 4 values: probes' spread is small */
            CHECK(fabs(mean[i] - fd[i]) < 0.05 * fabs(fd[i]) + 0.02);
        /* a particle's score does not depend on its place in the batch */
        double s1[D], s2[N * D];
        CHECK(prior_eval(&p, kappa, y + 3 * D, 1, 3, 0, s1, NULL, NULL) == 0);
        CHECK(prior_eval(&p, kappa, y, N, 0, 0, s2, NULL, NULL) == 0);
        CHECK(memcmp(s1, s2 + 3 * D, sizeof s1) == 0);
        prior_free(&p);
        net_free(&m.net);
    }
}
