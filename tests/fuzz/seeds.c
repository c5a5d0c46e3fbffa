/* seeds.c - writes the fuzzers' seed corpora: small valid inputs from the
 * project's own writers, so fuzzing starts from deep inside each format.
 * Usage: seeds DIR; fills DIR/corpus-tz, DIR/corpus-img and DIR/corpus-npy
 * (which must exist).  scripts/fuzz adds numpy's own files to the last. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "base/err.h"
#include "formats/img.h"
#include "formats/npy.h"
#include "formats/tz.h"

static const char *g_dir;

static void die(const char *what)
{
    fprintf(stderr, "seeds: %s: %s\n", what, err_msg());
    exit(1);
}

static void put(const char *sub, const char *name, const void *buf, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus-%s/%s", g_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* A stream of n small records at zstd level (0: raw). */
static void tz_seed(const char *name, int level, int n, int plain)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus-tz/%s", g_dir, name);
    tz_writer *w = tz_writer_open(path, level);
    if (!w)
        die(path);
    for (int i = 0; i < n; i++) {
        tz_record rec;
        tz_record_init(&rec, plain ? TZ_PLAIN : TZ_BATCH);
        uint64_t d2[2] = { 2, 3 }, d1[1] = { 2 };
        tz_tensor *x = tz_record_add(&rec, "x", TZ_F32, 2, d2, NULL);
        tz_tensor *y = tz_record_add(&rec, "y", TZ_I32, 1, d1, NULL);
        if (!x || !y)
            die("tz_record_add");
        for (int k = 0; k < 6; k++)
            ((float *)x->data)[k] = (float)(k + i) * 0.5f;
        ((int *)y->data)[0] = i;
        if (plain && !tz_record_add(&rec, "s", TZ_U8, 0, NULL, NULL))
            die("tz_record_add");
        if (tz_record_set_attr(&rec, "op", "seed") < 0 || tz_write(w, &rec) < 0)
            die("tz_write");
        tz_record_free(&rec);
    }
    if (tz_writer_close(w) < 0)
        die("tz_writer_close");
}

static void img_seed(int w, int h, int c, int depth, int jpeg_quality)
{
    img_image im = { w, h, c, depth, NULL };
    size_t n = (size_t)w * (size_t)h * (size_t)c * (size_t)(depth / 8);
    im.data = malloc(n);
    for (size_t i = 0; i < n; i++)
        im.data[i] = (unsigned char)(i * 7 + i / 13);
    unsigned char *out;
    size_t len;
    char name[64];
    if (img_png_encode(&im, &out, &len) < 0)
        die("img_png_encode");
    snprintf(name, sizeof name, "%dx%dx%d-%d.png", w, h, c, depth);
    put("img", name, out, len);
    free(out);
    if (jpeg_quality) {
        if (img_jpeg_encode(&im, jpeg_quality, &out, &len) < 0)
            die("img_jpeg_encode");
        snprintf(name, sizeof name, "%dx%dx%d-q%d.jpg", w, h, c, jpeg_quality);
        put("img", name, out, len);
        free(out);
    }
    img_free(&im);
}

/* A PNG of a layout our encoder never writes (palette, low bit depths,
 * tRNS, interlacing), straight from libpng, of a fixed sample pattern. */
static void png_seed(const char *name, int w, int h, int bits, int type,
                     int interlace, int with_trns)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus-img/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!f || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "seeds: cannot write %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bits, type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[4] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 9, 9, 9 } };
    png_byte alpha[2] = { 0, 128 };
    png_color_16 key = { 0, 0, 0, 0, 1 };
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(png, info, pal, 4);
    if (with_trns)
        png_set_tRNS(png, info, alpha, type == PNG_COLOR_TYPE_PALETTE ? 2 : 0, &key);
    png_write_info(png, info);
    int channels = type == PNG_COLOR_TYPE_RGB ? 3 : 1;
    size_t stride = ((size_t)w * (size_t)channels * (size_t)bits + 7) / 8;
    png_bytep row = malloc(stride);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            for (size_t i = 0; i < stride; i++)
                row[i] = (png_byte)(type == PNG_COLOR_TYPE_PALETTE
                                    ? (bits == 8 ? (i + (size_t)y) % 4 : 0x12)
                                    : i * 17 + (size_t)y);
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

/* A progressive JPEG (several scans), straight from libjpeg; its errors
 * exit the program, which is what a seed generator wants. */
static void jpeg_progressive_seed(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus-img/progressive.jpg", g_dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 19;
    c.image_height = 13;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[19 * 3];
    for (int i = 0; i < 19 * 3; i++)
        row[i] = (unsigned char)(i * 5);
    JSAMPROW r = row;
    while (c.next_scanline < c.image_height)
        jpeg_write_scanlines(&c, &r, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void npy_seed(const char *name, int dtype, int rank, const uint64_t *dims,
                     size_t bytes)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus-npy/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || npy_write_header(f, dtype, rank, dims) < 0)
        die(path);
    for (size_t i = 0; i < bytes; i++)
        fputc((int)(i * 31), f);
    if (fclose(f) != 0)
        die(path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 1;
    }
    g_dir = argv[1];
    tz_seed("raw.tz", 0, 2, 0);
    tz_seed("zstd.tz", 1, 2, 0);
    tz_seed("plain.tz", 0, 1, 1);
    tz_seed("empty.tz", 0, 0, 0);
    img_seed(8, 8, 1, 8, 80);
    img_seed(17, 9, 3, 8, 50);
    img_seed(5, 4, 2, 8, 0);
    img_seed(6, 3, 4, 16, 0);
    jpeg_progressive_seed();
    png_seed("pal4-trns.png", 7, 5, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, 1);
    png_seed("pal8-adam7.png", 9, 9, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_ADAM7, 0);
    png_seed("grey2-adam7.png", 11, 6, 2, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, 0);
    png_seed("grey16-trns.png", 4, 3, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, 1);
    png_seed("rgb8-adam7-trns.png", 10, 7, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, 1);
    uint64_t d[3] = { 3, 4, 2 };
    npy_seed("f32.npy", TZ_F32, 2, d, 3 * 4 * 4);
    npy_seed("u8.npy", TZ_U8, 3, d, 3 * 4 * 2);
    npy_seed("scalar.npy", TZ_I64, 0, d, 8);
    return 0;
}
