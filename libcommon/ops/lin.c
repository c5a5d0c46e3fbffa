/* lin.c - the linear operators' kernels and their transposes; see lin.h.
 *
 * Each adjoint is written from its forward loop by swapping the roles of
 * source and destination: where the forward reads x[reflect(i)] into
 * out[j] with weight k, the adjoint adds k g[j] to out[reflect(i)].  An
 * edge pixel that reflection reads twice is thus written twice. */
#include <math.h>
#include <string.h>

#include "base/err.h"
#include "ops/lin.h"

/* The scratch for a kernel: a motion blur's square or the smoothing's taps. */
#define KERN_FLOATS (LIN_MOTION_MAX * LIN_MOTION_MAX > LIN_TAPS_MAX ? \
                     LIN_MOTION_MAX * LIN_MOTION_MAX : LIN_TAPS_MAX)

/* Index i reflected into [0, n) without repeating the edge (numpy's and
 * torch's "reflect"). */
static int reflect(int i, int n)
{
    if (n == 1)
        return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

/* ---- kernels ----------------------------------------------------------- */

/* The Gaussian kernel's radius: ceil(radius_sigmas sigma), at most cap taps. */
static int gauss_radius(double sigma, double radius_sigmas, int cap)
{
    int r = (int)ceil(radius_sigmas * sigma);
    return 2 * r + 1 > cap ? (cap - 1) / 2 : r;
}

int lin_gauss_kernel(double sigma, double radius_sigmas, float *k, int cap)
{
    int r = gauss_radius(sigma, radius_sigmas, cap);
    double sum = 0;
    for (int i = -r; i <= r; i++)
        sum += exp(-0.5 * i * i / (sigma * sigma));
    for (int i = -r; i <= r; i++)
        k[i + r] = (float)(exp(-0.5 * i * i / (sigma * sigma)) / sum);
    return 2 * r + 1;
}

void lin_motion_kernel(int k, double theta, float *kern)
{
    /* Splat points spaced 1/16 pixel along the segment bilinearly into the
     * grid: anti-aliased at any angle, k pixels long at angle 0. */
    memset(kern, 0, sizeof(float) * (size_t)k * (size_t)k);
    double c = (k - 1) / 2.0, half = (k - 1) / 2.0, sum = 0;
    int steps = 16 * k;
    for (int s = 0; s <= steps; s++) {
        double t = k == 1 ? 0 : -half + 2 * half * s / steps;
        double x = c + t * cos(theta), y = c - t * sin(theta);
        int x0 = (int)floor(x), y0 = (int)floor(y);
        double fx = x - x0, fy = y - y0;
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++) {
                int xx = x0 + dx, yy = y0 + dy;
                if (xx < 0 || yy < 0 || xx >= k || yy >= k)
                    continue;
                double w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
                kern[yy * k + xx] += (float)w;
                sum += w;
            }
    }
    for (int i = 0; i < k * k; i++)
        kern[i] = (float)(kern[i] / sum);
}

void lin_conv_rows(float *a, int rows, int n, const float *k, int taps, float *tmp)
{
    int r = taps / 2;
    for (int row = 0; row < rows; row++) {
        float *x = a + (size_t)row * (size_t)n;
        /* The interior with taps outermost, so the inner loop vectorises;
         * the edges, where indices reflect, one by one. */
        int lo = r < n ? r : n, hi = n - r > lo ? n - r : lo;
        for (int i = lo; i < hi; i++)
            tmp[i] = 0;
        for (int j = 0; j < taps; j++) {
            float kj = k[j];
            const float *src = x - r + j;
            for (int i = lo; i < hi; i++)
                tmp[i] += kj * src[i];
        }
        for (int i = 0; i < n; i++) {
            if (i == lo)
                i = hi;
            if (i >= n)
                break;
            float s = 0;
            for (int j = 0; j < taps; j++)
                s += k[j] * x[reflect(i - r + j, n)];
            tmp[i] = s;
        }
        memcpy(x, tmp, sizeof(float) * (size_t)n);
    }
}

static void conv_rows_adjoint(float *a, int rows, int n, const float *k, int taps, float *tmp)
{
    int r = taps / 2;
    for (int row = 0; row < rows; row++) {
        float *g = a + (size_t)row * (size_t)n;
        memset(tmp, 0, sizeof(float) * (size_t)n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < taps; j++)
                tmp[reflect(i - r + j, n)] += k[j] * g[i];
        memcpy(g, tmp, sizeof(float) * (size_t)n);
    }
}

/* Whole rows are combined at a time, so the inner loop runs along memory
 * and vectorises. */
void lin_conv_cols(float *a, int h, int w, const float *k, int taps, float *tmp)
{
    int r = taps / 2;
    for (int i = 0; i < h; i++) {
        float *out = tmp + (size_t)i * (size_t)w;
        for (int x = 0; x < w; x++)
            out[x] = 0;
        for (int j = 0; j < taps; j++) {
            const float *in = a + (size_t)reflect(i - r + j, h) * (size_t)w;
            float kj = k[j];
            for (int x = 0; x < w; x++)
                out[x] += kj * in[x];
        }
    }
    memcpy(a, tmp, sizeof(float) * (size_t)h * (size_t)w);
}

static void conv_cols_adjoint(float *a, int h, int w, const float *k, int taps, float *tmp)
{
    int r = taps / 2;
    memset(tmp, 0, sizeof(float) * (size_t)h * (size_t)w);
    for (int i = 0; i < h; i++) {
        const float *g = a + (size_t)i * (size_t)w;
        for (int j = 0; j < taps; j++) {
            float *out = tmp + (size_t)reflect(i - r + j, h) * (size_t)w, kj = k[j];
            for (int x = 0; x < w; x++)
                out[x] += kj * g[x];
        }
    }
    memcpy(a, tmp, sizeof(float) * (size_t)h * (size_t)w);
}

void lin_conv2d(float *img, int h, int w, const float *kern, int k, float *tmp)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float acc = 0;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    float kv = kern[ky * k + kx];
                    if (kv == 0)
                        continue;
                    int yy = reflect(y + ky - k / 2, h), xx = reflect(x + kx - k / 2, w);
                    acc += kv * img[(size_t)yy * (size_t)w + (size_t)xx];
                }
            tmp[(size_t)y * (size_t)w + (size_t)x] = acc;
        }
    memcpy(img, tmp, sizeof(float) * (size_t)h * (size_t)w);
}

static void conv2d_adjoint(float *g, int h, int w, const float *kern, int k, float *tmp)
{
    memset(tmp, 0, sizeof(float) * (size_t)h * (size_t)w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float gv = g[(size_t)y * (size_t)w + (size_t)x];
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    float kv = kern[ky * k + kx];
                    if (kv == 0)
                        continue;
                    int yy = reflect(y + ky - k / 2, h), xx = reflect(x + kx - k / 2, w);
                    tmp[(size_t)yy * (size_t)w + (size_t)xx] += kv * gv;
                }
        }
    memcpy(g, tmp, sizeof(float) * (size_t)h * (size_t)w);
}

/* Block means: a symmetric projection, its own adjoint. */
void lin_down(float *img, int h, int w, int f)
{
    for (int by = 0; by < h; by += f)
        for (int bx = 0; bx < w; bx += f) {
            double sum = 0;
            for (int y = by; y < by + f; y++)
                for (int x = bx; x < bx + f; x++)
                    sum += img[(size_t)y * (size_t)w + (size_t)x];
            for (int y = by; y < by + f; y++)
                for (int x = bx; x < bx + f; x++)
                    img[(size_t)y * (size_t)w + (size_t)x] = (float)(sum / (f * f));
        }
}

void lin_smooth(float *a, int rows, int n, double sigma, float *kern, float *tmp)
{
    int taps = lin_gauss_kernel(sigma, 4, kern, LIN_TAPS_MAX);
    lin_conv_rows(a, rows, n, kern, taps, tmp);
}

void lin_tilt(float *a, int rows, int n, double s)
{
    double mid = (n - 1) / 2.0;
    for (int row = 0; row < rows; row++)
        for (int j = 0; j < n; j++)
            a[(size_t)row * (size_t)n + (size_t)j] *=
                (float)(1 + (mid > 0 ? s * (j - mid) / mid : 0));
}

double lin_snr_std(double mean, double snr)
{
    return fabs(mean) / snr + 1e-4;
}

/* ---- chains ------------------------------------------------------------ */

size_t lin_work_floats(int C, int H, int W)
{
    (void)C;
    return (size_t)H * (size_t)W + KERN_FLOATS;
}

/* Step st of a chain on every channel of x, forward or transposed. */
static void step(const lin_step *st, const lin_side *sd, int C, int H, int W, float *x,
                 float *work, int adjoint)
{
    size_t hw = (size_t)H * (size_t)W;
    float *tmp = work, *kern = work + hw;
    int taps = 0, k = 0, rows = C * H;
    if (st->kind == LIN_SMOOTH) {     /* every row at once: not per channel */
        double sigma = sd->smooth > 0 ? sd->smooth : st->p;
        if (!adjoint)
            lin_smooth(x, rows, W, sigma, kern, tmp);
        else {
            taps = lin_gauss_kernel(sigma, 4, kern, LIN_TAPS_MAX);
            conv_rows_adjoint(x, rows, W, kern, taps, tmp);
        }
        return;
    }
    if (st->kind == LIN_TILT) {       /* diagonal: its own adjoint */
        lin_tilt(x, rows, W, sd->tilt);
        return;
    }
    if (st->kind == LIN_BLUR)
        taps = lin_gauss_kernel(st->p, 3, kern, 2 * 301 + 1);
    if (st->kind == LIN_MOTION) {
        k = (int)st->p;
        lin_motion_kernel(k, M_PI * sd->angle, kern);
    }
    for (int ch = 0; ch < C; ch++) {
        float *img = x + (size_t)ch * hw;
        switch (st->kind) {
        case LIN_MASK:      /* diagonal: its own adjoint */
            for (size_t i = 0; i < hw; i++)
                img[i] = sd->mask[i] != 0 ? img[i] : 0;
            break;
        case LIN_BLUR:      /* rows then columns; the adjoint the other way round */
            if (!adjoint) {
                lin_conv_rows(img, H, W, kern, taps, tmp);
                lin_conv_cols(img, H, W, kern, taps, tmp);
            } else {
                conv_cols_adjoint(img, H, W, kern, taps, tmp);
                conv_rows_adjoint(img, H, W, kern, taps, tmp);
            }
            break;
        case LIN_MOTION:
            if (!adjoint)
                lin_conv2d(img, H, W, kern, k, tmp);
            else
                conv2d_adjoint(img, H, W, kern, k, tmp);
            break;
        case LIN_DOWN:
            lin_down(img, H, W, (int)st->p);
            break;
        }
    }
}

void lin_apply(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *x,
               float *work)
{
    for (int i = 0; i < lc->n; i++)
        step(&lc->step[i], sd, C, H, W, x, work, 0);
}

void lin_adjoint(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *g,
                 float *work)
{
    for (int i = lc->n - 1; i >= 0; i--)
        step(&lc->step[i], sd, C, H, W, g, work, 1);
}

int lin_spectral(const lin_chain *lc)
{
    int spectral = lc->snr;
    for (int i = 0; i < lc->n; i++)
        spectral |= lc->step[i].kind == LIN_SMOOTH || lc->step[i].kind == LIN_TILT;
    return spectral;
}

int lin_reach(const lin_chain *lc, const lin_side *sd)
{
    int reach = 0;
    for (int i = 0; i < lc->n; i++) {
        const lin_step *st = &lc->step[i];
        if (st->kind == LIN_BLUR || st->kind == LIN_MOTION || st->kind == LIN_DOWN)
            return -1;
        if (st->kind == LIN_SMOOTH)
            reach += gauss_radius(sd->smooth > 0 ? sd->smooth : st->p, 4, LIN_TAPS_MAX);
    }
    return reach;
}

double lin_noise_var(const lin_chain *lc, const lin_side *sd, double mean)
{
    double s = lc->snr ? lin_snr_std(mean, sd->snr) : 0;
    return lc->noise_var + s * s;
}

void lin_observed(const lin_chain *lc, const lin_side *sd, int C, int H, int W, float *y)
{
    size_t hw = (size_t)H * (size_t)W;
    for (int i = 0; i < lc->n; i++)
        if (lc->step[i].kind == LIN_MASK)
            for (int ch = 0; ch < C; ch++)
                for (size_t j = 0; j < hw; j++)
                    if (sd->mask[j] == 0)
                        y[(size_t)ch * hw + j] = 0;
}

/* ---- side fields ------------------------------------------------------- */

/* Field name of rec: f32, n samples of per values each; NULL if absent,
 * else *ok = 0 if it is ill-shaped. */
static const float *side(const tz_record *rec, const char *name, uint64_t n, size_t per,
                         int *ok)
{
    const tz_tensor *t = tz_record_find(rec, name);
    if (!t)
        return NULL;
    if (t->dtype != TZ_F32 || t->rank < 1 || t->dims[0] != n ||
        tz_tensor_row_bytes(t) != 4 * per) {
        *ok = 0;
        err_set(ERR_DATA, "side field '%s' must be f32 with %zu values per sample", name,
                per);
        return NULL;
    }
    return t->data;
}

int lin_fields_find(const lin_chain *lc, const tz_record *rec, uint64_t n, size_t hw,
                    lin_fields *f)
{
    int ok = 1, mask = 0, motion = 0;
    for (int i = 0; i < lc->n; i++)
        mask |= lc->step[i].kind == LIN_MASK, motion |= lc->step[i].kind == LIN_MOTION;
    memset(f, 0, sizeof *f);
    f->hw = hw;
    f->mask = mask ? side(rec, "mask", n, hw, &ok) : NULL;
    f->angle = motion && ok ? side(rec, "angle", n, 1, &ok) : NULL;
    f->snr = lc->snr && ok ? side(rec, "snr", n, 1, &ok) : NULL;
    f->smooth = ok ? side(rec, "smooth", n, 1, &ok) : NULL;
    f->tilt = ok ? side(rec, "tilt", n, 1, &ok) : NULL;
    if (!ok)
        return ERR_DATA;
    const char *missing = mask && !f->mask ? "mask" : motion && !f->angle ? "angle"
                          : lc->snr && !f->snr ? "snr" : NULL;
    if (missing)
        return err_set(ERR_DATA, "the instrument needs the side field '%s'", missing);
    return 0;
}

lin_side lin_fields_at(const lin_fields *f, uint64_t i)
{
    lin_side sd = { .mask = f->mask ? f->mask + i * f->hw : NULL,
                    .angle = f->angle ? f->angle[i] : 0,
                    .smooth = f->smooth ? f->smooth[i] : 0,
                    .tilt = f->tilt ? f->tilt[i] : 0,
                    .snr = f->snr ? f->snr[i] : 0 };
    return sd;
}
