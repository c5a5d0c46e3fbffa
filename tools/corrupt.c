/* corrupt - apply a built-in forward model to a clean stream: the tool
 * that makes benchmark observation sets.
 *
 * Each batch record's clean field becomes an observation field plus the
 * operators' side information (mask, angle, quality, ...); other fields
 * pass through.  The clean field is dropped unless --keep is given (keep
 * it to evaluate restorations later).  Plain records pass through. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "ops/fwd.h"        /* fwd_parse, fwd_help */
#include "ops/sim.h"        /* sim_builtin */
#include "formats/tz.h"         /* tz_reader, tz_writer */

struct cmdline {
    const char *field, *out;
    int keep;
};

static struct cmdline g_opt = { .field = "x", .out = "y" };

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "the clean field to corrupt (default x)", 0, 0 },
    { "out-field", 'y', CLI_STR, &g_opt.out, "NAME",
      "name of the observation field (default y)", 0, 0 },
    { "keep", 'k', CLI_FLAG, &g_opt.keep, NULL,
      "keep the clean field beside the observation", 0, 0 },
    { 0 }
};

static cli_spec g_spec = {
    "corrupt", "[OPTION]... SPEC [FILE]...",
    "Corrupt the samples of a tensor stream (standard input if no FILE) with "
    "the forward model SPEC: operators op:key=value:... joined by commas, "
    "applied in order.",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT | CLI_LEVEL, NULL
};

int main(int argc, char **argv)
{
    int first;
    g_spec.details = fwd_help();
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need a forward-model SPEC, e.g. blur:sigma=1,awgn:sigma=0.1");
    fwd_spec spec;
    if (fwd_parse(argv[first], &spec) < 0)
        cli_die_last();
    if (!tz_name_valid(g_opt.out, strlen(g_opt.out)))
        cli_die(EXIT_USAGE, "--out-field: '%s' is not a valid field name", g_opt.out);
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    tz_reader *r = w ? tz_reader_open_list(argv + first + 1, argc - first - 1) : NULL;
    if (!r)
        cli_die_last();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, cli.seed);
    tz_record rec, out;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t done = 0;
    cli_progress bar;
    cli_progress_start(&bar, "corrupt: samples", 0);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH) {
            if (tz_write(w, &rec) < 0)
                cli_die_last();
            continue;
        }
        if (sim_builtin(&spec, &rec, g_opt.field, g_opt.out, done, 1, cli.seed,
                        cli.threads, &out) < 0 ||
            tz_record_set_attr(&out, "forward", argv[first]) < 0 ||
            tz_record_set_attr(&out, "forward_seed", seed) < 0)
            cli_die(-err_code(), "%s: record %" PRIu64 ": %s", tz_reader_name(r),
                    tz_reader_index(r), err_msg());
        if (!g_opt.keep)
            tz_record_remove(&out, (int)(tz_record_find(&out, g_opt.field) - out.t));
        if (tz_write(w, &out) < 0)
            cli_die_last();
        tz_record_free(&out);
        done += tz_record_batch(&rec);
        cli_progress_update(&bar, done);
    }
    if (rc < 0)
        cli_die_err(rc);
    cli_progress_end(&bar, done);
    tz_reader_close(r);
    if (tz_writer_close(w) < 0)
        cli_die_last();
    tz_record_free(&rec);
    return 0;
}
