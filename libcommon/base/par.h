/* par.h - split a loop over samples across threads.
 *
 * The range [0, n) is cut into at most `threads` contiguous chunks run in
 * parallel.  Work that draws random numbers keys them by sample index
 * (rng.h), so the results do not depend on the thread count. */
#ifndef PAR_H
#define PAR_H

#include <stdint.h>

typedef void (*par_fn)(void *ctx, uint64_t begin, uint64_t end);

/* Run fn(ctx, begin, end) over chunks of [0, n); returns when all are
 * done.  Falls back to the calling thread when threads <= 1, n is small,
 * or a thread cannot be started. */
void par_for(int threads, uint64_t n, par_fn fn, void *ctx);

/* A chunk that can fail: returns the index in [begin, end) of the first
 * sample that failed (it stops there), or end when all went well. */
typedef uint64_t (*par_try_fn)(void *ctx, uint64_t begin, uint64_t end);

/* par_for over a chunk that can fail; returns the smallest failed index,
 * or n.  Each chunk stops at its own first failure, so the smallest of
 * those is the first failure of the whole range, whatever the thread
 * count: a caller can redo that sample alone to report it. */
uint64_t par_first_failure(int threads, uint64_t n, par_try_fn fn, void *ctx);

#endif
