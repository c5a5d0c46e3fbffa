/* shard.c - one of N shards of a tensor stream; see shard.h. */
#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "formats/shard.h"

/* A decimal number at *p, *p moved past it.  0, or -1 if there is none
 * or it overflows. */
static int number(const char **p, uint64_t *v)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *e;
    errno = 0;
    *v = strtoull(*p, &e, 10);
    *p = e;
    return errno ? -1 : 0;
}

int shard_parse(const char *text, shard_spec *s)
{
    const char *p = text;
    uint64_t i, n;
    if (number(&p, &i) < 0 || *p++ != '/' || number(&p, &n) < 0 || *p || i >= n ||
        n > SHARD_MAX)
        return err_set(ERR_USAGE, "--shard wants I/N with 0 <= I < N <= %d; got '%s'",
                       SHARD_MAX, text);
    s->index = i, s->count = n;
    return 0;
}

/* R i / N, exactly, without overflow: (q N + m) i / N = q i + m i / N,
 * with m i below N^2 <= 2^32. */
static uint64_t edge(uint64_t records, uint64_t i, uint64_t n)
{
    return records / n * i + records % n * i / n;
}

void shard_range(const shard_spec *s, uint64_t records, uint64_t *first, uint64_t *end)
{
    if (!s->count) {
        *first = 0, *end = records;
        return;
    }
    *first = edge(records, s->index, s->count);
    *end = edge(records, s->index + 1, s->count);
}

/* The data records of paths, by reading them through (which also checks
 * the whole input before the shard starts). */
static int count(char *const *paths, int n, uint64_t *records)
{
    tz_reader *r = tz_reader_open_list(paths, n);
    if (!r)
        return err_code();
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    *records = 0;
    while ((rc = tz_read(r, &rec)) == 1)
        ++*records;
    tz_record_free(&rec);
    tz_reader_close(r);
    return rc;
}

tz_reader *shard_open(char *const *paths, int n, const shard_spec *s, uint64_t *rows)
{
    *rows = 0;
    if (!s->count)
        return tz_reader_open_list(paths, n);
    if (tz_reads_stdin(paths, n)) {
        err_set(ERR_USAGE, "--shard reads its input twice: give FILEs, not standard input");
        return NULL;
    }
    uint64_t records = 0, first, end;
    if (count(paths, n, &records) < 0)
        return NULL;
    shard_range(s, records, &first, &end);
    tz_reader *r = tz_reader_open_list(paths, n);
    if (!r)
        return NULL;
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc = 0;
    for (uint64_t k = 0; k < first && (rc = tz_read(r, &rec)) == 1; k++)
        if (rec.kind == TZ_BATCH)
            *rows += tz_record_batch(&rec);
    tz_record_free(&rec);
    if (rc < 0 || (first && rc == 0)) {
        if (rc == 0)    /* the files changed since they were counted */
            err_set(ERR_DATA, "%s: fewer records than a moment ago", tz_reader_name(r));
        tz_reader_close(r);
        return NULL;
    }
    tz_reader_limit(r, end - first);
    return r;
}
