/* unet.h - the U-Net of the toolkit's image interpolants.
 *
 * With levels = 2, width = {32, 64}, nmid = 2 it is exactly UNet-S of
 * ../shared/bench/torch_ref.py, parameter for parameter and in the same
 * order as PyTorch's named_parameters():
 *
 *   temb: sinusoid(64) -> Linear(64, T) -> SiLU -> Linear(T, T)    (T = 128)
 *   cin:  conv3x3(C + E -> w0)         E: side channels (a mask), may be 0
 *   down, per level l: ResBlock(prev -> w_l), kept as skip s_l;
 *                      conv3x3 stride 2 (w_l -> w_l)
 *   mid:  nmid x ResBlock(w_last -> w_last)
 *   up, per level l from the last: upsample x2, concat(h, s_l),
 *                      ResBlock(. -> w_l)
 *   out:  GroupNorm, SiLU, conv3x3(w0 -> heads C), zero-initialised
 *
 *   ResBlock(i -> o): h = conv3x3(SiLU(GN(x))) + Linear(SiLU(temb));
 *                     y = conv3x3(SiLU(GN(h))) + (i == o ? x : conv1x1(x))
 *
 * Scalar side information (an angle, a JPEG quality; S values) goes
 * through Linear(S, T) -> SiLU -> Linear(T, T) and is added to the time
 * embedding; its parameters follow all of the above.  GroupNorm has
 * `groups` groups (8).  H and W must be divisible by 2^levels.
 *
 * Memory: parameter and gradient arenas as in mlp.h, one activation arena
 * for the largest batch seen; nothing is allocated per step. */
#ifndef UNET_H
#define UNET_H

#include <stddef.h>
#include <stdint.h>

#define UNET_LEVELS_MAX 4
#define UNET_BLOCKS_MAX (2 * UNET_LEVELS_MAX + 8)

/* Profile slots (unet.prof): wall seconds per stage, forward at
 * prof[i], backward at prof[UNET_PROF_N + i].  The stages partition a
 * pass; the kinds break down the ResBlocks and the output head. */
enum {
    UNET_PROF_TEMB,                     /* time (and side) embedding */
    UNET_PROF_CIN,                      /* input convolution */
    UNET_PROF_OUT,                      /* output head (backward: and zeroing) */
    UNET_PROF_BLOCK,                    /* + block index, forward order */
    UNET_PROF_DOWN = UNET_PROF_BLOCK + UNET_BLOCKS_MAX,   /* + level */
    UNET_PROF_UP = UNET_PROF_DOWN + UNET_LEVELS_MAX,      /* + level: upsample, concat */
    UNET_PROF_CONV = UNET_PROF_UP + UNET_LEVELS_MAX,      /* kinds */
    UNET_PROF_GN, UNET_PROF_SILU,       /* forward, the SiLU runs in GN's pass: GN's */
    UNET_PROF_REST,                     /* time projection, sums, zeroing */
    UNET_PROF_N
};

typedef struct {
    int C, H, W;        /* data channels and size */
    int E;              /* side channels appended to the input */
    int S;              /* scalar side values */
    int heads;          /* output channels: heads C (2: drift and denoiser) */
    int levels;         /* resolutions below the full one (1..4) */
    int width[UNET_LEVELS_MAX];
    int nmid;           /* middle ResBlocks (0..8) */
    int temb;           /* time-embedding width T (the sinusoid has 64) */
    int groups;         /* GroupNorm groups; divides every width */
} unet_config;

/* A ResBlock's parameters (views into the arenas) and activations. */
typedef struct {
    int ci, co, H, W;
    float *g1, *be1, *w1, *b1, *wt, *bt, *g2, *be2, *w2, *b2, *ws, *bs;
    float *dg1, *dbe1, *dw1, *db1, *dwt, *dbt, *dg2, *dbe2, *dw2, *db2, *dws, *dbs;
    const float *x;     /* input, kept from the forward pass */
    float *a1, *m1, *r1, *s1, *h, *tp, *a2, *m2, *r2, *s2, *y;
} unet_block;

typedef struct {
    unet_config c;
    size_t nparams;
    float *params, *grads;
    /* the stem */
    float *wt1, *bt1, *wt2, *bt2, *wc, *bc, *gn, *bn, *wo, *bo;
    float *ws1, *bs1, *ws2, *bs2;                 /* scalar embedding */
    float *dwt1, *dbt1, *dwt2, *dbt2, *dwc, *dbc, *dgn, *dbn, *dwo, *dbo;
    float *dws1, *dbs1, *dws2, *dbs2;
    float *wd[UNET_LEVELS_MAX], *bd[UNET_LEVELS_MAX];   /* down convolutions */
    float *dwd[UNET_LEVELS_MAX], *dbd[UNET_LEVELS_MAX];
    int nblocks;
    unet_block blk[UNET_BLOCKS_MAX];    /* down, mid, up, in forward order */
    /* activations */
    int cap;
    float *act;
    float *te0, *te1, *te1s, *te, *se1, *se1s, *ste, *sv, *xin, *h0;
    const float *in;                    /* the input convolution's input */
    float *down[UNET_LEVELS_MAX];       /* after each down convolution */
    float *cat[UNET_LEVELS_MAX];        /* the up path's joins */
    float *on, *om, *orr, *os;          /* output GroupNorm, its SiLU */
    float *nsc, *nsh;                   /* inference: a GroupNorm's scale, shift */
    int infer;                          /* in unet_infer */
    float *g[4];                        /* gradient scratch, largest tensor */
    float *dskip[UNET_LEVELS_MAX], *dste, *dte;
    float *ws;                          /* convolution workspace */
    double *prof;       /* NULL, or 2 UNET_PROF_N seconds to add to (above) */
} unet;

/* The configuration of UNet-S for C channels of H x W. */
unet_config unet_small(int C, int H, int W);

/* The number of parameters of a U-Net of shape c, without allocating
 * them; 0 if the shape is bad (err set, ERR_USAGE). */
size_t unet_param_count(const unet_config *c);
/* Allocate and initialise as PyTorch does (weights and biases uniform in
 * +-1/sqrt(fan_in), GroupNorm 1 and 0), the output convolution zero.
 * 0 or ERR_*. */
int unet_init(unet *u, const unet_config *c, uint64_t seed);
void unet_free(unet *u);

/* out (B, heads C, H, W) = net(x (B, C, H, W), t (B), cond), cond being
 * per sample E H W side-channel values then S scalars (NULL if none). */
int unet_forward(unet *u, float *out, const float *x, const float *cond,
                 const float *t, int B);
/* unet_forward's out, bit for bit, for a forward pass no backward pass
 * follows: the GroupNorms before 3 x 3 convolutions keep only their
 * statistics, and the convolutions normalise as they read (nn.h's
 * nn_conv2d_reads_affine): two passes over memory fewer each. */
int unet_infer(unet *u, float *out, const float *x, const float *cond, const float *t, int B);
/* Add to the gradients those of sum(dout * out) for the last forward
 * (unet_forward's, not unet_infer's). */
void unet_backward(unet *u, const float *dout, int B);
/* The same, and dx (B, C, H, W) = the gradient of sum(dout * out) at the
 * last forward's x (the data channels; not the side inputs or t), which
 * guidance needs (DPS: the network's input-gradient). */
void unet_backward_dx(unet *u, const float *dout, float *dx, int B);

#endif
