/* shards.h - a training step's loss and gradient computed in shards, so
 * that several processes can share the step and still give the bytes of
 * one.
 *
 * The batch of a step (B samples, pairs_draw) is cut into S shards by
 * the samples' places in the data set: shard j holds, in batch order, the
 * samples drawn from places i with i mod S = j (none, some or all of the
 * batch).  So the process computing shard j needs only those samples of
 * the data set (pairs_part), and a process holding shards [first, last)
 * holds a fraction (last - first) / S of the data.  Each shard's loss
 * (its sum of squared errors, in double) and gradient (of the mean
 * squared error over the whole batch, nn_sse, so that the shards'
 * gradients add up to the batch's) are computed apart, an empty shard's
 * as zeros, then combined by one fixed pairwise tree: at strides h = 1,
 * 2, 4, ... below S, shard i, a multiple of 2h, adds shard i + h to
 * itself when there is one; shard 0 ends with the sum.
 *
 * Why the bytes depend on B and S alone:
 *   - a shard is the same computation wherever it runs: the same samples
 *     (every process draws the whole batch, keyed by the step, and holds
 *     the values of its shards' samples), the same network and sizes, and
 *     the engine's sums do not depend on the thread count (nn.h);
 *   - the tree is the same additions in the same order wherever their
 *     operands were made: floating-point addition is not associative,
 *     so the order is fixed here and not left to a reduction whose order
 *     is unspecified (MPI_Allreduce's);
 *   - the sum reaches every process by a broadcast, a copy, and each
 *     then takes the same optimiser step on the same bytes.
 * So process r of R computes shards [S r / R, S (r+1) / R) and sends
 * each partial sum that the tree adds elsewhere to the process that holds
 * its partner.  With S = 1 the step is si-train's without shards, bit
 * for bit.
 *
 * The messages go through a shards_comm: MPI's in si-train-mpi
 * (mpi/ranks.h), none in one process (shards_solo). */
#ifndef SHARDS_H
#define SHARDS_H

#include <stddef.h>

#include "method/model.h"
#include "method/pairs.h"

/* The processes sharing the shards, and how to reach them.  Each call
 * returns 0 or an ERR_* with the message set. */
typedef struct {
    int rank, ranks;
    void *ctx;              /* the transport's own, passed back */
    /* bytes to process `to`, or from process `from`; tag: the shard whose
     * partial sum travels */
    int (*send)(void *ctx, const void *buf, size_t bytes, int to, int tag);
    int (*recv)(void *ctx, void *buf, size_t bytes, int from, int tag);
    /* buf of process root copied into buf of every other */
    int (*bcast)(void *ctx, void *buf, size_t bytes, int root);
} shards_comm;

/* One process: rank 0 of 1, nothing to send. */
shards_comm shards_solo(void);

enum { SHARDS_MAX = 4096 };

typedef struct {
    shards_comm comm;
    int S, B;               /* shards, samples per step */
    int first, last;        /* this process's shards [first, last) */
    int D, HD, dc;          /* values per sample: x, the outputs, side */
    size_t nparams;
    size_t node_bytes;      /* a shard's partial sum: its loss, its gradient */
    unsigned char *nodes;   /* owned: shards first..last-1, then a spare */
    /* owned, B samples each (a shard may hold the whole batch): a shard's
     * samples gathered (none with S = 1: the batch itself is the shard),
     * and the network's input, target and outputs */
    float *x0, *x1, *z, *cond, *t;
    float *xt, *target, *out, *dout;
} shards;

/* The part of the data set that process c->rank of c->ranks needs for
 * steps of B samples in S shards: the places whose residue mod S is
 * among its shards.  0; ERR_USAGE if S is outside 1..min(B, SHARDS_MAX)
 * or the processes outnumber the shards. */
int shards_part(int S, int B, const shards_comm *c, pairs_part *part);

/* Set s up for steps of B samples in S shards of m's training on data
 * with dc side values per sample, shared by the processes of c (copied).
 * 0; shards_part's ERR_USAGE; ERR_IO if out of memory (s then holds
 * nothing). */
int shards_init(shards *s, const shards_comm *c, int S, int B, const model *m, int dc);
void shards_free(shards *s);

/* The step's batch b through m's network, shard by shard, and the tree
 * (b's samples of this process's shards must be filled: pairs_draw from
 * the part shards_part gave):
 * on every process, m->net.grads = the gradient of the batch's mean
 * squared error, and *loss = that error.  0, or ERR_IO (out of memory in
 * the network, or the comm's error). */
int shards_gradient(shards *s, model *m, const pairs_batch *b, double *loss);

#endif
