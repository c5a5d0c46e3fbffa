/* moments.h - the mean and covariance of a stream's samples, accumulated
 * in constant memory, and the small moments file that holds them.
 *
 * Two estimators, both with the n - 1 normalisation (numpy.cov's):
 *
 *   full      every value of every sample:
 *               mean_i = 1/n sum_k x_ki,
 *               C_ij   = 1/(n-1) sum_k (x_ki - mean_i)(x_kj - mean_j);
 *
 *   pairwise  only observed values (a mask of 0/1 per value, as classic.h
 *             broadcasts it): with O_i the samples where i is observed and
 *             P_ij those where i and j both are,
 *               mean_i = 1/|O_i| sum_{k in O_i} x_ki       (0 if O_i is empty),
 *               C_ij   = 1/(|P_ij|-1) sum_{k in P_ij} (x_ki - mean_i)(x_kj - mean_j)
 *                                                          (0 if |P_ij| < 2),
 *             then made positive semi-definite: C = V max(L, 0) V^T from its
 *             eigendecomposition C = V L V^T (LAPACK dsyev; psd.h).  This is what
 *             can be estimated from masked data alone.  With every value
 *             observed it is the full estimator (but for the clipping of
 *             rounding-size negative eigenvalues).
 *
 * Sums are in double, of the values minus the first sample's (a shift that
 * the results do not depend on but their rounding does), over blocks of
 * MOM_BLOCK samples (BLAS dgemm), so the result does not depend on how the
 * input is cut into records. */
#ifndef MOMENTS_H
#define MOMENTS_H

#include <stddef.h>
#include <stdint.h>

#define MOM_BLOCK 64

typedef struct {
    size_t d;               /* values per sample */
    int masked;             /* the pairwise estimator */
    uint64_t n;             /* samples added */
    double *shift;          /* d: the first sample */
    double *sum;            /* d: sum of shifted values (full) */
    double *S, *A, *N;      /* d x d: sum z z^T; sum z m^T, m m^T (pairwise) */
    double *bz, *bm;        /* MOM_BLOCK x d: the block being filled */
    int rows;               /* rows in the block */
} mom_acc;

/* Allocates; mom_free frees.  0 or ERR_IO. */
int mom_init(mom_acc *a, size_t d, int masked);
void mom_free(mom_acc *a);

/* Add one sample of d values x; with the pairwise estimator its mask m of
 * mcount values (d, or a divisor of d broadcast as value j -> m[j mod
 * mcount]), each 0 or 1; x's unobserved values are ignored.  0 or ERR_IO. */
int mom_add(mom_acc *a, const float *x, const float *m, size_t mcount);

/* The estimate: mean (d) and cov (d x d, exactly symmetric), and with the
 * pairwise estimator the smallest |P_ij| into *min_pairs (else n).  Needs
 * n >= 1 (cov is 0 for n = 1).  Ends the accumulation.  0, ERR_DATA for no
 * samples, ERR_NUMERIC if dsyev fails, ERR_IO out of memory. */
int mom_finish(mom_acc *a, double *mean, double *cov, uint64_t *min_pairs);

/* ---- the moments file ---------------------------------------------------
 *
 * A tensor stream (tz(5)) of one plain record: `mean` f64 [d], `cov` f64
 * [d, d], `shape` i64 [rank] (the per-sample shape of the field), and the
 * attributes count (samples), field, estimator (full or pairwise), mask
 * (the mask field; pairwise only) and min_pairs. */

typedef struct {
    size_t d;
    int rank;
    uint64_t shape[8];
    uint64_t count, min_pairs;
    char field[256], estimator[16], mask[256];
    double *mean, *cov;     /* owned */
} mom_file;

/* Write m to path (standard output for "-") at zstd level `level`; whole
 * or not at all.  0 or ERR_*. */
int mom_write(const char *path, int level, const mom_file *m);

/* Read a moments file; messages name the file and the reason.  0 or ERR_*
 * (ERR_DATA for a stream that is not a moments file). */
int mom_read(const char *path, mom_file *m);
void mom_file_free(mom_file *m);

#endif
