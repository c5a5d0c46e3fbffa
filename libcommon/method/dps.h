/* dps.h - diffusion posterior sampling (Chung et al., ICLR 2023) on a
 * generative interpolant: the restorer SCSI is compared with, which needs
 * what SCSI does not: a prior trained on clean data, and an instrument
 * that is linear and known (ops/lin.h) so that it can be differentiated.
 *
 * The generative interpolant x_t = (1 - t) x0 + t z (gamma = 0; si.h) has
 * the drift b(x, t) = E[z - x0 | x_t = x], so its denoiser is
 * x0hat(x) = x - t b(x, t).  From x = z ~ N(0, I) at t = 1, each of the
 * `steps` Euler steps of the reverse ODE is followed by the guidance step
 *
 *     x <- x - zeta grad_x |y - A x0hat(x)|_2,
 *     grad_x = g - t J_b(x)^T g,   g = A^T r / |r|,  r = A x0hat - y,
 *
 * J_b^T g the network's input-gradient (net_backward_dx), A^T the
 * instrument's adjoint; the norm is not squared, as in the reference code
 * (its step is then zeta whatever the residual's size).  y's unobserved
 * pixels (a mask's) are left out of r.  The start z is keyed by (seed,
 * the sample's stream index), so the result does not depend on the
 * batching or the thread count. */
#ifndef DPS_H
#define DPS_H

#include <stdint.h>

#include "method/model.h"
#include "method/push.h"
#include "ops/lin.h"

typedef struct {
    int steps;
    double zeta;            /* the guidance step */
    uint64_t seed;
    const char *y;          /* the observation field (x1) */
} dps_opts;

/* 0 if m can guide DPS (a generative model with gamma 0 and the plain
 * drift); else ERR_USAGE with the reason. */
int dps_check_model(const model *m);

/* x (g->rows, D) = DPS restorations of the group's observations o->y,
 * with each record's side fields (mask, angle) as the chain lc needs; the
 * first row has stream index first.  0, or ERR_DATA (a missing or
 * ill-shaped field, named with its record), ERR_NUMERIC, ERR_IO. */
int dps_transport(model *m, const push_group *g, const lin_chain *lc, float *x,
                  const dps_opts *o, uint64_t first);

/* ---- one step's fields, exposed for the tests ------------------------- */

/* For B samples x (B, C H W) at time t with observations y and side
 * information (mask (B, H W) or NULL, angle (B) or NULL): b (B, D) = the
 * drift and grad (B, D) = grad_x |y - A x0hat(x)|_2 (dps.h).  scratch
 * holds dps_scratch_floats() floats.  0 or ERR_IO. */
int dps_guidance(net *nw, const lin_chain *lc, int C, int H, int W, const float *x,
                 const float *y, const float *mask, const float *angle, double t, int B,
                 float *b, float *grad, float *scratch);
size_t dps_scratch_floats(const net *nw, int C, int H, int W, int B);

#endif
