/* test_pairs.c - the training set (method/pairs): loading with the real
 * pairs' fields, the U-Net's side channels first, draws keyed by the step;
 * and model.c's widths parsing and rollback snapshot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/err.h"
#include "formats/tz.h"
#include "method/pairs.h"

enum { N = 5, HW = 16 };

/* Sample i's value j of field f: tells field, sample and place apart. */
static float val(int f, int i, int j)
{
    return (float)(f * 1000 + i * 100 + j);
}

/* A stream of one record: images x0, x1, y, side image m and its real y_m,
 * side scalars s (2 each) and y_s. */
static void write_stream(const char *path)
{
    static const char *img[] = { "x0", "x1", "y", "m", "y_m" }, *sc[] = { "s", "y_s" };
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t d4[4] = { N, 1, 4, 4 }, d2[2] = { N, 2 };
    for (int f = 0; f < 5; f++) {
        tz_tensor *t = tz_record_add(&rec, img[f], TZ_F32, 4, d4, NULL);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < HW; j++)
                ((float *)t->data)[i * HW + j] = val(f, i, j);
    }
    for (int f = 0; f < 2; f++) {
        tz_tensor *t = tz_record_add(&rec, sc[f], TZ_F32, 2, d2, NULL);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < 2; j++)
                ((float *)t->data)[i * 2 + j] = val(5 + f, i, j);
    }
    tz_writer *w = tz_writer_open(path, 0);
    CHECK(w && tz_write(w, &rec) == 0 && tz_writer_close(w) == 0);
    tz_record_free(&rec);
}

static void new_settings(model *m, const char *cond)
{
    memset(m, 0, sizeof *m);
    strcpy(m->x0, "x0");
    strcpy(m->x1, "x1");
    snprintf(m->cond, sizeof m->cond, "%s", cond);
    m->seed = 3;
    m->oc = opt_defaults();
}

void test_pairs_load_draw(void)
{
    char path[] = "/tmp/pairs-unit-XXXXXX";
    close(mkstemp(path));
    write_stream(path);
    char *files[] = { path };
    model m;
    pairs p;
    new_settings(&m, "s,m");
    CHECK(pairs_load(&p, &m, files, 1, 0.5, "y", "y_", NULL) == 0);
    CHECK(p.n == N && p.d == HW && p.dc == 2 + HW && p.ncond == 2);
    CHECK(p.real == 4 && p.rcond == 5);
    /* the U-Net takes the side image m first, in the data and the model */
    pairs_arch a = { NULL, -1, -1, "8", -1, 2, 8 };
    CHECK(pairs_new_model(&p, &m, &a) == 0);
    CHECK(!strcmp(m.cond, "m,s") && p.side_channels == 1);
    CHECK(m.net.dim == HW && m.net.cond == 2 + HW);
    pairs_batch b, c;
    enum { B = 64 };
    CHECK(pairs_batch_alloc(&b, &p, B) == 0 && pairs_batch_alloc(&c, &p, B) == 0);
    pairs_draw(&p, &m, 7, B, &b);
    int reals = 0;
    for (int i = 0; i < B; i++) {
        int idx = (int)((b.x0[i * HW] - val(0, 0, 0)) / 100);
        CHECK(idx >= 0 && idx < N && b.x0[i * HW + 3] == val(0, idx, 3));
        int real = b.x1[i * HW] == val(2, idx, 0);
        CHECK(real || b.x1[i * HW] == val(1, idx, 0));
        reals += real;
        /* the side fields of the same sample, the real pair's if real */
        const float *cd = b.cond + i * (2 + HW);
        CHECK(cd[5] == val(real ? 4 : 3, idx, 5) && cd[HW + 1] == val(real ? 6 : 5, idx, 1));
        CHECK(b.t[i] >= 0 && b.t[i] < 1 && b.z[i * HW] == 0);
    }
    CHECK(reals > 0 && reals < B);
    pairs_draw(&p, &m, 7, B, &c);       /* step 7 again: the same batch */
    CHECK(!memcmp(b.x0, c.x0, sizeof(float) * B * HW) &&
          !memcmp(b.cond, c.cond, sizeof(float) * B * (2 + HW)) &&
          !memcmp(b.t, c.t, sizeof(float) * B));
    pairs_draw(&p, &m, 8, B, &c);
    CHECK(memcmp(b.t, c.t, sizeof(float) * B));
    pairs_batch_free(&b);
    pairs_batch_free(&c);
    model_free(&m);
    pairs_free(&p);

    /* a field missing, or of two sizes */
    new_settings(&m, "nope");
    CHECK(pairs_load(&p, &m, files, 1, 1, "y", NULL, NULL) == ERR_DATA);
    CHECK(strstr(err_msg(), ": record 0: no field 'nope'") != NULL);
    new_settings(&m, "s");
    CHECK(pairs_load(&p, &m, files, 1, 0.5, "y_s", NULL, NULL) == ERR_DATA);
    CHECK(!strcmp(err_msg(), "fields 'x0' and 'y_s' hold different numbers of values "
                  "per sample"));
    unlink(path);
}

void test_model_widths_snapshot(void)
{
    unet_config u;
    memset(&u, 0, sizeof u);
    CHECK(model_parse_widths("8,16", &u) == 0 && u.levels == 2 && u.width[1] == 16);
    CHECK(model_parse_widths("8,x", &u) == ERR_USAGE);
    CHECK(model_parse_widths("", &u) == ERR_USAGE);
    CHECK(model_parse_widths("1,2,3,4,5", &u) == ERR_USAGE);
    CHECK(model_parse_widths("4097", &u) == ERR_USAGE);

    model m;
    new_settings(&m, "");
    net_config c;
    memset(&c, 0, sizeof c);
    c.arch = NET_MLP;
    c.mlp = (mlp_config){ 3, 0, 8, 16, 2, 0 };
    CHECK(model_create(&m, &c) == 0);
    model_snapshot s;
    CHECK(model_snapshot_alloc(&s, &m) == 0 && (s.ema != NULL) == (m.os.ema != NULL));
    size_t n = m.net.nparams;
    float *orig = malloc(sizeof(float) * n);
    memcpy(orig, m.net.params, sizeof(float) * n);
    m.os.m[0] = 1;
    model_snapshot_take(&s, &m);
    for (size_t i = 0; i < n; i++)
        m.net.params[i] = NAN;
    m.os.m[0] = 2;
    model_snapshot_restore(&s, &m);
    CHECK(!memcmp(orig, m.net.params, sizeof(float) * n) && m.os.m[0] == 1);
    free(orig);
    model_snapshot_free(&s);
    model_free(&m);
}

/* A part of the data set (a process's share, shards.h): the samples at
 * places i with first <= i mod S < last, across records; the draws the
 * whole set's, the values of the held samples the same. */
void test_pairs_part(void)
{
    char path[] = "/tmp/pairs-unit-XXXXXX";
    close(mkstemp(path));
    write_stream(path);
    char *files[] = { path, path };     /* places 0..9: sample i % N */
    model m;
    pairs all, part;
    new_settings(&m, "s");
    m.ip.g = 0.5;
    pairs_part q = { 3, 1, 3 };
    CHECK(pairs_load(&all, &m, files, 2, 0.5, "y", "y_", NULL) == 0);
    CHECK(pairs_load(&part, &m, files, 2, 0.5, "y", "y_", &q) == 0);
    CHECK(all.n == 2 * N && all.total == 2 * N);
    CHECK(part.n == 6 && part.total == 2 * N);     /* places 1 2 4 5 7 8 */
    static const int held[6] = { 1, 2, 4, 5, 7, 8 };
    for (int k = 0; k < 6; k++)
        CHECK(((float *)part.acc.rec.t[0].data)[k * HW + 2] == val(0, held[k] % N, 2));
    enum { B = 40 };
    pairs_batch a, b;
    CHECK(pairs_batch_alloc(&a, &all, B) == 0 && pairs_batch_alloc(&b, &part, B) == 0);
    pairs_draw(&all, &m, 7, B, &a);
    pairs_draw(&part, &m, 7, B, &b);
    CHECK(!memcmp(a.row, b.row, sizeof(uint64_t) * B) && !memcmp(a.t, b.t, sizeof(float) * B) &&
          !memcmp(a.z, b.z, sizeof(float) * B * HW));
    int some = 0;
    for (int i = 0; i < B; i++) {
        if (a.row[i] % 3 == 0)
            continue;
        some++;
        CHECK(!memcmp(a.x0 + i * HW, b.x0 + i * HW, sizeof(float) * HW) &&
              !memcmp(a.x1 + i * HW, b.x1 + i * HW, sizeof(float) * HW) &&
              !memcmp(a.cond + i * 2, b.cond + i * 2, sizeof(float) * 2));
    }
    CHECK(some > 0 && some < B);
    pairs_batch_free(&a);
    pairs_batch_free(&b);
    pairs_free(&all);
    pairs_free(&part);
    /* fewer samples than shards: some process would hold none */
    pairs_part big = { 11, 0, 1 };
    CHECK(pairs_load(&part, &m, files, 2, 1, "y", NULL, &big) == ERR_DATA);
    CHECK(strstr(err_msg(), "10 training samples cannot fill 11 shards") != NULL);
    unlink(path);
}
