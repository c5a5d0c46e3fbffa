/* nn_dump - one training step of the C engine, written out for the PyTorch
 * cross-check (tests/torch/check_mlp.py).
 *
 * Usage: nn-dump DIM COND WIDTH HIDDEN BATCH SEED > step.tz
 * Writes one raw plain record: the inputs (x, cond, t, target), the
 * parameters before (p0), the output, the MSE loss, the gradients, and the
 * parameters after one AdamW step (p1) with lr 1e-2, weight decay 0.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/mlp.h"
#include "nn/nn.h"
#include "nn/opt.h"
#include "base/rng.h"
#include "formats/tz.h"

static void fill(float *x, size_t n, uint32_t stream, double scale)
{
    rng_t r;
    rng_init(&r, 99, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: nn-dump DIM COND WIDTH HIDDEN BATCH SEED\n");
        return 1;
    }
    mlp_config c = { atoi(argv[1]), atoi(argv[2]), 64, atoi(argv[3]), atoi(argv[4]), 1 };
    int B = atoi(argv[5]);
    mlp m;
    if (mlp_init(&m, &c, strtoull(argv[6], NULL, 10)) < 0)
        return 2;
    /* Give the zero output layer values too, so its gradient flows on. */
    fill(m.w[m.nlayers - 1], (size_t)c.dim * (size_t)c.width, 5, 0.05);
    size_t nd = (size_t)B * (size_t)c.dim, nc = (size_t)B * (size_t)c.cond;
    float *x = malloc(4 * nd), *cond = malloc(4 * nc + 4), *t = malloc(4 * (size_t)B);
    float *target = malloc(4 * nd), *out = malloc(4 * nd), *dout = malloc(4 * nd);
    float *p0 = malloc(4 * m.nparams);
    fill(x, nd, 1, 1), fill(cond, nc, 2, 1), fill(target, nd, 3, 1);
    rng_t r;
    rng_init(&r, 99, 4, 0);
    for (int i = 0; i < B; i++)
        t[i] = (float)rng_uniform(&r);
    memcpy(p0, m.params, 4 * m.nparams);
    mlp_forward(&m, out, x, cond, t, B);
    double loss = nn_mse(dout, out, target, nd);
    mlp_zero_grad(&m);
    mlp_backward(&m, dout, B);
    opt_config oc = opt_defaults();
    oc.lr = 1e-2;
    oc.weight_decay = 0.1;
    opt_state os;
    opt_init(&os, &oc, m.nparams, m.params);
    float *grads = malloc(4 * m.nparams);
    memcpy(grads, m.grads, 4 * m.nparams);
    opt_step(&os, &oc, m.params, m.grads);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t dx[2] = { (uint64_t)B, (uint64_t)c.dim }, dc[2] = { (uint64_t)B, (uint64_t)c.cond };
    uint64_t db[1] = { (uint64_t)B }, dp[1] = { m.nparams };
    tz_record_add(&rec, "x", TZ_F32, 2, dx, x);
    tz_record_add(&rec, "cond", TZ_F32, 2, dc, cond);
    tz_record_add(&rec, "t", TZ_F32, 1, db, t);
    tz_record_add(&rec, "target", TZ_F32, 2, dx, target);
    tz_record_add(&rec, "p0", TZ_F32, 1, dp, p0);
    tz_record_add(&rec, "out", TZ_F32, 2, dx, out);
    tz_record_add(&rec, "loss", TZ_F64, 0, NULL, &loss);
    tz_record_add(&rec, "grads", TZ_F32, 1, dp, grads);
    tz_record_add(&rec, "p1", TZ_F32, 1, dp, m.params);
    char buf[64];
    snprintf(buf, sizeof buf, "%d,%d,%d,%d,%d", c.dim, c.cond, c.temb, c.width, c.hidden);
    tz_record_set_attr(&rec, "mlp", buf);
    tz_writer *w = tz_writer_to_file(stdout, 0);
    int rc = tz_write(w, &rec) < 0 || tz_writer_close(w) < 0 ? 3 : 0;
    tz_record_free(&rec);       /* the tensors were borrowed */
    free(x), free(cond), free(t), free(target), free(out), free(dout), free(p0), free(grads);
    opt_free(&os);
    mlp_free(&m);
    return rc;
}
