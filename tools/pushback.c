/* pushback - push observations backward through a trained interpolant:
 * integrate the learned reverse dynamics from t = 1 (the observation x1)
 * to t = 0, giving candidate clean samples x0.  The observation and the
 * side information pass through, so simulate and si-train downstream see
 * the pairs.  With --count, a generative model's samples from noise.
 *
 * Records are transported in groups whose rows end on a block of 64
 * (push.h), on the layers' --threads threads (nn.h), and written as they
 * came.  The SCSI loop renames or drops the observation before simulate
 * adds its own x1 (see pushback(1)).  With --shard I/N, only the records
 * of shard I (shard.h), so that N processes share the work. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "base/mem.h"        /* mem_alloc_array */
#include "nn/nn.h"         /* nn_set_threads */
#include "method/model.h"      /* model_load */
#include "base/rng.h"        /* rng_init */
#include "method/push.h"       /* push_group_read, push_transport */
#include "method/si.h"         /* si_transport */
#include "formats/shard.h"      /* shard_parse, shard_open, shard_range */
#include "formats/tz.h"         /* tz_reader, tz_writer */

enum { PB_RNG_NOISE = 0x50420001 };

struct cmdline {
    const char *model, *method, *shard;
    int steps, sde, raw;
    uint64_t count, batch;
};

static struct cmdline g_opt = { .steps = 40, .method = "euler", .batch = 1024 };

static const cli_opt g_opts[] = {
    { "model", 'm', CLI_STR, &g_opt.model, "FILE", "the trained model (required)", 0, 0 },
    { "steps", 'n', CLI_INT, &g_opt.steps, "N", "integration steps (default 40)", 1, 1000000 },
    { "method", 0, CLI_STR, &g_opt.method, "euler|heun", "the integrator (default euler)", 0, 0 },
    { "sde", 0, CLI_FLAG, &g_opt.sde, NULL,
      "integrate the SDE (a model trained with --gamma > 0 and --combined or "
      "--denoiser)", 0, 0 },
    { "raw", 0, CLI_FLAG, &g_opt.raw, NULL, "use the raw weights, not their EMA", 0, 0 },
    { "count", 'c', CLI_U64, &g_opt.count, "N",
      "generative model: N samples from noise, no input", 0, 1e12 },
    { "batch", 'b', CLI_U64, &g_opt.batch, "N",
      "with --count: samples per record (default 1024)", 1, 1 << 24 },
    { "shard", 0, CLI_STR, &g_opt.shard, "I/N",
      "only shard I of N of the records (from 0): the N outputs, concatenated in "
      "order, are the whole output (default: all)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "pushback", "[OPTION]... -m MODEL [FILE]...",
    "Transport observations (standard input if no FILE) to candidate clean "
    "samples through a trained interpolant.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (!g_opt.model)
        cli_die(EXIT_USAGE, "need -m MODEL");
    nn_set_threads(cli.threads);
    model m;
    push_opts po;
    if (push_load(&m, g_opt.model, g_opt.method, g_opt.sde, g_opt.raw, g_opt.steps, &po) < 0)
        cli_die_last();
    po.seed = cli.seed;
    if (g_opt.count && first < argc)
        cli_die(EXIT_USAGE, "--count samples from noise and takes no FILE");
    if (g_opt.count && (!m.generative || m.net.cond))
        cli_die(EXIT_USAGE, "--count needs a generative model without side inputs");
    if (!g_opt.count && m.generative)
        cli_die(EXIT_USAGE, "a generative model samples with --count N");
    shard_spec shard = { 0, 0 };
    if (g_opt.shard && shard_parse(g_opt.shard, &shard) < 0)
        cli_die_last();
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    if (!w)
        cli_die_last();
    int D = m.net.dim;
    /* With --count, the samples [start, stop) of this shard's records of
     * --batch samples each. */
    uint64_t k0, k1, start = 0, stop = g_opt.count;
    if (g_opt.count) {
        shard_range(&shard, (g_opt.count + g_opt.batch - 1) / g_opt.batch, &k0, &k1);
        start = k0 * g_opt.batch;
        stop = k1 * g_opt.batch < g_opt.count ? k1 * g_opt.batch : g_opt.count;
    }
    cli_progress bar;
    cli_progress_start(&bar, "pushback: samples", stop - start);
    uint64_t done = 0;
    if (g_opt.count) {
        for (uint64_t s = start; s < stop; s += g_opt.batch) {
            uint64_t n = stop - s < g_opt.batch ? stop - s : g_opt.batch;
            tz_record out;
            tz_record_init(&out, TZ_BATCH);
            /* a U-Net's samples are images (C, H, W), or signals (C, L) */
            const unet_config *u = &m.net.c.unet;
            int is_unet = m.net.c.arch == NET_UNET, rank = !is_unet ? 2 : u->H == 1 ? 3 : 4;
            uint64_t dims[4] = { n, is_unet ? (uint64_t)u->C : (uint64_t)D,
                                 rank == 3 ? (uint64_t)u->W : (uint64_t)u->H, (uint64_t)u->W };
            tz_tensor *x = tz_record_add(&out, m.x0, TZ_F32, rank, dims, NULL);
            if (!x)
                cli_die_last();
            for (uint64_t i = 0; i < n; i++) {
                rng_t r;
                rng_init(&r, cli.seed, PB_RNG_NOISE, s + i);
                rng_add_normal_f32(&r, (float *)x->data + i * (uint64_t)D, (uint64_t)D, 1.0f);
            }
            if (si_transport(&m.net, &m.ip, po.sde, po.method, po.steps, x->data, NULL,
                             (int)n, cli.seed, s) < 0 ||
                push_check_finite(x->data, n, (size_t)D, "--count") < 0)
                cli_die_last();
            if (tz_write(w, &out) < 0)
                cli_die_last();
            tz_record_free(&out);
            cli_progress_update(&bar, s + n - start);
        }
    } else {
        /* done: the stream index of the next sample, from the shard's first */
        tz_reader *r = shard_open(argv + first, argc - first, &shard, &done);
        if (!r)
            cli_die_last();
        start = done;
        push_group g = { 0 };
        int rc;
        while ((rc = push_group_read(&g, r, done, D)) == 1) {
            for (int i = 0; i < g.n; i++) {
                tz_record *rec = &g.rec[i];
                if (rec->kind != TZ_BATCH)
                    continue;
                const tz_tensor *y = push_observation(&m, rec, g.where[i]);
                if (!y)
                    cli_die_last();
                if (tz_record_find(rec, m.x0))
                    cli_die(EXIT_DATA, "%s: field '%s' is already there", g.where[i], m.x0);
                if (!tz_record_add(rec, m.x0, TZ_F32, y->rank, y->dims, NULL))
                    cli_die_last();
            }
            float *x = mem_alloc_array(g.rows, sizeof(float) * (size_t)D);
            if ((g.rows && !x) || push_transport(&m, &g, x, &po, done) < 0)
                cli_die_last();
            push_group_scatter(&g, m.x0, x, (size_t)D);
            free(x);
            for (int i = 0; i < g.n; i++)
                if (tz_write(w, &g.rec[i]) < 0)
                    cli_die_last();
            done += g.rows;
            cli_progress_update(&bar, done - start);
        }
        if (rc < 0)
            cli_die_err(rc);
        tz_reader_close(r);
        push_group_free(&g);
    }
    cli_progress_end(&bar, done);
    if (tz_writer_close(w) < 0)
        cli_die_last();
    model_free(&m);
    return 0;
}
