/* tilt.c - guidance, G-SMC, DriftLite's VCG-SMC and the boosted start;
 * see tilt.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/rng.h"
#include "method/smc.h"
#include "method/tilt.h"

/* rng streams: a purpose's base plus the step (steps < 2^20) */
enum {
    TILT_RNG_START = 0x54400000,
    TILT_RNG_MOVE = 0x54500000,
    TILT_RNG_RESAMPLE = 0x54600000,
    TILT_RNG_MCMC = 0x54700000,
    TILT_RNG_EXACT = 0x54800000,
    TILT_RNG_POWER = 0x54900000,
    TILT_RNG_ACCEPT = 0x54A00000,
    TILT_RNG_PICK = 0x54B00000
};

/* The least-squares system's ridge, relative to its largest diagonal
 * entry: the score and the drift are nearly collinear where the prior
 * is nearly Gaussian (early steps), and the ridge keeps theta bounded
 * there without moving it where they are not. */
#define TILT_RIDGE 1e-8
/* Rejection sampling's draws per sample before it gives up. */
#define TILT_TRIES_MAX 10000000
#define LOG_2PI 1.8378770664093454836
/* A particle beyond this many times sigma_max has diverged. */
#define TILT_FAR 1e6

const char *const tilt_methods[] = { "pg", "gsmc", "vcg", "boost", "exact", NULL };

int tilt_check(const tilt_opts *o, const prior *p, const reward *rw)
{
    if (!(o->gamma > 0))
        return err_set(ERR_USAGE, "gamma must be above 0; got %g", o->gamma);
    if (!(o->sigma_max > o->sigma_min && o->sigma_min > 0))
        return err_set(ERR_USAGE, "need sigma_max > sigma_min > 0; got %g and %g",
                       o->sigma_max, o->sigma_min);
    if (o->method == TILT_BOOST && !reward_quadratic(rw))
        return err_set(ERR_USAGE, "the boosted start needs a quadratic reward (a Gaussian "
                       "reward or a likelihood)");
    if (o->method == TILT_BOOST && o->gamma != 1)
        return err_set(ERR_USAGE, "the boosted start tilts by a reward: gamma must be 1; got "
                       "%g", o->gamma);
    if (o->method == TILT_EXACT && (!p->g || (rw->kind != REWARD_NONE &&
                                              rw->kind != REWARD_GAUSS)))
        return err_set(ERR_USAGE, "exact draws need a mixture prior and a Gaussian reward "
                       "or none");
    if (p->dim != rw->dim)
        return err_set(ERR_USAGE, "a reward of %d values for a prior of %d", rw->dim, p->dim);
    return 0;
}

int tilt_trace_rows(const tilt_opts *o)
{
    return o->method == TILT_BOOST ? o->steps + 2 : o->method == TILT_EXACT ? 0 : o->steps;
}

/* Noise level j of the schedule (tilt.h): Karras et al.'s rho = 7 from
 * sigma_max (j = 0) to sigma_min (j = steps - 1), then 0. */
static double kappa_at(const tilt_opts *o, int j)
{
    if (j >= o->steps)
        return 0;
    double a = pow(o->sigma_max, 1 / 7.0), b = pow(o->sigma_min, 1 / 7.0);
    return pow(a + (double)j / (o->steps - 1) * (b - a), 7);
}

static double beta_at(const tilt_opts *o, const reward *rw, double k)
{
    return rw->kind == REWARD_NONE ? 0 : o->scale * o->scale / (o->scale * o->scale + k * k);
}

/* A population's state and scratch. */
typedef struct {
    prior *p;
    reward *rw;
    const tilt_opts *o;
    size_t n, D;
    uint64_t first, index;
    double *x, *w;          /* the caller's */
    double *lw, *score, *grad, *r, *lap, *div, *logp, *g, *phi, *h, *tmp, *cgw;
    uint32_t *idx;
    int weighted;           /* G-SMC and VCG: weights and resampling */
} run;

static int run_alloc(run *u)
{
    size_t n = u->n, nd = n * u->D;
    u->lw = mem_calloc_array(n, sizeof(double));
    u->score = mem_alloc_array(nd, sizeof(double));
    u->grad = mem_alloc_array(nd, sizeof(double));
    u->tmp = mem_alloc_array(nd, sizeof(double));
    u->r = mem_alloc_array(n, sizeof(double));
    u->lap = mem_alloc_array(n, sizeof(double));
    u->div = mem_alloc_array(n, sizeof(double));
    u->logp = mem_alloc_array(n, sizeof(double));
    u->g = mem_alloc_array(n, sizeof(double));
    u->phi = mem_alloc_array(n, sizeof(double));
    u->h = mem_alloc_array(3 * n, sizeof(double));
    u->idx = mem_alloc_array(n, sizeof(uint32_t));
    u->cgw = mem_alloc_array(3 * u->D, sizeof(double));
    return u->lw && u->score && u->grad && u->tmp && u->r && u->lap && u->div && u->logp &&
           u->g && u->phi && u->h && u->idx && u->cgw ? 0 : ERR_IO;
}

static void run_free(run *u)
{
    free(u->lw), free(u->score), free(u->grad), free(u->tmp), free(u->r), free(u->lap);
    free(u->div), free(u->logp), free(u->g), free(u->phi), free(u->h), free(u->idx);
    free(u->cgw);
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* 0, or ERR_NUMERIC if a particle left the finite numbers, or went so far
 * beyond the largest noise level (TILT_FAR times it) that the explicit
 * steps must have been unstable: a stiff reward, too few levels. */
static int check_finite(const run *u, int step)
{
    double far = TILT_FAR * fmax(1, u->o->sigma_max);
    char where[64] = "the boosted start's MCMC";
    if (step >= 0)
        snprintf(where, sizeof where, "step %d", step);
    for (size_t i = 0; i < u->n * u->D; i++) {
        if (!isfinite(u->x[i]))
            return err_set(ERR_NUMERIC, "%s: particle %zu is not finite (the steps are too "
                           "large for the drift: more steps, or a smaller sigma_max?)", where,
                           i / u->D);
        if (fabs(u->x[i]) > far)
            return err_set(ERR_NUMERIC, "%s: particle %zu diverged (a value of %g: the steps "
                           "are unstable for this drift: more steps, or a smaller reward "
                           "scale?)", where, i / u->D, u->x[i]);
    }
    return 0;
}

/* Solve the nb x nb system A theta = c (A symmetric positive semi-definite)
 * with a relative ridge, by Gaussian elimination with partial pivoting; a
 * direction A does not see gets theta 0. */
static void solve_small(double A[3][3], double *c, int nb, double *theta)
{
    double mx = 0;
    for (int i = 0; i < nb; i++)
        mx = fmax(mx, A[i][i]);
    for (int i = 0; i < nb; i++)
        A[i][i] += TILT_RIDGE * mx;
    for (int col = 0; col < nb; col++) {
        int piv = col;
        for (int i = col + 1; i < nb; i++)
            if (fabs(A[i][col]) > fabs(A[piv][col]))
                piv = i;
        if (piv != col) {
            for (int j = 0; j < nb; j++) {
                double t = A[col][j];
                A[col][j] = A[piv][j], A[piv][j] = t;
            }
            double t = c[col];
            c[col] = c[piv], c[piv] = t;
        }
        if (!(fabs(A[col][col]) > 1e-300))
            continue;
        for (int i = col + 1; i < nb; i++) {
            double f = A[i][col] / A[col][col];
            for (int j = col; j < nb; j++)
                A[i][j] -= f * A[col][j];
            c[i] -= f * c[col];
        }
    }
    for (int i = nb - 1; i >= 0; i--) {
        double s = c[i];
        for (int j = i + 1; j < nb; j++)
            s -= A[i][j] * theta[j];
        theta[i] = fabs(A[i][i]) > 1e-300 ? s / A[i][i] : 0;
    }
}

/* The log-weights' start at noise k: q_k over the start's N(0, k^2/gamma),
 * beta r exactly, and p_k^gamma against N(0, k^2 I)^gamma when the prior
 * has a log-density (else p_k is taken to be that Gaussian). */
static void start_weights(run *u, double k, double beta)
{
    const tilt_opts *o = u->o;
    for (size_t i = 0; i < u->n; i++) {
        double v = beta * u->r[i];
        if (prior_has_density(u->p)) {
            const double *y = u->x + i * u->D;
            v += o->gamma * (u->logp[i] + dot(y, y, u->D) / (2 * k * k));
        }
        u->lw[i] = v;
    }
}

/* Guided step j from noise k to kn: PG, G-SMC or VCG (tilt.h). */
static int guided_step(run *u, int j, double k, double kn, tilt_row *row)
{
    const tilt_opts *o = u->o;
    size_t n = u->n, D = u->D;
    double beta = beta_at(o, u->rw, k), betan = beta_at(o, u->rw, kn);
    double dd = 2 * k * (k - kn), half = dd / 2, gm = o->gamma;
    int vcg = o->method == TILT_VCG, last = j == o->steps - 1;
    int dens = j == 0 && u->weighted && prior_has_density(u->p);
    int rc = prior_eval(u->p, k, u->x, n, u->first, (uint32_t)j, u->score,
                        vcg ? u->div : NULL, dens ? u->logp : NULL);
    if (rc == 0)
        rc = reward_eval(u->rw, u->x, n, u->first, u->r, u->grad, u->lap);
    if (rc < 0)
        return rc;
    if (j == 0 && u->weighted) {
        start_weights(u, k, beta);
        smc_normalize(u->lw, n, u->w);
    }
    /* the increment g and the control potentials h (each times D/2) */
    double *h1 = u->h, *h2 = u->h + n, *h3 = u->h + 2 * n;
    for (size_t i = 0; i < n; i++) {
        const double *s = u->score + i * D, *gr = u->grad + i * D, *y = u->x + i * D;
        double ss = 0, sg = 0, gg = 0, sy = 0, gy = 0;
        for (size_t c = 0; c < D; c++) {
            ss += s[c] * s[c], sg += s[c] * gr[c], gg += gr[c] * gr[c];
            sy += s[c] * y[c], gy += gr[c] * y[c];
        }
        /* |S_q|^2 - gamma |s|^2 with S_q = gamma s + beta grad */
        double sq = gm * gm * ss + 2 * gm * beta * sg + beta * beta * gg;
        u->g[i] = (betan - beta) * u->r[i] + half * (beta * u->lap[i] + sq - gm * ss);
        if (vcg) {
            h1[i] = half * (beta * (gm * sg + beta * gg) + beta * u->lap[i]);
            h2[i] = half * (gm * ss + beta * sg + u->div[i]);
            h3[i] = -half * (gm * sy + beta * gy + (double)D);
        }
    }
    double theta[3] = { 0, 0, 0 };
    if (vcg) {
        /* the bases in use: the reward's gradient only with a reward on */
        int use[3], nb = 0;
        if (beta > 0)
            use[nb++] = 0;
        use[nb++] = 1, use[nb++] = 2;
        double A[3][3], c[3], th[3] = { 0, 0, 0 };
        for (int a = 0; a < nb; a++) {
            for (int b = 0; b < nb; b++)
                A[a][b] = smc_cov(u->w, u->h + use[a] * n, u->h + use[b] * n, n);
            c[a] = -smc_cov(u->w, u->h + use[a] * n, u->g, n);
        }
        solve_small(A, c, nb, th);
        for (int a = 0; a < nb; a++)
            theta[use[a]] = th[a];
    }
    for (size_t i = 0; i < n; i++)
        u->phi[i] = u->g[i] + theta[0] * h1[i] + theta[1] * h2[i] + theta[2] * h3[i];
    row->step = j, row->kappa = k, row->beta = beta;
    row->var_g = smc_cov(u->w, u->g, u->g, n);
    row->var_phi = smc_cov(u->w, u->phi, u->phi, n);
    memcpy(row->theta, theta, sizeof theta);
    row->ess = (double)n;
    row->accept = NAN;
    row->resampled = 0;
    if (u->weighted) {
        double m = smc_mean(u->w, u->phi, n);
        for (size_t i = 0; i < n; i++)
            u->lw[i] += u->phi[i] - m;
        row->ess = smc_normalize(u->lw, n, u->w);
        if (!isfinite(row->ess))
            return err_set(ERR_NUMERIC, "step %d: the weights are not finite", j);
    }
    /* the move: PG's drift, the control, the noise (none on the last step) */
    double lam = last ? 0 : o->lambda, coef = (1 + lam) / 2 * dd;
    double sd = sqrt(lam * dd);
    for (size_t i = 0; i < n; i++) {
        double *y = u->x + i * D;
        const double *s = u->score + i * D, *gr = u->grad + i * D;
        rng_t rg;
        if (sd > 0)
            rng_init(&rg, o->seed, TILT_RNG_MOVE + (uint32_t)j, u->first + i);
        for (size_t c = 0; c < D; c++) {
            double sqc = gm * s[c] + beta * gr[c];
            double ctl = half * (theta[0] * beta * gr[c] + theta[1] * s[c] - theta[2] * y[c]);
            y[c] += coef * sqc + ctl + (sd > 0 ? sd * rng_normal(&rg) : 0);
        }
    }
    if ((rc = check_finite(u, j)) < 0)
        return rc;
    if (u->weighted && !last && row->ess < o->ess * (double)n) {
        rng_t rg;
        rng_init(&rg, o->seed, TILT_RNG_RESAMPLE + (uint32_t)j, u->index);
        smc_systematic(u->w, n, rng_uniform(&rg), n, u->idx);
        smc_gather(u->x, n, D, u->idx, u->tmp);
        for (size_t i = 0; i < n; i++)
            u->lw[i] = 0, u->w[i] = 1.0 / (double)n;
        row->resampled = 1;
    }
    return 0;
}

/* The prior's own reverse SDE (lambda 1) from k to kn, step j (its noise
 * keys), noiseless if kn is 0: what the boosted start runs. */
static int prior_step(run *u, int j, double k, double kn, tilt_row *row)
{
    size_t n = u->n, D = u->D;
    double dd = 2 * k * (k - kn), sd = kn > 0 ? sqrt(dd) : 0, coef = kn > 0 ? dd : dd / 2;
    int rc = prior_eval(u->p, k, u->x, n, u->first, (uint32_t)j, u->score, NULL, NULL);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rng_t rg;
        rng_init(&rg, u->o->seed, TILT_RNG_MOVE + (uint32_t)j, u->first + i);
        for (size_t c = 0; c < D; c++)
            u->x[i * D + c] += coef * u->score[i * D + c] + (sd > 0 ? sd * rng_normal(&rg) : 0);
    }
    *row = (tilt_row){ .step = j, .kappa = k, .ess = (double)n, .accept = NAN };
    return check_finite(u, j);
}

/* ---- the boosted start ----------------------------------------------------- */

/* u (D) = (I - s Q)^-1 b by conjugate gradients (I - s Q is positive
 * definite while s lambda_max(Q) < 1); work holds 3 D doubles. */
static int cg_solve(reward *rw, double s, const double *b, double *x, size_t D, double *work)
{
    double *r = work, *p = work + D, *ap = work + 2 * D;
    memset(x, 0, sizeof(double) * D);
    memcpy(r, b, sizeof(double) * D);
    memcpy(p, b, sizeof(double) * D);
    double rr = dot(r, r, D), bb = rr;
    for (int it = 0; it < 1000 && rr > 1e-24 * bb; it++) {
        reward_hess_apply(rw, p, ap);
        for (size_t i = 0; i < D; i++)
            ap[i] = p[i] - s * ap[i];
        double pap = dot(p, ap, D);
        if (!(pap > 0))
            return err_set(ERR_NUMERIC, "the boosted precision is not positive definite "
                           "(a smaller boost level?)");
        double a = rr / pap;
        for (size_t i = 0; i < D; i++)
            x[i] += a * p[i], r[i] -= a * ap[i];
        double rn = dot(r, r, D);
        for (size_t i = 0; i < D; i++)
            p[i] = r[i] + rn / rr * p[i];
        rr = rn;
    }
    return 0;
}

/* The largest eigenvalue of Q by 200 power iterations from a fixed start. */
static double lambda_max(reward *rw, size_t D, double *v, double *qv)
{
    rng_t rg;
    rng_init(&rg, 0, TILT_RNG_POWER, 0);
    for (size_t i = 0; i < D; i++)
        v[i] = rng_normal(&rg);
    double lam = 0;
    for (int it = 0; it < 200; it++) {
        double nv = sqrt(dot(v, v, D));
        if (!(nv > 0))
            return 0;
        for (size_t i = 0; i < D; i++)
            v[i] /= nv;
        reward_hess_apply(rw, v, qv);
        lam = dot(v, qv, D);
        memcpy(v, qv, sizeof(double) * D);
    }
    return lam;
}

/* At the particles x (n, D): the boosted distribution's gradient into gt
 * (n, D), the boost's own part (I - s Q)^-1 grad r into ub (n, D), the
 * prior's log-density into logp if it has one. */
static int boost_grad(run *u, double k, const double *x, double *gt, double *ub, int it)
{
    size_t n = u->n, D = u->D;
    int rc = prior_eval(u->p, k, x, n, u->first, (uint32_t)it, gt, NULL,
                        prior_has_density(u->p) ? u->logp : NULL);
    if (rc == 0)
        rc = reward_eval(u->rw, x, n, u->first, u->r, u->grad, u->lap);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = cg_solve(u->rw, k * k, u->grad + i * D, ub + i * D, D, u->cgw);
        for (size_t c = 0; c < D; c++)
            gt[i * D + c] += ub[i * D + c];
    }
    return rc;
}

/* MCMC on the boosted distribution at noise k: MALA with a log-density,
 * ULA without.  Fills row's acceptance rate. */
static int boost_mcmc(run *u, double k, tilt_row *row)
{
    const tilt_opts *o = u->o;
    size_t n = u->n, D = u->D, nd = n * D;
    double eta = o->mcmc_step * k * k * (1 - o->level);
    int mala = prior_has_density(u->p);
    double *gt = mem_alloc_array(nd, sizeof(double)), *ub = mem_alloc_array(nd, sizeof(double));
    double *xp = mem_alloc_array(nd, sizeof(double)), *gp = mem_alloc_array(nd, sizeof(double));
    double *up = mem_alloc_array(nd, sizeof(double)), *lpc = mem_alloc_array(n, sizeof(double));
    int rc = gt && ub && xp && gp && up && lpc ? 0 : ERR_IO;
    uint64_t accepted = 0;
    if (rc == 0)
        rc = boost_grad(u, k, u->x, gt, ub, 0);
    if (rc == 0 && mala)
        memcpy(lpc, u->logp, sizeof(double) * n);
    for (int it = 0; rc == 0 && it < o->mcmc_steps; it++) {
        double sd = sqrt(2 * eta);
        for (size_t i = 0; i < n; i++) {
            rng_t rg;
            rng_init(&rg, o->seed, TILT_RNG_MCMC + (uint32_t)it, u->first + i);
            for (size_t c = 0; c < D; c++)
                xp[i * D + c] = u->x[i * D + c] + eta * gt[i * D + c] + sd * rng_normal(&rg);
        }
        if (!mala) {
            memcpy(u->x, xp, sizeof(double) * nd);
            if ((rc = check_finite(u, -1)) == 0)
                rc = boost_grad(u, k, u->x, gt, ub, it + 1);
            accepted += n;
            continue;
        }
        if ((rc = boost_grad(u, k, xp, gp, up, it + 1)) < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            const double *x0 = u->x + i * D, *x1 = xp + i * D;
            /* log nu(x1) - log nu(x0): the prior's, and the quadratic
             * boost's by the trapezoid rule (exact for a quadratic) */
            double dl = u->logp[i] - lpc[i], fwd = 0, bwd = 0;
            for (size_t c = 0; c < D; c++) {
                double dx = x1[c] - x0[c];
                dl += 0.5 * (up[i * D + c] + ub[i * D + c]) * dx;
                double a = dx - eta * gt[i * D + c], b = -dx - eta * gp[i * D + c];
                fwd += a * a, bwd += b * b;
            }
            double la = dl - (bwd - fwd) / (4 * eta);
            rng_t rg;
            rng_init(&rg, o->seed, TILT_RNG_ACCEPT + (uint32_t)it, u->first + i);
            if (log(rng_uniform(&rg)) < la) {
                memcpy(u->x + i * D, x1, sizeof(double) * D);
                memcpy(gt + i * D, gp + i * D, sizeof(double) * D);
                memcpy(ub + i * D, up + i * D, sizeof(double) * D);
                lpc[i] = u->logp[i];
                accepted++;
            }
        }
    }
    *row = (tilt_row){ .step = -1, .kappa = k, .ess = (double)n,
                       .accept = (double)accepted / ((double)n * (o->mcmc_steps ? o->mcmc_steps : 1)) };
    free(gt), free(ub), free(xp), free(gp), free(up), free(lpc);
    return rc;
}

/* The next row of trace, or scratch when there is no trace. */
static tilt_row *next_row(tilt_row *trace, int *rows, tilt_row *scratch)
{
    return trace ? &trace[(*rows)++] : scratch;
}

static void progress(const tilt_opts *o, int *done)
{
    ++*done;
    if (o->progress)
        o->progress(o->ctx, *done);
}

/* Returns the rows of trace filled, or ERR_*. */
static int run_boost(run *u, tilt_row *trace)
{
    const tilt_opts *o = u->o;
    size_t D = u->D;
    double lam = lambda_max(u->rw, D, u->cgw, u->cgw + D);
    if (!(lam > 0))
        return err_set(ERR_NUMERIC, "the reward's precision has no positive eigenvalue");
    double kb = fmin(sqrt(o->level / lam), o->sigma_max);
    /* the schedule with kb inserted: down to kb, MCMC there, then on to 0;
     * the steps after kb take noise keys of their own (steps + 1 + j) */
    int j = 0, rows = 0, rc = 0, done = 0;
    tilt_row scratch;
    for (; rc == 0 && kappa_at(o, j + 1) > kb; j++, progress(o, &done))
        rc = prior_step(u, j, kappa_at(o, j), kappa_at(o, j + 1), next_row(trace, &rows, &scratch));
    if (rc == 0 && kappa_at(o, j) > kb)
        rc = prior_step(u, j, kappa_at(o, j), kb, next_row(trace, &rows, &scratch));
    if (rc == 0)
        rc = boost_mcmc(u, kb, next_row(trace, &rows, &scratch));
    for (double k = kb; rc == 0 && j < o->steps; j++, progress(o, &done)) {
        double kn = kappa_at(o, j + 1);
        rc = prior_step(u, o->steps + 1 + j, k, kn, next_row(trace, &rows, &scratch));
        k = kn;
    }
    for (size_t i = 0; i < u->n; i++)
        u->w[i] = 1.0 / (double)u->n;
    return rc < 0 ? rc : rows;
}

/* ---- exact draws ----------------------------------------------------------- */

static int run_exact(run *u)
{
    const tilt_opts *o = u->o;
    gmm *g = u->p->g, prop;
    int rc = gmm_product(g, o->gamma, u->rw->kind == REWARD_GAUSS ? &u->rw->f : NULL, &prop);
    if (rc < 0)
        return rc;
    gmm_set_noise(g, 0);
    double *work = mem_alloc_array(gmm_work_doubles(g), sizeof(double));
    if (!work)
        rc = ERR_IO;
    for (size_t i = 0; rc == 0 && i < u->n; i++) {
        rng_t rg;
        rng_init(&rg, o->seed, TILT_RNG_EXACT, u->first + i);
        double *x = u->x + i * u->D;
        for (long t = 0;; t++) {
            if (t == TILT_TRIES_MAX) {
                rc = err_set(ERR_NUMERIC, "sample %zu: no draw accepted in %d tries (gamma "
                             "too far from 1 for rejection sampling)", i, TILT_TRIES_MAX);
                break;
            }
            gmm_sample(&prop, &rg, x);
            if (o->gamma == 1 || log(rng_uniform(&rg)) < gmm_anneal_accept(g, o->gamma, x, work))
                break;
        }
        u->w[i] = 1.0 / (double)u->n;
    }
    free(work);
    gmm_free(&prop);
    return rc;
}

size_t tilt_pick(const tilt_opts *o, const double *w, size_t n, uint64_t index)
{
    rng_t rg;
    rng_init(&rg, o->seed, TILT_RNG_PICK, index);
    uint32_t i;
    smc_systematic(w, n, rng_uniform(&rg), 1, &i);
    return i;
}

/* ---- a population ------------------------------------------------------------ */

int tilt_run(prior *p, reward *rw, const tilt_opts *o, size_t n, uint64_t index, double *x,
             double *w, tilt_row *trace)
{
    run u = { .p = p, .rw = rw, .o = o, .n = n, .D = (size_t)p->dim,
              .first = index * (uint64_t)n, .index = index, .x = x, .w = w };
    u.weighted = o->method == TILT_GSMC || o->method == TILT_VCG;
    int rc = run_alloc(&u);
    if (rc == 0 && o->method == TILT_EXACT) {
        rc = run_exact(&u);
        run_free(&u);
        return rc;
    }
    /* the start: N(0, sigma_max^2 / gamma), which is p_k^gamma's if p_k
     * is N(0, k^2 I) */
    double sd = o->sigma_max / sqrt(o->gamma);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rng_t rg;
        rng_init(&rg, o->seed, TILT_RNG_START, u.first + i);
        for (size_t c = 0; c < u.D; c++)
            x[i * u.D + c] = sd * rng_normal(&rg);
        w[i] = 1.0 / (double)n;
    }
    int rows = 0;
    if (rc == 0 && o->method == TILT_BOOST) {
        rc = rows = run_boost(&u, trace);
    } else {
        tilt_row scratch;
        for (int j = 0, done = 0; rc == 0 && j < o->steps; j++, progress(o, &done))
            rc = guided_step(&u, j, kappa_at(o, j), kappa_at(o, j + 1),
                             next_row(trace, &rows, &scratch));
    }
    if (rc == 0 && o->resample_final && u.weighted) {
        rng_t rg;
        rng_init(&rg, o->seed, TILT_RNG_RESAMPLE + (uint32_t)o->steps, index);
        smc_systematic(w, n, rng_uniform(&rg), n, u.idx);
        smc_gather(x, n, u.D, u.idx, u.tmp);
        for (size_t i = 0; i < n; i++)
            w[i] = 1.0 / (double)n;
    }
    run_free(&u);
    return rc < 0 ? rc : rows;
}
