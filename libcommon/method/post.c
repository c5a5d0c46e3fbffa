/* post.c - posterior samples of a group and their means; see post.h. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "method/post.h"

int post_group(model *m, const push_group *g, const push_opts *po, const post_opts *o,
               uint64_t first, float *x, float *all, float *one)
{
    uint64_t n = g->rows;
    size_t D = (size_t)m->net.dim, K = (size_t)o->K;
    for (size_t k = 0; k < K; k++) {
        push_opts p = *po;
        p.seed = o->seed + k * UINT64_C(0x9e3779b97f4a7c15);
        float *dst = K == 1 ? x : one;
        dps_opts d = { po->steps, o->zeta, p.seed, m->x1 };
        int rc = o->dps ? dps_transport(m, g, o->dps, dst, &d, first)
                        : push_transport(m, g, dst, &p, first);
        if (rc < 0)
            return rc;
        if (K == 1) {
            if (all)
                memcpy(all, x, 4 * (size_t)n * D);
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            const float *s = one + i * D;
            float *mean = x + i * D;
            for (size_t j = 0; j < D; j++)
                mean[j] = (k ? mean[j] : 0) + s[j] / (float)K;
            if (all)
                memcpy(all + (i * K + k) * D, s, 4 * D);
        }
    }
    return 0;
}

void post_mean_of_first(const float *all, uint64_t n, size_t D, size_t K, size_t k, float *x)
{
    for (uint64_t i = 0; i < n; i++)
        for (size_t j = 0; j < D; j++) {
            double s = 0;
            for (size_t q = 0; q < k; q++)
                s += all[(i * K + q) * D + j];
            x[i * D + j] = (float)(s / (double)k);
        }
}

int post_parse_counts(const char *list, int K, int *counts, int max)
{
    int n = 0;
    for (const char *p = list; p && *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || k < 1 || k > K || n == max)
            return ERR_USAGE;
        counts[n++] = (int)k;
        p = *end ? end + 1 : end;
    }
    return n;
}
