/* kid.c - KID: reservoir pools and the polynomial-kernel MMD^2 over
 * subsets; see kid.h. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/kid.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "base/rng.h"

int kid_pool_init(kid_pool *p, size_t d, size_t cap, uint64_t seed, int side)
{
    memset(p, 0, sizeof *p);
    if (d == 0 || cap == 0)
        return err_set(ERR_DATA, "kid: a pool of %zu samples of %zu values", cap, d);
    p->d = d;
    p->cap = cap;
    p->seed = seed;
    p->side = side;
    return 0;
}

void kid_pool_free(kid_pool *p)
{
    free(p->x);
    memset(p, 0, sizeof *p);
}

size_t kid_pool_size(const kid_pool *p)
{
    return p->seen < p->cap ? (size_t)p->seen : p->cap;
}

/* More slots, doubling up to cap: a short stream does not pay for all. */
static int grow(kid_pool *p)
{
    size_t a = p->alloc ? 2 * p->alloc : 64, nv;
    if (a > p->cap)
        a = p->cap;
    if (mem_mul(a, p->d, &nv) < 0)
        return err_set(ERR_IO, "kid: out of memory (%zu samples of %zu values)", a, p->d);
    float *nx = mem_realloc_array(p->x, nv, sizeof(float));
    if (!nx)
        return ERR_IO;
    p->x = nx;
    p->alloc = a;
    return 0;
}

int kid_pool_add(kid_pool *p, const float *x)
{
    uint64_t i = p->seen, slot = i;
    if (i >= p->cap) {
        rng_t r;
        rng_init(&r, p->seed, KID_RNG_POOL + (uint32_t)p->side, i);
        slot = rng_below(&r, i + 1);
    } else if (i == p->alloc && grow(p) < 0)
        return ERR_IO;
    p->seen++;
    if (slot < p->cap)
        memcpy(p->x + (size_t)slot * p->d, x, p->d * sizeof(float));
    return 0;
}

/* sum over i < j of k from the upper triangle of G = A A^T (the rows of A
 * with themselves), or over all i, j of G (two sets), k(g) = (g/d + 1)^3:
 * row by row, so the order is fixed. */
static double kernel_sum(const double *G, size_t m, double inv_d, int upper)
{
    double s = 0;
    for (size_t i = 0; i < m; i++) {
        double row = 0;
        for (size_t j = upper ? i + 1 : 0; j < m; j++) {
            double k = G[i * m + j] * inv_d + 1;
            row += k * k * k;
        }
        s += row;
    }
    return s;
}

double kid_mmd2(const double *X, const double *Y, size_t m, size_t d, double *G)
{
    int n = (int)m, k = (int)d;
    double inv_d = 1.0 / (double)d, dm = (double)m;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1.0, X, k, 0.0, G, n);
    double kxx = 2 * kernel_sum(G, m, inv_d, 1);    /* i != j: twice i < j */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1.0, Y, k, 0.0, G, n);
    double kyy = 2 * kernel_sum(G, m, inv_d, 1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, k, 1.0, X, k, Y, k, 0.0, G, n);
    double kxy = kernel_sum(G, m, inv_d, 0);
    return (kxx + kyy) / (dm * (dm - 1)) - 2 * kxy / (dm * dm);
}

typedef struct {
    const kid_pool *pool[2];
    size_t m;
    uint64_t seed;
    double *val;            /* per subset */
    unsigned char *oom;     /* per subset: its buffers were not allocated */
} kid_job;

/* Subset k of pool p into X (m x d, double); slot: P ints of workspace. */
static void draw(const kid_pool *p, uint64_t seed, uint64_t k, size_t m, size_t *slot,
                 double *X)
{
    size_t P = kid_pool_size(p), d = p->d;
    for (size_t i = 0; i < P; i++)
        slot[i] = i;
    rng_t r;
    rng_init(&r, seed, KID_RNG_SUBSET + (uint32_t)p->side, k);
    for (size_t t = 0; t < m; t++) {
        size_t u = t + (size_t)rng_below(&r, P - t);
        size_t s = slot[t];
        slot[t] = slot[u];
        slot[u] = s;
        const float *x = p->x + slot[t] * d;
        for (size_t c = 0; c < d; c++)
            X[t * d + c] = x[c];
    }
}

static void run_subsets(void *ctx, uint64_t begin, uint64_t end)
{
    const kid_job *j = ctx;
    size_t m = j->m, d = j->pool[0]->d;
    size_t P = kid_pool_size(j->pool[0]) > kid_pool_size(j->pool[1]) ?
               kid_pool_size(j->pool[0]) : kid_pool_size(j->pool[1]);
    double *X = mem_alloc_array(2 * m, d * sizeof(double));
    double *G = X ? mem_alloc_array(m, m * sizeof(double)) : NULL;
    size_t *slot = G ? mem_alloc_array(P, sizeof(size_t)) : NULL;
    for (uint64_t k = begin; k < end; k++) {
        if (!slot) {
            j->oom[k] = 1;
            continue;
        }
        draw(j->pool[0], j->seed, k, m, slot, X);
        draw(j->pool[1], j->seed, k, m, slot, X + m * d);
        j->val[k] = kid_mmd2(X, X + m * d, m, d, G);
    }
    free(X), free(G), free(slot);
}

int kid_estimate(const kid_pool *a, const kid_pool *b, int subsets, size_t m_max,
                 uint64_t seed, int threads, kid_result *r)
{
    size_t m = m_max, pa = kid_pool_size(a), pb = kid_pool_size(b);
    if (pa < m)
        m = pa;
    if (pb < m)
        m = pb;
    if (a->d != b->d)
        return err_set(ERR_DATA, "kid: %zu values per sample against %zu", a->d, b->d);
    if (m < 2 || subsets < 1)
        return err_set(ERR_DATA, "KID needs subsets of at least 2 samples of each set; "
                       "got %zu and %zu samples, %zu a subset", pa, pb, m_max);
    if (m > INT_MAX || a->d > INT_MAX || m > SIZE_MAX / m / sizeof(double))
        return err_set(ERR_IO, "kid: subsets of %zu samples of %zu values are too large",
                       m, a->d);
    size_t K = (size_t)subsets;
    double *val = mem_calloc_array(K, sizeof(double));
    unsigned char *oom = val ? mem_calloc_array(K, 1) : NULL;
    if (!oom) {
        free(val);
        return ERR_IO;
    }
    kid_job j = { { a, b }, m, seed, val, oom };
    par_for(threads, K, run_subsets, &j);
    int rc = 0;
    double sum = 0;
    for (size_t k = 0; k < K && rc == 0; k++) {
        if (oom[k])
            rc = err_set(ERR_IO, "kid: out of memory for subsets of %zu samples of %zu "
                         "values", m, a->d);
        sum += val[k];
    }
    if (rc == 0) {
        double mean = sum / (double)K, ss = 0;
        for (size_t k = 0; k < K; k++)
            ss += (val[k] - mean) * (val[k] - mean);
        r->mean = mean;
        r->sd = K > 1 ? sqrt(ss / (double)(K - 1)) : NAN;
        r->se = K > 1 ? r->sd / sqrt((double)K) : NAN;
        r->m = m;
        r->subsets = subsets;
    }
    free(val), free(oom);
    return rc;
}
