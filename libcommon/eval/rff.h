/* rff.h - the squared MMD of two sample sets in constant memory, by random
 * Fourier features, with a jackknife standard error.
 *
 * dist_mmd2 holds both sets and costs O(n^2); a diagnostic run after every
 * iteration of a loop over streams of any length wants neither.  Random
 * Fourier features (Rahimi and Recht, "Random features for large-scale
 * kernel machines", NIPS 2007) replace the RBF kernel by an inner product
 * of D features,
 *
 *   phi_k(x) = sqrt(2/D) cos(w_k . x + b_k),  w_k ~ N(0, I / s^2),
 *                                            b_k ~ U(0, 2 pi),
 *
 * whose mean over the draws of (w, b) is exp(-|x - y|^2 / (2 s^2)).  With
 * several widths s_1..s_J, feature k takes s_(k mod J): the kernel is then
 * the mean of the J RBF kernels, which sees differences at every one of
 * those scales (one width sees those near it only).  The
 * unbiased estimate of dist_mmd2 then needs only, per set, the sum S of
 * the feature vectors, the sum Q of their squared norms and the count n:
 *
 *   MMD^2 = (|S_0|^2 - Q_0) / (n_0 (n_0 - 1)) + (|S_1|^2 - Q_1) / (n_1 (n_1 - 1))
 *         - 2 S_0 . S_1 / (n_0 n_1),
 *
 * an unbiased estimate of the squared MMD of the two laws under the random
 * kernel, itself unbiased for the RBF kernel's over the features' draw.
 *
 * A third set R gives the excess MMD^2(A, B) - MMD^2(R, B): how much
 * further A is from B than R is, with R a floor (a sample of B's own law).
 * When sample j of A is made from sample j of R (a candidate re-simulated
 * from an observation), the two estimates share most of their noise, and
 * the excess is far less noisy than either.
 *
 * The standard error: sample j of a set goes to group j mod G, the sums
 * are kept per group, and the delete-a-group jackknife over the G groups
 * estimates the variance of the whole estimate (the sampling noise of
 * both sets; the features are held fixed).  Memory: 2 G D doubles, whatever
 * the sample counts.
 *
 * Deterministic: the features are drawn from (seed, RFF_RNG, k) and the
 * sums are in double, added in sample order; the thread count changes
 * nothing.  Errors: the functions return a negative ERR_ code with err_set
 * (ERR_DATA for a bad argument or too few samples, ERR_IO out of memory);
 * they never print. */
#ifndef RFF_H
#define RFF_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tz.h"

/* rng stream (purpose) of the features' frequencies and phases. */
enum { RFF_RNG = 0x52464601 };

typedef struct rff_mmd rff_mmd;

typedef struct {
    double mmd2;        /* the estimate above */
    double se;          /* its jackknife standard error */
    uint64_t n[2];      /* samples in A and in B */
} rff_result;

/* An accumulator for samples of d values, `features` features (D) of the
 * mean of the RBF kernels of the `nwidths` widths (each > 0), `groups`
 * (G >= 2) jackknife groups.  NULL and err set on failure; free with
 * rff_mmd_free. */
rff_mmd *rff_mmd_new(int d, int features, const double *widths, int nwidths, uint64_t seed,
                     int groups);
void rff_mmd_free(rff_mmd *m);

/* Threads the features of a call to rff_mmd_add are computed on (default
 * 1).  The result does not depend on it. */
void rff_mmd_set_threads(rff_mmd *m, int threads);

/* Add n samples x (n x d, row-major, finite) to set 0 (A), 1 (B) or 2
 * (R). */
int rff_mmd_add(rff_mmd *m, int set, const float *x, size_t n);

/* MMD^2(A, B) and its standard error; the jackknife needs at least 2
 * samples in each group of each set (so 2 G samples a set). */
int rff_mmd_result(const rff_mmd *m, rff_result *r);

/* MMD^2(R, B) and its standard error; r->n[0] counts R's samples. */
int rff_mmd_floor(const rff_mmd *m, rff_result *r);

/* MMD^2(A, B) - MMD^2(R, B) and its standard error (the jackknife of the
 * difference itself); R needs 2 G samples too.  r->n[0] counts A's. */
int rff_mmd_excess(const rff_mmd *m, rff_result *r);


/* Streams into the sums, a record at a time (constant memory).  Set the
 * parameters, zero the rest; the accumulator is made at the first sample
 * (its size then known), and every later sample must have its shape.  Free
 * with rff_mmd_free(s.m). */
typedef struct {
    int features, nwidths, groups, threads;
    const double *widths;       /* borrowed */
    uint64_t seed, max;         /* max: samples taken of each set */
    rff_mmd *m;
    int rank;                   /* the first sample's shape */
    uint64_t dims[TZ_RANK_MAX];
    char first[300];            /* the input and field it came from */
    uint64_t n[3];              /* samples added to each set */
} rff_stream;

/* Read path to its end, adding field[k] of each batch record to set
 * set0 + k, k < nsets (f32 samples, finite).  0, or an ERR_ code with a
 * message naming the input, the record and the reason. */
int rff_stream_read(rff_stream *s, const char *path, int nsets, const char *const *field,
                    int set0);

#endif
