/* fuzz_npy.c - libFuzzer harness: arbitrary bytes to npy_read through
 * fmemopen.  An array read back must have exactly the bytes its header
 * declares. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;   /* fmemopen refuses a zero-length buffer */
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    npy_header h;
    void *arr;
    size_t bytes, want;
    if (npy_read(f, &h, &arr, &bytes) == 0) {
        if (h.rank < 0 || h.rank > TZ_RANK_MAX || npy_bytes(&h, &want) < 0 ||
            want != bytes || !arr)
            abort();
        volatile unsigned sum = 0;
        for (size_t k = 0; k < bytes; k++)
            sum += ((const unsigned char *)arr)[k];
        free(arr);
    } else if (arr) {
        abort();
    }
    fclose(f);
    return 0;
}
