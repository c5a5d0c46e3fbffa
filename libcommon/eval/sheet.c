/* sheet.c - labelled, scaled contact sheets; see sheet.h. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"        /* err_set */
#include "base/mem.h"        /* mem_alloc_array */
#include "eval/plot.h"       /* plot_canvas, plot_text: the bitmap font */
#include "eval/sheet.h"

static const plot_rgb INK = { 0, 0, 0 }, PAPER = { 255, 255, 255 };

int sheet_labels_count(const char *s)
{
    int n = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == ',' && ++n > IMG_DIM_MAX)
            return err_set(ERR_USAGE, "more than %d row labels", IMG_DIM_MAX);
        if (*p < 32 || *p > 126)
            return err_set(ERR_USAGE, "row labels: byte %zu (0x%02x) is not "
                           "printable ASCII, which is all the font draws",
                           (size_t)(p - (const unsigned char *)s) + 1, *p);
    }
    return n;
}

int sheet_font_scale(int height, int scale)
{
    long fs = (long)height * scale / (4 * PLOT_GLYPH_H);
    return fs < 1 ? 1 : fs > SHEET_FONT_MAX ? SHEET_FONT_MAX : (int)fs;
}

/* Copy image im (8-bit, interleaved) into out at (x0, y0), each pixel a
 * scale x scale block. */
static void blit_scaled(img_image *out, const img_image *im, size_t x0, size_t y0,
                        int scale)
{
    size_t nc = (size_t)im->channels, s = (size_t)scale;
    size_t stride = (size_t)out->width * nc, run = (size_t)im->width * s * nc;
    for (size_t y = 0; y < (size_t)im->height; y++) {
        unsigned char *dst = out->data + (y0 + y * s) * stride + x0 * nc;
        const unsigned char *src = im->data + y * (size_t)im->width * nc;
        for (size_t x = 0; x < (size_t)im->width; x++)
            for (size_t k = 0; k < s; k++)
                memcpy(dst + (x * s + k) * nc, src + x * nc, nc);
        for (size_t k = 1; k < s; k++)
            memcpy(dst + k * stride, dst, run);
    }
}

/* Draw the labels (NUL-separated in text, n of them, the widest maxw
 * pixels at font scale fs) right-aligned in the first lab columns of out,
 * one character's advance from either side, one per row of cells cell
 * pixels high.  0 or ERR_IO. */
static int draw_labels(img_image *out, int lab, const char *text, int n, int maxw,
                       int fs, int cell, int pad)
{
    plot_canvas c;
    int rc = plot_canvas_init(&c, lab, out->height, PAPER);
    if (rc < 0)
        return rc;
    for (int j = 0; j < n; j++, text += strlen(text) + 1) {
        int x = PLOT_ADVANCE * fs + maxw - plot_text_width(text, fs);
        int y = pad + j * (cell + pad) + (cell - (PLOT_GLYPH_H - 1) * fs) / 2;
        plot_text(&c, x, y, text, fs, INK);
    }
    size_t nc = (size_t)out->channels;
    for (size_t y = 0; y < (size_t)c.height; y++)
        for (size_t x = 0; x < (size_t)c.width; x++) {
            const unsigned char *p = c.px + 3 * (y * (size_t)c.width + x);
            unsigned char *d = out->data + (y * (size_t)out->width + x) * nc;
            /* Black on white, so grey is any of the three; alpha stays 255. */
            memcpy(d, p, nc >= 3 ? 3 : 1);
        }
    plot_canvas_free(&c);
    return 0;
}

int sheet_render(const float *src, uint64_t n, int channels, int height,
                 int width, const sheet_layout *l, img_image *out)
{
    memset(out, 0, sizeof *out);
    int cols = l->cols, pad = l->pad, scale = l->scale;
    if (channels < 1 || channels > 4)
        return err_set(ERR_USAGE, "%d channels: an image has 1 to 4", channels);
    if (n == 0)
        return err_set(ERR_USAGE, "a contact sheet needs at least one image");
    if (cols < 1 || pad < 0 || scale < 1 || scale > SHEET_SCALE_MAX)
        return err_set(ERR_USAGE, "contact sheet of %d columns, %d pixels of padding "
                       "and pixels scaled %d times (1 to %d)", cols, pad, scale,
                       SHEET_SCALE_MAX);
    if (height < 1 || width < 1 || height > IMG_DIM_MAX || width > IMG_DIM_MAX ||
        pad > IMG_DIM_MAX || cols > IMG_DIM_MAX)
        return err_set(ERR_DATA, "contact sheet of %dx%d images with %d pixels of "
                       "padding is too large", width, height, pad);
    int nlabels = 0;
    if (l->labels && (nlabels = sheet_labels_count(l->labels)) < 0)
        return nlabels;
    /* Every operand is now at most 65535 (scale 64), so these cannot overflow. */
    uint64_t rows = n / (uint64_t)cols + (n % (uint64_t)cols != 0);
    if (rows > IMG_DIM_MAX)
        return err_set(ERR_DATA, "contact sheet of %llu rows is too tall",
                       (unsigned long long)rows);
    if ((uint64_t)nlabels > rows)
        return err_set(ERR_USAGE, "%d row labels for a sheet of %llu row%s", nlabels,
                       (unsigned long long)rows, rows == 1 ? "" : "s");
    uint64_t cw = (uint64_t)width * (uint64_t)scale, ch = (uint64_t)height * (uint64_t)scale;
    int fs = sheet_font_scale(height, scale);
    uint64_t maxw = 0, lab = 0;
    if (nlabels) {
        /* Widths from lengths (a label may be longer than an int of pixels). */
        for (const char *p = l->labels; *p;) {
            size_t len = strcspn(p, ",");
            uint64_t tw = len ? (uint64_t)len * PLOT_ADVANCE * (uint64_t)fs - (uint64_t)fs : 0;
            maxw = tw > maxw ? tw : maxw;
            p += len + (p[len] == ',');
        }
        lab = maxw + 2 * (uint64_t)(PLOT_ADVANCE * fs);
    }
    uint64_t sw = lab + (uint64_t)cols * cw + (uint64_t)(cols + 1) * (uint64_t)pad;
    uint64_t sh = rows * ch + (rows + 1) * (uint64_t)pad;
    if (sw > IMG_DIM_MAX || sh > IMG_DIM_MAX ||
        sw * sh * (uint64_t)channels > IMG_BYTES_MAX)
        return err_set(ERR_DATA, "contact sheet of %llux%llu pixels exceeds %d pixels "
                       "a side or %zu bytes", (unsigned long long)sw,
                       (unsigned long long)sh, IMG_DIM_MAX, IMG_BYTES_MAX);
    size_t bytes = (size_t)(sw * sh * (uint64_t)channels);
    if (!(out->data = mem_alloc_array(bytes, 1)))
        return ERR_IO;
    out->width = (int)sw, out->height = (int)sh;
    out->channels = channels, out->depth = 8;
    memset(out->data, 255, bytes);
    size_t per = (size_t)channels * (size_t)height * (size_t)width;
    for (uint64_t i = 0; i < n; i++) {
        img_image im;
        int rc = img_from_f32_chw(src + (size_t)i * per, channels, height, width, 8, &im);
        if (rc < 0) {
            img_free(out);
            return rc;
        }
        size_t x0 = (size_t)lab + (size_t)pad + (size_t)(i % (uint64_t)cols) * (size_t)(cw + (uint64_t)pad);
        size_t y0 = (size_t)pad + (size_t)(i / (uint64_t)cols) * (size_t)(ch + (uint64_t)pad);
        blit_scaled(out, &im, x0, y0, scale);
        img_free(&im);
    }
    if (nlabels) {
        /* The labels NUL-separated, for plot_text. */
        char *text = strdup(l->labels);
        if (!text) {
            img_free(out);
            return err_set(ERR_IO, "out of memory");
        }
        for (char *p = text; (p = strchr(p, ','));)
            *p++ = '\0';
        int rc = draw_labels(out, (int)lab, text, nlabels, (int)maxw, fs, (int)ch, pad);
        free(text);
        if (rc < 0) {
            img_free(out);
            return rc;
        }
    }
    return 0;
}
