/* simulate - the forward simulator inside the SCSI loop: append to each
 * record a simulated observation of its candidate clean field.
 *
 * The simulator is a built-in spec (as corrupt's) or, with --exec, any
 * program that reads a tensor stream on standard input and writes one on
 * standard output, started once for the whole stream (the protocol is in
 * simulate(1) and sim.h).  With -K, each candidate is re-corrupted K times
 * independently: output rows i*K .. i*K+K-1 belong to candidate i.  Each
 * output record says how it was made, as corrupt's do: the attributes
 * forward (the SPEC) or forward_exec (the COMMAND), forward_seed and
 * forward_resamples.  With --shard I/N, only the records of shard I
 * (shard.h), so that N processes share the work. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "ops/fwd.h"        /* fwd_parse, fwd_help */
#include "ops/sim.h"        /* sim_builtin */
#include "ops/sim_ext.h"    /* sim_ext_* */
#include "formats/shard.h"      /* shard_parse, shard_open */
#include "formats/tz.h"         /* tz_reader, tz_writer */

struct cmdline {
    const char *field, *out, *exec, *shard;
    uint64_t resamples;
    double timeout;
};

static struct cmdline g_opt = { .field = "x0", .out = "x1", .resamples = 1,
                                .timeout = 60 };

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "the candidate clean field (default x0)", 0, 0 },
    { "out-field", 'y', CLI_STR, &g_opt.out, "NAME",
      "name of the simulated observation (default x1)", 0, 0 },
    { "resamples", 'K', CLI_U64, &g_opt.resamples, "K",
      "independent re-corruptions per candidate (default 1)", 1, 1e6 },
    { "exec", 'e', CLI_STR, &g_opt.exec, "COMMAND",
      "run COMMAND (with /bin/sh -c, exec'd if a simple command) as the "
      "simulator instead of a SPEC", 0, 0 },
    { "timeout", 't', CLI_DOUBLE, &g_opt.timeout, "SECONDS",
      "--exec: longest wait for an answer, 0 for none (default 60)", 0, 1e9 },
    { "shard", 0, CLI_STR, &g_opt.shard, "I/N",
      "only shard I of N of the records (from 0): the N outputs, concatenated in "
      "order, are the whole output (default: all)", 0, 0 },
    { 0 }
};

static cli_spec g_spec = {
    "simulate", "[OPTION]... {SPEC | --exec COMMAND} [FILE]...",
    "Append a simulated observation of each record's candidate field "
    "(standard input if no FILE), from a built-in forward model SPEC or an "
    "external program.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

/* The provenance attributes, as corrupt's: what made the observation. */
static char g_seed[32], g_k[16];

static int provenance(tz_record *out, const char *spec)
{
    int rc = tz_record_set_attr(out, g_opt.exec ? "forward_exec" : "forward",
                                g_opt.exec ? g_opt.exec : spec);
    if (rc == 0)
        tz_record_remove_attr(out, g_opt.exec ? "forward" : "forward_exec");
    if (rc == 0)
        rc = tz_record_set_attr(out, "forward_seed", g_seed);
    if (rc == 0)
        rc = tz_record_set_attr(out, "forward_resamples", g_k);
    return rc;
}

/* Take the oldest answer from the external program and write it out. */
static void receive(sim_ext *ext, tz_writer *w)
{
    tz_record out;
    int rc = sim_ext_receive(ext, &out);
    if (rc == 0 && (rc = provenance(&out, NULL)) < 0)
        rc = err_prefix(rc, "output record");
    if (rc < 0) {
        sim_ext_kill(ext);
        cli_die_err(rc);
    }
    if (tz_write(w, &out) < 0) {
        sim_ext_kill(ext);
        cli_die_last();
    }
    tz_record_free(&out);
}

int main(int argc, char **argv)
{
    int first;
    g_spec.details = fwd_help();
    cli_parse(&g_spec, argc, argv, &first);
    fwd_spec spec;
    const char *spec_text = NULL;
    if (!g_opt.exec) {
        if (first == argc)
            cli_die(EXIT_USAGE, "need a forward-model SPEC or --exec COMMAND");
        spec_text = argv[first];
        if (fwd_parse(argv[first++], &spec) < 0)
            cli_die_last();
    }
    if (!tz_name_valid(g_opt.out, strlen(g_opt.out)))
        cli_die(EXIT_USAGE, "--out-field: '%s' is not a valid field name", g_opt.out);
    if (g_opt.exec && strlen(g_opt.exec) > TZ_VALUE_MAX)
        cli_die(EXIT_USAGE, "--exec: COMMAND longer than %d bytes", TZ_VALUE_MAX);
    shard_spec shard = { 0, 0 };
    if (g_opt.shard && shard_parse(g_opt.shard, &shard) < 0)
        cli_die_last();
    snprintf(g_seed, sizeof g_seed, "%" PRIu64, cli.seed);
    snprintf(g_k, sizeof g_k, "%" PRIu64, g_opt.resamples);
    /* done: candidates before this record, from the shard's first */
    uint64_t done = 0;
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    tz_reader *r = w ? shard_open(argv + first, argc - first, &shard, &done) : NULL;
    if (!r)
        cli_die_last();
    uint64_t start = done;
    uint32_t k = (uint32_t)g_opt.resamples;
    sim_ext *ext = NULL;
    sim_ext_opts eo = { g_opt.field, g_opt.out, k, cli.seed, g_opt.timeout };
    if (g_opt.exec && !(ext = sim_ext_start(g_opt.exec, &eo)))
        cli_die_last();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    cli_progress bar;
    cli_progress_start(&bar, "simulate: candidates", 0);
    int rc;
    int pending = 0;        /* a record is out with the external program */
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH) {
            if (pending)
                receive(ext, w);
            pending = 0;
            if (tz_write(w, &rec) < 0) {
                sim_ext_kill(ext);
                cli_die_last();
            }
            continue;
        }
        if (ext) {
            /* The program sees the candidates already repeated, with the
             * seed, the index of the first row, the field names and the
             * sample shape as attributes (sim_ext_send), so that it can
             * key its own random draws.  The next record goes out before
             * the previous answer is taken, so that the program works
             * while this side writes. */
            tz_record sent;
            tz_record_init(&sent, TZ_BATCH);
            uint64_t n = tz_record_batch(&rec);
            if (!tz_record_find(&rec, g_opt.field)) {
                rc = err_set(ERR_DATA, "no field '%s'", g_opt.field);
            } else if (tz_record_find(&rec, g_opt.out)) {
                rc = err_set(ERR_DATA, "field '%s' is already there", g_opt.out);
            } else if (k == 1) {        /* send the record itself: no copy */
                sent = rec;
                tz_record_init(&rec, TZ_BATCH);
                rc = 0;
            } else {
                rc = sim_repeat(&rec, k, &sent);
            }
            if (rc == 0)
                rc = sim_ext_send(ext, &sent, done * k);
            tz_record_free(&sent);
            if (rc < 0) {
                sim_ext_kill(ext);
                if (rc == ERR_DATA)
                    cli_die(EXIT_DATA, "%s: record %" PRIu64 ": %s", tz_reader_name(r),
                            tz_reader_index(r), err_msg());
                cli_die_err(rc);
            }
            if (pending)
                receive(ext, w);
            pending = 1;
            done += n;
        } else {
            tz_record out;
            if (sim_builtin(&spec, &rec, g_opt.field, g_opt.out, done, k, cli.seed,
                            cli.threads, &out) < 0 || provenance(&out, spec_text) < 0)
                cli_die(-err_code(), "%s: record %" PRIu64 ": %s", tz_reader_name(r),
                        tz_reader_index(r), err_msg());
            if (tz_write(w, &out) < 0)
                cli_die_last();
            tz_record_free(&out);
            done += tz_record_batch(&rec);
        }
        cli_progress_update(&bar, done - start);
    }
    if (rc < 0) {
        sim_ext_kill(ext);
        cli_die_err(rc);
    }
    if (pending)
        receive(ext, w);
    cli_progress_end(&bar, done - start);
    tz_reader_close(r);
    if (ext && sim_ext_finish(ext) < 0)
        cli_die_last();
    if (tz_writer_close(w) < 0)
        cli_die_last();
    tz_record_free(&rec);
    return 0;
}
