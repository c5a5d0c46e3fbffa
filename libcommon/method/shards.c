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

int shards_edge(const shards *s, int j)
{
    return (int)((int64_t)s->B * j / s->S);
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

int shards_init(shards *s, const shards_comm *c, int S, int B, const model *m, int dc)
{
    memset(s, 0, sizeof *s);
    if (S < 1 || S > B || S > SHARDS_MAX)
        return err_set(ERR_USAGE, "--shards must be 1 to the batch size (%d) and at most "
                       "%d; got %d", B, SHARDS_MAX, S);
    if (c->ranks > S)
        return err_set(ERR_USAGE, "%d processes share %d shards: give --shards at least the "
                       "number of processes", c->ranks, S);
    s->comm = *c;
    s->S = S, s->B = B;
    s->first = (int)((int64_t)S * c->rank / c->ranks);
    s->last = (int)((int64_t)S * (c->rank + 1) / c->ranks);
    s->D = m->net.dim, s->HD = m->net.heads * m->net.dim, s->dc = dc;
    s->nparams = m->net.nparams;
    /* whole doubles, so that the next node's sse is aligned */
    size_t bytes = sizeof(node) + sizeof(float) * s->nparams;
    s->node_bytes = (bytes + sizeof(double) - 1) / sizeof(double) * sizeof(double);
    size_t most = (size_t)((B + S - 1) / S);
    s->nodes = mem_alloc_array((size_t)(s->last - s->first + 1), s->node_bytes);
    s->xt = mem_alloc_array(most * (size_t)s->D, sizeof(float));
    s->target = mem_alloc_array(most * (size_t)s->HD, sizeof(float));
    s->out = mem_alloc_array(most * (size_t)s->HD, sizeof(float));
    s->dout = mem_alloc_array(most * (size_t)s->HD, sizeof(float));
    if (!s->nodes || !s->xt || !s->target || !s->out || !s->dout) {
        shards_free(s);
        return err_code();
    }
    return 0;
}

void shards_free(shards *s)
{
    free(s->nodes), free(s->xt), free(s->target), free(s->out), free(s->dout);
    memset(s, 0, sizeof *s);
}

/* Shard j's loss and gradient into its node. */
static int one_shard(shards *s, model *m, const pairs_batch *b, int j)
{
    int i0 = shards_edge(s, j), n = shards_edge(s, j + 1) - i0;
    size_t x0 = (size_t)i0 * (size_t)s->D;
    si_make_batch(&m->ip, b->x0 + x0, b->x1 + x0, b->t + i0, b->z + x0, n, s->D, s->xt,
                  s->target);
    const float *cond = s->dc ? b->cond + (size_t)i0 * (size_t)s->dc : NULL;
    if (net_forward(&m->net, s->out, s->xt, cond, b->t + i0, n) < 0)
        return err_code();
    node *nd = node_of(s, j);
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
