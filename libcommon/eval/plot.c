/* plot.c - rasterising charts; see plot.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"        /* err_set */
#include "base/mem.h"        /* mem_alloc_array, mem_calloc_array */
#include "eval/plot.h"

static const plot_rgb GRID = { 232, 232, 232 };
static const plot_rgb AXIS = { 90, 90, 90 };
static const plot_rgb TEXT = { 40, 40, 40 };

/* ---- font -------------------------------------------------------------- */

/* Printable ASCII from ' ' (32) to '~' (126): eight rows per glyph, top
 * first, row 7 the descender; bit 4 is the leftmost of the five columns. */
static const unsigned char g_font[95][PLOT_GLYPH_H] = {
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* ' ' */
    { 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00 }, /* '!' */
    { 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '"' */
    { 0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a, 0x00 }, /* '#' */
    { 0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04, 0x00 }, /* '$' */
    { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00 }, /* '%' */
    { 0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d, 0x00 }, /* '&' */
    { 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '\'' */
    { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00 }, /* '(' */
    { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00 }, /* ')' */
    { 0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00, 0x00 }, /* '*' */
    { 0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00, 0x00 }, /* '+' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x04, 0x08 }, /* ',' */
    { 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00 }, /* '-' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c, 0x00 }, /* '.' */
    { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00 }, /* '/' */
    { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e, 0x00 }, /* '0' */
    { 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* '1' */
    { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f, 0x00 }, /* '2' */
    { 0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e, 0x00 }, /* '3' */
    { 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02, 0x00 }, /* '4' */
    { 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e, 0x00 }, /* '5' */
    { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e, 0x00 }, /* '6' */
    { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00 }, /* '7' */
    { 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e, 0x00 }, /* '8' */
    { 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c, 0x00 }, /* '9' */
    { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x00 }, /* ':' */
    { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08, 0x00 }, /* ';' */
    { 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00 }, /* '<' */
    { 0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00, 0x00 }, /* '=' */
    { 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00 }, /* '>' */
    { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00 }, /* '?' */
    { 0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e, 0x00 }, /* '@' */
    { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00 }, /* 'A' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e, 0x00 }, /* 'B' */
    { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e, 0x00 }, /* 'C' */
    { 0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c, 0x00 }, /* 'D' */
    { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f, 0x00 }, /* 'E' */
    { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10, 0x00 }, /* 'F' */
    { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f, 0x00 }, /* 'G' */
    { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00 }, /* 'H' */
    { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* 'I' */
    { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c, 0x00 }, /* 'J' */
    { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00 }, /* 'K' */
    { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f, 0x00 }, /* 'L' */
    { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00 }, /* 'M' */
    { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00 }, /* 'N' */
    { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* 'O' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10, 0x00 }, /* 'P' */
    { 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d, 0x00 }, /* 'Q' */
    { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11, 0x00 }, /* 'R' */
    { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e, 0x00 }, /* 'S' */
    { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00 }, /* 'T' */
    { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* 'U' */
    { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00 }, /* 'V' */
    { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a, 0x00 }, /* 'W' */
    { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11, 0x00 }, /* 'X' */
    { 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04, 0x00 }, /* 'Y' */
    { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x00 }, /* 'Z' */
    { 0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e, 0x00 }, /* '[' */
    { 0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00 }, /* '\\' */
    { 0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e, 0x00 }, /* ']' */
    { 0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '^' */
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f }, /* '_' */
    { 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* '`' */
    { 0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f, 0x00 }, /* 'a' */
    { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e, 0x00 }, /* 'b' */
    { 0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e, 0x00 }, /* 'c' */
    { 0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f, 0x00 }, /* 'd' */
    { 0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e, 0x00 }, /* 'e' */
    { 0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08, 0x00 }, /* 'f' */
    { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e }, /* 'g' */
    { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00 }, /* 'h' */
    { 0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* 'i' */
    { 0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0c }, /* 'j' */
    { 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00 }, /* 'k' */
    { 0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* 'l' */
    { 0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11, 0x00 }, /* 'm' */
    { 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00 }, /* 'n' */
    { 0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* 'o' */
    { 0x00, 0x00, 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10 }, /* 'p' */
    { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x01 }, /* 'q' */
    { 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00 }, /* 'r' */
    { 0x00, 0x00, 0x0f, 0x10, 0x0e, 0x01, 0x1e, 0x00 }, /* 's' */
    { 0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06, 0x00 }, /* 't' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d, 0x00 }, /* 'u' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00 }, /* 'v' */
    { 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a, 0x00 }, /* 'w' */
    { 0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00 }, /* 'x' */
    { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e }, /* 'y' */
    { 0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f, 0x00 }, /* 'z' */
    { 0x03, 0x04, 0x04, 0x08, 0x04, 0x04, 0x03, 0x00 }, /* '{' */
    { 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 }, /* '|' */
    { 0x18, 0x04, 0x04, 0x02, 0x04, 0x04, 0x18, 0x00 }, /* '}' */
    { 0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00 }, /* '~' */
};

/* ---- canvas ------------------------------------------------------------ */

int plot_canvas_init(plot_canvas *c, int width, int height, plot_rgb bg)
{
    c->px = NULL;
    c->width = c->height = 0;
    if (width < 1 || height < 1)
        return err_set(ERR_USAGE, "a canvas of %d x %d pixels", width, height);
    size_t n;
    if (mem_mul((size_t)width, (size_t)height, &n) < 0 ||
        !(c->px = mem_alloc_array(n, 3)))
        return ERR_IO;
    for (size_t i = 0; i < n; i++) {
        c->px[3 * i] = bg.r;
        c->px[3 * i + 1] = bg.g;
        c->px[3 * i + 2] = bg.b;
    }
    c->width = width;
    c->height = height;
    return 0;
}

void plot_canvas_free(plot_canvas *c)
{
    if (!c)
        return;
    free(c->px);
    c->px = NULL;
    c->width = c->height = 0;
}

void plot_fill(plot_canvas *c, int x, int y, int w, int h, plot_rgb col)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->width ? c->width : x + w;
    int y1 = y + h > c->height ? c->height : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++) {
            unsigned char *p = c->px + 3 * ((size_t)j * (size_t)c->width + (size_t)i);
            p[0] = col.r, p[1] = col.g, p[2] = col.b;
        }
}

static unsigned char mix(unsigned char under, unsigned char over, double a)
{
    return (unsigned char)lrint(under + (over - under) * a);
}

void plot_blend(plot_canvas *c, int x, int y, plot_rgb col, double a)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height || !(a > 0))
        return;
    if (a > 1)
        a = 1;
    unsigned char *p = c->px + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    p[0] = mix(p[0], col.r, a);
    p[1] = mix(p[1], col.g, a);
    p[2] = mix(p[2], col.b, a);
}

/* ---- text -------------------------------------------------------------- */

int plot_text_width(const char *s, int scale)
{
    size_t n = strlen(s);
    return n ? (int)n * PLOT_ADVANCE * scale - scale : 0;
}

int plot_text_height(int scale)
{
    return (PLOT_GLYPH_H + 2) * scale;
}

void plot_text(plot_canvas *c, int x, int y, const char *s, int scale,
               plot_rgb col)
{
    for (; *s; s++, x += PLOT_ADVANCE * scale) {
        unsigned char ch = (unsigned char)*s;
        const unsigned char *g = g_font[(ch >= 32 && ch <= 126 ? ch : '?') - 32];
        for (int r = 0; r < PLOT_GLYPH_H; r++)
            for (int k = 0; k < PLOT_GLYPH_W; k++)
                if (g[r] & (0x10 >> k))
                    plot_fill(c, x + k * scale, y + r * scale, scale, scale, col);
    }
}

char *plot_text_fit(char *buf, size_t n, const char *s, int maxw, int scale)
{
    if (!n)
        return buf;
    size_t len = strlen(s);
    long fit = (maxw + scale) / (PLOT_ADVANCE * scale);   /* characters */
    if (fit < 0)
        fit = 0;
    if ((long)len <= fit) {
        snprintf(buf, n, "%s", s);
    } else if (fit <= 2) {
        snprintf(buf, n, "%.*s", (int)fit, "..");
    } else {
        snprintf(buf, n, "..%s", s + len - (size_t)(fit - 2));
    }
    return buf;
}

/* ---- ticks ------------------------------------------------------------- */

/* 1, 2, 5 or 10 times a power of ten, the nearest to raw from above-ish. */
static double nice_step(double raw)
{
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/* Multiples of step inside [lo, hi]; zero snapped to exactly 0 so that
 * labels never read "-0" or "1e-17". */
static int multiples(double lo, double hi, double step, double *ticks)
{
    int n = 0;
    double eps = step * 1e-9;
    for (double k = ceil((lo - eps) / step); n < PLOT_TICKS_MAX; k++) {
        double v = k * step;
        if (v > hi + eps)
            break;
        ticks[n++] = fabs(v) < eps ? 0.0 : v;
    }
    return n;
}

int plot_ticks(double lo, double hi, int target, int log, double *ticks,
               double *step)
{
    if (target < 2)
        target = 2;
    if (log && hi - lo >= 1) {
        /* Whole decades, every k-th with k itself nice. */
        double k = ceil((hi - lo) / target);
        k = k <= 1 ? 1 : nice_step(k);
        while ((hi - lo) / k >= PLOT_TICKS_MAX)
            k *= 2;
        *step = k;
        return multiples(lo, hi, k, ticks);
    }
    if (log) {
        /* Less than a decade: nice steps of the values themselves. */
        double vlo = pow(10, lo), vhi = pow(10, hi);
        double s = nice_step((vhi - vlo) / target);
        double v[PLOT_TICKS_MAX];
        int n = multiples(vlo, vhi, s, v), m = 0;
        for (int i = 0; i < n; i++)
            if (v[i] > 0)
                ticks[m++] = log10(v[i]);
        *step = s;
        return m;
    }
    double s = nice_step((hi - lo) / target);
    while ((hi - lo) / s >= PLOT_TICKS_MAX)
        s *= 2;
    *step = s;
    return multiples(lo, hi, s, ticks);
}

/* "1e+06" -> "1e6", "1e-05" -> "1e-5": exponents as short as they go. */
static void tidy_exponent(char *s)
{
    char *e = strchr(s, 'e');
    if (!e)
        return;
    char *p = e + 1, *q = e + 1;
    if (*p == '+')
        p++;
    else if (*p == '-')
        *q++ = *p++;
    while (*p == '0' && p[1])
        p++;
    memmove(q, p, strlen(p) + 1);
}

char *plot_tick_label(char *buf, size_t n, double v, double step, int log)
{
    if (log) {
        snprintf(buf, n, "%.4g", pow(10, v));
    } else if (v != 0 && (fabs(v) >= 1e6 || step < 1e-4)) {
        /* enough significant digits to tell v from v +- step */
        double big = fabs(v) > step ? fabs(v) : step;
        int digits = (int)(floor(log10(big)) - floor(log10(step))) + 1;
        snprintf(buf, n, "%.*g", digits < 1 ? 1 : digits > 15 ? 15 : digits, v);
    } else {
        int d = (int)-floor(log10(step) + 1e-9);
        snprintf(buf, n, "%.*f", d > 0 ? d : 0, v);
    }
    tidy_exponent(buf);
    return buf;
}

/* ---- frame ------------------------------------------------------------- */

int plot_frame_layout(plot_frame *f)
{
    int s = f->scale < 1 ? 1 : f->scale, th = plot_text_height(s);
    f->scale = s;
    if (!(f->xlo < f->xhi) || !(f->ylo < f->yhi) || !isfinite(f->xhi - f->xlo) ||
        !isfinite(f->yhi - f->ylo))
        return err_set(ERR_USAGE, "empty or infinite plot range");
    /* y ticks first: the left margin holds their labels. */
    int top = 6 * s + (f->title ? th + 2 * s : 0) + (f->ylabel ? th : 0) + th / 2;
    int bottom = 6 * s + th + (f->xlabel ? th + 2 * s : 0) + 4 * s;
    int ph = f->h - top - bottom;
    f->ny = plot_ticks(f->ylo, f->yhi, ph / (50 * s), f->logy, f->yt, &f->ystep);
    int lw = 0;
    char buf[64];
    for (int i = 0; i < f->ny; i++) {
        int w = plot_text_width(plot_tick_label(buf, sizeof buf, f->yt[i], f->ystep,
                                                f->logy), s);
        if (w > lw)
            lw = w;
    }
    int left = 4 * s + lw + 3 * s + 4 * s;
    /* x ticks: about one per 60 pixels, then room for half the last label. */
    int pw = f->w - left - f->right - 8 * s;
    f->nx = plot_ticks(f->xlo, f->xhi, pw / (60 * s), 0, f->xt, &f->xstep);
    int half = f->nx ? plot_text_width(plot_tick_label(buf, sizeof buf,
                           f->xt[f->nx - 1], f->xstep, 0), s) / 2 : 0;
    int right = f->right + (half > 6 * s ? half : 6 * s) + 2 * s;
    f->px = f->x + left;
    f->py = f->y + top;
    f->pw = f->w - left - right;
    f->ph = ph;
    if (f->pw < 16 || f->ph < 16)
        return err_set(ERR_USAGE, "a chart of %d x %d pixels leaves no room to plot",
                       f->w, f->h);
    return 0;
}

double plot_frame_x(const plot_frame *f, double x)
{
    return f->px + (x - f->xlo) / (f->xhi - f->xlo) * f->pw;
}

double plot_frame_y(const plot_frame *f, double y)
{
    return f->py + f->ph - (y - f->ylo) / (f->yhi - f->ylo) * f->ph;
}

/* The pixel column (row) of a tick, kept inside the plot area. */
static int tick_col(const plot_frame *f, double x)
{
    int i = (int)floor(plot_frame_x(f, x));
    return i < f->px ? f->px : i >= f->px + f->pw ? f->px + f->pw - 1 : i;
}

static int tick_row(const plot_frame *f, double y)
{
    int j = (int)floor(plot_frame_y(f, y));
    return j < f->py ? f->py : j >= f->py + f->ph ? f->py + f->ph - 1 : j;
}

void plot_frame_grid(plot_canvas *c, const plot_frame *f)
{
    for (int i = 0; i < f->nx; i++)
        plot_fill(c, tick_col(f, f->xt[i]), f->py, 1, f->ph, GRID);
    for (int i = 0; i < f->ny; i++)
        plot_fill(c, f->px, tick_row(f, f->yt[i]), f->pw, 1, GRID);
}

void plot_frame_draw(plot_canvas *c, const plot_frame *f)
{
    int s = f->scale, th = plot_text_height(s);
    char buf[256];
    /* the frame, one pixel outside the plot area */
    plot_fill(c, f->px - 1, f->py - 1, f->pw + 2, 1, AXIS);
    plot_fill(c, f->px - 1, f->py + f->ph, f->pw + 2, 1, AXIS);
    plot_fill(c, f->px - 1, f->py - 1, 1, f->ph + 2, AXIS);
    plot_fill(c, f->px + f->pw, f->py - 1, 1, f->ph + 2, AXIS);
    for (int i = 0; i < f->nx; i++) {
        int x = tick_col(f, f->xt[i]);
        plot_fill(c, x, f->py + f->ph + 1, 1, 4 * s, AXIS);
        plot_tick_label(buf, sizeof buf, f->xt[i], f->xstep, 0);
        plot_text(c, x - plot_text_width(buf, s) / 2, f->py + f->ph + 6 * s, buf, s,
                  TEXT);
    }
    for (int i = 0; i < f->ny; i++) {
        int y = tick_row(f, f->yt[i]);
        plot_fill(c, f->px - 1 - 4 * s, y, 4 * s, 1, AXIS);
        plot_tick_label(buf, sizeof buf, f->yt[i], f->ystep, f->logy);
        plot_text(c, f->px - 1 - 7 * s - plot_text_width(buf, s),
                  y - (PLOT_GLYPH_H - 1) * s / 2, buf, s, TEXT);
    }
    int y = f->y + 6 * s;
    if (f->title) {
        plot_text_fit(buf, sizeof buf, f->title, f->w - 8 * s, s);
        int x = f->px + f->pw / 2 - plot_text_width(buf, s) / 2;
        if (x < f->x + 4 * s)
            x = f->x + 4 * s;
        plot_text(c, x, y, buf, s, TEXT);
        y += th + 2 * s;
    }
    if (f->ylabel) {
        plot_text_fit(buf, sizeof buf, f->ylabel, f->w - 8 * s, s);
        plot_text(c, f->x + 4 * s, y, buf, s, TEXT);
    }
    if (f->xlabel) {
        plot_text_fit(buf, sizeof buf, f->xlabel, f->pw, s);
        plot_text(c, f->px + f->pw / 2 - plot_text_width(buf, s) / 2,
                  f->py + f->ph + 6 * s + th + 2 * s, buf, s, TEXT);
    }
}

/* ---- data -------------------------------------------------------------- */

/* Mix col into the plot area by the coverage m[0 .. pw*ph). */
static void composite(plot_canvas *c, const plot_frame *f, const float *m,
                      plot_rgb col)
{
    for (int j = 0; j < f->ph; j++)
        for (int i = 0; i < f->pw; i++)
            plot_blend(c, f->px + i, f->py + j, col, m[(size_t)j * (size_t)f->pw + (size_t)i]);
}

int plot_density(plot_canvas *c, const plot_frame *f, const double *xy,
                 size_t n, double alpha, plot_rgb ink)
{
    const double r = 1.0;       /* dot radius in pixels */
    float *w = mem_calloc_array((size_t)f->pw * (size_t)f->ph, sizeof *w);
    if (!w)
        return ERR_IO;
    for (size_t k = 0; k < n; k++) {
        double x = xy[2 * k], y = xy[2 * k + 1];
        if (!(x >= f->xlo && x <= f->xhi && y >= f->ylo && y <= f->yhi))
            continue;           /* outside, or NaN */
        double cx = plot_frame_x(f, x) - f->px, cy = plot_frame_y(f, y) - f->py;
        int i0 = (int)floor(cx - r - 0.5), i1 = (int)floor(cx + r + 0.5);
        int j0 = (int)floor(cy - r - 0.5), j1 = (int)floor(cy + r + 0.5);
        for (int j = j0 < 0 ? 0 : j0; j <= j1 && j < f->ph; j++)
            for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < f->pw; i++) {
                double d = hypot(i + 0.5 - cx, j + 0.5 - cy);
                double cov = r + 0.5 - d;
                if (cov > 0)
                    w[(size_t)j * (size_t)f->pw + (size_t)i] += (float)(cov > 1 ? 1 : cov);
            }
    }
    /* k dots cover 1 - (1 - alpha)^k of a pixel. */
    double la = alpha >= 1 ? -INFINITY : log1p(-alpha);
    for (size_t i = 0; i < (size_t)f->pw * (size_t)f->ph; i++)
        w[i] = w[i] > 0 ? (float)(alpha >= 1 ? 1 : -expm1(la * w[i])) : 0;
    composite(c, f, w, ink);
    free(w);
    return 0;
}

/* Coverage of a segment of width lw into m (the plot area, pw x ph), kept
 * as the maximum so that joints do not darken.  The walk goes along the
 * major axis and visits only a band around the line, so the cost is the
 * length times the width. */
static void mask_segment(float *m, int pw, int ph, double x0, double y0,
                         double x1, double y1, double lw)
{
    double r = lw / 2 + 0.5;
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    int steep = fabs(dy) > fabs(dx);
    double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1;
    double b0 = steep ? x0 : y0, b1 = steep ? x1 : y1;
    if (a0 > a1) {
        double t = a0; a0 = a1; a1 = t;
        t = b0; b0 = b1; b1 = t;
    }
    double slope = a1 > a0 ? (b1 - b0) / (a1 - a0) : 0;
    double band = r * sqrt(1 + slope * slope) + 1;
    int amax = steep ? ph : pw, bmax = steep ? pw : ph;
    double alo = floor(a0 - r), ahi = floor(a1 + r);
    int ia0 = alo < 0 ? 0 : (int)alo, ia1 = ahi > amax - 1 ? amax - 1 : (int)ahi;
    for (int ia = ia0; ia <= ia1; ia++) {
        double ac = ia + 0.5;
        double t = ac < a0 ? a0 : ac > a1 ? a1 : ac;
        double bc = b0 + (t - a0) * slope;
        double blo = floor(bc - band), bhi = floor(bc + band);
        int ib0 = blo < 0 ? 0 : (int)blo, ib1 = bhi > bmax - 1 ? bmax - 1 : (int)bhi;
        for (int ib = ib0; ib <= ib1; ib++) {
            double px = steep ? ib + 0.5 : ac, py = steep ? ac : ib + 0.5;
            /* distance from the pixel centre to the segment */
            double u = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
            u = u < 0 ? 0 : u > 1 ? 1 : u;
            double d = hypot(px - (x0 + u * dx), py - (y0 + u * dy));
            double cov = r - d;
            if (cov <= 0)
                continue;
            float *p = &m[(size_t)(steep ? ia : ib) * (size_t)pw + (size_t)(steep ? ib : ia)];
            if (cov > 1)
                cov = 1;
            if (*p < cov)
                *p = (float)cov;
        }
    }
}

int plot_polyline(plot_canvas *c, const plot_frame *f, const double *x,
                  const double *y, size_t n, double lw, int markers,
                  plot_rgb col)
{
    float *m = mem_calloc_array((size_t)f->pw * (size_t)f->ph, sizeof *m);
    if (!m)
        return ERR_IO;
    for (size_t k = 0; k < n; k++) {
        double cx = plot_frame_x(f, x[k]) - f->px, cy = plot_frame_y(f, y[k]) - f->py;
        if (!isfinite(cx) || !isfinite(cy))
            continue;
        if (k + 1 < n) {
            double nx = plot_frame_x(f, x[k + 1]) - f->px;
            double ny = plot_frame_y(f, y[k + 1]) - f->py;
            if (isfinite(nx) && isfinite(ny))
                mask_segment(m, f->pw, f->ph, cx, cy, nx, ny, lw);
        }
        if (markers || n == 1) {
            double h = lw + 0.5;
            for (int j = (int)floor(cy - h); j <= (int)floor(cy + h); j++)
                for (int i = (int)floor(cx - h); i <= (int)floor(cx + h); i++)
                    if (i >= 0 && j >= 0 && i < f->pw && j < f->ph)
                        m[(size_t)j * (size_t)f->pw + (size_t)i] = 1;
        }
    }
    composite(c, f, m, col);
    free(m);
    return 0;
}

plot_rgb plot_palette(int i)
{
    /* Tableau 10: distinct hues of similar weight, all readable on white. */
    static const plot_rgb pal[10] = {
        { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
        { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 },
        { 188, 189, 34 }, { 23, 190, 207 }
    };
    return pal[(i % 10 + 10) % 10];
}

/* ---- legend ------------------------------------------------------------ */

enum { SWATCH = 14 };   /* swatch length, at scale 1 */

int plot_legend_width(const char *const *names, int n, int scale)
{
    int w = plot_text_width("+999 more", scale);
    for (int i = 0; i < n; i++) {
        int t = plot_text_width(names[i], scale);
        if (t > w)
            w = t;
    }
    return (SWATCH + 4) * scale + w;
}

void plot_legend(plot_canvas *c, int x, int y, int maxh,
                 const char *const *names, const plot_rgb *cols, int n,
                 int scale)
{
    int s = scale, rowh = plot_text_height(s) + 2 * s;
    int fit = maxh / rowh, shown = n <= fit ? n : fit - 1;
    for (int i = 0; i < shown; i++) {
        int yy = y + i * rowh;
        plot_fill(c, x, yy + 2 * s, SWATCH * s, 3 * s, cols[i]);
        plot_text(c, x + (SWATCH + 4) * s, yy, names[i], s, TEXT);
    }
    if (shown < n && shown >= 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "+%d more", n - shown);
        plot_text(c, x + (SWATCH + 4) * s, y + shown * rowh, buf, s, TEXT);
    }
}
