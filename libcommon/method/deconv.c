/* deconv.c - linear-Gaussian restoration through a linear instrument, and
 * the stationary prior from observations; see deconv.h. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "method/deconv.h"

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
             const int *lda, double *b, const int *ldb, int *info);

/* Does the chain's matrix depend on the sample (a mask, an angle)? */
static int per_sample(const lin_chain *lc)
{
    for (int i = 0; i < lc->n; i++)
        if (lc->step[i].kind == LIN_MASK || lc->step[i].kind == LIN_MOTION)
            return 1;
    return 0;
}

/* One image's (or the shared) factorisation: A (d x d, row-major), AS = A S,
 * and M = A S A^T + (s2 + ridge) I factorised in place. */
typedef struct {
    size_t d;
    int C, H, W;
    double *A, *AS, *M, *u;
    float *col, *work;
} solver;

static int solver_init(solver *s, size_t d, int C, int H, int W)
{
    memset(s, 0, sizeof *s);
    s->d = d, s->C = C, s->H = H, s->W = W;
    s->A = mem_alloc_array(d * d, sizeof(double));
    s->AS = mem_alloc_array(d * d, sizeof(double));
    s->M = mem_alloc_array(d * d, sizeof(double));
    s->u = mem_alloc_array(d, sizeof(double));
    s->col = mem_alloc_array(d, sizeof(float));
    s->work = mem_alloc_array(lin_work_floats(C, H, W), sizeof(float));
    return s->A && s->AS && s->M && s->u && s->col && s->work ? 0 : ERR_IO;
}

static void solver_free(solver *s)
{
    free(s->A), free(s->AS), free(s->M), free(s->u), free(s->col), free(s->work);
}

/* A from the chain, column j = A e_j; then AS and M factorised. */
static int factorise(solver *s, const cls_prior *p, const lin_chain *lc, const lin_side *sd)
{
    size_t d = s->d;
    for (size_t j = 0; j < d; j++) {
        memset(s->col, 0, sizeof(float) * d);
        s->col[j] = 1;
        lin_apply(lc, sd, s->C, s->H, s->W, s->col, s->work);
        for (size_t i = 0; i < d; i++)
            s->A[i * d + j] = s->col[i];
    }
    int n = (int)d, info = 0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, s->A, n, p->cov, n,
                0.0, s->AS, n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, s->AS, n, s->A, n, 0.0,
                s->M, n);
    for (size_t i = 0; i < d; i++)
        s->M[i * d + i] += p->s2 + p->ridge;
    dpotrf_("L", &n, s->M, &n, &info);
    if (info != 0)
        return err_set(ERR_NUMERIC, "linear MMSE: A S A^T + (s2 + ridge) I is not positive "
                       "definite (LAPACK info %d); give a noise variance or a ridge", info);
    return 0;
}

/* x = mu + (AS)^T M^-1 (y_o - A mu) with s factorised. */
static int solve(solver *s, const cls_prior *p, const lin_chain *lc, const lin_side *sd,
                 const float *y, float *x)
{
    size_t d = s->d;
    int n = (int)d, one = 1, info = 0;
    memcpy(s->col, y, sizeof(float) * d);
    lin_observed(lc, sd, s->C, s->H, s->W, s->col);
    for (size_t i = 0; i < d; i++)
        s->u[i] = s->col[i];
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n, -1.0, s->A, n, p->mu, 1, 1.0, s->u, 1);
    dpotrs_("L", &n, &one, s->M, &n, s->u, &n, &info);
    if (info != 0)
        return err_set(ERR_NUMERIC, "linear MMSE: the solve failed (LAPACK info %d)", info);
    for (size_t i = 0; i < d; i++) {
        double v = p->mu[i];
        for (size_t k = 0; k < d; k++)     /* in index order: no BLAS, the same bytes */
            v += s->AS[k * d + i] * s->u[k];
        x[i] = (float)v;
    }
    return 0;
}

typedef struct {
    const cls_prior *p;
    const lin_chain *lc;
    const float *y, *mask, *angle;
    float *x;
    int C, H, W;
    size_t d;
    solver *shared;             /* a chain without side information: made once */
} job;

static int one(const job *j, solver *s, uint64_t i)
{
    size_t hw = (size_t)j->H * (size_t)j->W;
    lin_side sd = { .mask = j->mask ? j->mask + i * hw : NULL,
                     .angle = j->angle ? j->angle[i] : 0 };
    if (!j->shared) {
        int rc = factorise(s, j->p, j->lc, &sd);
        if (rc < 0)
            return rc;
    }
    return solve(j->shared ? j->shared : s, j->p, j->lc, &sd, j->y + i * j->d,
                 j->x + i * j->d);
}

static uint64_t chunk(void *ctx, uint64_t begin, uint64_t end)
{
    job *j = ctx;
    uint64_t bad = end;
    solver own, *s = &own;
    if (j->shared) {
        /* solve() writes the shared solver's scratch: a copy per thread */
        own = *j->shared;
        own.u = mem_alloc_array(j->d, sizeof(double));
        own.col = mem_alloc_array(j->d, sizeof(float));
        if (!own.u || !own.col) {
            free(own.u), free(own.col);
            return begin;
        }
        for (uint64_t i = begin; i < end; i++) {
            size_t hw = (size_t)j->H * (size_t)j->W;
            lin_side sd = { .mask = j->mask ? j->mask + i * hw : NULL,
                            .angle = j->angle ? j->angle[i] : 0 };
            if (solve(&own, j->p, j->lc, &sd, j->y + i * j->d, j->x + i * j->d) < 0) {
                bad = i;
                break;
            }
        }
        free(own.u), free(own.col);
        return bad;
    }
    if (solver_init(s, j->d, j->C, j->H, j->W) < 0) {
        solver_free(s);
        return begin;
    }
    for (uint64_t i = begin; i < end; i++)
        if (one(j, s, i) < 0) {
            bad = i;
            break;
        }
    solver_free(s);
    return bad;
}

static const float *side_field(const tz_record *rec, const char *name, size_t per,
                               uint64_t n)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t || t->dtype != TZ_F32 || t->dims[0] != n || tz_tensor_row_bytes(t) != 4 * per) {
        err_set(ERR_DATA, "need an f32 field '%s' of %zu values per sample", name, per);
        return NULL;
    }
    return t->data;
}

int dcv_restore_record(tz_record *rec, const char *yname, const char *xname,
                       const cls_prior *p, const lin_chain *lc, int C, int H, int W,
                       int threads)
{
    tz_tensor *y = tz_record_find(rec, yname);
    size_t d = (size_t)C * (size_t)H * (size_t)W, hw = (size_t)H * (size_t)W;
    if (!y || y->dtype != TZ_F32 || y->rank < 3 || y->rank > 4)
        return err_set(ERR_DATA, "need an f32 observation field '%s' of images (N, H, W) or "
                       "(N, C, H, W)", yname);
    /* The images' shape, not only their size: a prior of 11 x 9 images
     * passed a size check on 9 x 11 ones, and A (a blur's, a motion's) was
     * then built on the wrong grid, silently. */
    uint64_t yc = y->rank == 4 ? y->dims[1] : 1, yh = y->dims[y->rank - 2],
             yw = y->dims[y->rank - 1];
    if (yc != (uint64_t)C || yh != (uint64_t)H || yw != (uint64_t)W)
        return err_set(ERR_DATA, "'%s' holds %llu x %llu x %llu images, the prior %d x %d x %d",
                       yname, (unsigned long long)yc, (unsigned long long)yh,
                       (unsigned long long)yw, C, H, W);
    if (p->d != d)
        return err_set(ERR_DATA, "the prior has %zu values per sample, '%s' %zu", p->d,
                       yname, d);
    if (tz_record_find(rec, xname))
        return err_set(ERR_DATA, "field '%s' is already there", xname);
    uint64_t n = y->dims[0];
    job j = { p, lc, NULL, NULL, NULL, NULL, C, H, W, d, NULL };
    for (int i = 0; i < lc->n; i++) {
        if (lc->step[i].kind == LIN_MASK && !(j.mask = side_field(rec, "mask", hw, n)))
            return ERR_DATA;
        if (lc->step[i].kind == LIN_MOTION && !(j.angle = side_field(rec, "angle", 1, n)))
            return ERR_DATA;
    }
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(((const float *)y->data)[i]))
            return err_set(ERR_NUMERIC, "'%s' holds NaN or Inf (sample %zu)", yname, i / d);
    tz_tensor *x = tz_record_add(rec, xname, TZ_F32, y->rank, y->dims, NULL);
    if (!x)
        return err_code();
    y = tz_record_find(rec, yname);     /* adding may have moved it */
    j.y = y->data, j.x = x->data;
    if (n == 0)
        return 0;
    solver shared;
    int rc = 0;
    if (!per_sample(lc)) {
        lin_side none = { .mask = NULL };
        rc = solver_init(&shared, d, C, H, W);
        if (rc == 0)
            rc = factorise(&shared, p, lc, &none);
        if (rc < 0) {
            solver_free(&shared);
            return rc;
        }
        j.shared = &shared;
    }
    uint64_t bad = par_first_failure(threads, n, chunk, &j);
    if (bad < n) {
        /* the message was the worker's (thread-local): make it again here */
        solver s;
        rc = solver_init(&s, d, C, H, W);
        if (rc == 0)
            rc = one(&j, &s, bad);
        solver_free(&s);
        rc = err_prefix(rc < 0 ? rc : ERR_IO, "sample %llu", (unsigned long long)bad);
    }
    if (j.shared)
        solver_free(&shared);
    return rc;
}

/* ---- the stationary prior -------------------------------------------------- */

/* The 2-D DFT (inverse: with e^{+i...}, unscaled) of an H x W array (re,
 * im in; out overwrites them), by rows then columns, from the definition
 * with tables of e^{-2 pi i k / N} (the images are small). */
static void dft2(const dcv_spectrum *s, double *re, double *im, int inverse)
{
    int H = s->H, W = s->W;
    double sg = inverse ? -1 : 1;
    const double *cw = s->tab, *sw = cw + W, *ch = sw + W, *sh = ch + H;
    double *tr = s->dre + (size_t)H * (size_t)W, *ti = s->dim + (size_t)H * (size_t)W;
    for (int y = 0; y < H; y++) {
        for (int v = 0; v < W; v++) {
            double a = 0, b = 0;
            for (int x = 0; x < W; x++) {
                int k = (int)((long)v * x % W);
                double c = cw[k], sn = sg * sw[k], fr = re[y * W + x], fi = im[y * W + x];
                a += fr * c - fi * sn;
                b += fr * sn + fi * c;
            }
            tr[v] = a, ti[v] = b;
        }
        memcpy(re + y * W, tr, sizeof(double) * (size_t)W);
        memcpy(im + y * W, ti, sizeof(double) * (size_t)W);
    }
    for (int x = 0; x < W; x++) {
        for (int u = 0; u < H; u++) {
            double a = 0, b = 0;
            for (int y = 0; y < H; y++) {
                int k = (int)((long)u * y % H);
                double c = ch[k], sn = sg * sh[k], fr = re[y * W + x], fi = im[y * W + x];
                a += fr * c - fi * sn;
                b += fr * sn + fi * c;
            }
            tr[u] = a, ti[u] = b;
        }
        for (int u = 0; u < H; u++)
            re[u * W + x] = tr[u], im[u * W + x] = ti[u];
    }
}

int dcv_spectrum_init(dcv_spectrum *s, int C, int H, int W, double s2)
{
    memset(s, 0, sizeof *s);
    s->C = C, s->H = H, s->W = W, s->s2 = s2;
    size_t hw = (size_t)H * (size_t)W, big = hw + (size_t)(H > W ? H : W) * 2;
    s->sum = mem_calloc_array((size_t)C * hw, sizeof(double));
    s->pow = mem_calloc_array((size_t)C * hw, sizeof(double));
    s->resp = mem_calloc_array(hw, sizeof(double));
    s->dre = mem_alloc_array(big, sizeof(double));
    s->dim = mem_alloc_array(big, sizeof(double));
    s->hr = mem_alloc_array(hw, sizeof(double));
    s->hi = mem_alloc_array(hw, sizeof(double));
    s->tab = mem_alloc_array(2 * (size_t)(H + W), sizeof(double));
    s->win = mem_alloc_array(hw, sizeof(double));
    if (!s->sum || !s->pow || !s->resp || !s->dre || !s->dim || !s->hr || !s->hi || !s->tab ||
        !s->win)
        return ERR_IO;
    /* the Hann taper, sin^2 of pi (i + 1/2) / n along each axis */
    s->wsum = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double a = sin(M_PI * (y + 0.5) / H), b = sin(M_PI * (x + 0.5) / W);
            s->win[y * W + x] = a * a * b * b;
            s->wsum += a * a * b * b * a * a * b * b;
        }
    /* e^{-2 pi i k / N} = cos - i sin: the tables hold cos and -sin */
    for (int k = 0; k < W; k++)
        s->tab[k] = cos(2 * M_PI * k / W), s->tab[W + k] = -sin(2 * M_PI * k / W);
    for (int k = 0; k < H; k++)
        s->tab[2 * W + k] = cos(2 * M_PI * k / H), s->tab[2 * W + H + k] = -sin(2 * M_PI * k / H);
    return 0;
}

void dcv_spectrum_free(dcv_spectrum *s)
{
    free(s->sum), free(s->pow), free(s->resp), free(s->dre), free(s->dim);
    free(s->hr), free(s->hi), free(s->tab), free(s->win);
    memset(s, 0, sizeof *s);
}

int dcv_spectrum_add(dcv_spectrum *s, const lin_chain *lc, const lin_side *sd,
                     const float *y)
{
    int H = s->H, W = s->W;
    size_t hw = (size_t)H * (size_t)W;
    double *re = s->dre, *im = s->dim, *hr = s->hr, *hi = s->hi;
    /* the chain's response: its kernels on the torus, one after the other
     * (a delta through the kernels, with the torus's wrap-around) */
    float kern[LIN_MOTION_MAX * LIN_MOTION_MAX];
    float taps[2 * 301 + 1];
    for (size_t i = 0; i < hw; i++)
        hr[i] = 1, hi[i] = 0;
    for (int k = 0; k < lc->n; k++) {
        const lin_step *st = &lc->step[k];
        if (st->kind == LIN_MASK || st->kind == LIN_DOWN)
            return err_set(ERR_USAGE, "the stationary prior needs a blur (blur, motion), "
                           "not %s", st->kind == LIN_MASK ? "a mask" : "a block average");
        memset(re, 0, sizeof(double) * hw);
        memset(im, 0, sizeof(double) * hw);
        if (st->kind == LIN_BLUR) {
            int n = lin_gauss_kernel(st->p, 3, taps, 2 * 301 + 1), r = n / 2;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) {
                    int yy = ((a - r) % H + H) % H, xx = ((b - r) % W + W) % W;
                    re[yy * W + xx] += (double)taps[a] * taps[b];
                }
        } else {
            int n = (int)st->p, r = n / 2;
            lin_motion_kernel(n, M_PI * sd->angle, kern);
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) {
                    int yy = ((a - r) % H + H) % H, xx = ((b - r) % W + W) % W;
                    re[yy * W + xx] += kern[a * n + b];
                }
        }
        dft2(s, re, im, 0);
        for (size_t i = 0; i < hw; i++) {
            double a = hr[i] * re[i] - hi[i] * im[i], b = hr[i] * im[i] + hi[i] * re[i];
            hr[i] = a, hi[i] = b;
        }
    }
    for (size_t i = 0; i < hw; i++)
        s->resp[i] += hr[i] * hr[i] + hi[i] * hi[i];
    for (int c = 0; c < s->C; c++) {
        const float *yc = y + (size_t)c * hw;
        for (size_t i = 0; i < hw; i++) {
            re[i] = yc[i] * s->win[i], im[i] = 0;
            s->sum[(size_t)c * hw + i] += yc[i];
        }
        dft2(s, re, im, 0);
        for (size_t i = 0; i < hw; i++)
            s->pow[(size_t)c * hw + i] += re[i] * re[i] + im[i] * im[i];
    }
    s->n++;
    return 0;
}

int dcv_spectrum_finish(dcv_spectrum *s, double *mean, double *cov)
{
    if (s->n < 2)
        return err_set(ERR_DATA, "the stationary prior needs at least 2 observations; got %llu",
                       (unsigned long long)s->n);
    int H = s->H, W = s->W;
    size_t hw = (size_t)H * (size_t)W, d = (size_t)s->C * hw;
    double n = (double)s->n, *re = s->dre, *im = s->dim;
    memset(cov, 0, sizeof(double) * d * d);
    for (size_t i = 0; i < d; i++)
        mean[i] = s->sum[i] / n;
    for (int c = 0; c < s->C; c++) {
        const double *m = mean + (size_t)c * hw, *pw = s->pow + (size_t)c * hw;
        for (size_t i = 0; i < hw; i++)
            re[i] = m[i] * s->win[i], im[i] = 0;
        dft2(s, re, im, 0);
        /* Py, then Px, then c = Px's inverse DFT / (H W) */
        for (size_t i = 0; i < hw; i++) {
            double py = (pw[i] - n * (re[i] * re[i] + im[i] * im[i])) / (n - 1) / s->wsum;
            double h2 = s->resp[i] / n;
            re[i] = py > 2 * s->s2 && h2 > 1e-12 ? (py - s->s2) / h2 : 0;
            im[i] = 0;
        }
        dft2(s, re, im, 1);
        double *cc = cov + (size_t)c * hw * d + (size_t)c * hw;
        for (int y1 = 0; y1 < H; y1++)
            for (int x1 = 0; x1 < W; x1++)
                for (int y2 = 0; y2 < H; y2++)
                    for (int x2 = 0; x2 < W; x2++) {
                        /* c(delta) and c(-delta) agree but for rounding:
                         * their mean, so that S is exactly symmetric */
                        int dy = ((y1 - y2) % H + H) % H, dx = ((x1 - x2) % W + W) % W;
                        int ey = (H - dy) % H, ex = (W - dx) % W;
                        cc[(size_t)(y1 * W + x1) * d + (size_t)(y2 * W + x2)] =
                            0.5 * (re[dy * W + dx] + re[ey * W + ex]) / (double)hw;
                    }
    }
    return 0;
}
