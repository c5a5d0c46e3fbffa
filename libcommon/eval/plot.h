/* plot.h - rasterising charts into an RGB canvas: axes with "nice" ticks,
 * text in a built-in 5x8 bitmap font, anti-aliased lines, density dots and
 * legends.
 *
 * A plot_canvas is 8-bit RGB rows (img.h's layout for 3 channels, depth 8),
 * so it becomes a PNG through img_png_encode.  A plot_frame is one chart
 * in a rectangle of the canvas: plot_frame_layout places the plot area
 * inside it (leaving room for the title and the tick labels), the data are
 * drawn in that area, and plot_frame_draw puts the grid, frame, ticks and
 * text around them.
 *
 * The font covers printable ASCII (32..126); any other byte shows as '?'.
 * Glyphs are 5 pixels wide and 8 high (7 above the baseline, one row of
 * descender), advanced by 6; scale multiplies every pixel.
 *
 * Like the rest of libcommon this never prints and never exits: functions
 * that can fail return 0 or a negative ERR_* with err_set. */
#ifndef PLOT_H
#define PLOT_H

#include <stddef.h>

enum {
    PLOT_GLYPH_W = 5,       /* font pixels, at scale 1 */
    PLOT_GLYPH_H = 8,
    PLOT_ADVANCE = 6,       /* glyph width + one column of space */
    PLOT_TICKS_MAX = 16
};

typedef struct {
    unsigned char r, g, b;
} plot_rgb;

typedef struct {
    int width, height;
    unsigned char *px;      /* owned; height rows of width RGB triples */
} plot_canvas;

/* ---- canvas ---------------------------------------------------------- */

/* Allocate a width x height canvas filled with bg.  0, ERR_USAGE (a side
 * below 1) or ERR_IO (out of memory); on error c->px is NULL. */
int plot_canvas_init(plot_canvas *c, int width, int height, plot_rgb bg);
/* Free the pixels (the struct is the caller's).  Safe on a zeroed canvas. */
void plot_canvas_free(plot_canvas *c);
/* Fill the rectangle [x, x+w) x [y, y+h), clipped to the canvas. */
void plot_fill(plot_canvas *c, int x, int y, int w, int h, plot_rgb col);
/* Mix col into pixel (x, y) with opacity a in [0, 1]; outside: nothing. */
void plot_blend(plot_canvas *c, int x, int y, plot_rgb col, double a);

/* ---- text ------------------------------------------------------------ */

/* Width in pixels of s drawn at scale (0 for ""). */
int plot_text_width(const char *s, int scale);
/* Height of a line of text at scale: the glyph and two rows of space. */
int plot_text_height(int scale);
/* Draw s with its top-left corner at (x, y), clipped to the canvas. */
void plot_text(plot_canvas *c, int x, int y, const char *s, int scale,
               plot_rgb col);
/* Copy s into buf (of size n) cut to at most maxw pixels at scale: a
 * string that is too wide keeps its end behind "..", as a path keeps its
 * file name.  Returns buf. */
char *plot_text_fit(char *buf, size_t n, const char *s, int maxw, int scale);

/* ---- axes ------------------------------------------------------------ */

/* "Nice" tick values for the range [lo, hi] (lo < hi): multiples of 1, 2
 * or 5 times a power of ten, about target of them (at most
 * PLOT_TICKS_MAX), all inside the range.  With log set, lo and hi are
 * log10 of the data and the ticks, also log10, fall on whole decades when
 * the range spans at least one.  Returns their number; *step is their
 * spacing (in log10 units with log). */
int plot_ticks(double lo, double hi, int target, int log, double *ticks,
               double *step);
/* The label of tick value v (log10 of it with log) into buf of size n:
 * as few decimals as the spacing step needs, or "1e-05"-style exponents
 * for very large and very small magnitudes.  Returns buf. */
char *plot_tick_label(char *buf, size_t n, double v, double step, int log);

/* One chart in a rectangle of the canvas. */
typedef struct {
    /* set by the caller */
    int x, y, w, h;             /* the rectangle, in canvas pixels */
    double xlo, xhi;            /* data range shown, xlo < xhi */
    double ylo, yhi;            /* the same; log10 of the data with logy */
    int logy;
    const char *title;          /* centred on top, or NULL */
    const char *xlabel;         /* under the x tick labels, or NULL */
    const char *ylabel;         /* above the y axis, or NULL */
    int scale;                  /* font scale, >= 1 */
    int right;                  /* pixels kept free on the right (legend) */
    /* set by plot_frame_layout */
    int px, py, pw, ph;         /* the plot area */
    int nx, ny;
    double xt[PLOT_TICKS_MAX], yt[PLOT_TICKS_MAX];
    double xstep, ystep;
} plot_frame;

/* Choose the ticks and place the plot area inside the rectangle.  0, or
 * ERR_USAGE when the rectangle leaves no room for a plot area of at least
 * 16 x 16 pixels or a range is empty or not finite. */
int plot_frame_layout(plot_frame *f);
/* Canvas coordinates (pixel centres at k + 0.5) of a data value; y is
 * log10 of the value with logy, as the range is. */
double plot_frame_x(const plot_frame *f, double x);
double plot_frame_y(const plot_frame *f, double y);
/* The light grid at the ticks, to draw before the data. */
void plot_frame_grid(plot_canvas *c, const plot_frame *f);
/* The frame, tick marks, tick labels, title and axis labels, to draw
 * after the data. */
void plot_frame_draw(plot_canvas *c, const plot_frame *f);

/* ---- data ------------------------------------------------------------ */

/* Points xy[0..2n) (x, y pairs) as dots of radius 1 px with opacity
 * alpha in (0, 1], accumulated so that k dots on a pixel cover it
 * 1 - (1 - alpha)^k: sparse regions stay light and dense ones saturate
 * to ink.  Points outside the frame's range and non-finite ones are left
 * out.  0 or ERR_IO. */
int plot_density(plot_canvas *c, const plot_frame *f, const double *xy,
                 size_t n, double alpha, plot_rgb ink);
/* A polyline through (x[i], y[i]) (y in the frame's units: log10 with
 * logy) of width lw pixels, anti-aliased and clipped to the plot area,
 * with a square marker of side 2 lw + 1 at each vertex if markers is set.
 * A one-point series is a marker.  0 or ERR_IO. */
int plot_polyline(plot_canvas *c, const plot_frame *f, const double *x,
                  const double *y, size_t n, double lw, int markers,
                  plot_rgb col);

/* The colour of series i: ten distinct hues, then again. */
plot_rgb plot_palette(int i);

/* A legend: n rows of a colour swatch and a name, top-left corner at
 * (x, y), at most maxh pixels high; rows that do not fit are summed up in
 * a last "+K more".  plot_legend_width is the width it takes. */
int plot_legend_width(const char *const *names, int n, int scale);
void plot_legend(plot_canvas *c, int x, int y, int maxh,
                 const char *const *names, const plot_rgb *cols, int n,
                 int scale);

#endif
