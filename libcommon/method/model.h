/* model.h - a trainable interpolant: the network, its optimiser state and
 * the settings it was made with, saved as one tensor-stream record.
 *
 * A model file alone is enough to resume training or to sample: it holds
 * the parameters, their EMA, AdamW's moments, the step count, and as
 * attributes the architecture, the interpolant, the optimiser settings and
 * the seed.  Training step k draws its batch from rng keys (seed, k), so a
 * run resumed from a file is bit-identical to one that never stopped. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

#include "nn/net.h"
#include "nn/opt.h"
#include "method/si.h"

#define MODEL_NAME_MAX 64

typedef struct {
    net net;
    opt_config oc;
    opt_state os;
    si_interp ip;
    int generative;                 /* x1 is fresh N(0, I), not data */
    uint64_t seed;
    double loss_avg;                /* running average of the loss, or NaN */
    char x0[MODEL_NAME_MAX], x1[MODEL_NAME_MAX];   /* field names */
    char cond[256];                 /* comma-separated side fields, or "" */
} model;

/* Split a comma-separated list of field names (a model's cond, say) into
 * names[], at most max, pointing into buf (cap bytes, the caller's).
 * Returns how many. */
int model_split_names(const char *list, char *buf, size_t cap, const char **names,
                      int max);

/* A new model: network from c and seed, optimiser state zero.  The
 * caller fills the other fields first (the network's heads follow
 * m->ip).  0 or ERR_*. */
int model_create(model *m, const net_config *c);
void model_free(model *m);

/* The U-Net's channels per level from "W1,W2,..." (1 to UNET_LEVELS_MAX
 * counts of 1 to 4096) into u->width and u->levels.  0, or ERR_USAGE
 * with no message stored (u then unchanged but for some widths). */
int model_parse_widths(const char *list, unet_config *u);

/* A copy of a model's trainable state (parameters, AdamW's moments, the
 * EMA), to roll back to after a bad step.  Owned: model_snapshot_free. */
typedef struct {
    float *params, *m, *v, *ema;
} model_snapshot;

/* Allocate s for m's state (the EMA's only if m has one).  0 or ERR_IO
 * (s then holds nothing). */
int model_snapshot_alloc(model_snapshot *s, const model *m);
/* Copy m's state into s. */
void model_snapshot_take(model_snapshot *s, const model *m);
/* Copy s back into m. */
void model_snapshot_restore(const model_snapshot *s, model *m);
void model_snapshot_free(model_snapshot *s);

/* Write m to path atomically ("-": standard output).  0 or ERR_*. */
int model_save(const model *m, const char *path, int level);
/* Read a model file.  0 or ERR_* (message names the file). */
int model_load(model *m, const char *path);

#endif
