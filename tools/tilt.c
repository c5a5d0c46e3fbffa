/* tilt - sample a prior adapted at inference time: q ~ p^gamma exp(r),
 * the prior p a generative model (si-train --generative) or an analytic
 * Gaussian mixture, the reward r Gaussian, a linear-Gaussian likelihood
 * or an external program; by guidance, guidance with SMC, DriftLite's
 * VCG-SMC or the boosted start (method/tilt.h).
 *
 * Without input, one population of --particles particles is written in
 * records of --batch rows: the particles (x0) and their normalised
 * weights (weight).  With --likelihood, each sample of the input stream
 * is an observation y and gets its own population; its record comes out
 * with x0, one particle drawn by weight (a sample of the posterior), and
 * with --mean x0_mean, the weighted mean.  --trace writes a TSV line per
 * population and step: the noise level, the effective sample size, the
 * variance of the weight increments, the control's coefficients. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die, cli_progress */
#include "base/mem.h"        /* mem_alloc_array */
#include "base/out.h"        /* out_open, out_commit: the trace */
#include "nn/nn.h"           /* nn_set_threads */
#include "method/gmm.h"      /* gmm_read */
#include "method/model.h"    /* model_load */
#include "method/prior.h"    /* prior_gmm, prior_model */
#include "method/reward.h"   /* reward_gauss, reward_lin, reward_exec */
#include "method/smc.h"      /* smc_mean_rows */
#include "method/tilt.h"     /* tilt_run */
#include "formats/tz.h"      /* tz_reader, tz_writer */

struct cmdline {
    const char *model, *gmm, *gauss, *likelihood, *exec, *method, *trace, *field;
    double gamma, scale, timeout, sigma_max, sigma_min, lambda, ess, level, mcmc_step;
    int steps, probes, mcmc_steps, resample, mean, raw;
    uint64_t particles, batch;
};

static struct cmdline g_opt = {
    .method = "vcg", .field = "x1", .gamma = 1, .scale = 0, .timeout = 60,
    .sigma_max = 80, .sigma_min = 0.002, .lambda = 1, .ess = 0.5, .level = 0.5,
    .mcmc_step = 0.2, .steps = 100, .probes = 1, .mcmc_steps = 100, .particles = 1024,
    .batch = 1024
};

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE",
      "the prior: a generative model (si-train --generative)", 0, 0 },
    { "gmm", 0, CLI_STR, &g_opt.gmm, "FILE", "the prior: a Gaussian mixture spec", 0, 0 },
    { "gamma", 'g', CLI_DOUBLE, &g_opt.gamma, "G", "the prior's exponent (default 1)", 1e-6, 1e6 },
    { "gauss", 0, CLI_STR, &g_opt.gauss, "FILE",
      "reward -(x-c)^T C^-1 (x-c)/2, c and C from a one-component spec", 0, 0 },
    { "likelihood", 'l', CLI_STR, &g_opt.likelihood, "SPEC",
      "reward log N(y; A x, s^2): A and s from a linear instrument SPEC, y each input "
      "sample's --field", 0, 0 },
    { "exec", 'e', CLI_STR, &g_opt.exec, "COMMAND",
      "reward from a program (simulate's protocol): reward, reward_grad, reward_lap", 0, 0 },
    { "reward-scale", 0, CLI_DOUBLE, &g_opt.scale, "S",
      "noise level at which the reward is half on (default: the reward's own scale)", 1e-12,
      1e12 },
    { "timeout", 't', CLI_DOUBLE, &g_opt.timeout, "SECONDS",
      "--exec: longest wait for an answer, 0 for none (default 60)", 0, 1e9 },
    { "method", 0, CLI_STR, &g_opt.method, "pg|gsmc|vcg|boost|exact",
      "the sampler (default vcg)", 0, 0 },
    { "particles", 'N', CLI_U64, &g_opt.particles, "N",
      "particles per population (default 1024)", 1, 1 << 24 },
    { "steps", 'n', CLI_INT, &g_opt.steps, "N", "noise levels (default 100)", 2, 1000000 },
    { "sigma-max", 0, CLI_DOUBLE, &g_opt.sigma_max, "S", "the first noise level (default 80)",
      1e-9, 1e9 },
    { "sigma-min", 0, CLI_DOUBLE, &g_opt.sigma_min, "S",
      "the last noise level before 0 (default 0.002)", 1e-12, 1e9 },
    { "lambda", 0, CLI_DOUBLE, &g_opt.lambda, "L",
      "the reverse SDE's noise: 1 the SDE, 0 the ODE (default 1)", 0, 1 },
    { "ess", 0, CLI_DOUBLE, &g_opt.ess, "F",
      "resample when the effective sample size is below F N; 0 never (default 0.5)", 0, 1 },
    { "resample", 'r', CLI_FLAG, &g_opt.resample, NULL, "end with equal weights", 0, 0 },
    { "probes", 0, CLI_INT, &g_opt.probes, "K",
      "a model's score divergence: Hutchinson probes (default 1)", 1, 1000 },
    { "boost-level", 0, CLI_DOUBLE, &g_opt.level, "C",
      "boost: the MCMC's noise level k, k^2 = C / lambda_max(Q) (default 0.5)", 1e-6, 0.99 },
    { "mcmc-steps", 0, CLI_INT, &g_opt.mcmc_steps, "N", "boost: MCMC steps (default 100)", 0,
      1000000 },
    { "mcmc-step", 0, CLI_DOUBLE, &g_opt.mcmc_step, "H",
      "boost: the MCMC step over its bound (default 0.2)", 1e-9, 10 },
    { "trace", 0, CLI_STR, &g_opt.trace, "FILE", "a TSV line per population and step", 0, 0 },
    { "batch", 'b', CLI_U64, &g_opt.batch, "N",
      "without input: particles per record (default 1024)", 1, 1 << 24 },
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "--likelihood: the observation field (default x1)", 0, 0 },
    { "mean", 0, CLI_FLAG, &g_opt.mean, NULL, "--likelihood: add x0_mean, the weighted mean",
      0, 0 },
    { "raw", 0, CLI_FLAG, &g_opt.raw, NULL, "use the model's raw weights, not their EMA", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tilt", "[OPTION]... {-m MODEL | --gmm FILE} [--gauss FILE | --likelihood SPEC "
    "[FILE]... | --exec COMMAND]",
    "Sample q ~ p^gamma exp(r): the prior p a generative model or a Gaussian mixture, the "
    "reward r Gaussian, a likelihood (each input sample's own) or a program's.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

static cli_progress g_bar;
static double *g_mean;              /* --mean: a sample's values (main's) */
static uint64_t g_steps_before;     /* steps of the populations already run */

static void on_step(void *ctx, int done)
{
    (void)ctx;
    cli_progress_update(&g_bar, g_steps_before + (uint64_t)done);
}

/* The trace's lines of one population. */
static void write_trace(FILE *f, uint64_t pop, const tilt_row *t, int rows)
{
    for (int i = 0; i < rows; i++)
        fprintf(f, "%" PRIu64 "\t%d\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.4g\t%d\n",
                pop, t[i].step, t[i].kappa, t[i].beta, t[i].ess, t[i].var_g, t[i].var_phi,
                t[i].theta[0], t[i].theta[1], t[i].theta[2], t[i].accept, t[i].resampled);
}

/* Without input: the population in records of --batch rows. */
static void write_population(tz_writer *w, const prior *p, const double *x, const double *wt,
                             size_t n)
{
    size_t D = (size_t)p->dim;
    for (size_t s = 0; s < n; s += g_opt.batch) {
        size_t m = n - s < g_opt.batch ? n - s : g_opt.batch;
        tz_record out;
        tz_record_init(&out, TZ_BATCH);
        uint64_t dims[4] = { m, p->shape[0], p->shape[1], p->shape[2] };
        tz_tensor *tx = tz_record_add(&out, "x0", TZ_F32, p->rank + 1, dims, NULL);
        tz_tensor *tw = tx ? tz_record_add(&out, "weight", TZ_F32, 1, dims, NULL) : NULL;
        if (!tw)
            cli_die_last();
        for (size_t i = 0; i < m * D; i++)
            ((float *)tx->data)[i] = (float)x[s * D + i];
        for (size_t i = 0; i < m; i++)
            ((float *)tw->data)[i] = (float)wt[s + i];
        if (tz_write(w, &out) < 0)
            cli_die_last();
        tz_record_free(&out);
    }
}

/* An f32 field of rec with per values a row, or NULL if optional and
 * absent; dies naming the record otherwise. */
static const float *need_field(const tz_record *rec, const char *name, size_t per,
                               const char *where)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t || t->dtype != TZ_F32 || tz_tensor_row_bytes(t) != per * sizeof(float))
        cli_die(EXIT_DATA, "%s: --likelihood needs an f32 field '%s' of %zu values per sample",
                where, name, per);
    return t->data;
}

/* With --likelihood: a population per sample of the batch record rec,
 * whose first sample has stream index *done; x0 (and x0_mean) added. */
static void tilt_record(tz_record *rec, const char *where, prior *p, reward *rw,
                        const tilt_opts *o, FILE *trace, double *x, double *wt,
                        tilt_row *rows, uint64_t *done)
{
    size_t D = (size_t)p->dim, n = g_opt.particles, hw = (size_t)rw->H * (size_t)rw->W;
    int want_mask = 0, want_angle = 0;
    for (int i = 0; i < rw->lc.n; i++) {
        want_mask |= rw->lc.step[i].kind == LIN_MASK;
        want_angle |= rw->lc.step[i].kind == LIN_MOTION;
    }
    uint64_t B = tz_record_batch(rec);
    const float *y = need_field(rec, g_opt.field, D, where);
    const float *mask = want_mask ? need_field(rec, "mask", hw, where) : NULL;
    const float *angle = want_angle ? need_field(rec, "angle", 1, where) : NULL;
    const tz_tensor *ty = tz_record_find(rec, g_opt.field);
    const char *names[2] = { "x0", "x0_mean" };
    float *dst[2] = { NULL, NULL };
    for (int f = 0; f < 1 + g_opt.mean; f++) {
        if (tz_record_find(rec, names[f]))
            cli_die(EXIT_DATA, "%s: field '%s' is already there", where, names[f]);
        tz_tensor *t = tz_record_add(rec, names[f], TZ_F32, ty->rank, ty->dims, NULL);
        if (!t)
            cli_die_last();
        dst[f] = t->data;
    }
    for (uint64_t b = 0; b < B; b++, ++*done) {
        reward_observe(rw, y + b * D, mask ? mask + b * hw : NULL, angle ? angle[b] : 0);
        int nrows = tilt_run(p, rw, o, n, *done, x, wt, rows);
        if (nrows < 0)
            cli_die(-nrows, "%s: sample %" PRIu64 ": %s", where, b, err_msg());
        g_steps_before += (uint64_t)o->steps;
        size_t pick = tilt_pick(o, wt, n, *done);
        for (size_t j = 0; j < D; j++)
            dst[0][b * D + j] = (float)x[pick * D + j];
        if (dst[1]) {
            smc_mean_rows(wt, x, n, D, g_mean);
            for (size_t j = 0; j < D; j++)
                dst[1][b * D + j] = (float)g_mean[j];
        }
        if (trace)
            write_trace(trace, *done, rows, nrows);
    }
}

/* Check the command line's combinations; fill o from it. */
static void parse_cmdline(int argc, char **argv, int *first, tilt_opts *o)
{
    cli_parse(&g_spec, argc, argv, first);
    if (!g_opt.model == !g_opt.gmm)
        cli_die(EXIT_USAGE, "need one prior: -m MODEL or --gmm FILE");
    if (!!g_opt.gauss + !!g_opt.likelihood + !!g_opt.exec > 1)
        cli_die(EXIT_USAGE, "one reward at most: --gauss, --likelihood or --exec");
    if (*first < argc && !g_opt.likelihood)
        cli_die(EXIT_USAGE, "only --likelihood reads input (the observations); got '%s'",
                argv[*first]);
    if ((g_opt.mean || strcmp(g_opt.field, "x1")) && !g_opt.likelihood)
        cli_die(EXIT_USAGE, "--mean and --field go with --likelihood");
    if (g_opt.exec && strlen(g_opt.exec) > TZ_VALUE_MAX)
        cli_die(EXIT_USAGE, "--exec: COMMAND longer than %d bytes", TZ_VALUE_MAX);
    *o = (tilt_opts){ .gamma = g_opt.gamma, .steps = g_opt.steps, .sigma_max = g_opt.sigma_max,
                      .sigma_min = g_opt.sigma_min, .lambda = g_opt.lambda, .ess = g_opt.ess,
                      .resample_final = g_opt.resample, .level = g_opt.level,
                      .mcmc_steps = g_opt.mcmc_steps, .mcmc_step = g_opt.mcmc_step,
                      .seed = cli.seed, .progress = on_step, .method = -1 };
    for (int i = 0; tilt_methods[i]; i++)
        if (!strcmp(g_opt.method, tilt_methods[i]))
            o->method = i;
    if (o->method < 0)
        cli_die(EXIT_USAGE, "--method must be pg, gsmc, vcg, boost or exact; got '%s'",
                g_opt.method);
}

/* The prior: the mixture into g, or the model into m (its EMA weights
 * unless --raw, as pushback samples). */
static void open_prior(prior *p, gmm *g, model *m)
{
    if (g_opt.gmm) {
        if (gmm_read(g, g_opt.gmm) < 0 || prior_gmm(p, g, cli.threads) < 0)
            cli_die_last();
        return;
    }
    if (model_load(m, g_opt.model) < 0)
        cli_die_last();
    if (!g_opt.raw && m->os.ema)
        memcpy(m->net.params, m->os.ema, sizeof(float) * m->net.nparams);
    if (prior_model(p, m, g_opt.probes, cli.seed) < 0)
        cli_die(EXIT_USAGE, "%s: %s", g_opt.model, err_msg());
}

/* The reward (an --exec program is started here), its scale into o, and
 * the method checked against both. */
static void open_reward(reward *rw, const prior *p, tilt_opts *o)
{
    int rc = 0;
    if (g_opt.gauss)
        rc = reward_gauss(rw, g_opt.gauss, p->dim);
    else if (g_opt.likelihood && reward_lin(rw, g_opt.likelihood, p->rank, p->shape) < 0)
        cli_die(EXIT_USAGE, "--likelihood: %s", err_msg());
    else if (g_opt.exec)
        rc = reward_exec(rw, g_opt.exec, p->rank, p->shape, cli.seed, g_opt.timeout);
    else if (!g_opt.likelihood)
        reward_none(rw, p->dim);
    if (rc < 0)
        cli_die_last();
    o->scale = g_opt.scale > 0 ? g_opt.scale : rw->scale;
    if (tilt_check(o, p, rw) < 0) {
        reward_free(rw);
        cli_die_err(ERR_USAGE);
    }
}

/* With --likelihood: every record of r to w, each batch one through
 * tilt_record. */
static void run_observations(tz_reader *r, tz_writer *w, prior *p, reward *rw,
                             const tilt_opts *o, FILE *trace, double *x, double *wt,
                             tilt_row *rows)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t done = 0;
    char where[600];
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        snprintf(where, sizeof where, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        if (rec.kind == TZ_BATCH)
            tilt_record(&rec, where, p, rw, o, trace, x, wt, rows, &done);
        if (tz_write(w, &rec) < 0)
            cli_die_last();
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_record_free(&rec);
}

int main(int argc, char **argv)
{
    int first;
    tilt_opts o;
    parse_cmdline(argc, argv, &first, &o);
    nn_set_threads(cli.threads);
    gmm g;
    model m;
    prior p;
    open_prior(&p, &g, &m);
    size_t n = g_opt.particles, D = (size_t)p.dim;
    double *x = mem_alloc_array(n, D * sizeof(double)), *wt = mem_alloc_array(n, sizeof(double));
    tilt_row *rows = mem_alloc_array((size_t)tilt_trace_rows(&o) + 1, sizeof(tilt_row));
    g_mean = mem_alloc_array(D, sizeof(double));
    if (!x || !wt || !rows || !g_mean)
        cli_die_last();
    out_file *tf = NULL;
    FILE *trace = NULL;
    if (g_opt.trace) {
        if (!(tf = out_open(g_opt.trace)))
            cli_die_last();
        trace = out_stream(tf);
        fprintf(trace, "population\tstep\tkappa\tbeta\tess\tvar_g\tvar_phi\ttheta_reward\t"
                "theta_score\ttheta_drift\taccept\tresampled\n");
    }
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    if (!w)
        cli_die_last();
    reward rw;
    open_reward(&rw, &p, &o);
    cli_progress_start(&g_bar, "tilt: steps", g_opt.likelihood ? 0 : (uint64_t)o.steps);
    if (g_opt.likelihood) {
        tz_reader *r = tz_reader_open_list(argv + first, argc - first);
        if (!r)
            cli_die_last();
        run_observations(r, w, &p, &rw, &o, trace, x, wt, rows);
        tz_reader_close(r);
    } else {
        int nrows = tilt_run(&p, &rw, &o, n, 0, x, wt, rows);
        if (nrows < 0) {
            reward_free(&rw);       /* an --exec program ends with it */
            cli_die_err(nrows);
        }
        g_steps_before += (uint64_t)o.steps;
        if (reward_finish(&rw) < 0)
            cli_die_last();
        if (trace)
            write_trace(trace, 0, rows, nrows);
        write_population(w, &p, x, wt, n);
    }
    cli_progress_end(&g_bar, g_steps_before);
    /* the data first: a trace appears only for a run that did */
    if (tz_writer_close(w) < 0 || (tf && out_commit(tf) < 0))
        cli_die_last();
    reward_free(&rw);
    prior_free(&p);
    if (g_opt.gmm)
        gmm_free(&g);
    else
        model_free(&m);
    free(x), free(wt), free(rows), free(g_mean);
    return 0;
}
