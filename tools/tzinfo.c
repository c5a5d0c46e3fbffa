/* tzinfo - describe a tensor stream: its records, fields, dtypes, shapes,
 * attributes and, on request, per-field statistics.
 *
 * Reads one record at a time, so memory is bounded by the largest record.
 * Output is text on standard output; nothing is written elsewhere. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die_err */
#include "eval/stats.h"      /* stats_acc, stats_add_tensor */
#include "formats/tz.h"         /* tz_reader, tz_record */

struct cmdline {
    int stats;
    int brief;
};

static struct cmdline g_opt;

static const cli_opt g_opts[] = {
    { "stats", 's', CLI_FLAG, &g_opt.stats, NULL,
      "print min, max, mean, std, NaN and Inf counts per field", 0, 0 },
    { "brief", 'b', CLI_FLAG, &g_opt.brief, NULL,
      "do not list records, only the totals", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzinfo", "[OPTION]... [FILE]...",
    "Describe the records, fields and attributes of tensor streams "
    "(standard input if no FILE).",
    g_opts, 0, NULL
};

/* One field seen in the stream, for the totals. */
typedef struct {
    char name[TZ_NAME_MAX + 1];
    int dtype, rank;
    uint64_t dims[TZ_RANK_MAX];
    uint64_t rows;
    stats_acc acc;
} field;

static void print_shape(int rank, const uint64_t *dims, int from)
{
    putchar('[');
    for (int i = from; i < rank; i++)
        printf("%s%" PRIu64, i > from ? "," : "", dims[i]);
    putchar(']');
}

/* An attribute value on one line: backslash, newline, tab and carriage
 * return as \\, \n, \t and \r, other control bytes (1 to 31, 127) as
 * \xHH; every other byte, UTF-8 included, as it is. */
static void print_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                printf("\\x%02x", *p);
            else
                putchar(*p);
        }
    }
}

static void print_record(const tz_record *rec, uint64_t index)
{
    printf("record %" PRIu64 ": %s", index,
           rec->kind == TZ_BATCH ? "batch" : "plain");
    if (rec->kind == TZ_BATCH)
        printf(" of %" PRIu64, tz_record_batch(rec));
    printf(", %d tensor%s, %d attribute%s\n", rec->ntensors,
           rec->ntensors == 1 ? "" : "s", rec->nattrs, rec->nattrs == 1 ? "" : "s");
    for (int i = 0; i < rec->ntensors; i++) {
        const tz_tensor *t = &rec->t[i];
        printf("  %-12s %-4s ", t->name, tz_dtype_name(t->dtype));
        print_shape(t->rank, t->dims, 0);
        putchar('\n');
    }
    for (int i = 0; i < rec->nattrs; i++) {
        printf("  @%s=", rec->a[i].key);
        print_escaped(rec->a[i].val);
        putchar('\n');
    }
}

/* Find or add the total for t.  A field is a name: its dtype and shape
 * are those of the first tensor of that name, and later tensors of the
 * name count towards it whatever theirs (tzinfo(1)).  NULL when the table
 * is full. */
static field *field_for(field *f, int *nf, const tz_tensor *t)
{
    for (int i = 0; i < *nf; i++)
        if (strcmp(f[i].name, t->name) == 0)
            return &f[i];
    if (*nf == TZ_TENSORS_MAX * 4)
        return NULL;
    field *n = &f[(*nf)++];
    memset(n, 0, sizeof *n);
    strcpy(n->name, t->name);
    n->dtype = t->dtype;
    n->rank = t->rank;
    memcpy(n->dims, t->dims, sizeof n->dims);
    stats_init(&n->acc);
    return n;
}

static void print_totals(const field *f, int nf, uint64_t records, uint64_t samples)
{
    printf("%" PRIu64 " record%s, %" PRIu64 " sample%s in batch records\n",
           records, records == 1 ? "" : "s", samples, samples == 1 ? "" : "s");
    if (g_opt.stats && nf)
        printf("%-12s %-4s %-16s %12s %12s %12s %12s %12s %6s %6s\n", "field",
               "type", "shape", "count", "min", "max", "mean", "std", "nan", "inf");
    for (int i = 0; i < nf; i++) {
        const field *x = &f[i];
        char shape[TZ_SHAPE_TEXT_MAX];
        tz_shape_text(x->dims + 1, x->rank ? x->rank - 1 : 0, shape, sizeof shape);
        if (!g_opt.stats) {
            printf("  %-12s %-4s per-sample %s, %" PRIu64 " rows\n", x->name,
                   tz_dtype_name(x->dtype), shape, x->rows);
            continue;
        }
        const stats_acc *a = &x->acc;
        printf("%-12s %-4s %-16s %12" PRIu64 " %12.6g %12.6g %12.6g %12.6g %6"
               PRIu64 " %6" PRIu64 "\n", x->name, tz_dtype_name(x->dtype), shape,
               a->n + a->nan + a->inf, a->n ? a->min : 0, a->n ? a->max : 0,
               a->mean, stats_std(a), a->nan, a->inf);
    }
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    static field fields[TZ_TENSORS_MAX * 4];
    int nf = 0;
    uint64_t records = 0, samples = 0;
    int warned = 0;
    cli_progress bar;
    cli_progress_start(&bar, "tzinfo: records", 0);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    tz_reader *r = tz_reader_open_list(argv + first, argc - first);
    if (!r)
        cli_die_last();
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (!g_opt.brief)
            print_record(&rec, tz_reader_index(r));
        records++;
        cli_progress_update(&bar, records);
        samples += tz_record_batch(&rec);
        for (int i = 0; i < rec.ntensors; i++) {
            field *f = field_for(fields, &nf, &rec.t[i]);
            if (!f) {
                if (!warned++)
                    cli_warn("more than %d distinct fields: totals "
                             "omit the rest", TZ_TENSORS_MAX * 4);
                continue;
            }
            f->rows += rec.t[i].rank ? rec.t[i].dims[0] : 1;
            if (g_opt.stats)
                stats_add_tensor(&f->acc, &rec.t[i]);
        }
    }
    if (rc < 0) {
        fflush(stdout);
        cli_die_err(rc);
    }
    tz_reader_close(r);
    cli_progress_end(&bar, records);
    print_totals(fields, nf, records, samples);
    tz_record_free(&rec);
    return 0;
}
