/* smc.c - particle weights and resampling; see smc.h. */
#include <math.h>
#include <string.h>

#include "method/smc.h"

double smc_normalize(const double *lw, size_t n, double *w)
{
    double mx = lw[0], s = 0, s2 = 0;
    for (size_t i = 1; i < n; i++)
        mx = fmax(mx, lw[i]);
    for (size_t i = 0; i < n; i++)
        s += w[i] = exp(lw[i] - mx);
    for (size_t i = 0; i < n; i++) {
        w[i] /= s;
        s2 += w[i] * w[i];
    }
    return 1 / s2;
}

void smc_systematic(const double *w, size_t n, double u, size_t m, uint32_t *idx)
{
    double c = w[0];
    size_t i = 0;
    for (size_t j = 0; j < m; j++) {
        double at = (u + (double)j) / (double)m;
        /* the last particle takes whatever rounding leaves above the sum */
        while (at > c && i + 1 < n)
            c += w[++i];
        idx[j] = (uint32_t)i;
    }
}

void smc_gather(double *x, size_t n, size_t width, const uint32_t *idx, double *tmp)
{
    for (size_t j = 0; j < n; j++)
        memcpy(tmp + j * width, x + (size_t)idx[j] * width, sizeof(double) * width);
    memcpy(x, tmp, sizeof(double) * n * width);
}

double smc_mean(const double *w, const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * a[i];
    return s;
}

void smc_mean_rows(const double *w, const double *x, size_t n, size_t width, double *out)
{
    for (size_t j = 0; j < width; j++)
        out[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < width; j++)
            out[j] += w[i] * x[i * width + j];
}

double smc_cov(const double *w, const double *a, const double *b, size_t n)
{
    double ma = smc_mean(w, a, n), mb = smc_mean(w, b, n), s = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * (a[i] - ma) * (b[i] - mb);
    return s;
}
