/* bench_codec.c - throughput of the tensor stream codec on one core.
 *
 * Usage: bench-codec STREAM LEVEL BATCH REPEATS
 * Loads every batch record's samples of STREAM into memory, then times
 * writing them as records of BATCH samples at zstd LEVEL to a file in
 * $TMPDIR, and reading that file back; prints one TSV line:
 * level, batch, payload MB, file MB, write MB/s, read MB/s (best of
 * REPEATS).  MB is 10^6 bytes of raw payload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/batch.h"
#include "tool/cli.h"
#include "formats/tz.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench-codec STREAM LEVEL BATCH REPEATS\n");
        return 1;
    }
    int level = atoi(argv[2]), repeats = atoi(argv[4]);
    uint64_t batch = strtoull(argv[3], NULL, 10);
    batch_acc all;
    batch_init(&all);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    tz_reader *r = tz_reader_open(argv[1]);
    int rc;
    while (r && (rc = tz_read(r, &rec)) == 1)
        batch_append(&all, &rec, 0, tz_record_batch(&rec));
    if (!r || rc < 0) {
        fprintf(stderr, "bench-codec: %s\n", err_msg());
        return 2;
    }
    tz_reader_close(r);
    double payload = 0;
    for (int i = 0; i < all.rec.ntensors; i++)
        payload += (double)tz_tensor_bytes(&all.rec.t[i]);
    char path[256];
    snprintf(path, sizeof path, "%s/bench-codec-%ld.tz",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    double best_w = 1e30, best_r = 1e30;
    long fsize = 0;
    for (int k = 0; k < repeats; k++) {
        double t0 = cli_now();
        tz_writer *w = tz_writer_open(path, level);
        for (uint64_t s = 0; s < all.rows; s += batch) {
            tz_record view;
            batch_view(&view, &all.rec, s, s + batch < all.rows ? s + batch : all.rows);
            tz_write(w, &view);
        }
        if (tz_writer_close(w) < 0) {
            fprintf(stderr, "bench-codec: %s\n", err_msg());
            return 3;
        }
        double t1 = cli_now();
        r = tz_reader_open(path);
        double sum = 0;
        while (tz_read(r, &rec) == 1)
            sum += ((float *)rec.t[0].data)[0];    /* touch the data */
        tz_reader_close(r);
        double t2 = cli_now();
        best_w = t1 - t0 < best_w ? t1 - t0 : best_w;
        best_r = t2 - t1 < best_r ? t2 - t1 : best_r;
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        fsize = ftell(f);
        fclose(f);
        if (sum < -1)
            puts("");
    }
    unlink(path);
    printf("%d\t%llu\t%.1f\t%.1f\t%.0f\t%.0f\n", level, (unsigned long long)batch,
           payload / 1e6, (double)fsize / 1e6, payload / 1e6 / best_w,
           payload / 1e6 / best_r);
    batch_free(&all);
    tz_record_free(&rec);
    return 0;
}
