/* synth.c - synthetic data sets; see synth.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "ops/synth.h"

int synth_moons(uint64_t n, double noise, double shift, double scale,
                uint64_t seed, float *xy, int32_t *label)
{
    /* make_moons: n/2 (rounded down) points on the outer moon at angles
     * linspace(0, pi, n_out), the rest on the inner one; then a shuffle,
     * then noise.  Angles come from a grid, so only the shuffle and the
     * noise are random. */
    uint64_t n_out = n / 2, n_in = n - n_out;
    double *tmp = mem_alloc_array((size_t)n + 1, 2 * sizeof(double));
    int32_t *lab = mem_alloc_array((size_t)n + 1, sizeof(int32_t));
    if (!tmp || !lab) {
        free(tmp);
        free(lab);
        return ERR_IO;
    }
    for (uint64_t i = 0; i < n_out; i++) {
        double a = n_out > 1 ? M_PI * (double)i / (double)(n_out - 1) : 0;
        tmp[2 * i] = cos(a);
        tmp[2 * i + 1] = sin(a);
        lab[i] = 0;
    }
    for (uint64_t i = 0; i < n_in; i++) {
        double a = n_in > 1 ? M_PI * (double)i / (double)(n_in - 1) : 0;
        tmp[2 * (n_out + i)] = 1 - cos(a);
        tmp[2 * (n_out + i) + 1] = 1 - sin(a) - 0.5;
        lab[n_out + i] = 1;
    }
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_SHUFFLE, 0);
    for (uint64_t i = n; i > 1; i--) {     /* Fisher-Yates */
        uint64_t j = rng_below(&r, i);
        double x = tmp[2 * (i - 1)], y = tmp[2 * (i - 1) + 1];
        tmp[2 * (i - 1)] = tmp[2 * j];
        tmp[2 * (i - 1) + 1] = tmp[2 * j + 1];
        tmp[2 * j] = x;
        tmp[2 * j + 1] = y;
        int32_t l = lab[i - 1];
        lab[i - 1] = lab[j];
        lab[j] = l;
    }
    for (uint64_t i = 0; i < n; i++) {
        rng_init(&r, seed, SYNTH_RNG_SAMPLE, i);
        double x = tmp[2 * i] + noise * rng_normal(&r);
        double y = tmp[2 * i + 1] + noise * rng_normal(&r);
        xy[2 * i] = (float)(scale * (x + shift));
        xy[2 * i + 1] = (float)(scale * (y + shift));
        label[i] = lab[i];
    }
    free(tmp);
    free(lab);
    return 0;
}

void synth_moons_iid(double noise, double shift, double scale, uint64_t seed,
                     uint64_t index, float *xy, int32_t *label)
{
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_SAMPLE, index);
    int moon = (int)rng_below(&r, 2);
    double a = M_PI * rng_uniform(&r);
    double x = moon ? 1 - cos(a) : cos(a), y = moon ? 0.5 - sin(a) : sin(a);
    x += noise * rng_normal(&r);
    y += noise * rng_normal(&r);
    xy[0] = (float)(scale * (x + shift));
    xy[1] = (float)(scale * (y + shift));
    *label = moon;
}

void synth_gmm(int k, double radius, double std, uint64_t seed,
               uint64_t index, float *xy, int32_t *label)
{
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_SAMPLE, index);
    int c = (int)rng_below(&r, (uint64_t)k);
    double a = 2 * M_PI * c / k;
    xy[0] = (float)(radius * cos(a) + std * rng_normal(&r));
    xy[1] = (float)(radius * sin(a) + std * rng_normal(&r));
    *label = c;
}

void synth_checkerboard(double scale, uint64_t seed, uint64_t index,
                        float *xy, int32_t *label)
{
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_SAMPLE, index);
    /* Black squares are those with (col + row) even: 2 per row of 4. */
    int cell = (int)rng_below(&r, 8), row = cell / 2;
    int col = 2 * (cell % 2) + (row % 2);
    xy[0] = (float)(scale * (-2 + col + rng_uniform(&r)));
    xy[1] = (float)(scale * (-2 + row + rng_uniform(&r)));
    *label = cell;
}

int synth_gauss_init(synth_gauss *g, int d, const double *mu,
                     const double *eig, int rotate, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    if (d < 1 || d > SYNTH_GAUSS_DIM_MAX)
        return err_set(ERR_USAGE, "dimension %d is outside 1..%d", d,
                       SYNTH_GAUSS_DIM_MAX);
    g->d = d;
    g->mu = mem_alloc_array((size_t)d, sizeof(double));
    g->eig = mem_alloc_array((size_t)d, sizeof(double));
    g->rot = mem_calloc_array((size_t)d * (size_t)d, sizeof(double));
    if (!g->mu || !g->eig || !g->rot) {
        synth_gauss_free(g);
        return ERR_IO;
    }
    memcpy(g->mu, mu, sizeof(double) * (size_t)d);
    memcpy(g->eig, eig, sizeof(double) * (size_t)d);
    double *U = g->rot;
    if (!rotate) {
        for (int i = 0; i < d; i++)
            U[i * d + i] = 1;
        return 0;
    }
    /* A Haar-random rotation: Gram-Schmidt (twice, for orthogonality to
     * rounding) on the columns of a Gaussian matrix. */
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_ROTATION, 0);
    for (int i = 0; i < d * d; i++)
        U[i] = rng_normal(&r);
    for (int j = 0; j < d; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < d; i++)
                    dot += U[i * d + j] * U[i * d + k];
                for (int i = 0; i < d; i++)
                    U[i * d + j] -= dot * U[i * d + k];
            }
        double norm = 0;
        for (int i = 0; i < d; i++)
            norm += U[i * d + j] * U[i * d + j];
        norm = sqrt(norm);
        for (int i = 0; i < d; i++)
            U[i * d + j] /= norm;
    }
    return 0;
}

void synth_gauss_free(synth_gauss *g)
{
    free(g->mu);
    free(g->eig);
    free(g->rot);
    memset(g, 0, sizeof *g);
}

void synth_gauss_sample(const synth_gauss *g, uint64_t seed, uint64_t index,
                        float *x)
{
    int d = g->d;
    /* z lives on the stack: synth_gauss_init caps d at SYNTH_GAUSS_DIM_MAX. */
    double z[SYNTH_GAUSS_DIM_MAX];
    rng_t r;
    rng_init(&r, seed, SYNTH_RNG_SAMPLE, index);
    for (int j = 0; j < d; j++)
        z[j] = sqrt(g->eig[j]) * rng_normal(&r);
    for (int i = 0; i < d; i++) {
        double s = g->mu[i];
        for (int j = 0; j < d; j++)
            s += g->rot[i * d + j] * z[j];
        x[i] = (float)s;
    }
}

void synth_gauss_cov(const synth_gauss *g, double *cov)
{
    int d = g->d;
    for (int i = 0; i < d; i++)
        for (int k = 0; k < d; k++) {
            double s = 0;
            for (int j = 0; j < d; j++)
                s += g->rot[i * d + j] * g->eig[j] * g->rot[k * d + j];
            cov[i * d + k] = s;
        }
}

int synth_parse_spectrum(const char *spec, int d, double *eig)
{
    char *end = (char *)spec;
    double a, b;
    if (strncmp(spec, "const:", 6) == 0) {
        a = strtod(spec + 6, &end);
        if (*end || !(a > 0) || !isfinite(a))
            return err_set(ERR_USAGE, "spectrum '%s': const:A needs a finite A > 0", spec);
        for (int i = 0; i < d; i++)
            eig[i] = a;
        return 0;
    }
    int geom = strncmp(spec, "geom:", 5) == 0, lin = strncmp(spec, "linear:", 7) == 0;
    if (geom || lin) {
        a = strtod(spec + (geom ? 5 : 7), &end);
        if (*end != ':')
            return err_set(ERR_USAGE, "spectrum '%s': expected %s:A:B", spec,
                           geom ? "geom" : "linear");
        b = strtod(end + 1, &end);
        if (*end || !(a > 0) || !(b > 0) || !isfinite(a) || !isfinite(b))
            return err_set(ERR_USAGE, "spectrum '%s': A and B must be finite "
                           "and > 0", spec);
        for (int i = 0; i < d; i++) {
            double t = d > 1 ? (double)i / (d - 1) : 0;
            eig[i] = geom ? a * pow(b / a, t) : a + (b - a) * t;
        }
        return 0;
    }
    const char *p = spec;
    for (int i = 0; i < d; i++) {
        eig[i] = strtod(p, &end);
        if (end == p || !(eig[i] > 0) || !isfinite(eig[i]) ||
            (i < d - 1 && *end != ','))
            return err_set(ERR_USAGE, "spectrum '%s': need %d positive values "
                           "separated by commas", spec, d);
        p = end + 1;
    }
    if (*end)
        return err_set(ERR_USAGE, "spectrum '%s': more than %d values", spec, d);
    return 0;
}
