/* sum.c - reproducible sums in double; see sum.h. */
#include "sum.h"

/* Built for each vector width, the widest the CPU runs chosen when the
 * program loads.  Every version adds in the same order (no fused
 * multiply-add in ISO C mode), so all give the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDEST __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDEST
#endif

static double combine8(const double *p)
{
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* The two loops are apart so that each vectorises. */
WIDEST double sum_f32(const float *x, size_t n, double shift, int squares)
{
    double p[8] = { 0 };
    size_t k = 0, n8 = n / 8 * 8;
    if (squares)
        for (; k < n8; k += 8)
            for (int l = 0; l < 8; l++) {
                double d = (double)x[k + (size_t)l] - shift;
                p[l] += d * d;
            }
    else
        for (; k < n8; k += 8)
            for (int l = 0; l < 8; l++)
                p[l] += (double)x[k + (size_t)l] - shift;
    for (; k < n; k++) {
        double d = (double)x[k] - shift;
        p[k % 8] += squares ? d * d : d;
    }
    return combine8(p);
}

WIDEST double sum_dot(const float *a, const float *b, size_t n)
{
    double p[8] = { 0 };
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++)
            p[l] += (double)a[k + (size_t)l] * b[k + (size_t)l];
    for (; k < n; k++)
        p[k % 8] += (double)a[k] * b[k];
    return combine8(p);
}
