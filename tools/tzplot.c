/* tzplot - charts as PNG images: scatter plots of 2-D samples from tensor
 * streams, and line charts from TSV tables.
 *
 * scatter: one square panel per FILE, side by side, all on the same axes,
 * the points drawn as faint dots whose overlaps add up (a density look),
 * so that several sample sets (data, observations, reconstructions) can
 * be compared at a glance.  lines: one line per y column, or per value of
 * a grouping column, against an x column of a TSV file with a header row,
 * as the toolkit's tools write them.
 *
 * Non-goals: publication typesetting, rotated text, non-ASCII labels (the
 * built-in font shows them as '?'), streaming: the points (at most --max
 * per panel) and the TSV table are held in memory. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "formats/img.h"        /* img_image, img_png_encode, IMG_DIM_MAX */
#include "base/mem.h"        /* mem_alloc_array, mem_realloc_array */
#include "base/out.h"        /* out_open, out_commit */
#include "eval/plot.h"       /* plot_canvas, plot_frame, plot_density, plot_polyline */
#include "eval/stats.h"      /* stats_get */
#include "formats/tz.h"         /* tz_reader, tz_record */

static const double QUANTILE = 0.005;   /* default box: 0.5% .. 99.5% */
static const double PAD = 0.05;         /* of the range, on each side */
static const plot_rgb WHITE = { 255, 255, 255 };
static const plot_rgb INK = { 24, 56, 128 };   /* scatter dots: dark blue */

struct cmdline {
    const char *field, *range, *titles;
    uint64_t max;
    int size;
    double alpha;
    const char *xcol, *ycols, *group, *title;
    int logy, width, height;
};

static struct cmdline g_opt = {
    .field = "x0", .max = 20000, .size = 320, .width = 640, .height = 400
};

static const cli_opt g_opts[] = {
    { "field", 'f', CLI_STR, &g_opt.field, "NAME",
      "scatter: the field of (N, 2) points (default x0)", 0, 0 },
    { "range", 0, CLI_STR, &g_opt.range, "X0:X1:Y0:Y1",
      "scatter: axes of every panel (default: the 0.5%..99.5% quantile box, padded)",
      0, 0 },
    { "titles", 0, CLI_STR, &g_opt.titles, "LIST",
      "scatter: comma-separated panel titles, one per FILE (default: the file names)",
      0, 0 },
    { "max", 0, CLI_U64, &g_opt.max, "N",
      "scatter: the first N points of each FILE (default 20000)", 1, 1e8 },
    { "size", 0, CLI_INT, &g_opt.size, "PX",
      "scatter: width and height of a panel (default 320)", 128, 4096 },
    { "alpha", 0, CLI_DOUBLE, &g_opt.alpha, "A",
      "scatter: opacity of one dot, 0 for automatic (default 0)", 0, 1 },
    { "x-column", 'x', CLI_STR, &g_opt.xcol, "COL",
      "lines: the x column (default: the first)", 0, 0 },
    { "y-columns", 'y', CLI_STR, &g_opt.ycols, "LIST",
      "lines: comma-separated y columns, a line each (default: the other numeric ones)",
      0, 0 },
    { "group", 'g', CLI_STR, &g_opt.group, "COL",
      "lines: a line per distinct value of COL", 0, 0 },
    { "logy", 0, CLI_FLAG, &g_opt.logy, NULL,
      "lines: logarithmic y axis (values <= 0 are left out)", 0, 0 },
    { "title", 't', CLI_STR, &g_opt.title, "TEXT",
      "lines: title of the chart (default: none)", 0, 0 },
    { "width", 0, CLI_INT, &g_opt.width, "PX",
      "lines: image width (default 640)", 200, 8192 },
    { "height", 0, CLI_INT, &g_opt.height, "PX",
      "lines: image height (default 400)", 150, 8192 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzplot", "scatter [OPTION]... [FILE]...\n  or:  tzplot lines [OPTION]... [TSV]",
    "Draw a chart as a PNG image: scatter panels of 2-D points from tensor "
    "streams, or lines from a TSV table.  -o FILE is required.",
    g_opts, CLI_OUTPUT, NULL
};

/* Split a comma-separated list into at most max pieces in buf (a copy the
 * pieces point into).  Returns the number of pieces, or -1 if there are
 * more than max. */
static int split_list(const char *s, char *buf, size_t bufsize, const char **v,
                      int max)
{
    snprintf(buf, bufsize, "%s", s);
    int n = 0;
    for (char *p = buf;; p++) {
        if (n == max)
            return -1;
        v[n++] = p;
        if (!(p = strchr(p, ',')))
            return n;
        *p = 0;
    }
}

/* Encode the canvas as a PNG and write it to -o, whole or not at all. */
static void write_png(const plot_canvas *c)
{
    img_image im = { c->width, c->height, 3, 8, c->px };
    unsigned char *buf;
    size_t len;
    if (img_png_encode(&im, &buf, &len) < 0)
        cli_die_last();
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    if (fwrite(buf, 1, len, out_stream(o)) != len)
        cli_die_err(out_fail(o, errno));
    if (out_commit(o) < 0)
        cli_die_last();
    free(buf);
}

/* ---- scatter ------------------------------------------------------------ */

typedef struct {
    const char *path, *title;
    double *xy;             /* n (x, y) pairs, finite */
    size_t n;
} panel;

/* The first --max finite points of field --field in the stream at path. */
static void read_points(panel *p)
{
    tz_reader *r = tz_reader_open(p->path);
    if (!r)
        cli_die_last();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    size_t cap = 0;
    uint64_t dropped = 0;
    int rc = 0;
    while (p->n < g_opt.max && (rc = tz_read(r, &rec)) == 1) {
        const tz_tensor *t = tz_record_find(&rec, g_opt.field);
        if (!t)
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": no field '%s'",
                    tz_reader_name(r), tz_reader_index(r), g_opt.field);
        if (t->rank != 2 || t->dims[1] != 2)
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": field '%s' is not a batch "
                    "of 2-D points (N, 2)", tz_reader_name(r), tz_reader_index(r),
                    g_opt.field);
        for (uint64_t i = 0; i < t->dims[0] && p->n < g_opt.max; i++) {
            double x = stats_get(t, 2 * i), y = stats_get(t, 2 * i + 1);
            if (!isfinite(x) || !isfinite(y)) {
                dropped++;
                continue;
            }
            if (p->n == cap) {
                cap = cap ? 2 * cap : 4096;
                if (!(p->xy = mem_realloc_array(p->xy, cap, 2 * sizeof *p->xy)))
                    cli_die_last();
            }
            p->xy[2 * p->n] = x;
            p->xy[2 * p->n + 1] = y;
            p->n++;
        }
    }
    if (p->n < g_opt.max && rc < 0)
        cli_die_err(rc);
    if (dropped)
        cli_warn("%s: %" PRIu64 " points with NaN or Inf left out", tz_reader_name(r),
                 dropped);
    if (!p->n)
        cli_die(EXIT_DATA, "%s: no points in field '%s'", tz_reader_name(r),
                g_opt.field);
    tz_reader_close(r);
    tz_record_free(&rec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile q of sorted v[0..n), linearly interpolated. */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* [lo, hi] widened by PAD on each side, and to a unit or 10% when empty. */
static void pad_range(double *lo, double *hi)
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

/* The default box: per axis, the QUANTILE and 1 - QUANTILE quantiles of
 * all the panels' points together, padded. */
static void auto_range(const panel *ps, int np, double box[4])
{
    size_t total = 0;
    for (int i = 0; i < np; i++)
        total += ps[i].n;
    double *v = mem_alloc_array(total, sizeof *v);
    if (!v)
        cli_die_last();
    for (int axis = 0; axis < 2; axis++) {
        size_t k = 0;
        for (int i = 0; i < np; i++)
            for (size_t j = 0; j < ps[i].n; j++)
                v[k++] = ps[i].xy[2 * j + (size_t)axis];
        qsort(v, total, sizeof *v, cmp_double);
        box[2 * axis] = quantile(v, total, QUANTILE);
        box[2 * axis + 1] = quantile(v, total, 1 - QUANTILE);
        pad_range(&box[2 * axis], &box[2 * axis + 1]);
    }
    free(v);
}

static void parse_range(const char *s, double box[4])
{
    char *end;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        box[i] = strtod(p, &end);
        if (end == p || !isfinite(box[i]) || *end != (i < 3 ? ':' : 0))
            cli_die(EXIT_USAGE, "--range needs XMIN:XMAX:YMIN:YMAX, four numbers; "
                    "got '%s'", s);
        p = end + 1;
    }
    if (!(box[0] < box[1]) || !(box[2] < box[3]))
        cli_die(EXIT_USAGE, "--range needs XMIN < XMAX and YMIN < YMAX; got '%s'", s);
}

static void scatter(char **files, int nfiles)
{
    static char *stdin_only[] = { "-" };
    if (!nfiles)
        files = stdin_only, nfiles = 1;
    if ((long)nfiles * g_opt.size > IMG_DIM_MAX)
        cli_die(EXIT_USAGE, "%d panels of %d pixels make an image wider than %d",
                nfiles, g_opt.size, IMG_DIM_MAX);
    double box[4];
    if (g_opt.range)
        parse_range(g_opt.range, box);
    const char **titles = mem_alloc_array((size_t)nfiles, sizeof *titles);
    size_t tlen = g_opt.titles ? strlen(g_opt.titles) + 1 : 1;
    char *tbuf = malloc(tlen);
    panel *ps = mem_calloc_array((size_t)nfiles, sizeof *ps);
    if (!titles || !tbuf || !ps)
        cli_die(EXIT_IO, "out of memory");
    if (g_opt.titles) {
        int nt = split_list(g_opt.titles, tbuf, tlen, titles, nfiles);
        if (nt != nfiles)
            cli_die(EXIT_USAGE, "--titles needs one title per FILE (%d); got %s",
                    nfiles, nt < 0 ? "more" : "fewer");
    }
    for (int i = 0; i < nfiles; i++) {
        ps[i].path = files[i];
        ps[i].title = g_opt.titles ? titles[i]
                      : strcmp(files[i], "-") ? files[i] : "<stdin>";
        read_points(&ps[i]);
    }
    if (!g_opt.range)
        auto_range(ps, nfiles, box);
    /* One dot opacity for every panel, so that panels compare: about 0.3
     * coverage where the densest panel spreads evenly over a quarter of
     * the area (1 - 0.7 = 1 - exp(-0.36)), within [0.05, 0.8]. */
    double alpha = g_opt.alpha;
    if (alpha == 0) {
        size_t nmax = 0;
        for (int i = 0; i < nfiles; i++)
            nmax = ps[i].n > nmax ? ps[i].n : nmax;
        double area = 0.75 * g_opt.size * 0.75 * g_opt.size;
        alpha = 0.36 * 0.25 * area / (M_PI * (double)nmax);
        alpha = alpha < 0.05 ? 0.05 : alpha > 0.8 ? 0.8 : alpha;
    }
    plot_canvas c;
    if (plot_canvas_init(&c, nfiles * g_opt.size, g_opt.size, WHITE) < 0)
        cli_die_last();
    for (int i = 0; i < nfiles; i++) {
        plot_frame f = {
            .x = i * g_opt.size, .y = 0, .w = g_opt.size, .h = g_opt.size,
            .xlo = box[0], .xhi = box[1], .ylo = box[2], .yhi = box[3],
            .title = ps[i].title, .scale = g_opt.size >= 640 ? 2 : 1
        };
        if (plot_frame_layout(&f) < 0)
            cli_die_last();
        plot_frame_grid(&c, &f);
        if (plot_density(&c, &f, ps[i].xy, ps[i].n, alpha, INK) < 0)
            cli_die_last();
        plot_frame_draw(&c, &f);
        free(ps[i].xy);
    }
    write_png(&c);
    plot_canvas_free(&c);
    free(ps);
    free(tbuf);
    free(titles);
}

/* ---- lines -------------------------------------------------------------- */

typedef struct {
    char *text;             /* the whole file, cut into cells in place */
    char **cells;           /* rows x cols; NULL for a missing cell */
    size_t rows, cols;
    const char *name;       /* for messages */
} table;

static void table_add_row(table *t, char **cells, size_t n, size_t line, size_t *cap)
{
    if (t->cols && n > t->cols)
        cli_die(EXIT_DATA, "%s: line %zu: %zu cells, but the header has %zu",
                t->name, line, n, t->cols);
    if (t->rows == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        if (!(t->cells = mem_realloc_array(t->cells, *cap, t->cols * sizeof *t->cells)))
            cli_die_last();
    }
    for (size_t k = 0; k < t->cols; k++)
        t->cells[t->rows * t->cols + k] = k < n ? cells[k] : NULL;
    t->rows++;
}

/* Read a TSV file whole: a header row, then rows of at most as many
 * cells (missing ones count as empty); blank lines and '\r' are ignored. */
static void table_read(table *t, const char *path, char ***header)
{
    memset(t, 0, sizeof *t);
    int std = !strcmp(path, "-");
    t->name = std ? "<stdin>" : path;
    FILE *f = std ? stdin : fopen(path, "rb");
    if (!f)
        cli_die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536 && !(t->text = mem_realloc_array(t->text,
                                                               cap = 2 * cap + 65536, 1)))
            cli_die_last();
        size_t got = fread(t->text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        cli_die(EXIT_IO, "%s: read failed", t->name);
    if (!std)
        fclose(f);
    t->text[len] = 0;
    char **cells = NULL;
    size_t ccap = 0, rcap = 0, lineno = 0;
    for (char *p = t->text, *next; p < t->text + len; p = next) {
        lineno++;
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : t->text + len;
        if (nl)
            *nl = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = 0;
        if (!l)
            continue;
        size_t n = 0;
        for (char *c = p;; c++) {
            if (n == ccap && !(cells = mem_realloc_array(cells, ccap = 2 * ccap + 16,
                                                         sizeof *cells)))
                cli_die_last();
            cells[n++] = c;
            if (!(c = strchr(c, '\t')))
                break;
            *c = 0;
        }
        if (!t->cols) {
            t->cols = n;
            if (!(*header = mem_alloc_array(n, sizeof **header)))
                cli_die_last();
            memcpy(*header, cells, n * sizeof *cells);
        } else {
            table_add_row(t, cells, n, lineno, &rcap);
        }
    }
    free(cells);
    if (!t->cols)
        cli_die(EXIT_DATA, "%s: empty: no header row", t->name);
}

static int find_column(char **header, size_t cols, const char *name)
{
    for (size_t k = 0; k < cols; k++)
        if (!strcmp(header[k], name))
            return (int)k;
    return -1;
}

static int need_column(const table *t, char **header, const char *name,
                       const char *what)
{
    int k = find_column(header, t->cols, name);
    if (k < 0) {
        char list[512] = "";
        for (size_t i = 0; i < t->cols; i++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", header[i]);
        }
        cli_die(EXIT_DATA, "%s: no column '%s' (%s); the columns are: %s", t->name,
                name, what, list);
    }
    return k;
}

/* A cell as a finite number, or 0 if it is missing, empty, text, NaN or
 * infinite. */
static int cell_number(const char *s, double *v)
{
    if (!s)
        return 0;
    char *end;
    *v = strtod(s, &end);
    while (*end == ' ')
        end++;
    return end != s && !*end && isfinite(*v);
}

typedef struct {
    char name[256];
    int yk;                 /* its y column */
    double *xy;             /* n (x, y) pairs; y is log10 with --logy */
    size_t n, cap;
} series;

static int cmp_point(const void *a, const void *b)
{
    const double *p = a, *q = b;
    /* by x, then by the original order (kept in the third slot) */
    return p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : p[2] < q[2] ? -1 : p[2] > q[2];
}

/* The columns to draw: *xk, *gk (-1 without --group) and yk[0 .. *ny). */
static void choose_columns(const table *t, char **header, int *xk, int *gk,
                           int *yk, int *ny)
{
    *xk = g_opt.xcol ? need_column(t, header, g_opt.xcol, "-x") : 0;
    *gk = g_opt.group ? need_column(t, header, g_opt.group, "--group") : -1;
    *ny = 0;
    if (g_opt.ycols) {
        size_t n = strlen(g_opt.ycols) + 1;
        char *buf = malloc(n);
        const char *v[TZ_TENSORS_MAX];
        if (!buf)
            cli_die(EXIT_IO, "out of memory");
        *ny = split_list(g_opt.ycols, buf, n, v, TZ_TENSORS_MAX);
        for (int i = 0; i < *ny; i++)
            yk[i] = need_column(t, header, v[i], "-y");
        free(buf);
    } else {
        for (size_t k = 0; k < t->cols && *ny < TZ_TENSORS_MAX; k++)
            if ((int)k != *xk && (int)k != *gk)
                yk[(*ny)++] = (int)k;
    }
}

/* The series of the table: one per y column, or per group value and y
 * column, in the order the groups first appear; only those with points,
 * each sorted by x.  Returns their number (the caller frees *out and each
 * series' xy) and their bounding box. */
static size_t collect_series(const table *t, char **header, int xk, int gk,
                             const int *yk, int ny, series **out, double box[4])
{
    /* series (group g, column i) at index g * ny + i */
    series *ss = NULL;
    const char **groups = NULL;
    size_t ngroups = 0, gcap = 0, last = 0;
    for (size_t r = 0; r < t->rows; r++) {
        char **row = t->cells + r * t->cols;
        double x, y;
        if (!cell_number(row[xk], &x))
            continue;
        const char *gv = gk >= 0 && row[gk] ? row[gk] : "";
        if (gk >= 0 && ngroups && strcmp(groups[last], gv))
            for (last = 0; last < ngroups && strcmp(groups[last], gv); last++)
                ;
        if (!ngroups || last == ngroups) {
            if (ngroups == gcap) {
                gcap = gcap ? 2 * gcap : 16;
                if (!(groups = mem_realloc_array(groups, gcap, sizeof *groups)) ||
                    !(ss = mem_realloc_array(ss, gcap * (size_t)ny, sizeof *ss)))
                    cli_die_last();
            }
            groups[ngroups] = gv;
            memset(ss + ngroups * (size_t)ny, 0, (size_t)ny * sizeof *ss);
            for (int i = 0; i < ny; i++) {
                series *s = &ss[ngroups * (size_t)ny + (size_t)i];
                s->yk = yk[i];
                if (gk < 0)
                    snprintf(s->name, sizeof s->name, "%s", header[yk[i]]);
                else if (ny == 1)
                    snprintf(s->name, sizeof s->name, "%s", gv);
                else
                    snprintf(s->name, sizeof s->name, "%s %s", gv, header[yk[i]]);
            }
            last = ngroups++;
        }
        for (int i = 0; i < ny; i++) {
            series *s = &ss[last * (size_t)ny + (size_t)i];
            if (!cell_number(row[yk[i]], &y) || (g_opt.logy && y <= 0))
                continue;
            if (s->n == s->cap && !(s->xy = mem_realloc_array(s->xy,
                                        s->cap = s->cap ? 2 * s->cap : 64, 3 * sizeof *s->xy)))
                cli_die_last();
            s->xy[3 * s->n] = x;
            s->xy[3 * s->n + 1] = g_opt.logy ? log10(y) : y;
            s->xy[3 * s->n + 2] = (double)s->n;
            s->n++;
        }
    }
    size_t ns = 0;
    box[0] = box[2] = INFINITY;
    box[1] = box[3] = -INFINITY;
    for (size_t i = 0; i < ngroups * (size_t)ny; i++) {
        if (!ss[i].n) {
            free(ss[i].xy);
            continue;
        }
        qsort(ss[i].xy, ss[i].n, 3 * sizeof *ss[i].xy, cmp_point);
        for (size_t k = 0; k < ss[i].n; k++) {
            double x = ss[i].xy[3 * k], y = ss[i].xy[3 * k + 1];
            box[0] = fmin(box[0], x), box[1] = fmax(box[1], x);
            box[2] = fmin(box[2], y), box[3] = fmax(box[3], y);
        }
        ss[ns++] = ss[i];
    }
    free(groups);
    *out = ss;
    return ns;
}

/* The chart of ns series (freed here) over box, x axis named xname. */
static void draw_lines(series *ss, size_t ns, const double box[4], const char *xname,
                       char **header, int grouped)
{
    int s = g_opt.width >= 1200 && g_opt.height >= 800 ? 2 : 1;
    const char **names = mem_alloc_array(ns, sizeof *names);
    plot_rgb *cols = mem_alloc_array(ns, sizeof *cols);
    if (!names || !cols)
        cli_die_last();
    for (size_t i = 0; i < ns; i++) {
        /* legend names at most a third of the width */
        char tmp[sizeof ss[i].name];
        plot_text_fit(tmp, sizeof tmp, ss[i].name, g_opt.width / 3, s);
        memcpy(ss[i].name, tmp, sizeof tmp);
        names[i] = ss[i].name;
        cols[i] = plot_palette((int)i);
    }
    int legend = ns > 1 || grouped;
    /* The y axis is named after the y column if every line shows the same. */
    int one_y = 1;
    for (size_t i = 1; i < ns; i++)
        one_y &= ss[i].yk == ss[0].yk;
    char ylabel[300];
    snprintf(ylabel, sizeof ylabel, "%.255s%s", one_y ? header[ss[0].yk] : "",
             g_opt.logy ? (one_y ? " (log)" : "log scale") : "");
    plot_frame f = {
        .x = 0, .y = 0, .w = g_opt.width, .h = g_opt.height,
        .xlo = box[0], .xhi = box[1], .ylo = box[2], .yhi = box[3],
        .logy = g_opt.logy, .title = g_opt.title, .xlabel = xname,
        .ylabel = *ylabel ? ylabel : NULL, .scale = s,
        .right = legend ? plot_legend_width(names, (int)ns, s) + 10 * s : 0
    };
    if (plot_frame_layout(&f) < 0)
        cli_die_last();
    plot_canvas c;
    if (plot_canvas_init(&c, g_opt.width, g_opt.height, WHITE) < 0)
        cli_die_last();
    plot_frame_grid(&c, &f);
    double *x = NULL, *y = NULL;
    for (size_t i = 0; i < ns; i++) {
        if (!(x = mem_realloc_array(x, ss[i].n, sizeof *x)) ||
            !(y = mem_realloc_array(y, ss[i].n, sizeof *y)))
            cli_die_last();
        for (size_t k = 0; k < ss[i].n; k++)
            x[k] = ss[i].xy[3 * k], y[k] = ss[i].xy[3 * k + 1];
        /* markers where the points are few enough to be told apart */
        int markers = ss[i].n <= (size_t)f.pw / 12;
        if (plot_polyline(&c, &f, x, y, ss[i].n, 1.5 * s, markers, cols[i]) < 0)
            cli_die_last();
        free(ss[i].xy);
    }
    plot_frame_draw(&c, &f);
    if (legend)
        plot_legend(&c, f.w - plot_legend_width(names, (int)ns, s) - 6 * s, f.py, f.ph,
                    names, cols, (int)ns, s);
    write_png(&c);
    plot_canvas_free(&c);
    free(x);
    free(y);
    free(names);
    free(cols);
}

static void lines(char **files, int nfiles)
{
    if (nfiles > 1)
        cli_die(EXIT_USAGE, "lines takes one TSV file; got %d", nfiles);
    if (g_opt.ycols) {      /* checked before the reading */
        int commas = 0;
        for (const char *p = g_opt.ycols; *p; p++)
            commas += *p == ',';
        if (commas >= TZ_TENSORS_MAX)
            cli_die(EXIT_USAGE, "-y takes at most %d columns", TZ_TENSORS_MAX);
    }
    table t;
    char **header = NULL;
    table_read(&t, nfiles ? files[0] : "-", &header);
    int xk, gk, yk[TZ_TENSORS_MAX], ny;
    choose_columns(&t, header, &xk, &gk, yk, &ny);
    series *ss;
    double box[4];
    size_t ns = collect_series(&t, header, xk, gk, yk, ny, &ss, box);
    if (!ns)
        cli_die(EXIT_DATA, "%s: no row has a number in the x column '%s' and in a "
                "y column%s", t.name, header[xk], g_opt.logy ? " (> 0 with --logy)" : "");
    /* both axes padded, so that the end markers show whole */
    pad_range(&box[0], &box[1]);
    pad_range(&box[2], &box[3]);
    draw_lines(ss, ns, box, header[xk], header, gk >= 0);
    free(ss);
    free(header);
    free(t.cells);
    free(t.text);
}

int main(int argc, char **argv)
{
    int first;
    cli.output = NULL;      /* so that a missing -o can be told apart */
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need a mode: scatter or lines");
    const char *mode = argv[first++];
    if (strcmp(mode, "scatter") && strcmp(mode, "lines"))
        cli_die(EXIT_USAGE, "unknown mode '%s' (scatter, lines)", mode);
    if (!cli.output)
        cli_die(EXIT_USAGE, "-o FILE is required: where to write the PNG "
                "(- for standard output)");
    if (!strcmp(mode, "scatter"))
        scatter(argv + first, argc - first);
    else
        lines(argv + first, argc - first);
    return 0;
}
