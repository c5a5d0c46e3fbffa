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

#endif
