/* img.c - PNG (libpng 1.6) and JPEG (libjpeg-turbo, libjpeg API) in memory,
 * and images to and from tensors; see img.h.
 *
 * Both libraries report fatal errors through a callback that must not
 * return, so each codec runs inside a run_* function that calls setjmp and
 * keeps everything it allocates in a context struct owned by its caller:
 * after a longjmp the caller frees what the context holds, and no local
 * variable of the function that called setjmp is relied on afterwards
 * (C11 7.13.2.1 makes those indeterminate). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

#include "base/err.h"
#include "formats/img.h"
#include "base/mem.h"

#define IMG_MSG_MAX 256
/* libjpeg-turbo's own fuzzers stop here too: a progressive file can declare
 * thousands of tiny scans and take minutes to decode. */
#define IMG_JPEG_SCANS 500

void img_free(img_image *im)
{
    if (!im)
        return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

size_t img_bytes(const img_image *im)
{
    return (size_t)im->width * (size_t)im->height * (size_t)im->channels *
           (size_t)(im->depth / 8);
}

/* Check an image shape against the caps; *bytes gets its sample bytes.
 * channels and depth are the caller's to get right (ERR_USAGE); the size is
 * the data's (ERR_DATA). */
static int check_shape(int channels, uint64_t height, uint64_t width, int depth,
                       size_t *bytes)
{
    if (channels < 1 || channels > 4)
        return err_set(ERR_USAGE, "%d channels: an image has 1 to 4", channels);
    if (depth != 8 && depth != 16)
        return err_set(ERR_USAGE, "sample depth %d: only 8 and 16 are supported",
                       depth);
    if (width == 0 || height == 0)
        return err_set(ERR_DATA, "empty image (%llux%llu)",
                       (unsigned long long)width, (unsigned long long)height);
    if (width > IMG_DIM_MAX || height > IMG_DIM_MAX)
        return err_set(ERR_DATA, "image of %llux%llu pixels exceeds %d pixels "
                       "a side", (unsigned long long)width,
                       (unsigned long long)height, IMG_DIM_MAX);
    size_t n;
    if (mem_mul((size_t)width, (size_t)height, &n) < 0 ||
        mem_mul(n, (size_t)channels * (size_t)(depth / 8), &n) < 0 ||
        n > IMG_BYTES_MAX)
        return err_set(ERR_DATA, "image of %llux%llux%d at %d bits exceeds the "
                       "%zu MiB cap", (unsigned long long)width,
                       (unsigned long long)height, channels, depth,
                       IMG_BYTES_MAX >> 20);
    *bytes = n;
    return 0;
}

/* Put what in front of the stored message (check_shape's), with code:
 * "bad JPEG: image of ... exceeds ...".  The message is copied out first,
 * since err_set would otherwise read the buffer it writes. */
static int fail_shape(int code, const char *what)
{
    char why[512];
    snprintf(why, sizeof why, "%s", err_msg());
    return err_set(code, "%s: %s", what, why);
}

/* Allocate out's data for the given shape (already checked). */
static int image_alloc(img_image *out, int channels, int height, int width,
                       int depth, size_t bytes)
{
    memset(out, 0, sizeof *out);
    out->data = mem_alloc_array(bytes, 1);
    if (!out->data)
        return ERR_IO;
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->depth = depth;
    return 0;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* ---- PNG ------------------------------------------------------------- */

typedef struct {
    jmp_buf jmp;
    char msg[IMG_MSG_MAX];      /* libpng's error */
    char warn[IMG_MSG_MAX];     /* its last warning, which often says why */
    png_structp png;
    png_infop info;
    const unsigned char *in;    /* decoding: the input */
    size_t in_len, in_pos;
    unsigned char *out;         /* encoding: the output so far */
    size_t out_len, out_cap;
    png_bytep *rows;
    unsigned char *data;        /* decoding: the pixels */
    unsigned char *index;       /* decoding: a palette image's indices */
    int oom;                    /* a failure was ours: out of memory */
} pngctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    pngctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jmp, 1);
}

/* Silent: the library must not print.  Kept because libpng explains some
 * errors only in the warning before them ("Invalid IHDR data" follows
 * "Image width exceeds user limit"). */
static void on_png_warning(png_structp png, png_const_charp msg)
{
    pngctx *c = png_get_error_ptr(png);
    snprintf(c->warn, sizeof c->warn, "%s", msg);
}

static void read_png_mem(png_structp png, png_bytep dst, size_t n)
{
    pngctx *c = png_get_io_ptr(png);
    if (n > c->in_len - c->in_pos)
        png_error(png, "truncated PNG data");
    memcpy(dst, c->in + c->in_pos, n);
    c->in_pos += n;
}

static void write_png_mem(png_structp png, png_bytep src, size_t n)
{
    pngctx *c = png_get_io_ptr(png);
    if (n > c->out_cap - c->out_len) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < n) {
            if (cap > SIZE_MAX / 2) {
                c->oom = 1;
                png_error(png, "PNG output too large");
            }
            cap *= 2;
        }
        unsigned char *p = realloc(c->out, cap);
        if (!p) {
            c->oom = 1;
            png_error(png, "out of memory");
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, src, n);
    c->out_len += n;
}

static void flush_png_mem(png_structp png)
{
}

/* The message for a libpng failure, with the warning that explains it. */
static int fail_png(const pngctx *c, const char *what)
{
    int code = c->oom ? ERR_IO : ERR_DATA;
    if (c->warn[0])
        return err_set(code, "%s: %s (%s)", what, c->msg, c->warn);
    return err_set(code, "%s: %s", what, c->msg);
}

/* Map the n palette indices in c->index to RGB or RGBA pixels in c->data.
 * libpng's own expansion shows an index past the palette as black and says
 * so only in a warning; such a file is corrupt. */
static int expand_palette(pngctx *c, size_t n, int channels)
{
    png_colorp pal = NULL;
    png_bytep alpha = NULL;
    int entries = 0, nalpha = 0;
    png_get_PLTE(c->png, c->info, &pal, &entries);
    if (channels == 4)
        png_get_tRNS(c->png, c->info, &alpha, &nalpha, NULL);
    unsigned char *d = c->data;
    for (size_t i = 0; i < n; i++, d += channels) {
        int k = c->index[i];
        if (k >= entries)
            return err_set(ERR_DATA, "bad PNG: pixel index %d beyond the "
                           "%d-entry palette", k, entries);
        d[0] = pal[k].red;
        d[1] = pal[k].green;
        d[2] = pal[k].blue;
        if (channels == 4)
            d[3] = k < nalpha ? alpha[k] : 255;
    }
    return 0;
}

static int run_png_decode(pngctx *c, img_image *out)
{
    if (setjmp(c->jmp))
        return fail_png(c, "bad PNG");
    c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_png_error,
                                    on_png_warning);
    if (!c->png || !(c->info = png_create_info_struct(c->png)))
        return err_set(ERR_IO, "out of memory for a PNG decoder");
    png_set_read_fn(c->png, c, read_png_mem);
    png_set_user_limits(c->png, IMG_DIM_MAX, IMG_DIM_MAX);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* scripts/fuzz: a mutated chunk would almost never get past its CRC,
     * and the fuzzer would never reach the chunk parsers behind it. */
    png_set_crc_action(c->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#else
    /* By default a bad CRC on an ancillary chunk is only a warning; a flipped
     * bit anywhere means the file is damaged, so refuse it. */
    png_set_crc_action(c->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
#endif
    png_read_info(c->png, c->info);

    png_uint_32 w, h;
    int bits, type, interlace;
    png_get_IHDR(c->png, c->info, &w, &h, &bits, &type, &interlace, NULL, NULL);
    int palette = type == PNG_COLOR_TYPE_PALETTE;
    if (palette) {
        /* Indices one a byte; expand_palette below does the rest. */
        png_set_packing(c->png);
    } else {
        if (type == PNG_COLOR_TYPE_GRAY && bits < 8)
            png_set_expand_gray_1_2_4_to_8(c->png);
        if (png_get_valid(c->png, c->info, PNG_INFO_tRNS))
            png_set_tRNS_to_alpha(c->png);
        if (bits == 16 && host_is_little_endian())
            png_set_swap(c->png);
    }
    png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);

    int channels = png_get_channels(c->png, c->info);
    int depth = png_get_bit_depth(c->png, c->info);
    if (palette)
        channels = png_get_valid(c->png, c->info, PNG_INFO_tRNS) ? 4 : 3;
    size_t bytes;
    int rc = check_shape(channels, h, w, depth, &bytes);
    if (rc < 0)
        return fail_shape(ERR_DATA, "bad PNG");
    /* What libpng writes: the pixels, or for a palette image the indices. */
    size_t stride = (size_t)w * (palette ? 1 : (size_t)channels * (size_t)(depth / 8));
    if (png_get_rowbytes(c->png, c->info) != stride)
        return err_set(ERR_DATA, "bad PNG: decoder row of %zu bytes, expected "
                       "%zu", (size_t)png_get_rowbytes(c->png, c->info), stride);
    if (!(c->data = mem_alloc_array(bytes, 1)) ||
        (palette && !(c->index = mem_alloc_array(stride, h))) ||
        !(c->rows = mem_alloc_array(h, sizeof *c->rows)))
        return ERR_IO;
    unsigned char *dst = palette ? c->index : c->data;
    for (png_uint_32 y = 0; y < h; y++)
        c->rows[y] = dst + (size_t)y * stride;
    png_read_image(c->png, c->rows);
    /* Reading on to IEND checks the CRCs of the trailing chunks and catches
     * a file cut short after its image data. */
    png_read_end(c->png, NULL);
    if (palette && (rc = expand_palette(c, (size_t)w * h, channels)) < 0)
        return rc;

    out->width = (int)w;
    out->height = (int)h;
    out->channels = channels;
    out->depth = depth;
    out->data = c->data;
    c->data = NULL;
    return 0;
}

int img_png_decode(const unsigned char *buf, size_t len, img_image *out)
{
    memset(out, 0, sizeof *out);
    pngctx c;
    memset(&c, 0, sizeof c);
    c.in = buf;
    c.in_len = len;
    int rc = run_png_decode(&c, out);
    png_destroy_read_struct(&c.png, &c.info, NULL);
    free(c.rows);
    free(c.index);
    free(c.data);
    return rc;
}

static int run_png_encode(pngctx *c, const img_image *im)
{
    static const int types[5] = { 0, PNG_COLOR_TYPE_GRAY,
        PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
    if (setjmp(c->jmp))
        return fail_png(c, "cannot encode PNG");
    c->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_png_error,
                                     on_png_warning);
    if (!c->png || !(c->info = png_create_info_struct(c->png)))
        return err_set(ERR_IO, "out of memory for a PNG encoder");
    png_set_write_fn(c->png, c, write_png_mem, flush_png_mem);
    png_set_IHDR(c->png, c->info, (png_uint_32)im->width, (png_uint_32)im->height,
                 im->depth, types[im->channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(c->png, c->info);
    if (im->depth == 16 && host_is_little_endian())
        png_set_swap(c->png);
    size_t stride = (size_t)im->width * (size_t)im->channels *
                    (size_t)(im->depth / 8);
    if (!(c->rows = mem_alloc_array((size_t)im->height, sizeof *c->rows)))
        return ERR_IO;
    for (int y = 0; y < im->height; y++)
        c->rows[y] = im->data + (size_t)y * stride;
    png_write_image(c->png, c->rows);
    png_write_end(c->png, NULL);
    return 0;
}

int img_png_encode(const img_image *im, unsigned char **out, size_t *len)
{
    size_t bytes;
    *out = NULL;
    *len = 0;
    int rc = check_shape(im->channels, (uint64_t)(im->height < 0 ? 0 : im->height),
                         (uint64_t)(im->width < 0 ? 0 : im->width), im->depth,
                         &bytes);
    if (rc < 0)
        return fail_shape(ERR_USAGE, "cannot encode PNG");
    pngctx c;
    memset(&c, 0, sizeof c);
    rc = run_png_encode(&c, im);
    png_destroy_write_struct(&c.png, &c.info);
    free(c.rows);
    if (rc < 0) {
        free(c.out);
        return rc;
    }
    *out = c.out;
    *len = c.out_len;
    return 0;
}

/* ---- JPEG ------------------------------------------------------------ */

typedef struct {
    struct jpeg_destination_mgr pub;
    unsigned char *buf;
    size_t cap, len;
} jpgdest;

typedef struct {
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX + 64];
    int oom;
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct cc;
    int have_d, have_c;
    jpgdest dest;
    unsigned char *data;        /* decoding: the pixels */
} jpgctx;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpgctx *c = cinfo->client_data;
    char buf[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buf);
    snprintf(c->msg, sizeof c->msg, "%s", buf);
    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY)
        c->oom = 1;
    longjmp(c->jmp, 1);
}

/* libjpeg reports corrupt or missing data as a warning (msg_level -1) and
 * goes on with padding, which would hand back a silently damaged image, so
 * every warning but an unknown JFIF revision stops the decode here. */
static void on_jpeg_message(j_common_ptr cinfo, int msg_level)
{
    if (msg_level >= 0)
        return;
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JFIF_MAJOR)
        return;
    on_jpeg_error(cinfo);
}

static void on_jpeg_output(j_common_ptr cinfo)
{
}

static void on_jpeg_progress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor &&
        ((j_decompress_ptr)cinfo)->input_scan_number > IMG_JPEG_SCANS) {
        jpgctx *c = cinfo->client_data;
        snprintf(c->msg, sizeof c->msg, "more than %d scans", IMG_JPEG_SCANS);
        longjmp(c->jmp, 1);
    }
}

static void init_jpgctx(jpgctx *c)
{
    memset(c, 0, sizeof *c);
    jpeg_std_error(&c->err);
    c->err.error_exit = on_jpeg_error;
    c->err.emit_message = on_jpeg_message;
    c->err.output_message = on_jpeg_output;
    c->progress.progress_monitor = on_jpeg_progress;
}

static int run_jpeg_decode(jpgctx *c, const unsigned char *buf, size_t len,
                           img_image *out)
{
    if (setjmp(c->jmp))
        return err_set(c->oom ? ERR_IO : ERR_DATA, "bad JPEG: %s", c->msg);
    /* libjpeg keeps err and client_data across create, and the error
     * handler needs both if create itself fails. */
    c->d.err = &c->err;
    c->d.client_data = c;
    c->have_d = 1;
    jpeg_create_decompress(&c->d);
    c->d.progress = &c->progress;
    /* Bounds the coefficient buffers of progressive files: beyond this
     * libjpeg wants a backing store, which this build lacks, and fails. */
    c->d.mem->max_memory_to_use = (long)IMG_BYTES_MAX;
    if (len > (unsigned long)-1)
        return err_set(ERR_DATA, "bad JPEG: input of %zu bytes is too large", len);
    jpeg_mem_src(&c->d, buf, (unsigned long)len);
    jpeg_read_header(&c->d, TRUE);

    int channels;
    switch (c->d.jpeg_color_space) {
    case JCS_GRAYSCALE:
        c->d.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        c->d.out_color_space = JCS_RGB;
        channels = 3;
        break;
    default:
        return err_set(ERR_DATA, "bad JPEG: unsupported JPEG colour space "
                       "(%d components, libjpeg colour space %d)",
                       c->d.num_components, (int)c->d.jpeg_color_space);
    }
    size_t bytes;
    if (check_shape(channels, c->d.image_height, c->d.image_width, 8, &bytes) < 0)
        return fail_shape(ERR_DATA, "bad JPEG");
    jpeg_start_decompress(&c->d);
    if (c->d.output_components != channels ||
        c->d.output_width != c->d.image_width ||
        c->d.output_height != c->d.image_height)
        return err_set(ERR_DATA, "bad JPEG: decoder gives %ux%ux%d, expected "
                       "%ux%ux%d", c->d.output_width, c->d.output_height,
                       c->d.output_components, c->d.image_width,
                       c->d.image_height, channels);
    if (!(c->data = mem_alloc_array(bytes, 1)))
        return ERR_IO;
    size_t stride = (size_t)c->d.output_width * (size_t)channels;
    while (c->d.output_scanline < c->d.output_height) {
        JSAMPROW row = c->data + (size_t)c->d.output_scanline * stride;
        if (jpeg_read_scanlines(&c->d, &row, 1) != 1)
            return err_set(ERR_DATA, "bad JPEG: decoder stopped at row %u of %u",
                           c->d.output_scanline, c->d.output_height);
    }
    jpeg_finish_decompress(&c->d);

    out->width = (int)c->d.output_width;
    out->height = (int)c->d.output_height;
    out->channels = channels;
    out->depth = 8;
    out->data = c->data;
    c->data = NULL;
    return 0;
}

int img_jpeg_decode(const unsigned char *buf, size_t len, img_image *out)
{
    memset(out, 0, sizeof *out);
    jpgctx c;
    init_jpgctx(&c);
    int rc = run_jpeg_decode(&c, buf, len, out);
    if (c.have_d)
        jpeg_destroy_decompress(&c.d);
    free(c.data);
    return rc;
}

/* Our own memory destination rather than jpeg_mem_dest: after a longjmp
 * out of jpeg_mem_dest the caller cannot tell which buffer libjpeg holds
 * (it may have replaced the one it reported), so it would leak; this one
 * keeps the buffer in the context where the cleanup finds it. */
static void dest_init(j_compress_ptr cinfo)
{
    jpgdest *d = (jpgdest *)cinfo->dest;
    d->cap = 1 << 16;
    d->len = 0;
    if (!(d->buf = malloc(d->cap)))
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 1);
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

/* Called when the buffer is full (libjpeg's contract: all of it). */
static boolean dest_grow(j_compress_ptr cinfo)
{
    jpgdest *d = (jpgdest *)cinfo->dest;
    size_t old = d->cap;
    unsigned char *p = old <= SIZE_MAX / 2 ? realloc(d->buf, old * 2) : NULL;
    if (!p)
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 2);
    d->buf = p;
    d->cap = old * 2;
    d->pub.next_output_byte = p + old;
    d->pub.free_in_buffer = d->cap - old;
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
    jpgdest *d = (jpgdest *)cinfo->dest;
    d->len = d->cap - d->pub.free_in_buffer;
}

static int run_jpeg_encode(jpgctx *c, const img_image *im, int quality)
{
    if (setjmp(c->jmp))
        return err_set(c->oom ? ERR_IO : ERR_USAGE, "cannot encode JPEG: %s",
                       c->msg);
    c->cc.err = &c->err;
    c->cc.client_data = c;
    c->have_c = 1;
    jpeg_create_compress(&c->cc);
    c->dest.pub.init_destination = dest_init;
    c->dest.pub.empty_output_buffer = dest_grow;
    c->dest.pub.term_destination = dest_term;
    c->cc.dest = &c->dest.pub;
    c->cc.image_width = (JDIMENSION)im->width;
    c->cc.image_height = (JDIMENSION)im->height;
    c->cc.input_components = im->channels;
    c->cc.in_color_space = im->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c->cc);
    jpeg_set_quality(&c->cc, quality, TRUE);
    jpeg_start_compress(&c->cc, TRUE);
    size_t stride = (size_t)im->width * (size_t)im->channels;
    while (c->cc.next_scanline < c->cc.image_height) {
        JSAMPROW row = im->data + (size_t)c->cc.next_scanline * stride;
        jpeg_write_scanlines(&c->cc, &row, 1);
    }
    jpeg_finish_compress(&c->cc);
    return 0;
}

int img_jpeg_encode(const img_image *im, int quality, unsigned char **out,
                    size_t *len)
{
    *out = NULL;
    *len = 0;
    if (im->channels != 1 && im->channels != 3)
        return err_set(ERR_USAGE, "cannot encode JPEG: %d channels (JPEG takes "
                       "grey or RGB)", im->channels);
    if (im->depth != 8)
        return err_set(ERR_USAGE, "cannot encode JPEG: %d-bit samples (JPEG "
                       "takes 8)", im->depth);
    if (quality < 1 || quality > 100)
        return err_set(ERR_USAGE, "JPEG quality %d is not in 1..100", quality);
    if (im->width < 1 || im->height < 1 || im->width > JPEG_MAX_DIMENSION ||
        im->height > JPEG_MAX_DIMENSION)
        return err_set(ERR_USAGE, "cannot encode JPEG: %dx%d (sides are 1..%d)",
                       im->width, im->height, (int)JPEG_MAX_DIMENSION);
    jpgctx c;
    init_jpgctx(&c);
    int rc = run_jpeg_encode(&c, im, quality);
    if (c.have_c)
        jpeg_destroy_compress(&c.cc);
    if (rc < 0) {
        free(c.dest.buf);
        return rc;
    }
    *out = c.dest.buf;
    *len = c.dest.len;
    return 0;
}

/* ---- sniffing and files ---------------------------------------------- */

int img_decode(const unsigned char *buf, size_t len, img_image *out)
{
    static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
                                              0x1a, '\n' };
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
        return img_png_decode(buf, len, out);
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return img_jpeg_decode(buf, len, out);
    memset(out, 0, sizeof *out);
    return err_set(ERR_DATA, "not a PNG or JPEG image");
}

int img_read_file(const char *path, img_image *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            /* A compressed image is never larger than its samples. */
            if (cap >= IMG_BYTES_MAX) {
                rc = err_set(ERR_DATA, "%s: file exceeds %zu MiB", path,
                             IMG_BYTES_MAX >> 20);
                break;
            }
            size_t ncap = cap ? 2 * cap : 1 << 16;
            unsigned char *p = realloc(buf, ncap);
            if (!p) {
                rc = err_set(ERR_IO, "%s: out of memory reading the file", path);
                break;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = err_set(ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == 0 && (rc = img_decode(buf, len, out)) < 0)
        err_prefix(rc, "%s", path);
    free(buf);
    return rc;
}

/* ---- tensors --------------------------------------------------------- */

void img_to_f32_chw(const img_image *im, float *dst)
{
    size_t plane = (size_t)im->width * (size_t)im->height;
    size_t nc = (size_t)im->channels;
    if (im->depth == 16) {
        const uint16_t *s = (const uint16_t *)(const void *)im->data;
        for (size_t p = 0; p < plane; p++)
            for (size_t ch = 0; ch < nc; ch++)
                dst[ch * plane + p] = (float)s[p * nc + ch] / 65535.0f;
    } else {
        const unsigned char *s = im->data;
        for (size_t p = 0; p < plane; p++)
            for (size_t ch = 0; ch < nc; ch++)
                dst[ch * plane + p] = (float)s[p * nc + ch] / 255.0f;
    }
}

/* x in [0,1] (NaN as 0) to the nearest of scale steps. */
static long quantise(float x, float scale)
{
    if (!(x > 0.0f))
        return 0;
    if (x > 1.0f)
        x = 1.0f;
    return lrintf(x * scale);
}

int img_from_f32_chw(const float *src, int channels, int height, int width,
                     int depth, img_image *out)
{
    size_t bytes;
    memset(out, 0, sizeof *out);
    int rc = check_shape(channels, (uint64_t)(height < 0 ? 0 : height),
                         (uint64_t)(width < 0 ? 0 : width), depth, &bytes);
    if (rc < 0 || (rc = image_alloc(out, channels, height, width, depth, bytes)) < 0)
        return rc;
    size_t plane = (size_t)width * (size_t)height, nc = (size_t)channels;
    if (depth == 16) {
        uint16_t *d = (uint16_t *)(void *)out->data;
        for (size_t p = 0; p < plane; p++)
            for (size_t ch = 0; ch < nc; ch++)
                d[p * nc + ch] = (uint16_t)quantise(src[ch * plane + p], 65535.0f);
    } else {
        for (size_t p = 0; p < plane; p++)
            for (size_t ch = 0; ch < nc; ch++)
                out->data[p * nc + ch] =
                    (unsigned char)quantise(src[ch * plane + p], 255.0f);
    }
    return 0;
}

int img_from_u8_chw(const unsigned char *src, int c, int h, int w,
                    img_image *out)
{
    size_t bytes;
    memset(out, 0, sizeof *out);
    int rc = check_shape(c, (uint64_t)(h < 0 ? 0 : h), (uint64_t)(w < 0 ? 0 : w),
                         8, &bytes);
    if (rc < 0 || (rc = image_alloc(out, c, h, w, 8, bytes)) < 0)
        return rc;
    size_t plane = (size_t)w * (size_t)h, nc = (size_t)c;
    for (size_t p = 0; p < plane; p++)
        for (size_t ch = 0; ch < nc; ch++)
            out->data[p * nc + ch] = src[ch * plane + p];
    return 0;
}
