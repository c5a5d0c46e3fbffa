/* fuzz_img.c - libFuzzer harness: arbitrary bytes to img_decode (PNG or
 * JPEG by signature).  A decoded image is read whole and checked against
 * its declared shape. */
#include <stdint.h>
#include <stdlib.h>

#include "formats/img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    img_image im;
    if (img_decode(data, size, &im) == 0) {
        if (im.width < 1 || im.height < 1 || im.width > IMG_DIM_MAX ||
            im.height > IMG_DIM_MAX || im.channels < 1 || im.channels > 4 ||
            (im.depth != 8 && im.depth != 16) || img_bytes(&im) > IMG_BYTES_MAX)
            abort();
        volatile unsigned sum = 0;
        size_t n = img_bytes(&im);
        for (size_t k = 0; k < n; k++)
            sum += im.data[k];
        img_free(&im);
    } else if (im.data) {
        abort();    /* a failed decode must leave the image empty */
    }
    return 0;
}
