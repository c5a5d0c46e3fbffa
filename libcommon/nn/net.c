/* net.c - one interface over the architectures; see net.h. */
#include <string.h>

#include "base/err.h"
#include "nn/net.h"

size_t net_param_count(const net_config *c)
{
    if (c->arch == NET_MLP)
        return mlp_param_count(&c->mlp);
    if (c->arch == NET_UNET)
        return unet_param_count(&c->unet);
    err_set(ERR_USAGE, "unknown architecture %d", c->arch);
    return 0;
}

int net_init(net *n, const net_config *c, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    n->c = *c;
    int rc;
    if (c->arch == NET_MLP) {
        if ((rc = mlp_init(&n->m, &c->mlp, seed)) < 0)
            return rc;
        n->dim = c->mlp.dim, n->cond = c->mlp.cond;
        n->heads = c->mlp.heads > 1 ? c->mlp.heads : 1;
        n->nparams = n->m.nparams, n->params = n->m.params, n->grads = n->m.grads;
        return 0;
    }
    if (c->arch != NET_UNET)
        return err_set(ERR_USAGE, "unknown architecture %d", c->arch);
    if ((rc = unet_init(&n->u, &c->unet, seed)) < 0)
        return rc;
    const unet_config *u = &c->unet;
    n->dim = u->C * u->H * u->W, n->cond = u->E * u->H * u->W + u->S, n->heads = u->heads;
    n->nparams = n->u.nparams, n->params = n->u.params, n->grads = n->u.grads;
    return 0;
}

void net_free(net *n)
{
    if (n->c.arch == NET_MLP)
        mlp_free(&n->m);
    else
        unet_free(&n->u);
    memset(n, 0, sizeof *n);
}

int net_forward(net *n, float *out, const float *x, const float *cond, const float *t,
                int B)
{
    return n->c.arch == NET_MLP ? mlp_forward(&n->m, out, x, cond, t, B)
                                : unet_forward(&n->u, out, x, cond, t, B);
}

int net_infer(net *n, float *out, const float *x, const float *cond, const float *t, int B)
{
    return n->c.arch == NET_MLP ? mlp_forward(&n->m, out, x, cond, t, B)
                                : unet_infer(&n->u, out, x, cond, t, B);
}

void net_backward(net *n, const float *dout, int B)
{
    if (n->c.arch == NET_MLP)
        mlp_backward(&n->m, dout, B);
    else
        unet_backward(&n->u, dout, B);
}

void net_backward_dx(net *n, const float *dout, float *dx, int B)
{
    if (n->c.arch == NET_MLP)
        mlp_backward_dx(&n->m, dout, dx, B);
    else
        unet_backward_dx(&n->u, dout, dx, B);
}

void net_zero_grad(net *n)
{
    memset(n->grads, 0, sizeof(float) * n->nparams);
}
