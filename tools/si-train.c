/* si-train - train a stochastic interpolant's drift on coupled records
 * (clean-side x0, observation-side x1, optional side fields), or, with
 * --generative, a generative model from x0 alone (x1 fresh noise).
 *
 * The whole input is held in memory (the shuffle buffer is the data set):
 * step k draws its batch uniformly from it with rng keys (--seed, k), so a
 * run resumed from its model file gives the same bytes as one that never
 * stopped.  Images (x0 of shape (N, C, H, W)) get the U-Net, signals (N,
 * C, L) the 1-D U-Net, other data the MLP, unless --arch says otherwise.
 *
 * With --shards S each step's batch is S shards, cut by where its samples
 * came from (place mod S), whose gradients are summed in a fixed tree
 * (shards.h).  Built as si-train-mpi (with SCSI_MPI, by mpicc) and started
 * by mpirun, the processes share the shards, each holding the model and
 * only its shards' part of the data, and taking the same steps; process 0
 * alone logs and writes the model, the same bytes as one process with the
 * same S. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>     /* isatty */

#include "formats/tz.h"      /* tz_name_valid, tz_reads_stdin */
#include "method/model.h"    /* model_load, model_save, model_snapshot */
#include "method/pairs.h"    /* pairs_load, pairs_new_model, pairs_draw */
#include "method/shards.h"   /* shards_init, shards_gradient */
#include "nn/nn.h"           /* nn_set_threads */
#include "tool/cli.h"        /* cli_parse, cli_die */
#ifdef SCSI_MPI
#include "mpi/ranks.h"       /* ranks_start, ranks_end */
#define PROG "si-train-mpi"
#else
#define PROG "si-train"
#endif

struct cmdline {
    const char *model, *log, *arch, *widths;
    uint64_t steps;
    int batch, shards, width, hidden, temb, combined, denoiser, generative, log_every, mid,
        groups;
    double gamma, lr, wd, clip, ema, dweight;
    uint64_t warmup, decay;
    const char *x0, *x1, *cond, *real, *real_prefix;
    double alpha;
};

/* Architecture and optimiser options are NAN / -1 when not given, so that
 * giving them with --model can be refused: a resumed run takes its
 * settings from the file. */
static struct cmdline g_opt = {
    .steps = 1000, .batch = 256, .shards = 1, .width = -1, .hidden = -1, .temb = -1,
    .gamma = NAN, .lr = NAN, .wd = NAN, .clip = NAN, .ema = NAN, .dweight = NAN,
    .warmup = UINT64_MAX, .decay = UINT64_MAX, .log_every = 100, .alpha = 1,
    .mid = -1, .groups = -1,
};

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE",
      "resume from this model file (default: a new model)", 0, 0 },
    { "steps", 'n', CLI_U64, &g_opt.steps, "N", "SGD steps to take (default 1000)", 0, 0 },
    { "batch", 'b', CLI_INT, &g_opt.batch, "B", "samples per step (default 256)", 1, 1 << 20 },
    { "shards", 0, CLI_INT, &g_opt.shards, "S",
      "cut each step's batch into S shards (shard j: its samples from the input's "
      "places i with i mod S = j), their gradients summed in a fixed order: the "
      "bytes of S processes of si-train-mpi (default 1)", 1, SHARDS_MAX },
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
    { "denoiser-weight", 0, CLI_DOUBLE, &g_opt.dweight, "W",
      "new model: the denoiser's weight in the loss (default 1)", 0, 0 },
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
    PROG, "[OPTION]... -o MODEL [FILE]...",
    "Train a stochastic interpolant on coupled records (standard input if no "
    "FILE) and write the model file.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

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
    if (!isnan(g_opt.dweight) && !g_opt.denoiser && !g_opt.model)
        cli_die(EXIT_USAGE, "--denoiser-weight needs --denoiser");
    if (!isnan(g_opt.dweight) && !(g_opt.dweight >= 1e-6 && g_opt.dweight <= 1e6))
        cli_die(EXIT_USAGE, "--denoiser-weight must be in [1e-6, 1e6]; got %g", g_opt.dweight);
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

/* A new model's settings from the options (the network's come with the
 * data, pairs_new_model). */
static void new_settings(model *m)
{
    m->loss_avg = NAN;
    snprintf(m->x0, sizeof m->x0, "%s", g_opt.x0 ? g_opt.x0 : "x0");
    snprintf(m->x1, sizeof m->x1, "%s", g_opt.x1 ? g_opt.x1 : "x1");
    snprintf(m->cond, sizeof m->cond, "%s", g_opt.cond ? g_opt.cond : "");
    m->generative = g_opt.generative;
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
    m->ip.dweight = isnan(g_opt.dweight) ? 1 : g_opt.dweight;
}

int main(int argc, char **argv)
{
    int first, rc;
    cli_parse(&g_spec, argc, argv, &first);
    check_args();
    shards_comm comm = shards_solo();
#ifdef SCSI_MPI
    if (ranks_start(&argc, &argv, &comm) < 0)
        cli_die_last();
#endif
    /* Process 0 speaks and writes; the others compute their shards. */
    int lead = comm.rank == 0;
    if (!lead)
        cli.quiet = 1;
    /* Every process reads the data (keeping its part), and mpirun gives
     * standard input to one. */
    if (comm.ranks > 1 && tz_reads_stdin(argv + first, argc - first))
        cli_die(EXIT_USAGE, "each of the %d processes reads the training data: give "
                "FILEs, not standard input", comm.ranks);
    nn_set_threads(cli.threads);
    model m;
    memset(&m, 0, sizeof m);
    if (g_opt.model) {
        if (g_opt.width >= 0 || g_opt.hidden >= 0 || g_opt.temb >= 0 || !isnan(g_opt.gamma) ||
            !isnan(g_opt.lr) || !isnan(g_opt.wd) || !isnan(g_opt.clip) || !isnan(g_opt.ema) ||
            g_opt.warmup != UINT64_MAX || g_opt.decay != UINT64_MAX || g_opt.combined ||
            g_opt.generative || g_opt.x0 || g_opt.x1 || g_opt.cond || g_opt.arch ||
            g_opt.widths || g_opt.mid >= 0 || g_opt.groups >= 0 || g_opt.denoiser ||
            !isnan(g_opt.dweight))
            cli_die(EXIT_USAGE, "with --model the settings come from the model file; "
                    "give only --steps, --batch, --shards, --alpha, --real, --real-prefix, --log "
                    "and the common options");
        if (model_load(&m, g_opt.model) < 0)
            cli_die_last();
    } else {
        new_settings(&m);
    }
    if (m.generative && g_opt.alpha < 1)
        cli_die(EXIT_USAGE, "--alpha mixes real pairs; a generative model has none");
    /* Each process holds only the samples of its shards (shards.h). */
    int B = g_opt.batch;
    pairs_part part;
    if ((rc = shards_part(g_opt.shards, B, &comm, &part)) < 0)
        cli_die_err(rc);
    pairs ds;
    if ((rc = pairs_load(&ds, &m, argv + first, argc - first, g_opt.alpha, g_opt.real,
                         g_opt.real_prefix, &part)) < 0)
        cli_die_err(rc);
    if (!g_opt.model) {
        pairs_arch a = { g_opt.arch, g_opt.width, g_opt.hidden, g_opt.widths, g_opt.mid,
                         g_opt.groups, g_opt.temb };
        if ((rc = pairs_new_model(&ds, &m, &a)) < 0)
            cli_die_err(rc);
    } else if (m.net.dim != ds.d || m.net.cond != ds.dc)
        cli_die(EXIT_DATA, "the data have %d values per sample and %d of side "
                "information; the model takes %d and %d", ds.d, ds.dc, m.net.dim,
                m.net.cond);
    m.os.threads = cli.threads;
    pairs_batch b;
    model_snapshot keep;
    shards sh;
    if ((rc = shards_init(&sh, &comm, g_opt.shards, B, &m, ds.dc)) < 0)
        cli_die_err(rc);
    if (pairs_batch_alloc(&b, &ds, B) < 0 || model_snapshot_alloc(&keep, &m) < 0)
        cli_die_last();
    cli_log log;
    cli_log_open(&log, lead ? g_opt.log : NULL, "step\tloss\tlr\tgrad_norm");
    cli_progress bar;
    cli_progress_start(&bar, "si-train: steps", g_opt.steps);
    double avg = m.loss_avg;    /* carried in the file: resuming decides alike */
    int rollbacks = 0;
    if (g_opt.steps > UINT64_MAX - m.os.step)
        cli_die(EXIT_USAGE, "--steps %" PRIu64 " is too many", g_opt.steps);
    uint64_t end = m.os.step + g_opt.steps;
    model_snapshot_take(&keep, &m);     /* the start: in case the first step fails */
    while (m.os.step < end) {
        uint64_t k = m.os.step;
        pairs_draw(&ds, &m, k, B, &b);
        /* The gradient comes with the loss, on every process, before the
         * loss is judged: a rolled-back step's is thrown away. */
        double loss;
        if (shards_gradient(&sh, &m, &b, &loss) < 0)
            cli_die_last();
        /* A non-finite loss, or one far above the running average, means
         * the weights went bad: back to the last good copy, and on. */
        if (!isfinite(loss) || (!isnan(avg) && loss > 20 * avg)) {
            if (++rollbacks > 10)
                cli_die(EXIT_NUMERIC, "step %" PRIu64 ": loss %g; gave up after 10 "
                        "rollbacks (lower --lr?)", k, loss);
            if (lead)
                cli_warn("step %" PRIu64 ": loss %g (average %g): rolled back", k, loss, avg);
            model_snapshot_restore(&keep, &m);
            m.os.step++;        /* the next step draws another batch */
            continue;
        }
        avg = isnan(avg) ? loss : 0.99 * avg + 0.01 * loss;
        /* These weights just gave a sound loss: a state to come back to. */
        if (k % 100 == 0)
            model_snapshot_take(&keep, &m);
        double lr = opt_lr(&m.oc, k);
        double norm = opt_step(&m.os, &m.oc, m.net.params, m.net.grads);
        if (k % (uint64_t)g_opt.log_every == 0 || m.os.step == end)
            cli_log_line(&log, "%" PRIu64 "\t%.6g\t%.6g\t%.6g", k, loss, lr, norm);
        cli_progress_update(&bar, m.os.step - (end - g_opt.steps));
    }
    cli_progress_end(&bar, g_opt.steps);
    for (size_t i = 0; i < m.net.nparams; i++)
        if (!isfinite(m.net.params[i]))
            cli_die(EXIT_NUMERIC, "parameters are not finite; the model was not written");
    cli_log_close(&log);
    if (g_opt.steps)
        cli_info("%" PRIu64 " steps, final average loss %.6g", g_opt.steps, avg);
    m.loss_avg = avg;
    if (lead && model_save(&m, cli.output, cli.level) < 0)
        cli_die_last();
    model_free(&m);
    pairs_free(&ds);
    pairs_batch_free(&b);
    model_snapshot_free(&keep);
    shards_free(&sh);
#ifdef SCSI_MPI
    ranks_end();
#endif
    return 0;
}
