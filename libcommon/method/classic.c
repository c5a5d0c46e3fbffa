/* classic.c - neighbour fill, harmonic inpainting, linear MMSE (classic.h). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method/classic.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"

/* LAPACK (OpenBLAS), the Fortran symbols: no LAPACKE header needed. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
             const int *lda, double *b, const int *ldb, int *info);

size_t cls_mask_check(const float *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i] != 0.0f && m[i] != 1.0f)
            return i;
    return n;
}

/* The mask of channel c: mcount is C*H*W or H*W. */
static const float *chan_mask(const float *m, size_t mcount, size_t hw, int c)
{
    return mcount == hw ? m : m + (size_t)c * hw;
}

/* ---- neighbour fill ------------------------------------------------------ */

/* One channel.  known[i]: 1 observed or filled; v the values so far. */
static void fill_channel(const float *y, const float *m, int H, int W, float *x,
                         unsigned char *known, unsigned char *next, double *v)
{
    size_t hw = (size_t)H * (size_t)W, left = 0;
    for (size_t i = 0; i < hw; i++) {
        known[i] = m[i] != 0.0f;
        v[i] = known[i] ? y[i] : 0.0;
        left += !known[i];
    }
    if (left == hw) {               /* nothing observed */
        memset(x, 0, sizeof(float) * hw);
        return;
    }
    while (left) {
        memcpy(next, known, hw);
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                size_t i = (size_t)r * (size_t)W + (size_t)c;
                if (known[i])
                    continue;
                double s = 0;
                int k = 0;
                for (int dr = -1; dr <= 1; dr++)
                    for (int dc = -1; dc <= 1; dc++) {
                        int rr = r + dr, cc = c + dc;
                        if ((dr || dc) && rr >= 0 && rr < H && cc >= 0 && cc < W &&
                            known[(size_t)rr * (size_t)W + (size_t)cc]) {
                            s += v[(size_t)rr * (size_t)W + (size_t)cc];
                            k++;
                        }
                    }
                if (k) {
                    /* written to v at once would change a later neighbour's
                     * mean; known[] still says "before the sweep", and the
                     * new values wait in x until the sweep ends */
                    x[i] = (float)(s / k);
                    next[i] = 1;
                    left--;
                }
            }
        for (size_t i = 0; i < hw; i++)
            if (next[i] && !known[i]) {
                v[i] = x[i];
                known[i] = 1;
            }
    }
    for (size_t i = 0; i < hw; i++)
        if (m[i] != 0.0f)
            x[i] = y[i];
}

int cls_neighbour(const float *y, const float *m, size_t mcount, int C, int H, int W,
                  float *x)
{
    size_t hw = (size_t)H * (size_t)W;
    unsigned char *known = mem_alloc_array(2, hw);
    double *v = mem_alloc_array(hw, sizeof(double));
    if (!known || !v) {
        free(known), free(v);
        return ERR_IO;
    }
    for (int c = 0; c < C; c++)
        fill_channel(y + (size_t)c * hw, chan_mask(m, mcount, hw, c), H, W,
                     x + (size_t)c * hw, known, known + hw, v);
    free(known), free(v);
    return 0;
}

/* ---- harmonic inpainting ------------------------------------------------- */

typedef struct {
    int H, W;
    size_t n;               /* unknowns */
    size_t *pix;            /* n: pixel of unknown k */
    long *idx;              /* hw: unknown of pixel i, or -1 */
} lap;

/* out = L u over the unknowns (L: degree minus unknown neighbours). */
static void lap_apply(const lap *L, const double *u, double *out)
{
    int H = L->H, W = L->W;
    for (size_t k = 0; k < L->n; k++) {
        int r = (int)(L->pix[k] / (size_t)W), c = (int)(L->pix[k] % (size_t)W);
        static const int dr[4] = { -1, 1, 0, 0 }, dc[4] = { 0, 0, -1, 1 };
        double s = 0;
        int deg = 0;
        for (int j = 0; j < 4; j++) {
            int rr = r + dr[j], cc = c + dc[j];
            if (rr < 0 || rr >= H || cc < 0 || cc >= W)
                continue;
            deg++;
            long q = L->idx[(size_t)rr * (size_t)W + (size_t)cc];
            if (q >= 0)
                s += u[q];
        }
        out[k] = deg * u[k] - s;
    }
}

/* b_k = the sum of the observed 4-neighbours of unknown k. */
static void lap_rhs(const lap *L, const float *y, double *b)
{
    int H = L->H, W = L->W;
    static const int dr[4] = { -1, 1, 0, 0 }, dc[4] = { 0, 0, -1, 1 };
    for (size_t k = 0; k < L->n; k++) {
        int r = (int)(L->pix[k] / (size_t)W), c = (int)(L->pix[k] % (size_t)W);
        double s = 0;
        for (int j = 0; j < 4; j++) {
            int rr = r + dr[j], cc = c + dc[j];
            if (rr < 0 || rr >= H || cc < 0 || cc >= W)
                continue;
            size_t q = (size_t)rr * (size_t)W + (size_t)cc;
            if (L->idx[q] < 0)
                s += y[q];
        }
        b[k] = s;
    }
}

static double max_abs(const double *v, size_t n)
{
    double a = 0;
    for (size_t i = 0; i < n; i++)
        a = fmax(a, fabs(v[i]));
    return a;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Solve L u = b by CG from u; 0 or ERR_NUMERIC.  w: 4 n doubles. */
static int lap_cg(const lap *L, const double *b, double *u, double *w)
{
    size_t n = L->n;
    double *r = w, *p = w + n, *q = w + 2 * n;
    long limit = 10 * (long)n + 100;
    for (long it = 0; it <= limit;) {
        lap_apply(L, u, q);         /* the true residual, at each (re)start */
        for (size_t k = 0; k < n; k++)
            r[k] = b[k] - q[k];
        if (max_abs(r, n) <= CLS_HARMONIC_TOL)
            return 0;
        memcpy(p, r, sizeof(double) * n);
        double rr = dot(r, r, n);
        for (; it <= limit; it++) {
            lap_apply(L, p, q);
            double pq = dot(p, q, n);
            if (!(pq > 0)) {
                it++;
                break;
            }
            double a = rr / pq;
            for (size_t k = 0; k < n; k++) {
                u[k] += a * p[k];
                r[k] -= a * q[k];
            }
            if (max_abs(r, n) <= 0.1 * CLS_HARMONIC_TOL) {
                it++;
                break;              /* to the check on the true residual */
            }
            double rr2 = dot(r, r, n);
            for (size_t k = 0; k < n; k++)
                p[k] = r[k] + rr2 / rr * p[k];
            rr = rr2;
        }
    }
    return err_set(ERR_NUMERIC, "harmonic inpainting: conjugate gradients did not reach "
                   "a residual of %g in %ld iterations", CLS_HARMONIC_TOL, limit);
}

static int lap_init(lap *L, const float *m, int H, int W)
{
    size_t hw = (size_t)H * (size_t)W;
    L->H = H, L->W = W, L->n = 0;
    L->pix = mem_alloc_array(hw, sizeof(size_t));
    L->idx = mem_alloc_array(hw, sizeof(long));
    if (!L->pix || !L->idx)
        return ERR_IO;
    for (size_t i = 0; i < hw; i++) {
        L->idx[i] = m[i] != 0.0f ? -1 : (long)L->n;
        if (m[i] == 0.0f)
            L->pix[L->n++] = i;
    }
    return 0;
}

int cls_harmonic(const float *y, const float *m, size_t mcount, int C, int H, int W,
                 float *x)
{
    size_t hw = (size_t)H * (size_t)W;
    int rc = cls_neighbour(y, m, mcount, C, H, W, x);
    if (rc < 0)
        return rc;
    double *w = mem_alloc_array(hw, 6 * sizeof(double));
    if (!w)
        return ERR_IO;
    lap L = { 0 };
    for (int c = 0; c < C && rc == 0; c++) {
        const float *mc = chan_mask(m, mcount, hw, c), *yc = y + (size_t)c * hw;
        float *xc = x + (size_t)c * hw;
        if (c == 0 || mcount != hw) {
            free(L.pix), free(L.idx);
            if ((rc = lap_init(&L, mc, H, W)) < 0)
                break;
        }
        if (L.n == 0 || L.n == hw)  /* nothing to solve, or nothing observed */
            continue;
        double *u = w, *b = w + hw;
        for (size_t k = 0; k < L.n; k++)
            u[k] = xc[L.pix[k]];
        lap_rhs(&L, yc, b);
        if ((rc = lap_cg(&L, b, u, w + 2 * hw)) == 0)
            for (size_t k = 0; k < L.n; k++)
                xc[L.pix[k]] = (float)u[k];
    }
    free(L.pix), free(L.idx), free(w);
    return rc;
}

double cls_harmonic_residual(const float *x, const float *m, size_t mcount, int C, int H,
                             int W)
{
    size_t hw = (size_t)H * (size_t)W;
    double worst = 0;
    static const int dr[4] = { -1, 1, 0, 0 }, dc[4] = { 0, 0, -1, 1 };
    for (int ch = 0; ch < C; ch++) {
        const float *mc = chan_mask(m, mcount, hw, ch), *xc = x + (size_t)ch * hw;
        for (int r = 0; r < H; r++)
            for (int c = 0; c < W; c++) {
                size_t i = (size_t)r * (size_t)W + (size_t)c;
                if (mc[i] != 0.0f)
                    continue;
                double s = 0;
                int deg = 0;
                for (int j = 0; j < 4; j++) {
                    int rr = r + dr[j], cc = c + dc[j];
                    if (rr >= 0 && rr < H && cc >= 0 && cc < W) {
                        deg++;
                        s += xc[(size_t)rr * (size_t)W + (size_t)cc];
                    }
                }
                worst = fmax(worst, fabs(deg * (double)xc[i] - s));
            }
    }
    return worst;
}

/* ---- linear MMSE --------------------------------------------------------- */

int cls_lmmse(const cls_prior *p, const float *y, const float *m, size_t mcount, float *x)
{
    size_t d = p->d, k = 0;
    size_t *obs = mem_alloc_array(d, sizeof(size_t));
    if (!obs)
        return ERR_IO;
    for (size_t j = 0; j < d; j++)
        if (m[j % mcount] != 0.0f)
            obs[k++] = j;
    if (k == 0) {
        for (size_t j = 0; j < d; j++)
            x[j] = (float)p->mu[j];
        free(obs);
        return 0;
    }
    if (k > 46340) {    /* k*k must fit LAPACK's int */
        free(obs);
        return err_set(ERR_DATA, "linear MMSE: %zu observed values are too many", k);
    }
    double *A = mem_alloc_array(k * k + k, sizeof(double));
    if (!A) {
        free(obs);
        return ERR_IO;
    }
    double *a = A + k * k;
    for (size_t s = 0; s < k; s++) {
        const double *row = p->cov + obs[s] * d;
        for (size_t t = 0; t < k; t++)
            A[s * k + t] = row[obs[t]];
        A[s * k + s] += p->s2 + p->ridge;
        a[s] = (double)y[obs[s]] - p->mu[obs[s]];
    }
    int n = (int)k, one = 1, info = 0;
    dpotrf_("L", &n, A, &n, &info);
    if (info == 0)
        dpotrs_("L", &n, &one, A, &n, a, &n, &info);
    int rc = 0;
    if (info != 0)
        rc = err_set(ERR_NUMERIC, "linear MMSE: the prior's covariance of the %zu observed "
                     "values is not positive definite (LAPACK info %d); give a noise "
                     "variance", k, info);
    else
        for (size_t j = 0; j < d; j++) {
            const double *row = p->cov + j * d;
            double s = p->mu[j];
            for (size_t t = 0; t < k; t++)
                s += row[obs[t]] * a[t];
            x[j] = (float)s;
        }
    if (rc == 0 && p->s2 == 0)
        for (size_t t = 0; t < k; t++)
            x[obs[t]] = y[obs[t]];
    free(A), free(obs);
    return rc;
}

/* ---- a batch of images --------------------------------------------------- */

int cls_parse(const char *name)
{
    static const char *names[] = { "neighbour", "harmonic", "lmmse", "deblock", "tikhonov" };
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

typedef struct {
    int method;
    const cls_prior *p;
    const float *y, *m;
    size_t d, mcount;
    int C, H, W;
    float *x;
} batch_job;

static int one(const batch_job *j, uint64_t i)
{
    const float *y = j->y + i * j->d, *m = j->m + i * j->mcount;
    float *x = j->x + i * j->d;
    switch (j->method) {
    case CLS_NEIGHBOUR: return cls_neighbour(y, m, j->mcount, j->C, j->H, j->W, x);
    case CLS_HARMONIC: return cls_harmonic(y, m, j->mcount, j->C, j->H, j->W, x);
    default: return cls_lmmse(j->p, y, m, j->mcount, x);
    }
}

static uint64_t batch_chunk(void *ctx, uint64_t begin, uint64_t end)
{
    batch_job *j = ctx;
    for (uint64_t i = begin; i < end; i++)
        if (one(j, i) < 0)
            return i;
    return end;
}

int cls_restore(int method, const cls_prior *p, const float *y, const float *m,
                uint64_t n, size_t mcount, int C, int H, int W, float *x, int threads)
{
    size_t d = method == CLS_LMMSE ? p->d : (size_t)C * (size_t)H * (size_t)W;
    batch_job j = { method, p, y, m, d, mcount, C, H, W, x };
    uint64_t bad = par_first_failure(threads, n, batch_chunk, &j);
    if (bad == n)
        return 0;
    /* the message was the worker's (thread-local): make it again here */
    int rc = one(&j, bad);
    return err_prefix(rc < 0 ? rc : ERR_NUMERIC, "image %llu", (unsigned long long)bad);
}

int cls_restore_record(tz_record *rec, const char *yname, const char *mname,
                       const char *xname, int method, const cls_prior *p, int threads)
{
    tz_tensor *y = tz_record_find(rec, yname), *m = tz_record_find(rec, mname);
    if (!y || y->dtype != TZ_F32 || y->rank < 2)
        return err_set(ERR_DATA, "need an f32 observation field '%s' of samples", yname);
    size_t d = tz_tensor_row_bytes(y) / 4, mc = m ? tz_tensor_row_bytes(m) / 4 : 0;
    if (!m || m->dtype != TZ_F32 || !mc || d % mc || m->dims[0] != y->dims[0])
        return err_set(ERR_DATA, "need an f32 mask field '%s' of as many values per sample "
                       "as '%s' (%zu) or of one channel of it", mname, yname, d);
    int r = y->rank;
    if (method != CLS_LMMSE && r != 3 && r != 4)
        return err_set(ERR_DATA, "%s needs images: '%s' of shape (n,C,H,W) or (n,H,W)",
                       method == CLS_HARMONIC ? "harmonic" : "neighbour", yname);
    size_t hw = (size_t)y->dims[r - 1] * (size_t)y->dims[r - 2];
    if (method != CLS_LMMSE && (y->dims[r - 1] > INT_MAX || y->dims[r - 2] > INT_MAX ||
                                (r == 4 && y->dims[1] > INT_MAX)))
        return err_set(ERR_DATA, "images of '%s' are too large", yname);
    if (method != CLS_LMMSE && mc != hw && mc != d)
        return err_set(ERR_DATA, "mask '%s' has %zu values per sample: need %zu (one per "
                       "value of '%s') or %zu (one per pixel)", mname, mc, d, yname, hw);
    if (method == CLS_LMMSE && d != p->d)
        return err_set(ERR_DATA, "'%s' has %zu values per sample, the prior %zu", yname, d,
                       p->d);
    if (tz_record_find(rec, xname))
        return err_set(ERR_DATA, "field '%s' is already there", xname);
    uint64_t n = y->dims[0], count = tz_tensor_count(y);
    const float *yv = y->data, *mv = m->data;
    for (uint64_t i = 0; i < count; i++)
        if (!isfinite(yv[i]))
            return err_set(ERR_NUMERIC, "field '%s' holds %s (sample %llu of the record)",
                           yname, isnan(yv[i]) ? "NaN" : "Inf",
                           (unsigned long long)(i / d));
    size_t bad = cls_mask_check(mv, (size_t)n * mc);
    if (bad < (size_t)n * mc)
        return err_set(ERR_DATA, "mask '%s' holds %g, neither 0 nor 1 (sample %zu of the "
                       "record)", mname, mv[bad], bad / mc);
    int C = r == 4 ? (int)y->dims[1] : 1;
    uint64_t dims[TZ_RANK_MAX];
    memcpy(dims, y->dims, sizeof(uint64_t) * (size_t)r);
    tz_tensor *x = tz_record_add(rec, xname, TZ_F32, r, dims, NULL);
    if (!x)
        return err_code();
    /* adding may have moved the tensors: find them again */
    y = tz_record_find(rec, yname), m = tz_record_find(rec, mname);
    return cls_restore(method, p, y->data, m->data, n, mc, C, (int)dims[r - 2],
                       (int)dims[r - 1], x->data, threads);
}
