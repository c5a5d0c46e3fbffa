/* stats.h - running statistics of a tensor field across records.
 *
 * Mean and variance by Chan et al.'s pairwise update of Welford's sums,
 * so a stream of any length is summarised in one pass without
 * cancellation.  NaN and Inf are counted, not folded into the moments. */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

#include "formats/tz.h"

typedef struct {
    uint64_t n;         /* finite values */
    double mean, m2;    /* running mean and sum of squared deviations */
    double min, max;
    uint64_t nan, inf;
} stats_acc;

void stats_init(stats_acc *s);
/* Add every element of t. */
void stats_add_tensor(stats_acc *s, const tz_tensor *t);
/* Population standard deviation of the finite values (0 if none). */
double stats_std(const stats_acc *s);

#endif
