/* dist.c - distances between two sets of samples; see dist.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dist.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "base/rng.h"

static int g_threads = 1;

void dist_set_threads(int threads)
{
    g_threads = threads > 0 ? threads : 1;
}

/* |a - b|^2 over d coordinates, in double.  Four running sums, so the
 * additions of a long row do not wait on one another. */
static double sqdist(const float *a, const float *b, int d)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c = 0;
    for (; c + 4 <= d; c += 4) {
        double t0 = (double)a[c] - b[c], t1 = (double)a[c + 1] - b[c + 1];
        double t2 = (double)a[c + 2] - b[c + 2], t3 = (double)a[c + 3] - b[c + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; c < d; c++) {
        double t = (double)a[c] - b[c];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

/* ---- MMD ------------------------------------------------------------- */

/* Rows of a against columns of b, the kernel summed per row of a into
 * row[i].  When self (b == a), row i sums only the columns j > i, and task
 * t stands for row t/2 (t even) or na-1-t/2 (t odd): rows from both ends of
 * the triangle alternate, so par_for's contiguous chunks of tasks carry
 * equal work. */
typedef struct {
    const float *a, *b;
    size_t na, nb;
    int d, self;
    double g;           /* 1 / (2 s^2) */
    double *row;        /* na partial sums, each written by one task */
} mmd_job;

/* Rows taken together against one block of columns: the block's points
 * stay in L1 while MMD_ROWS rows go over them. */
enum { MMD_ROWS = 8, MMD_BLOCK_FLOATS = 4096 };

static size_t mmd_task_row(const mmd_job *j, uint64_t t)
{
    if (!j->self)
        return (size_t)t;
    return t % 2 == 0 ? (size_t)(t / 2) : j->na - 1 - (size_t)(t / 2);
}

static void mmd_rows(void *ctx, uint64_t begin, uint64_t end)
{
    const mmd_job *j = ctx;
    size_t d = (size_t)j->d;
    size_t cb = MMD_BLOCK_FLOATS / d;
    if (cb < 16)
        cb = 16;
    for (uint64_t t0 = begin; t0 < end; t0 += MMD_ROWS) {
        size_t rows[MMD_ROWS];
        double sum[MMD_ROWS];
        int nr = 0;
        for (uint64_t t = t0; t < end && nr < MMD_ROWS; t++, nr++) {
            rows[nr] = mmd_task_row(j, t);
            sum[nr] = 0;
        }
        /* Column blocks in increasing order, the same for every row: the
         * row's sum is then the same whatever the chunking. */
        for (size_t c0 = 0; c0 < j->nb; c0 += cb) {
            size_t c1 = c0 + cb < j->nb ? c0 + cb : j->nb;
            for (int r = 0; r < nr; r++) {
                size_t i = rows[r];
                size_t from = j->self && i + 1 > c0 ? i + 1 : c0;
                const float *a = j->a + i * d;
                double s = 0;
                for (size_t c = from; c < c1; c++)
                    s += exp(-j->g * sqdist(a, j->b + c * d, j->d));
                sum[r] += s;
            }
        }
        for (int r = 0; r < nr; r++)
            j->row[rows[r]] = sum[r];
    }
}

/* Sum of k(a_i, b_j) over all i, j, or when self (b is a) over i < j. */
static double kernel_sum(const float *a, size_t na, const float *b, size_t nb,
                         int self, int d, double g, double *row)
{
    mmd_job j = { a, b, na, nb, d, self, g, row };
    par_for(g_threads, na, mmd_rows, &j);
    double s = 0;
    for (size_t i = 0; i < na; i++)
        s += row[i];
    return s;
}

double dist_mmd2(const float *x, size_t n, const float *y, size_t m, int d,
                 double bandwidth)
{
    if (n < 2 || m < 2) {
        err_set(ERR_DATA, "MMD needs at least 2 samples in each set; got %zu "
                "and %zu", n, m);
        return NAN;
    }
    if (d < 1 || !(bandwidth > 0) || !isfinite(bandwidth)) {
        err_set(ERR_DATA, "MMD needs d >= 1 and a finite bandwidth > 0; got "
                "d = %d, bandwidth %g", d, bandwidth);
        return NAN;
    }
    double *row = mem_alloc_array(n > m ? n : m, sizeof(double));
    if (!row)
        return NAN;
    double g = 1 / (2 * bandwidth * bandwidth);
    /* The within-set sums visit each unordered pair once: the mean over
     * i != j is twice that over i < j. */
    double kxx = 2 * kernel_sum(x, n, x, n, 1, d, g, row);
    double kyy = 2 * kernel_sum(y, m, y, m, 1, d, g, row);
    double kxy = kernel_sum(x, n, y, m, 0, d, g, row);
    free(row);
    double dn = (double)n, dm = (double)m;
    return kxx / (dn * (dn - 1)) + kyy / (dm * (dm - 1)) - 2 * kxy / (dn * dm);
}

/* ---- sliced Wasserstein --------------------------------------------- */

typedef struct {
    const float *x, *y;
    size_t n, m;
    int d;
    uint64_t seed;
    double *res;        /* per direction: mean squared quantile difference */
    unsigned char *oom; /* per direction: 1 if its buffers were not allocated */
} swd_job;

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* Sort n doubles (no NaN) by an LSD radix sort on their bits; key and tmp
 * are scratch of n each.  Ten times faster than qsort here, where a
 * thousand sorts of ten thousand projections are the whole cost of
 * dist_swd.  The key of a double orders like the double: the sign bit
 * flipped for >= 0, every bit flipped for < 0.  Digits of 11 bits, 6
 * passes; a pass whose digit is the same in every key (the top bits of
 * values of one sign and magnitude) is skipped. */
enum { RADIX_BITS = 11, RADIX_PASSES = 6, RADIX_SIZE = 1 << RADIX_BITS };

static void sort_doubles(double *p, uint64_t *key, uint64_t *tmp, size_t n)
{
    size_t count[RADIX_PASSES][RADIX_SIZE];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint64_t k;
        memcpy(&k, &p[i], sizeof k);
        k = k >> 63 ? ~k : k | (uint64_t)1 << 63;
        key[i] = k;
        for (int s = 0; s < RADIX_PASSES; s++)
            count[s][(k >> (s * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    }
    uint64_t *src = key, *dst = tmp;
    for (int s = 0; s < RADIX_PASSES; s++) {
        size_t *c = count[s];
        if (n == 0 || c[(src[0] >> (s * RADIX_BITS)) & (RADIX_SIZE - 1)] == n)
            continue;
        size_t sum = 0;
        for (int b = 0; b < RADIX_SIZE; b++) {
            size_t t = c[b];
            c[b] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (s * RADIX_BITS)) & (RADIX_SIZE - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = src[i] >> 63 ? src[i] & ~((uint64_t)1 << 63) : ~src[i];
        double v;
        memcpy(&v, &k, sizeof v);
        p[i] = v;
    }
}

/* p[i] = u . x_i, then sorted (key, tmp: scratch of n). */
static void project_sorted(double *p, uint64_t *key, uint64_t *tmp, const float *x,
                           size_t n, const double *u, int d)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * (size_t)d;
        double s = 0;
        for (int c = 0; c < d; c++)
            s += u[c] * xi[c];
        p[i] = s;
    }
    sort_doubles(p, key, tmp, n);
}

/* The index into n sorted values of the quantile at level (2i+1)/(2M):
 * ceil((2i+1) n / (2M)) - 1, in integers, so no rounding moves a step. */
static size_t quantile_index(size_t i, size_t n, size_t M)
{
    uint64_t num = (2 * (uint64_t)i + 1) * (uint64_t)n, den = 2 * (uint64_t)M;
    return (size_t)((num + den - 1) / den - 1);
}

static void swd_directions(void *ctx, uint64_t begin, uint64_t end)
{
    const swd_job *j = ctx;
    size_t M = j->n > j->m ? j->n : j->m;
    double *u = mem_alloc_array((size_t)j->d, sizeof(double));
    double *px = mem_alloc_array(j->n, sizeof(double));
    double *py = mem_alloc_array(j->m, sizeof(double));
    uint64_t *tmp = mem_alloc_array(M, 2 * sizeof(uint64_t));
    for (uint64_t k = begin; k < end; k++) {
        if (!u || !px || !py || !tmp) {
            j->oom[k] = 1;
            j->res[k] = 0;
            continue;
        }
        /* A Gaussian vector, normalised, is uniform on the sphere; a zero
         * vector (never in practice) is drawn again. */
        rng_t r;
        rng_init(&r, j->seed, DIST_RNG_SWD, k);
        double norm;
        do {
            norm = 0;
            for (int c = 0; c < j->d; c++) {
                u[c] = rng_normal(&r);
                norm += u[c] * u[c];
            }
        } while (norm == 0);
        norm = sqrt(norm);
        for (int c = 0; c < j->d; c++)
            u[c] /= norm;
        project_sorted(px, tmp, tmp + M, j->x, j->n, u, j->d);
        project_sorted(py, tmp, tmp + M, j->y, j->m, u, j->d);
        double s = 0;
        for (size_t i = 0; i < M; i++) {
            double diff = px[j->n == M ? i : quantile_index(i, j->n, M)]
                        - py[j->m == M ? i : quantile_index(i, j->m, M)];
            s += diff * diff;
        }
        j->res[k] = s / (double)M;
    }
    free(u);
    free(px);
    free(py);
    free(tmp);
}

double dist_swd(const float *x, size_t n, const float *y, size_t m, int d,
                int directions, uint64_t seed)
{
    if (n < 1 || m < 1 || d < 1 || directions < 1) {
        err_set(ERR_DATA, "SWD needs samples in both sets, d >= 1 and a "
                "direction; got %zu and %zu samples, d = %d, %d directions",
                n, m, d, directions);
        return NAN;
    }
    double *res = mem_alloc_array((size_t)directions, sizeof(double));
    unsigned char *oom = mem_calloc_array((size_t)directions, 1);
    if (!res || !oom) {
        free(res);
        free(oom);
        return NAN;
    }
    swd_job j = { x, y, n, m, d, seed, res, oom };
    par_for(g_threads, (uint64_t)directions, swd_directions, &j);
    /* Workers only flag a failure: err.c's message is per thread, so one
     * stored there would never reach the caller. */
    int failed = 0;
    double s = 0;
    for (int k = 0; k < directions; k++) {
        failed |= oom[k];
        s += res[k];
    }
    free(res);
    free(oom);
    if (failed) {
        err_set(ERR_IO, "out of memory for the %zu projections of SWD", n + m);
        return NAN;
    }
    return sqrt(s / directions);
}

/* ---- bandwidth ------------------------------------------------------- */

double dist_median_bandwidth(const float *x, size_t n, const float *y, size_t m,
                             int d, size_t max_points)
{
    size_t total = n + m, k = total < max_points ? total : max_points;
    if (k < 2)
        return 0;
    size_t npairs = k * (k - 1) / 2;
    double *dd = mem_alloc_array(npairs, sizeof(double));
    const float **pt = mem_alloc_array(k, sizeof *pt);
    if (!dd || !pt) {
        free(dd);
        free(pt);
        return NAN;
    }
    for (size_t j = 0; j < k; j++) {
        size_t p = (size_t)((uint64_t)j * total / k);
        pt[j] = p < n ? x + p * (size_t)d : y + (p - n) * (size_t)d;
    }
    size_t q = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++)
            dd[q++] = sqrt(sqdist(pt[a], pt[b], d));
    qsort(dd, npairs, sizeof *dd, cmp_double);
    double med = npairs % 2 ? dd[npairs / 2]
                            : (dd[npairs / 2 - 1] + dd[npairs / 2]) / 2;
    free(dd);
    free(pt);
    return med;
}
