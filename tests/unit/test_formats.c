/* test_formats.c - the interchange formats: PNG and JPEG round trips and
 * rejection of damaged images, tensors to images and the contact sheet,
 * .npy against numpy's own bytes, idx against Debian's Fashion-MNIST files,
 * CSV, and a stream's fields exported to them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "formats/csv.h"
#include "base/err.h"
#include "formats/batch.h"
#include "formats/export.h"
#include "formats/idx.h"
#include "formats/img.h"
#include "formats/npy.h"
#include "base/rng.h"
#include "formats/tz.h"
#include "eval/sheet.h"

#define PY "/usr/bin/python3"
#define FMNIST "/usr/share/datasets/fashion-mnist/"

/* ---- helpers --------------------------------------------------------- */

/* The whole file at path in a new buffer (caller frees), or NULL. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    *len = n;
    return buf;
}

static int spit(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(buf, 1, len, f);
    return fclose(f) == 0 && put == len ? 0 : -1;
}

/* A fresh temporary directory; static storage. */
static const char *tmp_dir(void)
{
    static char dir[64];
    strcpy(dir, "/tmp/fmt-unit-XXXXXX");
    return mkdtemp(dir);
}

static void rm_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* An image of random samples. */
static void random_image(img_image *im, int w, int h, int c, int depth,
                         uint32_t stream)
{
    rng_t r;
    rng_init(&r, 7, stream, 0);
    im->width = w;
    im->height = h;
    im->channels = c;
    im->depth = depth;
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    im->data = malloc(n * (size_t)(depth / 8));
    if (depth == 16)
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)(void *)im->data)[i] = (uint16_t)rng_u32(&r);
    else
        for (size_t i = 0; i < n; i++)
            im->data[i] = (unsigned char)rng_u32(&r);
}

static int same_image(const img_image *a, const img_image *b)
{
    return a->width == b->width && a->height == b->height &&
           a->channels == b->channels && a->depth == b->depth &&
           memcmp(a->data, b->data, img_bytes(a)) == 0;
}

/* ---- PNG ------------------------------------------------------------- */

void test_img_png_roundtrip(void)
{
    for (int depth = 8; depth <= 16; depth += 8)
        for (int c = 1; c <= 4; c++) {
            img_image im, got;
            random_image(&im, 37, 23, c, depth, (uint32_t)(depth * 10 + c));
            unsigned char *png;
            size_t len;
            CHECK(img_png_encode(&im, &png, &len) == 0);
            CHECK(img_png_decode(png, len, &got) == 0);
            CHECK(same_image(&im, &got));
            img_free(&got);
            /* img_decode sniffs the same bytes as a PNG. */
            CHECK(img_decode(png, len, &got) == 0);
            CHECK(same_image(&im, &got));
            img_free(&got);
            free(png);
            img_free(&im);
        }
    /* Encoding refuses what PNG cannot hold. */
    img_image bad = { 4, 4, 5, 8, NULL };
    unsigned char *out;
    size_t len;
    CHECK(img_png_encode(&bad, &out, &len) == ERR_USAGE);
    bad.channels = 3;
    bad.depth = 12;
    CHECK(img_png_encode(&bad, &out, &len) == ERR_USAGE);
}

/* Append a PNG chunk to p; returns the end. */
static unsigned char *put_chunk(unsigned char *p, const char *type,
                                const unsigned char *d, uint32_t n)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(n >> (24 - 8 * i));
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, d, n);
    uint32_t crc = (uint32_t)crc32(0, p + 4, 4 + n);
    for (int i = 0; i < 4; i++)
        p[8 + n + i] = (unsigned char)(crc >> (24 - 8 * i));
    return p + 12 + n;
}

/* A PNG built by hand, for the layouts our encoder never writes: raw holds
 * the filtered rows (filter byte 0 first), plte/trns may be NULL.  Returns
 * the length written to out (4 KiB is plenty here). */
static size_t hand_png(unsigned char *out, int w, int h, int bits, int type,
                       const unsigned char *raw, size_t raw_len,
                       const unsigned char *plte, uint32_t plte_len,
                       const unsigned char *trns, uint32_t trns_len)
{
    unsigned char ihdr[13] = { 0, 0, 0, (unsigned char)w, 0, 0, 0, (unsigned char)h,
                               (unsigned char)bits, (unsigned char)type, 0, 0, 0 };
    unsigned char z[1024];
    uLongf zlen = sizeof z;
    CHECK(compress(z, &zlen, raw, (uLong)raw_len) == Z_OK);
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    unsigned char *p = put_chunk(out + 8, "IHDR", ihdr, 13);
    if (plte)
        p = put_chunk(p, "PLTE", plte, plte_len);
    if (trns)
        p = put_chunk(p, "tRNS", trns, trns_len);
    p = put_chunk(p, "IDAT", z, (uint32_t)zlen);
    p = put_chunk(p, "IEND", NULL, 0);
    return (size_t)(p - out);
}

/* Palettes become RGB (RGBA with tRNS); grey below 8 bits becomes 8-bit. */
void test_img_png_expand(void)
{
    unsigned char png[4096];
    img_image got;
    /* 2-bit grey, 5x2: samples 0 1 2 3 0 / 3 2 1 0 3, scaled by 85. */
    static const unsigned char grey2[] = { 0, 0x1B, 0x00, 0, 0xE4, 0xC0 };
    static const unsigned char grey8[] = { 0, 85, 170, 255, 0, 255, 170, 85, 0, 255 };
    size_t len = hand_png(png, 5, 2, 2, 0, grey2, sizeof grey2, NULL, 0, NULL, 0);
    CHECK(img_png_decode(png, len, &got) == 0);
    CHECK(got.width == 5 && got.height == 2 && got.channels == 1 && got.depth == 8);
    CHECK(got.data && memcmp(got.data, grey8, sizeof grey8) == 0);
    img_free(&got);
    /* An 8-bit palette, 3x1, pixels 2 0 1. */
    static const unsigned char plte[9] = { 255, 0, 0, 0, 255, 0, 0, 0, 255 };
    static const unsigned char idx[] = { 0, 2, 0, 1 };
    static const unsigned char rgb[9] = { 0, 0, 255, 255, 0, 0, 0, 255, 0 };
    len = hand_png(png, 3, 1, 8, 3, idx, sizeof idx, plte, 9, NULL, 0);
    CHECK(img_png_decode(png, len, &got) == 0);
    CHECK(got.channels == 3 && got.depth == 8);
    CHECK(got.data && memcmp(got.data, rgb, 9) == 0);
    img_free(&got);
    /* The same with tRNS giving entry 0 alpha 128: the others are opaque. */
    static const unsigned char trns[1] = { 128 };
    static const unsigned char rgba[12] = { 0, 0, 255, 255, 255, 0, 0, 128,
                                            0, 255, 0, 255 };
    len = hand_png(png, 3, 1, 8, 3, idx, sizeof idx, plte, 9, trns, 1);
    CHECK(img_png_decode(png, len, &got) == 0);
    CHECK(got.channels == 4 && got.depth == 8);
    CHECK(got.data && memcmp(got.data, rgba, 12) == 0);
    img_free(&got);
    /* A 1-bit palette image: 10x1, alternating entries 1 and 0. */
    static const unsigned char bits1[] = { 0, 0xAA, 0x80 };
    len = hand_png(png, 10, 1, 1, 3, bits1, sizeof bits1, plte, 6, NULL, 0);
    CHECK(img_png_decode(png, len, &got) == 0);
    CHECK(got.channels == 3 && got.width == 10 && got.data &&
          memcmp(got.data, plte + 3, 3) == 0 && memcmp(got.data + 3, plte, 3) == 0 &&
          memcmp(got.data + 27, plte, 3) == 0);
    img_free(&got);
    /* A pixel that indexes past the palette is corrupt. */
    len = hand_png(png, 3, 1, 8, 3, idx, sizeof idx, plte, 6, NULL, 0);
    CHECK(img_png_decode(png, len, &got) == ERR_DATA);
    CHECK(strstr(err_msg(), "palette") != NULL && got.data == NULL);
}

/* u8 -> f32 -> u8 is exact, through the tensor layout and through PNG. */
void test_img_f32_exact(void)
{
    img_image im, back, dec;
    random_image(&im, 19, 11, 3, 8, 99);
    size_t n = img_bytes(&im);
    float *f = malloc(n * sizeof *f);
    img_to_f32_chw(&im, f);
    /* (c, h, w) layout: channel 1 of pixel (y=2, x=5). */
    CHECK(f[1 * 19 * 11 + 2 * 19 + 5] == (float)im.data[(2 * 19 + 5) * 3 + 1] / 255.0f);
    CHECK(img_from_f32_chw(f, 3, 11, 19, 8, &back) == 0);
    CHECK(same_image(&im, &back));
    unsigned char *png;
    size_t len;
    CHECK(img_png_encode(&back, &png, &len) == 0);
    CHECK(img_decode(png, len, &dec) == 0);
    float *g = malloc(n * sizeof *g);
    img_to_f32_chw(&dec, g);
    CHECK(memcmp(f, g, n * sizeof *f) == 0);
    free(png);
    img_free(&dec);
    img_free(&back);

    /* The u8 tensor path gives the same image. */
    unsigned char *chw = malloc(n);
    for (size_t i = 0; i < n; i++)
        chw[i] = (unsigned char)lrintf(f[i] * 255.0f);
    CHECK(img_from_u8_chw(chw, 3, 11, 19, &back) == 0);
    CHECK(same_image(&im, &back));
    img_free(&back);
    free(chw);

    /* 16 bits: u16 -> f32 -> u16 is exact too. */
    img_image im16;
    random_image(&im16, 13, 7, 2, 16, 98);
    float *h = malloc(img_bytes(&im16) / 2 * sizeof *h);
    img_to_f32_chw(&im16, h);
    CHECK(img_from_f32_chw(h, 2, 7, 13, 16, &back) == 0);
    CHECK(same_image(&im16, &back));
    img_free(&back);
    free(h);
    img_free(&im16);

    /* Clamping, and NaN as 0. */
    float odd[6] = { -0.5f, 2.0f, NAN, 0.5f, 1.0f / 510.0f, INFINITY };
    CHECK(img_from_f32_chw(odd, 1, 2, 3, 8, &back) == 0);
    CHECK(back.data[0] == 0 && back.data[1] == 255 && back.data[2] == 0);
    CHECK(back.data[3] == 128 && back.data[5] == 255);
    img_free(&back);
    CHECK(img_from_f32_chw(odd, 5, 1, 1, 8, &back) == ERR_USAGE);
    CHECK(img_from_f32_chw(odd, 1, 70000, 1, 8, &back) == ERR_DATA);
    free(g);
    free(f);
    img_free(&im);
}

/* Every truncation and every single-bit flip of a PNG is refused: each
 * chunk carries a CRC, and the decoder reads on to IEND. */
void test_img_png_rejects(void)
{
    img_image im, got;
    random_image(&im, 9, 5, 4, 8, 3);
    unsigned char *png;
    size_t len;
    CHECK(img_png_encode(&im, &png, &len) == 0);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = img_png_decode(png, cut, &got);
        accepted += rc != ERR_DATA;
        CHECK(got.data == NULL);
        img_free(&got);
    }
    CHECK(accepted == 0);
    for (size_t bit = 0; bit < 8 * len; bit++) {
        png[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        int rc = img_png_decode(png, len, &got);
        if (rc != ERR_DATA)
            fprintf(stderr, "  flipped bit %zu accepted\n", bit);
        accepted += rc != ERR_DATA;
        img_free(&got);
        png[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    CHECK(accepted == 0);
    CHECK(img_png_decode(png, len, &got) == 0);
    img_free(&got);
    /* The message names the reason. */
    CHECK(img_png_decode(png, len - 20, &got) == ERR_DATA);
    CHECK(strstr(err_msg(), "truncated") != NULL);
    /* Not an image at all. */
    CHECK(img_decode((const unsigned char *)"GIF89a", 6, &got) == ERR_DATA);
    CHECK(strcmp(err_msg(), "not a PNG or JPEG image") == 0);
    CHECK(img_decode(png, 0, &got) == ERR_DATA);
    free(png);
    img_free(&im);
}

/* A 1x1 PNG that declares 70000 pixels a side or more than 1 GiB is refused
 * from its header, before the pixels are allocated. */
void test_img_png_caps(void)
{
    img_image im, got;
    random_image(&im, 1, 1, 1, 8, 4);
    unsigned char *png;
    size_t len;
    CHECK(img_png_encode(&im, &png, &len) == 0);
    /* IHDR data starts at byte 16: width, height (big-endian); CRC at 29. */
    static const uint32_t sizes[][2] = { { 70000, 1 }, { 1, 70000 },
                                         { 65535, 65535 } };
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 4; i++) {
            png[16 + i] = (unsigned char)(sizes[k][0] >> (24 - 8 * i));
            png[20 + i] = (unsigned char)(sizes[k][1] >> (24 - 8 * i));
        }
        uint32_t crc = (uint32_t)crc32(0, png + 12, 17);
        for (int i = 0; i < 4; i++)
            png[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
        CHECK(img_png_decode(png, len, &got) == ERR_DATA);
        CHECK(got.data == NULL);
    }
    CHECK(strstr(err_msg(), "cap") != NULL);
    free(png);
    img_free(&im);
}

/* ---- JPEG ------------------------------------------------------------ */

/* A smooth RGB test image: low-frequency sinusoids, the kind of content
 * JPEG is built for. */
static void smooth_image(img_image *im, int w, int h, int c)
{
    im->width = w;
    im->height = h;
    im->channels = c;
    im->depth = 8;
    im->data = malloc((size_t)w * (size_t)h * (size_t)c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = 128 + 90 * sin(x / (7.0 + 3 * k) + y / 11.0) *
                           cos(y / (13.0 - 2 * k));
                im->data[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)k] =
                    (unsigned char)lrint(v);
            }
}

static double psnr(const img_image *a, const img_image *b)
{
    double se = 0;
    size_t n = img_bytes(a);
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->data[i] - b->data[i];
        se += d * d;
    }
    return se == 0 ? 99 : 10 * log10(255.0 * 255.0 / (se / (double)n));
}

/* The PSNR floors.  JPEG's error is mostly quantisation noise: a step of
 * D in a DCT coefficient costs about D^2/12 of mean squared error, and on
 * this smooth image only a few low-frequency coefficients per block are
 * non-zero.  libjpeg's luma steps for those are 2-5 at q=90, 8-20 at q=50
 * and 40-100 at q=10, so PSNR falls by roughly 6 dB per halving of quality
 * from the mid-40s; 4:2:0 chroma costs a few dB more for RGB.  Measured
 * with libjpeg-turbo 2.1: grey 32.9 / 42.7 / 50.7 dB and RGB 27.1 / 36.8 /
 * 42.8 dB at q = 10 / 50 / 90.  The floors sit 2-5 dB below the RGB figures,
 * room for another DCT implementation's rounding, while a broken codec
 * lands under the q=90 floor: shifting this image by one pixel alone gives
 * 32-37 dB, and a wrong colour conversion or a lost chroma plane far less. */
void test_img_jpeg_quality(void)
{
    static const int q[3] = { 10, 50, 90 };
    static const double floor_db[3] = { 25, 32, 38 };
    for (int c = 1; c <= 3; c += 2) {
        img_image im;
        smooth_image(&im, 96, 64, c);
        double last = 0;
        for (int k = 0; k < 3; k++) {
            unsigned char *jpg, *again;
            size_t len, len2;
            img_image got;
            CHECK(img_jpeg_encode(&im, q[k], &jpg, &len) == 0);
            /* Deterministic: the same pixels give the same bytes. */
            CHECK(img_jpeg_encode(&im, q[k], &again, &len2) == 0);
            CHECK(len == len2 && memcmp(jpg, again, len) == 0);
            free(again);
            CHECK(img_decode(jpg, len, &got) == 0);
            CHECK(got.width == 96 && got.height == 64 && got.channels == c &&
                  got.depth == 8);
            double p = psnr(&im, &got);
            CHECK(p >= floor_db[k]);
            CHECK(p > last);
            last = p;
            img_free(&got);
            free(jpg);
        }
        img_free(&im);
    }
    img_image im;
    smooth_image(&im, 8, 8, 3);
    unsigned char *out;
    size_t len;
    CHECK(img_jpeg_encode(&im, 0, &out, &len) == ERR_USAGE);
    CHECK(img_jpeg_encode(&im, 101, &out, &len) == ERR_USAGE);
    im.channels = 4;
    CHECK(img_jpeg_encode(&im, 50, &out, &len) == ERR_USAGE);
    img_free(&im);
}

/* Truncated JPEGs are refused (libjpeg would pad them with grey), and so
 * are ones whose structure was damaged.  JPEG has no checksum: a flipped
 * bit inside the entropy-coded data mostly decodes to a slightly different
 * valid image (Huffman codes resynchronise), so damage is tested where the
 * decoder can see it: markers, segment lengths, and stray markers in the
 * scan. */
void test_img_jpeg_rejects(void)
{
    img_image im, got;
    smooth_image(&im, 64, 48, 3);
    unsigned char *jpg;
    size_t len;
    CHECK(img_jpeg_encode(&im, 75, &jpg, &len) == 0);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = img_jpeg_decode(jpg, cut, &got);
        accepted += rc != ERR_DATA;
        CHECK(got.data == NULL);
        img_free(&got);
    }
    CHECK(accepted == 0);
    CHECK(img_jpeg_decode(jpg, len - 2, &got) == ERR_DATA);   /* no EOI */
    CHECK(strstr(err_msg(), "Premature end") != NULL);

    /* Walk the marker segments up to the scan. */
    size_t at = 2, sos = 0;
    int segments = 0;
    while (at + 3 < len && jpg[at] == 0xFF) {
        unsigned char code = jpg[at + 1];
        size_t seg = (size_t)jpg[at + 2] << 8 | jpg[at + 3];
        /* Its length made enormous: the segment runs past the end. */
        jpg[at + 2] ^= 0x80;
        CHECK(img_jpeg_decode(jpg, len, &got) == ERR_DATA);
        jpg[at + 2] ^= 0x80;
        /* Its marker code damaged where that cannot be benign. */
        if (code == 0xC0 || code == 0xDA || code == 0xDB) {
            jpg[at + 1] ^= 0x20;    /* SOF0, SOS, DQT -> E0, FA, FB */
            CHECK(img_jpeg_decode(jpg, len, &got) == ERR_DATA);
            jpg[at + 1] ^= 0x20;
        }
        segments++;
        at += 2 + seg;
        if (code == 0xDA) {
            sos = at;
            break;
        }
    }
    CHECK(segments >= 5 && sos > 0 && sos < len - 2);
    /* A SOF that declares 65500x65500 RGB, beyond the 1 GiB cap. */
    for (size_t i = 2; i + 8 < sos; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            unsigned char save[4];
            memcpy(save, jpg + i + 5, 4);
            jpg[i + 5] = jpg[i + 7] = 0xFF;
            jpg[i + 6] = jpg[i + 8] = 0xDC;
            CHECK(img_jpeg_decode(jpg, len, &got) == ERR_DATA);
            CHECK(strstr(err_msg(), "cap") != NULL);
            CHECK(got.data == NULL);
            memcpy(jpg + i + 5, save, 4);
            break;
        }
    jpg[0] ^= 0x01;
    CHECK(img_jpeg_decode(jpg, len, &got) == ERR_DATA);
    jpg[0] ^= 0x01;
    jpg[1] ^= 0x01;
    CHECK(img_jpeg_decode(jpg, len, &got) == ERR_DATA);
    jpg[1] ^= 0x01;

    /* Stray markers spread through the scan: an early EOI, a restart
     * marker in a file without restart intervals. */
    static const unsigned char stray[2] = { 0xD9, 0xD3 };
    for (int k = 0; k < 16; k++) {
        size_t p = sos + (len - 4 - sos) * (size_t)k / 16;
        unsigned char save[2] = { jpg[p], jpg[p + 1] };
        jpg[p] = 0xFF;
        jpg[p + 1] = stray[k % 2];
        int rc = img_jpeg_decode(jpg, len, &got);
        if (rc != ERR_DATA)
            fprintf(stderr, "  stray marker at %zu accepted\n", p);
        accepted += rc != ERR_DATA;
        img_free(&got);
        jpg[p] = save[0];
        jpg[p + 1] = save[1];
    }
    CHECK(accepted == 0);
    CHECK(img_jpeg_decode(jpg, len, &got) == 0);
    CHECK(got.channels == 3 && psnr(&im, &got) > 30);
    img_free(&got);
    free(jpg);
    img_free(&im);
}

void test_img_read_file(void)
{
    img_image im, got;
    random_image(&im, 6, 5, 3, 8, 5);
    unsigned char *png;
    size_t len;
    CHECK(img_png_encode(&im, &png, &len) == 0);
    char path[64];
    strcpy(path, "/tmp/fmt-unit-XXXXXX");
    close(mkstemp(path));
    CHECK(spit(path, png, len) == 0);
    CHECK(img_read_file(path, &got) == 0);
    CHECK(same_image(&im, &got));
    img_free(&got);
    /* Damage: the message starts with the path. */
    CHECK(spit(path, png, len / 2) == 0);
    CHECK(img_read_file(path, &got) == ERR_DATA);
    CHECK(strncmp(err_msg(), path, strlen(path)) == 0 &&
          strstr(err_msg(), "truncated") != NULL);
    CHECK(spit(path, "hello", 5) == 0);
    CHECK(img_read_file(path, &got) == ERR_DATA);
    CHECK(strstr(err_msg(), ": not a PNG or JPEG image") != NULL);
    unlink(path);
    CHECK(img_read_file(path, &got) == ERR_IO);
    CHECK(strstr(err_msg(), "cannot open: No such file") != NULL);
    CHECK(got.data == NULL);
    free(png);
    img_free(&im);
}

/* ---- contact sheet --------------------------------------------------- */

/* sheet_render without labels, at pixel scale 1 unless said. */
static int plain_sheet(const float *src, uint64_t n, int c, int h, int w, int cols, int pad,
                       img_image *out)
{
    sheet_layout l = { cols, pad, 1, NULL };
    return sheet_render(src, n, c, h, w, &l, out);
}

void test_sheet_render(void)
{
    enum { N = 5, C = 3, H = 4, W = 6, COLS = 3, PAD = 2 };
    float *src = malloc(sizeof(float) * N * C * H * W);
    for (int i = 0; i < N * C * H * W; i++)
        src[i] = (float)(i % 200) / 255.0f;
    img_image s;
    CHECK(plain_sheet(src, N, C, H, W, COLS, PAD, &s) == 0);
    CHECK(s.width == COLS * W + (COLS + 1) * PAD);
    CHECK(s.height == 2 * H + 3 * PAD);
    CHECK(s.channels == C && s.depth == 8);
    int pad_ok = 1, img_ok = 1;
    for (int y = 0; y < s.height; y++)
        for (int x = 0; x < s.width; x++) {
            int gx = x - PAD, gy = y - PAD;
            int in_x = gx >= 0 && gx % (W + PAD) < W, in_y = gy >= 0 && gy % (H + PAD) < H;
            int i = in_x && in_y ? gy / (H + PAD) * COLS + gx / (W + PAD) : -1;
            for (int ch = 0; ch < C; ch++) {
                unsigned char v = s.data[((size_t)y * (size_t)s.width + (size_t)x) * C + (size_t)ch];
                if (i < 0 || i >= N) {
                    pad_ok &= v == 255;   /* padding and the empty sixth cell */
                } else {
                    int yy = gy % (H + PAD), xx = gx % (W + PAD);
                    int want = (((i * C + ch) * H + yy) * W + xx) % 200;
                    img_ok &= v == want;
                }
            }
        }
    CHECK(pad_ok);
    CHECK(img_ok);
    img_free(&s);
    CHECK(plain_sheet(src, 0, C, H, W, COLS, PAD, &s) == ERR_USAGE);
    CHECK(plain_sheet(src, N, C, H, W, 0, PAD, &s) == ERR_USAGE);
    CHECK(plain_sheet(src, (uint64_t)1 << 40, C, H, W, COLS, PAD, &s) == ERR_DATA);
    CHECK(plain_sheet(src, 1, C, H, W, 1, 0, &s) == 0);
    CHECK(s.width == W && s.height == H);
    img_free(&s);
    /* at scale 3 each pixel is a 3x3 block; the padding is not scaled */
    sheet_layout l3 = { COLS, PAD, 3, NULL };
    img_image one, big;
    CHECK(plain_sheet(src, N, C, H, W, COLS, PAD, &one) == 0);
    CHECK(sheet_render(src, N, C, H, W, &l3, &big) == 0);
    CHECK(big.width == COLS * W * 3 + (COLS + 1) * PAD && big.height == 2 * H * 3 + 3 * PAD);
    int blocks_ok = 1;
    for (size_t y = 0; y < H * 3; y++)
        for (size_t x = 0; x < W * 3; x++)
            for (size_t ch = 0; ch < C; ch++) {
                size_t b = ((PAD + y) * (size_t)big.width + PAD + x) * C + ch;
                size_t o = ((PAD + y / 3) * (size_t)one.width + PAD + x / 3) * C + ch;
                blocks_ok &= big.data[b] == one.data[o];
            }
    CHECK(blocks_ok);
    img_free(&one);
    img_free(&big);
    free(src);
}

/* ---- npy ------------------------------------------------------------- */

/* Element i of the test arrays: i % 251, which every dtype holds. */
static void fill_values(void *data, int dtype, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = (int)(i % 251);
        switch (dtype) {
        case TZ_F32: ((float *)data)[i] = (float)v; break;
        case TZ_F64: ((double *)data)[i] = v; break;
        case TZ_U8: ((unsigned char *)data)[i] = (unsigned char)v; break;
        case TZ_I32: ((int32_t *)data)[i] = v; break;
        case TZ_I64: ((int64_t *)data)[i] = v; break;
        }
    }
}

void test_npy_numpy_bytes(void)
{
    static const struct {
        const char *np;         /* numpy dtype */
        int dtype;
        int rank;
        uint64_t dims[TZ_RANK_MAX];
        const char *shape;      /* Python tuple */
    } cases[] = {
        { "float32", TZ_F32, 2, { 3, 4 }, "(3, 4)" },
        { "float64", TZ_F64, 1, { 5 }, "(5,)" },
        { "int32", TZ_I32, 0, { 0 }, "()" },
        { "uint8", TZ_U8, 3, { 2, 3, 4 }, "(2, 3, 4)" },
        { "int64", TZ_I64, 1, { 0 }, "(0,)" },
        { "float32", TZ_F32, 8, { 1, 2, 1, 2, 1, 2, 1, 2 }, "(1, 2, 1, 2, 1, 2, 1, 2)" },
        { "int32", TZ_I32, 2, { 70001, 3 }, "(70001, 3)" },
        { "uint8", TZ_U8, 4, { 1, 1, 1, 1 }, "(1, 1, 1, 1)" },
    };
    const char *dir = tmp_dir();
    CHECK(dir != NULL);
    if (!dir)
        return;
    /* numpy writes the expected files; without numpy this test fails. */
    char cmd[4096];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, PY " -c \"import numpy as np\n"
                                "from numpy.lib import format as F\n");
    int ncases = (int)(sizeof cases / sizeof *cases);
    for (int k = 0; k < ncases; k++)
        n += (size_t)snprintf(cmd + n, sizeof cmd - n,
                              "a = (np.arange(int(np.prod(%s))) %% 251).astype('%s')"
                              ".reshape(%s)\n"
                              "np.save('%s/%d.npy', a)\n"
                              "F.write_array(open('%s/%d-v2.npy', 'wb'), a, (2, 0))\n"
                              "F.write_array(open('%s/%d-v3.npy', 'wb'), a, (3, 0))\n",
                              cases[k].shape, cases[k].np, cases[k].shape, dir, k,
                              dir, k, dir, k);
    snprintf(cmd + n, sizeof cmd - n, "\"");
    CHECK(n < sizeof cmd - 2);
    int rc = system(cmd);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "  " PY " cannot run numpy; this test needs it\n");
        rm_dir(dir);
        return;
    }
    for (int k = 0; k < ncases; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%d.npy", dir, k);
        size_t want_len;
        unsigned char *want = slurp(path, &want_len);
        CHECK(want != NULL);
        if (!want)
            continue;
        npy_header h = { cases[k].dtype, cases[k].rank, { 0 } };
        memcpy(h.dims, cases[k].dims, sizeof h.dims);
        size_t bytes;
        CHECK(npy_bytes(&h, &bytes) == 0);
        void *data = malloc(bytes ? bytes : 1);
        fill_values(data, cases[k].dtype, bytes / tz_dtype_size(cases[k].dtype));

        /* Our bytes: header then data. */
        char *mine;
        size_t mine_len;
        FILE *m = open_memstream(&mine, &mine_len);
        CHECK(npy_write_header(m, cases[k].dtype, cases[k].rank, cases[k].dims) == 0);
        fwrite(data, 1, bytes, m);
        fclose(m);
        CHECK(mine_len == want_len && memcmp(mine, want, want_len) == 0);
        if (mine_len != want_len || memcmp(mine, want, want_len) != 0)
            fprintf(stderr, "  case %d: npy bytes differ from numpy's\n", k);
        free(mine);

        /* The reader only reads forward: a pipe works. */
        snprintf(cmd, sizeof cmd, "cat '%s'", path);
        FILE *pipe = popen(cmd, "r");
        npy_header ph;
        void *pd;
        size_t pbytes;
        CHECK(pipe && npy_read(pipe, &ph, &pd, &pbytes) == 0);
        CHECK(pbytes == bytes && memcmp(pd, data, bytes) == 0);
        free(pd);
        if (pipe)
            pclose(pipe);

        /* numpy's files, every version, read back exactly. */
        static const char *suffix[3] = { "", "-v2", "-v3" };
        for (int v = 0; v < 3; v++) {
            snprintf(path, sizeof path, "%s/%d%s.npy", dir, k, suffix[v]);
            FILE *f = fopen(path, "rb");
            CHECK(f != NULL);
            if (!f)
                continue;
            npy_header got;
            void *gd;
            size_t gbytes;
            CHECK(npy_read(f, &got, &gd, &gbytes) == 0);
            CHECK(got.dtype == cases[k].dtype && got.rank == cases[k].rank);
            CHECK(memcmp(got.dims, cases[k].dims,
                         sizeof(uint64_t) * (size_t)cases[k].rank) == 0);
            CHECK(gbytes == bytes && gd && memcmp(gd, data, bytes) == 0);
            free(gd);
            fclose(f);
        }
        free(data);
        free(want);
    }
    rm_dir(dir);
}

/* A .npy file of version major.0 with header text hdr and dlen zero bytes
 * of data, in a new buffer (caller frees). */
static unsigned char *make_npy(int major, const char *hdr, size_t dlen, size_t *len)
{
    size_t hl = strlen(hdr), lb = major == 1 ? 2 : 4;
    *len = 8 + lb + hl + dlen;
    unsigned char *b = calloc(*len, 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    for (size_t i = 0; i < lb; i++)
        b[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8 + lb, hdr, hl);
    return b;
}

/* npy_read over buf[0..len); *h gets the header. */
static int read_npy_buf(const unsigned char *buf, size_t len, npy_header *h)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f)
        return -100;
    void *data;
    size_t bytes;
    int rc = npy_read(f, h, &data, &bytes);
    if (rc == 0)
        free(data);
    else
        CHECK(data == NULL);
    fclose(f);
    return rc;
}

void test_npy_rejects(void)
{
    static const struct {
        const char *hdr;
        size_t dlen;
        int rc;
        const char *msg;        /* part of the message, or NULL */
    } cases[] = {
        /* Accepted: numpy's own layout, keys in any order, old 'L' dims,
         * double quotes, no trailing comma. */
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }    \n", 48, 0, NULL },
        { "{'shape': (2,), 'fortran_order': False, 'descr': '|u1'}\n", 2, 0, NULL },
        { "{\"descr\":\"<i8\",\"fortran_order\":False,\"shape\":(2L, 1L,)}", 16, 0, NULL },
        { "{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 8, 0, NULL },
        /* Refused. */
        { "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", 48, ERR_DATA, "Fortran" },
        { "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", 48, ERR_DATA, "'>f4'" },
        { "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, ERR_DATA, "'<c8'" },
        { "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 8, ERR_DATA, "descr" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }", 0, ERR_DATA, "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0, ERR_DATA, "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, }", 0, ERR_DATA, "'shape'" },
        { "{'descr': '<f4', 'shape': (1,), }", 4, ERR_DATA, "'fortran_order'" },
        { "{'fortran_order': False, 'shape': (1,), }", 4, ERR_DATA, "'descr'" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, ERR_DATA, "twice" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, ERR_DATA, "unknown key" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", 20, ERR_DATA, "tuple" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }", 0, ERR_DATA, "dimensions" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0, ERR_DATA, "integer" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, ERR_DATA, "stray" },
        { "{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", 4, ERR_DATA, NULL },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,", 4, ERR_DATA, NULL },
        { "", 0, ERR_DATA, NULL },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 47, ERR_DATA,
          "truncated array: 47 of 48 bytes" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        for (int major = 1; major <= 3; major++) {
            size_t len;
            unsigned char *b = make_npy(major, cases[k].hdr, cases[k].dlen, &len);
            npy_header h;
            int rc = read_npy_buf(b, len, &h);
            CHECK(rc == cases[k].rc);
            if (rc != cases[k].rc)
                fprintf(stderr, "  case %zu v%d: %d (%s)\n", k, major, rc, err_msg());
            if (cases[k].msg && rc < 0)
                CHECK(strstr(err_msg(), cases[k].msg) != NULL);
            free(b);
        }
    }
    /* Bad magic, unknown version, a header over the cap, and truncation
     * at every byte of a good file. */
    size_t len;
    unsigned char *b = make_npy(1, cases[0].hdr, 48, &len);
    npy_header h;
    b[1] = 'n';
    CHECK(read_npy_buf(b, len, &h) == ERR_DATA);
    CHECK(strstr(err_msg(), "magic") != NULL);
    b[1] = 'N';
    b[6] = 4;
    CHECK(read_npy_buf(b, len, &h) == ERR_DATA);
    CHECK(strstr(err_msg(), "version") != NULL);
    b[6] = 1;
    for (size_t cut = 0; cut < len; cut++)
        CHECK(read_npy_buf(b, cut, &h) == ERR_DATA);
    CHECK(read_npy_buf(b, len, &h) == 0);
    CHECK(h.dtype == TZ_F32 && h.rank == 2 && h.dims[0] == 3 && h.dims[1] == 4);
    free(b);
    unsigned char big[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 1, 0, 0x10, 0 };
    CHECK(read_npy_buf(big, sizeof big, &h) == ERR_DATA);
    CHECK(strstr(err_msg(), "cap") != NULL);
    /* The writer refuses what it cannot describe. */
    uint64_t d[1] = { 1 };
    CHECK(npy_write_header(stdout, 99, 1, d) == ERR_USAGE);
    CHECK(npy_write_header(stdout, TZ_F32, 9, d) == ERR_USAGE);
}

/* ---- idx ------------------------------------------------------------- */

/* idx_read the Debian file and write it back: the bytes must be zcat's. */
static void idx_debian(const char *name, int rank, const uint64_t *dims)
{
    char path[256], cmd[600], plain[64];
    snprintf(path, sizeof path, FMNIST "%s", name);
    CHECK(access(path, R_OK) == 0);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "  %s is missing: install dataset-fashion-mnist\n", path);
        return;
    }
    int dtype, r, type;
    uint64_t d[TZ_RANK_MAX];
    void *data;
    CHECK(idx_read(path, &dtype, &r, d, &data, &type) == 0);
    if (!data)
        return;
    CHECK(dtype == TZ_U8 && type == IDX_U8 && r == rank);
    CHECK(memcmp(d, dims, sizeof(uint64_t) * (size_t)rank) == 0);
    char *mine;
    size_t mine_len;
    FILE *m = open_memstream(&mine, &mine_len);
    CHECK(idx_write(m, type, r, d, data, dtype) == 0);
    fclose(m);
    strcpy(plain, "/tmp/fmt-unit-idx-XXXXXX");
    close(mkstemp(plain));
    snprintf(cmd, sizeof cmd, "zcat '%s' > '%s'", path, plain);
    CHECK(system(cmd) == 0);
    size_t want_len;
    unsigned char *want = slurp(plain, &want_len);
    CHECK(want && want_len == mine_len && memcmp(want, mine, mine_len) == 0);
    /* The uncompressed file reads the same. */
    void *data2;
    CHECK(idx_read(plain, &dtype, &r, d, &data2, &type) == 0);
    CHECK(data2 && memcmp(data, data2, mine_len - 4 - 4 * (size_t)rank) == 0);
    free(data2);
    unlink(plain);
    free(want);
    free(mine);
    free(data);
}

void test_idx_debian(void)
{
    uint64_t labels[1] = { 10000 }, images[3] = { 10000, 28, 28 };
    idx_debian("t10k-labels-idx1-ubyte.gz", 1, labels);
    idx_debian("t10k-images-idx3-ubyte.gz", 3, images);
}

/* Write buf to a temporary file, gzipped if gz; static path. */
static const char *temp_file(const void *buf, size_t len, int gz)
{
    static char path[64];
    strcpy(path, "/tmp/fmt-unit-XXXXXX");
    close(mkstemp(path));
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, buf, (unsigned)len);
        gzclose(g);
    } else {
        spit(path, buf, len);
    }
    return path;
}

void test_idx_types(void)
{
    static const int types[] = { IDX_U8, IDX_I8, IDX_I16, IDX_I32, IDX_F32, IDX_F64 };
    uint64_t dims[2] = { 3, 5 };
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        int dtype = idx_dtype(types[k]);
        size_t es = tz_dtype_size(dtype);
        unsigned char *data = malloc(15 * es);
        for (int i = 0; i < 15; i++) {
            int v = i * 9 - (types[k] == IDX_U8 ? 0 : 70);
            if (dtype == TZ_U8) data[i] = (unsigned char)v;
            if (dtype == TZ_I32) ((int32_t *)(void *)data)[i] = v * (types[k] == IDX_I32 ? 100000 : 1);
            if (dtype == TZ_F32) ((float *)(void *)data)[i] = (float)v / 3;
            if (dtype == TZ_F64) ((double *)(void *)data)[i] = v / 3.0;
        }
        char *file;
        size_t flen;
        FILE *m = open_memstream(&file, &flen);
        CHECK(idx_write(m, types[k], 2, dims, data, dtype) == 0);
        fclose(m);
        CHECK(flen == 4 + 8 + 15 * (types[k] == IDX_I8 ? 1 : types[k] == IDX_I16 ? 2 : es));
        CHECK(file[2] == types[k] && file[3] == 2 && file[7] == 3 && file[11] == 5);
        for (int gz = 0; gz < 2; gz++) {
            const char *p = temp_file(file, flen, gz);
            int dt, r, t;
            uint64_t d[TZ_RANK_MAX];
            void *got;
            CHECK(idx_read(p, &dt, &r, d, &got, &t) == 0);
            CHECK(dt == dtype && r == 2 && d[0] == 3 && d[1] == 5 && t == types[k]);
            CHECK(got && memcmp(got, data, 15 * es) == 0);
            free(got);
            unlink(p);
        }
        free(file);
        free(data);
    }
    /* i8 and i16 values out of range, and type/dtype mismatches. */
    int32_t wide[2] = { 127, 128 };
    uint64_t two[1] = { 2 };
    FILE *devnull = fopen("/dev/null", "wb");
    CHECK(idx_write(devnull, IDX_I8, 1, two, wide, TZ_I32) == ERR_DATA);
    CHECK(idx_write(devnull, IDX_I16, 1, two, wide, TZ_I32) == 0);
    wide[1] = -32769;
    CHECK(idx_write(devnull, IDX_I16, 1, two, wide, TZ_I32) == ERR_DATA);
    CHECK(idx_write(devnull, IDX_U8, 1, two, wide, TZ_I32) == ERR_USAGE);
    CHECK(idx_write(devnull, 0x0A, 1, two, wide, TZ_I32) == ERR_USAGE);
    uint64_t huge[1] = { (uint64_t)1 << 32 };
    CHECK(idx_write(devnull, IDX_U8, 1, huge, wide, TZ_U8) == ERR_DATA);
    fclose(devnull);
}

void test_idx_rejects(void)
{
    /* A good little file: u8, dims (2, 3). */
    unsigned char good[4 + 8 + 6] = { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6 };
    int dt, r, t;
    uint64_t d[TZ_RANK_MAX];
    void *got;
    for (int gz = 0; gz < 2; gz++)
        for (size_t cut = 0; cut < sizeof good; cut++) {
            const char *p = temp_file(good, cut, gz);
            CHECK(idx_read(p, &dt, &r, d, &got, &t) == ERR_DATA);
            CHECK(got == NULL);
            unlink(p);
        }
    const char *p = temp_file(good, sizeof good, 0);
    CHECK(idx_read(p, &dt, &r, d, &got, &t) == 0);
    free(got);
    unlink(p);
    /* A gzip file cut short inside the compressed stream or its trailer. */
    p = temp_file(good, sizeof good, 1);
    size_t glen;
    unsigned char *g = slurp(p, &glen);
    unlink(p);
    for (size_t cut = 1; g && cut < glen; cut++) {
        p = temp_file(g, glen - cut, 0);
        CHECK(idx_read(p, &dt, &r, d, &got, &t) == ERR_DATA);
        unlink(p);
    }
    free(g);
    struct {
        size_t at;
        unsigned char v;
        const char *msg;
    } bad[] = { { 1, 1, "magic" }, { 2, 0x0A, "type" }, { 3, 9, "rank" },
                { 3, 1, "after" } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        unsigned char b[sizeof good];
        memcpy(b, good, sizeof b);
        b[bad[k].at] = bad[k].v;
        p = temp_file(b, sizeof b, 0);
        CHECK(idx_read(p, &dt, &r, d, &got, &t) == ERR_DATA);
        CHECK(strstr(err_msg(), bad[k].msg) != NULL);
        unlink(p);
    }
    /* A header that claims 4 GiB x 4 GiB x 4 GiB, and one that claims much
     * more than the file holds: errors, not huge allocations. */
    unsigned char lie[16] = { 0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255,
                              255, 255, 255, 255 };
    p = temp_file(lie, sizeof lie, 0);
    CHECK(idx_read(p, &dt, &r, d, &got, &t) == ERR_DATA);
    unlink(p);
    lie[3] = 2;
    p = temp_file(lie, 12, 0);
    CHECK(idx_read(p, &dt, &r, d, &got, &t) == ERR_DATA);
    CHECK(strstr(err_msg(), "truncated") != NULL);
    unlink(p);
    CHECK(idx_read("/nonexistent/x.idx", &dt, &r, d, &got, &t) == ERR_IO);
    CHECK(strstr(err_msg(), "/nonexistent/x.idx: cannot open") != NULL);
}

/* ---- CSV ------------------------------------------------------------- */

void test_csv_roundtrip(void)
{
    enum { ROWS = 200, COLS = 7 };
    rng_t r;
    rng_init(&r, 1, 2, 3);
    float *f = malloc(sizeof(float) * ROWS * COLS);
    double *v = malloc(sizeof(double) * ROWS * COLS);
    for (int i = 0; i < ROWS * COLS; i++) {
        /* Every bit pattern that is a finite float: all exponents, denormals,
         * signs. */
        uint32_t bits;
        do
            bits = rng_u32(&r);
        while (((bits >> 23) & 0xFF) == 0xFF);
        memcpy(&f[i], &bits, 4);
        v[i] = f[i];
    }
    char *text;
    size_t len;
    FILE *m = open_memstream(&text, &len);
    fputs("a,b,c,d,e,f,g\n", m);            /* a header */
    for (int i = 0; i < ROWS; i++) {
        csv_write_values(m, v + i * COLS, COLS, TZ_F32);
        fputc('\n', m);
        if (i == 10)
            fputs("\n   \r\n", m);          /* blank lines */
    }
    fclose(m);
    FILE *in = fmemopen(text, len, "rb");
    double *got;
    uint64_t rows, cols;
    CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, NULL) == 0);
    fclose(in);
    CHECK(rows == ROWS && cols == COLS);
    int exact = 1;
    for (int i = 0; got && i < ROWS * COLS; i++)
        exact &= memcmp(&f[i], &(float){ (float)got[i] }, 4) == 0;
    CHECK(exact);
    free(got);
    free(text);

    /* f64 with %.17g, integers exactly, CRLF and spaces around fields. */
    double d[4] = { 0.1, -1e-300, 3.0000000000000004, 1e300 };
    double ints[3] = { -5, 9007199254740992.0, 0 };
    m = open_memstream(&text, &len);
    csv_write_values(m, d, 4, TZ_F64);
    fputc('\n', m);
    fclose(m);
    in = fmemopen(text, len, "rb");
    CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, NULL) == 0);
    CHECK(rows == 1 && cols == 4 && got && memcmp(got, d, sizeof d) == 0);
    fclose(in);
    free(got);
    free(text);
    m = open_memstream(&text, &len);
    csv_write_values(m, ints, 3, TZ_I64);
    fputc('\n', m);
    fclose(m);
    CHECK(strcmp(text, "-5,9007199254740992,0\n") == 0);
    free(text);
    const char *crlf = " 1 , 2\r\n3,\t4 \r\n";
    in = fmemopen((void *)crlf, strlen(crlf), "rb");
    CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, NULL) == 0);
    CHECK(rows == 2 && cols == 2 && got && got[0] == 1 && got[3] == 4);
    fclose(in);
    free(got);
    free(f);
    free(v);
}

void test_csv_rejects(void)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        { "1,2\n3\n", "line 2: 1 columns, expected 2" },
        { "x,y\n1,2\n\n3,4,5\n", "line 4: 3 columns, expected 2" },
        { "1,2\n3,x\n", "line 2, column 2: not a number: 'x'" },
        { "1,2\n3,\n", "line 2, column 2: not a number: ''" },
        { "h\n1\n2 3\n", "line 3, column 1: not a number: '2 3'" },
        { "1\n1e999\n", "line 2, column 1: not a number: '1e999'" },
        /* A first line with a number is data, not a header. */
        { "1,2,x\n3,4,5\n", "line 1, column 3: not a number: 'x' (nor a header: "
          "some of its fields are numbers)" },
        /* A header has as many fields as the rows. */
        { "\n# a title\n1,2\n", "line 3: 2 columns, expected 1 as in the header "
          "(line 2)" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        FILE *in = fmemopen((void *)cases[k].text, strlen(cases[k].text), "rb");
        double *got;
        uint64_t rows, cols;
        CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, NULL) == ERR_DATA);
        CHECK(got == NULL);
        CHECK(strcmp(err_msg(), cases[k].msg) == 0);
        if (strcmp(err_msg(), cases[k].msg) != 0)
            fprintf(stderr, "  got '%s'\n", err_msg());
        fclose(in);
    }
    /* The three ways with a first line. */
    static const struct {
        const char *text;
        int mode, rc;
        uint64_t rows, header_line;
        const char *header;
    } modes[] = {
        { "\n a , b \n1,2\n", CSV_HEADER_AUTO, 0, 1, 2, "a,b" },
        { "1,2\n3,4\n", CSV_HEADER_AUTO, 0, 2, 0, "" },
        { "1,2\n3,4\n", CSV_HEADER_YES, 0, 1, 1, "1,2" },
        { "a,b\n3,4\n", CSV_HEADER_YES, 0, 1, 1, "a,b" },
        { "a,b,c\n3,4\n", CSV_HEADER_YES, ERR_DATA, 0, 0, "" },
        { "a,b\n3,4\n", CSV_HEADER_NO, ERR_DATA, 0, 0, "" },
        { "1,2\n3,4\n", CSV_HEADER_NO, 0, 2, 0, "" },
    };
    for (size_t k = 0; k < sizeof modes / sizeof *modes; k++) {
        FILE *in = fmemopen((void *)modes[k].text, strlen(modes[k].text), "rb");
        double *got;
        uint64_t rows, cols;
        csv_header h;
        int rc = csv_read(in, modes[k].mode, &got, &rows, &cols, &h);
        CHECK(rc == modes[k].rc);
        if (rc == 0) {
            CHECK(rows == modes[k].rows && cols == 2);
            CHECK(h.line == modes[k].header_line && strcmp(h.text, modes[k].header) == 0);
        }
        free(got);
        fclose(in);
    }
    /* A long header is cut with "...". */
    char wide[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(wide, i ? ",column" : "column");
    strcat(wide, "\n");
    {
        FILE *in = fmemopen(wide, strlen(wide), "rb");
        double *got;
        uint64_t rows, cols;
        csv_header h;
        CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, &h) == 0);
        CHECK(h.line == 1 && strlen(h.text) == sizeof h.text - 1);
        CHECK(strcmp(h.text + sizeof h.text - 4, "...") == 0);
        fclose(in);
    }
    /* Only a header: no rows. */
    const char *hdr = "a,b\n\n";
    FILE *in = fmemopen((void *)hdr, strlen(hdr), "rb");
    double *got;
    uint64_t rows, cols;
    CHECK(csv_read(in, CSV_HEADER_AUTO, &got, &rows, &cols, NULL) == 0);
    CHECK(rows == 0 && cols == 0 && got == NULL);
    fclose(in);
}

/* ---- export ---------------------------------------------------------- */

void test_idx_type_names(void)
{
    CHECK(idx_type_parse("u8") == IDX_U8 && idx_type_parse("i16") == IDX_I16);
    CHECK(idx_type_parse("f64") == IDX_F64 && idx_type_parse("i64") == 0);
    CHECK(idx_type_parse("") == 0 && idx_type_parse("U8") == 0);
    CHECK(idx_type_for(TZ_U8) == IDX_U8 && idx_type_for(TZ_I64) == IDX_I32);
    CHECK(idx_type_for(TZ_I32) == IDX_I32 && idx_type_for(TZ_F32) == IDX_F32);
    CHECK(idx_type_for(TZ_F64) == IDX_F64 && idx_type_for(99) == 0);
}

void test_export_shapes(void)
{
    tz_tensor t = { .name = "x", .dtype = TZ_U8, .rank = 4, .dims = { 2, 3, 1, 2 } };
    int c, h, w;
    CHECK(export_rows(&t) == 2 && export_image_shape(&t, &c, &h, &w) == 0);
    CHECK(c == 3 && h == 1 && w == 2);
    t.rank = 3;                             /* (N, H, W): grey */
    CHECK(export_image_shape(&t, &c, &h, &w) == 0 && c == 1 && h == 3 && w == 1);
    t.rank = 4, t.dims[1] = 5;              /* 5 channels */
    CHECK(export_image_shape(&t, &c, &h, &w) == ERR_DATA);
    CHECK(strstr(err_msg(), "field 'x' is not a batch of images") != NULL);
    t.dims[1] = 1, t.dims[3] = (uint64_t)1 << 40;   /* no wrap to int */
    CHECK(export_image_shape(&t, &c, &h, &w) == ERR_DATA);
    CHECK(strstr(err_msg(), "outside 1..65535 pixels a side") != NULL);
    t.rank = 0;
    CHECK(export_rows(&t) == 1);

    uint8_t px[12];
    for (int i = 0; i < 12; i++)
        px[i] = (uint8_t)(i * 20);
    tz_tensor u = { .name = "u", .dtype = TZ_U8, .rank = 2, .dims = { 2, 6 }, .data = px };
    float f[6];
    export_sample_f32(&u, 1, f);            /* row 1, divided by 255 */
    for (int k = 0; k < 6; k++)
        CHECK(f[k] == (float)((6 + k) * 20 / 255.0));
}

/* A stream of three records whose field x is (n, 1, 2, 2) u8, n = 2, 3, 1,
 * sample s all s, with a field y of n i32 rows of 2. */
static void export_stream(const char *path)
{
    tz_writer *wr = tz_writer_open(path, 0);
    CHECK(wr != NULL);
    const uint64_t ns[3] = { 2, 3, 1 };
    int s = 0;
    for (int r = 0; r < 3; r++) {
        tz_record rec;
        tz_record_init(&rec, TZ_BATCH);
        uint64_t dx[4] = { ns[r], 1, 2, 2 }, dy[2] = { ns[r], 2 };
        tz_tensor *x = tz_record_add(&rec, "x", TZ_U8, 4, dx, NULL);
        tz_tensor *y = tz_record_add(&rec, "y", TZ_I32, 2, dy, NULL);
        for (uint64_t i = 0; i < ns[r]; i++, s++) {
            memset((uint8_t *)x->data + 4 * i, s, 4);
            ((int32_t *)y->data)[2 * i] = s;
            ((int32_t *)y->data)[2 * i + 1] = -s;
        }
        CHECK(tz_write(wr, &rec) == 0);
        tz_record_free(&rec);
    }
    CHECK(tz_writer_close(wr) == 0);
}

void test_export_stream(void)
{
    const char *dir = tmp_dir();
    char path[128], out[128];
    snprintf(path, sizeof path, "%s/s.tz", dir);
    export_stream(path);

    /* One sample across record boundaries; past the end, the rows seen. */
    export_images im;
    uint64_t rows = 0;
    tz_reader *r = tz_reader_open(path);
    CHECK(export_sample(r, "x", 4, &im, &rows) == 1);
    CHECK(im.n == 1 && im.c == 1 && im.h == 2 && im.w == 2);
    CHECK(im.px && im.px[0] == (float)(4 / 255.0) && im.px[3] == im.px[0]);
    export_images_free(&im);
    CHECK(im.px == NULL);
    tz_reader_close(r);
    r = tz_reader_open(path);
    CHECK(export_sample(r, "x", 6, &im, &rows) == 0 && rows == 6 && !im.px);
    tz_reader_close(r);
    r = tz_reader_open(path);
    CHECK(export_sample(r, "nope", 0, &im, &rows) == ERR_DATA);
    CHECK(strstr(err_msg(), "record 0: no field 'nope'") != NULL);
    tz_reader_close(r);

    /* The first n samples; fewer if the stream has fewer. */
    r = tz_reader_open(path);
    CHECK(export_samples(r, "x", 4, &im) == 0 && im.n == 4);
    CHECK(im.px[3 * 4] == (float)(3 / 255.0));
    export_images_free(&im);
    tz_reader_close(r);
    r = tz_reader_open(path);
    CHECK(export_samples(r, "x", 100, &im) == 0 && im.n == 6);
    export_images_free(&im);
    tz_reader_close(r);
    r = tz_reader_open(path);
    CHECK(export_samples(r, "y", 100, &im) == ERR_DATA && !im.px);
    tz_reader_close(r);

    /* The whole field, stacked; then .npy and idx of it. */
    batch_acc acc;
    batch_init(&acc);
    r = tz_reader_open(path);
    CHECK(export_gather(r, "y", &acc) == 0 && acc.rows == 6);
    CHECK(acc.rec.t[0].rank == 2 && acc.rec.t[0].dims[1] == 2);
    CHECK(((int32_t *)acc.rec.t[0].data)[11] == -5);
    tz_reader_close(r);
    snprintf(out, sizeof out, "%s/y.npy", dir);
    CHECK(export_npy(out, &acc.rec.t[0]) == 0);
    FILE *f = fopen(out, "rb");
    npy_header h;
    void *data;
    size_t bytes;
    CHECK(f && npy_read(f, &h, &data, &bytes) == 0);
    CHECK(h.dtype == TZ_I32 && h.rank == 2 && h.dims[0] == 6 && bytes == 48);
    CHECK(memcmp(data, acc.rec.t[0].data, 48) == 0);
    free(data);
    fclose(f);
    snprintf(out, sizeof out, "%s/y.idx", dir);
    CHECK(export_idx(out, &acc.rec.t[0], IDX_I8) == 0);
    int dtype, rank, type;
    uint64_t dims[TZ_RANK_MAX];
    CHECK(idx_read(out, &dtype, &rank, dims, &data, &type) == 0);
    CHECK(type == IDX_I8 && dtype == TZ_I32 && rank == 2 && dims[0] == 6);
    CHECK(memcmp(data, acc.rec.t[0].data, 48) == 0);
    free(data);
    CHECK(export_idx(out, &acc.rec.t[0], IDX_U8) == ERR_DATA);   /* -1 is no u8 */
    CHECK(strncmp(err_msg(), "field 'y': ", 11) == 0);
    batch_free(&acc);

    /* CSV: one line per sample, the header naming each column. */
    char *text;
    size_t len;
    FILE *m = open_memstream(&text, &len);
    r = tz_reader_open(path);
    CHECK(export_csv(r, "y", 1, m) == 0);
    tz_reader_close(r);
    fclose(m);
    CHECK(strcmp(text, "y[0],y[1]\n0,0\n1,-1\n2,-2\n3,-3\n4,-4\n5,-5\n") == 0);
    free(text);
    m = open_memstream(&text, &len);
    r = tz_reader_open(path);
    CHECK(export_csv(r, NULL, 0, m) == 0);         /* every field */
    tz_reader_close(r);
    fclose(m);
    CHECK(strncmp(text, "0,0,0,0,0,0\n1,1,1,1,1,-1\n", 25) == 0);
    free(text);
    rm_dir(dir);
}
