/* reward.c - the rewards of tilt(1); see reward.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/reward.h"
#include "ops/fwd.h"

static int scratch(reward *rw, size_t floats, size_t doubles)
{
    rw->fx = mem_alloc_array(floats, sizeof(float));
    rw->fw = mem_alloc_array(floats, sizeof(float));
    rw->work = mem_alloc_array(doubles, sizeof(double));
    return rw->fx && rw->fw && rw->work ? 0 : ERR_IO;
}

void reward_none(reward *rw, int dim)
{
    memset(rw, 0, sizeof *rw);
    rw->kind = REWARD_NONE;
    rw->dim = dim;
    rw->scale = 1;
}

int reward_gauss(reward *rw, const char *path, int dim)
{
    reward_none(rw, dim);
    rw->kind = REWARD_GAUSS;
    int rc = gmm_read(&rw->f, path);
    if (rc == 0 && rw->f.k != 1)
        rc = err_set(ERR_DATA, "%s: a Gaussian reward has one component; this spec has %d",
                     path, rw->f.k);
    if (rc == 0 && rw->f.d != dim)
        rc = err_set(ERR_DATA, "%s: a reward of dimension %d for a prior of dimension %d",
                     path, rw->f.d, dim);
    if (rc == 0)
        rc = scratch(rw, 1, 2 * (size_t)dim);
    if (rc < 0) {
        reward_free(rw);
        return rc;
    }
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += rw->f.ev[i];
    rw->scale = sqrt(s / dim);
    return 0;
}

/* (C, H, W) of a sample of the given shape. */
static void image_shape(int rank, const uint64_t *shape, int *C, int *H, int *W)
{
    *C = rank == 1 ? 1 : (int)shape[0];
    *H = rank == 3 ? (int)shape[1] : 1;
    *W = (int)shape[rank - 1];
}

int reward_lin(reward *rw, const char *spec, int rank, const uint64_t *shape)
{
    int C, H, W;
    image_shape(rank, shape, &C, &H, &W);
    reward_none(rw, C * H * W);
    rw->kind = REWARD_LIN;
    rw->C = C, rw->H = H, rw->W = W;
    fwd_spec fs;
    int rc = fwd_parse(spec, &fs);
    if (rc == 0)
        rc = fwd_linear(&fs, &rw->lc);
    /* the spectral steps read per-sample side fields this reward does not
     * carry (it keeps the mask and the angle only) */
    if (rc == 0 && lin_spectral(&rw->lc))
        rc = err_set(ERR_USAGE, "'%s': the likelihood takes mask, blur, motion and down, not "
                     "smooth, tilt or snr", spec);
    if (rc == 0 && !(rw->lc.noise_var > 0))
        rc = err_set(ERR_USAGE, "'%s' adds no noise: the likelihood needs its variance "
                     "(noise=S)", spec);
    if (rc == 0)
        rc = scratch(rw, (size_t)rw->dim + lin_work_floats(C, H, W), 0);
    if (rc < 0) {
        reward_free(rw);
        return rc;
    }
    rw->scale = sqrt(rw->lc.noise_var);
    return 0;
}

void reward_observe(reward *rw, const float *y, const float *mask, double angle)
{
    rw->y = y, rw->mask = mask, rw->angle = angle;
}

int reward_exec(reward *rw, const char *cmd, int rank, const uint64_t *shape, uint64_t seed,
                double timeout)
{
    reward_none(rw, 1);
    rw->kind = REWARD_EXEC;
    rw->rank = rank;
    size_t d = 1;
    for (int i = 0; i < rank; i++)
        d *= (size_t)(rw->shape[i] = shape[i]);
    rw->dim = (int)d;
    sim_ext_opts o = { "x0", "reward", 1, seed, timeout };
    if (!(rw->ext = sim_ext_start(cmd, &o))) {
        reward_free(rw);
        return err_code();
    }
    return 0;
}

/* lin: r and grad of one particle x (dim). */
static void lin_one(reward *rw, const double *x, double *r, double *grad)
{
    int D = rw->dim;
    float *a = rw->fx, *work = rw->fx + D, *yo = rw->fw;
    lin_side sd = { .mask = rw->mask, .angle = rw->angle };
    for (int j = 0; j < D; j++)
        a[j] = (float)x[j];
    lin_apply(&rw->lc, &sd, rw->C, rw->H, rw->W, a, work);
    memcpy(yo, rw->y, sizeof(float) * (size_t)D);
    lin_observed(&rw->lc, &sd, rw->C, rw->H, rw->W, yo);
    for (int j = 0; j < D; j++)
        a[j] -= yo[j];
    lin_observed(&rw->lc, &sd, rw->C, rw->H, rw->W, a);
    double s = 0;
    for (int j = 0; j < D; j++)
        s += (double)a[j] * a[j];
    *r = -0.5 * s / rw->lc.noise_var;
    lin_adjoint(&rw->lc, &sd, rw->C, rw->H, rw->W, a, work);
    for (int j = 0; j < D; j++)
        grad[j] = -a[j] / rw->lc.noise_var;
}

/* The f32 field name of rec with n rows of per values, or NULL (err set). */
static const float *answer_field(const tz_record *rec, const char *name, size_t n, size_t per,
                                 int optional)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t && optional)
        return NULL;
    if (!t || t->dtype != TZ_F32 || t->rank < 1 || t->dims[0] != n ||
        tz_tensor_count(t) != n * per) {
        err_set(ERR_EXTERNAL, "the reward program's answer needs an f32 field '%s' of %zu "
                "value%s per row", name, per, per == 1 ? "" : "s");
        return NULL;
    }
    const float *v = t->data;
    for (size_t i = 0; i < n * per; i++)
        if (!isfinite(v[i])) {
            err_set(ERR_NUMERIC, "the reward program's field '%s' holds NaN or Inf (row %zu)",
                    name, i / per);
            return NULL;
        }
    return v;
}

static int exec_eval(reward *rw, const double *x, size_t n, uint64_t first, double *r,
                     double *grad, double *lap)
{
    size_t D = (size_t)rw->dim;
    uint64_t dims[4] = { n, rw->shape[0], rw->shape[1], rw->shape[2] };
    tz_record rec, ans;
    tz_record_init(&rec, TZ_BATCH);
    tz_record_init(&ans, TZ_BATCH);
    tz_tensor *t = tz_record_add(&rec, "x0", TZ_F32, rw->rank + 1, dims, NULL);
    if (!t) {
        tz_record_free(&rec);
        return err_code();
    }
    float *f = t->data;
    for (size_t i = 0; i < n * D; i++)
        f[i] = (float)x[i];
    int rc = sim_ext_send(rw->ext, &rec, first);
    tz_record_free(&rec);
    if (rc == 0)
        rc = sim_ext_receive(rw->ext, &ans);
    const float *vr = NULL, *vg = NULL, *vl = NULL;
    if (rc == 0 && (!(vr = answer_field(&ans, "reward", n, 1, 0)) ||
                    !(vg = answer_field(&ans, "reward_grad", n, D, 0)) ||
                    (!(vl = answer_field(&ans, "reward_lap", n, 1, 1)) &&
                     tz_record_find(&ans, "reward_lap"))))
        rc = err_code();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        r[i] = vr[i];
        lap[i] = vl ? vl[i] : 0;
        for (size_t j = 0; j < D; j++)
            grad[i * D + j] = vg[i * D + j];
    }
    tz_record_free(&ans);
    return rc;
}

int reward_eval(reward *rw, const double *x, size_t n, uint64_t first, double *r,
                double *grad, double *lap)
{
    size_t D = (size_t)rw->dim;
    switch (rw->kind) {
    case REWARD_EXEC:
        return exec_eval(rw, x, n, first, r, grad, lap);
    case REWARD_GAUSS:
        for (size_t i = 0; i < n; i++) {
            double *u = rw->work, *g = grad + i * D, s = 0;
            for (size_t j = 0; j < D; j++)
                u[j] = x[i * D + j] - rw->f.mu[j];
            gmm_precision_apply(&rw->f, u, g, rw->work + D);
            for (size_t j = 0; j < D; j++) {
                s += u[j] * g[j];
                g[j] = -g[j];
            }
            r[i] = -0.5 * s;
            lap[i] = 0;
        }
        return 0;
    case REWARD_LIN:
        for (size_t i = 0; i < n; i++) {
            lin_one(rw, x + i * D, &r[i], grad + i * D);
            lap[i] = 0;
        }
        return 0;
    default:
        memset(r, 0, sizeof(double) * n);
        memset(lap, 0, sizeof(double) * n);
        memset(grad, 0, sizeof(double) * n * D);
        return 0;
    }
}

int reward_quadratic(const reward *rw)
{
    return rw->kind == REWARD_GAUSS || rw->kind == REWARD_LIN;
}

void reward_hess_apply(reward *rw, const double *v, double *out)
{
    int D = rw->dim;
    if (rw->kind == REWARD_GAUSS) {
        gmm_precision_apply(&rw->f, v, out, rw->work);
        return;
    }
    float *a = rw->fx, *work = rw->fx + D;
    lin_side sd = { .mask = rw->mask, .angle = rw->angle };
    for (int j = 0; j < D; j++)
        a[j] = (float)v[j];
    lin_apply(&rw->lc, &sd, rw->C, rw->H, rw->W, a, work);
    lin_observed(&rw->lc, &sd, rw->C, rw->H, rw->W, a);
    lin_adjoint(&rw->lc, &sd, rw->C, rw->H, rw->W, a, work);
    for (int j = 0; j < D; j++)
        out[j] = a[j] / rw->lc.noise_var;
}

int reward_finish(reward *rw)
{
    if (!rw->ext)
        return 0;
    int rc = sim_ext_finish(rw->ext);
    rw->ext = NULL;
    return rc;
}

void reward_free(reward *rw)
{
    sim_ext_kill(rw->ext);
    if (rw->kind == REWARD_GAUSS)
        gmm_free(&rw->f);
    free(rw->fx), free(rw->fw), free(rw->work);
    memset(rw, 0, sizeof *rw);
}
