/* si-train - train a stochastic interpolant's drift on coupled records
 * (clean-side x0, observation-side x1, optional side fields), or, with
 * --generative, a generative model from x0 alone (x1 fresh noise).
 *
 * The whole input is held in memory (the shuffle buffer is the data set):
 * step k draws its batch uniformly from it with rng keys (--seed, k), so a
 * run resumed from its model file gives the same bytes as one that never
 * stopped.  Images (x0 of shape (N, C, H, W)) get the U-Net, signals (N,
 * C, L) the 1-D U-Net, other data the MLP, unless --arch says otherwise. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>     /* isatty */

#include "formats/batch.h"      /* batch_acc */
#include "tool/cli.h"        /* cli_parse, cli_die */
#include "base/mem.h"        /* mem_alloc_array */
#include "method/model.h"      /* model_create, model_save, model_load, model_split_names */
#include "nn/nn.h"         /* nn_mse, nn_set_threads */
#include "base/rng.h"        /* rng_init */
#include "formats/tz.h"         /* tz_reader */

enum { SI_RNG_STEP = 0x53490001 };

struct cmdline {
    const char *model, *log, *arch, *widths;
    uint64_t steps;
    int batch, width, hidden, temb, combined, denoiser, generative, log_every, mid, groups;
    double gamma, lr, wd, clip, ema;
    uint64_t warmup, decay;
    const char *x0, *x1, *cond, *real, *real_prefix;
    double alpha;
};

/* Architecture and optimiser options are NAN / -1 when not given, so that
 * giving them with --model can be refused: a resumed run takes its
 * settings from the file. */
static struct cmdline g_opt = {
    .steps = 1000, .batch = 256, .width = -1, .hidden = -1, .temb = -1,
    .gamma = NAN, .lr = NAN, .wd = NAN, .clip = NAN, .ema = NAN,
    .warmup = UINT64_MAX, .decay = UINT64_MAX, .log_every = 100, .alpha = 1,
    .mid = -1, .groups = -1,
};

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE",
      "resume from this model file (default: a new model)", 0, 0 },
    { "steps", 'n', CLI_U64, &g_opt.steps, "N", "SGD steps to take (default 1000)", 0, 0 },
    { "batch", 'b', CLI_INT, &g_opt.batch, "B", "samples per step (default 256)", 1, 1 << 20 },
    { "arch", 0, CLI_STR, &g_opt.arch, "mlp|unet",
      "new model: the network (default unet for images (N, C, H, W) and signals "
      "(N, C, L), else mlp)", 0, 0 },
    { "width", 0, CLI_INT, &g_opt.width, "W", "new MLP: hidden width (default 256)", 1, 65536 },
    { "hidden", 0, CLI_INT, &g_opt.hidden, "L",
      "new MLP: hidden layers (default 3)", 1, MLP_LAYERS_MAX - 1 },
    { "widths", 0, CLI_STR, &g_opt.widths, "W1,W2,...",
      "new U-Net: channels per level, one level each (default 32,64: UNet-S)", 0, 0 },
    { "mid", 0, CLI_INT, &g_opt.mid, "N", "new U-Net: middle ResBlocks (default 2)", 0, 8 },
    { "groups", 0, CLI_INT, &g_opt.groups, "G",
      "new U-Net: GroupNorm groups, dividing every width (default 8)", 1, 1024 },
    { "temb", 0, CLI_INT, &g_opt.temb, "E",
      "new model: time-embedding width, even (default 64 MLP, 128 U-Net)", 2, 4096 },
    { "gamma", 'g', CLI_DOUBLE, &g_opt.gamma, "G",
      "new model: gamma(t) = G t(1-t); 0 is the ODE case (default 0)", 0, 100 },
    { "combined", 0, CLI_FLAG, &g_opt.combined, NULL,
      "new model: learn the SDE's combined drift b + eta", 0, 0 },
    { "denoiser", 0, CLI_FLAG, &g_opt.denoiser, NULL,
      "new model: a second output head learns the denoiser E[z | x_t], for the SDE", 0, 0 },
    { "generative", 0, CLI_FLAG, &g_opt.generative, NULL,
      "new model: x1 is fresh N(0, I) noise, not data", 0, 0 },
    { "x0", 0, CLI_STR, &g_opt.x0, "NAME", "new model: clean-side field (default x0)", 0, 0 },
    { "x1", 0, CLI_STR, &g_opt.x1, "NAME",
      "new model: observation-side field (default x1)", 0, 0 },
    { "cond", 0, CLI_STR, &g_opt.cond, "LIST",
      "new model: side-information fields fed to the network", 0, 0 },
    { "alpha", 'a', CLI_DOUBLE, &g_opt.alpha, "A",
      "per sample drawn, take x1 from the --real field with probability 1 - A "
      "(SCSI's mixing of real pairs; default 1, never)", 0, 1 },
    { "real", 0, CLI_STR, &g_opt.real, "NAME",
      "the real observation field for --alpha (default y)", 0, 0 },
    { "real-prefix", 0, CLI_STR, &g_opt.real_prefix, "P",
      "with --alpha: a real pair's side field for --cond field NAME is PNAME (default: "
      "the simulated pair's own)", 0, 0 },
    { "lr", 0, CLI_DOUBLE, &g_opt.lr, "RATE", "new model: peak learning rate (default 1e-3)", 0, 10 },
    { "warmup", 0, CLI_U64, &g_opt.warmup, "N",
      "new model: linear warm-up steps (default 0)", 0, 0 },
    { "decay-steps", 0, CLI_U64, &g_opt.decay, "N",
      "new model: cosine decay reaching 0 at step N (warm-up included), 0 "
      "for none (default 0)", 0, 0 },
    { "weight-decay", 0, CLI_DOUBLE, &g_opt.wd, "W",
      "new model: AdamW weight decay (default 0)", 0, 10 },
    { "clip", 0, CLI_DOUBLE, &g_opt.clip, "NORM",
      "new model: gradient-norm clip, 0 for none (default 1)", 0, 1e9 },
    { "ema", 0, CLI_DOUBLE, &g_opt.ema, "DECAY",
      "new model: EMA decay of the weights, 0 for none (default 0.999)", 0, 0.999999 },
    { "log", 'l', CLI_STR, &g_opt.log, "FILE", "write step, loss, lr, grad_norm as TSV", 0, 0 },
    { "log-every", 0, CLI_INT, &g_opt.log_every, "N",
      "log every N steps (default 100)", 1, 1 << 30 },
    { 0 }
};

static const cli_spec g_spec = {
    "si-train", "[OPTION]... -o MODEL [FILE]...",
    "Train a stochastic interpolant on coupled records (standard input if no "
    "FILE) and write the model file.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

/* ---- the training data ------------------------------------------------- */

typedef struct {
    batch_acc acc;          /* fields x0 [, x1] [, cond...] in that order */
    uint64_t n;             /* samples */
    int d, dc;              /* values per sample of x0 (and x1); of cond */
    int ncond;              /* cond fields */
    int real;               /* index in acc of the --real field, or -1 */
    int side_channels;      /* of the cond fields' values: image channels */
    int rcond;              /* index in acc of the real pairs' side fields, or -1 */
} dataset;

static void load_data(dataset *ds, const model *m, char **files, int nfiles)
{
    char buf[256];
    const char *cond[16];
    ds->ncond = model_split_names(m->cond, buf, sizeof buf, cond, 16);
    ds->real = g_opt.alpha < 1 ? (m->generative ? 1 : 2) + ds->ncond : -1;
    ds->rcond = ds->real >= 0 && g_opt.real_prefix && ds->ncond ? ds->real + 1 : -1;
    char rnames[16][2 * MODEL_NAME_MAX];
    for (int i = 0; ds->rcond >= 0 && i < ds->ncond; i++)
        snprintf(rnames[i], sizeof rnames[i], "%s%s", g_opt.real_prefix, cond[i]);
    batch_init(&ds->acc);
    tz_reader *r = tz_reader_open_list(files, nfiles);
    if (!r)
        cli_die_last();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH)
            continue;
        /* A view of just the fields used, in a fixed order. */
        tz_record v;
        tz_record_init(&v, TZ_BATCH);
        const char *want[35] = { m->x0 };
        int nw = 1;
        if (!m->generative)
            want[nw++] = m->x1;
        for (int i = 0; i < ds->ncond; i++)
            want[nw++] = cond[i];
        if (ds->real >= 0)
            want[nw++] = g_opt.real;
        for (int i = 0; ds->rcond >= 0 && i < ds->ncond; i++)
            want[nw++] = rnames[i];
        for (int i = 0; i < nw; i++) {
            tz_tensor *t = tz_record_find(&rec, want[i]);
            if (!t || t->dtype != TZ_F32 || t->rank < 1)
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": %s field '%s'",
                        tz_reader_name(r), tz_reader_index(r),
                        t ? "need an f32 batch" : "no", want[i]);
            v.t[v.ntensors] = *t;
            v.t[v.ntensors++].owned = 0;
        }
        if (!batch_compatible(&ds->acc, &v))
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": fields change shape",
                    tz_reader_name(r), tz_reader_index(r));
        if (batch_append(&ds->acc, &v, 0, tz_record_batch(&v)) < 0)
            cli_die_last();
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_reader_close(r);
    tz_record_free(&rec);
    ds->n = ds->acc.rows;
    if (!ds->n)
        cli_die(EXIT_DATA, "no training samples in the input");
    const tz_record *a = &ds->acc.rec;
    ds->d = (int)(tz_tensor_row_bytes(&a->t[0]) / 4);
    if (!m->generative && tz_tensor_row_bytes(&a->t[1]) != tz_tensor_row_bytes(&a->t[0]))
        cli_die(EXIT_DATA, "fields '%s' and '%s' hold different numbers of values "
                "per sample", m->x0, m->x1);
    for (int i = 0; ds->rcond >= 0 && i < ds->ncond; i++)
        if (tz_tensor_row_bytes(&a->t[ds->rcond + i]) !=
            tz_tensor_row_bytes(&a->t[(m->generative ? 1 : 2) + i]))
            cli_die(EXIT_DATA, "fields '%s' and '%s' hold different numbers of values "
                    "per sample", a->t[ds->rcond + i].name, a->t[(m->generative ? 1 : 2) + i].name);
    if (ds->real >= 0 && tz_tensor_row_bytes(&a->t[ds->real]) != tz_tensor_row_bytes(&a->t[0]))
        cli_die(EXIT_DATA, "fields '%s' and '%s' hold different numbers of values "
                "per sample", m->x0, g_opt.real);
    ds->dc = 0;
    for (int i = 0; i < ds->ncond; i++)
        ds->dc += (int)(tz_tensor_row_bytes(&a->t[(m->generative ? 1 : 2) + i]) / 4);
}

/* The U-Net takes side channels (fields whose samples are images of x0's
 * size) before side scalars: put them first, in the data and in the
 * model's list of fields, keeping the order within each kind. */
static void order_cond(dataset *ds, model *m)
{
    tz_record *a = &ds->acc.rec;
    const tz_tensor *x = &a->t[0];
    int base = m->generative ? 1 : 2, n = ds->ncond;
    tz_tensor t[16], rt[16];
    char names[256] = "";
    int k = 0;
    ds->side_channels = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const tz_tensor *c = &a->t[base + i];
            /* a field of images of x0's size, or of signals of its length */
            int image = c->rank == x->rank && c->dims[x->rank - 1] == x->dims[x->rank - 1] &&
                        (x->rank == 3 || c->dims[2] == x->dims[2]);
            if (image != (pass == 0))
                continue;
            if (image)
                ds->side_channels += (int)c->dims[1];
            if (ds->rcond >= 0)
                rt[k] = a->t[ds->rcond + i];
            t[k++] = *c;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     strlen(names) ? "," : "", c->name);
        }
    memcpy(&a->t[base], t, sizeof *t * (size_t)n);
    if (ds->rcond >= 0)
        memcpy(&a->t[ds->rcond], rt, sizeof *rt * (size_t)n);
    snprintf(m->cond, sizeof m->cond, "%s", names);
}

/* ---- training ---------------------------------------------------------- */

typedef struct {
    float *x0, *x1, *cond, *t, *z, *xt, *target, *out, *dout;
} batch_buf;

/* Fill the batch of step k. */
static void draw_batch(const dataset *ds, const model *m, uint64_t k, int B, batch_buf *b)
{
    rng_t r;
    rng_init(&r, m->seed, SI_RNG_STEP, k);
    const tz_record *a = &ds->acc.rec;
    int D = ds->d;
    for (int i = 0; i < B; i++) {
        uint64_t idx = rng_below(&r, ds->n);
        int real = 0;
        memcpy(b->x0 + (size_t)i * D, (float *)a->t[0].data + idx * (uint64_t)D, 4 * (size_t)D);
        if (m->generative) {
            memset(b->x1 + (size_t)i * D, 0, 4 * (size_t)D);
            rng_add_normal_f32(&r, b->x1 + (size_t)i * D, (uint64_t)D, 1.0f);
        } else {
            /* The draw is made only when mixing, so that alpha 1 keeps
             * the batches of a run without the option. */
            real = ds->real >= 0 && rng_uniform(&r) >= g_opt.alpha;
            memcpy(b->x1 + (size_t)i * D, (float *)a->t[real ? ds->real : 1].data +
                   idx * (uint64_t)D, 4 * (size_t)D);
        }
        float *c = b->cond + (size_t)i * (size_t)ds->dc;
        int c0 = real && ds->rcond >= 0 ? ds->rcond : m->generative ? 1 : 2;
        for (int j = 0; j < ds->ncond; j++) {
            const tz_tensor *t = &a->t[c0 + j];
            size_t w = tz_tensor_row_bytes(t) / 4;
            memcpy(c, (float *)t->data + idx * w, 4 * w);
            c += w;
        }
        b->t[i] = (float)rng_uniform(&r);
        memset(b->z + (size_t)i * D, 0, 4 * (size_t)D);
        if (m->ip.g > 0 || m->ip.combined)
            rng_add_normal_f32(&r, b->z + (size_t)i * D, (uint64_t)D, 1.0f);
    }
}

/* A copy of the trainable state, to roll back to after a bad step. */
typedef struct {
    float *params, *m, *v, *ema;
} snapshot;

static void snap(snapshot *s, const model *m, int restore)
{
    size_t n = sizeof(float) * m->net.nparams;
    float *live[4] = { m->net.params, m->os.m, m->os.v, m->os.ema };
    float *copy[4] = { s->params, s->m, s->v, s->ema };
    for (int i = 0; i < 4; i++)
        if (live[i])
            memcpy(restore ? live[i] : copy[i], restore ? copy[i] : live[i], n);
}

/* Everything that can be refused before the input is read. */
static void check_args(void)
{
    if ((!cli.output || !strcmp(cli.output, "-")) && isatty(STDOUT_FILENO))
        cli_die(EXIT_USAGE, "refusing to write a model to a terminal; use -o FILE");
    if (g_opt.temb >= 0 && g_opt.temb % 2)
        cli_die(EXIT_USAGE, "--temb must be even; got %d", g_opt.temb);
    if (!g_opt.real)
        g_opt.real = "y";
    if (g_opt.alpha < 1 && g_opt.generative)
        cli_die(EXIT_USAGE, "--alpha mixes real pairs; a --generative model has none");
    if (g_opt.arch && strcmp(g_opt.arch, "mlp") && strcmp(g_opt.arch, "unet"))
        cli_die(EXIT_USAGE, "--arch is mlp or unet, not '%s'", g_opt.arch);
    if (g_opt.denoiser && (g_opt.combined || !(g_opt.gamma > 0)))
        cli_die(EXIT_USAGE, "--denoiser needs --gamma > 0 and no --combined");
    if (g_opt.combined && !(g_opt.gamma > 0))
        cli_die(EXIT_USAGE, "--combined needs --gamma > 0 (with gamma 0 its z term "
                "is pure noise)");
    const char *x0 = g_opt.x0 ? g_opt.x0 : "x0", *x1 = g_opt.x1 ? g_opt.x1 : "x1";
    const char *names[18] = { x0, x1 };
    char buf[256];
    if (g_opt.cond && strlen(g_opt.cond) >= sizeof buf)
        cli_die(EXIT_USAGE, "--cond is longer than %zu characters", sizeof buf - 1);
    int commas = 0;
    for (const char *c = g_opt.cond; c && *c; c++)
        commas += *c == ',';
    if (commas >= 16)
        cli_die(EXIT_USAGE, "--cond names more than 16 fields");
    int n = 2 + model_split_names(g_opt.cond, buf, sizeof buf, names + 2, 16);
    for (int i = 0; i < n; i++) {
        if (!tz_name_valid(names[i], strlen(names[i])) || strlen(names[i]) >= MODEL_NAME_MAX)
            cli_die(EXIT_USAGE, "'%s' is not a valid field name (at most %d characters)",
                    names[i], MODEL_NAME_MAX - 1);
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                cli_die(EXIT_USAGE, "field '%s' is named twice among --x0, --x1 and "
                        "--cond", names[i]);
    }
}

/* The U-Net's widths from --widths: 0 or ERR_USAGE. */
static int parse_widths(const char *list, unet_config *u)
{
    char buf[128];
    const char *w[UNET_LEVELS_MAX + 1];
    int n = model_split_names(list, buf, sizeof buf, w, UNET_LEVELS_MAX + 1);
    if (n < 1 || n > UNET_LEVELS_MAX)
        return ERR_USAGE;
    for (int i = 0; i < n; i++) {
        char *end;
        long v = strtol(w[i], &end, 10);
        if (*end || v < 1 || v > 4096)
            return ERR_USAGE;
        u->width[i] = (int)v;
    }
    u->levels = n;
    return 0;
}

static void new_model(model *m, dataset *ds)
{
    m->seed = cli.seed;
    m->oc = opt_defaults();
    m->oc.lr = isnan(g_opt.lr) ? 1e-3 : g_opt.lr;
    m->oc.weight_decay = isnan(g_opt.wd) ? 0 : g_opt.wd;
    m->oc.clip = isnan(g_opt.clip) ? 1 : g_opt.clip;
    m->oc.ema = isnan(g_opt.ema) ? 0.999 : g_opt.ema;
    m->oc.warmup = g_opt.warmup == UINT64_MAX ? 0 : g_opt.warmup;
    m->oc.total = g_opt.decay == UINT64_MAX ? 0 : g_opt.decay;
    m->ip.g = isnan(g_opt.gamma) ? 0 : g_opt.gamma;
    m->ip.combined = g_opt.combined;
    m->ip.denoiser = g_opt.denoiser;
    const tz_tensor *x = &ds->acc.rec.t[0];
    int image = x->rank == 4, signal = x->rank == 3;
    net_config c;
    memset(&c, 0, sizeof c);
    c.arch = g_opt.arch ? (!strcmp(g_opt.arch, "unet") ? NET_UNET : NET_MLP)
                        : image || signal ? NET_UNET : NET_MLP;
    if (c.arch == NET_MLP) {
        c.mlp = (mlp_config){ ds->d, ds->dc, g_opt.temb < 0 ? 64 : g_opt.temb,
                              g_opt.width < 0 ? 256 : g_opt.width,
                              g_opt.hidden < 0 ? 3 : g_opt.hidden, 0 };
    } else {
        if (!image && !signal)
            cli_die(EXIT_DATA, "--arch unet needs images (N, C, H, W) or signals (N, C, L): "
                    "field '%s' is neither", m->x0);
        order_cond(ds, m);
        unet_config *u = &c.unet;
        /* a signal is an image of height 1: the 1-D U-Net */
        *u = image ? unet_small((int)x->dims[1], (int)x->dims[2], (int)x->dims[3])
                   : unet_small((int)x->dims[1], 1, (int)x->dims[2]);
        u->E = ds->side_channels;
        u->S = ds->dc - ds->side_channels * u->H * u->W;
        if (g_opt.widths && parse_widths(g_opt.widths, u) < 0)
            cli_die(EXIT_USAGE, "--widths wants 1 to %d channel counts: '%s'",
                    UNET_LEVELS_MAX, g_opt.widths);
        if (g_opt.mid >= 0)
            u->nmid = g_opt.mid;
        if (g_opt.groups >= 0)
            u->groups = g_opt.groups;
        if (g_opt.temb >= 0)
            u->temb = g_opt.temb;
    }
    if (model_create(m, &c) < 0)
        cli_die_last();
}

/* A line of the log did not get to the file (a full disk, --log /dev/full):
 * the run stops, since a log with lines missing would mislead; what was
 * written stays. */
static _Noreturn void log_failed(const char *path)
{
    cli_die(EXIT_IO, "%s: write failed: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    check_args();
    nn_set_threads(cli.threads);
    model m;
    memset(&m, 0, sizeof m);
    if (g_opt.model) {
        if (g_opt.width >= 0 || g_opt.hidden >= 0 || g_opt.temb >= 0 || !isnan(g_opt.gamma) ||
            !isnan(g_opt.lr) || !isnan(g_opt.wd) || !isnan(g_opt.clip) || !isnan(g_opt.ema) ||
            g_opt.warmup != UINT64_MAX || g_opt.decay != UINT64_MAX || g_opt.combined ||
            g_opt.generative || g_opt.x0 || g_opt.x1 || g_opt.cond || g_opt.arch ||
            g_opt.widths || g_opt.mid >= 0 || g_opt.groups >= 0 || g_opt.denoiser)
            cli_die(EXIT_USAGE, "with --model the settings come from the model file; "
                    "give only --steps, --batch, --alpha, --real, --real-prefix, --log and the "
                    "common "
                    "options");
        if (model_load(&m, g_opt.model) < 0)
            cli_die_last();
    } else {
        m.loss_avg = NAN;
        snprintf(m.x0, sizeof m.x0, "%s", g_opt.x0 ? g_opt.x0 : "x0");
        snprintf(m.x1, sizeof m.x1, "%s", g_opt.x1 ? g_opt.x1 : "x1");
        snprintf(m.cond, sizeof m.cond, "%s", g_opt.cond ? g_opt.cond : "");
        m.generative = g_opt.generative;
    }
    if (m.generative && g_opt.alpha < 1)
        cli_die(EXIT_USAGE, "--alpha mixes real pairs; a generative model has none");
    dataset ds;
    load_data(&ds, &m, argv + first, argc - first);
    if (!g_opt.model)
        new_model(&m, &ds);
    else if (m.net.dim != ds.d || m.net.cond != ds.dc)
        cli_die(EXIT_DATA, "the data have %d values per sample and %d of side "
                "information; the model takes %d and %d", ds.d, ds.dc, m.net.dim,
                m.net.cond);
    m.os.threads = cli.threads;
    int B = g_opt.batch, D = ds.d, HD = m.net.heads * D;
    batch_buf b;
    float **bufs[] = { &b.x0, &b.x1, &b.z, &b.xt, &b.target, &b.out, &b.dout };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (!(*bufs[i] = mem_alloc_array((size_t)B * (size_t)(i < 4 ? D : HD), sizeof(float))))
            cli_die_last();
    b.cond = mem_alloc_array((size_t)B * (size_t)(ds.dc + 1), sizeof(float));
    b.t = mem_alloc_array((size_t)B, sizeof(float));
    snapshot keep;
    size_t np = m.net.nparams;
    keep.params = mem_alloc_array(np, 4), keep.m = mem_alloc_array(np, 4);
    keep.v = mem_alloc_array(np, 4), keep.ema = m.os.ema ? mem_alloc_array(np, 4) : NULL;
    if (!b.cond || !b.t || !keep.params || !keep.m || !keep.v || (m.os.ema && !keep.ema))
        cli_die_last();
    FILE *log = NULL;
    if (g_opt.log && !(log = fopen(g_opt.log, "w")))
        cli_die(EXIT_IO, "%s: cannot create: %s", g_opt.log, strerror(errno));
    if (log && (fprintf(log, "step\tloss\tlr\tgrad_norm\n") < 0 || fflush(log) != 0))
        log_failed(g_opt.log);
    cli_progress bar;
    cli_progress_start(&bar, "si-train: steps", g_opt.steps);
    double avg = m.loss_avg;    /* carried in the file: resuming decides alike */
    int rollbacks = 0;
    if (g_opt.steps > UINT64_MAX - m.os.step)
        cli_die(EXIT_USAGE, "--steps %" PRIu64 " is too many", g_opt.steps);
    uint64_t end = m.os.step + g_opt.steps;
    snap(&keep, &m, 0);     /* the start: in case the first step fails */
    while (m.os.step < end) {
        uint64_t k = m.os.step;
        draw_batch(&ds, &m, k, B, &b);
        si_make_batch(&m.ip, b.x0, b.x1, b.t, b.z, B, D, b.xt, b.target);
        if (net_forward(&m.net, b.out, b.xt, ds.dc ? b.cond : NULL, b.t, B) < 0)
            cli_die_last();
        double loss = nn_mse(b.dout, b.out, b.target, (size_t)B * (size_t)HD);
        /* A non-finite loss, or one far above the running average, means
         * the weights went bad: back to the last good copy, and on. */
        if (!isfinite(loss) || (!isnan(avg) && loss > 20 * avg)) {
            if (++rollbacks > 10)
                cli_die(EXIT_NUMERIC, "step %" PRIu64 ": loss %g; gave up after 10 "
                        "rollbacks (lower --lr?)", k, loss);
            cli_warn("step %" PRIu64 ": loss %g (average %g): rolled back", k, loss, avg);
            snap(&keep, &m, 1);
            m.os.step++;        /* the next step draws another batch */
            continue;
        }
        avg = isnan(avg) ? loss : 0.99 * avg + 0.01 * loss;
        /* These weights just gave a sound loss: a state to come back to. */
        if (k % 100 == 0)
            snap(&keep, &m, 0);
        net_zero_grad(&m.net);
        net_backward(&m.net, b.dout, B);
        double lr = opt_lr(&m.oc, k);
        double norm = opt_step(&m.os, &m.oc, m.net.params, m.net.grads);
        /* Flushed line by line: a run that fails keeps its log. */
        if (log && (k % (uint64_t)g_opt.log_every == 0 || m.os.step == end) &&
            (fprintf(log, "%" PRIu64 "\t%.6g\t%.6g\t%.6g\n", k, loss, lr, norm) < 0 ||
             fflush(log) != 0))
            log_failed(g_opt.log);
        cli_progress_update(&bar, m.os.step - (end - g_opt.steps));
    }
    cli_progress_end(&bar, g_opt.steps);
    for (size_t i = 0; i < np; i++)
        if (!isfinite(m.net.params[i]))
            cli_die(EXIT_NUMERIC, "parameters are not finite; the model was not written");
    if (log && fclose(log) != 0)
        log_failed(g_opt.log);
    if (g_opt.steps)
        cli_info("%" PRIu64 " steps, final average loss %.6g", g_opt.steps, avg);
    m.loss_avg = avg;
    if (model_save(&m, cli.output, cli.level) < 0)
        cli_die_last();
    model_free(&m);
    batch_free(&ds.acc);
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(*bufs[i]);
    free(b.cond), free(b.t);
    free(keep.params), free(keep.m), free(keep.v), free(keep.ema);
    return 0;
}
