/* gmm.c - Gaussian mixtures in closed form; see gmm.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/gmm.h"

/* LAPACK (OpenBLAS), the Fortran symbols: no LAPACKE header needed. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
             const int *lda, double *b, const int *ldb, int *info);

#define LOG_2PI 1.8378770664093454836

/* ---- linear algebra on d x d symmetric matrices, row-major ------------- */

/* The eigendecomposition of the symmetric S (d x d): vals ascending and V
 * (row-major, eigenvectors as columns).  S is not changed.  0 or
 * ERR_NUMERIC / ERR_IO. */
static int sym_eig(const double *S, int d, double *vals, double *V)
{
    size_t dd = (size_t)d * (size_t)d;
    double *a = mem_alloc_array(dd, sizeof(double)), q;
    if (!a)
        return ERR_IO;
    memcpy(a, S, dd * sizeof(double));
    int lwork = -1, info = 0;
    dsyev_("V", "U", &d, a, &d, vals, &q, &lwork, &info);
    lwork = info == 0 ? (int)q : 0;
    double *work = lwork > 0 ? mem_alloc_array((size_t)lwork, sizeof(double)) : NULL;
    if (!work) {
        free(a);
        return info ? err_set(ERR_NUMERIC, "dsyev's workspace query failed (%d)", info)
                    : ERR_IO;
    }
    dsyev_("V", "U", &d, a, &d, vals, work, &lwork, &info);
    free(work);
    if (info == 0)      /* column-major eigenvectors: column j is a[j d ..] */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                V[(size_t)i * d + j] = a[(size_t)j * d + i];
    free(a);
    return info ? err_set(ERR_NUMERIC, "the eigendecomposition failed (dsyev info %d)", info)
                : 0;
}

/* out (d x d) = V_k diag(l^p) V_k^T for component k's covariance (p 1)
 * or precision (p -1). */
static void comp_dense(const gmm *g, int k, int p, double *out)
{
    int d = g->d;
    const double *l = g->ev + (size_t)k * d;
    memset(out, 0, sizeof(double) * (size_t)d * d);
    if (!g->rot[k]) {
        for (int i = 0; i < d; i++)
            out[(size_t)i * d + i] = p > 0 ? l[i] : 1 / l[i];
        return;
    }
    const double *V = g->V + (size_t)k * d * d;
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double s = 0;
            for (int m = 0; m < d; m++)
                s += V[(size_t)i * d + m] * V[(size_t)j * d + m] * (p > 0 ? l[m] : 1 / l[m]);
            out[(size_t)i * d + j] = out[(size_t)j * d + i] = s;
        }
}

/* y = V_k^T x (trans) or V_k x for component k; a copy if diagonal. */
static void comp_rotate(const gmm *g, int k, int trans, const double *x, double *y)
{
    int d = g->d;
    if (!g->rot[k]) {
        memcpy(y, x, sizeof(double) * (size_t)d);
        return;
    }
    const double *V = g->V + (size_t)k * d * d;
    for (int i = 0; i < d; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (trans ? V[(size_t)j * d + i] : V[(size_t)i * d + j]) * x[j];
        y[i] = s;
    }
}

/* ---- the spec ------------------------------------------------------------ */

typedef struct {
    const char *p, *name;
    int line;           /* of the token last read */
    char tok[128];
} lexer;

/* The next whitespace-separated token ('#' starts a comment to the end of
 * its line) into l->tok; 0 at the end of the text. */
static int lex_next(lexer *l)
{
    for (;;) {
        while (*l->p && isspace((unsigned char)*l->p))
            if (*l->p++ == '\n')
                l->line++;
        if (*l->p != '#')
            break;
        while (*l->p && *l->p != '\n')
            l->p++;
    }
    if (!*l->p)
        return 0;
    size_t n = 0;
    while (*l->p && !isspace((unsigned char)*l->p) && *l->p != '#') {
        if (n + 1 < sizeof l->tok)
            l->tok[n++] = *l->p;
        l->p++;
    }
    l->tok[n] = 0;
    return 1;
}

/* Peek: 1 if the next token is a number (left unread). */
static int lex_number_next(lexer *l)
{
    lexer save = *l;
    int is = lex_next(&save);
    if (!is)
        return 0;
    char *end;
    strtod(save.tok, &end);
    return end != save.tok && !*end;
}

static int lex_number(lexer *l, const char *what, double *v)
{
    if (!lex_next(l))
        return err_set(ERR_DATA, "%s: line %d: the spec ends where %s was due", l->name,
                       l->line, what);
    char *end;
    errno = 0;
    *v = strtod(l->tok, &end);
    if (end == l->tok || *end || !isfinite(*v) || errno == ERANGE)
        return err_set(ERR_DATA, "%s: line %d: %s must be a finite number; got '%s'",
                       l->name, l->line, what, l->tok);
    return 0;
}

static int lex_keyword(lexer *l, const char *want)
{
    if (!lex_next(l))
        return err_set(ERR_DATA, "%s: line %d: the spec ends where '%s' was due", l->name,
                       l->line, want);
    if (strcmp(l->tok, want))
        return err_set(ERR_DATA, "%s: line %d: expected '%s'; got '%s'", l->name, l->line,
                       want, l->tok);
    return 0;
}

/* Allocate g->V (the eigenvectors of every component) if it is not yet.
 * 0 or ERR_IO. */
static int need_V(gmm *g)
{
    if (!g->V && !(g->V = mem_calloc_array((size_t)g->k * g->d, sizeof(double) * g->d)))
        return ERR_IO;
    return 0;
}

/* Component k's covariance from its n numbers c: 1 (isotropic), d
 * (diagonal) or d d (full, symmetric positive definite). */
static int set_cov(gmm *g, int k, const double *c, size_t n, lexer *l, int line)
{
    int d = g->d;
    double *l_k = g->ev + (size_t)k * d;
    g->rot[k] = 0;
    if (n == 1 || n == (size_t)d) {
        for (int i = 0; i < d; i++)
            if (!((l_k[i] = c[n == 1 ? 0 : i]) > 0))
                return err_set(ERR_DATA, "%s: line %d: component %d: a variance must be "
                               "above 0; got %g", l->name, line, k + 1, l_k[i]);
        return 0;
    }
    if (n != (size_t)d * d)
        return err_set(ERR_DATA, "%s: line %d: component %d: cov needs 1, %d or %d numbers "
                       "(isotropic, diagonal, full); got %zu", l->name, line, k + 1, d,
                       d * d, n);
    int off = 0;
    double scale = 0;
    for (int i = 0; i < d; i++)
        scale = fmax(scale, fabs(c[(size_t)i * d + i]));
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double a = c[(size_t)i * d + j], b = c[(size_t)j * d + i];
            if (fabs(a - b) > 1e-12 * scale)
                return err_set(ERR_DATA, "%s: line %d: component %d: cov is not symmetric "
                               "(row %d column %d is %g, row %d column %d %g)", l->name,
                               line, k + 1, i + 1, j + 1, a, j + 1, i + 1, b);
            off |= a != 0;
        }
    if (!off) {             /* a full matrix that is diagonal */
        double diag[GMM_DIM_MAX];
        for (int i = 0; i < d; i++)
            diag[i] = c[(size_t)i * d + i];
        return set_cov(g, k, diag, (size_t)d, l, line);
    }
    int rc = need_V(g);
    if (rc == 0)
        rc = sym_eig(c, d, l_k, g->V + (size_t)k * d * d);
    if (rc < 0)
        return err_prefix(rc, "%s: line %d: component %d", l->name, line, k + 1);
    if (!(l_k[0] > 1e-12 * l_k[d - 1]))
        return err_set(ERR_DATA, "%s: line %d: component %d: cov is not positive definite "
                       "(smallest eigenvalue %g, largest %g)", l->name, line, k + 1, l_k[0],
                       l_k[d - 1]);
    g->rot[k] = 1;
    return 0;
}

/* Allocate g's arrays for k components of dimension d.  0 or ERR_IO. */
static int alloc(gmm *g, int d, int k)
{
    memset(g, 0, sizeof *g);
    g->d = d, g->k = k;
    size_t kd = (size_t)k * d;
    g->w = mem_alloc_array((size_t)k, sizeof(double));
    g->mu = mem_alloc_array(kd, sizeof(double));
    g->ev = mem_alloc_array(kd, sizeof(double));
    g->rot = mem_calloc_array((size_t)k, sizeof(int));
    g->lc = mem_alloc_array((size_t)k, sizeof(double));
    g->iev = mem_alloc_array(kd, sizeof(double));
    g->tr = mem_alloc_array((size_t)k, sizeof(double));
    if (!g->w || !g->mu || !g->ev || !g->rot || !g->lc || !g->iev || !g->tr) {
        gmm_free(g);
        return ERR_IO;
    }
    return 0;
}

int gmm_parse(gmm *g, const char *text, const char *name)
{
    memset(g, 0, sizeof *g);
    lexer l = { text, name, 1, "" };
    double dv;
    int rc = lex_keyword(&l, "dim");
    if (rc == 0 && (rc = lex_number(&l, "the dimension", &dv)) == 0 &&
        !(dv >= 1 && dv <= GMM_DIM_MAX && dv == floor(dv)))
        rc = err_set(ERR_DATA, "%s: line %d: the dimension must be a whole number from 1 "
                     "to %d; got %s", name, l.line, GMM_DIM_MAX, l.tok);
    if (rc < 0)
        return rc;
    int d = (int)dv, k = 0;
    /* count the components first, to allocate once */
    for (lexer c = l; lex_next(&c);)
        k += strcmp(c.tok, "component") == 0;
    if (k == 0)
        return err_set(ERR_DATA, "%s: no component", name);
    if (k > GMM_COMPONENTS_MAX)
        return err_set(ERR_DATA, "%s: %d components; at most %d", name, k, GMM_COMPONENTS_MAX);
    if ((rc = alloc(g, d, k)) < 0)
        return rc;
    size_t cap = (size_t)d * d;
    double *c = mem_alloc_array(cap, sizeof(double)), sum = 0;
    if (!c)
        rc = ERR_IO;
    for (int j = 0; rc == 0 && j < k; j++) {
        if ((rc = lex_keyword(&l, "component")) < 0 ||
            (rc = lex_number(&l, "a weight", &g->w[j])) < 0)
            break;
        if (!(g->w[j] > 0)) {
            rc = err_set(ERR_DATA, "%s: line %d: component %d: the weight must be above 0; "
                         "got %s", name, l.line, j + 1, l.tok);
            break;
        }
        sum += g->w[j];
        if ((rc = lex_keyword(&l, "mean")) < 0)
            break;
        for (int i = 0; rc == 0 && i < d; i++)
            rc = lex_number(&l, "a mean's value", &g->mu[(size_t)j * d + i]);
        if (rc == 0 && lex_number_next(&l)) {
            lex_next(&l);
            rc = err_set(ERR_DATA, "%s: line %d: component %d: the mean has more than %d "
                         "values", name, l.line, j + 1, d);
        }
        if (rc < 0 || (rc = lex_keyword(&l, "cov")) < 0)
            break;
        int line = l.line;
        size_t n = 0;
        while (rc == 0 && lex_number_next(&l)) {
            double v = 0;
            if ((rc = lex_number(&l, "a covariance value", &v)) == 0 && n < cap)
                c[n] = v;
            n++;
        }
        if (rc == 0 && n == 0)
            rc = err_set(ERR_DATA, "%s: line %d: component %d: cov has no number", name,
                         line, j + 1);
        if (rc == 0)
            rc = set_cov(g, j, c, n, &l, line);
    }
    free(c);
    if (rc == 0 && lex_next(&l))
        rc = err_set(ERR_DATA, "%s: line %d: unexpected '%s'", name, l.line, l.tok);
    if (rc < 0) {
        gmm_free(g);
        return rc;
    }
    for (int j = 0; j < k; j++)
        g->w[j] /= sum;
    gmm_set_noise(g, 0);
    return 0;
}

int gmm_read(gmm *g, const char *path)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    int rc = text ? 0 : err_set(ERR_IO, "%s: out of memory", path);
    while (rc == 0) {
        if (n + 1 >= cap) {
            char *t = cap < (1u << 30) ? realloc(text, cap * 2) : NULL;
            if (!t) {
                rc = err_set(ERR_IO, "%s: too large to read", path);
                break;
            }
            text = t, cap *= 2;
        }
        size_t got = fread(text + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = err_set(ERR_IO, "%s: read failed", path);
    if (rc == 0 && memchr(text, 0, n))
        rc = err_set(ERR_DATA, "%s: a NUL byte: not a mixture spec", path);
    fclose(f);
    if (rc == 0) {
        text[n] = 0;
        rc = gmm_parse(g, text, path);
    }
    free(text);
    return rc;
}

void gmm_free(gmm *g)
{
    free(g->w), free(g->mu), free(g->ev), free(g->V), free(g->rot);
    free(g->lc), free(g->iev), free(g->tr);
    memset(g, 0, sizeof *g);
}

/* ---- evaluation ---------------------------------------------------------- */

void gmm_set_noise(gmm *g, double s)
{
    int d = g->d;
    g->noise = s;
    for (int k = 0; k < g->k; k++) {
        double ld = 0, tr = 0;
        for (int i = 0; i < d; i++) {
            double v = g->ev[(size_t)k * d + i] + s;
            ld += log(v);
            tr += g->iev[(size_t)k * d + i] = 1 / v;
        }
        g->lc[k] = log(g->w[k]) - 0.5 * (d * LOG_2PI + ld);
        g->tr[k] = tr;
    }
}

size_t gmm_work_doubles(const gmm *g)
{
    return (size_t)g->k * (size_t)(g->d + 1) + 2 * (size_t)g->d;
}

/* lp (k) = log w_k N_k(x) at the current noise, z (k, d) = V_k^T (x - mu_k);
 * a holds d doubles.  Returns the log-sum-exp of lp. */
static double components(const gmm *g, const double *x, double *lp, double *z, double *a)
{
    int d = g->d;
    double mx = -INFINITY;
    for (int k = 0; k < g->k; k++) {
        const double *mu = g->mu + (size_t)k * d, *iev = g->iev + (size_t)k * d;
        double *zk = z + (size_t)k * d, q = 0;
        for (int i = 0; i < d; i++)
            a[i] = x[i] - mu[i];
        comp_rotate(g, k, 1, a, zk);
        for (int i = 0; i < d; i++)
            q += zk[i] * zk[i] * iev[i];
        lp[k] = g->lc[k] - 0.5 * q;
        mx = fmax(mx, lp[k]);
    }
    double s = 0;
    for (int k = 0; k < g->k; k++)
        s += exp(lp[k] - mx);
    return mx + log(s);
}

double gmm_eval(const gmm *g, const double *x, double *score, double *div, double *work)
{
    int d = g->d;
    double *lp = work, *z = lp + g->k, *a = z + (size_t)g->k * d, *b = a + d;
    double lse = components(g, x, lp, z, a);
    if (!score && !div)
        return lse;
    /* s = sum_k rho_k s_k, s_k = -V_k diag(iev_k) z_k; the divergence is
     * sum_k rho_k (|s_k|^2 - tr_k) - |s|^2 (the Laplacian of log sum). */
    double acc = 0;
    for (int i = 0; i < d; i++)
        b[i] = 0;
    for (int k = 0; k < g->k; k++) {
        double rho = exp(lp[k] - lse), n2 = 0;
        const double *zk = z + (size_t)k * d, *iev = g->iev + (size_t)k * d;
        for (int i = 0; i < d; i++) {
            double u = zk[i] * iev[i];
            n2 += u * u;
            a[i] = -rho * u;
        }
        acc += rho * (n2 - g->tr[k]);
        if (g->rot[k]) {
            double *zs = z + (size_t)k * d;     /* z_k is spent: reuse it */
            comp_rotate(g, k, 0, a, zs);
            for (int i = 0; i < d; i++)
                b[i] += zs[i];
        } else {
            for (int i = 0; i < d; i++)
                b[i] += a[i];
        }
    }
    double s2 = 0;
    for (int i = 0; i < d; i++) {
        s2 += b[i] * b[i];
        if (score)
            score[i] = b[i];
    }
    if (div)
        *div = acc - s2;
    return lse;
}

void gmm_sample(const gmm *g, rng_t *r, double *x)
{
    int d = g->d, k = 0;
    double u = rng_uniform(r), c = g->w[0];
    while (k + 1 < g->k && u > c)
        c += g->w[++k];
    double a[GMM_DIM_MAX];
    for (int i = 0; i < d; i++)
        a[i] = sqrt(g->ev[(size_t)k * d + i]) * rng_normal(r);
    comp_rotate(g, k, 0, a, x);
    for (int i = 0; i < d; i++)
        x[i] += g->mu[(size_t)k * d + i];
}

double gmm_anneal_accept(const gmm *g, double gamma, const double *x, double *work)
{
    double *lp = work, *z = lp + g->k, *a = z + (size_t)g->k * g->d;
    double lse = components(g, x, lp, z, a), mx = -INFINITY, s = 0;
    for (int k = 0; k < g->k; k++)
        mx = fmax(mx, gamma * lp[k]);
    for (int k = 0; k < g->k; k++)
        s += exp(gamma * lp[k] - mx);
    double v = gamma * lse - (mx + log(s)) - fmax(gamma - 1, 0) * log((double)g->k);
    return fmin(v, 0);      /* rounding can leave it a hair above 0 */
}

void gmm_precision_apply(const gmm *f, const double *x, double *y, double *work)
{
    int d = f->d;
    comp_rotate(f, 0, 1, x, work);
    for (int i = 0; i < d; i++)
        work[i] /= f->ev[i];
    comp_rotate(f, 0, 0, work, y);
}

/* ---- products ------------------------------------------------------------ */

/* log N(c; m, S) for a dense covariance S (d x d, destroyed). */
static int dense_logpdf(double *S, int d, const double *c, const double *m, double *out,
                        double *r)
{
    int info = 0, one = 1;
    dpotrf_("U", &d, S, &d, &info);
    if (info)
        return err_set(ERR_NUMERIC, "a covariance of the product is not positive definite "
                       "(dpotrf info %d)", info);
    double ld = 0, q = 0;
    for (int i = 0; i < d; i++) {
        ld += 2 * log(S[(size_t)i * d + i]);
        r[i] = c[i] - m[i];
    }
    double *sol = r + d;
    memcpy(sol, r, sizeof(double) * (size_t)d);
    dpotrs_("U", &d, &one, S, &d, sol, &d, &info);
    for (int i = 0; i < d; i++)
        q += r[i] * sol[i];
    *out = -0.5 * (d * LOG_2PI + ld + q);
    return 0;
}

int gmm_product(const gmm *g, double gamma, const gmm *f, gmm *out)
{
    int d = g->d, K = g->k;
    if (f && (f->d != d || f->k != 1))
        return err_set(ERR_DATA, "a Gaussian factor of dimension %d with %d components for a "
                       "mixture of dimension %d (one component of the same dimension is "
                       "needed)", f->d, f->k, d);
    int rc = alloc(out, d, K);
    if (rc < 0)
        return rc;
    size_t dd = (size_t)d * d;
    double *M = mem_alloc_array(dd, sizeof(double)), *P = mem_alloc_array(dd, sizeof(double));
    double *b = mem_alloc_array(4 * (size_t)d, sizeof(double)), *lw = mem_alloc_array((size_t)K, sizeof(double));
    double *fc = f ? mem_alloc_array((size_t)d, sizeof(double)) : NULL;
    if (!M || !P || !b || !lw || (f && !fc))
        rc = ERR_IO;
    if (rc == 0 && f)   /* C^-1 c */
        gmm_precision_apply(f, f->mu, fc, b);
    double mx = -INFINITY;
    for (int k = 0; rc == 0 && k < K; k++) {
        const double *mu = g->mu + (size_t)k * d, *l = g->ev + (size_t)k * d;
        double *om = out->mu + (size_t)k * d, *ol = out->ev + (size_t)k * d;
        double ldet = 0;
        for (int i = 0; i < d; i++)
            ldet += log(l[i]);
        /* N_k^gamma = c_k N(x; mu_k, Sigma_k / gamma) */
        lw[k] = gamma * log(g->w[k]) + 0.5 * d * (1 - gamma) * LOG_2PI +
                0.5 * (1 - gamma) * ldet - 0.5 * d * log(gamma);
        double *t = b, *u = b + d;
        if (!f) {                       /* Sigma_k / gamma, same axes */
            for (int i = 0; i < d; i++)
                ol[i] = l[i] / gamma;
            memcpy(om, mu, sizeof(double) * (size_t)d);
            if ((out->rot[k] = g->rot[k])) {
                if ((rc = need_V(out)) < 0)
                    break;
                memcpy(out->V + (size_t)k * dd, g->V + (size_t)k * dd, dd * sizeof(double));
            }
        } else if (!g->rot[k] && !f->rot[0]) {      /* both diagonal */
            for (int i = 0; i < d; i++) {
                ol[i] = 1 / (gamma / l[i] + 1 / f->ev[i]);
                om[i] = ol[i] * (gamma * mu[i] / l[i] + fc[i]);
            }
        } else {
            /* M = gamma Sigma_k^-1 + C^-1, its eigendecomposition the new
             * covariance's (reciprocal eigenvalues) */
            comp_dense(g, k, -1, M);
            comp_dense(f, 0, -1, P);
            for (size_t i = 0; i < dd; i++)
                M[i] = gamma * M[i] + P[i];
            if ((rc = need_V(out)) < 0)
                break;
            double *V = out->V + (size_t)k * dd;
            if ((rc = sym_eig(M, d, ol, V)) < 0)
                break;
            for (int i = 0; i < d; i++)
                ol[i] = 1 / ol[i];
            out->rot[k] = 1;
            /* mean = S' (gamma Sigma_k^-1 mu_k + C^-1 c) */
            comp_rotate(g, k, 1, mu, u);
            for (int i = 0; i < d; i++)
                u[i] *= gamma / l[i];
            comp_rotate(g, k, 0, u, t);
            for (int i = 0; i < d; i++)
                t[i] += fc[i];
            comp_rotate(out, k, 1, t, u);
            for (int i = 0; i < d; i++)
                u[i] *= ol[i];
            comp_rotate(out, k, 0, u, om);
        }
        if (f) {    /* times N(c; mu_k, Sigma_k / gamma + C) */
            comp_dense(g, k, 1, M);
            comp_dense(f, 0, 1, P);
            for (size_t i = 0; i < dd; i++)
                M[i] = M[i] / gamma + P[i];
            double lz = 0;
            if ((rc = dense_logpdf(M, d, f->mu, mu, &lz, b)) < 0)
                break;
            lw[k] += lz;
        }
        mx = fmax(mx, lw[k]);
    }
    if (rc == 0) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += out->w[k] = exp(lw[k] - mx);
        for (int k = 0; k < K; k++)
            out->w[k] /= s;
        gmm_set_noise(out, 0);
    }
    free(M), free(P), free(b), free(lw), free(fc);
    if (rc < 0)
        gmm_free(out);
    return rc;
}
