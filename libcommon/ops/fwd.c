/* fwd.c - the built-in forward operators; see fwd.h.
 *
 * Every operator works on one sample at a time, in place, with the
 * sample's own random stream, so the batch is split over threads freely.
 * Images are (C, H, W); a 1-D signal is (W) or (C, W) and the spectral
 * operators run along its last axis. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "ops/fwd.h"
#include "ops/lin.h"
#include "formats/img.h"
#include "base/mem.h"
#include "base/par.h"
#include "base/rng.h"

enum {
    OP_MASK, OP_BLUR, OP_MOTION, OP_JPEG, OP_AWGN, OP_POISSON, OP_DOWN,
    OP_SMOOTH, OP_TILT, OP_SNR, OP_CLIP, OP_PROJECT, OP_COUNT
};

/* rng streams: one per operator position and resample. */
#define FWD_RNG_BASE 0x46000000u

static const struct kind {
    const char *name;
    int nkeys;
    const char *keys[4];
    double dflt[4], lo[4], hi[4];
    const char *side;       /* side field, or NULL */
    const char *help;
} g_kinds[OP_COUNT] = {
    [OP_MASK] = { "mask", 3, { "p", "noise", "fill" }, { 0.5, 0, 0 },
                  { 0, 0, 0 }, { 1, 1e3, 1e3 }, "mask",
                  "drop each pixel (all channels) with probability p; kept "
                  "pixels + noise*N(0,1); dropped pixels 0, or fill*N(0,1) if "
                  "fill > 0; side field mask: 1 kept, 0 dropped" },
    [OP_BLUR] = { "blur", 2, { "sigma", "noise" }, { 1, 0 }, { 1e-3, 0 },
                  { 100, 1e3 }, NULL,
                  "Gaussian blur of std sigma pixels, kernel 2*ceil(3*sigma)+1, "
                  "reflected edges; then + noise*N(0,1)" },
    [OP_MOTION] = { "motion", 2, { "k", "noise" }, { 5, 0 }, { 1, 0 },
                    { 101, 1e3 }, "angle",
                    "motion blur along a line of k pixels at an angle drawn "
                    "uniformly per sample; then + noise*N(0,1); side field angle: "
                    "the angle / pi, in (-1, 1)" },
    [OP_JPEG] = { "jpeg", 3, { "qmin", "qmax", "noise" }, { 10, 50, 0 },
                  { 1, 1, 0 }, { 100, 100, 1e3 }, "quality",
                  "JPEG encode and decode (libjpeg-turbo) at a quality drawn "
                  "uniformly from the integers qmin..qmax (q=A-B or q=A sets "
                  "both); then + noise*N(0,1); side field quality" },
    [OP_AWGN] = { "awgn", 1, { "sigma" }, { 0.1 }, { 0 }, { 1e6 }, NULL,
                  "additive white Gaussian noise of std sigma" },
    [OP_POISSON] = { "poisson", 1, { "gain" }, { 100 }, { 1e-6 }, { 1e9 }, NULL,
                     "shot noise: Poisson(gain * max(x, 0)) / gain" },
    [OP_DOWN] = { "down", 1, { "f" }, { 2 }, { 1 }, { 64 }, NULL,
                  "average f x f blocks and repeat each average over its block "
                  "(height and width divisible by f)" },
    [OP_SMOOTH] = { "smooth", 2, { "sigma", "jitter" }, { 2, 0 }, { 1e-3, 0 },
                    { 1e3, 0.99 }, "smooth",
                    "1-D Gaussian line-spread smoothing along the last axis, std "
                    "sigma*(1 + jitter*U(-1,1)) pixels, radius 4 std; side field "
                    "smooth: the std used" },
    [OP_TILT] = { "tilt", 1, { "a" }, { 0.05 }, { 0 }, { 1 }, "tilt",
                  "multiply by 1 + s*(j - mid)/half along the last axis, s "
                  "uniform in (-a, a): a flux-calibration tilt; side field tilt: s" },
    [OP_SNR] = { "snr", 2, { "min", "max" }, { 10, 30 }, { 1e-6, 1e-6 },
                 { 1e9, 1e9 }, "snr",
                 "+ N(0, s^2) with s = |mean(x)|/SNR + 1e-4, SNR uniform in "
                 "[min, max] per sample; side field snr" },
    [OP_CLIP] = { "clip", 2, { "lo", "hi" }, { 0, 1 }, { -1e30, -1e30 },
                  { 1e30, 1e30 }, NULL, "clamp every value to [lo, hi]" },
    [OP_PROJECT] = { "project", 1, { "noise" }, { 0 }, { 0 }, { 1e6 },
                     "direction",
                     "project each sample onto a random unit direction u drawn "
                     "per sample: (u.x) u, then + noise*N(0,1); side field "
                     "direction: u" },
};

/* ---- parsing --------------------------------------------------------- */

static int parse_op(const char *text, size_t len, fwd_op *op)
{
    char buf[256];
    if (len >= sizeof buf)
        return err_set(ERR_USAGE, "operator '%.40s...' is too long", text);
    memcpy(buf, text, len);
    buf[len] = 0;
    char *save = NULL, *name = strtok_r(buf, ":", &save);
    if (!name)
        return err_set(ERR_USAGE, "empty operator in the spec");
    int kind = -1;
    for (int k = 0; k < OP_COUNT; k++)
        if (!strcmp(name, g_kinds[k].name))
            kind = k;
    if (kind < 0)
        return err_set(ERR_USAGE, "unknown operator '%s' (see --help)", name);
    const struct kind *K = &g_kinds[kind];
    op->kind = kind;
    memcpy(op->p, K->dflt, sizeof op->p);
    for (char *kv; (kv = strtok_r(NULL, ":", &save));) {
        char *eq = strchr(kv, '='), *end;
        if (!eq)
            return err_set(ERR_USAGE, "%s: '%s' is not key=value", name, kv);
        *eq = 0;
        const char *val = eq + 1;
        if (kind == OP_JPEG && !strcmp(kv, "q")) {
            double a = strtod(val, &end), b = a;
            if (*end == '-')
                b = strtod(end + 1, &end);
            if (end == val || *end || a != floor(a) || b != floor(b) || a < 1 ||
                b > 100 || a > b)
                return err_set(ERR_USAGE, "jpeg: q must be A or A-B with 1 <= A "
                               "<= B <= 100 whole; got '%s'", val);
            op->p[0] = a, op->p[1] = b;
            continue;
        }
        int key = -1;
        for (int i = 0; i < K->nkeys; i++)
            if (!strcmp(kv, K->keys[i]))
                key = i;
        if (key < 0)
            return err_set(ERR_USAGE, "%s has no parameter '%s'", name, kv);
        double v = strtod(val, &end);
        if (end == val || *end || !isfinite(v) || v < K->lo[key] || v > K->hi[key])
            return err_set(ERR_USAGE, "%s: %s must be a number in [%g, %g]; got "
                           "'%s'", name, kv, K->lo[key], K->hi[key], val);
        op->p[key] = v;
    }
    if ((kind == OP_MOTION || kind == OP_DOWN) && op->p[0] != floor(op->p[0]))
        return err_set(ERR_USAGE, "%s: %s must be a whole number", name, K->keys[0]);
    /* An even line has no centre pixel: it would shift the image. */
    if (kind == OP_MOTION && fmod(op->p[0], 2) == 0)
        return err_set(ERR_USAGE, "motion: k must be odd; got %g", op->p[0]);
    if (kind == OP_JPEG && (op->p[0] != floor(op->p[0]) || op->p[1] != floor(op->p[1]) ||
                            op->p[0] > op->p[1]))
        return err_set(ERR_USAGE, "jpeg: need whole qmin <= qmax");
    if (kind == OP_SNR && op->p[0] > op->p[1])
        return err_set(ERR_USAGE, "snr: min must not exceed max");
    if (kind == OP_CLIP && op->p[0] > op->p[1])
        return err_set(ERR_USAGE, "clip: lo must not exceed hi");
    return 0;
}

int fwd_parse(const char *text, fwd_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (spec->nops == FWD_OPS_MAX)
            return err_set(ERR_USAGE, "more than %d operators", FWD_OPS_MAX);
        int rc = parse_op(p, len, &spec->op[spec->nops]);
        if (rc < 0)
            return rc;
        /* Two operators with the same side field would clash in the record. */
        const char *side = g_kinds[spec->op[spec->nops].kind].side;
        for (int i = 0; side && i < spec->nops; i++)
            if (g_kinds[spec->op[i].kind].side == side)
                return err_set(ERR_USAGE, "operator '%s' appears twice; its "
                               "side field '%s' would clash", g_kinds[spec->op[i].kind].name,
                               side);
        spec->nops++;
        p = comma ? comma + 1 : p + len;
        if (comma && !*p)
            return err_set(ERR_USAGE, "empty operator after the last comma");
    }
    if (spec->nops == 0)
        return err_set(ERR_USAGE, "empty forward-model spec");
    return 0;
}

const char *fwd_help(void)
{
    static char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "Operators (defaults shown):\n");
    for (int k = 0; k < OP_COUNT && n < sizeof buf; k++) {
        const struct kind *K = &g_kinds[k];
        n += (size_t)snprintf(buf + n, sizeof buf - n, "  %s", K->name);
        for (int i = 0; i < K->nkeys && n < sizeof buf; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ":%s=%g", K->keys[i], K->dflt[i]);
        /* The description, wrapped at 78 columns under a 6-space indent. */
        const char *p = K->help;
        while (*p && n < sizeof buf) {
            size_t len = strlen(p);
            if (len > 72) {
                len = 72;
                while (len > 0 && p[len] != ' ')
                    len--;
                if (len == 0)       /* one long word: cut it */
                    len = 72;
            }
            n += (size_t)snprintf(buf + n, sizeof buf - n, "\n      %.*s", (int)len, p);
            p += len;
            while (*p == ' ')
                p++;
        }
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "\n");
    }
    return buf;
}

const char *fwd_side_fields(const fwd_spec *spec)
{
    static char buf[256];
    buf[0] = 0;
    for (int i = 0; i < spec->nops; i++) {
        const char *s = g_kinds[spec->op[i].kind].side;
        if (s)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s",
                     buf[0] ? "," : "", s);
    }
    return buf;
}

/* ---- the linear part ------------------------------------------------ */

int fwd_linear(const fwd_spec *spec, lin_chain *lc)
{
    memset(lc, 0, sizeof *lc);
    const char *noisy = NULL;   /* the last operator that added noise */
    for (int j = 0; j < spec->nops; j++) {
        const fwd_op *op = &spec->op[j];
        const char *name = g_kinds[op->kind].name;
        double noise = 0;
        int kind = -1;
        switch (op->kind) {
        case OP_MASK: kind = LIN_MASK, noise = op->p[1]; break;
        case OP_BLUR: kind = LIN_BLUR, noise = op->p[1]; break;
        case OP_MOTION: kind = LIN_MOTION, noise = op->p[1]; break;
        case OP_DOWN: kind = LIN_DOWN; break;
        case OP_SMOOTH: kind = LIN_SMOOTH; break;
        case OP_TILT: kind = LIN_TILT; break;
        case OP_AWGN: noise = op->p[0]; break;
        case OP_SNR: lc->snr = 1, noisy = name; break;
        default:
            return err_set(ERR_USAGE, "%s is not a linear operator (the linear ones: mask, "
                           "blur, motion, down, smooth, tilt, and awgn's and snr's noise)",
                           name);
        }
        if (kind >= 0) {
            if (noisy)
                return err_set(ERR_USAGE, "%s after %s's noise: the noise is then not white "
                               "at the output", name, noisy);
            lc->step[lc->n].kind = kind;
            lc->step[lc->n++].p = op->p[0];
        }
        if (noise > 0) {
            noisy = name;
            lc->noise_var += noise * noise;
        }
    }
    return 0;
}

/* ---- applying ------------------------------------------------------- */

typedef struct {
    const fwd_spec *spec;
    float *y;
    int c, h, w;                /* per-sample layout (C, H, W) */
    size_t per;                 /* c * h * w */
    uint64_t first, seed;
    uint32_t resample;
    float *side[FWD_OPS_MAX];   /* per operator, or NULL */
    size_t side_per[FWD_OPS_MAX];
    pthread_mutex_t lock;
    int failed;
    char msg[256];
} apply_ctx;

/* Scratch for one thread: sized for a sample. */
typedef struct {
    float *tmp, *z, *kern;
} scratch;

static void fail(apply_ctx *c, const char *msg)
{
    pthread_mutex_lock(&c->lock);
    if (!c->failed) {
        c->failed = 1;
        snprintf(c->msg, sizeof c->msg, "%s", msg);
    }
    pthread_mutex_unlock(&c->lock);
}

static void apply_jpeg(apply_ctx *c, const fwd_op *op, float *s, rng_t *r, float *side)
{
    int q = (int)op->p[0] + (int)rng_below(r, (uint64_t)(op->p[1] - op->p[0] + 1));
    img_image im, back;
    unsigned char *buf = NULL;
    size_t len;
    if (img_from_f32_chw(s, c->c, c->h, c->w, 8, &im) < 0) {
        fail(c, err_msg());
        return;
    }
    if (img_jpeg_encode(&im, q, &buf, &len) < 0 || img_jpeg_decode(buf, len, &back) < 0) {
        fail(c, err_msg());
        img_free(&im);
        free(buf);
        return;
    }
    img_to_f32_chw(&back, s);
    img_free(&im);
    img_free(&back);
    free(buf);
    *side = (float)q;
}

static void apply_op(apply_ctx *c, int j, float *s, rng_t *r, float *side, scratch *sc)
{
    const fwd_op *op = &c->spec->op[j];
    size_t per = c->per, hw = (size_t)c->h * (size_t)c->w;
    int rows = c->c * c->h;
    switch (op->kind) {
    case OP_MASK: {
        double p = op->p[0];
        uint64_t cut = (uint64_t)(p * 4294967296.0);
        for (size_t i = 0; i < hw; i++)
            side[i] = (uint64_t)rng_u32(r) >= cut ? 1.0f : 0.0f;
        memset(sc->z, 0, sizeof(float) * per);
        rng_add_normal_f32(r, sc->z, per, 1.0f);
        for (int ch = 0; ch < c->c; ch++)
            for (size_t i = 0; i < hw; i++) {
                float *v = &s[(size_t)ch * hw + i], z = sc->z[(size_t)ch * hw + i];
                *v = side[i] ? *v + (float)op->p[1] * z : (float)op->p[2] * z;
            }
        return;
    }
    case OP_BLUR: {
        int taps = lin_gauss_kernel(op->p[0], 3, sc->kern, 2 * 301 + 1);
        for (int ch = 0; ch < c->c; ch++) {
            lin_conv_rows(s + (size_t)ch * hw, c->h, c->w, sc->kern, taps, sc->tmp);
            lin_conv_cols(s + (size_t)ch * hw, c->h, c->w, sc->kern, taps, sc->tmp);
        }
        if (op->p[1] > 0)
            rng_add_normal_f32(r, s, per, (float)op->p[1]);
        return;
    }
    case OP_MOTION: {
        int k = (int)op->p[0];
        double theta = M_PI * (2 * rng_uniform(r) - 1);
        *side = (float)(theta / M_PI);
        theta = M_PI * (double)*side;   /* the angle the side field records, exactly */
        lin_motion_kernel(k, theta, sc->kern);
        for (int ch = 0; ch < c->c; ch++)
            lin_conv2d(s + (size_t)ch * hw, c->h, c->w, sc->kern, k, sc->tmp);
        if (op->p[1] > 0)
            rng_add_normal_f32(r, s, per, (float)op->p[1]);
        return;
    }
    case OP_JPEG:
        apply_jpeg(c, op, s, r, side);
        if (op->p[2] > 0)
            rng_add_normal_f32(r, s, per, (float)op->p[2]);
        return;
    case OP_AWGN:
        rng_add_normal_f32(r, s, per, (float)op->p[0]);
        return;
    case OP_POISSON:
        for (size_t i = 0; i < per; i++)
            s[i] = (float)(rng_poisson(r, fmax(s[i], 0) * op->p[0]) / op->p[0]);
        return;
    case OP_DOWN:
        for (int ch = 0; ch < c->c; ch++)
            lin_down(s + (size_t)ch * hw, c->h, c->w, (int)op->p[0]);
        return;
    /* The spectral operators use the values their side fields record, as
     * float, so that lin.h's A (which reads them back) is this instrument
     * bit for bit. */
    case OP_SMOOTH:
        *side = (float)(op->p[0] * (1 + op->p[1] * (2 * rng_uniform(r) - 1)));
        lin_smooth(s, rows, c->w, *side, sc->kern, sc->tmp);
        return;
    case OP_TILT:
        *side = (float)(op->p[0] * (2 * rng_uniform(r) - 1));
        lin_tilt(s, rows, c->w, *side);
        return;
    case OP_SNR: {
        double mean = 0;
        *side = (float)(op->p[0] + (op->p[1] - op->p[0]) * rng_uniform(r));
        for (size_t i = 0; i < per; i++)
            mean += s[i];
        rng_add_normal_f32(r, s, per, (float)lin_snr_std(mean / (double)per, *side));
        return;
    }
    case OP_CLIP:
        for (size_t i = 0; i < per; i++)
            s[i] = s[i] < op->p[0] ? (float)op->p[0] : s[i] > op->p[1] ? (float)op->p[1] : s[i];
        return;
    case OP_PROJECT: {
        double norm = 0, dot = 0;
        for (size_t i = 0; i < per; i++) {
            side[i] = (float)rng_normal(r);
            norm += (double)side[i] * side[i];
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < per; i++) {
            side[i] = (float)(side[i] / norm);
            dot += (double)side[i] * s[i];
        }
        for (size_t i = 0; i < per; i++)
            s[i] = (float)(dot * side[i]);
        if (op->p[0] > 0)
            rng_add_normal_f32(r, s, per, (float)op->p[0]);
        return;
    }
    }
}

static void apply_range(void *arg, uint64_t begin, uint64_t end)
{
    apply_ctx *c = arg;
    size_t big = c->per > 4001 * 2 + 2 ? c->per : 4001 * 2 + 2;
    scratch sc = { mem_alloc_array(big, sizeof(float)), mem_alloc_array(c->per, sizeof(float)),
                   mem_alloc_array(big > 101 * 101 ? big : 101 * 101, sizeof(float)) };
    if (!sc.tmp || !sc.z || !sc.kern) {
        fail(c, "out of memory");
        goto out;
    }
    for (uint64_t i = begin; i < end && !c->failed; i++) {
        float *s = c->y + (size_t)i * c->per;
        for (int j = 0; j < c->spec->nops; j++) {
            rng_t r;
            rng_init(&r, c->seed, FWD_RNG_BASE + 256u * c->resample + (uint32_t)j,
                     c->first + i);
            float *side = c->side[j] ? c->side[j] + (size_t)i * c->side_per[j] : NULL;
            apply_op(c, j, s, &r, side, &sc);
        }
    }
out:
    free(sc.tmp);
    free(sc.z);
    free(sc.kern);
}

/* Check that op can run on samples of layout (c, h, w). */
static int check_layout(const fwd_op *op, int c, int h, int w, const char *xname)
{
    const char *name = g_kinds[op->kind].name;
    int image = op->kind == OP_BLUR || op->kind == OP_MOTION || op->kind == OP_JPEG ||
                op->kind == OP_DOWN;
    if (image && h < 2)
        return err_set(ERR_DATA, "%s needs images (N, C, H, W) or (N, H, W); "
                       "field '%s' holds vectors", name, xname);
    if (op->kind == OP_JPEG && c != 1 && c != 3)
        return err_set(ERR_DATA, "jpeg needs 1 or 3 channels; field '%s' has %d",
                       xname, c);
    if (op->kind == OP_JPEG && (h > IMG_DIM_MAX || w > IMG_DIM_MAX))
        return err_set(ERR_DATA, "jpeg: images of %dx%d are too large", w, h);
    if (op->kind == OP_DOWN && (h % (int)op->p[0] || w % (int)op->p[0]))
        return err_set(ERR_DATA, "down: f=%g does not divide %dx%d images",
                       op->p[0], w, h);
    if (op->kind == OP_SMOOTH && op->p[0] * (1 + op->p[1]) * 4 > 4000)
        return err_set(ERR_DATA, "smooth: sigma too large");
    return 0;
}

int fwd_apply(const fwd_spec *spec, const tz_tensor *x, uint64_t first,
              uint32_t resample, uint64_t seed, int threads, tz_record *out,
              const char *yname)
{
    if (x->rank < 1)
        return err_set(ERR_DATA, "field '%s' has no batch axis", x->name);
    if (x->rank > 4)
        return err_set(ERR_DATA, "field '%s' has rank %d; the operators take "
                       "(N), (N, W), (N, H, W) or (N, C, H, W)", x->name, x->rank);
    apply_ctx c;
    memset(&c, 0, sizeof c);
    uint64_t n = x->dims[0];
    c.c = x->rank == 4 ? (int)x->dims[1] : 1;
    c.h = x->rank >= 3 ? (int)x->dims[x->rank - 2] : 1;
    c.w = x->rank >= 2 ? (int)x->dims[x->rank - 1] : 1;
    if (x->rank >= 2 && (x->dims[x->rank - 1] > INT32_MAX || x->dims[1] > INT32_MAX ||
                         (x->rank >= 3 && x->dims[x->rank - 2] > INT32_MAX)))
        return err_set(ERR_DATA, "field '%s': axes too large", x->name);
    c.per = (size_t)c.c * (size_t)c.h * (size_t)c.w;
    for (int j = 0; j < spec->nops; j++)
        if (check_layout(&spec->op[j], c.c, c.h, c.w, x->name) < 0)
            return ERR_DATA;
    tz_tensor *y = tz_record_add(out, yname, TZ_F32, x->rank, x->dims, NULL);
    if (!y)
        return err_code();
    if (tz_convert(x->data, x->dtype, y->data, TZ_F32, tz_tensor_count(x)) < 0)
        return ERR_DATA;
    c.y = y->data;
    for (int j = 0; j < spec->nops; j++) {
        const struct kind *K = &g_kinds[spec->op[j].kind];
        if (!K->side)
            continue;
        uint64_t dims[4] = { n, 1, 1, 1 };
        int rank = 1;
        if (spec->op[j].kind == OP_MASK) {     /* x's shape, channels folded */
            rank = x->rank;
            memcpy(dims, x->dims, sizeof(uint64_t) * (size_t)rank);
            if (rank == 4)
                dims[1] = 1;
            c.side_per[j] = (size_t)c.h * (size_t)c.w;
        } else if (spec->op[j].kind == OP_PROJECT) {
            rank = 2;
            dims[1] = c.per;
            c.side_per[j] = c.per;
        } else {
            c.side_per[j] = 1;
        }
        tz_tensor *t = tz_record_add(out, K->side, TZ_F32, rank, dims, NULL);
        if (!t)
            return err_code();
        c.side[j] = t->data;
    }
    c.spec = spec;
    c.first = first;
    c.seed = seed;
    c.resample = resample;
    pthread_mutex_init(&c.lock, NULL);
    par_for(threads, n, apply_range, &c);
    pthread_mutex_destroy(&c.lock);
    if (c.failed)
        return err_set(ERR_IO, "%s", c.msg);
    return 0;
}
