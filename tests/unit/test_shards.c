/* test_shards.c - a training step in shards (method/shards): the tree
 * adds the shards' partial sums in the order shards.h gives, the
 * processes' shares; and a stream's shards (formats/shard): the record
 * ranges, the "I/N" specs, the reader's limit. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/err.h"
#include "formats/shard.h"
#include "method/shards.h"
#include "nn/nn.h"

enum { D = 3, DC = 2, B = 10, S = 5 };

/* A small MLP with side inputs and two heads, its weights all non-zero
 * (a new model's last layer is zero, which leaves the others without a
 * gradient), and a batch of B samples. */
static void setup(model *m, pairs_batch *b)
{
    memset(m, 0, sizeof *m);
    m->seed = 1;
    m->oc = opt_defaults();
    m->ip.g = 0.5, m->ip.denoiser = 1;
    net_config c;
    memset(&c, 0, sizeof c);
    c.arch = NET_MLP;
    c.mlp = (mlp_config){ .dim = D, .cond = DC, .temb = 4, .width = 8, .hidden = 2 };
    CHECK(model_create(m, &c) == 0);
    unsigned v = 12345;
    for (size_t i = 0; i < m->net.nparams; i++) {
        v = v * 1103515245u + 12345u;
        m->net.params[i] = (float)((v >> 8) % 2001) / 1000.0f - 1.0f;
    }
    b->x0 = malloc(sizeof(float) * B * D), b->x1 = malloc(sizeof(float) * B * D);
    b->z = malloc(sizeof(float) * B * D), b->cond = malloc(sizeof(float) * B * DC);
    b->t = malloc(sizeof(float) * B), b->row = malloc(sizeof(uint64_t) * B);
    /* places in a data set: mod S, shard 2 gets six samples, 0 one, 3
     * three, and 1 and 4 none */
    static const uint64_t rows[B] = { 7, 2, 12, 2, 3, 17, 8, 0, 22, 13 };
    memcpy(b->row, rows, sizeof rows);
    for (int i = 0; i < B * D; i++) {
        b->x0[i] = (float)(i % 7) / 7.0f, b->x1[i] = (float)(i % 5) / 5.0f - 0.3f;
        b->z[i] = (float)(i % 3) - 1.0f;
    }
    for (int i = 0; i < B * DC; i++)
        b->cond[i] = (float)(i % 4) / 4.0f;
    for (int i = 0; i < B; i++)
        b->t[i] = (float)(i + 1) / (B + 2);
}

void test_shards_tree_order(void)
{
    model m;
    pairs_batch b;
    setup(&m, &b);
    size_t P = m.net.nparams;
    int HD = 2 * D;
    /* each shard by hand: its samples (those drawn from places = j mod
     * S, in batch order), the whole batch's normaliser; an empty shard
     * adds zeros */
    float *g[S], xt[B * D], target[B * 2 * D], out[B * 2 * D], dout[B * 2 * D];
    float x0[B * D], x1[B * D], z[B * D], t[B], cond[B * DC];
    double sse[S];
    int sizes[S] = { 0 };
    for (int j = 0; j < S; j++) {
        int n = 0;
        for (int i = 0; i < B; i++) {
            if (b.row[i] % S != (uint64_t)j)
                continue;
            memcpy(x0 + n * D, b.x0 + i * D, sizeof(float) * D);
            memcpy(x1 + n * D, b.x1 + i * D, sizeof(float) * D);
            memcpy(z + n * D, b.z + i * D, sizeof(float) * D);
            memcpy(cond + n * DC, b.cond + i * DC, sizeof(float) * DC);
            t[n++] = b.t[i];
        }
        sizes[j] = n;
        g[j] = calloc(P, sizeof(float));
        sse[j] = 0;
        if (!n)
            continue;
        si_make_batch(&m.ip, x0, x1, t, z, n, D, xt, target);
        CHECK(net_forward(&m.net, out, xt, cond, t, n) == 0);
        sse[j] = nn_sse(dout, out, target, (size_t)(n * HD), (size_t)(B * HD));
        net_zero_grad(&m.net);
        net_backward(&m.net, dout, n);
        memcpy(g[j], m.net.grads, sizeof(float) * P);
    }
    CHECK(sizes[0] == 1 && sizes[1] == 0 && sizes[2] == 6 && sizes[3] == 3 && sizes[4] == 0);
    /* shards.h's tree for S = 5: ((0 + 1) + (2 + 3)) + 4 */
    for (size_t k = 0; k < P; k++)
        g[0][k] = ((g[0][k] + g[1][k]) + (g[2][k] + g[3][k])) + g[4][k];
    double want = (((sse[0] + sse[1]) + (sse[2] + sse[3])) + sse[4]) / (B * HD);
    int nonzero = 0;
    for (size_t k = 0; k < P; k++)
        nonzero += g[0][k] != 0;
    CHECK(nonzero > (int)P * 9 / 10);
    shards_comm one = shards_solo();
    shards sh;
    double loss = NAN;
    CHECK(shards_init(&sh, &one, S, B, &m, DC) == 0);
    CHECK(shards_gradient(&sh, &m, &b, &loss) == 0);
    CHECK(loss == want);
    CHECK(!memcmp(m.net.grads, g[0], sizeof(float) * P));
    /* one shard is the batch's own mean squared error, as nn_mse gives it */
    shards_free(&sh);
    CHECK(shards_init(&sh, &one, 1, B, &m, DC) == 0);
    CHECK(shards_gradient(&sh, &m, &b, &loss) == 0);
    si_make_batch(&m.ip, b.x0, b.x1, b.t, b.z, B, D, xt, target);
    CHECK(net_forward(&m.net, out, xt, b.cond, b.t, B) == 0);
    CHECK(loss == nn_mse(dout, out, target, (size_t)(B * HD)));
    shards_free(&sh);
    for (int j = 0; j < S; j++)
        free(g[j]);
    pairs_batch_free(&b);
    model_free(&m);
}

void test_shards_shares(void)
{
    model m;
    pairs_batch b;
    setup(&m, &b);
    /* 3 processes, 7 shards: [0, 2), [2, 4), [4, 7) */
    static const int first[3] = { 0, 2, 4 }, last[3] = { 2, 4, 7 };
    shards sh;
    for (int r = 0; r < 3; r++) {
        shards_comm c = { .rank = r, .ranks = 3 };
        CHECK(shards_init(&sh, &c, 7, B, &m, DC) == 0);
        CHECK(sh.first == first[r] && sh.last == last[r]);
        shards_free(&sh);
        /* the part of the data set it needs: its shards' residues */
        pairs_part part;
        CHECK(shards_part(7, B, &c, &part) == 0);
        CHECK(part.S == 7 && part.first == first[r] && part.last == last[r]);
    }
    shards_comm c = { .rank = 0, .ranks = 3 };
    CHECK(shards_init(&sh, &c, 2, B, &m, DC) == ERR_USAGE);
    CHECK(strstr(err_msg(), "3 processes share 2 shards"));
    shards_comm one = shards_solo();
    CHECK(shards_init(&sh, &one, B + 1, B, &m, DC) == ERR_USAGE);
    CHECK(shards_init(&sh, &one, 0, B, &m, DC) == ERR_USAGE);
    pairs_batch_free(&b);
    model_free(&m);
}

void test_shard_ranges(void)
{
    shard_spec s;
    uint64_t a, e;
    CHECK(shard_parse("2/3", &s) == 0 && s.index == 2 && s.count == 3);
    static const char *bad[] = { "3/3", "1/0", "x/2", "1/", "/2", "-1/2", "1/2/3", "1/2 ",
                                 " 1/2", "0/65537", "99999999999999999999/2", "" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(shard_parse(bad[i], &s) == ERR_USAGE);
    /* contiguous, in order, covering: R i / N rounded down */
    static const uint64_t R[] = { 0, 1, 2, 10, 11, 1000003, UINT64_MAX };
    for (size_t k = 0; k < sizeof R / sizeof *R; k++)
        for (uint64_t n = 1; n <= 7; n++) {
            uint64_t next = 0;
            for (uint64_t i = 0; i < n; i++) {
                s = (shard_spec){ i, n };
                shard_range(&s, R[k], &a, &e);
                CHECK(a == next && e >= a);
                CHECK(e - a == R[k] / n || e - a == R[k] / n + 1);
                next = e;
            }
            CHECK(next == R[k]);
        }
    s = (shard_spec){ 1, 3 };
    shard_range(&s, 10, &a, &e);
    CHECK(a == 3 && e == 6);
    s = (shard_spec){ 0, 0 };
    shard_range(&s, 10, &a, &e);
    CHECK(a == 0 && e == 10);
}

/* shard_open on a stream of 5 records of 1, 2, ... 5 rows, a plain record
 * among them. */
void test_shard_open(void)
{
    char path[] = "/tmp/shard-unit-XXXXXX";
    close(mkstemp(path));
    tz_writer *w = tz_writer_open(path, 0);
    CHECK(w != NULL);
    for (uint64_t k = 0; k < 5; k++) {
        tz_record rec;
        tz_record_init(&rec, k == 2 ? TZ_PLAIN : TZ_BATCH);
        uint64_t dims[1] = { k + 1 };
        CHECK(tz_record_add(&rec, "x", TZ_F32, 1, dims, NULL) != NULL);
        CHECK(tz_write(w, &rec) == 0);
        tz_record_free(&rec);
    }
    CHECK(tz_writer_close(w) == 0);
    char *files[] = { path };
    /* shard 1 of 2: records [2, 5), after the batch rows 1 + 2 */
    shard_spec s = { 1, 2 };
    uint64_t rows = 99;
    tz_reader *r = shard_open(files, 1, &s, &rows);
    CHECK(r != NULL && rows == 3);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t got = 0;
    while (r && tz_read(r, &rec) == 1)
        got = got * 10 + tz_record_find(&rec, "x")->dims[0];
    CHECK(got == 345);
    tz_reader_close(r);
    /* shard 0 of 2: [0, 2), and the reader stops there */
    s = (shard_spec){ 0, 2 };
    r = shard_open(files, 1, &s, &rows);
    got = 0;
    while (r && tz_read(r, &rec) == 1)
        got = got * 10 + tz_record_find(&rec, "x")->dims[0];
    CHECK(r != NULL && rows == 0 && got == 12);
    CHECK(r && tz_read(r, &rec) == 0);
    tz_reader_close(r);
    /* standard input cannot be read twice */
    CHECK(shard_open(files, 0, &s, &rows) == NULL && err_code() == ERR_USAGE);
    char *dash[] = { path, "-" };
    CHECK(shard_open(dash, 2, &s, &rows) == NULL && err_code() == ERR_USAGE);
    tz_record_free(&rec);
    unlink(path);
}
