/* tzmoments - the mean and covariance of a field of a tensor stream, into a
 * small moments file (moments.h): from every value, or with --mask from
 * the observed values alone (the pairwise estimator), or with --stationary
 * the stationary prior of images seen through a blur, from the blurred
 * images alone (method/deconv.h).  Constant memory: sums, never the
 * samples. */
#include <cblas.h>           /* openblas_set_num_threads */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "eval/moments.h"    /* mom_acc, mom_write */
#include "method/classic.h"  /* cls_mask_check */
#include "method/deconv.h"   /* dcv_spectrum */
#include "ops/fwd.h"         /* fwd_parse, fwd_linear */
#include "formats/tz.h"      /* tz_reader */

struct cmdline {
    const char *field, *mask, *stationary;
};

static struct cmdline g_opt = { .field = "x0" };

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME", "the field (default x0)", 0, 0 },
    { "mask", 'm', CLI_STR, &g_opt.mask, "NAME",
      "the mask field (1 observed, 0 not): the pairwise estimator from the observed "
      "values alone (default: every value, no mask)", 0, 0 },
    { "stationary", 0, CLI_STR, &g_opt.stationary, "SPEC",
      "the field holds images seen through the blur SPEC (blur, motion, noise): the "
      "stationary prior of the clean images, from their power spectrum", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzmoments", "[OPTION]... [FILE]...",
    "Write the mean and covariance of a field of tensor streams (standard input if no "
    "FILE) as a small moments file.",
    g_opts, CLI_OUTPUT | CLI_LEVEL, NULL
};

/* The field t of a record: f32, rank >= 1. */
static const tz_tensor *need_f32(const tz_record *rec, const char *name, const char *where)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t)
        cli_die(EXIT_DATA, "%s: no field '%s'", where, name);
    if (t->dtype != TZ_F32 || t->rank < 1)
        cli_die(EXIT_DATA, "%s: field '%s' is %s of rank %d; tzmoments needs f32 samples",
                where, name, tz_dtype_name(t->dtype), t->rank);
    return t;
}

/* --stationary: the records' images (rank 3 or 4 per record) into s. */
static void add_stationary(dcv_spectrum *s, const lin_chain *lc, const tz_record *rec,
                           const tz_tensor *x, uint64_t done, const char *where)
{
    int r = x->rank;
    if (r != 3 && r != 4)
        cli_die(EXIT_DATA, "%s: --stationary needs images (N, H, W) or (N, C, H, W); '%s' "
                "has rank %d", where, g_opt.field, r);
    int C = r == 4 ? (int)x->dims[1] : 1, H = (int)x->dims[r - 2], W = (int)x->dims[r - 1];
    if (!s->n && dcv_spectrum_init(s, C, H, W, lc->noise_var) < 0)
        cli_die_last();
    if (C != s->C || H != s->H || W != s->W)
        cli_die(EXIT_DATA, "%s: field '%s' changes shape", where, g_opt.field);
    const tz_tensor *a = NULL;
    for (int i = 0; i < lc->n; i++)
        if (lc->step[i].kind == LIN_MOTION)
            a = need_f32(rec, "angle", where);
    size_t d = (size_t)C * (size_t)H * (size_t)W;
    for (uint64_t i = 0; i < x->dims[0]; i++) {
        const float *xi = (const float *)x->data + i * d;
        for (size_t j = 0; j < d; j++)
            if (!isfinite(xi[j]))
                cli_die(EXIT_NUMERIC, "%s: field '%s' holds %s (sample %" PRIu64
                        " of the input)", where, g_opt.field, isnan(xi[j]) ? "NaN" : "Inf",
                        done + i);
        lin_side sd = { .angle = a ? ((const float *)a->data)[i] : 0 };
        if (dcv_spectrum_add(s, lc, &sd, xi) < 0)
            cli_die(EXIT_USAGE, "--stationary: %s", err_msg());
    }
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    lin_chain lc;
    dcv_spectrum spec = { 0 };
    if (g_opt.stationary) {
        fwd_spec fs;
        if (g_opt.mask)
            cli_die(EXIT_USAGE, "--stationary and --mask are two estimators: one of them");
        if (fwd_parse(g_opt.stationary, &fs) < 0 || fwd_linear(&fs, &lc) < 0)
            cli_die(EXIT_USAGE, "--stationary: %s", err_msg());
        int other = lc.snr;     /* snr's noise: not of one variance for all */
        for (int i = 0; i < lc.n; i++)
            other |= lc.step[i].kind != LIN_BLUR && lc.step[i].kind != LIN_MOTION;
        if (other)
            cli_die(EXIT_USAGE, "--stationary needs a blur (blur, motion and noise); "
                    "'%s' has more", g_opt.stationary);
    }
    openblas_set_num_threads(1);    /* sums in one fixed order */
    tz_reader *r = tz_reader_open_list(argv + first, argc - first);
    if (!r)
        cli_die_last();
    mom_file mf = { 0 };
    mom_acc acc = { 0 };
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    uint64_t done = 0;
    size_t mcount = 0;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (rec.kind != TZ_BATCH)
            continue;
        char where[512];
        snprintf(where, sizeof where, "%s: record %" PRIu64, tz_reader_name(r),
                 tz_reader_index(r));
        const tz_tensor *x = need_f32(&rec, g_opt.field, where);
        if (g_opt.stationary) {
            add_stationary(&spec, &lc, &rec, x, done, where);
            mf.rank = x->rank - 1;
            memcpy(mf.shape, x->dims + 1, sizeof(uint64_t) * (size_t)mf.rank);
            done += x->dims[0];
            continue;
        }
        const tz_tensor *m = g_opt.mask ? need_f32(&rec, g_opt.mask, where) : NULL;
        size_t d = tz_tensor_row_bytes(x) / 4;
        if (!done) {
            mf.rank = x->rank - 1;
            memcpy(mf.shape, x->dims + 1, sizeof(uint64_t) * (size_t)mf.rank);
            if (mom_init(&acc, d, m != NULL) < 0)
                cli_die_last();
            if (m)
                mcount = tz_tensor_row_bytes(m) / 4;
        } else if (x->rank - 1 != mf.rank ||
                   memcmp(mf.shape, x->dims + 1, sizeof(uint64_t) * (size_t)mf.rank))
            cli_die(EXIT_DATA, "%s: field '%s' changes shape", where, g_opt.field);
        if (m && (tz_tensor_row_bytes(m) / 4 != mcount || !mcount || d % mcount))
            cli_die(EXIT_DATA, "%s: mask '%s' has %zu values per sample; '%s' has %zu (need "
                    "as many, or a divisor shared by the channels)", where, g_opt.mask,
                    tz_tensor_row_bytes(m) / 4, g_opt.field, d);
        for (uint64_t i = 0; i < x->dims[0]; i++) {
            const float *xi = (const float *)x->data + i * d;
            const float *mi = m ? (const float *)m->data + i * mcount : NULL;
            for (size_t j = 0; j < d; j++)
                if (!isfinite(xi[j]))
                    cli_die(EXIT_NUMERIC, "%s: field '%s' holds %s (sample %" PRIu64
                            " of the input)", where, g_opt.field, isnan(xi[j]) ? "NaN" : "Inf",
                            done + i);
            size_t bad = m ? cls_mask_check(mi, mcount) : 0;
            if (m && bad < mcount)
                cli_die(EXIT_DATA, "%s: mask '%s' holds %g, neither 0 nor 1 (sample %" PRIu64
                        " of the input)", where, g_opt.mask, mi[bad], done + i);
            mom_add(&acc, xi, mi, mcount);
        }
        done += x->dims[0];
    }
    if (rc < 0)
        cli_die_err(rc);
    if (!done)
        cli_die(EXIT_DATA, "%s: no samples of '%s'", tz_reader_name(r), g_opt.field);
    mf.d = g_opt.stationary ? (size_t)spec.C * (size_t)spec.H * (size_t)spec.W : acc.d;
    mf.count = done;
    mf.min_pairs = done;
    mf.mean = malloc(sizeof(double) * mf.d);
    mf.cov = malloc(sizeof(double) * mf.d * mf.d);
    if (!mf.mean || !mf.cov)
        cli_die(EXIT_IO, "out of memory");
    if ((g_opt.stationary ? dcv_spectrum_finish(&spec, mf.mean, mf.cov)
                          : mom_finish(&acc, mf.mean, mf.cov, &mf.min_pairs)) < 0)
        cli_die_last();
    snprintf(mf.field, sizeof mf.field, "%s", g_opt.field);
    snprintf(mf.estimator, sizeof mf.estimator, "%s",
             g_opt.stationary ? "stationary" : g_opt.mask ? "pairwise" : "full");
    if (g_opt.mask)
        snprintf(mf.mask, sizeof mf.mask, "%s", g_opt.mask);
    if (mom_write(cli.output, cli.level, &mf) < 0)
        cli_die_last();
    cli_info("%" PRIu64 " samples of %zu values: %s estimator", done, mf.d, mf.estimator);
    if (g_opt.mask)
        cli_info("fewest samples observing a pair of values: %" PRIu64, mf.min_pairs);
    mom_file_free(&mf);
    mom_free(&acc);
    dcv_spectrum_free(&spec);
    tz_record_free(&rec);
    tz_reader_close(r);
    return 0;
}
