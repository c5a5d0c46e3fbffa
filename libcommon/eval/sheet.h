/* sheet.h - contact sheets for figures: images on a grid with white
 * padding, each pixel scaled up to a square block (nearest neighbour, no
 * smoothing), and a label at the left of each row in plot.h's bitmap font.
 *
 * The result is an 8-bit img_image (img.h) with the images' channels, so
 * it becomes a PNG through img_png_encode.  Like the rest of libcommon this
 * never prints and never exits: functions that can fail return 0 or a
 * negative ERR_* with err_set. */
#ifndef SHEET_H
#define SHEET_H

#include <stdint.h>

#include "formats/img.h"

enum {
    SHEET_SCALE_MAX = 64,       /* largest pixel scale */
    SHEET_FONT_MAX = 8          /* largest font scale the labels get */
};

typedef struct {
    int cols;                   /* columns, >= 1 */
    int pad;                    /* white pixels between and around the
                                 * images (not scaled), >= 0 */
    int scale;                  /* each pixel becomes scale x scale,
                                 * 1..SHEET_SCALE_MAX */
    const char *labels;         /* row labels, top first, separated by
                                 * commas ("clean,observed"), or NULL */
} sheet_layout;

/* The number of labels in the comma-separated list s (one more than its
 * commas; an empty label leaves its row unlabelled), or ERR_USAGE if a
 * byte is outside printable ASCII, which the font does not draw. */
int sheet_labels_count(const char *s);

/* The font scale of the labels beside rows of images of height pixels at
 * pixel scale: a glyph about a quarter of the row's height, 1 to
 * SHEET_FONT_MAX. */
int sheet_font_scale(int height, int scale);

/* The sheet of the n images of src, laid out (n, channels, height, width)
 * as floats in [0,1] (clamped, NaN as 0, rounded as img_from_f32_chw
 * does), on l->cols columns and ceil(n/cols) rows.  Without labels it is
 *
 *     cols*width*scale + (cols+1)*pad  by  rows*height*scale + (rows+1)*pad
 *
 * pixels; with labels a white column comes first, as wide as the widest
 * label and one character's advance either side of it, each label
 * right-aligned in it and centred on its row, in black at
 * sheet_font_scale.  Returns 0, ERR_USAGE
 * (channels outside 1..4, n == 0, cols < 1, pad < 0, scale outside
 * 1..SHEET_SCALE_MAX, a bad label or more labels than rows), ERR_DATA
 * (the sheet is beyond img.h's caps) or ERR_IO; on error *out is zeroed. */
int sheet_render(const float *src, uint64_t n, int channels, int height,
                 int width, const sheet_layout *l, img_image *out);

#endif
