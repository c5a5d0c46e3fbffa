/* simd.h - kernels chosen at run time by CPU features.
 *
 * Each kernel has a portable C version (the reference of the tests) and,
 * where the compiler can build them, AVX2+FMA and AVX-512 versions; the
 * first call picks the widest the CPU runs.  SCSI_SIMD=portable, avx2 or
 * avx512 in the environment forces one (an unsupported choice falls back
 * to the portable one).  The versions round differently (an exponential
 * by polynomial, not libm's), within 3e-7 relative of each other: results
 * are reproducible on one machine, not bit for bit across CPU kinds. */
#ifndef SIMD_H
#define SIMD_H

#include <stddef.h>

enum { SIMD_PORTABLE, SIMD_AVX2, SIMD_AVX512, SIMD_COUNT };

/* The level in use, and its name ("portable", "avx2", "avx512"). */
int simd_level(void);
const char *simd_name(int level);
/* 1 if this CPU runs the level. */
int simd_supported(int level);

/* out[i] = in[i] / (1 + exp(-in[i])), the SiLU: at each level, the bits
 * of out[i] depend on in[i] alone (not on n, nor on i). */
void simd_silu(float *out, const float *in, size_t n);
/* The same at a given level (tests). */
void simd_silu_at(int level, float *out, const float *in, size_t n);
/* The level's SiLU, for loops that call it often on short rows. */
typedef void (*simd_silu_fn)(float *out, const float *in, size_t n);
simd_silu_fn simd_silu_for(int level);

/* din[i] = dout[i] times the SiLU's derivative at in[i], from its output
 * out[i] (nn_silu_backward).  Every level gives the same bits. */
void simd_silu_grad(float *din, const float *dout, const float *in, const float *out, size_t n);
void simd_silu_grad_at(int level, float *din, const float *dout, const float *in,
                       const float *out, size_t n);

#endif
