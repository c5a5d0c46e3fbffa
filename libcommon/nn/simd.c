/* simd.c - kernels chosen at run time; see simd.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SIMD_X86 1
#endif

static void silu_portable(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] / (1.0f + expf(-in[i]));
}

/* din = dout (s + y (1 - s)), s = y / x (1/2 at x = 0): the SiLU's
 * derivative from its input x and output y.  The vector versions divide
 * by 1 where x = 0 and then pick 1/2, which gives these same bits. */
static void silu_grad_portable(float *din, const float *dout, const float *in,
                               const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = in[i] != 0.0f ? out[i] / in[i] : 0.5f;
        din[i] = dout[i] * (s + out[i] * (1.0f - s));
    }
}

#ifdef SIMD_X86
/* exp(v) = 2^k exp(r), k = round(v log2 e), r = v - k ln 2 (ln 2 split in
 * two for accuracy), exp(r) by its Taylor polynomial to degree 6: |r| <=
 * ln2 / 2 gives a relative error near 1e-7.  v is clamped to +-88 so that
 * 2^k stays a normal float. */
#define EXP_BODY(V, PS, SET1, MIN, MAX, ROUND, FMA, MUL, CVT, ADDI, SLLI, CAST)       \
    do {                                                                            \
        V = MIN(MAX(V, SET1(-88.0f)), SET1(88.0f));                                 \
        PS k_ = ROUND(MUL(V, SET1(1.44269504088896341f)));                          \
        PS r_ = FMA(k_, SET1(-0.693359375f), V);                                    \
        r_ = FMA(k_, SET1(2.12194440e-4f), r_);                                     \
        PS p_ = SET1(1.0f / 720);                                                   \
        p_ = FMA(p_, r_, SET1(1.0f / 120));                                         \
        p_ = FMA(p_, r_, SET1(1.0f / 24));                                          \
        p_ = FMA(p_, r_, SET1(1.0f / 6));                                           \
        p_ = FMA(p_, r_, SET1(0.5f));                                               \
        p_ = FMA(p_, r_, SET1(1.0f));                                               \
        p_ = FMA(p_, r_, SET1(1.0f));                                               \
        V = MUL(p_, CAST(SLLI(ADDI(CVT(k_), 127), 23)));                            \
    } while (0)

__attribute__((target("avx2,fma")))
static __m256 round8(__m256 v)
{
    return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
__attribute__((target("avx2,fma")))
static __m256i addi8(__m256i a, int b)
{
    return _mm256_add_epi32(a, _mm256_set1_epi32(b));
}

/* The vector loops run their tail (under a vector) through a zeroed
 * vector of their own, so that every value's SiLU has the same bits
 * wherever it sits and whatever n (a row of a channel or all of it). */
#define SILU_TAIL(NAME, VN)                                                 \
    do {                                                                    \
        if (i < n) {                                                        \
            float t_[VN] = { 0 };                                           \
            memcpy(t_, in + i, sizeof(float) * (n - i));                    \
            NAME(t_, t_, VN);                                               \
            memcpy(out + i, t_, sizeof(float) * (n - i));                   \
        }                                                                   \
    } while (0)

__attribute__((target("avx2,fma")))
static void silu_avx2(float *out, const float *in, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        /* Below -88 the SiLU is 0 to within 1e-36: clamp, so that x / (1 +
         * exp(-x)) does not meet a clamped exponential with a huge x. */
        __m256 x = _mm256_max_ps(_mm256_loadu_ps(in + i), _mm256_set1_ps(-88.0f));
        __m256 e = _mm256_sub_ps(_mm256_setzero_ps(), x);
        EXP_BODY(e, __m256, _mm256_set1_ps, _mm256_min_ps, _mm256_max_ps, round8,
                 _mm256_fmadd_ps, _mm256_mul_ps, _mm256_cvtps_epi32, addi8,
                 _mm256_slli_epi32, _mm256_castsi256_ps);
        _mm256_storeu_ps(out + i, _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
    }
    SILU_TAIL(silu_avx2, 8);
}

/* No fused multiply-add here: the same roundings as the portable loop. */
__attribute__((target("avx2,fma")))
static void silu_grad_avx2(float *din, const float *dout, const float *in, const float *out,
                           size_t n)
{
    size_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(in + i), y = _mm256_loadu_ps(out + i);
        __m256 nz = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ);
        __m256 s = _mm256_blendv_ps(half, _mm256_div_ps(y, _mm256_blendv_ps(one, x, nz)), nz);
        __m256 d = _mm256_add_ps(s, _mm256_mul_ps(y, _mm256_sub_ps(one, s)));
        d = _mm256_mul_ps(_mm256_loadu_ps(dout + i), d);
        _mm256_storeu_ps(din + i, d);
    }
    silu_grad_portable(din + i, dout + i, in + i, out + i, n - i);
}

__attribute__((target("avx512f")))
static void silu_grad_avx512(float *din, const float *dout, const float *in, const float *out,
                             size_t n)
{
    size_t i = 0;
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(in + i), y = _mm512_loadu_ps(out + i);
        __mmask16 nz = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        __m512 s = _mm512_mask_blend_ps(nz, half, _mm512_div_ps(y, _mm512_mask_blend_ps(nz, one, x)));
        __m512 d = _mm512_add_ps(s, _mm512_mul_ps(y, _mm512_sub_ps(one, s)));
        d = _mm512_mul_ps(_mm512_loadu_ps(dout + i), d);
        _mm512_storeu_ps(din + i, d);
    }
    silu_grad_portable(din + i, dout + i, in + i, out + i, n - i);
}

__attribute__((target("avx512f")))
static __m512 round16(__m512 v)
{
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
__attribute__((target("avx512f")))
static __m512i addi16(__m512i a, int b)
{
    return _mm512_add_epi32(a, _mm512_set1_epi32(b));
}

__attribute__((target("avx512f")))
static void silu_avx512(float *out, const float *in, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_max_ps(_mm512_loadu_ps(in + i), _mm512_set1_ps(-88.0f));
        __m512 e = _mm512_sub_ps(_mm512_setzero_ps(), x);
        EXP_BODY(e, __m512, _mm512_set1_ps, _mm512_min_ps, _mm512_max_ps, round16,
                 _mm512_fmadd_ps, _mm512_mul_ps, _mm512_cvtps_epi32, addi16,
                 _mm512_slli_epi32, _mm512_castsi512_ps);
        _mm512_storeu_ps(out + i, _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
    }
    SILU_TAIL(silu_avx512, 16);
}
#endif

int simd_supported(int level)
{
#ifdef SIMD_X86
    __builtin_cpu_init();
    if (level == SIMD_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (level == SIMD_AVX512)
        return __builtin_cpu_supports("avx512f");
#endif
    return level == SIMD_PORTABLE;
}

const char *simd_name(int level)
{
    static const char *names[SIMD_COUNT] = { "portable", "avx2", "avx512" };
    return level >= 0 && level < SIMD_COUNT ? names[level] : "?";
}

/* Chosen once; a race between two first calls picks the same level. */
static int g_level = -1;

int simd_level(void)
{
    if (g_level >= 0)
        return g_level;
    int level = SIMD_PORTABLE;
    for (int l = SIMD_COUNT - 1; l > SIMD_PORTABLE; l--)
        if (simd_supported(l)) {
            level = l;
            break;
        }
    const char *want = getenv("SCSI_SIMD");
    for (int l = 0; want && l < SIMD_COUNT; l++)
        if (!strcmp(want, simd_name(l)))
            level = simd_supported(l) ? l : SIMD_PORTABLE;
    g_level = level;
    return level;
}

simd_silu_fn simd_silu_for(int level)
{
#ifdef SIMD_X86
    if (level == SIMD_AVX512 && simd_supported(level))
        return silu_avx512;
    if (level == SIMD_AVX2 && simd_supported(level))
        return silu_avx2;
#endif
    return silu_portable;
}

void simd_silu_at(int level, float *out, const float *in, size_t n)
{
    simd_silu_for(level)(out, in, n);
}

void simd_silu(float *out, const float *in, size_t n)
{
    simd_silu_at(simd_level(), out, in, n);
}

void simd_silu_grad_at(int level, float *din, const float *dout, const float *in,
                       const float *out, size_t n)
{
#ifdef SIMD_X86
    if (level == SIMD_AVX512 && simd_supported(level)) {
        silu_grad_avx512(din, dout, in, out, n);
        return;
    }
    if (level == SIMD_AVX2 && simd_supported(level)) {
        silu_grad_avx2(din, dout, in, out, n);
        return;
    }
#endif
    silu_grad_portable(din, dout, in, out, n);
}

void simd_silu_grad(float *din, const float *dout, const float *in, const float *out, size_t n)
{
    simd_silu_grad_at(simd_level(), din, dout, in, out, n);
}
