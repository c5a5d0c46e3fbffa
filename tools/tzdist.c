/* tzdist - how far apart two sets of samples are: a field of stream A
 * against a field of stream B.
 *
 * By default the two fields are sample sets of one distribution each, and
 * tzdist prints their unbiased squared MMD (RBF kernel) and their sliced
 * Wasserstein-2 distance (dist.h).  With --images, sample i of A is an
 * image compared with sample i of B: MSE, PSNR and SSIM per pair, and
 * their means (imq.h).  Output is TSV text, a header line first.
 *
 * Both fields are gathered whole into memory (--max caps them), as f32;
 * other dtypes are refused rather than converted, so that a label field
 * named by mistake is an error, not a distance. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/batch.h"      /* batch_acc, batch_append, batch_f32_field */
#include "tool/cli.h"        /* cli_parse, cli_die */
#include "eval/dist.h"       /* dist_mmd2, dist_swd, dist_median_bandwidth */
#include "eval/imq.h"        /* imq_mse, imq_psnr, imq_ssim */
#include "eval/rff.h"        /* rff_stream: the MMD^2 in constant memory */
#include "base/out.h"        /* out_open, out_commit */
#include "formats/tz.h"         /* tz_reader, tz_record */

/* Points the median heuristic looks at: 1000 give 499,500 distances,
 * tens of milliseconds, and a median within about 1% of the full one. */
static const size_t MEDIAN_POINTS = 1000;

struct cmdline {
    const char *field, *field_b, *bandwidth, *floor;
    int directions, images, summary, features, groups;
    uint64_t max, mmd_max;
    double data_range;
    double s;           /* --bandwidth as a number; 0 for median */
    double widths[16];  /* --features: --bandwidth as a list */
    int nwidths;
};

static struct cmdline g_opt = {
    .field = "x0", .bandwidth = "1", .directions = 500, .max = UINT64_MAX,
    .mmd_max = UINT64_MAX, .groups = 20,
    .data_range = 1
};

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "the field of A (default x0)", 0, 0 },
    { "field-b", 0, CLI_STR, &g_opt.field_b, "NAME",
      "the field of B (default: the name given by --field)", 0, 0 },
    { "bandwidth", 's', CLI_STR, &g_opt.bandwidth, "S|median",
      "width of the MMD's RBF kernel, or median: the median distance "
      "between samples (default 1); with --features a list S1,S2,... of widths "
      "gives the mean of their kernels", 0, 0 },
    { "directions", 'k', CLI_INT, &g_opt.directions, "K",
      "random directions of the sliced Wasserstein distance (default 500)", 1, 1e6 },
    { "max", 'n', CLI_U64, &g_opt.max, "N",
      "use at most the first N samples of each input (default: all)", 1, 1e15 },
    { "mmd-max", 0, CLI_U64, &g_opt.mmd_max, "N",
      "the MMD on at most the first N samples of each (it costs N^2; the "
      "sliced distance uses all); default: all", 2, 1e15 },
    { "features", 'F', CLI_INT, &g_opt.features, "D",
      "the MMD^2 alone, by D random Fourier features of the RBF kernel, reading the "
      "inputs a record at a time (constant memory), with its jackknife standard error",
      1, 1e6 },
    { "floor", 0, CLI_STR, &g_opt.floor, "R",
      "--features: also a floor, stream R's field (named by --field) against B, and the "
      "excess of A over it with its own standard error", 0, 0 },
    { "groups", 0, CLI_INT, &g_opt.groups, "G",
      "--features: the jackknife's groups (default 20; each input needs 2 G samples)",
      2, 1000 },
    { "images", 'i', CLI_FLAG, &g_opt.images, NULL,
      "compare sample i of A with sample i of B as images: MSE, PSNR, SSIM", 0, 0 },
    { "summary", 0, CLI_FLAG, &g_opt.summary, NULL,
      "--images: only the means: MSE, PSNR (mean of per-image PSNRs), PSNR of the mean "
      "MSE, SSIM", 0, 0 },
    { "data-range", 'r', CLI_DOUBLE, &g_opt.data_range, "L",
      "--images: the range of pixel values for PSNR and SSIM (default 1)", 1e-30, 1e30 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzdist", "[OPTION]... A [B]",
    "Compare a field of tensor stream A with one of stream B (A itself if "
    "no B): MMD^2 and sliced Wasserstein distance of the two sample sets, "
    "or with --images MSE, PSNR and SSIM of each pair of images.  Either "
    "may be - (standard input).",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT, NULL
};

/* One input's field, gathered. */
typedef struct {
    const char *path, *field;
    char name[256];         /* the input as messages name it */
    batch_acc acc;          /* one tensor: the field, all rows read */
    uint64_t n;             /* samples */
    size_t d;               /* values per sample */
    int rank;               /* of the per-sample shape */
    uint64_t dims[TZ_RANK_MAX];
    const float *x;         /* n x d, borrowed from acc */
} sample_set;

static void parse_cmdline(int argc, char **argv, const char **a, const char **b)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (argc - first != 2 && argc - first != 1)
        cli_die(EXIT_USAGE, "needs two inputs, A and B, or one holding both fields; got %d",
                argc - first);
    *a = argv[first];
    *b = argc - first == 2 ? argv[first + 1] : NULL;
    if (!*b && (!g_opt.field_b || !strcmp(g_opt.field_b, g_opt.field)))
        cli_die(EXIT_USAGE, "one input holds both fields: give --field-b, another field "
                "than --field's '%s'", g_opt.field);
    if (g_opt.summary && !g_opt.images)
        cli_die(EXIT_USAGE, "--summary needs --images");
    if (g_opt.floor && !g_opt.features)
        cli_die(EXIT_USAGE, "--floor needs --features");
    if (g_opt.features && g_opt.images)
        cli_die(EXIT_USAGE, "--features and --images do not go together");
    if (*b && strcmp(*a, "-") == 0 && strcmp(*b, "-") == 0)
        cli_die(EXIT_USAGE, "A and B cannot both be standard input");
    if (!g_opt.field_b)
        g_opt.field_b = g_opt.field;
    if (g_opt.features) {
        if (!strcmp(g_opt.bandwidth, "median"))
            cli_die(EXIT_USAGE, "--features reads each sample once, so it needs --bandwidth "
                    "as numbers (tzdist -n 1000 on the inputs prints the median's)");
        const char *p = g_opt.bandwidth;
        for (;;) {
            char *end;
            double w = strtod(p, &end);
            if (end == p || (*end && *end != ',') || !isfinite(w) || w <= 0 ||
                g_opt.nwidths == 16)
                cli_die(EXIT_USAGE, "--features: --bandwidth needs 1 to 16 comma-separated "
                        "numbers > 0; got '%s'", g_opt.bandwidth);
            g_opt.widths[g_opt.nwidths++] = w;
            if (!*end)
                break;
            p = end + 1;
        }
    } else if (strcmp(g_opt.bandwidth, "median") != 0) {
        char *end;
        g_opt.s = strtod(g_opt.bandwidth, &end);
        if (end == g_opt.bandwidth || *end || !isfinite(g_opt.s) || g_opt.s <= 0)
            cli_die(EXIT_USAGE, "--bandwidth needs a number > 0 or 'median'; got '%s'",
                    g_opt.bandwidth);
    }
}

/* Read the first g_opt.max samples of field[k] from path into s[k], k <
 * nsets (1, or 2 when A and B are one stream); every error names the input
 * and the record. */
static void gather(sample_set *s, int nsets, const char *path, const char *const *field)
{
    tz_reader *r = tz_reader_open(path);
    if (!r)
        cli_die_last();
    for (int k = 0; k < nsets; k++) {
        s[k].path = path;
        s[k].field = field[k];
        batch_init(&s[k].acc);
        snprintf(s[k].name, sizeof s[k].name, "%s", tz_reader_name(r));
    }
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc = 0;
    while (s[0].acc.rows < g_opt.max && (rc = tz_read(r, &rec)) == 1) {
        uint64_t at = tz_reader_index(r);
        const char *name = s[0].name;
        for (int k = 0; k < nsets; k++) {
            const tz_tensor *t;
            if (batch_f32_field(&rec, name, at, field[k], "tzdist", &t) < 0)
                cli_die_last();
            /* A record of this field alone, so other fields may come and go. */
            tz_record v;
            tz_record_init(&v, TZ_BATCH);
            v.t[0] = *t;
            v.t[0].owned = 0;
            v.ntensors = 1;
            if (!batch_compatible(&s[k].acc, &v))
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": field '%s' changes shape",
                        name, at, field[k]);
            uint64_t take = g_opt.max - s[k].acc.rows;
            if (take > t->dims[0])
                take = t->dims[0];
            if (batch_check_finite(t, take, name, at, s[k].acc.rows) < 0)
                cli_die_last();
            if (batch_append(&s[k].acc, &v, 0, take) < 0)
                cli_die_last();
        }
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_reader_close(r);
    tz_record_free(&rec);
    for (int k = 0; k < nsets; k++) {
        if (!s[k].acc.rows)
            cli_die(EXIT_DATA, "%s: no samples of '%s'", s[k].name, field[k]);
        const tz_tensor *t = &s[k].acc.rec.t[0];
        s[k].n = s[k].acc.rows;
        s[k].d = tz_tensor_row_bytes(t) / sizeof(float);
        s[k].rank = t->rank - 1;
        memcpy(s[k].dims, t->dims + 1, sizeof(uint64_t) * (size_t)s[k].rank);
        s[k].x = t->data;
    }
}

static void check_same_shape(const sample_set *a, const sample_set *b)
{
    if (a->rank == b->rank &&
        !memcmp(a->dims, b->dims, sizeof(uint64_t) * (size_t)a->rank))
        return;
    char sa[TZ_SHAPE_TEXT_MAX], sb[TZ_SHAPE_TEXT_MAX];
    cli_die(EXIT_DATA, "per-sample shapes differ: %s '%s' is %s, %s '%s' is %s",
            a->name, a->field, tz_shape_text(a->dims, a->rank, sa, sizeof sa),
            b->name, b->field, tz_shape_text(b->dims, b->rank, sb, sizeof sb));
}

static void need_two(const sample_set *s)
{
    if (s->n < 2)
        cli_die(EXIT_DATA, "%s: 1 sample of '%s'; the MMD needs at least 2",
                s->name, s->field);
}

static void compare_sets(FILE *f, const sample_set *a, const sample_set *b)
{
    need_two(a);
    need_two(b);
    if (a->d > INT_MAX)
        cli_die(EXIT_DATA, "%s: %zu values per sample of '%s' are too many", a->name,
                a->d, a->field);
    int d = (int)a->d;
    double s = g_opt.s;
    if (s == 0) {
        s = dist_median_bandwidth(a->x, a->n, b->x, b->n, d, MEDIAN_POINTS);
        if (isnan(s))
            cli_die_last();
        if (s == 0)
            cli_die(EXIT_DATA, "the median distance between samples is 0 (most "
                    "coincide): give --bandwidth a number");
    }
    dist_set_threads(cli.threads);
    size_t na = a->n < g_opt.mmd_max ? a->n : (size_t)g_opt.mmd_max;
    size_t nb = b->n < g_opt.mmd_max ? b->n : (size_t)g_opt.mmd_max;
    double mmd2 = dist_mmd2(a->x, na, b->x, nb, d, s);
    if (isnan(mmd2))
        cli_die_last();
    double swd = dist_swd(a->x, a->n, b->x, b->n, d, g_opt.directions, cli.seed);
    if (isnan(swd))
        cli_die_last();
    fprintf(f, "metric\tvalue\nn_a\t%" PRIu64 "\nn_b\t%" PRIu64 "\nmmd2\t%.9g\n"
            "swd\t%.9g\nbandwidth\t%.9g\n", a->n, b->n, mmd2, swd, s);
}

static void compare_images(FILE *f, const sample_set *a, const sample_set *b)
{
    if (a->rank != 2 && a->rank != 3) {
        char sa[TZ_SHAPE_TEXT_MAX];
        cli_die(EXIT_DATA, "%s: '%s' is %s per sample; --images needs (C,H,W) or (H,W)",
                a->name, a->field, tz_shape_text(a->dims, a->rank, sa, sizeof sa));
    }
    if (a->n != b->n)
        cli_die(EXIT_DATA, "%s has %" PRIu64 " samples of '%s', %s has %" PRIu64
                " of '%s'; --images pairs them, so the counts must agree",
                a->name, a->n, a->field, b->name, b->n, b->field);
    const uint64_t *dm = a->dims;
    uint64_t C = a->rank == 3 ? dm[0] : 1, H = dm[a->rank - 2], W = dm[a->rank - 1];
    if (C > INT_MAX || H > INT_MAX || W > INT_MAX)
        cli_die(EXIT_DATA, "%s: images of '%s' are too large", a->name, a->field);
    double sum[3] = { 0 };
    if (!g_opt.summary)
        fprintf(f, "index\tmse\tpsnr\tssim\n");
    for (uint64_t i = 0; i < a->n; i++) {
        const float *pa = a->x + i * a->d, *pb = b->x + i * a->d;
        double mse = imq_mse(pa, pb, a->d);
        double psnr = imq_psnr(mse, g_opt.data_range);
        double ssim = imq_ssim(pa, pb, (int)C, (int)H, (int)W, g_opt.data_range);
        if (isnan(ssim))
            cli_die_last();
        if (!g_opt.summary)
            fprintf(f, "%" PRIu64 "\t%.9g\t%.9g\t%.9g\n", i, mse, psnr, ssim);
        sum[0] += mse;
        sum[1] += psnr;
        sum[2] += ssim;
    }
    double n = (double)a->n;
    if (g_opt.summary)
        fprintf(f, "metric\tvalue\nn\t%" PRIu64 "\nmse\t%.9g\npsnr\t%.9g\npsnr_of_mse\t"
                "%.9g\nssim\t%.9g\n", a->n, sum[0] / n, sum[1] / n,
                imq_psnr(sum[0] / n, g_opt.data_range), sum[2] / n);
    else
        fprintf(f, "mean\t%.9g\t%.9g\t%.9g\n", sum[0] / n, sum[1] / n, sum[2] / n);
}

static void compare_features(FILE *f, const char *pa, const char *pb)
{
    const char *fields[2] = { g_opt.field, g_opt.field_b };
    rff_stream fs = { .features = g_opt.features, .nwidths = g_opt.nwidths,
                      .groups = g_opt.groups, .threads = cli.threads, .widths = g_opt.widths,
                      .seed = cli.seed, .max = g_opt.max };
    if ((pb ? rff_stream_read(&fs, pa, 1, fields, 0) < 0 ||
                  rff_stream_read(&fs, pb, 1, fields + 1, 1) < 0
            : rff_stream_read(&fs, pa, 2, fields, 0) < 0) ||
        (g_opt.floor && rff_stream_read(&fs, g_opt.floor, 1, fields, 2) < 0))
        cli_die_last();
    if (!fs.m)
        cli_die(EXIT_DATA, "%s: no samples of '%s'", pa, g_opt.field);
    rff_result r, fl, ex;
    if (rff_mmd_result(fs.m, &r) < 0 ||
        (g_opt.floor && (rff_mmd_floor(fs.m, &fl) < 0 || rff_mmd_excess(fs.m, &ex) < 0)))
        cli_die_last();
    rff_mmd_free(fs.m);
    fprintf(f, "metric\tvalue\nn_a\t%" PRIu64 "\nn_b\t%" PRIu64 "\nmmd2\t%.9g\n"
            "mmd2_se\t%.9g\n", r.n[0], r.n[1], r.mmd2, r.se);
    if (g_opt.floor)
        fprintf(f, "n_r\t%" PRIu64 "\nfloor\t%.9g\nfloor_se\t%.9g\nexcess\t%.9g\n"
                "excess_se\t%.9g\n", fl.n[0], fl.mmd2, fl.se, ex.mmd2, ex.se);
    fprintf(f, "bandwidth\t%s\nfeatures\t%d\ngroups\t%d\n", g_opt.bandwidth,
            g_opt.features, g_opt.groups);
}

int main(int argc, char **argv)
{
    const char *pa, *pb;
    parse_cmdline(argc, argv, &pa, &pb);
    if (g_opt.features) {
        out_file *o = out_open(cli.output);
        if (!o)
            cli_die_last();
        compare_features(out_stream(o), pa, pb);
        if (out_commit(o) < 0)
            cli_die_last();
        return 0;
    }
    sample_set ab[2], a, b;
    const char *fields[2] = { g_opt.field, g_opt.field_b };
    if (pb) {
        gather(&ab[0], 1, pa, fields);
        gather(&ab[1], 1, pb, fields + 1);
    } else
        gather(ab, 2, pa, fields);
    a = ab[0], b = ab[1];
    check_same_shape(&a, &b);
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    if (g_opt.images)
        compare_images(out_stream(o), &a, &b);
    else
        compare_sets(out_stream(o), &a, &b);
    if (out_commit(o) < 0)
        cli_die_last();
    batch_free(&a.acc);
    batch_free(&b.acc);
    return 0;
}
