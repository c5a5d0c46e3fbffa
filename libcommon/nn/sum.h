/* sum.h - sums of f32 arrays in double, in a fixed order.
 *
 * Each sum runs as 32 interleaved partial sums combined pairwise: the
 * order depends on n alone, so the bytes are reproducible, but 32
 * independent chains fill four AVX-512 vectors (eight AVX2 ones) and
 * pipeline where one serial chain, or one vector of them, would wait on
 * every addition.  The loops are built for each level of simd.h
 * and chosen by simd_level(); the _at versions take the level (tests).
 * All levels give the same bits. */
#ifndef SUM_H
#define SUM_H

#include <stddef.h>

/* sum (x[i] - shift), or sum (x[i] - shift)^2 if squares. */
double sum_f32(const float *x, size_t n, double shift, int squares);
/* *s1 = sum (x[i] - shift), *s2 = sum (x[i] - shift)^2 in one pass: the
 * bits of the two sum_f32 calls. */
void sum_moments(const float *x, size_t n, double shift, double *s1, double *s2);
/* sum a[i] b[i]. */
double sum_dot(const float *a, const float *b, size_t n);
double sum_f32_at(int level, const float *x, size_t n, double shift, int squares);
double sum_dot_at(int level, const float *a, const float *b, size_t n);
void sum_moments_at(int level, const float *x, size_t n, double shift, double *s1,
                    double *s2);

#endif
