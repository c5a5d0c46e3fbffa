/* fid - the Frechet distance and KID between a field of stream A and one
 * of stream B (or two fields of one stream, or a stream and the cached
 * mean and covariance of A).
 *
 * The Frechet distance needs only each set's mean and covariance, summed
 * as the samples stream past (moments.h): memory d^2, not n d.  KID needs
 * samples: a uniform sample of at most --kid-pool of each input is held
 * (kid.h), never more.  With --classifier each image is first mapped to
 * the classifier's penultimate layer (classifier.h), and the features are
 * what is summed and pooled.  Output is TSV text, as tzdist's. */
#include <cblas.h>           /* openblas_set_num_threads */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "eval/frechet.h"    /* fr_distance */
#include "eval/kid.h"        /* kid_pool, kid_estimate */
#include "eval/moments.h"    /* mom_acc, mom_read, mom_write */
#include "base/mem.h"        /* mem_alloc_array */
#include "base/out.h"        /* out_open, out_commit */
#include "formats/tz.h"      /* tz_reader, tz_record */
#include "method/classifier.h"   /* clf_load, clf_apply */
#include "method/labelled.h"     /* lab_check_images */
#include "nn/nn.h"           /* nn_set_threads */

struct cmdline {
    const char *field, *field_b, *stats, *save_stats, *classifier;
    int kid_subsets;
    uint64_t kid_size, kid_pool;
};

static struct cmdline g_opt = {
    .field = "x", .kid_subsets = 100, .kid_size = 1000, .kid_pool = 10000
};

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME", "the field of A (default x)", 0, 0 },
    { "field-b", 0, CLI_STR, &g_opt.field_b, "NAME",
      "the field of B (default: the name given by --field)", 0, 0 },
    { "stats", 0, CLI_STR, &g_opt.stats, "FILE",
      "take A's mean and covariance from the moments file FILE (--save-stats, tzmoments) "
      "instead of a stream; the one operand is B; no KID", 0, 0 },
    { "save-stats", 0, CLI_STR, &g_opt.save_stats, "FILE",
      "also write A's mean and covariance to FILE, a moments file as tzmoments writes", 0, 0 },
    { "classifier", 0, CLI_STR, &g_opt.classifier, "MODEL",
      "compare the images' features: the penultimate layer of the classifier MODEL "
      "(classify train)", 0, 0 },
    { "kid-subsets", 0, CLI_INT, &g_opt.kid_subsets, "K",
      "KID's random subsets (default 100; 0: no KID, no samples held)", 0, 1e6 },
    { "kid-subset-size", 0, CLI_U64, &g_opt.kid_size, "M",
      "samples of each set in a KID subset (default 1000; fewer if a pool holds fewer)",
      2, 1e9 },
    { "kid-pool", 0, CLI_U64, &g_opt.kid_pool, "N",
      "samples of each input held for KID: a uniform sample of it (default 10000)", 2, 1e12 },
    { 0 }
};

static const cli_spec g_spec = {
    "fid", "[OPTION]... A [B] | --stats FILE B",
    "Print the Frechet distance and KID between a field of tensor stream A and one of "
    "stream B (A itself if no B), or between B and the mean and covariance cached by "
    "--save-stats.  Either may be - (standard input).",
    g_opts, CLI_SEED | CLI_THREADS | CLI_OUTPUT, NULL
};

/* One set of samples as it streams past. */
typedef struct {
    char field[256];
    int side;               /* 0 for A, 1 for B: the pool's random numbers */
    char name[256];         /* the input as messages name it */
    mom_acc acc;
    kid_pool pool;          /* unused with --kid-subsets 0 or --stats */
    uint64_t n;             /* samples */
    size_t d;               /* values per sample */
    int rank;               /* of the per-sample shape */
    uint64_t dims[TZ_RANK_MAX];
    double *mean, *cov;     /* d, d x d; owned */
} sample_set;

/* With --classifier: the model, and one record's features (owned). */
static clf_model g_clf;
static float *g_feat;
static uint64_t g_feat_cap;

static int kid_on(void)
{
    return g_opt.kid_subsets > 0 && !g_opt.stats;
}

static void parse_cmdline(int argc, char **argv, const char **a, const char **b)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    int nops = argc - first;
    *a = *b = NULL;
    if (g_opt.stats) {
        if (nops != 1)
            cli_die(EXIT_USAGE, "--stats takes the place of A: give one input, B; got %d",
                    nops);
        if (g_opt.save_stats)
            cli_die(EXIT_USAGE, "--save-stats writes A's statistics, and with --stats there "
                    "is no stream A");
        *b = argv[first];
    } else {
        if (nops != 1 && nops != 2)
            cli_die(EXIT_USAGE, "needs two inputs, A and B, or one holding both fields; "
                    "got %d", nops);
        *a = argv[first];
        *b = nops == 2 ? argv[first + 1] : NULL;
        if (!*b && (!g_opt.field_b || !strcmp(g_opt.field_b, g_opt.field)))
            cli_die(EXIT_USAGE, "one input holds both fields: give --field-b, another field "
                    "than --field's '%s'", g_opt.field);
        if (*b && !strcmp(*a, "-") && !strcmp(*b, "-"))
            cli_die(EXIT_USAGE, "A and B cannot both be standard input");
    }
    if (!g_opt.field_b)
        g_opt.field_b = g_opt.field;
}

/* The first record's field t sets s's shape and starts its sums: the
 * shape of a sample, or with --classifier of its features. */
static void start(sample_set *s, const tz_tensor *t)
{
    s->rank = t->rank - 1;
    memcpy(s->dims, t->dims + 1, sizeof(uint64_t) * (size_t)s->rank);
    if (g_opt.classifier)
        s->rank = 1, s->dims[0] = (uint64_t)g_clf.net.c.features;
    s->d = g_opt.classifier ? (size_t)s->dims[0] : tz_tensor_row_bytes(t) / sizeof(float);
    if (!s->d)
        cli_die(EXIT_DATA, "%s: field '%s' has no values per sample", s->name, s->field);
    if (mom_init(&s->acc, s->d, 0) < 0 ||
        (kid_on() && kid_pool_init(&s->pool, s->d, g_opt.kid_pool, cli.seed, s->side) < 0))
        cli_die_last();
}

/* The values the samples of t add to s: their own, or with --classifier
 * their features, the first being sample s->n of its set. */
static const float *points(sample_set *s, const tz_tensor *t, uint64_t at)
{
    if (!g_opt.classifier)
        return t->data;
    const cnn_config *c = &g_clf.net.c;
    int chw[3] = { c->C, c->H, c->W };
    char where[600];
    snprintf(where, sizeof where, "%s: record %" PRIu64, s->name, at);
    if (lab_check_images(t, chw, "the classifier takes", where) < 0)
        cli_die_last();
    uint64_t n = t->dims[0];
    if (n > g_feat_cap) {
        free(g_feat);
        if (!(g_feat = mem_alloc_array(n, sizeof(float) * s->d)))
            cli_die_last();
        g_feat_cap = n;
    }
    if (clf_apply(&g_clf, t->data, n, s->n, g_feat, NULL) < 0)
        cli_die_last();
    return g_feat;
}

/* Every sample of field[k] of the stream at path into set[k], k < nsets
 * (1, or 2 when A and B are one stream); every error names the input, the
 * record and, for a value, the sample. */
static void read_sets(sample_set *set, int nsets, const char *path)
{
    tz_reader *r = tz_reader_open(path);
    if (!r)
        cli_die_last();
    for (int k = 0; k < nsets; k++)
        snprintf(set[k].name, sizeof set[k].name, "%s", tz_reader_name(r));
    const char *name = set[0].name;
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        uint64_t at = tz_reader_index(r);
        if (rec.kind != TZ_BATCH)
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": not a batch record", name, at);
        for (int k = 0; k < nsets; k++) {
            sample_set *s = &set[k];
            const tz_tensor *t = tz_record_find(&rec, s->field);
            if (!t)
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": no field '%s'", name, at,
                        s->field);
            if (t->dtype != TZ_F32 || t->rank < 1)
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": field '%s' is %s of rank %d; fid "
                        "needs f32 samples", name, at, s->field, tz_dtype_name(t->dtype),
                        t->rank);
            if (!s->acc.d)
                start(s, t);
            else if (!g_opt.classifier &&       /* which checks images against itself */
                     (t->rank - 1 != s->rank ||
                      memcmp(s->dims, t->dims + 1, sizeof(uint64_t) * (size_t)s->rank)))
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": field '%s' changes shape", name,
                        at, s->field);
            size_t vals = tz_tensor_row_bytes(t) / sizeof(float);
            for (uint64_t i = 0; i < t->dims[0] * vals; i++) {
                float v = ((const float *)t->data)[i];
                if (!isfinite(v))
                    cli_die(EXIT_NUMERIC, "%s: record %" PRIu64 ": field '%s' holds %s "
                            "(sample %" PRIu64 " of the input)", name, at, s->field,
                            isnan(v) ? "NaN" : "Inf", s->n + i / vals);
            }
            const float *x = points(s, t, at);
            for (uint64_t i = 0; i < t->dims[0]; i++)
                if (mom_add(&s->acc, x + i * s->d, NULL, 0) < 0 ||
                    (kid_on() && kid_pool_add(&s->pool, x + i * s->d) < 0))
                    cli_die_last();
            s->n += t->dims[0];
        }
    }
    if (rc < 0)
        cli_die_err(rc);
    tz_record_free(&rec);
    tz_reader_close(r);
    for (int k = 0; k < nsets; k++)
        if (!set[k].n)
            cli_die(EXIT_DATA, "%s: no samples of '%s'", set[k].name, set[k].field);
}

/* The full-rank covariance estimate FID rests on needs n > d. */
static void need_samples(const sample_set *s)
{
    if (s->n && s->n <= s->d)
        cli_die(EXIT_DATA, "%s: %" PRIu64 " samples of '%s' of %zu values each; FID needs at "
                "least %zu (more samples than values, for a full-rank covariance)", s->name,
                s->n, s->field, s->d, s->d + 1);
}

static void finish(sample_set *s)
{
    s->mean = mem_alloc_array(s->d, sizeof(double));
    s->cov = mem_alloc_array(s->d * s->d, sizeof(double));
    if (!s->mean || !s->cov || mom_finish(&s->acc, s->mean, s->cov, NULL) < 0)
        cli_die_last();
    mom_free(&s->acc);          /* its d x d sums, before the distance needs more */
}

/* A's mean and covariance from the moments file at path. */
static void load_stats(sample_set *s, const char *path)
{
    mom_file mf;
    if (mom_read(path, &mf) < 0)
        cli_die_last();
    snprintf(s->name, sizeof s->name, "%s", path);
    snprintf(s->field, sizeof s->field, "%s", mf.field[0] ? mf.field : "?");
    s->n = mf.count;            /* 0 if the file does not say */
    s->d = mf.d;
    s->rank = mf.rank;
    memcpy(s->dims, mf.shape, sizeof(uint64_t) * (size_t)mf.rank);
    if (!s->rank) {             /* a writer that did not record the shape */
        s->rank = 1;
        s->dims[0] = s->d;
    }
    s->mean = mf.mean;
    s->cov = mf.cov;
}

static void save_stats(const sample_set *a)
{
    mom_file mf = { .d = a->d, .rank = a->rank, .count = a->n, .min_pairs = a->n,
                    .mean = a->mean, .cov = a->cov };
    memcpy(mf.shape, a->dims, sizeof(uint64_t) * (size_t)a->rank);
    snprintf(mf.field, sizeof mf.field, "%s", a->field);
    snprintf(mf.estimator, sizeof mf.estimator, "full");
    if (mom_write(g_opt.save_stats, TZ_LEVEL_DEFAULT, &mf) < 0)
        cli_die_last();
}

static void check_dims(const sample_set *a, const sample_set *b)
{
    if (a->d == b->d)
        return;
    char sa[TZ_SHAPE_TEXT_MAX], sb[TZ_SHAPE_TEXT_MAX];
    cli_die(EXIT_DATA, "feature dimensions differ: %s '%s' has %zu values per sample %s, "
            "%s '%s' has %zu %s", a->name, a->field, a->d,
            tz_shape_text(a->dims, a->rank, sa, sizeof sa), b->name, b->field, b->d,
            tz_shape_text(b->dims, b->rank, sb, sizeof sb));
}

static void print_kid(FILE *f, const sample_set *a, const sample_set *b)
{
    kid_result k;
    if (kid_estimate(&a->pool, &b->pool, g_opt.kid_subsets, (size_t)g_opt.kid_size, cli.seed,
                     cli.threads, &k) < 0)
        cli_die_last();
    size_t pa = kid_pool_size(&a->pool), pb = kid_pool_size(&b->pool);
    cli_info("KID: %d subsets of %zu samples of each set, from %zu of %" PRIu64 " and %zu "
             "of %" PRIu64, k.subsets, k.m, pa, a->n, pb, b->n);
    if (k.subsets > 1 && k.m == pa && k.m == pb)
        cli_warn("KID's subsets are the whole pools (%zu samples): they differ only in order, "
                 "so kid_se is about 0 and says nothing of the sampling error", k.m);
    fprintf(f, "kid\t%.9g\nkid_se\t%.9g\nkid_sd\t%.9g\nkid_subsets\t%d\n"
            "kid_subset_size\t%zu\n", k.mean, k.se, k.sd, k.subsets, k.m);
}

int main(int argc, char **argv)
{
    const char *pa, *pb;
    parse_cmdline(argc, argv, &pa, &pb);
    openblas_set_num_threads(1);    /* sums in one fixed order; KID threads itself */
    if (g_opt.classifier) {
        nn_set_threads(cli.threads);
        if (clf_load(&g_clf, g_opt.classifier) < 0)
            cli_die_last();
    }
    sample_set s[2] = { { .side = 0 }, { .side = 1 } };
    sample_set *a = &s[0], *b = &s[1];
    snprintf(a->field, sizeof a->field, "%s", g_opt.field);
    snprintf(b->field, sizeof b->field, "%s", g_opt.field_b);
    if (g_opt.stats)
        load_stats(a, g_opt.stats);
    else if (pb)
        read_sets(a, 1, pa);
    if (pb || g_opt.stats) {
        need_samples(a);
        read_sets(b, 1, pb);
    } else
        read_sets(s, 2, pa);
    check_dims(a, b);
    need_samples(a);
    need_samples(b);
    if (!g_opt.stats)
        finish(a);
    finish(b);
    double fd;
    if (fr_distance(a->mean, a->cov, b->mean, b->cov, a->d, &fd) < 0)
        cli_die_last();
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    FILE *f = out_stream(o);
    fprintf(f, "metric\tvalue\nn_a\t%" PRIu64 "\nn_b\t%" PRIu64 "\ndim\t%zu\nfid\t%.9g\n",
            a->n, b->n, a->d, fd);
    if (kid_on())
        print_kid(f, a, b);
    if (g_opt.save_stats)
        save_stats(a);
    if (out_commit(o) < 0)
        cli_die_last();
    for (int k = 0; k < 2; k++) {
        mom_free(&s[k].acc);
        kid_pool_free(&s[k].pool);
        free(s[k].mean), free(s[k].cov);
    }
    clf_free(&g_clf);
    free(g_feat);
    return 0;
}
