/* net.h - the network of an interpolant, whichever architecture: the MLP
 * for vectors (mlp.h) or the U-Net for images (unet.h), behind one call
 * interface, so that training and transport do not care which.
 *
 * Per sample, the network reads dim values of x, cond values of side
 * information (for the U-Net: side channels, then side scalars) and t,
 * and writes heads dim values: the drift, then, with two heads, the
 * denoiser E[z | x_t]. */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/mlp.h"
#include "nn/unet.h"

enum { NET_MLP, NET_UNET };

typedef struct {
    int arch;
    mlp_config mlp;     /* arch NET_MLP */
    unet_config unet;   /* arch NET_UNET */
} net_config;

typedef struct {
    net_config c;
    int dim, cond, heads;
    size_t nparams;
    float *params, *grads;  /* the architecture's arenas */
    mlp m;
    unet u;
} net;

/* The number of parameters of c, without allocating; 0 if c is bad (err
 * set). */
size_t net_param_count(const net_config *c);
int net_init(net *n, const net_config *c, uint64_t seed);
void net_free(net *n);
int net_forward(net *n, float *out, const float *x, const float *cond, const float *t,
                int B);
/* net_forward's out, bit for bit, when no backward pass follows (faster). */
int net_infer(net *n, float *out, const float *x, const float *cond, const float *t, int B);
void net_backward(net *n, const float *dout, int B);
/* net_backward, and dx (B, dim) = the gradient of sum(dout * out) at the
 * last forward's x. */
void net_backward_dx(net *n, const float *dout, float *dx, int B);
void net_zero_grad(net *n);

#endif
