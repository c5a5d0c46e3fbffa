/* psd.c - V f(L) V^T through dsyev; see psd.h. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "eval/psd.h"
#include "base/err.h"
#include "base/mem.h"

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);

/* C = V g(L)^2 V^T, formed as R^T R with R's row k = g(L_k) times
 * eigenvector k: one dgemm, no diagonal matrix.  So g is the square root
 * of the wanted f: sqrt for the clip, the fourth root for the square root. */
static int apply(double *C, size_t d, int root)
{
    if (d == 0 || d > INT_MAX)
        return err_set(ERR_DATA, "psd: %zu rows", d);
    int n = (int)d, info = 0, lwork = -1;
    double q;
    double *w = mem_alloc_array(d, sizeof(double));
    if (!w)
        return ERR_IO;
    dsyev_("V", "U", &n, C, &n, w, &q, &lwork, &info);
    lwork = info == 0 ? (int)q : 0;
    double *work = info == 0 ? mem_alloc_array((size_t)lwork, sizeof(double)) : NULL;
    double *R = work ? mem_alloc_array(d * d, sizeof(double)) : NULL;
    if (!R) {
        free(w), free(work);
        return info ? err_set(ERR_NUMERIC, "psd: dsyev's workspace query failed (%d)",
                              info) : ERR_IO;
    }
    dsyev_("V", "U", &n, C, &n, w, work, &lwork, &info);
    if (info != 0) {
        free(w), free(work), free(R);
        return err_set(ERR_NUMERIC, "psd: the eigendecomposition failed (dsyev info %d)",
                       info);
    }
    /* Column-major: eigenvector k is C[k*d .. k*d + d). */
    for (size_t k = 0; k < d; k++) {
        double s = w[k] > 0 ? sqrt(w[k]) : 0;
        if (root)
            s = sqrt(s);
        for (size_t i = 0; i < d; i++)
            R[k * d + i] = s * C[k * d + i];
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, R, n, R, n, 0.0, C, n);
    for (size_t i = 0; i < d; i++)      /* dgemm's two triangles may round apart */
        for (size_t j = i + 1; j < d; j++)
            C[j * d + i] = C[i * d + j];
    free(w), free(work), free(R);
    return 0;
}

int psd_clip(double *C, size_t d)
{
    return apply(C, d, 0);
}

int psd_sqrt(double *C, size_t d)
{
    return apply(C, d, 1);
}
