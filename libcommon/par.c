/* par.c - split a loop over samples across threads; see par.h. */
#include <pthread.h>

#include "par.h"

#define PAR_THREADS_MAX 64

typedef struct {
    par_fn fn;
    void *ctx;
    uint64_t begin, end;
} chunk;

static void *run_chunk(void *arg)
{
    chunk *c = arg;
    c->fn(c->ctx, c->begin, c->end);
    return NULL;
}

void par_for(int threads, uint64_t n, par_fn fn, void *ctx)
{
    if (threads > PAR_THREADS_MAX)
        threads = PAR_THREADS_MAX;
    if ((uint64_t)threads > n)
        threads = (int)n;
    if (threads <= 1) {
        if (n)
            fn(ctx, 0, n);
        return;
    }
    chunk c[PAR_THREADS_MAX];
    pthread_t tid[PAR_THREADS_MAX];
    int started[PAR_THREADS_MAX] = { 0 };
    for (int t = 0; t < threads; t++) {
        c[t] = (chunk){ fn, ctx, n * (uint64_t)t / (uint64_t)threads,
                        n * (uint64_t)(t + 1) / (uint64_t)threads };
        /* Chunk 0 runs here, on the calling thread. */
        if (t > 0)
            started[t] = pthread_create(&tid[t], NULL, run_chunk, &c[t]) == 0;
    }
    run_chunk(&c[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            run_chunk(&c[t]);
    }
}
