/* sim_awgn - an external simulator for simulate(1), in C: adds Gaussian
 * noise of std SIGMA (argument, default 0.1) to the candidate field and
 * answers with the observation field, of the same shape.
 *
 * It shows the whole protocol: read records from standard input one at a
 * time, answer each at once with one record of as many rows, flush, and
 * finish with the end record and status 0 when the input ends.  The field
 * to read and the one to answer are the attributes "field" and
 * "out_field" that simulate sends (simulate -f and -y; x0 and x1 without
 * them), and random draws are keyed by its "seed" and "first", so the
 * answers do not depend on how the stream is batched.
 *
 * Build (from the top of the tree; `make` does it):
 *   cc -Ilibcommon -I. examples/sim_awgn.c build/rel/libscsi.a \
 *      -lopenblas -lzstd -lpng -ljpeg -lz -lm -lpthread */
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/rng.h"
#include "formats/tz.h"

int main(int argc, char **argv)
{
    double sigma = argc > 1 ? atof(argv[1]) : 0.1;
    tz_reader *in = tz_reader_open("-");
    tz_writer *out = tz_writer_to_file(stdout, 0);    /* raw: no compression */
    tz_record rec, ans;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(in, &rec)) == 1) {
        const char *field = tz_record_attr(&rec, "field");
        const char *yname = tz_record_attr(&rec, "out_field");
        field = field ? field : "x0";
        yname = yname ? yname : "x1";
        const tz_tensor *x = tz_record_find(&rec, field);
        const char *seed = tz_record_attr(&rec, "seed");
        const char *first = tz_record_attr(&rec, "first");
        if (!x || x->dtype != TZ_F32 || !seed || !first) {
            fprintf(stderr, "sim_awgn: need an f32 field '%s' and the seed and "
                    "first attributes\n", field);
            return 1;
        }
        tz_record_init(&ans, TZ_BATCH);
        tz_tensor *y = tz_record_add(&ans, yname, TZ_F32, x->rank, x->dims, NULL);
        uint64_t n = x->dims[0], per = tz_tensor_count(x) / (n ? n : 1);
        for (uint64_t i = 0; i < n; i++) {
            rng_t r;
            rng_init(&r, strtoull(seed, NULL, 10), 1, strtoull(first, NULL, 10) + i);
            for (uint64_t j = 0; j < per; j++)
                ((float *)y->data)[i * per + j] =
                    ((const float *)x->data)[i * per + j] + (float)(sigma * rng_normal(&r));
        }
        if (tz_write(out, &ans) < 0 || fflush(stdout) != 0)
            return 1;
        tz_record_free(&ans);
    }
    if (rc < 0) {
        fprintf(stderr, "sim_awgn: %s\n", err_msg());
        return 1;
    }
    tz_record_free(&rec);
    tz_reader_close(in);
    return tz_writer_close(out) < 0;
}
