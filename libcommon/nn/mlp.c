/* mlp.c - the MLP of the vector interpolants; see mlp.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "nn/mlp.h"
#include "nn/nn.h"
#include "base/rng.h"

enum { MLP_RNG_INIT = 0x4d4c0001 };

size_t mlp_param_count(const mlp_config *c)
{
    if (c->dim < 1 || c->cond < 0 || c->temb < 2 || c->temb % 2 || c->width < 1 ||
        c->hidden < 1 || c->hidden + 1 > MLP_LAYERS_MAX || c->heads < 0 || c->heads > 2) {
        err_set(ERR_USAGE, "MLP: bad shape (dim %d, cond %d, temb %d, width %d, hidden %d)",
                c->dim, c->cond, c->temb, c->width, c->hidden);
        return 0;
    }
    size_t in = (size_t)c->dim + (size_t)c->cond + (size_t)c->temb, w = (size_t)c->width;
    size_t out = (size_t)c->dim * (size_t)(c->heads > 1 ? c->heads : 1);
    return in * w + w + (size_t)(c->hidden - 1) * (w * w + w) + w * out + out;
}

int mlp_init(mlp *m, const mlp_config *c, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    size_t n = mlp_param_count(c);
    if (!n)
        return ERR_USAGE;
    m->c = *c;
    m->nlayers = c->hidden + 1;
    for (int l = 0; l < m->nlayers; l++) {
        m->fan_in[l] = l == 0 ? c->dim + c->cond + c->temb : c->width;
        m->fan_out[l] = l == m->nlayers - 1 ? c->dim * (c->heads > 1 ? c->heads : 1) : c->width;
    }
    m->nparams = n;
    m->params = mem_alloc_array(n, sizeof(float));
    m->grads = mem_calloc_array(n, sizeof(float));
    if (!m->params || !m->grads) {
        mlp_free(m);
        return ERR_IO;
    }
    /* Parameters layer by layer: weight (out, in), then bias (out). */
    float *p = m->params, *g = m->grads;
    rng_t r;
    for (int l = 0; l < m->nlayers; l++) {
        size_t nw = (size_t)m->fan_in[l] * (size_t)m->fan_out[l];
        m->w[l] = p, m->dw[l] = g;
        m->b[l] = p + nw, m->db[l] = g + nw;
        double bound = 1.0 / sqrt((double)m->fan_in[l]);
        int last = l == m->nlayers - 1;
        rng_init(&r, seed, MLP_RNG_INIT + (uint32_t)l, 0);
        for (size_t i = 0; i < nw + (size_t)m->fan_out[l]; i++)
            p[i] = last ? 0.0f : (float)(bound * (2 * rng_uniform(&r) - 1));
        p += nw + (size_t)m->fan_out[l];
        g += nw + (size_t)m->fan_out[l];
    }
    return 0;
}

void mlp_free(mlp *m)
{
    free(m->params);
    free(m->grads);
    free(m->act);
    memset(m, 0, sizeof *m);
}

void mlp_zero_grad(mlp *m)
{
    memset(m->grads, 0, sizeof(float) * m->nparams);
}

/* Lay out the activation arena for batches up to B. */
static int reserve(mlp *m, int B)
{
    if (B <= m->cap)
        return 0;
    size_t in = (size_t)(m->c.dim + m->c.cond + m->c.temb), wmax = (size_t)m->c.width;
    if (in > wmax)
        wmax = in;
    if ((size_t)m->fan_out[m->nlayers - 1] > wmax)
        wmax = (size_t)m->fan_out[m->nlayers - 1];
    size_t total = in;
    for (int l = 0; l < m->nlayers; l++)
        total += 2 * (size_t)m->fan_out[l];
    total += 2 * wmax;
    float *a = mem_alloc_array((size_t)B * total, sizeof(float));
    if (!a)
        return ERR_IO;
    free(m->act);
    m->act = a;
    m->cap = B;
    m->in = a, a += (size_t)B * in;
    for (int l = 0; l < m->nlayers; l++) {
        m->pre[l] = a, a += (size_t)B * (size_t)m->fan_out[l];
        m->post[l] = a, a += (size_t)B * (size_t)m->fan_out[l];
    }
    m->d1 = a, a += (size_t)B * wmax;
    m->d2 = a;
    return 0;
}

int mlp_forward(mlp *m, float *out, const float *x, const float *cond,
                const float *t, int B)
{
    if (reserve(m, B) < 0)
        return ERR_IO;
    const mlp_config *c = &m->c;
    int in = c->dim + c->cond + c->temb;
    /* The input row: x, then cond, then the time embedding (made for the
     * whole batch at once in d1, free until the backward pass). */
    nn_temb_forward(m->d1, t, B, c->temb);
    for (int i = 0; i < B; i++) {
        float *row = m->in + (size_t)i * (size_t)in;
        memcpy(row, x + (size_t)i * (size_t)c->dim, sizeof(float) * (size_t)c->dim);
        if (c->cond)
            memcpy(row + c->dim, cond + (size_t)i * (size_t)c->cond,
                   sizeof(float) * (size_t)c->cond);
        memcpy(row + c->dim + c->cond, m->d1 + (size_t)i * (size_t)c->temb,
               sizeof(float) * (size_t)c->temb);
    }
    const float *h = m->in;
    for (int l = 0; l < m->nlayers; l++) {
        int last = l == m->nlayers - 1;
        float *z = last ? out : m->pre[l];
        nn_linear_forward(z, h, m->w[l], m->b[l], B, m->fan_in[l], m->fan_out[l]);
        if (!last) {
            nn_silu_forward(m->post[l], z, (size_t)B * (size_t)m->fan_out[l]);
            h = m->post[l];
        }
    }
    return 0;
}

/* dx: NULL, or the gradient at x, set. */
static void backward(mlp *m, const float *dout, float *dx, int B)
{
    /* g is the gradient at layer l's output.  The linear backward puts the
     * gradient at its input in d1; the SiLU before it takes that to d2,
     * which is the next g.  d2 may be overwritten then: the linear
     * backward that read it has finished. */
    const float *g = dout;
    for (int l = m->nlayers - 1; l >= 0; l--) {
        const float *in = l == 0 ? m->in : m->post[l - 1];
        float *din = l == 0 && !dx ? NULL : m->d1;  /* d1 holds an input row too */
        if (din)
            memset(din, 0, sizeof(float) * (size_t)B * (size_t)m->fan_in[l]);
        nn_linear_backward(din, m->dw[l], m->db[l], g, in, m->w[l], B, m->fan_in[l],
                           m->fan_out[l]);
        if (l == 0) {
            int in0 = m->fan_in[0], D = m->c.dim;
            if (dx)         /* x is the first dim values of each input row */
                for (int i = 0; i < B; i++)
                    memcpy(dx + (size_t)i * (size_t)D, m->d1 + (size_t)i * (size_t)in0,
                           sizeof(float) * (size_t)D);
            break;
        }
        size_t n = (size_t)B * (size_t)m->fan_out[l - 1];
        nn_silu_backward(m->d2, m->d1, m->pre[l - 1], m->post[l - 1], n);
        g = m->d2;
    }
}

void mlp_backward(mlp *m, const float *dout, int B)
{
    backward(m, dout, NULL, B);
}

void mlp_backward_dx(mlp *m, const float *dout, float *dx, int B)
{
    backward(m, dout, dx, B);
}
