/* par.c - split a loop over samples across threads; see par.h.
 *
 * The threads are a pool, started on first use and kept asleep between
 * calls: a layer of a small network is over in tens of microseconds, as
 * long as starting and joining a thread takes.  Before they sleep, the
 * workers (and the caller, waiting for them) spin a few tens of
 * microseconds: under a hypervisor, waking a sleeping core costs about as
 * much again, and a network's next layer usually comes sooner.  One call
 * uses the pool at
 * a time; a call made meanwhile from another thread, or from inside a
 * chunk, runs its chunks on new threads as before, or on its own. */
#include <pthread.h>
#include <stdatomic.h>

#include "base/par.h"

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

static chunk cut(par_fn fn, void *ctx, uint64_t n, int t, int threads)
{
    return (chunk){ fn, ctx, n * (uint64_t)t / (uint64_t)threads,
                    n * (uint64_t)(t + 1) / (uint64_t)threads };
}

/* Without the pool: a thread per chunk, chunk 0 on the caller. */
static void spawn(int threads, uint64_t n, par_fn fn, void *ctx)
{
    chunk c[PAR_THREADS_MAX];
    pthread_t tid[PAR_THREADS_MAX];
    int started[PAR_THREADS_MAX] = { 0 };
    for (int t = 0; t < threads; t++) {
        c[t] = cut(fn, ctx, n, t, threads);
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

/* The pool.  Worker w runs chunk w + 1 of each call that has one. */
static pthread_mutex_t g_use = PTHREAD_MUTEX_INITIALIZER;    /* one call at a time */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;     /* the fields below */
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER, g_done = PTHREAD_COND_INITIALIZER;
static int g_workers, g_atfork;
static _Atomic uint64_t g_call;         /* calls so far: a worker's signal to look */
static uint64_t g_born[PAR_THREADS_MAX]; /* g_call when each worker was made */
static chunk g_chunk[PAR_THREADS_MAX];
static int g_chunks;                    /* chunks of this call */
static _Atomic int g_left;              /* chunks not yet done by workers */

enum { SPINS = 4000 };                  /* about 50 microseconds */

/* Wait until *v differs from `from`, spinning at most SPINS times; 1 if
 * it did. */
static int spin_u64(_Atomic uint64_t *v, uint64_t from)
{
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(v, memory_order_acquire) != from)
            return 1;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    return 0;
}

static int spin_zero(_Atomic int *v)
{
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(v, memory_order_acquire) == 0)
            return 1;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    return 0;
}
static _Thread_local int t_worker;      /* this thread is one of the pool's */

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    uint64_t seen = 0;
    t_worker = 1;
    pthread_mutex_lock(&g_mu);
    seen = g_born[w];
    for (;;) {
        if (g_call == seen) {
            pthread_mutex_unlock(&g_mu);
            spin_u64(&g_call, seen);
            pthread_mutex_lock(&g_mu);
        }
        while (g_call == seen)
            pthread_cond_wait(&g_wake, &g_mu);
        seen = g_call;
        if (w + 1 >= g_chunks)
            continue;
        chunk c = g_chunk[w + 1];
        pthread_mutex_unlock(&g_mu);
        run_chunk(&c);
        pthread_mutex_lock(&g_mu);
        if (--g_left == 0)
            pthread_cond_signal(&g_done);
    }
    return NULL;
}

/* A child of fork() has none of the parent's workers. */
static void forget_pool(void)
{
    g_workers = 0;
    pthread_mutex_init(&g_use, NULL);
    pthread_mutex_init(&g_mu, NULL);
    pthread_cond_init(&g_wake, NULL);
    pthread_cond_init(&g_done, NULL);
}

/* Grow the pool to `want` workers (under g_mu); the number it has. */
static int grow(int want)
{
    if (!g_atfork)
        g_atfork = pthread_atfork(NULL, NULL, forget_pool) == 0;
    while (g_workers < want) {
        pthread_t tid;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* A worker made for this call must take it, however late it
         * starts. */
        g_born[g_workers] = g_call;
        int ok = pthread_create(&tid, &attr, worker, (void *)(intptr_t)g_workers) == 0;
        pthread_attr_destroy(&attr);
        if (!ok)
            break;
        g_workers++;
    }
    return g_workers;
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
    if (t_worker || pthread_mutex_trylock(&g_use) != 0) {
        spawn(threads, n, fn, ctx);
        return;
    }
    pthread_mutex_lock(&g_mu);
    if (grow(threads - 1) < threads - 1) {
        pthread_mutex_unlock(&g_mu);
        pthread_mutex_unlock(&g_use);
        spawn(threads, n, fn, ctx);
        return;
    }
    for (int t = 0; t < threads; t++)
        g_chunk[t] = cut(fn, ctx, n, t, threads);
    g_chunks = threads;
    g_left = threads - 1;
    g_call++;
    pthread_cond_broadcast(&g_wake);
    pthread_mutex_unlock(&g_mu);
    run_chunk(&g_chunk[0]);
    spin_zero(&g_left);
    pthread_mutex_lock(&g_mu);
    while (g_left > 0)
        pthread_cond_wait(&g_done, &g_mu);
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_unlock(&g_use);
}

typedef struct {
    par_try_fn fn;
    void *ctx;
    _Atomic uint64_t first;
} try_job;

static void try_chunk(void *ctx, uint64_t begin, uint64_t end)
{
    try_job *j = ctx;
    uint64_t bad = j->fn(j->ctx, begin, end);
    if (bad >= end)
        return;
    uint64_t cur = atomic_load(&j->first);
    while (bad < cur && !atomic_compare_exchange_weak(&j->first, &cur, bad))
        ;
}

uint64_t par_first_failure(int threads, uint64_t n, par_try_fn fn, void *ctx)
{
    try_job j = { fn, ctx, n };
    par_for(threads, n, try_chunk, &j);
    return atomic_load(&j.first);
}
