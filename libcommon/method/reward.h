/* reward.h - the rewards tilt(1) tilts a prior by: q(x) ~ p(x)^gamma exp(r(x)).
 *
 *   gauss   r(x) = -(x - c)^T C^-1 (x - c) / 2, c and C the one component
 *           of a mixture spec (gmm.h): a Gaussian factor;
 *   lin     r(x) = -|M (A x - y)|^2 / (2 s^2): the log-likelihood of an
 *           observation y = A x + noise of variance s^2, A the linear part
 *           of a built-in instrument (ops/lin.h) with the sample's mask
 *           and angle, M the pixels it observed;
 *   exec    an external program over simulate(1)'s stream protocol
 *           (ops/sim_ext.h): sent the particles as the field x0, it
 *           answers each record with the field `reward` (one value per
 *           row), `reward_grad` (the gradient, a sample's shape per row)
 *           and optionally `reward_lap` (the Laplacian, one value per
 *           row), all f32 and finite.
 *
 * The first two are quadratic: their Laplacian is a constant, which the
 * weights and the control of tilt(1) do not see (they are centred), so it
 * is reported as 0; a program that gives no Laplacian is taken to have a
 * constant one in the same way. */
#ifndef REWARD_H
#define REWARD_H

#include <stddef.h>
#include <stdint.h>

#include "method/gmm.h"
#include "ops/lin.h"
#include "ops/sim_ext.h"

enum { REWARD_NONE, REWARD_GAUSS, REWARD_LIN, REWARD_EXEC };

typedef struct {
    int kind, dim;
    double scale;           /* the reward's length scale (tilt.h's schedule) */
    gmm f;                  /* gauss: the factor */
    lin_chain lc;           /* lin: the instrument */
    int C, H, W;            /* lin: a sample's shape */
    const float *y, *mask;  /* lin: this population's observation and mask
                             * (borrowed; reward_observe) */
    double angle;
    sim_ext *ext;           /* exec: the program */
    int rank;               /* exec: a sample's shape, as sent */
    uint64_t shape[3];
    /* scratch, owned */
    float *fx, *fw;
    double *work;
} reward;

/* No reward (pure annealing). */
void reward_none(reward *rw, int dim);
/* The Gaussian factor of the one-component spec at path, of dimension
 * dim.  Scale: the root mean of C's eigenvalues.  0, or ERR_DATA (a bad
 * spec, another dimension, more than one component), ERR_IO. */
int reward_gauss(reward *rw, const char *path, int dim);
/* The likelihood through the linear part of the instrument spec (as
 * corrupt's; its noise is the likelihood's, and must be above 0), for
 * samples of rank 1 (d), 2 (C, L) or 3 (C, H, W).  Scale: the noise's
 * standard deviation.  0, or ERR_USAGE (a spec with no linear part or no
 * noise), ERR_IO. */
int reward_lin(reward *rw, const char *spec, int rank, const uint64_t *shape);
/* lin: the observation y (dim values), the mask (H W values, or NULL if
 * the instrument does not mask) and the angle of the population to come;
 * borrowed until the next call. */
void reward_observe(reward *rw, const float *y, const float *mask, double angle);
/* Start the program cmd (sim_ext.h), for samples of the given shape.
 * Scale 1.  0, or ERR_EXTERNAL / ERR_IO. */
int reward_exec(reward *rw, const char *cmd, int rank, const uint64_t *shape, uint64_t seed,
                double timeout);

/* For n particles x (n, dim), the first with index first: r (n), grad
 * (n, dim) and lap (n).  0, or ERR_EXTERNAL / ERR_NUMERIC (the program's
 * failure or answer), ERR_IO. */
int reward_eval(reward *rw, const double *x, size_t n, uint64_t first, double *r,
                double *grad, double *lap);

/* 1 if r is quadratic: gauss and lin. */
int reward_quadratic(const reward *rw);
/* out (dim) = Q v, Q = -(the Hessian of r), for a quadratic reward. */
void reward_hess_apply(reward *rw, const double *v, double *out);

/* exec: close the program's input and check that it ends well; 0 or
 * ERR_EXTERNAL.  Other kinds: 0. */
int reward_finish(reward *rw);
/* Free rw; a program still running is ended. */
void reward_free(reward *rw);

#endif
