/* chart.h - the two chart layouts of tzplot, on plot.h's canvas.
 *
 * scatter: one square panel per sample set, side by side on the same
 * axes, the points as faint dots whose overlaps add up (plot_density), so
 * that sets (data, observations, reconstructions) compare at a glance.
 * The axes default to a quantile box of all the sets' points together.
 *
 * lines: one line per y column of a tsv.h table, or per value of a
 * grouping column and y column, against an x column, with a legend.
 *
 * Like the rest of libcommon this never prints and never exits: functions
 * that can fail return 0 or a negative ERR_* with err_set. */
#ifndef CHART_H
#define CHART_H

#include <stddef.h>
#include <stdint.h>

#include "eval/plot.h"
#include "eval/tsv.h"
#include "formats/tz.h"

enum { CHART_Y_MAX = TZ_TENSORS_MAX };  /* y columns of a lines chart */

/* ---- ranges ---------------------------------------------------------- */

/* Quantile q in [0, 1] of sorted v[0..n) (n >= 1), linearly interpolated
 * between neighbours. */
double chart_quantile(const double *v, size_t n, double q);

/* Widen [lo, hi] by 5% of its span on each side; an empty range (lo ==
 * hi) becomes 20% of |lo| wide around it, or 1 wide around 0. */
void chart_pad_range(double *lo, double *hi);

/* ---- scatter --------------------------------------------------------- */

typedef struct {
    char *name;             /* owned: the stream's name for messages */
    double *xy;             /* owned: n (x, y) pairs, finite */
    size_t n;
    uint64_t dropped;       /* points left out for NaN or Inf */
} chart_panel;

/* Read into *p (zeroed here) the first max finite points of field, a
 * batch of 2-D points (N, 2) in every record, of the stream at path ("-":
 * standard input).  0; ERR_DATA when a record lacks the field or it is not
 * (N, 2), or when no finite point is left (p->name and p->dropped are set
 * then, as on success, so that the caller can warn about the dropped ones
 * first); or the stream's own error.  The caller frees *p with
 * chart_panel_free, also on error. */
int chart_panel_read(chart_panel *p, const char *path, const char *field,
                     uint64_t max);

/* Free what chart_panel_read allocated; safe on a zeroed panel. */
void chart_panel_free(chart_panel *p);

/* The default box of np panels: per axis, the q and 1 - q quantiles of
 * all their points together, padded by chart_pad_range; box is x0, x1,
 * y0, y1.  0 or ERR_IO. */
int chart_scatter_range(const chart_panel *ps, int np, double q, double box[4]);

/* One dot opacity for panels of size x size pixels, the same for all so
 * that they compare: about 0.3 coverage where the densest panel spreads
 * evenly over a quarter of the area, within [0.05, 0.8]. */
double chart_scatter_alpha(const chart_panel *ps, int np, int size);

/* Draw np panels of size x size pixels side by side onto *c (allocated
 * here, np * size by size, white; the caller frees it with
 * plot_canvas_free), all over box (x0, x1, y0, y1), titled titles[i], the
 * dots of opacity alpha in dark blue.  0, ERR_USAGE (a panel too small
 * for its frame) or ERR_IO; on error *c holds nothing to free. */
int chart_scatter_draw(plot_canvas *c, const chart_panel *ps,
                       const char *const *titles, int np, int size,
                       const double box[4], double alpha);

/* ---- lines ----------------------------------------------------------- */

/* The columns of a lines chart. */
typedef struct {
    int xk;                 /* the x column */
    int gk;                 /* the grouping column, or -1 */
    int yk[CHART_Y_MAX];    /* the y columns, ny of them */
    int ny;
} chart_columns;

/* Choose the columns of t: x called xname (or the first column if NULL),
 * the grouping column called group (or none if NULL), and the y columns
 * ynames[0..ny) (ny <= CHART_Y_MAX), or with ynames NULL every other
 * column (up to CHART_Y_MAX).  0, or ERR_DATA (tsv_need_column's message)
 * for a name that is not a column, checked in the order x, group, y. */
int chart_columns_choose(chart_columns *k, const tsv_table *t, const char *xname,
                         const char *group, const char *const *ynames, int ny);

typedef struct {
    char name[256];         /* the legend's: y column, group or both */
    int yk;                 /* its y column */
    double *xy;             /* owned: n (x, y, i) triples, sorted by x then
                             * by i, the row order; y is log10 with logy */
    size_t n, cap;
} chart_series;

/* The series of t over the columns k: one per y column, or per group value
 * and y column, in the order the groups first appear; only those with
 * points (rows whose x and y cells are numbers, y > 0 with logy).  Sets
 * *out (the caller frees it with chart_series_free), *ns and box (x0, x1,
 * y0, y1), the points' bounding box padded by chart_pad_range on both
 * axes.  0, ERR_IO, or ERR_DATA when there is no series; on error *out is
 * NULL. */
int chart_series_collect(const tsv_table *t, const chart_columns *k, int logy,
                         chart_series **out, size_t *ns, double box[4]);

/* Free ns series and the array. */
void chart_series_free(chart_series *ss, size_t ns);

/* How a lines chart looks. */
typedef struct {
    int width, height;      /* the image */
    int logy;               /* the series' y are log10 of the data */
    const char *title;      /* or NULL */
    const char *xlabel;     /* the x column's name */
    int grouped;            /* a legend even for one series */
} chart_lines_style;

/* Draw the ns series of table t (for the y columns' names) over box onto
 * *c (allocated here, white; the caller frees it with plot_canvas_free):
 * a polyline each in plot_palette's colours, with markers where the points
 * are few, and a legend right of the plot for more than one series or when
 * grouped.  0, ERR_USAGE (the image too small for its frame) or ERR_IO; on
 * error *c holds nothing to free. */
int chart_lines_draw(plot_canvas *c, const tsv_table *t, const chart_series *ss,
                     size_t ns, const double box[4], const chart_lines_style *st);

#endif
