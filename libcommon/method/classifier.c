/* classifier.c - the classifier as a model; see classifier.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "formats/tz.h"
#include "method/classifier.h"
#include "method/mattr.h"
#include "nn/nn.h"

int clf_create(clf_model *m, const cnn_config *c)
{
    int rc = cnn_init(&m->net, c, m->seed);
    if (rc < 0)
        return rc;
    if ((rc = opt_init(&m->os, &m->oc, m->net.nparams, m->net.params)) < 0)
        cnn_free(&m->net);
    return rc;
}

void clf_free(clf_model *m)
{
    cnn_free(&m->net);
    opt_free(&m->os);
    free(m->logits);
    m->logits = NULL, m->cap = 0;
}

double clf_step(clf_model *m, const float *x, const int32_t *y, int B)
{
    size_t K = (size_t)m->net.c.classes;
    if (B > m->cap) {
        float *l = mem_alloc_array(2 * (size_t)B, sizeof(float) * K);
        if (!l)
            return ERR_IO;
        free(m->logits);
        m->logits = l, m->cap = B;
    }
    float *logits = m->logits, *dlogits = m->logits + (size_t)B * K;
    if (cnn_forward(&m->net, logits, x, B) < 0)
        return ERR_IO;
    double loss = nn_softmax_xent(dlogits, NULL, logits, y, B, (int)K);
    cnn_zero_grad(&m->net);
    cnn_backward(&m->net, dlogits, B);
    opt_step(&m->os, &m->oc, m->net.params, m->net.grads);
    return loss;
}

/* The whole-number settings, by attribute name, with the ranges a loaded
 * file may give (cnn.c checks the shape they make as a whole). */
static int int_attrs(clf_model *m, cnn_config *c, mattr_int *a)
{
    int n = 0;
    a[n++] = (mattr_int){ "channels", &c->C, 1, 65536 };
    a[n++] = (mattr_int){ "height", &c->H, 1, 65536 };
    a[n++] = (mattr_int){ "img_width", &c->W, 1, 65536 };
    a[n++] = (mattr_int){ "convs", &c->nconv, 1, CNN_CONV_MAX };
    a[n++] = (mattr_int){ "features", &c->features, 1, 65536 };
    a[n++] = (mattr_int){ "classes", &c->classes, 2, 65536 };
    a[n++] = (mattr_int){ "batch", &m->batch, 1, 1 << 20 };
    return n;
}

int clf_save(const clf_model *m, const char *path, int level)
{
    clf_model k = *m;       /* int_attrs points into it; nothing is written back */
    cnn_config c = m->net.c;
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t n[1] = { m->net.nparams };
    int rc = tz_record_add(&rec, "params", TZ_F32, 1, n, m->net.params) ? 0 : err_code();
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "arch", "cnn");
    mattr_int ia[8];
    int na = int_attrs(&k, &c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = mattr_set_num(&rec, ia[i].key, *ia[i].v);
    if (rc == 0)
        rc = mattr_set_list(&rec, "widths", c.width, c.nconv);
    if (rc == 0)
        rc = mattr_set_list(&rec, "strides", c.stride, c.nconv);
    struct { const char *k; double v; } nums[] = {
        { "lr", m->oc.lr }, { "weight_decay", m->oc.weight_decay },
        { "loss_avg", m->loss_avg },
    };
    for (size_t i = 0; rc == 0 && i < sizeof nums / sizeof *nums; i++)
        rc = mattr_set_num(&rec, nums[i].k, nums[i].v);
    struct { const char *k; uint64_t v; } whole[] = {
        { "warmup", m->oc.warmup }, { "step", m->os.step }, { "seed", m->seed },
    };
    for (size_t i = 0; rc == 0 && i < sizeof whole / sizeof *whole; i++)
        rc = tz_record_set_attr_u64(&rec, whole[i].k, whole[i].v);
    const char *names[][2] = { { "x", m->x }, { "label", m->label } };
    for (size_t i = 0; rc == 0 && i < 2; i++)
        rc = tz_record_set_attr(&rec, names[i][0], names[i][1]);
    if (rc == 0)
        rc = tz_save(path, level, &rec);
    tz_record_free(&rec);
    return rc;
}

/* The settings of rec into m and c, each checked. */
static int read_attrs(const tz_record *rec, clf_model *m, cnn_config *c)
{
    const char *arch = tz_record_attr(rec, "arch");
    if (!arch || strcmp(arch, "cnn"))
        return err_set(ERR_DATA, "model attribute 'arch' is '%s', not cnn: not a "
                       "classifier", arch ? mattr_shown(arch) : "(none)");
    mattr_int ia[8];
    int rc = 0, na = int_attrs(m, c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = mattr_get_int(rec, &ia[i]);
    if (rc == 0)
        rc = mattr_get_list(rec, "widths", c->nconv, 1, 65536, c->width);
    if (rc == 0)
        rc = mattr_get_list(rec, "strides", c->nconv, 1, 2, c->stride);
    if (rc == 0) rc = mattr_get_num(rec, "lr", 0, 10, 0, &m->oc.lr);
    if (rc == 0) rc = mattr_get_num(rec, "weight_decay", 0, 10, 0, &m->oc.weight_decay);
    if (rc == 0) rc = mattr_get_num(rec, "loss_avg", 0, HUGE_VAL, 1, &m->loss_avg);
    if (rc == 0) rc = mattr_get_u64(rec, "warmup", UINT64_MAX, &m->oc.warmup);
    if (rc == 0) rc = mattr_get_u64(rec, "step", UINT64_MAX, &m->os.step);
    if (rc == 0) rc = mattr_get_u64(rec, "seed", UINT64_MAX, &m->seed);
    if (rc == 0) rc = mattr_get_name(rec, "x", m->x, sizeof m->x);
    if (rc == 0) rc = mattr_get_name(rec, "label", m->label, sizeof m->label);
    return rc;
}

int clf_load(clf_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    tz_record rec;
    int rc = mattr_read(path, &rec);
    if (rc < 0)
        return rc;
    /* Every attribute is checked, and the shape they make against the
     * tensor, before anything is allocated. */
    cnn_config c;
    memset(&c, 0, sizeof c);
    rc = read_attrs(&rec, m, &c);
    size_t np = rc == 0 ? cnn_param_count(&c) : 0;
    if (rc == 0 && !np) {
        char why[512];      /* the shape's complaint, now a bad file's */
        snprintf(why, sizeof why, "%s", err_msg());
        rc = err_set(ERR_DATA, "the model's attributes: %s", why);
    }
    const tz_tensor *p = rc == 0 ? tz_record_find(&rec, "params") : NULL;
    if (rc == 0 && (!p || p->dtype != TZ_F32 || tz_tensor_count(p) != np))
        rc = err_set(ERR_DATA, "tensor 'params' is missing or not the %zu f32 values the "
                     "model's attributes make", np);
    uint64_t step = m->os.step;     /* the optimiser is not made for a loaded model */
    memset(&m->os, 0, sizeof m->os);
    m->os.step = step;
    if (rc == 0 && (rc = cnn_init(&m->net, &c, m->seed)) == 0)
        memcpy(m->net.params, p->data, sizeof(float) * np);
    if (rc < 0) {
        rc = err_prefix(rc, "%s", path);
        cnn_free(&m->net);
    }
    tz_record_free(&rec);
    return rc;
}

int clf_apply(clf_model *m, const float *x, uint64_t n, uint64_t first, float *feat,
              float *logits)
{
    const cnn_config *c = &m->net.c;
    size_t d = (size_t)c->C * (size_t)c->H * (size_t)c->W, F = (size_t)c->features;
    size_t K = (size_t)c->classes;
    float *bx = mem_calloc_array(CLF_BLOCK * d, sizeof(float));
    float *bl = mem_alloc_array(CLF_BLOCK * K, sizeof(float));
    int rc = bx && bl ? 0 : ERR_IO;
    for (uint64_t s = 0; rc == 0 && s < n;) {
        size_t off = (size_t)((first + s) % CLF_BLOCK);
        size_t live = n - s < CLF_BLOCK - off ? (size_t)(n - s) : CLF_BLOCK - off;
        /* the rows around the live ones are zero images: padding */
        memset(bx, 0, sizeof(float) * CLF_BLOCK * d);
        memcpy(bx + off * d, x + s * d, sizeof(float) * live * d);
        rc = logits ? cnn_forward(&m->net, bl, bx, CLF_BLOCK)
                    : cnn_features(&m->net, NULL, bx, CLF_BLOCK);
        if (rc == 0 && feat)
            memcpy(feat + s * F, m->net.fpost + off * F, sizeof(float) * live * F);
        if (rc == 0 && logits)
            memcpy(logits + s * K, bl + off * K, sizeof(float) * live * K);
        s += live;
    }
    free(bx), free(bl);
    return rc;
}
