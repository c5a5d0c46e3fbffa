/* cnn.h - the image classifier whose penultimate layer is fid's learned
 * feature map (issue 15):
 *
 *   conv3x3 stride s_1 (C -> w_1), SiLU, ..., conv3x3 stride s_L
 *   (w_{L-1} -> w_L), SiLU          (zero padding 1)
 *   flatten (w_L Ho Wo) -> Linear(F), SiLU     = the features
 *   Linear(F -> K)                             = the logits
 *
 * cnn_small is widths 32,64,64, strides 1,2,2, F = 128, K = 10: for
 * 28 x 28 images a 64 x 7 x 7 map.  The map is flattened, not averaged:
 * on Fashion-MNIST the net with global average pooling reached 66% test
 * accuracy after 400 steps of 128 where the flattened one reached 87%
 * (the same steps in PyTorch); the shapes of garments are where they are.
 *
 * Parameters are in PyTorch's registration order for a module holding
 * the convolutions, then the two Linears: each layer's weight (out, in
 * [, 3, 3]) then its bias.  Memory: parameter and gradient arenas (mlp.h),
 * one activation arena for the largest batch seen; nothing is allocated
 * per step. */
#ifndef CNN_H
#define CNN_H

#include <stddef.h>
#include <stdint.h>

#define CNN_CONV_MAX 8

typedef struct {
    int C, H, W;                        /* input channels and size */
    int nconv;                          /* convolutions, 1..CNN_CONV_MAX */
    int width[CNN_CONV_MAX];            /* output channels of each */
    int stride[CNN_CONV_MAX];           /* 1 or 2 */
    int features;                       /* F: the penultimate layer's width */
    int classes;                        /* K */
} cnn_config;

typedef struct {
    cnn_config c;
    int side_h[CNN_CONV_MAX + 1], side_w[CNN_CONV_MAX + 1];  /* input of conv l; [nconv]: last map */
    int flat;                           /* values per sample of the last map */
    size_t nparams;
    float *params, *grads;              /* arenas, nparams each */
    float *wc[CNN_CONV_MAX], *bc[CNN_CONV_MAX], *wf, *bf, *wo, *bo;  /* views into params */
    float *dwc[CNN_CONV_MAX], *dbc[CNN_CONV_MAX], *dwf, *dbf, *dwo, *dbo;
    int cap;                            /* batch the activations fit */
    float *act;                         /* activation arena */
    const float *x;                     /* the last forward's input (borrowed) */
    float *pre[CNN_CONV_MAX], *post[CNN_CONV_MAX];  /* each convolution's output, its SiLU */
    float *fpre, *fpost;                /* (B, F): before and after SiLU */
    float *g[2];                        /* gradient scratch, the largest map */
    float *ws;                          /* convolution workspace */
} cnn;

/* The default classifier of C x H x W images into K classes (above). */
cnn_config cnn_small(int C, int H, int W, int K);

/* The number of parameters of a classifier of shape c, without
 * allocating them; 0 if the shape is bad (err set, ERR_USAGE). */
size_t cnn_param_count(const cnn_config *c);
/* Allocate and initialise as PyTorch's Conv2d and Linear do: weights and
 * biases uniform in +-1/sqrt(fan_in), drawn from seed.  0 or ERR_*. */
int cnn_init(cnn *n, const cnn_config *c, uint64_t seed);
void cnn_free(cnn *n);

/* logits (B, K) of x (B, C, H, W); keeps the activations for
 * cnn_backward, and the features (B, F) in n->fpost.  0 or ERR_IO. */
int cnn_forward(cnn *n, float *logits, const float *x, int B);
/* feat (B, F) of x: the forward pass up to the penultimate layer, the
 * last Linear skipped; feat may be NULL (the features then are in
 * n->fpost alone).  0 or ERR_IO. */
int cnn_features(cnn *n, float *feat, const float *x, int B);
/* Add to the gradients those of sum(dlogits * logits) for the last
 * cnn_forward. */
void cnn_backward(cnn *n, const float *dlogits, int B);
void cnn_zero_grad(cnn *n);

#endif
