/* cnn_dump - one training step of the C classifier, written out for the
 * PyTorch cross-check (tests/torch/check_cnn.py).
 *
 * Usage: cnn-dump C H W W1,W2,.. S1,S2,.. F K BATCH SEED > step.tz
 * Writes one raw plain record: the images x (B, C, H, W) and their labels
 * (B, i32), the parameters before (p0), the logits, the features (the
 * penultimate layer, by cnn_features), the mean softmax cross-entropy
 * loss, the gradients, and the parameters after one AdamW step (p1) with
 * lr 1e-2, weight decay 0.1.  The configuration is in the attributes
 * "cnn" (C,H,W,F,K), "widths" and "strides". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "formats/tz.h"
#include "nn/cnn.h"
#include "nn/nn.h"
#include "nn/opt.h"

/* Up to CNN_CONV_MAX numbers of "a,b,c" into v; how many. */
static int parse_list(const char *s, int *v)
{
    int n = 0;
    for (char *end; *s && n < CNN_CONV_MAX; s = *end ? end + 1 : end) {
        v[n++] = (int)strtol(s, &end, 10);
        if (end == s)
            return -1;
    }
    return n;
}

static void list_text(char *buf, size_t len, const int *v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += snprintf(buf + k, len - (size_t)k, "%s%d", i ? "," : "", v[i]);
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: cnn-dump C H W W1,W2,.. S1,S2,.. F K BATCH SEED\n");
        return 1;
    }
    cnn_config c = { .C = atoi(argv[1]), .H = atoi(argv[2]), .W = atoi(argv[3]),
                     .features = atoi(argv[6]), .classes = atoi(argv[7]) };
    c.nconv = parse_list(argv[4], c.width);
    if (c.nconv < 1 || parse_list(argv[5], c.stride) != c.nconv) {
        fprintf(stderr, "cnn-dump: the widths and strides must be two lists of one length\n");
        return 1;
    }
    int B = atoi(argv[8]);
    cnn n;
    if (B < 1 || cnn_init(&n, &c, strtoull(argv[9], NULL, 10)) < 0) {
        fprintf(stderr, "cnn-dump: bad configuration\n");
        return 2;
    }
    size_t Bz = (size_t)B, nx = Bz * (size_t)c.C * (size_t)c.H * (size_t)c.W;
    size_t nl = Bz * (size_t)c.classes, nf = Bz * (size_t)c.features;
    float *x = malloc(4 * nx), *logits = malloc(4 * nl), *dlogits = malloc(4 * nl);
    float *feat = malloc(4 * nf), *p0 = malloc(4 * n.nparams), *grads = malloc(4 * n.nparams);
    int32_t *labels = malloc(4 * Bz);
    rng_t r;
    rng_init(&r, 99, 1, 0);
    for (size_t i = 0; i < nx; i++)     /* images in [0, 1], as Fashion-MNIST's */
        x[i] = (float)rng_uniform(&r);
    for (int i = 0; i < B; i++)
        labels[i] = (int32_t)rng_below(&r, (uint64_t)c.classes);
    memcpy(p0, n.params, 4 * n.nparams);
    if (cnn_features(&n, feat, x, B) < 0 || cnn_forward(&n, logits, x, B) < 0)
        return 2;
    double loss = nn_softmax_xent(dlogits, NULL, logits, labels, B, c.classes);
    cnn_zero_grad(&n);
    cnn_backward(&n, dlogits, B);
    memcpy(grads, n.grads, 4 * n.nparams);
    opt_config oc = opt_defaults();
    oc.lr = 1e-2;
    oc.weight_decay = 0.1;
    opt_state os;
    if (opt_init(&os, &oc, n.nparams, n.params) < 0)
        return 2;
    opt_step(&os, &oc, n.params, n.grads);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t dx[4] = { Bz, (uint64_t)c.C, (uint64_t)c.H, (uint64_t)c.W };
    uint64_t dl[2] = { Bz, (uint64_t)c.classes }, df[2] = { Bz, (uint64_t)c.features };
    uint64_t db[1] = { Bz }, dp[1] = { n.nparams };
    tz_record_add(&rec, "x", TZ_F32, 4, dx, x);
    tz_record_add(&rec, "labels", TZ_I32, 1, db, labels);
    tz_record_add(&rec, "p0", TZ_F32, 1, dp, p0);
    tz_record_add(&rec, "logits", TZ_F32, 2, dl, logits);
    tz_record_add(&rec, "features", TZ_F32, 2, df, feat);
    tz_record_add(&rec, "loss", TZ_F64, 0, NULL, &loss);
    tz_record_add(&rec, "grads", TZ_F32, 1, dp, grads);
    tz_record_add(&rec, "p1", TZ_F32, 1, dp, n.params);
    char buf[128];
    snprintf(buf, sizeof buf, "%d,%d,%d,%d,%d", c.C, c.H, c.W, c.features, c.classes);
    tz_record_set_attr(&rec, "cnn", buf);
    list_text(buf, sizeof buf, c.width, c.nconv);
    tz_record_set_attr(&rec, "widths", buf);
    list_text(buf, sizeof buf, c.stride, c.nconv);
    tz_record_set_attr(&rec, "strides", buf);
    tz_writer *w = tz_writer_to_file(stdout, 0);
    int rc = tz_write(w, &rec) < 0 || tz_writer_close(w) < 0 ? 3 : 0;
    tz_record_free(&rec);       /* the tensors were borrowed */
    free(x), free(logits), free(dlogits), free(feat), free(p0), free(grads), free(labels);
    opt_free(&os);
    cnn_free(&n);
    return rc;
}
