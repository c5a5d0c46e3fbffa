/* stats.c - running statistics; see stats.h. */
#include <math.h>
#include <string.h>

#include "eval/stats.h"

void stats_init(stats_acc *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

void stats_add_tensor(stats_acc *s, const tz_tensor *t)
{
    /* Moments of this tensor alone, then merged (Chan et al. 1979). */
    uint64_t n = tz_tensor_count(t), k = 0;
    double mean = 0, m2 = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = tz_tensor_get(t, i);
        if (isnan(x)) {
            s->nan++;
            continue;
        }
        if (isinf(x)) {
            s->inf++;
            continue;
        }
        if (x < s->min)
            s->min = x;
        if (x > s->max)
            s->max = x;
        k++;
        double d = x - mean;
        mean += d / (double)k;
        m2 += d * (x - mean);
    }
    if (k == 0)
        return;
    double tot = (double)(s->n + k), d = mean - s->mean;
    s->mean += d * (double)k / tot;
    s->m2 += m2 + d * d * (double)s->n * (double)k / tot;
    s->n += k;
}

double stats_std(const stats_acc *s)
{
    return s->n ? sqrt(s->m2 / (double)s->n) : 0.0;
}
