/* test_dps.c - DPS's guidance, grad_x |y - A x0hat(x)| through a random
 * U-Net and each linear instrument, against central differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/rng.h"
#include "method/dps.h"
#include "ops/fwd.h"
#include "formats/tz.h"

static void fill(float *x, size_t n, uint32_t stream, double scale)
{
    rng_t r;
    rng_init(&r, 47, stream, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&r));
}

/* |y - A (x - t b(x, t))| of sample i, on what was observed, in double. */
static double objective(net *nw, const lin_chain *lc, int C, int H, int W, const float *x,
                        const float *y, const float *mask, const float *angle, double t,
                        int B, int i, float *out, float *work)
{
    int D = nw->dim;
    float tt[8], *r = malloc(4 * (size_t)D), *yo = malloc(4 * (size_t)D);
    for (int k = 0; k < B; k++)
        tt[k] = (float)t;
    net_forward(nw, out, x, NULL, tt, B);
    const float *b = out + (size_t)i * (size_t)(nw->heads * D);
    lin_side sd = { .mask = mask ? mask + (size_t)i * H * W : NULL,
                    .angle = angle ? angle[i] : 0 };
    for (int j = 0; j < D; j++)
        r[j] = x[(size_t)i * D + j] - (float)t * b[j];
    lin_apply(lc, &sd, C, H, W, r, work);
    memcpy(yo, y + (size_t)i * D, 4 * (size_t)D);
    lin_observed(lc, &sd, C, H, W, yo);
    lin_observed(lc, &sd, C, H, W, r);
    double s = 0;
    for (int j = 0; j < D; j++)
        s += ((double)r[j] - yo[j]) * ((double)r[j] - yo[j]);
    free(r), free(yo);
    return sqrt(s);
}

void test_dps_guidance_finite_difference(void)
{
    static const char *specs[] = { "mask:p=0.4:noise=0.05", "blur:sigma=1:noise=0.05",
                                   "motion:k=3:noise=0.05" };
    enum { B = 2, C = 1, H = 8, W = 8, D = C * H * W };
    net_config nc = { .arch = NET_UNET };
    nc.unet = (unet_config){ .C = C, .H = H, .W = W, .heads = 2, .levels = 2,
                             .width = { 4, 8 }, .nmid = 1, .temb = 8, .groups = 2 };
    net nw;
    CHECK(net_init(&nw, &nc, 3) == 0);
    fill(nw.params, nw.nparams, 1, 0.3);    /* a drift that is not zero */
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        fwd_spec spec;
        lin_chain lc;
        CHECK(fwd_parse(specs[s], &spec) == 0 && fwd_linear(&spec, &lc) == 0);
        /* observations of random images through the instrument */
        tz_record in, obs;
        tz_record_init(&in, TZ_BATCH), tz_record_init(&obs, TZ_BATCH);
        uint64_t dims[4] = { B, C, H, W };
        tz_tensor *x0 = tz_record_add(&in, "x", TZ_F32, 4, dims, NULL);
        fill(x0->data, B * D, 2, 1);
        CHECK(fwd_apply(&spec, x0, 0, 0, 5, 1, &obs, "y") == 0);
        const float *y = tz_record_find(&obs, "y")->data;
        tz_tensor *mt = tz_record_find(&obs, "mask"), *at = tz_record_find(&obs, "angle");
        const float *mask = mt ? mt->data : NULL, *angle = at ? at->data : NULL;
        float x[B * D], b[B * D], grad[B * D], out[2 * B * D];
        float *scr = malloc(4 * dps_scratch_floats(&nw, C, H, W, B));
        float *work = malloc(4 * lin_work_floats(C, H, W));
        fill(x, B * D, 3 + (uint32_t)s, 1);
        const double t = 0.6;
        CHECK(dps_guidance(&nw, &lc, C, H, W, x, y, mask, angle, t, B, b, grad, scr) == 0);
        int bad = 0;
        double worst = 0;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < D; j++) {
                float keep = x[i * D + j];
                const float h = 1e-2f;
                x[i * D + j] = keep + h;
                double fp = objective(&nw, &lc, C, H, W, x, y, mask, angle, t, B, i, out, work);
                x[i * D + j] = keep - h;
                double fm = objective(&nw, &lc, C, H, W, x, y, mask, angle, t, B, i, out, work);
                x[i * D + j] = keep;
                double fd = (fp - fm) / (2 * h), an = grad[i * D + j];
                double err = fabs(fd - an) / fmax(5e-2, fabs(fd));
                worst = fmax(worst, err);
                bad += err > 2e-2;
            }
        fprintf(stderr, "  DPS guidance through %s: %d of %d off, worst relative error %.2g\n",
                specs[s], bad, B * D, worst);
        CHECK(bad == 0);
        free(scr), free(work);
        tz_record_free(&in), tz_record_free(&obs);
    }
    net_free(&nw);
}
