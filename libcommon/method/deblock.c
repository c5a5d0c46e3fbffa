/* deblock.c - the deblocking filter; see deblock.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "method/deblock.h"

enum { BLOCK = 8 };

/* One pass across the edges along one axis: pixel i of line l is
 * a[l * ls + i * is]; the lines hold n pixels. */
static void pass(float *a, const float *src, int lines, int n, int ls, int is, double t)
{
    for (int l = 0; l < lines; l++)
        for (int e = BLOCK; e < n; e += BLOCK) {
            const float *s = src + (size_t)l * (size_t)ls;
            float p0 = s[(size_t)(e - 1) * (size_t)is], q0 = s[(size_t)e * (size_t)is];
            float p1 = e - 2 >= 0 ? s[(size_t)(e - 2) * (size_t)is] : p0;
            float q1 = e + 1 < n ? s[(size_t)(e + 1) * (size_t)is] : q0;
            if (!(fabsf(q0 - p0) < t))
                continue;
            float *o = a + (size_t)l * (size_t)ls;
            o[(size_t)(e - 1) * (size_t)is] = (p1 + 2 * p0 + q0) / 4;
            o[(size_t)e * (size_t)is] = (p0 + 2 * q0 + q1) / 4;
        }
}

void dbk_filter(const float *y, int C, int H, int W, double t, float *x, float *tmp)
{
    size_t hw = (size_t)H * (size_t)W;
    memcpy(x, y, sizeof(float) * (size_t)C * hw);
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * hw;
        /* vertical edges (across columns) from y, then horizontal edges
         * from that result: each pass reads what the one before wrote */
        pass(xc, y + (size_t)c * hw, H, W, W, 1, t);
        memcpy(tmp, xc, sizeof(float) * hw);
        pass(xc, tmp, W, H, 1, W, t);
    }
}

int dbk_restore_record(tz_record *rec, const char *yname, const char *xname, double t)
{
    tz_tensor *y = tz_record_find(rec, yname);
    if (!y || y->dtype != TZ_F32 || (y->rank != 3 && y->rank != 4))
        return err_set(ERR_DATA, "deblock needs f32 images '%s' of shape (n,C,H,W) or (n,H,W)",
                       yname);
    if (tz_record_find(rec, xname))
        return err_set(ERR_DATA, "field '%s' is already there", xname);
    int r = y->rank, C = r == 4 ? (int)y->dims[1] : 1;
    int H = (int)y->dims[r - 2], W = (int)y->dims[r - 1];
    size_t d = (size_t)C * (size_t)H * (size_t)W;
    uint64_t n = y->dims[0];
    const float *yv = y->data;
    for (size_t i = 0; i < (size_t)n * d; i++)
        if (!isfinite(yv[i]))
            return err_set(ERR_NUMERIC, "field '%s' holds %s (sample %zu of the record)", yname,
                           isnan(yv[i]) ? "NaN" : "Inf", i / d);
    uint64_t dims[TZ_RANK_MAX];
    memcpy(dims, y->dims, sizeof(uint64_t) * (size_t)r);
    tz_tensor *x = tz_record_add(rec, xname, TZ_F32, r, dims, NULL);
    if (!x)
        return err_code();
    y = tz_record_find(rec, yname);     /* adding may have moved it */
    float *tmp = mem_alloc_array((size_t)H * (size_t)W, sizeof(float));
    if (!tmp)
        return ERR_IO;
    for (uint64_t i = 0; i < n; i++)
        dbk_filter((const float *)y->data + i * d, C, H, W, t, (float *)x->data + i * d, tmp);
    free(tmp);
    return 0;
}
