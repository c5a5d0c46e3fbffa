/* moments.c - mean and covariance in constant memory; the moments file
 * (moments.h). */
#include <cblas.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/moments.h"
#include "eval/psd.h"
#include "base/err.h"
#include "base/mem.h"
#include "formats/tz.h"

int mom_init(mom_acc *a, size_t d, int masked)
{
    memset(a, 0, sizeof *a);
    a->d = d;
    a->masked = masked;
    size_t dd;
    if (d == 0 || mem_mul(d, d, &dd) < 0)
        return err_set(ERR_DATA, "moments: %zu values per sample", d);
    a->shift = mem_calloc_array(d, sizeof(double));
    a->sum = mem_calloc_array(d, sizeof(double));
    a->S = mem_calloc_array(dd, sizeof(double));
    a->bz = mem_alloc_array((size_t)MOM_BLOCK * d, sizeof(double));
    if (masked) {
        a->A = mem_calloc_array(dd, sizeof(double));
        a->N = mem_calloc_array(dd, sizeof(double));
        a->bm = mem_alloc_array((size_t)MOM_BLOCK * d, sizeof(double));
    }
    if (!a->shift || !a->sum || !a->S || !a->bz || (masked && (!a->A || !a->N || !a->bm))) {
        mom_free(a);
        return ERR_IO;
    }
    return 0;
}

void mom_free(mom_acc *a)
{
    free(a->shift), free(a->sum), free(a->S), free(a->A), free(a->N);
    free(a->bz), free(a->bm);
    memset(a, 0, sizeof *a);
}

/* Add the block's rows to the sums. */
static void flush(mom_acc *a)
{
    int d = (int)a->d, k = a->rows;
    if (!k)
        return;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, k, 1.0, a->bz, d, a->bz, d,
                1.0, a->S, d);
    if (a->masked) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, k, 1.0, a->bz, d, a->bm,
                    d, 1.0, a->A, d);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, k, 1.0, a->bm, d, a->bm,
                    d, 1.0, a->N, d);
    }
    a->rows = 0;
}

int mom_add(mom_acc *a, const float *x, const float *m, size_t mcount)
{
    size_t d = a->d;
    if (a->n == 0)
        for (size_t j = 0; j < d; j++)
            a->shift[j] = x[j];
    double *z = a->bz + (size_t)a->rows * d;
    if (a->masked) {
        double *mm = a->bm + (size_t)a->rows * d;
        for (size_t j = 0; j < d; j++) {
            mm[j] = m[j % mcount] != 0.0f;
            z[j] = mm[j] ? x[j] - a->shift[j] : 0.0;
        }
    } else
        for (size_t j = 0; j < d; j++) {
            z[j] = x[j] - a->shift[j];
            a->sum[j] += z[j];
        }
    a->n++;
    if (++a->rows == MOM_BLOCK)
        flush(a);
    return 0;
}

int mom_finish(mom_acc *a, double *mean, double *cov, uint64_t *min_pairs)
{
    flush(a);
    size_t d = a->d;
    if (a->n == 0)
        return err_set(ERR_DATA, "moments: no samples");
    uint64_t minp = a->n;
    double *mu = a->sum;    /* the shifted mean, in place */
    if (!a->masked) {
        double n = (double)a->n;
        for (size_t i = 0; i < d; i++)
            mu[i] /= n;
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++) {
                double c = a->n < 2 ? 0 :
                    (a->S[i * d + j] - n * mu[i] * mu[j]) / (n - 1);
                cov[i * d + j] = cov[j * d + i] = c;
            }
    } else {
        for (size_t i = 0; i < d; i++) {
            double ni = a->N[i * d + i];
            mu[i] = ni > 0 ? a->A[i * d + i] / ni : 0;
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++) {
                double nij = a->N[i * d + j], c = 0;
                if (nij < (double)minp)
                    minp = (uint64_t)nij;
                if (nij >= 2)
                    c = (a->S[i * d + j] - mu[j] * a->A[i * d + j] - mu[i] * a->A[j * d + i] +
                         nij * mu[i] * mu[j]) / (nij - 1);
                cov[i * d + j] = cov[j * d + i] = c;
            }
        int rc = psd_clip(cov, d);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < d; i++)
        mean[i] = a->masked && a->N[i * d + i] == 0 ? 0 : a->shift[i] + mu[i];
    if (min_pairs)
        *min_pairs = minp;
    return 0;
}

/* ---- the file ------------------------------------------------------------ */

int mom_write(const char *path, int level, const mom_file *m)
{
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t d = m->d, dd[2] = { d, d }, r = (uint64_t)m->rank;
    int64_t shape[8];
    for (int i = 0; i < m->rank; i++)
        shape[i] = (int64_t)m->shape[i];
    int rc = 0;
    if (!tz_record_add(&rec, "mean", TZ_F64, 1, &d, m->mean) ||
        !tz_record_add(&rec, "cov", TZ_F64, 2, dd, m->cov) ||
        !tz_record_add(&rec, "shape", TZ_I64, 1, &r, shape))
        rc = err_code();
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "count", m->count);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "field", m->field);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "estimator", m->estimator);
    if (rc == 0 && m->mask[0])
        rc = tz_record_set_attr(&rec, "mask", m->mask);
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "min_pairs", m->min_pairs);
    if (rc == 0)
        rc = tz_save(path, level, &rec);
    tz_record_free(&rec);
    return rc;
}

void mom_file_free(mom_file *m)
{
    free(m->mean), free(m->cov);
    m->mean = m->cov = NULL;
}

int mom_read(const char *path, mom_file *m)
{
    memset(m, 0, sizeof *m);
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return err_code();
    const char *name = tz_reader_name(r);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    int rc = tz_read(r, &rec);
    if (rc == 0)
        rc = err_set(ERR_DATA, "%s: no record: not a moments file", name);
    const tz_tensor *mean = NULL, *cov = NULL, *shape = NULL;
    const char *count = NULL;
    if (rc > 0) {
        rc = 0;
        mean = tz_record_find(&rec, "mean");
        cov = tz_record_find(&rec, "cov");
        shape = tz_record_find(&rec, "shape");
        count = tz_record_attr(&rec, "count");
        if (!mean || !cov || mean->dtype != TZ_F64 || cov->dtype != TZ_F64 ||
            mean->rank != 1 || cov->rank != 2 || cov->dims[0] != mean->dims[0] ||
            cov->dims[1] != mean->dims[0] || mean->dims[0] == 0)
            rc = err_set(ERR_DATA, "%s: record 0: not a moments file (need f64 'mean' [d] "
                         "and 'cov' [d,d], as tzmoments writes)", name);
    }
    if (rc == 0) {
        m->d = (size_t)mean->dims[0];
        m->count = count ? strtoull(count, NULL, 10) : 0;
        const char *s;
        if ((s = tz_record_attr(&rec, "field")))
            snprintf(m->field, sizeof m->field, "%s", s);
        if ((s = tz_record_attr(&rec, "estimator")))
            snprintf(m->estimator, sizeof m->estimator, "%s", s);
        if ((s = tz_record_attr(&rec, "mask")))
            snprintf(m->mask, sizeof m->mask, "%s", s);
        if (shape && shape->dtype == TZ_I64 && shape->rank == 1 && shape->dims[0] <= 8) {
            m->rank = (int)shape->dims[0];
            for (int i = 0; i < m->rank; i++)
                m->shape[i] = (uint64_t)((const int64_t *)shape->data)[i];
        }
        m->mean = mem_alloc_array(m->d, sizeof(double));
        m->cov = mem_alloc_array(m->d * m->d, sizeof(double));
        if (!m->mean || !m->cov)
            rc = ERR_IO;
    }
    if (rc == 0) {
        memcpy(m->mean, mean->data, sizeof(double) * m->d);
        memcpy(m->cov, cov->data, sizeof(double) * m->d * m->d);
        for (size_t i = 0; rc == 0 && i < m->d * m->d + m->d; i++) {
            double v = i < m->d ? m->mean[i] : m->cov[i - m->d];
            if (!isfinite(v))
                rc = err_set(ERR_NUMERIC, "%s: record 0: '%s' holds %s", name,
                             i < m->d ? "mean" : "cov", isnan(v) ? "NaN" : "Inf");
        }
    }
    if (rc < 0)
        mom_file_free(m);
    tz_record_free(&rec);
    tz_reader_close(r);
    return rc;
}
