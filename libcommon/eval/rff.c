/* rff.c - the squared MMD by random Fourier features; see rff.h. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/rff.h"
#include "formats/batch.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/par.h"
#include "base/rng.h"

/* Samples whose features are made at once: the buffer stays small (CHUNK
 * x D doubles) however many samples a call brings. */
enum { CHUNK = 256 };

enum { NSETS = 3 };     /* A, B and the floor's R */

struct rff_mmd {
    int d, D, G, threads;
    double *w;          /* D x d frequencies */
    double *b;          /* D phases */
    double *S;          /* [set][group][D] sums of the features */
    double *Q;          /* [set][group] sums of their squared norms */
    uint64_t *n;        /* [set][group] counts */
    uint64_t seen[NSETS]; /* samples of each set so far: the next one's group */
    double *phi;        /* CHUNK x D scratch */
};

rff_mmd *rff_mmd_new(int d, int features, const double *widths, int nwidths, uint64_t seed,
                     int groups)
{
    int ok = d >= 1 && features >= 1 && groups >= 2 && nwidths >= 1;
    for (int j = 0; ok && j < nwidths; j++)
        ok = widths[j] > 0 && isfinite(widths[j]);
    if (!ok) {
        err_set(ERR_DATA, "random features: need d >= 1, features >= 1, groups >= 2 and "
                "finite widths above 0");
        return NULL;
    }
    rff_mmd *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    m->d = d, m->D = features, m->G = groups, m->threads = 1;
    size_t D = (size_t)features, G = (size_t)groups;
    m->w = mem_alloc_array(D * (size_t)d, sizeof(double));
    m->b = mem_alloc_array(D, sizeof(double));
    m->S = mem_calloc_array(NSETS * G * D, sizeof(double));
    m->Q = mem_calloc_array(NSETS * G, sizeof(double));
    m->n = mem_calloc_array(NSETS * G, sizeof(uint64_t));
    m->phi = mem_alloc_array((size_t)CHUNK * D, sizeof(double));
    if (!m->w || !m->b || !m->S || !m->Q || !m->n || !m->phi) {
        rff_mmd_free(m);
        return NULL;
    }
    for (size_t k = 0; k < D; k++) {
        rng_t r;
        rng_init(&r, seed, RFF_RNG, k);
        for (int c = 0; c < d; c++)
            m->w[k * (size_t)d + (size_t)c] = rng_normal(&r) / widths[k % (size_t)nwidths];
        m->b[k] = 2 * M_PI * rng_uniform(&r);
    }
    return m;
}

void rff_mmd_free(rff_mmd *m)
{
    if (!m)
        return;
    free(m->w), free(m->b), free(m->S), free(m->Q), free(m->n), free(m->phi);
    free(m);
}

void rff_mmd_set_threads(rff_mmd *m, int threads)
{
    m->threads = threads > 0 ? threads : 1;
}

typedef struct {
    const rff_mmd *m;
    const float *x;
} feat_job;

/* Rows [begin, end) of the chunk: each row's features alone, so the
 * threads share nothing. */
static void features(void *ctx, uint64_t begin, uint64_t end)
{
    const feat_job *j = ctx;
    const rff_mmd *m = j->m;
    double scale = sqrt(2.0 / m->D);
    for (uint64_t i = begin; i < end; i++) {
        const float *x = j->x + i * (size_t)m->d;
        double *phi = m->phi + i * (size_t)m->D;
        for (int k = 0; k < m->D; k++) {
            const double *w = m->w + (size_t)k * (size_t)m->d;
            double s = m->b[k];
            for (int c = 0; c < m->d; c++)
                s += w[c] * x[c];
            phi[k] = scale * cos(s);
        }
    }
}

int rff_mmd_add(rff_mmd *m, int set, const float *x, size_t n)
{
    if (set < 0 || set >= NSETS)
        return err_set(ERR_DATA, "random features: the set is 0, 1 or 2, not %d", set);
    size_t D = (size_t)m->D;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t rows = n - at < CHUNK ? n - at : CHUNK;
        feat_job j = { m, x + at * (size_t)m->d };
        par_for(m->threads, rows, features, &j);
        /* the sums in sample order, on this thread: the same bits
         * whatever the thread count */
        for (size_t i = 0; i < rows; i++) {
            size_t g = (size_t)(m->seen[set] % (uint64_t)m->G), sg = (size_t)set * m->G + g;
            double *S = m->S + sg * D, q = 0;
            const double *phi = m->phi + i * D;
            for (size_t k = 0; k < D; k++) {
                S[k] += phi[k];
                q += phi[k] * phi[k];
            }
            m->Q[sg] += q;
            m->n[sg]++;
            m->seen[set]++;
        }
    }
    return 0;
}

/* The sums of set `set` without group `drop` (-1: none): S (D values),
 * and the within-set term (|S|^2 - Q) / (n (n - 1)). */
static double sums(const rff_mmd *m, int set, int drop, double *S, double *n)
{
    size_t D = (size_t)m->D;
    double Q = 0, c = 0;
    memset(S, 0, D * sizeof(double));
    for (int g = 0; g < m->G; g++) {
        if (g == drop)
            continue;
        size_t sg = (size_t)set * m->G + (size_t)g;
        const double *Sg = m->S + sg * D;
        for (size_t k = 0; k < D; k++)
            S[k] += Sg[k];
        Q += m->Q[sg];
        c += (double)m->n[sg];
    }
    double ss = 0;
    for (size_t k = 0; k < D; k++)
        ss += S[k] * S[k];
    *n = c;
    return (ss - Q) / (c * (c - 1));
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

/* MMD^2(X, B) of set x (A or R), without group `drop` (-1: none).  S is
 * 2 D doubles of scratch. */
static double pair(const rff_mmd *m, int x, int drop, double *S)
{
    size_t D = (size_t)m->D;
    double nx, nb;
    double wx = sums(m, x, drop, S, &nx), wb = sums(m, 1, drop, S + D, &nb);
    return wx + wb - 2 * dot(S, S + D, D) / (nx * nb);
}

enum { OF_A, OF_R, EXCESS };

static double estimate(const rff_mmd *m, int what, int drop, double *S)
{
    switch (what) {
    case OF_A: return pair(m, 0, drop, S);
    case OF_R: return pair(m, 2, drop, S);
    default: return pair(m, 0, drop, S) - pair(m, 2, drop, S);
    }
}

static int result(const rff_mmd *m, int what, rff_result *r)
{
    int x = what == OF_R ? 2 : 0;
    r->n[0] = m->seen[x], r->n[1] = m->seen[1];
    for (int s = 0; s < NSETS; s++)
        if ((s == 1 || s == x || what == EXCESS) && m->seen[s] < 2 * (uint64_t)m->G)
            return err_set(ERR_DATA, "random features: set %c has %llu samples; the jackknife "
                           "over %d groups needs at least %d", "ABR"[s],
                           (unsigned long long)m->seen[s], m->G, 2 * m->G);
    double *S = mem_alloc_array(2 * (size_t)m->D, sizeof(double));
    double *t = mem_alloc_array((size_t)m->G, sizeof(double));
    if (!S || !t) {
        free(S), free(t);
        return ERR_IO;
    }
    r->mmd2 = estimate(m, what, -1, S);
    /* the delete-a-group jackknife: var = (G-1)/G sum (T_g - mean T_g)^2 */
    double mean = 0, ss = 0;
    for (int g = 0; g < m->G; g++)
        mean += t[g] = estimate(m, what, g, S);
    mean /= m->G;
    for (int g = 0; g < m->G; g++)
        ss += (t[g] - mean) * (t[g] - mean);
    r->se = sqrt((m->G - 1.0) / m->G * ss);
    free(t), free(S);
    return 0;
}

int rff_mmd_result(const rff_mmd *m, rff_result *r)
{
    return result(m, OF_A, r);
}

int rff_mmd_floor(const rff_mmd *m, rff_result *r)
{
    return result(m, OF_R, r);
}

int rff_mmd_excess(const rff_mmd *m, rff_result *r)
{
    return result(m, EXCESS, r);
}

/* The accumulator at the first sample, or the shape check after it. */
static int take_shape(rff_stream *s, const tz_tensor *t, const char *name, uint64_t at,
                      const char *f)
{
    int rank = t->rank - 1;
    if (!s->m) {
        size_t d = tz_tensor_row_bytes(t) / sizeof(float);
        if (d > INT_MAX)
            return err_set(ERR_DATA, "%s: %zu values per sample of '%s' are too many", name,
                           d, f);
        if (!(s->m = rff_mmd_new((int)d, s->features, s->widths, s->nwidths, s->seed,
                                 s->groups)))
            return err_code();
        rff_mmd_set_threads(s->m, s->threads);
        s->rank = rank;
        memcpy(s->dims, t->dims + 1, sizeof(uint64_t) * (size_t)rank);
        snprintf(s->first, sizeof s->first, "%s '%s'", name, f);
        return 0;
    }
    if (rank == s->rank && !memcmp(s->dims, t->dims + 1, sizeof(uint64_t) * (size_t)rank))
        return 0;
    char sa[TZ_SHAPE_TEXT_MAX], sb[TZ_SHAPE_TEXT_MAX];
    return err_set(ERR_DATA, "%s: record %" PRIu64 ": '%s' is %s per sample, %s is %s", name,
                   at, f, tz_shape_text(t->dims + 1, rank, sb, sizeof sb), s->first,
                   tz_shape_text(s->dims, s->rank, sa, sizeof sa));
}

int rff_stream_read(rff_stream *s, const char *path, int nsets, const char *const *field,
                    int set0)
{
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return err_code();
    const char *name = tz_reader_name(r);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        uint64_t at = tz_reader_index(r);
        for (int k = 0; k < nsets && rc >= 0; k++) {
            const tz_tensor *t;
            int set = set0 + k;
            rc = batch_f32_field(&rec, name, at, field[k], "tzdist", &t);
            if (rc == 0)
                rc = take_shape(s, t, name, at, field[k]);
            uint64_t take = s->max - s->n[set];
            if (rc == 0 && take > t->dims[0])
                take = t->dims[0];
            if (rc == 0)
                rc = batch_check_finite(t, take, name, at, s->n[set]);
            if (rc == 0)
                rc = rff_mmd_add(s->m, set, t->data, (size_t)take);
            if (rc == 0)
                s->n[set] += take;
        }
        if (rc < 0)
            break;
    }
    tz_reader_close(r);
    tz_record_free(&rec);
    return rc < 0 ? rc : 0;
}
