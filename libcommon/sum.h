/* sum.h - sums of f32 arrays in double, in a fixed order.
 *
 * Each sum runs as 8 interleaved partial sums combined pairwise: the
 * order depends on n alone, so the bytes are reproducible, but 8
 * independent chains pipeline and vectorise where one serial chain would
 * wait on every addition. */
#ifndef SUM_H
#define SUM_H

#include <stddef.h>

/* sum (x[i] - shift), or sum (x[i] - shift)^2 if squares. */
double sum_f32(const float *x, size_t n, double shift, int squares);
/* sum a[i] b[i]. */
double sum_dot(const float *a, const float *b, size_t n);

#endif
