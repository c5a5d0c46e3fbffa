/* classify - train the image classifier on labelled images, measure its
 * accuracy, or add its features (the penultimate layer, fid's learned
 * feature map) to each record of a stream.
 *
 * train holds the whole input in memory: step k draws its batch from it
 * with rng keys (--seed, k), so the model's bytes depend on neither the
 * records' sizes nor --threads.  eval and features stream record by
 * record; the network sees each sample at a fixed place in a fixed-size
 * block (classifier.h), so their output does not depend on them either. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>     /* isatty */

#include "base/mem.h"            /* mem_alloc_array */
#include "base/out.h"            /* out_open, out_commit */
#include "formats/tz.h"          /* tz_reader, tz_writer */
#include "method/classifier.h"   /* clf_create, clf_step, clf_apply, clf_save, clf_load */
#include "method/labelled.h"     /* lab_load, lab_draw, lab_labels, lab_check_images */
#include "method/mattr.h"        /* mattr_parse_list */
#include "nn/nn.h"               /* nn_set_threads, nn_softmax_xent */
#include "tool/cli.h"            /* cli_parse, cli_die */

struct cmdline {
    const char *model, *field, *label, *widths, *strides, *name, *logits, *log;
    uint64_t steps, warmup;
    int batch, classes, features, log_every;
    double lr, wd;
};

static struct cmdline g_opt = {
    .steps = 3000, .batch = 128, .classes = 10, .features = 128, .log_every = 100,
    .lr = 2e-3, .wd = 0.01, .name = "features",
};

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE",
      "eval, features: the classifier's model file", 0, 0 },
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "the images (default: train x; else the field the model was trained on)", 0, 0 },
    { "label", 0, CLI_STR, &g_opt.label, "NAME",
      "train, eval: the labels (default: train label; eval the model's)", 0, 0 },
    { "steps", 'n', CLI_U64, &g_opt.steps, "N", "train: AdamW steps (default 3000)", 0, 1e12 },
    { "batch", 'b', CLI_INT, &g_opt.batch, "B", "train: images per step (default 128)",
      1, 1 << 20 },
    { "lr", 0, CLI_DOUBLE, &g_opt.lr, "RATE",
      "train: peak learning rate, decayed to 0 by a cosine over the steps (default 2e-3)",
      0, 10 },
    { "warmup", 0, CLI_U64, &g_opt.warmup, "N",
      "train: steps of linear warm-up to --lr (default 0)", 0, 1e12 },
    { "weight-decay", 0, CLI_DOUBLE, &g_opt.wd, "W", "train: AdamW weight decay (default 0.01)",
      0, 10 },
    { "classes", 'K', CLI_INT, &g_opt.classes, "K",
      "train: labels are 0 to K-1 (default 10)", 2, 65536 },
    { "widths", 0, CLI_STR, &g_opt.widths, "W1,W2,...",
      "train: channels of the 3x3 convolutions (default 32,64,64)", 0, 0 },
    { "strides", 0, CLI_STR, &g_opt.strides, "S1,S2,...",
      "train: their strides, 1 or 2 (default 1,2,2)", 0, 0 },
    { "features", 'F', CLI_INT, &g_opt.features, "F",
      "train: width of the penultimate layer (default 128)", 1, 65536 },
    { "log", 'l', CLI_STR, &g_opt.log, "FILE", "train: write step, loss, lr as TSV", 0, 0 },
    { "log-every", 0, CLI_INT, &g_opt.log_every, "N", "train: log every N steps (default 100)",
      1, 1 << 30 },
    { "name", 0, CLI_STR, &g_opt.name, "NAME",
      "features: the field added, (N, F) (default features)", 0, 0 },
    { "logits", 0, CLI_STR, &g_opt.logits, "NAME",
      "features: also add the logits (N, K) as field NAME", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "classify", "[OPTION]... train|eval|features [FILE]...",
    "Train the image classifier on labelled images (train -o MODEL), print its accuracy "
    "on labelled images (eval -m MODEL), or add its features to each record (features "
    "-m MODEL); standard input if no FILE.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

/* The network of a new model, but for its input's shape: the default's,
 * with the options' changes.  Checked before the input is read. */
static cnn_config new_config(void)
{
    cnn_config c = cnn_small(1, 1, 1, g_opt.classes);
    c.features = g_opt.features;
    if (g_opt.widths && (c.nconv = mattr_parse_list(g_opt.widths, CNN_CONV_MAX, 1, 65536,
                                                    c.width)) < 0)
        cli_die(EXIT_USAGE, "--widths wants 1 to %d channel counts: '%s'", CNN_CONV_MAX,
                g_opt.widths);
    int ns = c.nconv;
    if (g_opt.strides && (ns = mattr_parse_list(g_opt.strides, CNN_CONV_MAX, 1, 2,
                                                c.stride)) < 0)
        cli_die(EXIT_USAGE, "--strides wants 1 to %d strides of 1 or 2: '%s'", CNN_CONV_MAX,
                g_opt.strides);
    if (ns != c.nconv)
        cli_die(EXIT_USAGE, "--widths gives %d convolutions and --strides %d", c.nconv, ns);
    return c;
}

static void train(char *const *files, int nfiles)
{
    if ((!cli.output || !strcmp(cli.output, "-")) && isatty(STDOUT_FILENO))
        cli_die(EXIT_USAGE, "refusing to write a model to a terminal; use -o FILE");
    cnn_config c = new_config();
    clf_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.x, sizeof m.x, "%s", g_opt.field ? g_opt.field : "x");
    snprintf(m.label, sizeof m.label, "%s", g_opt.label ? g_opt.label : "label");
    m.seed = cli.seed;
    m.batch = g_opt.batch;
    m.loss_avg = NAN;
    m.oc = opt_defaults();
    m.oc.lr = g_opt.lr;
    m.oc.weight_decay = g_opt.wd;
    m.oc.warmup = g_opt.warmup;
    m.oc.total = g_opt.steps;
    lab_set s;
    if (lab_load(&s, files, nfiles, m.x, m.label, g_opt.classes) < 0)
        cli_die_last();
    c.C = s.chw[0], c.H = s.chw[1], c.W = s.chw[2];
    if (clf_create(&m, &c) < 0)
        cli_die_last();
    m.os.threads = cli.threads;
    int B = g_opt.batch;
    float *x = mem_alloc_array((size_t)B, sizeof(float) * s.d);
    int32_t *y = mem_alloc_array((size_t)B, sizeof(int32_t));
    if (!x || !y)
        cli_die_last();
    cli_log log;
    cli_log_open(&log, g_opt.log, "step\tloss\tlr");
    cli_progress bar;
    cli_progress_start(&bar, "classify: steps", g_opt.steps);
    double avg = NAN;
    for (uint64_t k = 0; k < g_opt.steps; k++) {
        lab_draw(&s, m.seed, k, B, x, y);
        double lr = opt_lr(&m.oc, k), loss = clf_step(&m, x, y, B);
        if (loss < 0)
            cli_die_last();
        if (!isfinite(loss))
            cli_die(EXIT_NUMERIC, "step %" PRIu64 ": the loss is %g (lower --lr?); the model "
                    "was not written", k, loss);
        avg = isnan(avg) ? loss : 0.99 * avg + 0.01 * loss;
        if (k % (uint64_t)g_opt.log_every == 0 || k + 1 == g_opt.steps)
            cli_log_line(&log, "%" PRIu64 "\t%.6g\t%.6g", k, loss, lr);
        cli_progress_update(&bar, k + 1);
    }
    cli_progress_end(&bar, g_opt.steps);
    for (size_t i = 0; i < m.net.nparams; i++)
        if (!isfinite(m.net.params[i]))
            cli_die(EXIT_NUMERIC, "parameters are not finite; the model was not written");
    cli_log_close(&log);
    cli_info("%" PRIu64 " steps on %" PRIu64 " images, final average loss %.6g", g_opt.steps,
             s.n, avg);
    m.loss_avg = avg;
    if (clf_save(&m, cli.output, cli.level) < 0)
        cli_die_last();
    free(x), free(y);
    lab_free(&s);
    clf_free(&m);
}

/* The images of a batch record, checked against the model and for NaN. */
static const tz_tensor *images(const clf_model *m, const tz_record *rec, const char *field,
                               const char *where, uint64_t first)
{
    const tz_tensor *t = tz_record_find(rec, field);
    const cnn_config *c = &m->net.c;
    int chw[3] = { c->C, c->H, c->W };
    if (!t)
        cli_die(EXIT_DATA, "%s: no image field '%s'", where, field);
    if (lab_check_images(t, chw, "the classifier takes", where) < 0)
        cli_die_last();
    size_t d = (size_t)c->C * (size_t)c->H * (size_t)c->W;
    const float *x = t->data;
    for (size_t i = 0; i < (size_t)t->dims[0] * d; i++)
        if (!isfinite(x[i]))
            cli_die(EXIT_NUMERIC, "%s: field '%s' holds %s (sample %" PRIu64 " of the input)",
                    where, field, isnan(x[i]) ? "NaN" : "Inf", first + i / d);
    return t;
}

/* eval and features: every record of the input through the model. */
static void apply(const char *action, char *const *files, int nfiles)
{
    int eval = !strcmp(action, "eval");
    if (!g_opt.model)
        cli_die(EXIT_USAGE, "%s needs -m MODEL", action);
    clf_model m;
    if (clf_load(&m, g_opt.model) < 0)
        cli_die_last();
    const char *field = g_opt.field ? g_opt.field : m.x;
    const char *label = g_opt.label ? g_opt.label : m.label;
    int K = m.net.c.classes, F = m.net.c.features;
    tz_reader *r = tz_reader_open_list(files, nfiles);
    tz_writer *w = eval ? NULL : tz_writer_open(cli.output, cli.level);
    if (!r || (!eval && !w))
        cli_die_last();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    char where[600];
    uint64_t done = 0, correct = 0;
    double loss = 0;        /* summed sample by sample, in order: no record edges in it */
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        snprintf(where, sizeof where, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        if (rec.kind == TZ_BATCH) {
            const tz_tensor *t = images(&m, &rec, field, where, done);
            uint64_t n = t->dims[0], df[2] = { n, (uint64_t)F }, dl[2] = { n, (uint64_t)K };
            const char *names[2] = { eval ? NULL : g_opt.name, eval ? NULL : g_opt.logits };
            tz_tensor *out[2] = { NULL, NULL };
            for (int i = 0; i < 2; i++)
                if (names[i] && tz_record_find(&rec, names[i]))
                    cli_die(EXIT_DATA, "%s: field '%s' is already there", where, names[i]);
            float *logits = eval ? mem_alloc_array(n ? n : 1, sizeof(float) * (size_t)K) : NULL;
            double *each = eval ? mem_alloc_array(n ? n : 1, sizeof(double)) : NULL;
            int32_t *y = eval ? mem_alloc_array(n ? n : 1, sizeof(int32_t)) : NULL;
            /* t points into rec: take what it says before adding fields */
            const float *x = t->data;
            for (int i = 0; i < 2; i++)
                if (names[i] && !(out[i] = tz_record_add(&rec, names[i], TZ_F32, 2,
                                                         i ? dl : df, NULL)))
                    cli_die_last();
            if (eval && (!logits || !each || !y))
                cli_die_last();
            if (eval && lab_labels(&rec, label, n, K, y, where) < 0)
                cli_die_last();
            if (clf_apply(&m, x, n, done, out[0] ? out[0]->data : NULL,
                          eval ? logits : out[1] ? out[1]->data : NULL) < 0)
                cli_die_last();
            if (eval) {
                nn_softmax_xent(NULL, each, logits, y, (int)n, K);
                for (uint64_t i = 0; i < n; i++) {
                    const float *z = logits + i * (uint64_t)K;
                    int top = 0;
                    for (int k = 1; k < K; k++)
                        top = z[k] > z[top] ? k : top;
                    correct += top == y[i];
                    loss += each[i];
                }
            }
            free(logits), free(each), free(y);
            done += n;
        }
        if (!eval && tz_write(w, &rec) < 0)
            cli_die_last();
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_record_free(&rec);
    tz_reader_close(r);
    if (!eval) {
        if (tz_writer_close(w) < 0)
            cli_die_last();
    } else {
        if (!done)
            cli_die(EXIT_DATA, "no labelled images in the input");
        out_file *o = out_open(cli.output);
        if (!o)
            cli_die_last();
        fprintf(out_stream(o), "metric\tvalue\nn\t%" PRIu64 "\ncorrect\t%" PRIu64
                "\naccuracy\t%.9g\nloss\t%.9g\n", done, correct,
                (double)correct / (double)done, loss / (double)done);
        if (out_commit(o) < 0)
            cli_die_last();
    }
    clf_free(&m);
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need an action: train, eval or features");
    const char *action = argv[first++];
    /* the model file keeps the field names in MODEL_NAME_MAX bytes */
    const char *names[4] = { g_opt.field, g_opt.label, g_opt.name, g_opt.logits };
    for (int i = 0; i < 4; i++)
        if (names[i] && (!tz_name_valid(names[i], strlen(names[i])) ||
                         strlen(names[i]) >= MODEL_NAME_MAX))
            cli_die(EXIT_USAGE, "'%s' is not a valid field name (at most %d characters)",
                    names[i], MODEL_NAME_MAX - 1);
    nn_set_threads(cli.threads);
    if (!strcmp(action, "train")) {
        if (g_opt.model)
            cli_die(EXIT_USAGE, "train makes a new model; -m is for eval and features");
        train(argv + first, argc - first);
    } else if (!strcmp(action, "eval") || !strcmp(action, "features")) {
        if (g_opt.logits && !strcmp(g_opt.logits, g_opt.name))
            cli_die(EXIT_USAGE, "--logits and --name both name '%s'", g_opt.name);
        apply(action, argv + first, argc - first);
    } else {
        cli_die(EXIT_USAGE, "unknown action '%s' (train, eval, features)", action);
    }
    return 0;
}
