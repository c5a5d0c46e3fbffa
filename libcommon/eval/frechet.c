/* frechet.c - the Frechet distance between two Gaussians; see frechet.h. */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "eval/frechet.h"
#include "eval/psd.h"
#include "base/err.h"
#include "base/mem.h"

void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *iwork, int *info);

/* The singular values of the d x d matrix A (destroyed) into s. */
static int singular_values(double *A, size_t d, double *s)
{
    int n = (int)d, info = 0, lwork = -1, one = 1;
    double q, dummy = 0;
    int *iwork = mem_alloc_array(8 * d, sizeof(int));
    if (!iwork)
        return ERR_IO;
    dgesdd_("N", &n, &n, A, &n, s, &dummy, &one, &dummy, &one, &q, &lwork, iwork, &info);
    lwork = info == 0 ? (int)q : 0;
    double *work = info == 0 ? mem_alloc_array((size_t)lwork, sizeof(double)) : NULL;
    if (!work) {
        free(iwork);
        return info ? err_set(ERR_NUMERIC, "frechet: dgesdd's workspace query failed (%d)",
                              info) : ERR_IO;
    }
    dgesdd_("N", &n, &n, A, &n, s, &dummy, &one, &dummy, &one, work, &lwork, iwork, &info);
    free(iwork), free(work);
    if (info != 0)
        return err_set(ERR_NUMERIC, "frechet: the singular value decomposition failed "
                       "(dgesdd info %d)", info);
    return 0;
}

int fr_trace_sqrt(const double *S1, const double *S2, size_t d, double *tr)
{
    size_t dd;
    if (d == 0 || d > INT_MAX || mem_mul(d, d, &dd) < 0)
        return err_set(ERR_DATA, "frechet: %zu values per sample", d);
    double *h1 = mem_alloc_array(dd, sizeof(double));
    double *h2 = h1 ? mem_alloc_array(dd, sizeof(double)) : NULL;
    double *P = h2 ? mem_alloc_array(dd, sizeof(double)) : NULL;
    double *s = P ? mem_alloc_array(d, sizeof(double)) : NULL;
    int rc = s ? 0 : ERR_IO;
    if (rc == 0) {
        memcpy(h1, S1, dd * sizeof(double));
        memcpy(h2, S2, dd * sizeof(double));
        rc = psd_sqrt(h1, d);
    }
    if (rc == 0)
        rc = psd_sqrt(h2, d);
    if (rc == 0) {
        int n = (int)d;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, h1, n, h2, n,
                    0.0, P, n);
        /* dgesdd reads P column-major, i.e. P^T: the same singular values */
        rc = singular_values(P, d, s);
    }
    if (rc == 0) {
        /* smallest first: the small ones are not lost against the large */
        double t = 0;
        for (size_t i = d; i-- > 0;)
            t += s[i];
        *tr = t;
    }
    free(h1), free(h2), free(P), free(s);
    return rc;
}

int fr_distance(const double *mu1, const double *S1, const double *mu2, const double *S2,
                size_t d, double *fd)
{
    double t;
    int rc = fr_trace_sqrt(S1, S2, d, &t);
    if (rc < 0)
        return rc;
    double m = 0, tr = 0;
    for (size_t i = 0; i < d; i++) {
        double e = mu1[i] - mu2[i];
        m += e * e;
        tr += S1[i * d + i] + S2[i * d + i];
    }
    *fd = m + (tr - 2 * t);
    return 0;
}
