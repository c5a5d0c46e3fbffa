/* sum.c - reproducible sums in double; see sum.h. */
#include "nn/simd.h"
#include "nn/sum.h"

enum { CHAINS = 32 };

/* The partial sums, pairwise: 32 -> 16 -> ... -> 1, each halving adding
 * p[i] and p[i + half]. */
static double combine(double *p)
{
    for (int half = CHAINS / 2; half >= 1; half /= 2)
        for (int i = 0; i < half; i++)
            p[i] += p[i + half];
    return p[0];
}

/* The loops of the two sums apart, so that each vectorises; compiled
 * once per level below, each adding in the same order (no fused
 * multiply-add in ISO C mode): every level gives the same bits. */
static inline __attribute__((always_inline)) double f32_body(const float *x, size_t n,
                                                             double shift, int squares)
{
    double p[CHAINS] = { 0 };
    size_t k = 0, nc = n / CHAINS * CHAINS;
    if (squares)
        for (; k < nc; k += CHAINS)
            for (int l = 0; l < CHAINS; l++) {
                double d = (double)x[k + (size_t)l] - shift;
                p[l] += d * d;
            }
    else
        for (; k < nc; k += CHAINS)
            for (int l = 0; l < CHAINS; l++)
                p[l] += (double)x[k + (size_t)l] - shift;
    for (; k < n; k++) {
        double d = (double)x[k] - shift;
        p[k % CHAINS] += squares ? d * d : d;
    }
    return combine(p);
}

/* Both of f32_body's sums in one pass, each in its own chains, in the
 * same order: the same bits as the two calls. */
static inline __attribute__((always_inline)) void moments_body(const float *x, size_t n,
                                                               double shift, double *s1,
                                                               double *s2)
{
    double p[CHAINS] = { 0 }, q[CHAINS] = { 0 };
    size_t k = 0, nc = n / CHAINS * CHAINS;
    for (; k < nc; k += CHAINS)
        for (int l = 0; l < CHAINS; l++) {
            double d = (double)x[k + (size_t)l] - shift;
            p[l] += d;
            q[l] += d * d;
        }
    for (; k < n; k++) {
        double d = (double)x[k] - shift;
        p[k % CHAINS] += d;
        q[k % CHAINS] += d * d;
    }
    *s1 = combine(p);
    *s2 = combine(q);
}

static inline __attribute__((always_inline)) double dot_body(const float *a, const float *b,
                                                             size_t n)
{
    double p[CHAINS] = { 0 };
    size_t k = 0;
    for (; k + CHAINS <= n; k += CHAINS)
        for (int l = 0; l < CHAINS; l++)
            p[l] += (double)a[k + (size_t)l] * b[k + (size_t)l];
    for (; k < n; k++)
        p[k % CHAINS] += (double)a[k] * b[k];
    return combine(p);
}

#define SUMS(NAME, ATTR)                                                                \
    ATTR static double f32_##NAME(const float *x, size_t n, double shift, int squares) \
    {                                                                                   \
        return f32_body(x, n, shift, squares);                                          \
    }                                                                                   \
    ATTR static double dot_##NAME(const float *a, const float *b, size_t n)            \
    {                                                                                   \
        return dot_body(a, b, n);                                                       \
    }                                                                                   \
    ATTR static void moments_##NAME(const float *x, size_t n, double shift, double *s1, \
                                    double *s2)                                         \
    {                                                                                   \
        moments_body(x, n, shift, s1, s2);                                              \
    }

SUMS(portable, )
#if defined(__x86_64__) && defined(__GNUC__)
SUMS(avx2, __attribute__((target("avx2"))))
SUMS(avx512, __attribute__((target("avx512f"))))
#define SUM_X86 1
#endif

double sum_f32_at(int level, const float *x, size_t n, double shift, int squares)
{
#ifdef SUM_X86
    if (level == SIMD_AVX512 && simd_supported(level))
        return f32_avx512(x, n, shift, squares);
    if (level == SIMD_AVX2 && simd_supported(level))
        return f32_avx2(x, n, shift, squares);
#endif
    return f32_portable(x, n, shift, squares);
}

double sum_dot_at(int level, const float *a, const float *b, size_t n)
{
#ifdef SUM_X86
    if (level == SIMD_AVX512 && simd_supported(level))
        return dot_avx512(a, b, n);
    if (level == SIMD_AVX2 && simd_supported(level))
        return dot_avx2(a, b, n);
#endif
    return dot_portable(a, b, n);
}

void sum_moments_at(int level, const float *x, size_t n, double shift, double *s1,
                    double *s2)
{
#ifdef SUM_X86
    if (level == SIMD_AVX512 && simd_supported(level)) {
        moments_avx512(x, n, shift, s1, s2);
        return;
    }
    if (level == SIMD_AVX2 && simd_supported(level)) {
        moments_avx2(x, n, shift, s1, s2);
        return;
    }
#endif
    moments_portable(x, n, shift, s1, s2);
}

void sum_moments(const float *x, size_t n, double shift, double *s1, double *s2)
{
    sum_moments_at(simd_level(), x, n, shift, s1, s2);
}

double sum_f32(const float *x, size_t n, double shift, int squares)
{
    return sum_f32_at(simd_level(), x, n, shift, squares);
}

double sum_dot(const float *a, const float *b, size_t n)
{
    return sum_dot_at(simd_level(), a, b, n);
}
