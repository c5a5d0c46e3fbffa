/* mlp.h - the MLP of the toolkit's vector interpolants (MLP-2D, MLP-784 of
 * ../shared/bench/torch_ref.py): [x ++ cond ++ temb(t)] -> width -> ... ->
 * width -> dim, SiLU between layers, the output layer zero-initialised so
 * that an untrained drift is zero (an untrained transport, the identity).
 *
 * Memory lives in arenas: one for the parameters, one for their gradients
 * (the same layout, so an optimiser walks both as flat arrays), one for the
 * activations of the largest batch seen.  Nothing is allocated per step. */
#ifndef MLP_H
#define MLP_H

#include <stddef.h>
#include <stdint.h>

#define MLP_LAYERS_MAX 16

typedef struct {
    int dim;        /* data dimension, in and out */
    int cond;       /* conditioning inputs (side information), may be 0 */
    int temb;       /* width of the sinusoidal time embedding (even) */
    int width;      /* hidden width */
    int hidden;     /* number of hidden layers (>= 1) */
    int heads;      /* outputs: heads dim (0 or 1: the drift; 2: and a denoiser) */
} mlp_config;

typedef struct {
    mlp_config c;
    int nlayers;                        /* hidden + 1 */
    int fan_in[MLP_LAYERS_MAX], fan_out[MLP_LAYERS_MAX];
    size_t nparams;
    float *params, *grads;              /* arenas, nparams each */
    float *w[MLP_LAYERS_MAX], *b[MLP_LAYERS_MAX];     /* views into params */
    float *dw[MLP_LAYERS_MAX], *db[MLP_LAYERS_MAX];   /* views into grads */
    int cap;                            /* batch the activations fit */
    float *act;                         /* activation arena */
    float *in;                          /* (B, dim + cond + temb) */
    float *pre[MLP_LAYERS_MAX];         /* (B, fan_out): before SiLU */
    float *post[MLP_LAYERS_MAX];        /* (B, fan_out): after SiLU */
    float *d1, *d2;                     /* (B, max width) gradient scratch */
} mlp;

/* The number of parameters of an MLP of shape c, without allocating
 * them; 0 if the shape is bad (err set, ERR_USAGE). */
size_t mlp_param_count(const mlp_config *c);
/* Allocate and initialise as PyTorch's nn.Linear does (weights and biases
 * uniform in +-1/sqrt(fan_in), drawn from seed), but the last layer zero.
 * 0 or ERR_*. */
int mlp_init(mlp *m, const mlp_config *c, uint64_t seed);
void mlp_free(mlp *m);

/* out (B, heads dim) = net(x (B, dim), cond (B, cond) or NULL, t (B)).  Keeps
 * the activations for mlp_backward.  0 or ERR_IO (out of memory). */
int mlp_forward(mlp *m, float *out, const float *x, const float *cond,
                const float *t, int B);
/* Add to the gradients those of sum(dout * out) for the last forward. */
void mlp_backward(mlp *m, const float *dout, int B);
/* The same, and dx (B, dim) = the gradient of sum(dout * out) at the last
 * forward's x (not cond or t). */
void mlp_backward_dx(mlp *m, const float *dout, float *dx, int B);
void mlp_zero_grad(mlp *m);

#endif
