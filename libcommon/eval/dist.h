/* dist.h - distances between two sets of samples.
 *
 * A set is n points of d f32 values each, row-major (n x d), as a batch
 * field holds them.  The distances judge how close a learned or pushed-back
 * distribution is to a reference one, from samples alone:
 *
 *   dist_mmd2   the unbiased squared maximum mean discrepancy with a
 *               Gaussian (RBF) kernel (Gretton et al. 2012, eq. 3);
 *   dist_swd    the sliced Wasserstein-2 distance over random directions
 *               (Bonneel et al. 2015).
 *
 * Both are deterministic: they depend on their arguments alone, not on the
 * thread count set with dist_set_threads (partial sums are kept per row or
 * per direction and added in a fixed order).  Sums are in double.
 *
 * The values must be finite (the tools check them first): a NaN would
 * poison the sums and disorder the sorts.  Errors: a function that cannot
 * compute its value returns NaN and stores the reason with err_set
 * (ERR_DATA for too few samples or a bad argument, ERR_IO when out of
 * memory); it never prints. */
#ifndef DIST_H
#define DIST_H

#include <stddef.h>
#include <stdint.h>

/* rng stream (purpose) of the random directions of dist_swd. */
enum { DIST_RNG_SWD = 0x44530001 };

/* Threads that dist_mmd2 and dist_swd split their work over (default 1).
 * The results do not depend on it. */
void dist_set_threads(int threads);

/* Unbiased squared MMD between x (n x d) and y (m x d):
 *
 *   MMD^2 = 1/(n(n-1)) sum_{i != j} k(x_i, x_j)
 *         + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
 *         - 2/(n m)    sum_{i, j}    k(x_i, y_j),
 *
 *   k(a, b) = exp(-|a - b|^2 / (2 s^2)),  s = bandwidth > 0.
 *
 * An unbiased estimate: its mean over draws is the population MMD^2, so it
 * can be slightly negative when the two distributions are equal.  Needs
 * n >= 2 and m >= 2.  Cost: O((n + m)^2 d) operations, one exp per pair;
 * each kernel matrix is visited once (the two within-set ones by their
 * upper triangle).  NaN and err set on failure. */
double dist_mmd2(const float *x, size_t n, const float *y, size_t m, int d,
                 double bandwidth);

/* Sliced Wasserstein-2 distance between x (n x d) and y (m x d):
 *
 *   SWD = sqrt( 1/K sum_k  1/M sum_{i<M} (Qx_k(q_i) - Qy_k(q_i))^2 ),
 *
 * over K = directions unit vectors u_k, each a normalised vector of d
 * standard normals drawn from (seed, DIST_RNG_SWD, k): uniform on the
 * sphere.  Qx_k is the empirical quantile function (the inverse of the
 * step CDF) of the projections u_k . x_i: Qx_k(q) is the ceil(q n)-th
 * smallest of them.  M = max(n, m) and q_i = (i + 0.5) / M, so with n == m
 * this pairs the sorted projections one to one.  For one direction the
 * inner mean is W2^2 between the projected empirical measures when n == m.
 * x against x shifted by a vector v gives sqrt(mean (u_k . v)^2), which
 * tends to |v| / sqrt(d) as K grows.  Needs n, m >= 1 and directions >= 1.
 * Cost: O(K (n + m) (d + log(n + m))).  NaN and err set on failure. */
double dist_swd(const float *x, size_t n, const float *y, size_t m, int d,
                int directions, uint64_t seed);

/* The median heuristic for dist_mmd2's bandwidth: the median (numpy's:
 * the mean of the two middle values for an even count) of the Euclidean
 * distances between all pairs of a subsample of the pooled set x then y.
 * The subsample is k = min(n + m, max_points) points at the pooled indices
 * floor(j (n + m) / k), j = 0..k-1 (evenly spread, no randomness), so the
 * cost is O(k^2 (d + log k)).  Returns 0 when there are fewer than 2
 * points (and the median is 0 when most pairs coincide: no bandwidth for
 * the caller to use); NaN and err set when out of memory. */
double dist_median_bandwidth(const float *x, size_t n, const float *y, size_t m,
                             int d, size_t max_points);

#endif
