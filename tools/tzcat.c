/* tzcat - concatenate tensor streams, re-batch them, cut a range of
 * samples out of them, and select, drop or rename fields.
 *
 * Samples are numbered from 0 across all inputs, in order.  Records flow
 * through one at a time; only --batch and --tail hold more (one output
 * record, or the last N samples).  Plain records (not batches) pass
 * through with their fields selected and renamed, never sliced (with
 * --tail they come out ahead of the samples; after --head or --range
 * ends, nothing more is written).  The input is always read to its end. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/batch.h"      /* batch_acc, batch_append, batch_view */
#include "tool/cli.h"        /* cli_parse, cli_die */
#include "formats/tz.h"         /* tz_reader, tz_writer */

struct cmdline {
    uint64_t batch;
    uint64_t head, tail;
    const char *range;
    const char *fields, *drop;
    cli_list rename;
    /* derived */
    uint64_t begin, end;        /* sample range [begin, end) */
    int tail_given;
};

static struct cmdline g_opt;

static const cli_opt g_opts[] = {
    { "batch", 'n', CLI_U64, &g_opt.batch, "N",
      "write records of N samples (the last may be smaller); 0 keeps the "
      "input's records (default 0)", 0, 0 },
    { "head", 0, CLI_U64, &g_opt.head, "N", "only the first N samples", 0, 0 },
    { "tail", 0, CLI_U64, &g_opt.tail, "N", "only the last N samples", 0, 0 },
    { "range", 'r', CLI_STR, &g_opt.range, "A:B",
      "only samples A to B-1 (either end may be empty)", 0, 0 },
    { "fields", 'f', CLI_STR, &g_opt.fields, "LIST",
      "keep only these comma-separated fields, in this order", 0, 0 },
    { "drop", 'd', CLI_STR, &g_opt.drop, "LIST", "remove these fields", 0, 0 },
    { "rename", 'R', CLI_LIST, &g_opt.rename, "OLD=NEW",
      "rename a field (repeatable)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzcat", "[OPTION]... [FILE]...",
    "Concatenate, re-batch, slice and edit the fields of tensor streams "
    "(standard input if no FILE).",
    g_opts, CLI_OUTPUT | CLI_LEVEL, NULL
};

/* Parse the digits in [s, end) into *v; an empty string gives dflt.
 * Returns 1, or 0 if it is not a whole number that fits. */
static int parse_index(const char *s, const char *end, uint64_t dflt, uint64_t *v)
{
    if (s == end) {
        *v = dflt;
        return 1;
    }
    uint64_t x = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
            return 0;
        x = 10 * x + (uint64_t)(*s - '0');
    }
    *v = x;
    return 1;
}

static void parse_cmdline(int argc, char **argv, int *first)
{
    g_opt.head = g_opt.tail = UINT64_MAX;       /* "not given" */
    cli_parse(&g_spec, argc, argv, first);
    g_opt.tail_given = g_opt.tail != UINT64_MAX;
    if ((g_opt.head != UINT64_MAX) + g_opt.tail_given + (g_opt.range != NULL) > 1)
        cli_die(EXIT_USAGE, "--head, --tail and --range exclude each other");
    g_opt.begin = 0;
    g_opt.end = g_opt.head;
    if (g_opt.range) {
        const char *colon = strchr(g_opt.range, ':');
        if (!colon || !parse_index(g_opt.range, colon, 0, &g_opt.begin) ||
            !parse_index(colon + 1, colon + 1 + strlen(colon + 1), UINT64_MAX,
                         &g_opt.end))
            cli_die(EXIT_USAGE, "--range needs A:B with whole numbers A and B, "
                    "either may be empty; got '%s'", g_opt.range);
        if (g_opt.end < g_opt.begin)
            cli_die(EXIT_USAGE, "--range %s ends before it begins", g_opt.range);
    }
    for (int i = 0; i < g_opt.rename.n; i++) {
        const char *eq = strchr(g_opt.rename.v[i], '=');
        if (!eq || eq == g_opt.rename.v[i] || !eq[1])
            cli_die(EXIT_USAGE, "--rename needs OLD=NEW; got '%s'", g_opt.rename.v[i]);
        if (!tz_name_valid(eq + 1, strlen(eq + 1)))
            cli_die(EXIT_USAGE, "--rename: '%s' is not a valid field name", eq + 1);
    }
}

/* 1 if name is an item of the comma-separated list. */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

/* Apply --fields, --drop and --rename to rec.  0 or ERR_DATA. */
static int edit_fields(tz_record *rec)
{
    if (g_opt.fields) {
        tz_record keep;
        tz_record_init(&keep, rec->kind);
        for (const char *p = g_opt.fields; *p;) {
            const char *c = strchr(p, ',');
            char name[TZ_NAME_MAX + 1];
            size_t len = c ? (size_t)(c - p) : strlen(p);
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            tz_tensor *t = tz_record_find(rec, name);
            if (!t)
                return err_set(ERR_DATA, "no field '%s'", name);
            if (keep.ntensors == TZ_TENSORS_MAX)
                return err_set(ERR_DATA, "--fields names more than %d fields",
                               TZ_TENSORS_MAX);
            keep.t[keep.ntensors++] = *t;
            t->owned = 0;               /* moved into keep */
            p = c ? c + 1 : p + len;
        }
        for (int i = 0; i < rec->ntensors; i++)
            if (rec->t[i].owned && !in_list(g_opt.fields, rec->t[i].name))
                free(rec->t[i].data);
        memcpy(rec->t, keep.t, sizeof keep.t[0] * (size_t)keep.ntensors);
        rec->ntensors = keep.ntensors;
    }
    for (int i = rec->ntensors - 1; g_opt.drop && i >= 0; i--)
        if (in_list(g_opt.drop, rec->t[i].name))
            tz_record_remove(rec, i);
    for (int k = 0; k < g_opt.rename.n; k++) {
        const char *arg = g_opt.rename.v[k], *eq = strchr(arg, '=');
        char old[TZ_NAME_MAX + 1];
        snprintf(old, sizeof old, "%.*s", (int)(eq - arg), arg);
        tz_tensor *t = tz_record_find(rec, old);
        if (!t)
            return err_set(ERR_DATA, "--rename: no field '%s'", old);
        if (!tz_name_valid(eq + 1, strlen(eq + 1)))
            return err_set(ERR_DATA, "--rename: invalid name '%s'", eq + 1);
        snprintf(t->name, sizeof t->name, "%s", eq + 1);
    }
    return tz_record_check(rec);
}

/* The output side: a writer plus the re-batching accumulator. */
typedef struct {
    tz_writer *w;
    batch_acc acc;
} sink;

static void put(sink *s, const tz_record *rec)
{
    if (tz_write(s->w, rec) < 0)
        cli_die_last();
}

/* Write full batches; with all set, also the remainder. */
static void drain(sink *s, int all)
{
    while (s->acc.rows > 0 && (s->acc.rows >= g_opt.batch || all)) {
        uint64_t n = s->acc.rows < g_opt.batch || !g_opt.batch ? s->acc.rows
                                                               : g_opt.batch;
        tz_record view;
        batch_view(&view, &s->acc.rec, 0, n);
        put(s, &view);
        batch_drop_front(&s->acc, n);
    }
}

/* Send rows [lo, hi) of rec to the output. */
static void emit_rows(sink *s, const tz_record *rec, uint64_t lo, uint64_t hi)
{
    if (lo == hi)
        return;
    if (!g_opt.batch && !g_opt.tail_given) {
        tz_record view;
        batch_view(&view, rec, lo, hi);
        put(s, &view);
        return;
    }
    if (!batch_compatible(&s->acc, rec)) {
        if (g_opt.tail_given)
            cli_die(EXIT_DATA, "--tail needs every record to have the same fields");
        drain(s, 1);
        batch_reset(&s->acc);
    }
    if (batch_append(&s->acc, rec, lo, hi) < 0)
        cli_die_last();
    if (g_opt.tail_given) {
        if (s->acc.rows > g_opt.tail)
            batch_drop_front(&s->acc, s->acc.rows - g_opt.tail);
    } else {
        drain(s, 0);
    }
}

int main(int argc, char **argv)
{
    int first;
    parse_cmdline(argc, argv, &first);
    sink s;
    batch_init(&s.acc);
    if (!(s.w = tz_writer_open(cli.output, cli.level)))
        cli_die_last();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t g = 0;     /* samples seen before the current record */
    cli_progress bar;
    cli_progress_start(&bar, "tzcat: samples", 0);
    tz_reader *r = tz_reader_open_list(argv + first, argc - first);
    if (!r)
        cli_die_last();
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        /* Past the cut, read on: the input is still checked, and a
         * producer upstream is not killed by SIGPIPE (which would fail
         * a pipeline under pipefail). */
        if (g >= g_opt.end)
            continue;
        if (edit_fields(&rec) < 0)
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": %s", tz_reader_name(r),
                    tz_reader_index(r), err_msg());
        if (rec.kind != TZ_BATCH) {
            /* In order with the samples, except that --tail cannot
             * know its samples yet: there plain records go first. */
            if (!g_opt.tail_given)
                drain(&s, 1);
            put(&s, &rec);
            continue;
        }
        uint64_t n = tz_record_batch(&rec);
        uint64_t lo = g_opt.begin > g ? g_opt.begin - g : 0;
        uint64_t hi = g_opt.end - g < n ? g_opt.end - g : n;
        emit_rows(&s, &rec, lo < n ? lo : n, hi > lo ? hi : lo < n ? lo : n);
        g += n;
        cli_progress_update(&bar, g);
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_reader_close(r);
    drain(&s, 1);
    cli_progress_end(&bar, g);
    if (tz_writer_close(s.w) < 0)
        cli_die_last();
    batch_free(&s.acc);
    tz_record_free(&rec);
    return 0;
}
