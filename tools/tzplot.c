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
#include "formats/img.h"     /* img_image, img_png_encode, IMG_DIM_MAX */
#include "base/mem.h"        /* mem_alloc_array */
#include "base/out.h"        /* out_open, out_commit */
#include "eval/chart.h"      /* chart_panel_read, chart_series_collect, ... */
#include "eval/tsv.h"        /* tsv_read */

static const double QUANTILE = 0.005;   /* default box: 0.5% .. 99.5% */

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
    chart_panel *ps = mem_calloc_array((size_t)nfiles, sizeof *ps);
    if (!titles || !tbuf || !ps)
        cli_die(EXIT_IO, "out of memory");
    if (g_opt.titles) {
        int nt = split_list(g_opt.titles, tbuf, tlen, titles, nfiles);
        if (nt != nfiles)
            cli_die(EXIT_USAGE, "--titles needs one title per FILE (%d); got %s",
                    nfiles, nt < 0 ? "more" : "fewer");
    }
    for (int i = 0; i < nfiles; i++) {
        if (!g_opt.titles)
            titles[i] = strcmp(files[i], "-") ? files[i] : "<stdin>";
        int rc = chart_panel_read(&ps[i], files[i], g_opt.field, g_opt.max);
        if (ps[i].dropped)
            cli_warn("%s: %" PRIu64 " points with NaN or Inf left out", ps[i].name,
                     ps[i].dropped);
        if (rc < 0)
            cli_die_err(rc);
    }
    if (!g_opt.range && chart_scatter_range(ps, nfiles, QUANTILE, box) < 0)
        cli_die_last();
    double alpha = g_opt.alpha ? g_opt.alpha : chart_scatter_alpha(ps, nfiles, g_opt.size);
    plot_canvas c;
    if (chart_scatter_draw(&c, ps, titles, nfiles, g_opt.size, box, alpha) < 0)
        cli_die_last();
    write_png(&c);
    plot_canvas_free(&c);
    for (int i = 0; i < nfiles; i++)
        chart_panel_free(&ps[i]);
    free(ps);
    free(tbuf);
    free(titles);
}

/* ---- lines -------------------------------------------------------------- */

static void lines(char **files, int nfiles)
{
    if (nfiles > 1)
        cli_die(EXIT_USAGE, "lines takes one TSV file; got %d", nfiles);
    const char *ynames[CHART_Y_MAX];
    char *ybuf = NULL;
    int ny = 0;
    if (g_opt.ycols) {      /* checked before the reading */
        int commas = 0;
        for (const char *p = g_opt.ycols; *p; p++)
            commas += *p == ',';
        if (commas >= CHART_Y_MAX)
            cli_die(EXIT_USAGE, "-y takes at most %d columns", CHART_Y_MAX);
        size_t n = strlen(g_opt.ycols) + 1;
        if (!(ybuf = malloc(n)))
            cli_die(EXIT_IO, "out of memory");
        ny = split_list(g_opt.ycols, ybuf, n, ynames, CHART_Y_MAX);
    }
    tsv_table t;
    if (tsv_read(&t, nfiles ? files[0] : "-") < 0)
        cli_die_last();
    chart_columns k;
    if (chart_columns_choose(&k, &t, g_opt.xcol, g_opt.group,
                             g_opt.ycols ? ynames : NULL, ny) < 0)
        cli_die_last();
    chart_series *ss;
    size_t ns;
    double box[4];
    if (chart_series_collect(&t, &k, g_opt.logy, &ss, &ns, box) < 0)
        cli_die_last();
    chart_lines_style st = {
        .width = g_opt.width, .height = g_opt.height, .logy = g_opt.logy,
        .title = g_opt.title, .xlabel = t.header[k.xk], .grouped = k.gk >= 0
    };
    plot_canvas c;
    if (chart_lines_draw(&c, &t, ss, ns, box, &st) < 0)
        cli_die_last();
    write_png(&c);
    plot_canvas_free(&c);
    chart_series_free(ss, ns);
    tsv_free(&t);
    free(ybuf);
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
