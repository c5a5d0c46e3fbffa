/* chart.c - the scatter and lines layouts; see chart.h. */
#include "eval/chart.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

static const double PAD = 0.05;         /* of the range, on each side */
static const plot_rgb WHITE = { 255, 255, 255 };
static const plot_rgb INK = { 24, 56, 128 };   /* scatter dots: dark blue */

/* ---- ranges ---------------------------------------------------------- */

double chart_quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

void chart_pad_range(double *lo, double *hi)
{
    double span = *hi - *lo;
    if (span <= 0) {
        span = fabs(*lo) > 0 ? fabs(*lo) * 0.2 : 1;
        *lo -= span / 2;
        *hi += span / 2;
    } else {
        *lo -= PAD * span;
        *hi += PAD * span;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- scatter --------------------------------------------------------- */

/* The points of field in one record's tensor t into p, up to max. */
static int add_points(chart_panel *p, const tz_tensor *t, uint64_t max, size_t *cap,
                      uint64_t *dropped)
{
    for (uint64_t i = 0; i < t->dims[0] && p->n < max; i++) {
        double x = tz_tensor_get(t, 2 * i), y = tz_tensor_get(t, 2 * i + 1);
        if (!isfinite(x) || !isfinite(y)) {
            (*dropped)++;
            continue;
        }
        if (p->n == *cap) {
            double *q = mem_realloc_array(p->xy, *cap ? 2 * *cap : 4096, 2 * sizeof *q);
            if (!q)
                return ERR_IO;
            p->xy = q;
            *cap = *cap ? 2 * *cap : 4096;
        }
        p->xy[2 * p->n] = x;
        p->xy[2 * p->n + 1] = y;
        p->n++;
    }
    return 0;
}

int chart_panel_read(chart_panel *p, const char *path, const char *field,
                     uint64_t max)
{
    memset(p, 0, sizeof *p);
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return err_code();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    size_t cap = 0;
    uint64_t dropped = 0;
    int rc = 0, got = 0;
    while (!rc && p->n < max && (got = tz_read(r, &rec)) == 1) {
        const tz_tensor *t = tz_record_find(&rec, field);
        if (!t)
            rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": no field '%s'",
                         tz_reader_name(r), tz_reader_index(r), field);
        else if (t->rank != 2 || t->dims[1] != 2)
            rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": field '%s' is not a "
                         "batch of 2-D points (N, 2)", tz_reader_name(r),
                         tz_reader_index(r), field);
        else
            rc = add_points(p, t, max, &cap, &dropped);
    }
    if (!rc && p->n < max && got < 0)
        rc = got;
    if (!rc) {
        const char *name = tz_reader_name(r);
        if (!(p->name = malloc(strlen(name) + 1)))
            rc = err_set(ERR_IO, "out of memory");
        else {
            memcpy(p->name, name, strlen(name) + 1);
            p->dropped = dropped;
            if (!p->n)
                rc = err_set(ERR_DATA, "%s: no points in field '%s'", name, field);
        }
    }
    tz_reader_close(r);
    tz_record_free(&rec);
    return rc;
}

void chart_panel_free(chart_panel *p)
{
    free(p->name);
    free(p->xy);
    p->name = NULL;
    p->xy = NULL;
    p->n = 0;
}

int chart_scatter_range(const chart_panel *ps, int np, double q, double box[4])
{
    size_t total = 0;
    for (int i = 0; i < np; i++)
        total += ps[i].n;
    double *v = mem_alloc_array(total, sizeof *v);
    if (!v)
        return ERR_IO;
    for (int axis = 0; axis < 2; axis++) {
        size_t k = 0;
        for (int i = 0; i < np; i++)
            for (size_t j = 0; j < ps[i].n; j++)
                v[k++] = ps[i].xy[2 * j + (size_t)axis];
        qsort(v, total, sizeof *v, cmp_double);
        box[2 * axis] = chart_quantile(v, total, q);
        box[2 * axis + 1] = chart_quantile(v, total, 1 - q);
        chart_pad_range(&box[2 * axis], &box[2 * axis + 1]);
    }
    free(v);
    return 0;
}

double chart_scatter_alpha(const chart_panel *ps, int np, int size)
{
    /* 1 - 0.7 = 1 - exp(-0.36): dots of radius ~1 px, n of them over a
     * quarter of the (inner three quarters of the) panel */
    size_t nmax = 0;
    for (int i = 0; i < np; i++)
        nmax = ps[i].n > nmax ? ps[i].n : nmax;
    double area = 0.75 * size * 0.75 * size;
    double alpha = 0.36 * 0.25 * area / (M_PI * (double)nmax);
    return alpha < 0.05 ? 0.05 : alpha > 0.8 ? 0.8 : alpha;
}

int chart_scatter_draw(plot_canvas *c, const chart_panel *ps,
                       const char *const *titles, int np, int size,
                       const double box[4], double alpha)
{
    int rc = plot_canvas_init(c, np * size, size, WHITE);
    for (int i = 0; i < np && !rc; i++) {
        plot_frame f = {
            .x = i * size, .y = 0, .w = size, .h = size,
            .xlo = box[0], .xhi = box[1], .ylo = box[2], .yhi = box[3],
            .title = titles[i], .scale = size >= 640 ? 2 : 1
        };
        if ((rc = plot_frame_layout(&f)) < 0)
            break;
        plot_frame_grid(c, &f);
        if ((rc = plot_density(c, &f, ps[i].xy, ps[i].n, alpha, INK)) < 0)
            break;
        plot_frame_draw(c, &f);
    }
    if (rc < 0)
        plot_canvas_free(c);
    return rc;
}

/* ---- lines ----------------------------------------------------------- */

int chart_columns_choose(chart_columns *k, const tsv_table *t, const char *xname,
                         const char *group, const char *const *ynames, int ny)
{
    k->xk = xname ? tsv_need_column(t, xname, "-x") : 0;
    if (k->xk < 0)
        return k->xk;
    k->gk = group ? tsv_need_column(t, group, "--group") : -1;
    if (group && k->gk < 0)
        return k->gk;
    k->ny = 0;
    if (ynames) {
        for (int i = 0; i < ny && i < CHART_Y_MAX; i++) {
            int yk = tsv_need_column(t, ynames[i], "-y");
            if (yk < 0)
                return yk;
            k->yk[k->ny++] = yk;
        }
    } else {
        for (size_t c = 0; c < t->cols && k->ny < CHART_Y_MAX; c++)
            if ((int)c != k->xk && (int)c != k->gk)
                k->yk[k->ny++] = (int)c;
    }
    return 0;
}

static int cmp_point(const void *a, const void *b)
{
    const double *p = a, *q = b;
    /* by x, then by the original order (kept in the third slot) */
    return p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : p[2] < q[2] ? -1 : p[2] > q[2];
}

/* Room for group number ng (ny series each) in *ss and *groups. */
static int grow_groups(chart_series **ss, const char ***groups, size_t ng, size_t *gcap,
                       int ny)
{
    if (ng < *gcap)
        return 0;
    size_t cap = *gcap ? 2 * *gcap : 16;
    const char **g = mem_realloc_array(*groups, cap, sizeof *g);
    if (!g)
        return ERR_IO;
    *groups = g;
    chart_series *s = mem_realloc_array(*ss, cap * (size_t)ny, sizeof *s);
    if (!s)
        return ERR_IO;
    *ss = s;
    *gcap = cap;
    return 0;
}

/* Start the ny series of group value gv, number ng. */
static void start_group(chart_series *ss, size_t ng, const tsv_table *t,
                        const chart_columns *k, const char *gv)
{
    memset(ss + ng * (size_t)k->ny, 0, (size_t)k->ny * sizeof *ss);
    for (int i = 0; i < k->ny; i++) {
        chart_series *s = &ss[ng * (size_t)k->ny + (size_t)i];
        const char *yname = t->header[k->yk[i]];
        s->yk = k->yk[i];
        if (k->gk < 0)
            snprintf(s->name, sizeof s->name, "%s", yname);
        else if (k->ny == 1)
            snprintf(s->name, sizeof s->name, "%s", gv);
        else
            snprintf(s->name, sizeof s->name, "%s %s", gv, yname);
    }
}

/* Add (x, y) to s, y as log10 with logy. */
static int add_point(chart_series *s, double x, double y, int logy)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *p = mem_realloc_array(s->xy, cap, 3 * sizeof *p);
        if (!p)
            return ERR_IO;
        s->xy = p;
        s->cap = cap;
    }
    s->xy[3 * s->n] = x;
    s->xy[3 * s->n + 1] = logy ? log10(y) : y;
    s->xy[3 * s->n + 2] = (double)s->n;
    s->n++;
    return 0;
}

/* Every row into the series ss (group g, column i at g * ny + i);
 * *ngroups of them. */
static int fill_series(const tsv_table *t, const chart_columns *k, int logy,
                       chart_series **ss, size_t *ngroups)
{
    const char **groups = NULL;
    size_t gcap = 0, last = 0, ng = 0;
    int rc = 0;
    for (size_t r = 0; r < t->rows && !rc; r++) {
        char **row = t->cells + r * t->cols;
        double x, y;
        if (!tsv_number(row[k->xk], &x))
            continue;
        const char *gv = k->gk >= 0 && row[k->gk] ? row[k->gk] : "";
        if (k->gk >= 0 && ng && strcmp(groups[last], gv))
            for (last = 0; last < ng && strcmp(groups[last], gv); last++)
                ;
        if (!ng || last == ng) {
            if ((rc = grow_groups(ss, &groups, ng, &gcap, k->ny)) < 0)
                break;
            groups[ng] = gv;
            start_group(*ss, ng, t, k, gv);
            last = ng++;
        }
        for (int i = 0; i < k->ny && !rc; i++)
            if (tsv_number(row[k->yk[i]], &y) && !(logy && y <= 0))
                rc = add_point(&(*ss)[last * (size_t)k->ny + (size_t)i], x, y, logy);
    }
    free(groups);
    *ngroups = ng;
    return rc;
}

int chart_series_collect(const tsv_table *t, const chart_columns *k, int logy,
                         chart_series **out, size_t *ns, double box[4])
{
    chart_series *ss = NULL;
    size_t ng;
    int rc = fill_series(t, k, logy, &ss, &ng);
    size_t n = 0;
    box[0] = box[2] = INFINITY;
    box[1] = box[3] = -INFINITY;
    for (size_t i = 0; i < ng * (size_t)k->ny; i++) {
        if (rc < 0 || !ss[i].n) {
            free(ss[i].xy);
            continue;
        }
        qsort(ss[i].xy, ss[i].n, 3 * sizeof *ss[i].xy, cmp_point);
        for (size_t j = 0; j < ss[i].n; j++) {
            double x = ss[i].xy[3 * j], y = ss[i].xy[3 * j + 1];
            box[0] = fmin(box[0], x), box[1] = fmax(box[1], x);
            box[2] = fmin(box[2], y), box[3] = fmax(box[3], y);
        }
        ss[n++] = ss[i];
    }
    if (!rc && !n)
        rc = err_set(ERR_DATA, "%s: no row has a number in the x column '%s' and in "
                     "a y column%s", t->name, t->header[k->xk],
                     logy ? " (> 0 with --logy)" : "");
    if (rc < 0) {
        chart_series_free(ss, n);
        *out = NULL;
        *ns = 0;
        return rc;
    }
    /* both axes padded, so that the end markers show whole */
    chart_pad_range(&box[0], &box[1]);
    chart_pad_range(&box[2], &box[3]);
    *out = ss;
    *ns = n;
    return 0;
}

void chart_series_free(chart_series *ss, size_t ns)
{
    for (size_t i = 0; ss && i < ns; i++)
        free(ss[i].xy);
    free(ss);
}

/* The polylines of the ns series into the frame f of c. */
static int draw_series(plot_canvas *c, const plot_frame *f, const chart_series *ss,
                       size_t ns, const plot_rgb *cols)
{
    double *x = NULL, *y = NULL;
    int rc = 0;
    for (size_t i = 0; i < ns && !rc; i++) {
        double *p = mem_realloc_array(x, ss[i].n, sizeof *x);
        if (p)
            x = p;
        double *q = p ? mem_realloc_array(y, ss[i].n, sizeof *y) : NULL;
        if (q)
            y = q;
        if (!p || !q) {
            rc = ERR_IO;
            break;
        }
        for (size_t k = 0; k < ss[i].n; k++)
            x[k] = ss[i].xy[3 * k], y[k] = ss[i].xy[3 * k + 1];
        /* markers where the points are few enough to be told apart */
        int markers = ss[i].n <= (size_t)f->pw / 12;
        rc = plot_polyline(c, f, x, y, ss[i].n, 1.5 * f->scale, markers, cols[i]);
    }
    free(x);
    free(y);
    return rc;
}

int chart_lines_draw(plot_canvas *c, const tsv_table *t, const chart_series *ss,
                     size_t ns, const double box[4], const chart_lines_style *st)
{
    int s = st->width >= 1200 && st->height >= 800 ? 2 : 1;
    memset(c, 0, sizeof *c);
    const char **names = mem_alloc_array(ns, sizeof *names);
    plot_rgb *cols = mem_alloc_array(ns, sizeof *cols);
    char (*fit)[sizeof ss->name] = mem_alloc_array(ns, sizeof *fit);
    int rc = names && cols && fit ? 0 : ERR_IO;
    for (size_t i = 0; i < ns && !rc; i++) {
        /* legend names at most a third of the width */
        names[i] = plot_text_fit(fit[i], sizeof fit[i], ss[i].name, st->width / 3, s);
        cols[i] = plot_palette((int)i);
    }
    int legend = ns > 1 || st->grouped;
    /* The y axis is named after the y column if every line shows the same. */
    int one_y = 1;
    for (size_t i = 1; i < ns; i++)
        one_y &= ss[i].yk == ss[0].yk;
    char ylabel[300];
    snprintf(ylabel, sizeof ylabel, "%.255s%s", one_y ? t->header[ss[0].yk] : "",
             st->logy ? (one_y ? " (log)" : "log scale") : "");
    plot_frame f = {
        .x = 0, .y = 0, .w = st->width, .h = st->height,
        .xlo = box[0], .xhi = box[1], .ylo = box[2], .yhi = box[3],
        .logy = st->logy, .title = st->title, .xlabel = st->xlabel,
        .ylabel = *ylabel ? ylabel : NULL, .scale = s,
        .right = legend && !rc ? plot_legend_width(names, (int)ns, s) + 10 * s : 0
    };
    if (!rc)
        rc = plot_frame_layout(&f);
    if (!rc)
        rc = plot_canvas_init(c, st->width, st->height, WHITE);
    if (!rc) {
        plot_frame_grid(c, &f);
        rc = draw_series(c, &f, ss, ns, cols);
    }
    if (!rc) {
        plot_frame_draw(c, &f);
        if (legend)
            plot_legend(c, f.w - plot_legend_width(names, (int)ns, s) - 6 * s, f.py,
                        f.ph, names, cols, (int)ns, s);
    }
    if (rc < 0)
        plot_canvas_free(c);
    free(names);
    free(cols);
    free(fit);
    return rc;
}
