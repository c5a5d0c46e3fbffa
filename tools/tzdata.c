/* tzdata - make data sets as tensor streams: Fashion-MNIST from Debian's
 * dataset-fashion-mnist, and synthetic sets with known distributions
 * (two moons, a Gaussian mixture, a checkerboard, N(mu, Sigma), quasar
 * spectra).
 *
 * Moons place all points at once (make_moons' angle grid), so they also
 * depend on --count; with --iid each point draws its own angle instead.
 *
 * Output records hold `x` (f32 samples) and, but for gaussian, `label`
 * (i32: the class, moon, component or square).  Samples
 * depend on --seed and their index only, not on --batch. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "formats/idx.h"        /* idx_read */
#include "base/mem.h"        /* mem_alloc_array */
#include "ops/quasar.h"     /* qso_sample */
#include "ops/synth.h"      /* synth_moons, synth_gmm, synth_gauss */
#include "formats/tz.h"         /* tz_writer */

static const char FMNIST_DIR[] = "/usr/share/datasets/fashion-mnist";

struct cmdline {
    const char *set;
    uint64_t count;
    uint64_t batch;
    double noise, shift, scale;
    int components;
    double radius, std;
    int dim;
    const char *spectrum, *mean, *params;
    int no_rotate;
    int iid;
    const char *split, *dir;
};

static struct cmdline g_opt = {
    .count = 0, .batch = 1024, .noise = 0.1, .shift = 0, .scale = 1,
    .components = 8, .radius = 4, .std = 0.5, .dim = 2,
    .spectrum = "const:1", .mean = "0", .split = "train", .dir = FMNIST_DIR,
};

static const cli_opt g_opts[] = {
    { "count", 'c', CLI_U64, &g_opt.count, "N",
      "samples (default 10000; fashion-mnist: the whole split)", 0, 0 },
    { "batch", 'n', CLI_U64, &g_opt.batch, "N",
      "samples per record (default 1024)", 1, 1e9 },
    { "noise", 0, CLI_DOUBLE, &g_opt.noise, "S",
      "moons: std of the Gaussian noise (default 0.1)", 0, 1e6 },
    { "shift", 0, CLI_DOUBLE, &g_opt.shift, "A",
      "moons: add A to both coordinates before scaling (default 0)", 0, 0 },
    { "scale", 0, CLI_DOUBLE, &g_opt.scale, "K",
      "moons, checkerboard: multiply coordinates by K (default 1)", 0, 0 },
    { "iid", 0, CLI_FLAG, &g_opt.iid, NULL,
      "moons: draw each point's moon and angle at random (independent "
      "samples), not make_moons' evenly spaced angles", 0, 0 },
    { "components", 0, CLI_INT, &g_opt.components, "K",
      "gmm: number of components (default 8)", 1, 1e6 },
    { "radius", 0, CLI_DOUBLE, &g_opt.radius, "R",
      "gmm: radius of the circle of means (default 4)", 0, 1e6 },
    { "std", 0, CLI_DOUBLE, &g_opt.std, "S",
      "gmm: std of each component (default 0.5)", 0, 1e6 },
    { "dim", 'd', CLI_INT, &g_opt.dim, "D",
      "gaussian: dimension (default 2)", 1, 4096 },
    { "spectrum", 0, CLI_STR, &g_opt.spectrum, "SPEC",
      "gaussian: eigenvalues of Sigma: v1,...,vD | const:A | geom:A:B | "
      "linear:A:B (default const:1)", 0, 0 },
    { "mean", 0, CLI_STR, &g_opt.mean, "M",
      "gaussian: the mean, one value for all coordinates or D values "
      "(default 0)", 0, 0 },
    { "no-rotate", 0, CLI_FLAG, &g_opt.no_rotate, NULL,
      "gaussian: eigenvectors along the axes (default: a random rotation, "
      "which costs O(D^3): seconds at D = 1000)", 0, 0 },
    { "params", 'p', CLI_STR, &g_opt.params, "FILE",
      "gaussian: also write mu, eig, rot and cov as a plain record to FILE", 0, 0 },
    { "split", 0, CLI_STR, &g_opt.split, "train|test",
      "fashion-mnist: which split (default train)", 0, 0 },
    { "dir", 0, CLI_STR, &g_opt.dir, "DIR",
      "fashion-mnist: where the idx files are (default "
      "/usr/share/datasets/fashion-mnist)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzdata", "[OPTION]... SET",
    "Make a data set as a tensor stream. SET is one of fashion-mnist, moons, "
    "gmm, checkerboard, gaussian, quasar.",
    g_opts, CLI_SEED | CLI_OUTPUT | CLI_LEVEL, NULL
};

/* Quasar spectra's per-sample fields, each a block of dims[0] values in
 * that order in the array qso_fields. */
static const char *const QSO_FIELDS[] = { "z", "amp", "slope", "civ_fwhm" };
#define QSO_NFIELDS 4

/* Write one record of dims[0] samples: x, label unless it is NULL, and
 * quasar spectra's fields and grid unless qso is NULL. */
static void write_batch(tz_writer *w, const char *source, int rank,
                        const uint64_t *dims, float *x, int32_t *label, float *qso)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    if (!tz_record_add(&rec, "x", TZ_F32, rank, dims, x) ||
        (label && !tz_record_add(&rec, "label", TZ_I32, 1, dims, label)) ||
        tz_record_set_attr(&rec, "source", source) < 0)
        cli_die_last();
    for (int f = 0; qso && f < QSO_NFIELDS; f++)
        if (!tz_record_add(&rec, QSO_FIELDS[f], TZ_F32, 1, dims, qso + f * dims[0]))
            cli_die_last();
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%g", QSO_LAMBDA_MIN);
    snprintf(hi, sizeof hi, "%g", QSO_LAMBDA_MAX);
    if ((qso && (tz_record_set_attr(&rec, "lambda_min", lo) < 0 ||
                 tz_record_set_attr(&rec, "lambda_max", hi) < 0)) ||
        tz_write(w, &rec) < 0)
        cli_die_last();
    tz_record_free(&rec);
}

/* Parse --mean into d values. */
static void parse_mean(double *mu, int d)
{
    char *end;
    const char *p = g_opt.mean;
    for (int i = 0; i < d; i++) {
        mu[i] = strtod(p, &end);
        if (end == p || !isfinite(mu[i]))
            cli_die(EXIT_USAGE, "--mean needs 1 or %d numbers; got '%s'", d, g_opt.mean);
        if (i == 0 && !*end) {
            for (int j = 1; j < d; j++)
                mu[j] = mu[0];
            return;
        }
        if (i < d - 1 && *end != ',')
            cli_die(EXIT_USAGE, "--mean needs 1 or %d numbers; got '%s'", d, g_opt.mean);
        p = end + 1;
    }
    if (*end)
        cli_die(EXIT_USAGE, "--mean has more than %d numbers", d);
}

static void write_gauss_params(const synth_gauss *g)
{
    uint64_t d = (uint64_t)g->d, dd[2] = { d, d };
    double *cov = malloc(sizeof(double) * d * d);
    if (!cov)
        cli_die(EXIT_IO, "out of memory");
    synth_gauss_cov(g, cov);
    tz_record rec;
    tz_record_init(&rec, TZ_PLAIN);
    tz_writer *w = tz_writer_open(g_opt.params, cli.level);
    if (!w || !tz_record_add(&rec, "mu", TZ_F64, 1, &d, g->mu) ||
        !tz_record_add(&rec, "eig", TZ_F64, 1, &d, g->eig) ||
        !tz_record_add(&rec, "rot", TZ_F64, 2, dd, g->rot) ||
        !tz_record_add(&rec, "cov", TZ_F64, 2, dd, cov) ||
        tz_record_set_attr(&rec, "spectrum", g_opt.spectrum) < 0 ||
        tz_write(w, &rec) < 0 || tz_writer_close(w) < 0)
        cli_die_last();
    tz_record_free(&rec);
    free(cov);
}

/* The synthetic sets: samples [0, count) in records of --batch.  Quasar
 * spectra are signals of one channel, (N, 1, QSO_PIXELS), as the 1-D
 * U-Net takes them, with each spectrum's redshift, continuum (amplitude
 * and index) and C IV width. */
static void make_synthetic(tz_writer *w, const char *set)
{
    uint64_t n = g_opt.count ? g_opt.count : 10000;
    int quasar = strcmp(set, "quasar") == 0;
    int d = strcmp(set, "gaussian") == 0 ? g_opt.dim : quasar ? QSO_PIXELS : 2;
    char source[512];
    snprintf(source, sizeof source, "tzdata %s n=%" PRIu64 " seed=%" PRIu64, set, n,
             cli.seed);
    synth_gauss g = { 0 };
    float *all = NULL;
    int32_t *all_labels = NULL;
    if (strcmp(set, "gaussian") == 0) {
        double *mu = malloc(sizeof(double) * (size_t)d);
        double *eig = malloc(sizeof(double) * (size_t)d);
        if (!mu || !eig)
            cli_die(EXIT_IO, "out of memory");
        parse_mean(mu, d);
        if (synth_parse_spectrum(g_opt.spectrum, d, eig) < 0)
            cli_die_last();
        if (synth_gauss_init(&g, d, mu, eig, !g_opt.no_rotate, cli.seed) < 0)
            cli_die_last();
        free(mu);
        free(eig);
    } else if (strcmp(set, "moons") == 0 && !g_opt.iid) {
        /* make_moons places all points at once (angle grid, shuffle). */
        all = mem_alloc_array((size_t)n + 1, 2 * sizeof(float));
        all_labels = mem_alloc_array((size_t)n + 1, sizeof(int32_t));
        if (!all || !all_labels ||
            synth_moons(n, g_opt.noise, g_opt.shift, g_opt.scale, cli.seed, all,
                        all_labels) < 0)
            cli_die(EXIT_IO, "out of memory for %" PRIu64 " points", n);
    }
    size_t bmax = (size_t)(g_opt.batch < n ? g_opt.batch : n);
    float *x = mem_alloc_array((size_t)d * bmax + 1, sizeof(float));
    int32_t *label = mem_calloc_array(bmax + 1, sizeof(int32_t));
    float *qso = quasar ? mem_alloc_array(bmax + 1, QSO_NFIELDS * sizeof(float)) : NULL;
    if (!x || !label || (quasar && !qso))
        cli_die(EXIT_IO, "out of memory");
    cli_progress bar;
    cli_progress_start(&bar, "tzdata: samples", n);
    for (uint64_t start = 0; start < n; start += bmax) {
        uint64_t m = n - start < bmax ? n - start : bmax;
        cli_progress_update(&bar, start);
        for (uint64_t i = 0; i < m; i++) {
            uint64_t k = start + i;
            if (all) {
                x[2 * i] = all[2 * k];
                x[2 * i + 1] = all[2 * k + 1];
                label[i] = all_labels[k];
            } else if (strcmp(set, "moons") == 0) {
                synth_moons_iid(g_opt.noise, g_opt.shift, g_opt.scale, cli.seed, k,
                                x + 2 * i, label + i);
            } else if (strcmp(set, "gmm") == 0) {
                synth_gmm(g_opt.components, g_opt.radius, g_opt.std, cli.seed, k,
                          x + 2 * i, label + i);
            } else if (strcmp(set, "checkerboard") == 0) {
                synth_checkerboard(g_opt.scale, cli.seed, k, x + 2 * i, label + i);
            } else if (quasar) {
                qso_info q;
                qso_sample(cli.seed, k, x + (size_t)d * i, &q);
                float v[QSO_NFIELDS] = { (float)q.z, (float)q.amp, (float)q.slope,
                                         (float)q.fwhm[QSO_CIV] };
                for (int f = 0; f < QSO_NFIELDS; f++)
                    qso[f * m + i] = v[f];
            } else {
                synth_gauss_sample(&g, cli.seed, k, x + (size_t)d * i);
            }
        }
        uint64_t dims[3] = { m, (uint64_t)d }, qdims[3] = { m, 1, (uint64_t)d };
        write_batch(w, source, quasar ? 3 : 2, quasar ? qdims : dims, x,
                    g.d || quasar ? NULL : label, qso);
    }
    cli_progress_end(&bar, n);
    /* The parameters last, so a failed run leaves no params file. */
    if (g_opt.params)
        write_gauss_params(&g);
    free(x);
    free(label);
    free(qso);
    free(all);
    free(all_labels);
    synth_gauss_free(&g);
}

/* Fashion-MNIST: u8 images to f32 in [0, 1], shape (N, 1, 28, 28). */
static void make_fashion_mnist(tz_writer *w)
{
    int test = strcmp(g_opt.split, "test") == 0;
    if (!test && strcmp(g_opt.split, "train") != 0)
        cli_die(EXIT_USAGE, "--split must be train or test; got '%s'", g_opt.split);
    char ipath[4096], lpath[4096];
    const char *pre = test ? "t10k" : "train";
    snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte.gz", g_opt.dir, pre);
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte.gz", g_opt.dir, pre);
    int idt, ldt, irank, lrank, itype, ltype;
    uint64_t idims[TZ_RANK_MAX], ldims[TZ_RANK_MAX];
    void *img, *lab;
    if (idx_read(ipath, &idt, &irank, idims, &img, &itype) < 0 ||
        idx_read(lpath, &ldt, &lrank, ldims, &lab, &ltype) < 0)
        cli_die_last();
    if (idt != TZ_U8 || irank != 3 || ldt != TZ_U8 || lrank != 1 || ldims[0] != idims[0])
        cli_die(EXIT_DATA, "%s: expected u8 images (N, H, W) and %s: N u8 labels",
                ipath, lpath);
    uint64_t n = g_opt.count && g_opt.count < idims[0] ? g_opt.count : idims[0];
    uint64_t hw = idims[1] * idims[2];
    size_t bmax = (size_t)(g_opt.batch < n ? g_opt.batch : n);
    float *x = malloc(sizeof(float) * hw * bmax + 1);
    int32_t *label = malloc(sizeof(int32_t) * bmax + 1);
    if (!x || !label)
        cli_die(EXIT_IO, "out of memory");
    char source[512];
    snprintf(source, sizeof source, "fashion-mnist %s", g_opt.split);
    for (uint64_t start = 0; start < n; start += bmax) {
        uint64_t m = n - start < bmax ? n - start : bmax;
        const uint8_t *src = (const uint8_t *)img + start * hw;
        for (uint64_t i = 0; i < m * hw; i++)
            x[i] = src[i] / 255.0f;
        for (uint64_t i = 0; i < m; i++)
            label[i] = ((const uint8_t *)lab)[start + i];
        uint64_t dims[4] = { m, 1, idims[1], idims[2] };
        write_batch(w, source, 4, dims, x, label, NULL);
    }
    free(x);
    free(label);
    free(img);
    free(lab);
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (argc - first != 1)
        cli_die(EXIT_USAGE, "need exactly one SET (fashion-mnist, moons, gmm, "
                "checkerboard, gaussian, quasar); try --help");
    const char *set = argv[first];
    int synthetic = strcmp(set, "moons") == 0 || strcmp(set, "gmm") == 0 ||
                    strcmp(set, "checkerboard") == 0 || strcmp(set, "gaussian") == 0 ||
                    strcmp(set, "quasar") == 0;
    if (!synthetic && strcmp(set, "fashion-mnist") != 0)
        cli_die(EXIT_USAGE, "unknown set '%s' (fashion-mnist, moons, gmm, "
                "checkerboard, gaussian, quasar)", set);
    if (g_opt.params && strcmp(set, "gaussian") != 0)
        cli_die(EXIT_USAGE, "--params applies to the gaussian set only");
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    if (!w)
        cli_die_last();
    if (synthetic)
        make_synthetic(w, set);
    else
        make_fashion_mnist(w);
    if (tz_writer_close(w) < 0)
        cli_die_last();
    return 0;
}
