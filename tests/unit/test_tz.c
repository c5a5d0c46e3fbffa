/* test_tz.c - the stream format: round trips at both layers, segments,
 * and rejection of damaged input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/err.h"
#include "eval/stats.h"
#include "formats/tz.h"

/* A record with every dtype, a plain scalar and attributes. */
static void make_record(tz_record *rec, uint64_t batch, float bias)
{
    tz_record_init(rec, TZ_BATCH);
    uint64_t d4[4] = { batch, 1, 3, 5 }, d1[1] = { batch }, d2[2] = { batch, 7 };
    tz_tensor *x = tz_record_add(rec, "x", TZ_F32, 4, d4, NULL);
    for (uint64_t i = 0; i < tz_tensor_count(x); i++)
        ((float *)x->data)[i] = bias + (float)i * 0.25f;
    tz_tensor *l = tz_record_add(rec, "label", TZ_I32, 1, d1, NULL);
    for (uint64_t i = 0; i < batch; i++)
        ((int32_t *)l->data)[i] = (int32_t)i - 3;
    tz_tensor *m = tz_record_add(rec, "mask", TZ_U8, 2, d2, NULL);
    memset(m->data, 1, tz_tensor_bytes(m));
    tz_tensor *f = tz_record_add(rec, "w64", TZ_F64, 1, d1, NULL);
    ((double *)f->data)[0] = 1e300;
    tz_tensor *k = tz_record_add(rec, "idx", TZ_I64, 1, d1, NULL);
    ((int64_t *)k->data)[0] = -((int64_t)1 << 60);
    tz_record_set_attr(rec, "op", "mask(p=0.5)");
    tz_record_set_attr(rec, "seed", "");
}

static int same_record(const tz_record *a, const tz_record *b)
{
    if (a->kind != b->kind || a->ntensors != b->ntensors || a->nattrs != b->nattrs)
        return 0;
    for (int i = 0; i < a->ntensors; i++) {
        const tz_tensor *s = &a->t[i], *t = &b->t[i];
        if (strcmp(s->name, t->name) || s->dtype != t->dtype || s->rank != t->rank ||
            memcmp(s->dims, t->dims, sizeof(uint64_t) * (size_t)s->rank) ||
            memcmp(s->data, t->data, tz_tensor_bytes(s)))
            return 0;
    }
    for (int i = 0; i < a->nattrs; i++)
        if (strcmp(a->a[i].key, b->a[i].key) || strcmp(a->a[i].val, b->a[i].val))
            return 0;
    return 1;
}

static char *tmp_path(void)
{
    static char path[64];
    strcpy(path, "/tmp/tz-unit-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    return path;
}

/* Write n records at level to path; returns 0 on success. */
static int write_stream(const char *path, int level, int n)
{
    tz_writer *w = tz_writer_open(path, level);
    if (!w)
        return -1;
    for (int i = 0; i < n; i++) {
        tz_record rec;
        make_record(&rec, 4 + (uint64_t)i, (float)i);
        int rc = tz_write(w, &rec);
        tz_record_free(&rec);
        if (rc < 0) {
            tz_writer_abort(w);
            return rc;
        }
    }
    return tz_writer_close(w);
}

/* Read path fully; returns records read, or the negative error. */
static int read_stream(const char *path, int check)
{
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return -100;
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int n = 0, rc;
    while ((rc = tz_read(r, &rec)) == 1) {
        if (check) {
            tz_record want;
            make_record(&want, 4 + (uint64_t)n, (float)n);
            CHECK(same_record(&want, &rec));
            tz_record_free(&want);
        }
        n++;
    }
    tz_record_free(&rec);
    tz_reader_close(r);
    return rc < 0 ? rc : n;
}

void test_tz_roundtrip(void)
{
    char *p = tmp_path();
    CHECK(write_stream(p, 1, 5) == 0);
    CHECK(read_stream(p, 1) == 5);
    CHECK(write_stream(p, 0, 3) == 0);
    CHECK(read_stream(p, 1) == 3);
    CHECK(write_stream(p, 19, 2) == 0);
    CHECK(read_stream(p, 1) == 2);
    /* A plain record with a scalar and differing leading dims. */
    tz_record rec, got;
    tz_record_init(&rec, TZ_PLAIN);
    tz_record_init(&got, TZ_BATCH);
    uint64_t a[2] = { 3, 2 }, b[1] = { 9 };
    CHECK(tz_record_add(&rec, "step", TZ_I64, 0, NULL, NULL) != NULL);
    CHECK(tz_record_add(&rec, "w", TZ_F32, 2, a, NULL) != NULL);
    CHECK(tz_record_add(&rec, "b", TZ_F32, 1, b, NULL) != NULL);
    *(int64_t *)rec.t[0].data = 42;
    tz_writer *w = tz_writer_open(p, 1);
    CHECK(w && tz_write(w, &rec) == 0 && tz_writer_close(w) == 0);
    tz_reader *r = tz_reader_open(p);
    CHECK(tz_read(r, &got) == 1);
    CHECK(same_record(&rec, &got));
    CHECK(tz_read(r, &got) == 0);
    tz_reader_close(r);
    /* The same record as a batch record breaks the batch rule. */
    rec.kind = TZ_BATCH;
    CHECK(tz_record_check(&rec) == ERR_DATA);
    tz_record_free(&rec);
    tz_record_free(&got);
    unlink(p);
}

void test_tz_raw_and_zstd(void)
{
    /* The raw layer that `zstd -dc` gives is what tz_encode_raw makes. */
    tz_record rec;
    make_record(&rec, 6, 1.5f);
    unsigned char *raw;
    size_t len;
    CHECK(tz_encode_raw(&rec, &raw, &len) == 0);
    CHECK(len % 64 == 0);
    CHECK(raw[0] == 0x89 && raw[1] == 'T' && raw[2] == 'Z' && raw[3] == '1');
    char *p = tmp_path();
    tz_writer *w = tz_writer_open(p, 0);
    CHECK(tz_write(w, &rec) == 0 && tz_writer_close(w) == 0);
    FILE *f = fopen(p, "rb");
    unsigned char *back = malloc(len + 64);
    CHECK(fread(back, 1, len + 64, f) == len + 64);   /* + the end record */
    fclose(f);
    CHECK(memcmp(raw, back, len) == 0);
    free(back);
    free(raw);
    tz_record_free(&rec);
    unlink(p);
}

/* Write a 3-record stream, damage it with fn, and return tz's verdict. */
static int damaged(int level, void (*fn)(unsigned char *, size_t *))
{
    char *p = tmp_path();
    write_stream(p, level, 3);
    FILE *f = fopen(p, "rb");
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fn(buf, &n);
    f = fopen(p, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    int rc = read_stream(p, 0);
    unlink(p);
    return rc;
}

static void cut_end(unsigned char *b, size_t *n) { (void)b; *n -= 64; }
static void cut_mid(unsigned char *b, size_t *n) { (void)b; *n = *n / 2; }
static void cut_all(unsigned char *b, size_t *n) { (void)b; *n = 0; }
static void flip_last(unsigned char *b, size_t *n) { b[*n / 2] ^= 0x40; }
static void bad_magic(unsigned char *b, size_t *n) { (void)n; b[1] = 'X'; }
static void bad_dtype(unsigned char *b, size_t *n) { (void)n; b[48] = 99; }
static void big_dim(unsigned char *b, size_t *n)
{
    (void)n;
    /* first tensor "x": descriptor at 48, name 1 byte, dims from 53 */
    memset(b + 53, 0xff, 8);
}
static void small_payload(unsigned char *b, size_t *n)
{
    (void)n;
    b[16] ^= 0x40;   /* payload_len no longer matches the shapes */
}

void test_tz_rejects(void)
{
    CHECK(damaged(1, cut_end) == ERR_DATA);
    CHECK(damaged(1, cut_mid) == ERR_DATA);
    CHECK(damaged(0, cut_mid) == ERR_DATA);
    CHECK(damaged(1, cut_all) == ERR_DATA);
    CHECK(damaged(1, flip_last) == ERR_DATA);
    CHECK(damaged(1, bad_magic) == ERR_DATA);
    CHECK(damaged(0, bad_magic) == ERR_DATA);
    CHECK(damaged(0, bad_dtype) == ERR_DATA);
    CHECK(damaged(0, big_dim) == ERR_DATA);
    CHECK(damaged(0, small_payload) == ERR_DATA);
    /* The message names the file and the record. */
    damaged(0, bad_dtype);
    CHECK(strstr(err_msg(), "record 0") != NULL);
    CHECK(strstr(err_msg(), "dtype") != NULL);
}

void test_tz_concat_segments(void)
{
    char *p = tmp_path();
    char a[80], b[80], cmd[300];
    snprintf(a, sizeof a, "%s.a", p);
    snprintf(b, sizeof b, "%s.b", p);
    CHECK(write_stream(a, 1, 2) == 0);
    CHECK(write_stream(b, 0, 3) == 0);
    snprintf(cmd, sizeof cmd, "cat %s %s > %s", a, b, p);
    CHECK(system(cmd) == 0);
    CHECK(read_stream(p, 0) == 5);
    /* Without the first segment's end record (the last 64 bytes of a raw
     * stream), the second end record counts 3 records after 5: lost. */
    CHECK(write_stream(a, 0, 2) == 0);
    snprintf(cmd, sizeof cmd, "head -c -64 %s | cat - %s > %s", a, b, p);
    CHECK(system(cmd) == 0);
    CHECK(read_stream(p, 0) == ERR_DATA);
    CHECK(strstr(err_msg(), "lost") != NULL);
    unlink(a);
    unlink(b);
    unlink(p);
}

void test_tz_convert(void)
{
    double d[4] = { 0, 255, -3, 2.5 };
    uint8_t u[4];
    int32_t i[4];
    float f[4];
    CHECK(tz_convert(d, TZ_F64, u, TZ_U8, 2) == 0 && u[0] == 0 && u[1] == 255);
    CHECK(tz_convert(d, TZ_F64, u, TZ_U8, 3) == ERR_DATA);     /* -3 */
    CHECK(strstr(err_msg(), "element 2") != NULL);
    CHECK(tz_convert(d, TZ_F64, i, TZ_I32, 3) == 0 && i[2] == -3);
    CHECK(tz_convert(d, TZ_F64, i, TZ_I32, 4) == ERR_DATA);    /* 2.5 */
    CHECK(tz_convert(d, TZ_F64, f, TZ_F32, 4) == 0 && f[3] == 2.5f);
    int64_t big[1] = { ((int64_t)1 << 40) };
    CHECK(tz_convert(big, TZ_I64, i, TZ_I32, 1) == ERR_DATA);
}

void test_stats_merge(void)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t d[1] = { 1000 };
    tz_tensor *t = tz_record_add(&rec, "v", TZ_F64, 1, d, NULL);
    double *v = t->data, sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += v[i] = 1e6 + (double)(i % 7);
    v[3] = NAN;
    v[4] = INFINITY;
    stats_acc all, parts;
    stats_init(&all);
    stats_init(&parts);
    stats_add_tensor(&all, t);
    /* The same values in two halves merge to the same moments. */
    t->dims[0] = 500;
    stats_add_tensor(&parts, t);
    t->data = v + 500;
    stats_add_tensor(&parts, t);
    t->data = v;
    t->dims[0] = 1000;
    CHECK(all.nan == 1 && all.inf == 1 && all.n == 998);
    CHECK_NEAR(parts.mean, all.mean, 1e-12);
    CHECK_NEAR(stats_std(&parts), stats_std(&all), 1e-9);
    double m = 0, s2 = 0;
    for (int i = 0; i < 1000; i++)
        if (i != 3 && i != 4)
            m += v[i];
    m /= 998;
    for (int i = 0; i < 1000; i++)
        if (i != 3 && i != 4)
            s2 += (v[i] - m) * (v[i] - m);
    CHECK_NEAR(all.mean, m, 1e-14);
    CHECK_NEAR(stats_std(&all), sqrt(s2 / 998), 1e-9);
    CHECK(all.min == 1e6 && all.max == 1e6 + 6);
    tz_record_free(&rec);
}
