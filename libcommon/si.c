/* si.c - the stochastic interpolant; see si.h. */
#include <stddef.h>

#include "si.h"

double si_gamma(const si_interp *ip, double t)
{
    return ip->g * t * (1 - t);
}

double si_dgamma(const si_interp *ip, double t)
{
    return ip->g * (1 - 2 * t);
}

void si_make_batch(const si_interp *ip, const float *x0, const float *x1,
                   const float *t, const float *z, int B, int D, float *xt,
                   float *target)
{
    for (int i = 0; i < B; i++) {
        float ti = t[i], gm = (float)si_gamma(ip, ti), dg = (float)si_dgamma(ip, ti);
        float zc = ip->combined ? 1.0f : 0.0f;
        for (int j = 0; j < D; j++) {
            size_t k = (size_t)i * (size_t)D + (size_t)j;
            xt[k] = (1 - ti) * x0[k] + ti * x1[k] + gm * z[k];
            target[k] = x1[k] - x0[k] + (dg + zc) * z[k];
        }
    }
}
