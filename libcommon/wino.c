/* wino.c - Winograd F(2x2, 3x3) convolutions; see wino.h.
 *
 * With d a 4 x 4 input tile and g a 3 x 3 kernel, the 2 x 2 output tile is
 * A^T [(G g G^T) .* (B^T d B)] A, where
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * Summed over input channels, the 16 element-wise products become 16
 * matrix products, which OpenBLAS runs. */
#include <cblas.h>
#include <string.h>

#include "wino.h"

size_t wino_tiles(int H, int W)
{
    return (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
}

/* The padded row buffers: 4 rows of 2 ceil(W/2) + 2 columns. */
static size_t row_width(int W)
{
    return (size_t)(2 * ((W + 1) / 2) + 2);
}

size_t wino_scratch(int C, int H, int W, int O)
{
    return 16 * ((size_t)C + (size_t)O) * wino_tiles(H, W) + 4 * row_width(W);
}

void wino_kernels(float *u, const float *w, int O, int C)
{
    size_t oc = (size_t)O * (size_t)C;
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            const float *g = w + ((size_t)o * (size_t)C + (size_t)c) * 9;
            float t[4][3];    /* G g */
            for (int k = 0; k < 3; k++) {
                t[0][k] = g[k];
                t[1][k] = 0.5f * (g[k] + g[3 + k] + g[6 + k]);
                t[2][k] = 0.5f * (g[k] - g[3 + k] + g[6 + k]);
                t[3][k] = g[6 + k];
            }
            float *dst = u + (size_t)o * (size_t)C + (size_t)c;
            for (int r = 0; r < 4; r++) {
                dst[(size_t)(4 * r) * oc] = t[r][0];
                dst[(size_t)(4 * r + 1) * oc] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
                dst[(size_t)(4 * r + 2) * oc] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
                dst[(size_t)(4 * r + 3) * oc] = t[r][2];
            }
        }
}

void wino_kernels_adjoint(float *dw, const float *du, int O, int C)
{
    size_t oc = (size_t)O * (size_t)C;
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            const float *src = du + (size_t)o * (size_t)C + (size_t)c;
            float d[4][4], t[3][4];    /* t = G^T d */
            for (int e = 0; e < 16; e++)
                d[e / 4][e % 4] = src[(size_t)e * oc];
            for (int k = 0; k < 4; k++) {
                t[0][k] = d[0][k] + 0.5f * (d[1][k] + d[2][k]);
                t[1][k] = 0.5f * (d[1][k] - d[2][k]);
                t[2][k] = 0.5f * (d[1][k] + d[2][k]) + d[3][k];
            }
            float *g = dw + ((size_t)o * (size_t)C + (size_t)c) * 9;
            for (int r = 0; r < 3; r++) {
                g[3 * r] += t[r][0] + 0.5f * (t[r][1] + t[r][2]);
                g[3 * r + 1] += 0.5f * (t[r][1] - t[r][2]);
                g[3 * r + 2] += 0.5f * (t[r][1] + t[r][2]) + t[r][3];
            }
        }
}

/* v (16, C, tiles) = B^T d B for every channel and tile of x (C, H, W).
 * Each tile row's four input rows are first copied into zero-padded
 * buffers, so the loop over tiles has no bounds to test. */
static void input_transform(float *v, float *rows, const float *x, int C, int H, int W)
{
    int th = (H + 1) / 2, tw = (W + 1) / 2;
    size_t T = wino_tiles(H, W), rw = row_width(W), ct = (size_t)C * T;
    for (int c = 0; c < C; c++)
        for (int ty = 0; ty < th; ty++) {
            for (int r = 0; r < 4; r++) {
                float *row = rows + (size_t)r * rw;
                int iy = 2 * ty - 1 + r;
                memset(row, 0, sizeof(float) * rw);
                if (iy >= 0 && iy < H)
                    memcpy(row + 1, x + ((size_t)c * (size_t)H + (size_t)iy) * (size_t)W,
                           sizeof(float) * (size_t)W);
            }
            const float *d0 = rows, *d1 = rows + rw, *d2 = rows + 2 * rw, *d3 = rows + 3 * rw;
            float *dst = v + (size_t)c * T + (size_t)ty * (size_t)tw;
            for (int tx = 0; tx < tw; tx++) {
                float t[4][4];    /* B^T d */
                for (int k = 0; k < 4; k++) {
                    int i = 2 * tx + k;
                    t[0][k] = d0[i] - d2[i];
                    t[1][k] = d1[i] + d2[i];
                    t[2][k] = d2[i] - d1[i];
                    t[3][k] = d1[i] - d3[i];
                }
                for (int r = 0; r < 4; r++) {
                    dst[(size_t)(4 * r) * ct + (size_t)tx] = t[r][0] - t[r][2];
                    dst[(size_t)(4 * r + 1) * ct + (size_t)tx] = t[r][1] + t[r][2];
                    dst[(size_t)(4 * r + 2) * ct + (size_t)tx] = t[r][2] - t[r][1];
                    dst[(size_t)(4 * r + 3) * ct + (size_t)tx] = t[r][1] - t[r][3];
                }
            }
        }
}

/* out (O, H, W) += A^T m A for every output channel and tile of
 * m (16, O, tiles); the last row and column of tiles may hang over. */
static void output_transform(float *out, const float *m, int O, int H, int W)
{
    int th = (H + 1) / 2, tw = (W + 1) / 2;
    size_t T = wino_tiles(H, W), ot = (size_t)O * T;
    for (int o = 0; o < O; o++)
        for (int ty = 0; ty < th; ty++) {
            const float *src = m + (size_t)o * T + (size_t)ty * (size_t)tw;
            float *y0 = out + ((size_t)o * (size_t)H + (size_t)(2 * ty)) * (size_t)W;
            float *y1 = 2 * ty + 1 < H ? y0 + W : NULL;
            for (int tx = 0; tx < tw; tx++) {
                float s[4][2];    /* m A */
                for (int r = 0; r < 4; r++) {
                    const float *e = src + (size_t)(4 * r) * ot + (size_t)tx;
                    float a = e[0], b = e[ot], c = e[2 * ot], d = e[3 * ot];
                    s[r][0] = a + b + c;
                    s[r][1] = b - c - d;
                }
                int x0 = 2 * tx;
                y0[x0] += s[0][0] + s[1][0] + s[2][0];
                if (y1)
                    y1[x0] += s[1][0] - s[2][0] - s[3][0];
                if (x0 + 1 < W) {
                    y0[x0 + 1] += s[0][1] + s[1][1] + s[2][1];
                    if (y1)
                        y1[x0 + 1] += s[1][1] - s[2][1] - s[3][1];
                }
            }
        }
}

/* m (16, O, tiles) = A dy A^T for every channel and tile of dy (O, H, W),
 * the adjoint of output_transform; what hangs over the image is zero. */
static void output_adjoint(float *m, const float *dy, int O, int H, int W)
{
    int th = (H + 1) / 2, tw = (W + 1) / 2;
    size_t T = wino_tiles(H, W), ot = (size_t)O * T;
    for (int o = 0; o < O; o++)
        for (int ty = 0; ty < th; ty++) {
            const float *y0 = dy + ((size_t)o * (size_t)H + (size_t)(2 * ty)) * (size_t)W;
            const float *y1 = 2 * ty + 1 < H ? y0 + W : NULL;
            float *dst = m + (size_t)o * T + (size_t)ty * (size_t)tw;
            for (int tx = 0; tx < tw; tx++) {
                int x0 = 2 * tx, in = x0 + 1 < W;
                float a = y0[x0], b = in ? y0[x0 + 1] : 0;
                float c = y1 ? y1[x0] : 0, d = y1 && in ? y1[x0 + 1] : 0;
                float p[4] = { a, a + c, a - c, -c }, q[4] = { b, b + d, b - d, -d };
                for (int r = 0; r < 4; r++) {
                    float *e = dst + (size_t)(4 * r) * ot + (size_t)tx;
                    e[0] = p[r];
                    e[ot] = p[r] + q[r];
                    e[2 * ot] = p[r] - q[r];
                    e[3 * ot] = -q[r];
                }
            }
        }
}

void wino_grad(float *du, float *scratch, const float *x, const float *dy, int C, int H,
               int W, int O)
{
    size_t T = wino_tiles(H, W);
    float *v = scratch, *m = v + 16 * (size_t)C * T, *rows = m + 16 * (size_t)O * T;
    input_transform(v, rows, x, C, H, W);
    output_adjoint(m, dy, O, H, W);
    for (size_t e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int)T, 1.0f,
                    m + e * (size_t)O * T, (int)T, v + e * (size_t)C * T, (int)T, 1.0f,
                    du + e * (size_t)O * (size_t)C, C);
}

void wino_conv(float *out, float *scratch, const float *x, const float *u, int C, int H,
               int W, int O)
{
    size_t T = wino_tiles(H, W);
    float *v = scratch, *m = v + 16 * (size_t)C * T, *rows = m + 16 * (size_t)O * T;
    input_transform(v, rows, x, C, H, W);
    for (size_t e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int)T, C, 1.0f,
                    u + e * (size_t)O * (size_t)C, C, v + e * (size_t)C * T, (int)T, 0.0f,
                    m + e * (size_t)O * T, (int)T);
    output_transform(out, m, O, H, W);
}
