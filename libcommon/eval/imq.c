/* imq.c - image quality; see imq.h. */
#include <math.h>
#include <stdlib.h>

#include "base/err.h"
#include "eval/imq.h"
#include "base/mem.h"

double imq_mse(const float *a, const float *b, size_t n)
{
    if (n == 0)
        return 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)a[i] - b[i];
        s += t * t;
    }
    return s / (double)n;
}

double imq_psnr(double mse, double data_range)
{
    if (mse == 0)
        return INFINITY;
    return 10 * log10(data_range * data_range / mse);
}

int imq_ssim_window(int H, int W)
{
    int w = IMQ_SSIM_WINDOW, small = H < W ? H : W;
    if (small < w)
        w = small % 2 ? small : small - 1;
    return w;
}

/* The five local moments SSIM needs, each an (H-w+1) x (W-w+1) map. */
enum { M_A, M_B, M_AA, M_BB, M_AB, NMOM };

double imq_ssim(const float *a, const float *b, int C, int H, int W,
                double data_range)
{
    if (C < 1 || H < 1 || W < 1 || !(data_range > 0) || !isfinite(data_range)) {
        err_set(ERR_DATA, "SSIM needs an image of at least 1 x 1 x 1 and a data "
                "range > 0; got %d x %d x %d, range %g", C, H, W, data_range);
        return NAN;
    }
    int w = imq_ssim_window(H, W), r = (w - 1) / 2;
    int Ho = H - w + 1, Wo = W - w + 1;
    double g[IMQ_SSIM_WINDOW], gs = 0;
    for (int u = 0; u < w; u++) {
        g[u] = exp(-(double)(u - r) * (u - r) / (2 * IMQ_SSIM_SIGMA * IMQ_SSIM_SIGMA));
        gs += g[u];
    }
    for (int u = 0; u < w; u++)
        g[u] /= gs;
    double c1 = IMQ_SSIM_K1 * data_range, c2 = IMQ_SSIM_K2 * data_range;
    c1 *= c1;
    c2 *= c2;
    /* The window is separable: filter along rows into h (H x Wo per
     * moment), then down the columns of h. */
    double *h = mem_alloc_array((size_t)H * (size_t)Wo, NMOM * sizeof(double));
    if (!h)
        return NAN;
    double total = 0;
    for (int c = 0; c < C; c++) {
        const float *pa = a + (size_t)c * (size_t)H * (size_t)W;
        const float *pb = b + (size_t)c * (size_t)H * (size_t)W;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < Wo; x++) {
                double s[NMOM] = { 0 };
                for (int u = 0; u < w; u++) {
                    double va = pa[(size_t)y * W + x + u], vb = pb[(size_t)y * W + x + u];
                    s[M_A] += g[u] * va;
                    s[M_B] += g[u] * vb;
                    s[M_AA] += g[u] * va * va;
                    s[M_BB] += g[u] * vb * vb;
                    s[M_AB] += g[u] * va * vb;
                }
                for (int k = 0; k < NMOM; k++)
                    h[((size_t)y * Wo + x) * NMOM + k] = s[k];
            }
        /* Each channel's sum is its own, then added: a fixed order. */
        double sc = 0;
        for (int y = 0; y < Ho; y++)
            for (int x = 0; x < Wo; x++) {
                double s[NMOM] = { 0 };
                for (int u = 0; u < w; u++)
                    for (int k = 0; k < NMOM; k++)
                        s[k] += g[u] * h[((size_t)(y + u) * Wo + x) * NMOM + k];
                double ma = s[M_A], mb = s[M_B];
                double va = s[M_AA] - ma * ma, vb = s[M_BB] - mb * mb;
                double cov = s[M_AB] - ma * mb;
                sc += (2 * ma * mb + c1) * (2 * cov + c2)
                      / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            }
        total += sc / ((double)Ho * Wo);
    }
    free(h);
    return total / C;
}

void imq_scores(const float *a, const float *ref, int rank, const uint64_t *dims,
                double data_range, double *s)
{
    size_t d = 1;
    for (int i = 1; i < rank; i++)
        d *= (size_t)dims[i];
    s[IMQ_MSE] = imq_mse(a, ref, d);
    s[IMQ_PSNR] = imq_psnr(s[IMQ_MSE], data_range);
    s[IMQ_SSIM] = NAN;
    if (rank == 3 || rank == 4)
        s[IMQ_SSIM] = imq_ssim(a, ref, rank == 4 ? (int)dims[1] : 1, (int)dims[rank - 2],
                               (int)dims[rank - 1], data_range);
}
