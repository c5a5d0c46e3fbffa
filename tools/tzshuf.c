/* tzshuf - shuffle the samples of a tensor stream.
 *
 * A uniform random permutation of all samples (Fisher-Yates, drawn from
 * --seed), so the whole stream is held in memory: about the size of its
 * decompressed payload.  All batch records must have the same fields.
 * Output records have --batch samples (default: the first input
 * record's batch size).  --count N writes only the shuffle's first N: a
 * random subset of a large stream without compressing the rest. */
#include <inttypes.h>
#include <stdio.h>

#include "formats/batch.h"      /* batch_acc, batch_append, batch_swap_rows */
#include "tool/cli.h"        /* cli_parse, cli_die */
#include "base/rng.h"        /* rng_init, rng_below */
#include "formats/tz.h"         /* tz_reader, tz_writer */

enum { SHUF_RNG = 0x5401 };

static uint64_t g_batch, g_count = UINT64_MAX;

static const cli_opt g_opts[] = {
    { "batch", 'n', CLI_U64, &g_batch, "N",
      "samples per output record (default: the first input record's)", 1, 1e12 },
    { "count", 'c', CLI_U64, &g_count, "N",
      "write only the first N samples of the shuffle (default: all)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzshuf", "[OPTION]... [FILE]...",
    "Shuffle the samples of tensor streams (standard input if no FILE) "
    "in memory.",
    g_opts, CLI_SEED | CLI_OUTPUT | CLI_LEVEL, NULL
};

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    /* Opened first, so a refused terminal fails before the reading. */
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    if (!w)
        cli_die_last();
    batch_acc all;
    batch_init(&all);
    cli_progress bar;
    cli_progress_start(&bar, "tzshuf: samples read", 0);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    tz_reader *r = tz_reader_open_list(argv + first, argc - first);
    if (!r)
        cli_die_last();
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH || !batch_compatible(&all, &rec))
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": %s", tz_reader_name(r),
                    tz_reader_index(r), rec.kind != TZ_BATCH
                    ? "not a batch record" : "fields differ from the first record's");
        if (!g_batch)
            g_batch = tz_record_batch(&rec);
        if (batch_append(&all, &rec, 0, tz_record_batch(&rec)) < 0)
            cli_die_last();
        cli_progress_update(&bar, all.rows);
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_reader_close(r);
    cli_progress_end(&bar, all.rows);
    rng_t rng;
    rng_init(&rng, cli.seed, SHUF_RNG, 0);
    for (uint64_t i = all.rows; i > 1; i--)
        batch_swap_rows(&all, i - 1, rng_below(&rng, i));
    uint64_t n = g_count < all.rows ? g_count : all.rows;
    for (uint64_t s = 0; s < n; s += g_batch) {
        tz_record view;
        batch_view(&view, &all.rec, s, s + g_batch < n ? s + g_batch : n);
        if (tz_write(w, &view) < 0)
            cli_die_last();
    }
    if (tz_writer_close(w) < 0)
        cli_die_last();
    batch_free(&all);
    tz_record_free(&rec);
    return 0;
}
