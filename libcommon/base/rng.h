/* rng.h - counter-based random numbers (Philox4x32-10).
 *
 * A generator is a pure function of (seed, stream, index): seed is the
 * user's --seed, stream names a purpose (an operator, a resample number),
 * index is the sample's position in the whole stream.  So the numbers a
 * sample sees do not depend on how the stream is batched, nor on which
 * thread handles it.  Each (seed, stream, index) yields up to 2^34 32-bit
 * draws. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t out[4];
    int left;           /* unused words in out */
    int have_normal;    /* Box-Muller's second value is cached */
    double normal;
} rng_t;

/* The raw block function: out = Philox4x32-10(ctr, key). */
void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Position r at the start of the draws for (seed, stream, index). */
void rng_init(rng_t *r, uint64_t seed, uint32_t stream, uint64_t index);
uint32_t rng_u32(rng_t *r);
uint64_t rng_u64(rng_t *r);
/* Uniform on (0, 1), 53 random bits; never 0 or 1. */
double rng_uniform(rng_t *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller). */
double rng_normal(rng_t *r);
/* n standard normals, scaled by sd, added to x[0..n): the fast path for
 * noise fields (single-precision Box-Muller on 24-bit uniforms). */
void rng_add_normal_f32(rng_t *r, float *x, uint64_t n, float sd);
/* A Poisson(lambda) count (0 for lambda <= 0), as a double. */
double rng_poisson(rng_t *r, double lam);

#endif
