/* si.h - the stochastic interpolant between clean x0 (t = 0) and
 * observed x1 (t = 1):
 *
 *   x_t = (1 - t) x0 + t x1 + gamma(t) z,   gamma(t) = g t (1 - t),
 *
 * and the regression targets of its drift: b on x1 - x0 + gamma'(t) z,
 * or, for the SDE whose diffusion is gamma(t), the combined drift b + eta
 * on x1 - x0 + gamma'(t) z + z (../shared/research/scsi.md section 2).
 * g = 0 is the ODE case. */
#ifndef SI_H
#define SI_H

#include <stdint.h>

#include "nn/net.h"

typedef struct {
    double g;           /* gamma(t) = g t (1 - t) */
    int combined;       /* regress b + eta instead of b */
    int denoiser;       /* a second head regresses eta = E[z | x_t] on z */
    double dweight;     /* the denoiser's loss weight w (0 taken as 1): its
                         * head regresses sqrt(w) z, so that the noise of
                         * that hard target does not swamp the drift's
                         * gradient in the trunk the two heads share */
} si_interp;

/* sqrt of the denoiser's loss weight: its head's output is this times eta. */
static inline double si_dscale(const si_interp *ip)
{
    return ip->dweight > 0 ? __builtin_sqrt(ip->dweight) : 1.0;
}

/* The network outputs per value: 2 with the denoiser head, else 1. */
static inline int si_heads(const si_interp *ip)
{
    return ip->denoiser ? 2 : 1;
}

double si_gamma(const si_interp *ip, double t);
double si_dgamma(const si_interp *ip, double t);

/* For B samples of D values: xt (B, D) and target (B, heads D: the
 * drift's, then z for the denoiser) from x0, x1, t (B) and z. */
void si_make_batch(const si_interp *ip, const float *x0, const float *x1,
                   const float *t, const float *z, int B, int D, float *xt,
                   float *target);


/* ---- transport --------------------------------------------------------- */

enum { SI_EULER, SI_HEUN };

/* Push x (B, D) from t = 1 to t = 0 in `steps` uniform steps of the
 * learned reverse dynamics, in place.  ODE (g = 0 or !sde): dX = -b dt.
 * SDE with diffusion gamma(t): dX = -c dt + sqrt(2 gamma(t) dt) xi, c the
 * combined drift or b + eta from the two heads, xi keyed by (seed, step,
 * sample first + i).  cond is (B, nw->cond) or NULL.  0 or ERR_IO. */
int si_transport(net *nw, const si_interp *ip, int sde, int method, int steps,
                 float *x, const float *cond, int B, uint64_t seed, uint64_t first);

#endif
