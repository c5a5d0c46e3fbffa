/* rng.c - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11); see rng.h for how counters are laid out. */
#include <math.h>

#include "base/rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void rng_init(rng_t *r, uint64_t seed, uint32_t stream, uint64_t index)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    /* ctr[0] counts blocks; ctr[1] is the stream; ctr[2..3] the index. */
    r->ctr[0] = 0;
    r->ctr[1] = stream;
    r->ctr[2] = (uint32_t)index;
    r->ctr[3] = (uint32_t)(index >> 32);
    r->left = 0;
    r->have_normal = 0;
}

uint32_t rng_u32(rng_t *r)
{
    if (r->left == 0) {
        rng_philox(r->ctr, r->key, r->out);
        r->ctr[0]++;
        r->left = 4;
    }
    return r->out[4 - r->left--];
}

uint64_t rng_u64(rng_t *r)
{
    uint64_t hi = rng_u32(r);
    return hi << 32 | rng_u32(r);
}

double rng_uniform(rng_t *r)
{
    /* 53 bits, offset by half a step so the result is never 0 or 1. */
    return ((double)(rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t rng_below(rng_t *r, uint64_t n)
{
    /* Rejection on the top of the range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = rng_u64(r);
    while (x >= limit);
    return x % n;
}

/* Box-Muller on two words: a pair of normals scaled by sd into x[0..n),
 * n = 1 or 2.  24-bit uniforms offset by half a step stay inside (0, 1). */
static inline void box_muller(uint32_t a, uint32_t b, float sd, float *x, int n)
{
    float u1 = ((float)(a >> 8) + 0.5f) * 0x1.0p-24f;
    float u2 = ((float)(b >> 8) + 0.5f) * 0x1.0p-24f;
    float rad = sd * sqrtf(-2.0f * logf(u1)), th = 6.2831853f * u2;
    x[0] += rad * cosf(th);
    if (n > 1)
        x[1] += rad * sinf(th);
}

void rng_add_normal_f32(rng_t *r, float *x, uint64_t n, float sd)
{
    uint64_t i = 0;
    /* Words left from an earlier draw first, two at a time; then whole
     * Philox blocks straight from the block function (the hot path); the
     * same words in the same order either way. */
    while (i < n && r->left > 0) {
        uint32_t a = rng_u32(r), b = rng_u32(r);
        box_muller(a, b, sd, x + i, n - i > 1 ? 2 : 1);
        i += 2;
    }
    uint32_t w[4];
    for (; i + 4 <= n; i += 4) {
        rng_philox(r->ctr, r->key, w);
        r->ctr[0]++;
        box_muller(w[0], w[1], sd, x + i, 2);
        box_muller(w[2], w[3], sd, x + i + 2, 2);
    }
    for (; i < n; i += 2) {
        uint32_t a = rng_u32(r), b = rng_u32(r);
        box_muller(a, b, sd, x + i, n - i > 1 ? 2 : 1);
    }
}

double rng_normal(rng_t *r)
{
    if (r->have_normal) {
        r->have_normal = 0;
        return r->normal;
    }
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
    r->normal = rad * sin(th);
    r->have_normal = 1;
    return rad * cos(th);
}

/* Poisson(lambda): multiplication for small lambda, else Hoermann's PTRS
 * ("The transformed rejection method for generating Poisson random
 * variables", 1993). */
double rng_poisson(rng_t *r, double lam)
{
    if (lam <= 0)
        return 0;
    if (lam < 10) {
        double l = exp(-lam), p = 1;
        int k = -1;
        do {
            k++;
            p *= rng_uniform(r);
        } while (p > l);
        return k;
    }
    double slam = sqrt(lam), loglam = log(lam);
    double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = rng_uniform(r) - 0.5, v = rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + lam + 0.43);
        if (us >= 0.07 && v <= vr)
            return k;
        if (k < 0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <=
            -lam + k * loglam - lgamma(k + 1))
            return k;
    }
}
