/* img.h - PNG and JPEG images in memory, and their conversion to and from
 * the float tensors the tools work on.
 *
 * An img_image is interleaved rows: height rows of width pixels of
 * channels samples.  channels is 1 (grey), 2 (grey+alpha), 3 (RGB) or 4
 * (RGBA); depth is 8 (one byte per sample) or 16 (a native uint16_t per
 * sample).  The image owns data; img_free releases it.
 *
 * Decoders take hostile input: any corruption or truncation is ERR_DATA
 * with the codec's reason, images wider or taller than IMG_DIM_MAX or with
 * more than IMG_BYTES_MAX bytes of samples are refused before anything that
 * size is allocated, and neither libpng nor libjpeg is allowed to print. */
#ifndef IMG_H
#define IMG_H

#include <stddef.h>
#include <stdint.h>

#define IMG_DIM_MAX 65535
#define IMG_BYTES_MAX ((size_t)1 << 30)

typedef struct {
    int width, height, channels;
    int depth;                  /* bits per sample: 8 or 16 */
    unsigned char *data;        /* owned; height * width * channels samples */
} img_image;

/* Free the image's data and zero the struct (the struct is the caller's).
 * Safe on a zeroed image and on NULL. */
void img_free(img_image *im);

/* Bytes of the image's samples (0 for an empty image); the dimensions are
 * assumed to be within the caps, as every img_ function leaves them. */
size_t img_bytes(const img_image *im);

/* ---- codecs ---------------------------------------------------------- */

/* Decode the PNG in buf[0..len) into *out (overwritten; free with img_free).
 * Palette images become RGB, or RGBA if they carry transparency (tRNS);
 * grey below 8 bits becomes 8-bit; 16-bit images stay 16-bit.
 * Returns 0, ERR_DATA (corrupt, truncated, over the caps) or ERR_IO (out
 * of memory).  On error *out is left zeroed. */
int img_png_decode(const unsigned char *buf, size_t len, img_image *out);

/* Encode im (depth 8 or 16, channels 1..4) as a PNG into a new buffer
 * *out of *len bytes; the caller frees *out.  Returns 0, ERR_USAGE for an
 * image this cannot describe, or ERR_IO. */
int img_png_encode(const img_image *im, unsigned char **out, size_t *len);

/* Decode the JPEG in buf[0..len) into *out as 8-bit grey or RGB.  CMYK and
 * YCCK images are refused.  libjpeg pads truncated data and reports it as
 * a warning; here every warning about corrupt data is an error.  Returns
 * 0, ERR_DATA or ERR_IO; on error *out is left zeroed. */
int img_jpeg_decode(const unsigned char *buf, size_t len, img_image *out);

/* Encode im (channels 1 or 3, depth 8) as a baseline JPEG of the given
 * quality (1..100, 4:2:0 chroma) into a new buffer *out of *len bytes; the
 * caller frees *out.  The output depends only on the pixels and quality.
 * Returns 0, ERR_USAGE (bad image or quality) or ERR_IO. */
int img_jpeg_encode(const img_image *im, int quality, unsigned char **out,
                    size_t *len);

/* Decode a PNG or a JPEG, told apart by their signatures; anything else is
 * ERR_DATA "not a PNG or JPEG image".  As the decoders above. */
int img_decode(const unsigned char *buf, size_t len, img_image *out);

/* Read the file at path whole and decode it with img_decode.  ERR_IO
 * "PATH: cannot open: reason" if it cannot be opened or read; decoding
 * errors come back as "PATH: reason". */
int img_read_file(const char *path, img_image *out);

/* ---- tensors --------------------------------------------------------- */

/* Write im as floats in [0,1] laid out (channels, height, width): v/255 for
 * depth 8, v/65535 for depth 16.  dst holds channels*height*width floats
 * and is the caller's. */
void img_to_f32_chw(const img_image *im, float *dst);

/* Make *out (overwritten) from a (channels, height, width) float tensor:
 * each value is clamped to [0,1] (NaN becomes 0) and rounded to the
 * nearest of 255 (depth 8) or 65535 (depth 16) steps, so u8 -> f32 -> u8
 * is exact.  Returns 0, ERR_USAGE (bad channels or depth), ERR_DATA (size
 * beyond the caps) or ERR_IO. */
int img_from_f32_chw(const float *src, int channels, int height, int width,
                     int depth, img_image *out);

/* Make an 8-bit *out from a (c, h, w) byte tensor.  Returns as
 * img_from_f32_chw. */
int img_from_u8_chw(const unsigned char *src, int c, int h, int w,
                    img_image *out);

#endif
