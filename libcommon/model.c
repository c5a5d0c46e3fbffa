/* model.c - saving and loading trainable interpolants; see model.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "tz.h"

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

void model_free(model *m)
{
    net_free(&m->net);
    opt_free(&m->os);
}

/* The whole-number settings of each architecture, by attribute name. */
typedef struct {
    const char *key;
    int *v;
} int_attr;

static int arch_attrs(net_config *c, int_attr *a)
{
    int n = 0;
    if (c->arch == NET_MLP) {
        mlp_config *m = &c->mlp;
        a[n++] = (int_attr){ "dim", &m->dim };
        a[n++] = (int_attr){ "cond_dim", &m->cond };
        a[n++] = (int_attr){ "temb", &m->temb };
        a[n++] = (int_attr){ "width", &m->width };
        a[n++] = (int_attr){ "hidden", &m->hidden };
        return n;
    }
    unet_config *u = &c->unet;
    a[n++] = (int_attr){ "channels", &u->C };
    a[n++] = (int_attr){ "height", &u->H };
    a[n++] = (int_attr){ "img_width", &u->W };
    a[n++] = (int_attr){ "side_channels", &u->E };
    a[n++] = (int_attr){ "side_scalars", &u->S };
    a[n++] = (int_attr){ "levels", &u->levels };
    a[n++] = (int_attr){ "mid", &u->nmid };
    a[n++] = (int_attr){ "temb", &u->temb };
    a[n++] = (int_attr){ "groups", &u->groups };
    return n;
}

/* ---- attributes -------------------------------------------------------- */

static int set_num(tz_record *r, const char *key, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return tz_record_set_attr(r, key, buf);
}

static int set_u64(tz_record *r, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return tz_record_set_attr(r, key, buf);
}

/* The attribute key as a number; ERR_DATA if it is missing or malformed. */
static int get_num(const tz_record *r, const char *key, double *v)
{
    const char *s = tz_record_attr(r, key);
    char *end;
    if (!s || !*s)
        return err_set(ERR_DATA, "model attribute '%s' is missing", key);
    *v = strtod(s, &end);
    if (*end)
        return err_set(ERR_DATA, "model attribute '%s' is not a number: '%s'", key, s);
    return 0;
}

static int get_int(const tz_record *r, const char *key, int *v)
{
    double d = 0;
    int rc = get_num(r, key, &d);
    if (rc)
        return rc;
    if (d != (int)d)
        return err_set(ERR_DATA, "model attribute '%s' is not a whole number", key);
    *v = (int)d;
    return 0;
}

static int get_u64(const tz_record *r, const char *key, uint64_t *v)
{
    const char *s = tz_record_attr(r, key);
    char *end;
    if (!s || !*s)
        return err_set(ERR_DATA, "model attribute '%s' is missing", key);
    *v = strtoull(s, &end, 10);
    if (*end)
        return err_set(ERR_DATA, "model attribute '%s' is not a whole number", key);
    return 0;
}

static int get_name(const tz_record *r, const char *key, char *dst, size_t n)
{
    const char *s = tz_record_attr(r, key);
    if (!s || strlen(s) >= n)
        return err_set(ERR_DATA, "model attribute '%s' is missing or too long", key);
    strcpy(dst, s);
    return 0;
}

/* The U-Net's widths, "32,64": as many as its levels. */
static int get_widths(const tz_record *r, unet_config *u)
{
    const char *s = tz_record_attr(r, "widths");
    int n = 0;
    char *end;
    while (s && *s && n < UNET_LEVELS_MAX) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || (*end && *end != ','))
            break;
        u->width[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    if (!s || *s || n != u->levels)
        return err_set(ERR_DATA, "model attribute 'widths' is missing or not %d widths",
                       u->levels);
    return 0;
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
        { "warmup", (double)o->warmup }, { "total", (double)o->total },
        { "clip", o->clip }, { "ema_decay", o->ema }, { "loss_avg", m->loss_avg },
    };
    for (size_t i = 0; rc == 0 && i < sizeof nums / sizeof *nums; i++)
        rc = set_num(&rec, nums[i].k, nums[i].v);
    int_attr ia[16];
    int na = arch_attrs(&c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = set_num(&rec, ia[i].key, *ia[i].v);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "arch", c.arch == NET_MLP ? "mlp" : "unet");
    if (rc == 0 && c.arch == NET_UNET) {
        char buf[64] = "";
        for (int l = 0; l < c.unet.levels; l++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", l ? "," : "",
                     c.unet.width[l]);
        rc = tz_record_set_attr(&rec, "widths", buf);
    }
    if (rc == 0)
        rc = set_u64(&rec, "step", m->os.step);
    if (rc == 0)
        rc = set_u64(&rec, "seed", m->seed);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "x0", m->x0);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "x1", m->x1);
    if (rc == 0)
        rc = tz_record_set_attr(&rec, "cond", m->cond);
    tz_writer *w = rc == 0 ? tz_writer_open(path, level) : NULL;
    if (rc == 0 && !w)
        rc = err_code();
    if (rc == 0 && (rc = tz_write(w, &rec)) < 0)
        tz_writer_abort(w);
    else if (rc == 0)
        rc = tz_writer_close(w);
    tz_record_free(&rec);
    return rc;
}

int model_load(model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return err_code();
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    int rc = tz_read(r, &rec);
    if (rc == 0)
        rc = err_set(ERR_DATA, "%s: no record: not a model file", path);
    if (rc < 0) {
        tz_reader_close(r);
        tz_record_free(&rec);
        return rc;
    }
    rc = 0;
    net_config c;
    memset(&c, 0, sizeof c);
    double combined = 0, denoiser = 0, generative = 0, warmup = 0, total = 0;
    const char *arch = tz_record_attr(&rec, "arch");
    if (arch && !strcmp(arch, "mlp"))
        c.arch = NET_MLP;
    else if (arch && !strcmp(arch, "unet"))
        c.arch = NET_UNET;
    else
        rc = err_set(ERR_DATA, "architecture '%s' is not one this build knows",
                     arch ? arch : "(none)");
    int_attr ia[16];
    int na = arch_attrs(&c, ia);
    for (int i = 0; rc == 0 && i < na; i++)
        rc = get_int(&rec, ia[i].key, ia[i].v);
    if (rc == 0 && c.arch == NET_UNET)
        rc = get_widths(&rec, &c.unet);
    if (rc == 0 && tz_record_attr(&rec, "denoiser"))
        rc = get_num(&rec, "denoiser", &denoiser);
    if (rc == 0) rc = get_num(&rec, "gamma", &m->ip.g);
    if (rc == 0) rc = get_num(&rec, "combined", &combined);
    if (rc == 0) rc = get_num(&rec, "generative", &generative);
    if (rc == 0) rc = get_num(&rec, "lr", &m->oc.lr);
    if (rc == 0) rc = get_num(&rec, "beta1", &m->oc.beta1);
    if (rc == 0) rc = get_num(&rec, "beta2", &m->oc.beta2);
    if (rc == 0) rc = get_num(&rec, "eps", &m->oc.eps);
    if (rc == 0) rc = get_num(&rec, "weight_decay", &m->oc.weight_decay);
    if (rc == 0) rc = get_num(&rec, "warmup", &warmup);
    if (rc == 0) rc = get_num(&rec, "total", &total);
    if (rc == 0) rc = get_num(&rec, "clip", &m->oc.clip);
    if (rc == 0) rc = get_num(&rec, "ema_decay", &m->oc.ema);
    if (rc == 0) rc = get_u64(&rec, "seed", &m->seed);
    m->loss_avg = NAN;      /* optional: a fresh average if absent */
    if (rc == 0 && tz_record_attr(&rec, "loss_avg"))
        rc = get_num(&rec, "loss_avg", &m->loss_avg);
    if (rc == 0) rc = get_name(&rec, "x0", m->x0, sizeof m->x0);
    if (rc == 0) rc = get_name(&rec, "x1", m->x1, sizeof m->x1);
    if (rc == 0) rc = get_name(&rec, "cond", m->cond, sizeof m->cond);
    m->ip.combined = combined != 0;
    m->ip.denoiser = denoiser != 0;
    m->generative = generative != 0;
    m->oc.warmup = (uint64_t)warmup;
    m->oc.total = (uint64_t)total;
    if (rc == 0)
        rc = model_create(m, &c);
    const char *names[] = { "params", "adam_m", "adam_v", "ema" };
    float *dst[] = { m->net.params, m->os.m, m->os.v, m->os.ema };
    for (int i = 0; rc == 0 && i < 4; i++) {
        const tz_tensor *t = tz_record_find(&rec, names[i]);
        if (!dst[i])
            continue;       /* no EMA wanted */
        if (!t || t->dtype != TZ_F32 || tz_tensor_count(t) != m->net.nparams)
            rc = err_set(ERR_DATA, "tensor '%s' is missing or not %zu f32 values",
                         names[i], m->net.nparams);
        else
            memcpy(dst[i], t->data, sizeof(float) * m->net.nparams);
    }
    if (rc == 0)
        rc = get_u64(&rec, "step", &m->os.step);
    /* The file must be whole: one record, then its end. */
    if (rc == 0 && (rc = tz_read(r, &rec)) > 0)
        rc = err_set(ERR_DATA, "more than one record: not a model file");
    if (rc < 0) {
        rc = err_prefix(rc, "%s", path);
        model_free(m);
    }
    tz_reader_close(r);
    tz_record_free(&rec);
    return rc;
}
