/* model.c - saving and loading trainable interpolants; see model.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/mattr.h"
#include "method/model.h"
#include "formats/tz.h"

int model_split_names(const char *list, char *buf, size_t cap, const char **names,
                      int max)
{
    int n = 0;
    snprintf(buf, cap, "%s", list ? list : "");
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p && n < max;
         p = strtok_r(NULL, ",", &save))
        names[n++] = p;
    return n;
}

int model_create(model *m, const net_config *c)
{
    net_config k = *c;
    k.mlp.heads = k.unet.heads = si_heads(&m->ip);
    int rc = net_init(&m->net, &k, m->seed);
    if (rc < 0)
        return rc;
    if ((rc = opt_init(&m->os, &m->oc, m->net.nparams, m->net.params)) < 0) {
        net_free(&m->net);
        return rc;
    }
    return 0;
}

int model_parse_widths(const char *list, unet_config *u)
{
    int n = mattr_parse_list(list, UNET_LEVELS_MAX, 1, 4096, u->width);
    if (n < 0)
        return ERR_USAGE;
    u->levels = n;
    return 0;
}

int model_snapshot_alloc(model_snapshot *s, const model *m)
{
    size_t n = m->net.nparams;
    s->params = mem_alloc_array(n, sizeof(float));
    s->m = mem_alloc_array(n, sizeof(float));
    s->v = mem_alloc_array(n, sizeof(float));
    s->ema = m->os.ema ? mem_alloc_array(n, sizeof(float)) : NULL;
    if (!s->params || !s->m || !s->v || (m->os.ema && !s->ema)) {
        model_snapshot_free(s);
        return err_code();
    }
    return 0;
}

/* The four arrays of a state, those present (the EMA may not be). */
static void copy_state(float *const dst[4], float *const src[4], size_t n)
{
    for (int i = 0; i < 4; i++)
        if (dst[i] && src[i])
            memcpy(dst[i], src[i], sizeof(float) * n);
}

void model_snapshot_take(model_snapshot *s, const model *m)
{
    float *const dst[4] = { s->params, s->m, s->v, s->ema };
    float *const src[4] = { m->net.params, m->os.m, m->os.v, m->os.ema };
    copy_state(dst, src, m->net.nparams);
}

void model_snapshot_restore(const model_snapshot *s, model *m)
{
    float *const dst[4] = { m->net.params, m->os.m, m->os.v, m->os.ema };
    float *const src[4] = { s->params, s->m, s->v, s->ema };
    copy_state(dst, src, m->net.nparams);
}

void model_snapshot_free(model_snapshot *s)
{
    free(s->params), free(s->m), free(s->v), free(s->ema);
    memset(s, 0, sizeof *s);
}

void model_free(model *m)
{
    net_free(&m->net);
    opt_free(&m->os);
}

/* The whole-number settings of each architecture, by attribute name, with
 * the range a loaded file may give.  The bounds keep every size the
 * network derives from them within its integer types, so that a file is
 * checked before anything is allocated for it. */
enum { DIM_MAX = 1 << 26 };     /* values per sample */

static int arch_attrs(net_config *c, mattr_int *a)
{
    int n = 0;
    if (c->arch == NET_MLP) {
        mlp_config *m = &c->mlp;
        a[n++] = (mattr_int){ "dim", &m->dim, 1, DIM_MAX };
        a[n++] = (mattr_int){ "cond_dim", &m->cond, 0, DIM_MAX };
        a[n++] = (mattr_int){ "temb", &m->temb, 2, 4096 };
        a[n++] = (mattr_int){ "width", &m->width, 1, 65536 };
        a[n++] = (mattr_int){ "hidden", &m->hidden, 1, MLP_LAYERS_MAX - 1 };
        return n;
    }
    unet_config *u = &c->unet;
    a[n++] = (mattr_int){ "channels", &u->C, 1, 65536 };
    a[n++] = (mattr_int){ "height", &u->H, 1, 65536 };
    a[n++] = (mattr_int){ "img_width", &u->W, 1, 65536 };
    a[n++] = (mattr_int){ "side_channels", &u->E, 0, 65536 };
    a[n++] = (mattr_int){ "side_scalars", &u->S, 0, 65536 };
    a[n++] = (mattr_int){ "levels", &u->levels, 1, UNET_LEVELS_MAX };
    a[n++] = (mattr_int){ "mid", &u->nmid, 0, 8 };
    a[n++] = (mattr_int){ "temb", &u->temb, 1, 4096 };
    a[n++] = (mattr_int){ "groups", &u->groups, 1, 65536 };
    return n;
}

/* ---- files ------------------------------------------------------------- */

int model_save(const model *m, const char *path, int level)
{
    net_config c = m->net.c;
    const opt_config *o = &m->oc;
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    uint64_t n[1] = { m->net.nparams };
    int rc = 0;
    if (!tz_record_add(&rec, "params", TZ_F32, 1, n, m->net.params) ||
        !tz_record_add(&rec, "adam_m", TZ_F32, 1, n, m->os.m) ||
        !tz_record_add(&rec, "adam_v", TZ_F32, 1, n, m->os.v) ||
        (m->os.ema && !tz_record_add(&rec, "ema", TZ_F32, 1, n, m->os.ema)))
        rc = err_code();
    /* Settings as text attributes, so tzinfo shows them. */
    struct { const char *k; double v; } nums[] = {
        { "gamma", m->ip.g }, { "combined", m->ip.combined },
        { "denoiser", m->ip.denoiser }, { "generative", m->generative },
        { "lr", o->lr }, { "beta1", o->beta1 }, { "beta2", o->beta2 },
        { "eps", o->eps }, { "weight_decay", o->weight_decay },
        { "clip", o->clip }, { "ema_decay", o->ema }, { "loss_avg", m->loss_avg },
    };
    for (size_t i = 0; rc == 0 && i < sizeof nums / sizeof *nums; i++)
        rc = mattr_set_num(&rec, nums[i].k, nums[i].v);
    /* Only a weight other than 1 is written: a model without it reads as 1. */
    if (rc == 0 && m->ip.denoiser && m->ip.dweight > 0 && m->ip.dweight != 1)
        rc = mattr_set_num(&rec, "denoiser_weight", m->ip.dweight);
    mattr_int ia[16];
    int na = arch_attrs(&c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = mattr_set_num(&rec, ia[i].key, *ia[i].v);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "arch", c.arch == NET_MLP ? "mlp" : "unet");
    if (rc == 0 && c.arch == NET_UNET)
        rc = mattr_set_list(&rec, "widths", c.unet.width, c.unet.levels);
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "warmup", o->warmup);
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "total", o->total);
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "step", m->os.step);
    if (rc == 0)
        rc = tz_record_set_attr_u64(&rec, "seed", m->seed);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "x0", m->x0);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "x1", m->x1);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "cond", m->cond);
    if (rc == 0)
        rc = tz_save(path, level, &rec);
    tz_record_free(&rec);
    return rc;
}

int model_load(model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    tz_record rec;
    int rc = mattr_read(path, &rec);
    if (rc < 0)
        return rc;
    /* Every attribute is checked, and the declared shape against the
     * tensors the file holds, before anything is allocated: a small file
     * must not be able to ask for gigabytes. */
    rc = 0;
    net_config c;
    memset(&c, 0, sizeof c);
    const char *arch = tz_record_attr(&rec, "arch");
    if (arch && !strcmp(arch, "mlp"))
        c.arch = NET_MLP;
    else if (arch && !strcmp(arch, "unet"))
        c.arch = NET_UNET;
    else
        rc = err_set(ERR_DATA, "model attribute 'arch' is '%s', not mlp or unet",
                     arch ? mattr_shown(arch) : "(none)");
    mattr_int ia[16];
    int na = arch_attrs(&c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = mattr_get_int(&rec, &ia[i]);
    if (rc == 0 && c.arch == NET_UNET) {
        const unet_config *u = &c.unet;
        rc = mattr_get_list(&rec, "widths", u->levels, 1, 65536, c.unet.width);
        if (rc == 0 && (uint64_t)u->C * (uint64_t)u->H * (uint64_t)u->W > DIM_MAX)
            rc = err_set(ERR_DATA, "model attributes 'channels', 'height' and 'img_width' "
                         "make more than %d values per sample", DIM_MAX);
    }
    int denoiser = 0;
    if (rc == 0 && tz_record_attr(&rec, "denoiser"))
        rc = mattr_get_flag(&rec, "denoiser", &denoiser);
    m->ip.denoiser = denoiser;
    m->ip.dweight = 1;
    if (rc == 0 && tz_record_attr(&rec, "denoiser_weight"))
        rc = mattr_get_num(&rec, "denoiser_weight", 1e-6, 1e6, 0, &m->ip.dweight);
    if (rc == 0) rc = mattr_get_num(&rec, "gamma", 0, 100, 0, &m->ip.g);
    if (rc == 0) rc = mattr_get_flag(&rec, "combined", &m->ip.combined);
    if (rc == 0) rc = mattr_get_flag(&rec, "generative", &m->generative);
    if (rc == 0) rc = mattr_get_num(&rec, "lr", 0, 10, 0, &m->oc.lr);
    if (rc == 0) rc = mattr_get_num(&rec, "beta1", 0, 1, 0, &m->oc.beta1);
    if (rc == 0) rc = mattr_get_num(&rec, "beta2", 0, 1, 0, &m->oc.beta2);
    if (rc == 0) rc = mattr_get_num(&rec, "eps", 0, 1, 0, &m->oc.eps);
    if (rc == 0) rc = mattr_get_num(&rec, "weight_decay", 0, 10, 0, &m->oc.weight_decay);
    if (rc == 0) rc = mattr_get_u64(&rec, "warmup", UINT64_MAX, &m->oc.warmup);
    if (rc == 0) rc = mattr_get_u64(&rec, "total", UINT64_MAX, &m->oc.total);
    if (rc == 0) rc = mattr_get_num(&rec, "clip", 0, 1e9, 0, &m->oc.clip);
    if (rc == 0) rc = mattr_get_num(&rec, "ema_decay", 0, 0.999999, 0, &m->oc.ema);
    if (rc == 0) rc = mattr_get_u64(&rec, "seed", UINT64_MAX, &m->seed);
    uint64_t step = 0;      /* the optimiser's, set once it is made */
    if (rc == 0) rc = mattr_get_u64(&rec, "step", UINT64_MAX, &step);
    m->loss_avg = NAN;      /* optional: a fresh average if absent or NaN */
    if (rc == 0 && tz_record_attr(&rec, "loss_avg"))
        rc = mattr_get_num(&rec, "loss_avg", 0, HUGE_VAL, 1, &m->loss_avg);
    if (rc == 0) rc = mattr_get_name(&rec, "x0", m->x0, sizeof m->x0);
    if (rc == 0) rc = mattr_get_name(&rec, "x1", m->x1, sizeof m->x1);
    if (rc == 0) rc = mattr_get_name(&rec, "cond", m->cond, sizeof m->cond);
    c.mlp.heads = c.unet.heads = si_heads(&m->ip);
    size_t np = rc == 0 ? net_param_count(&c) : 0;
    if (rc == 0 && !np) {
        char why[512];      /* the shape's complaint, now a bad file's */
        snprintf(why, sizeof why, "%s", err_msg());
        rc = err_set(ERR_DATA, "the model's attributes: %s", why);
    }
    const char *names[] = { "params", "adam_m", "adam_v", "ema" };
    const tz_tensor *tens[4] = { 0 };
    for (int i = 0; rc == 0 && i < 4; i++) {
        tens[i] = tz_record_find(&rec, names[i]);
        if (i == 3 && !m->oc.ema)
            continue;       /* no EMA wanted */
        if (!tens[i] || tens[i]->dtype != TZ_F32 || tz_tensor_count(tens[i]) != np)
            rc = err_set(ERR_DATA, "tensor '%s' is missing or not the %zu f32 values "
                         "the model's attributes make", names[i], np);
    }
    if (rc == 0)
        rc = model_create(m, &c);
    float *dst[] = { m->net.params, m->os.m, m->os.v, m->os.ema };
    for (int i = 0; rc == 0 && i < 4; i++)
        if (dst[i])
            memcpy(dst[i], tens[i]->data, sizeof(float) * np);
    if (rc == 0)
        m->os.step = step;
    if (rc < 0) {
        rc = err_prefix(rc, "%s", path);
        model_free(m);
    }
    tz_record_free(&rec);
    return rc;
}
