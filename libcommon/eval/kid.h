/* kid.h - the kernel inception distance of Binkowski, Sutherland, Arbel and
 * Gretton ("Demystifying MMD GANs", ICLR 2018) between two sample sets,
 * on whatever features the caller gives (the name keeps the paper's, not
 * its Inception network): the unbiased squared MMD with the cubic
 * polynomial kernel of d-dimensional points,
 *
 *   k(x, y) = (x . y / d + 1)^3,
 *
 *   MMD^2 = 1/(m(m-1)) sum_{i != j} k(x_i, x_j)
 *         + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
 *         - 2/m^2      sum_{i, j}    k(x_i, y_j),
 *
 * on m samples of each set, averaged over random subsets as the paper does
 * (its defaults: 100 subsets of 1000).  Kernel matrices come from BLAS
 * (dsyrk, dgemm) in double precision.
 *
 * Unlike the Frechet distance it needs the samples themselves.  A kid_pool
 * holds at most cap of a stream's samples: a uniform sample of all it was
 * given (reservoir sampling, Vitter's Algorithm R).  Sample i (counted
 * from 0) goes to slot i while i < cap; after that it replaces slot
 * j = rng_below(i + 1) if j < cap, the one draw of the generator at
 * (seed, KID_RNG_POOL + side, i) (rng.h).  So the pool depends on the
 * samples, their order and the seed, never on how they came in records.
 *
 * Subset k of a set of P pooled samples is drawn from the generator at
 * (seed, KID_RNG_SUBSET + side, k): the slot numbers 0..P-1 in order, then
 * for t = 0..m-1 slot t is swapped with slot t + rng_below(P - t), draws
 * in sequence; the first m slots are the subset (a partial Fisher-Yates
 * shuffle: m distinct samples, every m-subset equally likely).  Side is 0
 * for the first set, 1 for the second.  The subsets, hence the result, do
 * not depend on the thread count: each subset's MMD^2 is computed alone
 * and they are summed in order. */
#ifndef KID_H
#define KID_H

#include <stddef.h>
#include <stdint.h>

/* rng streams (purposes): + side, 0 or 1 */
enum { KID_RNG_POOL = 0x4B494400, KID_RNG_SUBSET = 0x4B494410 };

typedef struct {
    size_t d;               /* values per sample */
    size_t cap;             /* slots */
    uint64_t seen;          /* samples given */
    uint64_t seed;
    int side;
    float *x;               /* min(seen, cap) x d, owned; grows to cap x d */
    size_t alloc;           /* slots allocated */
} kid_pool;

/* Set up an empty pool; it allocates as samples come (kid_pool_free
 * frees).  0, or ERR_DATA for d or cap of 0. */
int kid_pool_init(kid_pool *p, size_t d, size_t cap, uint64_t seed, int side);
/* Offer the next sample (d values, copied).  0 or ERR_IO. */
int kid_pool_add(kid_pool *p, const float *x);
/* Samples held: min(seen, cap). */
size_t kid_pool_size(const kid_pool *p);
void kid_pool_free(kid_pool *p);

/* The unbiased MMD^2 above of X and Y, m x d each, row-major, m >= 2.
 * G: m x m doubles of workspace, the caller's. */
double kid_mmd2(const double *X, const double *Y, size_t m, size_t d, double *G);

typedef struct {
    double mean;            /* of the subsets' MMD^2: the KID */
    double sd;              /* their standard deviation (n - 1); NaN for one */
    double se;              /* sd / sqrt(subsets); NaN for one subset */
    size_t m;               /* samples per subset of each set */
    int subsets;
} kid_result;

/* KID over `subsets` subsets of m = min(m_max, kid_pool_size(a),
 * kid_pool_size(b)) samples of each pool, drawn as above from seed, the
 * subsets split over `threads` threads (BLAS must run one thread per call:
 * openblas_set_num_threads(1)).  Memory per thread: (2 m d + m^2) doubles.
 * 0; ERR_DATA when m < 2, subsets < 1 or the pools' d differ; ERR_IO out
 * of memory. */
int kid_estimate(const kid_pool *a, const kid_pool *b, int subsets, size_t m_max,
                 uint64_t seed, int threads, kid_result *r);

#endif
