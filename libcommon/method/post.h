/* post.h - posterior samples of a group of records' observations: K
 * transports (the SDE, or the ODE once) or K DPS runs of each, their
 * mean, and the means of the first k, the step restore(1) is made of.
 *
 * Sample k of K draws its noise with seed (seed + k * 0x9e3779b97f4a7c15),
 * keyed by the observation's index in the stream, so the samples do not
 * depend on the batching; sample 0 is keyed by the seed alone, so K = 1 is
 * pushback's (or one DPS run's). */
#ifndef POST_H
#define POST_H

#include <stddef.h>
#include <stdint.h>

#include "method/dps.h"
#include "method/push.h"

typedef struct {
    int K;                  /* samples per observation */
    const lin_chain *dps;   /* DPS through this instrument, or NULL: the transport */
    double zeta;            /* DPS's guidance step */
    uint64_t seed;
} post_opts;

/* x (n, D) = the mean of the K samples of the group's n = g->rows
 * observations, the first of stream index first; with `all` (n, K, D) the
 * samples too; `one` (n, D) is scratch (unused for K = 1).  0 or the
 * transport's ERR_*. */
int post_group(model *m, const push_group *g, const push_opts *po, const post_opts *o,
               uint64_t first, float *x, float *all, float *one);

/* x (n, D) = the mean of the first k of the K samples in all (n, K, D),
 * summed in double in sample order and divided once. */
void post_mean_of_first(const float *all, uint64_t n, size_t D, size_t K, size_t k, float *x);

/* The counts of a comma-separated list into counts[] (at most max, each 1
 * to K).  How many, or ERR_USAGE (no message) for a bad list. */
int post_parse_counts(const char *list, int K, int *counts, int max);

#endif
