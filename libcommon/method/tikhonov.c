/* tikhonov.c - Tikhonov deconvolution of 1-D signals; see tikhonov.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "method/tikhonov.h"

void dpbtrf_(const char *uplo, const int *n, const int *kd, double *ab, const int *ldab,
             int *info);
void dpbtrs_(const char *uplo, const int *n, const int *kd, const int *nrhs, const double *ab,
             const int *ldab, double *b, const int *ldb, int *info);

typedef struct {
    const lin_chain *lc;
    const tik_opts *o;
    lin_fields f;
    const float *y;
    float *x;
    int C, H, W;
    size_t d;
} job;

/* One thread's scratch, sized for the widest band of the record. */
typedef struct {
    float *e, *work;    /* a probe (d floats), lin_apply's scratch */
    double *band;       /* rows x W x (2 reach + 1): A's band, row by row */
    double *ab, *b;     /* the normal matrix (LAPACK's lower band), the rhs */
} scratch;

static int scratch_init(scratch *s, const job *j, int reach)
{
    size_t P = 2 * (size_t)reach + 1, W = (size_t)j->W, rows = j->d / W;
    size_t kd = 2 * (size_t)reach > 2 ? 2 * (size_t)reach : 2;
    s->e = mem_alloc_array(j->d, sizeof(float));
    s->work = mem_alloc_array(lin_work_floats(j->C, j->H, j->W), sizeof(float));
    s->band = mem_alloc_array(rows * W, P * sizeof(double));
    s->ab = mem_alloc_array(W, (kd + 1) * sizeof(double));
    s->b = mem_alloc_array(W, sizeof(double));
    return s->e && s->work && s->band && s->ab && s->b ? 0 : ERR_IO;
}

static void scratch_free(scratch *s)
{
    free(s->e), free(s->work), free(s->band), free(s->ab), free(s->b);
}

/* The coefficients of a row of D_k, k + 1 of them. */
static const double g_diff[3][3] = { { 1 }, { -1, 1 }, { 1, -2, 1 } };

/* A's band, band[(row W + i) P + (j - i + reach)] = A(i, j) of that row,
 * from P combs: comb q holds 1 at every j = q mod P of every row, and A
 * spreads each no farther than reach, so the response at i is column j's
 * alone (j the comb's value within reach of i). */
static void read_band(const job *jb, const lin_side *sd, int reach, scratch *s)
{
    int W = jb->W, P = 2 * reach + 1;
    size_t rows = jb->d / (size_t)W;
    for (int q = 0; q < P; q++) {
        memset(s->e, 0, sizeof(float) * jb->d);
        for (size_t r = 0; r < rows; r++)
            for (int j = q; j < W; j += P)
                s->e[r * (size_t)W + (size_t)j] = 1;
        lin_apply(jb->lc, sd, jb->C, jb->H, W, s->e, s->work);
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < W; i++) {
                int t = ((q - i) % P + P) % P, j = t <= reach ? i + t : i + t - P;
                if (j >= 0 && j < W)
                    s->band[(r * (size_t)W + (size_t)i) * (size_t)P +
                            (size_t)(j - i + reach)] = s->e[r * (size_t)W + (size_t)i];
            }
    }
}

/* Row r of the sample (A's band from read_band): x = (A^T A + w D^T D)^-1
 * A^T y in double. */
static int solve_row(const job *jb, int reach, double w, scratch *s, size_t r, const float *y,
                     float *x)
{
    int n = jb->W, P = 2 * reach + 1, k = jb->o->order;
    int kd = 2 * reach > k ? 2 * reach : k, ldab = kd + 1, one = 1, info = 0;
    /* A(i, j) = A[i P + j - i + reach] */
    const double *A = s->band + r * (size_t)n * (size_t)P;
    memset(s->ab, 0, sizeof(double) * (size_t)n * (size_t)ldab);
    for (int j = 0; j < n; j++) {
        /* column j of the lower band: rows j .. j + kd of A^T A */
        int top = j + 2 * reach < n - 1 ? j + 2 * reach : n - 1;
        for (int c = j; c <= top; c++) {
            int lo = c - reach > 0 ? c - reach : 0, hi = j + reach < n - 1 ? j + reach : n - 1;
            double v = 0;
            for (int i = lo; i <= hi; i++)
                v += A[(size_t)i * P + (size_t)(j - i + reach)] *
                     A[(size_t)i * P + (size_t)(c - i + reach)];
            s->ab[(size_t)(c - j) + (size_t)j * (size_t)ldab] = v;
        }
        double b = 0;
        int lo = j - reach > 0 ? j - reach : 0, hi = j + reach < n - 1 ? j + reach : n - 1;
        for (int i = lo; i <= hi; i++)
            b += A[(size_t)i * P + (size_t)(j - i + reach)] * y[i];
        s->b[j] = b;
    }
    /* + w D^T D: each row of D_k, starting at column t, adds its outer product */
    for (int t = 0; w > 0 && t + k < n; t++)
        for (int a = 0; a <= k; a++)
            for (int c = 0; c <= a; c++)
                s->ab[(size_t)(a - c) + (size_t)(t + c) * (size_t)ldab] +=
                    w * g_diff[k][a] * g_diff[k][c];
    dpbtrf_("L", &n, &kd, s->ab, &ldab, &info);
    if (info != 0)
        return err_set(ERR_NUMERIC, "Tikhonov: A^T A + lambda s2 D^T D is not positive "
                       "definite (LAPACK info %d): give a noise variance or a penalty", info);
    dpbtrs_("L", &n, &kd, &one, s->ab, &ldab, s->b, &n, &info);
    if (info != 0)
        return err_set(ERR_NUMERIC, "Tikhonov: the solve failed (LAPACK info %d)", info);
    for (int j = 0; j < n; j++)
        x[j] = (float)s->b[j];
    return 0;
}

static int one(const job *jb, scratch *s, uint64_t i)
{
    lin_side sd = lin_fields_at(&jb->f, i);
    const float *y = jb->y + i * jb->d;
    int reach = lin_reach(jb->lc, &sd);
    read_band(jb, &sd, reach, s);
    double s2 = jb->o->noise_var;
    if (s2 < 0) {
        double mean = 0;
        for (size_t k = 0; k < jb->d; k++)
            mean += y[k];
        s2 = lin_noise_var(jb->lc, &sd, mean / (double)jb->d);
    }
    size_t W = (size_t)jb->W;
    for (size_t r = 0; r < jb->d / W; r++) {
        int rc = solve_row(jb, reach, jb->o->lambda * s2, s, r, y + r * W,
                           jb->x + i * jb->d + r * W);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The widest reach of the record's samples: the scratch's size. */
static int widest(const job *jb, uint64_t n)
{
    int reach = 0;
    for (uint64_t i = 0; i < n; i++) {
        lin_side sd = lin_fields_at(&jb->f, i);
        int r = lin_reach(jb->lc, &sd);
        reach = r > reach ? r : reach;
    }
    return reach;
}

typedef struct {
    job *jb;
    int reach;
} chunk_ctx;

static uint64_t chunk(void *ctx, uint64_t begin, uint64_t end)
{
    chunk_ctx *c = ctx;
    scratch s;
    if (scratch_init(&s, c->jb, c->reach) < 0) {
        scratch_free(&s);
        return begin;
    }
    uint64_t bad = end;
    for (uint64_t i = begin; i < end; i++)
        if (one(c->jb, &s, i) < 0) {
            bad = i;
            break;
        }
    scratch_free(&s);
    return bad;
}

int tik_restore_record(tz_record *rec, const char *yname, const char *xname,
                       const lin_chain *lc, const tik_opts *o, int threads)
{
    lin_side none = { .mask = NULL };
    if (lin_reach(lc, &none) < 0)
        return err_set(ERR_USAGE, "Tikhonov deconvolves 1-D signals: not through blur, "
                       "motion or down");
    if (o->order < 0 || o->order > 2 || !(o->lambda >= 0))
        return err_set(ERR_USAGE, "Tikhonov: need an order of 0, 1 or 2 and lambda >= 0");
    tz_tensor *y = tz_record_find(rec, yname);
    if (!y || y->dtype != TZ_F32 || y->rank < 2 || y->rank > 4)
        return err_set(ERR_DATA, "need an f32 observation field '%s' of signals (n, L), "
                       "(n, H, L) or (n, C, H, L)", yname);
    int r = y->rank;
    if (y->dims[r - 1] > 1 << 24 || (r >= 3 && y->dims[r - 2] > 1 << 24) ||
        (r == 4 && y->dims[1] > 1 << 24))
        return err_set(ERR_DATA, "signals of '%s' are too large", yname);
    if (tz_record_find(rec, xname))
        return err_set(ERR_DATA, "field '%s' is already there", xname);
    job jb = { lc, o, { 0 }, NULL, NULL, r == 4 ? (int)y->dims[1] : 1,
               r >= 3 ? (int)y->dims[r - 2] : 1, (int)y->dims[r - 1], 0 };
    jb.d = (size_t)jb.C * (size_t)jb.H * (size_t)jb.W;
    uint64_t n = y->dims[0];
    if (lin_fields_find(lc, rec, n, (size_t)jb.H * (size_t)jb.W, &jb.f) < 0)
        return ERR_DATA;
    const float *yv = y->data;
    for (uint64_t i = 0; i < n * jb.d; i++)
        if (!isfinite(yv[i]))
            return err_set(ERR_NUMERIC, "field '%s' holds %s (sample %llu of the record)",
                           yname, isnan(yv[i]) ? "NaN" : "Inf",
                           (unsigned long long)(i / jb.d));
    uint64_t dims[TZ_RANK_MAX];
    memcpy(dims, y->dims, sizeof(uint64_t) * (size_t)r);
    tz_tensor *x = tz_record_add(rec, xname, TZ_F32, r, dims, NULL);
    if (!x)
        return err_code();
    /* adding may have moved the tensors: find them again */
    y = tz_record_find(rec, yname);
    if (lin_fields_find(lc, rec, n, (size_t)jb.H * (size_t)jb.W, &jb.f) < 0)
        return ERR_DATA;
    jb.y = y->data, jb.x = x->data;
    chunk_ctx c = { &jb, widest(&jb, n) };
    uint64_t bad = par_first_failure(threads, n, chunk, &c);
    if (bad == n)
        return 0;
    /* the message was the worker's (thread-local): make it again here */
    scratch s;
    int rc = scratch_init(&s, &jb, c.reach);
    if (rc == 0)
        rc = one(&jb, &s, bad);
    scratch_free(&s);
    return err_prefix(rc < 0 ? rc : ERR_NUMERIC, "sample %llu", (unsigned long long)bad);
}
