/* restore - restore observations through a trained interpolant: each
 * observation x1 is transported to t = 0, once (the ODE) or K times (the
 * SDE: posterior samples, whose mean is the restoration).  Given the clean
 * reference field, scores each restoration and each observation against
 * it (MSE, PSNR, SSIM) as TSV.
 *
 * Sample k of K draws its SDE noise with seed (--seed, k) keyed by the
 * observation's index, so the output does not depend on the batching; with
 * K = 1 it is pushback's.
 *
 * With --classic, no model: a classical restorer (method/classic.h) fills
 * the unobserved values of x1 (its mask field given) into x0, or
 * deconvolves it (through --instrument: the linear MMSE of deconv.h, or
 * Tikhonov's per-signal estimate of tikhonov.h), and the same scores
 * follow.  With --dps SPEC, the model is a generative prior
 * trained on clean data, guided by the instrument SPEC's linear part
 * (method/dps.h): the baseline that needs clean data and a known,
 * differentiable instrument. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "eval/imq.h"        /* imq_scores, imq_psnr */
#include "base/mem.h"        /* mem_alloc_array */
#include "method/model.h"      /* model_load */
#include "nn/nn.h"         /* nn_set_threads */
#include "base/out.h"        /* out_open, out_commit */
#include "method/push.h"       /* push_transport */
#include "method/classic.h"    /* cls_restore */
#include "method/post.h"       /* post_group */
#include "method/deconv.h"     /* dcv_restore_record */
#include "method/deblock.h"    /* dbk_restore_record */
#include "method/tikhonov.h"   /* tik_restore_record */
#include "ops/fwd.h"           /* fwd_parse, fwd_linear */
#include "eval/moments.h"      /* mom_read */
#include "formats/tz.h"         /* tz_reader, tz_writer */

struct cmdline {
    const char *model, *method, *reference, *metrics, *samples_field, *means;
    const char *classic, *prior, *mask, *dps, *instrument;
    int steps, sde, raw, samples, order;
    double range, noise_var, ridge, zeta, threshold, lambda;
};

static struct cmdline g_opt = { .steps = 40, .method = "euler", .samples = 1, .range = 1,
                                .mask = "mask", .ridge = -1, .zeta = 1, .noise_var = -1,
                                .threshold = 0.1, .lambda = 1, .order = 2 };

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE", "the trained model (required without --classic)", 0, 0 },
    { "steps", 'n', CLI_INT, &g_opt.steps, "N", "integration steps (default 40)", 1, 1000000 },
    { "method", 0, CLI_STR, &g_opt.method, "euler|heun", "the integrator (default euler)", 0, 0 },
    { "sde", 0, CLI_FLAG, &g_opt.sde, NULL,
      "integrate the SDE (a model trained with --gamma > 0 and --combined or --denoiser)",
      0, 0 },
    { "raw", 0, CLI_FLAG, &g_opt.raw, NULL, "use the raw weights, not their EMA", 0, 0 },
    { "samples", 'k', CLI_INT, &g_opt.samples, "K",
      "posterior samples per observation, averaged (K > 1 needs --sde; default 1)", 1, 4096 },
    { "keep-samples", 0, CLI_STR, &g_opt.samples_field, "NAME",
      "also write the K samples as field NAME, shape (N, K, ...)", 0, 0 },
    { "means", 0, CLI_STR, &g_opt.means, "K1,K2,...",
      "also the means of the first K1, K2, ... samples, as fields X0_meanK (X0 the model's "
      "x0)", 0, 0 },
    { "reference", 'r', CLI_STR, &g_opt.reference, "NAME",
      "the clean field to score against (it passes through)", 0, 0 },
    { "metrics", 0, CLI_STR, &g_opt.metrics, "FILE",
      "with --reference: per-sample and mean MSE, PSNR, SSIM as TSV to FILE", 0, 0 },
    { "data-range", 0, CLI_DOUBLE, &g_opt.range, "L",
      "the data's range for PSNR and SSIM (default 1)", 1e-30, 1e30 },
    { "dps", 0, CLI_STR, &g_opt.dps, "SPEC",
      "diffusion posterior sampling: -m is a generative prior, guided through the "
      "instrument SPEC (its linear part: mask, blur, motion, down, noise)", 0, 0 },
    { "zeta", 0, CLI_DOUBLE, &g_opt.zeta, "Z", "--dps: the guidance step (default 1)", 0,
      1e6 },
    { "classic", 0, CLI_STR, &g_opt.classic, "neighbour|harmonic|lmmse|deblock|tikhonov",
      "no model: a classical restorer of x1 into x0 (masked images; deblock: JPEG images; "
      "tikhonov: 1-D signals through --instrument)", 0, 0 },
    { "threshold", 0, CLI_DOUBLE, &g_opt.threshold, "T",
      "--classic deblock: block-edge steps below T are smoothed (default 0.1)", 0, 1e30 },
    { "prior", 0, CLI_STR, &g_opt.prior, "FILE",
      "--classic lmmse: the prior's mean and covariance (a tzmoments file)", 0, 0 },
    { "mask", 0, CLI_STR, &g_opt.mask, "NAME",
      "--classic: the mask field, 1 observed, 0 not (default mask)", 0, 0 },
    { "instrument", 0, CLI_STR, &g_opt.instrument, "SPEC",
      "--classic lmmse: the observations went through the linear instrument SPEC (mask, "
      "blur, motion, down, noise), not a mask alone; --classic tikhonov (required): through "
      "SPEC's smooth, tilt, mask and noise", 0, 0 },
    { "noise-var", 0, CLI_DOUBLE, &g_opt.noise_var, "V",
      "--classic lmmse, tikhonov: the noise variance of the observed values (default 0, or "
      "--instrument's)", 0, 1e30 },
    { "lambda", 0, CLI_DOUBLE, &g_opt.lambda, "L",
      "--classic tikhonov: the roughness penalty's weight against the chi-square (default 1)",
      0, 1e30 },
    { "order", 0, CLI_INT, &g_opt.order, "K",
      "--classic tikhonov: the differences penalised, 0 (the values), 1 or 2 (default 2)",
      0, 2 },
    { "ridge", 0, CLI_DOUBLE, &g_opt.ridge, "R",
      "--classic lmmse: added to the observed block's diagonal; observed values kept "
      "(default 1e-6 L^2)", 0, 1e30 },
    { 0 }
};

static const cli_spec g_spec = {
    "restore", "[OPTION]... (-m MODEL | --classic NAME) [FILE]...",
    "Restore the observations of a tensor stream (standard input if no FILE) "
    "through a trained interpolant, or a classical restorer; score them against a clean "
    "reference.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

static lin_chain g_lin;     /* --dps, --instrument: the instrument's linear part */

/* ---- scores ------------------------------------------------------------ */

enum { SC_MSE = IMQ_MSE, SC_PSNR = IMQ_PSNR, SC_SSIM = IMQ_SSIM, SC_N = IMQ_NSCORES };

typedef struct {
    FILE *tsv;              /* per-sample rows, or NULL */
    double sum[2][SC_N];    /* restored, observed */
    uint64_t n;
} scores;

static void score_record(scores *sc, const tz_tensor *x, const tz_tensor *y,
                         const tz_tensor *ref)
{
    size_t D = tz_tensor_row_bytes(x) / 4;
    for (uint64_t i = 0; i < x->dims[0]; i++) {
        double s[2][SC_N];
        const float *c = (const float *)ref->data + i * D;
        imq_scores((const float *)x->data + i * D, c, x->rank, x->dims, g_opt.range, s[0]);
        imq_scores((const float *)y->data + i * D, c, x->rank, x->dims, g_opt.range, s[1]);
        if (sc->tsv)
            fprintf(sc->tsv, "%" PRIu64 "\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\n", sc->n,
                    s[0][0], s[0][1], s[0][2], s[1][0], s[1][1], s[1][2]);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < SC_N; j++)
                sc->sum[k][j] += s[k][j];
        sc->n++;
    }
}

/* ---- restoring ----------------------------------------------------------- */

/* --means: the counts, in the order given (at most 16). */
static int g_nmeans;
static int g_means[16];

/* The field of the mean of the first k samples. */
static const char *mean_name(const model *m, int k)
{
    static char buf[MODEL_NAME_MAX + 32];
    snprintf(buf, sizeof buf, "%s_mean%d", m->x0, k);
    return buf;
}

/* With --reference, the record's reference field must match y (named x1). */
static void check_reference(const tz_record *rec, const tz_tensor *y, const char *x1,
                            const char *where)
{
    const tz_tensor *ref = g_opt.reference ? tz_record_find(rec, g_opt.reference) : NULL;
    if (g_opt.reference && (!ref || ref->dtype != TZ_F32 || !y ||
                            tz_tensor_row_bytes(ref) != tz_tensor_row_bytes(y)))
        cli_die(EXIT_DATA, "%s: need an f32 reference field '%s' shaped as '%s'",
                where, g_opt.reference, x1);
}

/* Check a batch record against the model and the options, and add its
 * restoration field (and samples field) for post_group to fill. */
static void prepare_record(const model *m, tz_record *rec, const char *where)
{
    const tz_tensor *y = push_observation(m, rec, where);
    if (!y)
        cli_die_last();
    if (tz_record_find(rec, m->x0))
        cli_die(EXIT_DATA, "%s: field '%s' is already there", where, m->x0);
    check_reference(rec, y, m->x1, where);
    /* y is not used past here: adding fields may move it */
    int rank = y->rank;
    uint64_t ydims[TZ_RANK_MAX], dims[TZ_RANK_MAX + 1] = { y->dims[0], (uint64_t)g_opt.samples };
    memcpy(ydims, y->dims, sizeof(uint64_t) * (size_t)rank);
    memcpy(dims + 2, y->dims + 1, sizeof(uint64_t) * (size_t)(rank - 1));
    if (!tz_record_add(rec, m->x0, TZ_F32, rank, ydims, NULL) ||
        (g_opt.samples_field &&
         !tz_record_add(rec, g_opt.samples_field, TZ_F32, rank + 1, dims, NULL)))
        cli_die_last();
    for (int i = 0; i < g_nmeans; i++) {
        if (tz_record_find(rec, mean_name(m, g_means[i])))
            cli_die(EXIT_DATA, "%s: field '%s' is already there", where,
                    mean_name(m, g_means[i]));
        if (!tz_record_add(rec, mean_name(m, g_means[i]), TZ_F32, rank, ydims, NULL))
            cli_die_last();
    }
}

/* ---- classical restorers ------------------------------------------------- */

/* The --classic run: every record of the inputs to w. */
static void classic_run(tz_reader *r, tz_writer *w, scores *sc)
{
    int method = cls_parse(g_opt.classic);
    mom_file mf = { 0 };
    cls_prior p = { 0 }, *pp = NULL;
    if (method == CLS_LMMSE) {
        if (mom_read(g_opt.prior, &mf) < 0)
            cli_die_last();
        double s2 = g_opt.noise_var >= 0 ? g_opt.noise_var
                    : g_opt.instrument ? g_lin.noise_var : 0;
        p = (cls_prior){ mf.d, mf.mean, mf.cov, s2, g_opt.ridge >= 0 ?
                         g_opt.ridge : 1e-6 * g_opt.range * g_opt.range };
        pp = &p;
    }
    /* --instrument: the image's shape from the prior's sample shape */
    int C = 1, H = 1, W = 1;
    if (method == CLS_LMMSE && g_opt.instrument) {
        if (mf.rank != 2 && mf.rank != 3)
            cli_die(EXIT_DATA, "%s: --instrument needs a prior of images ((H, W) or (C, H, W) "
                    "per sample)", g_opt.prior);
        C = mf.rank == 3 ? (int)mf.shape[0] : 1;
        H = (int)mf.shape[mf.rank - 2], W = (int)mf.shape[mf.rank - 1];
    }
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        char where[512];
        snprintf(where, sizeof where, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        if (rec.kind == TZ_BATCH) {
            check_reference(&rec, tz_record_find(&rec, "x1"), "x1", where);
            tik_opts to = { g_opt.lambda, g_opt.order, g_opt.noise_var };
            if ((method == CLS_TIKHONOV
                     ? tik_restore_record(&rec, "x1", "x0", &g_lin, &to, cli.threads)
                     : g_opt.instrument
                     ? dcv_restore_record(&rec, "x1", "x0", pp, &g_lin, C, H, W, cli.threads)
                     : method == CLS_DEBLOCK
                     ? dbk_restore_record(&rec, "x1", "x0", g_opt.threshold)
                     : cls_restore_record(&rec, "x1", g_opt.mask, "x0", method, pp,
                                          cli.threads)) < 0)
                cli_die(-err_code(), "%s: %s", where, err_msg());
            if (g_opt.reference)
                score_record(sc, tz_record_find(&rec, "x0"), tz_record_find(&rec, "x1"),
                             tz_record_find(&rec, g_opt.reference));
        }
        if (tz_write(w, &rec) < 0)
            cli_die_last();
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_record_free(&rec);
    mom_file_free(&mf);
}

/* g_lin from the instrument SPEC of option opt; the spectral operators
 * (smooth, tilt, snr) only for --classic tikhonov, the only method here
 * that reads their side fields. */
static void parse_instrument(const char *opt, const char *text, int spectral)
{
    fwd_spec spec;
    if (fwd_parse(text, &spec) < 0 || fwd_linear(&spec, &g_lin) < 0)
        cli_die(EXIT_USAGE, "%s: %s", opt, err_msg());
    if (!spectral && lin_spectral(&g_lin))
        cli_die(EXIT_USAGE, "%s: smooth, tilt and snr are for --classic tikhonov", opt);
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    int method = g_opt.classic ? cls_parse(g_opt.classic) : -1;
    if (g_opt.classic) {
        if (g_opt.model)
            cli_die(EXIT_USAGE, "--classic restores without a model: not with -m");
        if (method < 0)
            cli_die(EXIT_USAGE, "--classic needs neighbour, harmonic, lmmse, deblock or "
                    "tikhonov; got '%s'", g_opt.classic);
        if ((method == CLS_LMMSE) != (g_opt.prior != NULL))
            cli_die(EXIT_USAGE, "--prior FILE goes with --classic lmmse, and only with it");
    } else if (g_opt.prior)
        cli_die(EXIT_USAGE, "--prior needs --classic lmmse");
    if (method == CLS_TIKHONOV && !g_opt.instrument)
        cli_die(EXIT_USAGE, "--classic tikhonov needs --instrument SPEC");
    if (g_opt.instrument) {
        if (!g_opt.prior && method != CLS_TIKHONOV)
            cli_die(EXIT_USAGE, "--instrument goes with --classic lmmse --prior FILE or "
                    "--classic tikhonov");
        parse_instrument("--instrument", g_opt.instrument, method == CLS_TIKHONOV);
    }
    if (!g_opt.model && !g_opt.classic)
        cli_die(EXIT_USAGE, "need -m MODEL or --classic NAME");
    if (g_opt.samples > 1 && !g_opt.sde && !g_opt.dps)
        cli_die(EXIT_USAGE, "--samples %d needs --sde: the ODE gives one answer",
                g_opt.samples);
    if (g_opt.dps) {
        if (g_opt.classic || g_opt.sde)
            cli_die(EXIT_USAGE, "--dps is a method of its own: not with --classic or --sde");
        parse_instrument("--dps", g_opt.dps, 0);
    }
    if (g_opt.means && g_opt.classic)
        cli_die(EXIT_USAGE, "--means is for samples: not with --classic");
    if ((g_nmeans = post_parse_counts(g_opt.means, g_opt.samples, g_means, 16)) < 0)
        cli_die(EXIT_USAGE, "--means needs up to 16 counts from 1 to --samples (%d), "
                "comma-separated; got '%s'", g_opt.samples, g_opt.means);
    if (g_opt.metrics && !g_opt.reference)
        cli_die(EXIT_USAGE, "--metrics needs --reference NAME");
    nn_set_threads(cli.threads);
    model m = { 0 };
    push_opts po;
    if (!g_opt.classic) {
        if (push_load(&m, g_opt.model, g_opt.method, g_opt.sde, g_opt.raw, g_opt.steps,
                      &po) < 0)
            cli_die_last();
        if (g_opt.dps && dps_check_model(&m) < 0)
            cli_die(EXIT_USAGE, "%s: %s", g_opt.model, err_msg());
        if (m.generative && !g_opt.dps)
            cli_die(EXIT_USAGE, "%s is a generative model: it restores nothing but with --dps "
                    "(see also pushback --count)", g_opt.model);
    }
    scores sc = { 0 };
    out_file *mf = NULL;
    if (g_opt.metrics) {
        if (!(mf = out_open(g_opt.metrics)))
            cli_die_last();
        sc.tsv = out_stream(mf);
        fprintf(sc.tsv, "index\tmse\tpsnr\tssim\tmse_obs\tpsnr_obs\tssim_obs\n");
    }
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    tz_reader *r = w ? tz_reader_open_list(argv + first, argc - first) : NULL;
    if (!r)
        cli_die_last();
    push_group g = { 0 };
    if (g_opt.classic) {
        classic_run(r, w, &sc);
        goto summary;
    }
    cli_progress bar;
    cli_progress_start(&bar, "restore: samples", 0);
    uint64_t done = 0;
    size_t D = (size_t)m.net.dim, K = (size_t)g_opt.samples;
    int rc;
    while ((rc = push_group_read(&g, r, done, m.net.dim)) == 1) {
        for (int i = 0; i < g.n; i++)
            if (g.rec[i].kind == TZ_BATCH)
                prepare_record(&m, &g.rec[i], g.where[i]);
        float *x = mem_alloc_array(g.rows, 4 * D);
        float *one = K > 1 ? mem_alloc_array(g.rows, 4 * D) : NULL;
        int keep = g_opt.samples_field || g_nmeans;
        float *all = keep ? mem_alloc_array(g.rows, 4 * D * K) : NULL;
        if (g.rows && (!x || (K > 1 && !one) || (keep && !all)))
            cli_die_last();
        post_opts o = { g_opt.samples, g_opt.dps ? &g_lin : NULL, g_opt.zeta, cli.seed };
        if (post_group(&m, &g, &po, &o, done, x, all, one) < 0)
            cli_die_last();
        push_group_scatter(&g, m.x0, x, D);
        if (g_opt.samples_field)
            push_group_scatter(&g, g_opt.samples_field, all, D * K);
        for (int c = 0; c < g_nmeans; c++) {    /* x is free now */
            post_mean_of_first(all, g.rows, D, K, (size_t)g_means[c], x);
            push_group_scatter(&g, mean_name(&m, g_means[c]), x, D);
        }
        free(x), free(one), free(all);
        for (int i = 0; i < g.n; i++) {
            tz_record *rec = &g.rec[i];
            if (rec->kind == TZ_BATCH && g_opt.reference)
                score_record(&sc, tz_record_find(rec, m.x0), tz_record_find(rec, m.x1),
                             tz_record_find(rec, g_opt.reference));
            if (tz_write(w, rec) < 0)
                cli_die_last();
        }
        done += g.rows;
        cli_progress_update(&bar, done);
    }
    if (rc < 0)
        cli_die_err(rc);
    cli_progress_end(&bar, done);
summary:
    if (sc.n) {
        double *a = sc.sum[0], *b = sc.sum[1], n = (double)sc.n;
        if (sc.tsv)
            fprintf(sc.tsv, "mean\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\n", a[0] / n, a[1] / n,
                    a[2] / n, b[0] / n, b[1] / n, b[2] / n);
        cli_info("%" PRIu64 " samples: PSNR %.2f dB restored, %.2f dB observed; SSIM %.4f "
                 "restored, %.4f observed; PSNR of the mean MSE %.2f dB restored, %.2f dB "
                 "observed", sc.n, a[SC_PSNR] / n, b[SC_PSNR] / n, a[SC_SSIM] / n,
                 b[SC_SSIM] / n, imq_psnr(a[SC_MSE] / n, g_opt.range),
                 imq_psnr(b[SC_MSE] / n, g_opt.range));
    }
    /* The data first: metrics appear only for a restoration that did. */
    if (tz_writer_close(w) < 0 || (mf && out_commit(mf) < 0))
        cli_die_last();
    tz_reader_close(r);
    push_group_free(&g);
    if (!g_opt.classic)
        model_free(&m);
    return 0;
}
