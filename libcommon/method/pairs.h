/* pairs.h - a training set of coupled records held in memory: the clean
 * side x0, the observation side x1 (none for a generative model), the side
 * fields, and for SCSI's mixing the real observation and its side fields.
 *
 * The whole input is the data set (the shuffle buffer): training step k
 * draws its batch uniformly from it with rng keys (model seed, k), so a
 * run resumed from its model file gives the same bytes as one that never
 * stopped.
 *
 * A process that shares the steps with others (shards.h) holds only a
 * part of the input: the samples whose place in it, modulo S, lies in
 * [first, last).  It still draws every sample of every batch, from the
 * whole input, so the draws are the same in every process; it copies the
 * values of those it holds, which are the only ones it computes. */
#ifndef PAIRS_H
#define PAIRS_H

#include <stdint.h>

#include "formats/batch.h"
#include "method/model.h"

/* Which samples a process holds: those at places i of the input with
 * first <= i mod S < last.  {1, 0, 1}: all of them. */
typedef struct {
    int S, first, last;
} pairs_part;

typedef struct {
    batch_acc acc;          /* fields x0 [, x1] [, cond...] [, real [, rcond...]]:
                             * the samples held, in input order */
    uint64_t n;             /* samples held */
    uint64_t total;         /* samples of the whole input: what is drawn from */
    pairs_part part;
    int d, dc;              /* values per sample of x0 (and x1); of cond */
    int ncond;              /* cond fields */
    int real;               /* index in acc of the real observation field, or -1 */
    int side_channels;      /* of the cond fields' values: image channels */
    int rcond;              /* index in acc of the real pairs' side fields, or -1 */
    double alpha;           /* per sample drawn: x1 simulated with this probability */
} pairs;

/* Read every batch record of files (nfiles of them; none: standard input)
 * into p, keeping the samples of part (NULL: all): m's fields x0, x1
 * unless m->generative, m->cond; with alpha < 1 also the real observation
 * field `real`, and, if real_prefix is given, the real pairs' side fields
 * real_prefix + each cond name.  Every field must be an f32 batch, of one
 * shape throughout, x1 and real of x0's values per sample, each real side
 * field of its cond field's.  The input must hold at least part->S
 * samples, so that every process holds some.  0, or ERR_DATA / ERR_IO
 * with the message naming the file and record (p then holds nothing).  On
 * success the caller frees p with pairs_free. */
int pairs_load(pairs *p, const model *m, char *const *files, int nfiles, double alpha,
               const char *real, const char *real_prefix, const pairs_part *part);
void pairs_free(pairs *p);

/* The architecture options of a new model: -1 or NULL for the default. */
typedef struct {
    const char *arch;       /* "mlp" or "unet"; NULL: unet for x0 of images
                             * (N, C, H, W) or signals (N, C, L), else mlp */
    int width, hidden;      /* MLP: hidden width (256), layers (3) */
    const char *widths;     /* U-Net: channels per level "W1,W2,..." (UNet-S) */
    int mid, groups;        /* U-Net: middle ResBlocks (2), GroupNorm groups (8) */
    int temb;               /* time-embedding width (64 MLP, 128 U-Net) */
} pairs_arch;

/* Create m's network (model_create) for the data of p: the MLP or the
 * U-Net a asks for, its input sizes from the data.  The caller fills m's
 * other settings first.  For the U-Net the side fields that are images of
 * x0's size (signals of its length) go before the others, in p and in
 * m->cond, keeping the order within each kind.  0, or ERR_DATA (a U-Net on
 * data neither images nor signals), ERR_USAGE (a.widths malformed), or
 * model_create's ERR_*. */
int pairs_new_model(pairs *p, model *m, const pairs_arch *a);

/* A batch as drawn: x0, x1, z (B, d), cond (B, dc + 1), t (B), and each
 * sample's place in the whole input, row (B).  Owned. */
typedef struct {
    float *x0, *x1, *cond, *t, *z;
    uint64_t *row;
} pairs_batch;

/* Allocate b for B samples of p.  0 or ERR_IO (b then holds nothing). */
int pairs_batch_alloc(pairs_batch *b, const pairs *p, int B);
void pairs_batch_free(pairs_batch *b);

/* Fill b with the B samples of training step k of model m: each a
 * uniform draw from the whole input, x1 the real observation with
 * probability 1 - p->alpha (fresh N(0, I) for a generative model), t
 * uniform on [0, 1), and z N(0, I) if m's interpolant uses it, else 0;
 * every draw from rng keys (m->seed, k).  The values of a sample p does
 * not hold are left as they were (its row, t and z are set). */
void pairs_draw(const pairs *p, const model *m, uint64_t k, int B, pairs_batch *b);

#endif
