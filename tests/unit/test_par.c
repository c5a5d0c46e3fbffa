/* test_par.c - par_for on its pool: every index once, from nested calls,
 * from two threads at once, and call after call. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "base/par.h"

typedef struct {
    _Atomic int *hits;
    int nested;         /* each index runs a par_for of its own */
    _Atomic int *inner;
} count_job;

static void count_inner(void *ctx, uint64_t b, uint64_t e)
{
    _Atomic int *inner = ctx;
    for (uint64_t i = b; i < e; i++)
        atomic_fetch_add(&inner[i], 1);
}

static void count(void *ctx, uint64_t b, uint64_t e)
{
    count_job *j = ctx;
    for (uint64_t i = b; i < e; i++) {
        atomic_fetch_add(&j->hits[i], 1);
        if (j->nested)
            par_for(3, 5, count_inner, j->inner + 5 * i);
    }
}

/* 1 if every one of the n counters is `want`. */
static int all(_Atomic int *c, size_t n, int want)
{
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&c[i]) != want)
            return 0;
    return 1;
}

enum { N = 1000 };

static void *caller(void *arg)
{
    count_job *j = arg;
    for (int r = 0; r < 200; r++)
        par_for(4, N, count, j);
    return NULL;
}

void test_par_pool(void)
{
    _Atomic int *hits = calloc(N, sizeof *hits), *hits2 = calloc(N, sizeof *hits2);
    _Atomic int *inner = calloc(5 * N, sizeof *inner);
    count_job j = { hits, 0, NULL };
    for (int threads = 1; threads <= 8; threads++)
        par_for(threads, N, count, &j);
    CHECK(all(hits, N, 8));
    /* fewer indices than threads, and none */
    par_for(8, 3, count, &j);
    CHECK(atomic_load(&hits[2]) == 9 && atomic_load(&hits[3]) == 8);
    par_for(8, 0, count, &j);
    /* a chunk that calls par_for itself */
    count_job nest = { hits2, 1, inner };
    par_for(2, N, count, &nest);
    CHECK(all(hits2, N, 1) && all(inner, 5 * N, 1));
    /* two threads calling at once, 200 calls each */
    count_job a = { calloc(N, sizeof *hits), 0, NULL }, b = { calloc(N, sizeof *hits), 0, NULL };
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, caller, &a) == 0 && pthread_create(&tb, NULL, caller, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(all(a.hits, N, 200) && all(b.hits, N, 200));
    free(hits), free(hits2), free(inner), free(a.hits), free(b.hits);
}
