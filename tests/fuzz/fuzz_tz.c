/* fuzz_tz.c - libFuzzer harness: arbitrary bytes as a tensor stream, read
 * with tz_read until the end or the first error.  Every tensor a record
 * hands back is read whole, so a reader that points past its buffer shows
 * up under AddressSanitizer. */
#include <stdint.h>
#include <stdio.h>

#include "formats/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen refuses a zero-length buffer. */
    static const uint8_t nothing[1];
    FILE *f = size ? fmemopen((void *)data, size, "rb")
                   : fmemopen((void *)nothing, 1, "rb");
    if (!f)
        return 0;
    if (!size)
        fgetc(f);
    tz_reader *r = tz_reader_from_file(f, "fuzz");
    if (r) {
        tz_record rec;
        tz_record_init(&rec, TZ_BATCH);
        volatile unsigned sum = 0;
        while (tz_read(r, &rec) == 1) {
            for (int i = 0; i < rec.ntensors; i++) {
                const unsigned char *p = rec.t[i].data;
                size_t n = tz_tensor_bytes(&rec.t[i]);
                for (size_t k = 0; k < n; k++)
                    sum += p[k];
            }
            for (int i = 0; i < rec.nattrs; i++)
                for (const char *s = rec.a[i].val; *s; s++)
                    sum += (unsigned char)*s;
        }
        tz_record_free(&rec);
        tz_reader_close(r);
    }
    fclose(f);
    return 0;
}
