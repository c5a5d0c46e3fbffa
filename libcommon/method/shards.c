/* shards.c - a training step in shards; see shards.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/shards.h"
#include "nn/nn.h"

/* A shard's partial sum, as it travels between processes: the sum of
 * squared errors, then the gradient. */
typedef struct {
    double sse;
    float grad[];
} node;

shards_comm shards_solo(void)
{
    shards_comm c = { .rank = 0, .ranks = 1 };
    return c;
}

/* The process holding shard j: the last r whose first shard, S r / R
 * rounded down, is at most j. */
static int owner(const shards *s, int j)
{
    return (int)((((int64_t)j + 1) * s->comm.ranks - 1) / s->S);
}

/* Shard j's partial sum (j = s->last: the spare, to receive into). */
static node *node_of(const shards *s, int j)
{
    return (node *)(s->nodes + (size_t)(j - s->first) * s->node_bytes);
}

int shards_part(int S, int B, const shards_comm *c, pairs_part *part)
{
    if (S < 1 || S > B || S > SHARDS_MAX)
        return err_set(ERR_USAGE, "--shards must be 1 to the batch size (%d) and at most "
                       "%d; got %d", B, SHARDS_MAX, S);
    if (c->ranks > S)
        return err_set(ERR_USAGE, "%d processes share %d shards: give --shards at least the "
                       "number of processes", c->ranks, S);
    part->S = S;
    part->first = (int)((int64_t)S * c->rank / c->ranks);
    part->last = (int)((int64_t)S * (c->rank + 1) / c->ranks);
    return 0;
}

int shards_init(shards *s, const shards_comm *c, int S, int B, const model *m, int dc)
{
    memset(s, 0, sizeof *s);
    pairs_part part = { 0, 0, 0 };
    int rc = shards_part(S, B, c, &part);
    if (rc < 0)
        return rc;
    s->comm = *c;
    s->S = S, s->B = B;
    s->first = part.first, s->last = part.last;
    s->D = m->net.dim, s->HD = m->net.heads * m->net.dim, s->dc = dc;
    s->nparams = m->net.nparams;
    /* whole doubles, so that the next node's sse is aligned */
    size_t bytes = sizeof(node) + sizeof(float) * s->nparams;
    s->node_bytes = (bytes + sizeof(double) - 1) / sizeof(double) * sizeof(double);
    size_t nb = (size_t)B, nd = nb * (size_t)s->D, nh = nb * (size_t)s->HD;
    s->nodes = mem_alloc_array((size_t)(s->last - s->first + 1), s->node_bytes);
    /* gathered shards: only when there is more than one */
    size_t ng = S > 1 ? nb : 0;
    s->x0 = mem_alloc_array(ng * (size_t)s->D + 1, sizeof(float));
    s->x1 = mem_alloc_array(ng * (size_t)s->D + 1, sizeof(float));
    s->z = mem_alloc_array(ng * (size_t)s->D + 1, sizeof(float));
    s->cond = mem_alloc_array(ng * (size_t)(dc + 1) + 1, sizeof(float));
    s->t = mem_alloc_array(ng + 1, sizeof(float));
    s->xt = mem_alloc_array(nd, sizeof(float));
    s->target = mem_alloc_array(nh, sizeof(float));
    s->out = mem_alloc_array(nh, sizeof(float));
    s->dout = mem_alloc_array(nh, sizeof(float));
    if (!s->nodes || !s->x0 || !s->x1 || !s->z || !s->cond || !s->t || !s->xt || !s->target ||
        !s->out || !s->dout) {
        shards_free(s);
        return err_code();
    }
    return 0;
}

void shards_free(shards *s)
{
    free(s->nodes), free(s->x0), free(s->x1), free(s->z), free(s->cond), free(s->t);
    free(s->xt), free(s->target), free(s->out), free(s->dout);
    memset(s, 0, sizeof *s);
}

/* Shard j's samples of b, in batch order, gathered into s; their count. */
static int gather(shards *s, const pairs_batch *b, int j)
{
    size_t D = (size_t)s->D, dc = (size_t)s->dc;
    int n = 0;
    for (int i = 0; i < s->B; i++) {
        if (b->row[i] % (uint64_t)s->S != (uint64_t)j)
            continue;
        memcpy(s->x0 + n * D, b->x0 + i * D, sizeof(float) * D);
        memcpy(s->x1 + n * D, b->x1 + i * D, sizeof(float) * D);
        memcpy(s->z + n * D, b->z + i * D, sizeof(float) * D);
        memcpy(s->cond + n * dc, b->cond + i * dc, sizeof(float) * dc);
        s->t[n++] = b->t[i];
    }
    return n;
}

/* Shard j's loss and gradient into its node. */
static int one_shard(shards *s, model *m, const pairs_batch *b, int j)
{
    node *nd = node_of(s, j);
    /* one shard is the whole batch, in order: no copy of it */
    const float *x0 = b->x0, *x1 = b->x1, *z = b->z, *cond = b->cond, *t = b->t;
    int n = s->B;
    if (s->S > 1) {
        n = gather(s, b, j);
        x0 = s->x0, x1 = s->x1, z = s->z, cond = s->cond, t = s->t;
    }
    if (!n) {   /* no sample drawn from its places: it adds nothing */
        nd->sse = 0;
        memset(nd->grad, 0, sizeof(float) * s->nparams);
        return 0;
    }
    si_make_batch(&m->ip, x0, x1, t, z, n, s->D, s->xt, s->target);
    if (net_forward(&m->net, s->out, s->xt, s->dc ? cond : NULL, t, n) < 0)
        return err_code();
    nd->sse = nn_sse(s->dout, s->out, s->target, (size_t)n * (size_t)s->HD,
                     (size_t)s->B * (size_t)s->HD);
    net_zero_grad(&m->net);
    net_backward(&m->net, s->dout, n);
    memcpy(nd->grad, m->net.grads, sizeof(float) * s->nparams);
    return 0;
}

static void add(const shards *s, node *to, const node *from)
{
    to->sse += from->sse;
    nn_add(to->grad, from->grad, s->nparams);
}

int shards_gradient(shards *s, model *m, const pairs_batch *b, double *loss)
{
    int rc, me = s->comm.rank;
    for (int j = s->first; j < s->last; j++)
        if ((rc = one_shard(s, m, b, j)) < 0)
            return rc;
    /* The tree, each process doing its part of it in the one order of
     * (h, i): a sequence of exchanges that every process follows in the
     * same order cannot deadlock, since the first one not yet done always
     * has both its processes at it. */
    node *spare = node_of(s, s->last);
    for (int h = 1; h < s->S; h *= 2)
        for (int i = 0; i + h < s->S; i += 2 * h) {
            int j = i + h, oi = owner(s, i), oj = owner(s, j);
            if (oi == me && oj == me) {
                add(s, node_of(s, i), node_of(s, j));
            } else if (oj == me) {
                if ((rc = s->comm.send(s->comm.ctx, node_of(s, j), s->node_bytes, oi, j)) < 0)
                    return rc;
            } else if (oi == me) {
                if ((rc = s->comm.recv(s->comm.ctx, spare, s->node_bytes, oj, j)) < 0)
                    return rc;
                add(s, node_of(s, i), spare);
            }
        }
    node *sum = me == 0 ? node_of(s, 0) : spare;
    if (s->comm.ranks > 1 &&
        (rc = s->comm.bcast(s->comm.ctx, sum, s->node_bytes, 0)) < 0)
        return rc;
    memcpy(m->net.grads, sum->grad, sizeof(float) * s->nparams);
    *loss = sum->sse / ((double)s->B * (double)s->HD);
    return 0;
}
