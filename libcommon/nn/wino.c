/* wino.c - Winograd F(2x2, 3x3) convolutions; see wino.h.
 *
 * With d a 4 x 4 input tile and g a 3 x 3 kernel, the 2 x 2 output tile is
 * A^T [(G g G^T) .* (B^T d B)] A, where
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * Summed over input channels, the 16 element-wise products become 16
 * matrix products, which OpenBLAS runs.
 *
 * Layout.  An image is split into four planes by the parity of its row
 * and column (after the zero padding), each of (th + 1) x tw1 entries,
 * tw1 = ceil(W/2) + 1.  Tile t = ty tw1 + tx then reads entry (r, k) of
 * its 4 x 4 input at a fixed offset from t in plane (r % 2, k % 2), so the
 * transforms are flat loops over t that vectorise.  The price is one
 * column of tiles per row that lies outside the image (tx = tw1 - 1): its
 * output is dropped, and its output gradient is zero. */
#include <cblas.h>
#include <string.h>

#include "nn/simd.h"
#include "nn/wino.h"

/* Tiles per row (with the column outside) and rows of tiles. */
static int tiles_wide(int W)
{
    return (W + 1) / 2 + 1;
}

static int tiles_high(int H)
{
    return (H + 1) / 2;
}

size_t wino_tiles(int H, int W)
{
    return (size_t)tiles_high(H) * (size_t)tiles_wide(W);
}

/* Floats per plane: the tiles' rows and one more (tile row ty reads plane
 * rows ty and ty + 1), and one entry (column tx + 1 of the last tile). */
static size_t plane_size(int H, int W)
{
    return (size_t)(tiles_high(H) + 1) * (size_t)tiles_wide(W) + 1;
}

size_t wino_scratch(int C, int H, int W, int O)
{
    return 16 * ((size_t)C + (size_t)O) * wino_tiles(H, W) + 4 * plane_size(H, W);
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

/* ---- the vectorised loops over tiles ------------------------------------ */

/* 16 floats; on narrower machines the compiler splits it.  Only additions
 * and subtractions act on it, so every level gives the same bits.  uvec
 * is the same at any alignment: loads and stores through it (GCC lets a
 * vector alias its element type). */
typedef float vec __attribute__((vector_size(64)));
typedef float uvec __attribute__((vector_size(64), aligned(4)));
enum { VN = 16 };
#define LD(p) (*(const uvec *)(p))
#define ST(p, v) (*(uvec *)(p) = (v))

/* The vectors of tiles over [0, T): the last one is moved back to end at
 * T and overlaps its neighbour (the loops only store, so an entry written
 * twice gets the same value).  T >= VN. */
#define FOR_TILES(t, T) \
    for (size_t t0_ = 0, t; t0_ < (T) && (t = t0_ + VN > (T) ? (T) - VN : t0_, 1); t0_ += VN)

/* v + e s + t (e = 4 r + k) = (B^T d B)[r][k] of tile t, d read from the
 * planes p[row parity][column parity]. */
static inline __attribute__((always_inline)) void in_body(float *v, size_t s, float *p[2][2],
                                                          size_t tw1, size_t T)
{
    FOR_TILES(t, T)
    {
        vec d[4][4], b[4][4];
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < 4; k++)
                d[r][k] = LD(p[r % 2][k % 2] + t + (size_t)(r / 2) * tw1 + (size_t)(k / 2));
        for (int k = 0; k < 4; k++) {
            b[0][k] = d[0][k] - d[2][k];
            b[1][k] = d[1][k] + d[2][k];
            b[2][k] = d[2][k] - d[1][k];
            b[3][k] = d[1][k] - d[3][k];
        }
        for (int r = 0; r < 4; r++) {
            ST(v + (size_t)(4 * r) * s + t, b[r][0] - b[r][2]);
            ST(v + (size_t)(4 * r + 1) * s + t, b[r][1] + b[r][2]);
            ST(v + (size_t)(4 * r + 2) * s + t, b[r][2] - b[r][1]);
            ST(v + (size_t)(4 * r + 3) * s + t, b[r][1] - b[r][3]);
        }
    }
}

/* y[i][j][t] = (A^T m A)[i][j] of tile t, m read at m + e s + t. */
static inline __attribute__((always_inline)) void out_body(float *y[2][2], const float *m,
                                                           size_t s, size_t T)
{
    FOR_TILES(t, T)
    {
        vec a[4][2];
        for (int r = 0; r < 4; r++) {
            const float *e = m + (size_t)(4 * r) * s + t;
            vec m0 = LD(e), m1 = LD(e + s), m2 = LD(e + 2 * s), m3 = LD(e + 3 * s);
            a[r][0] = m0 + m1 + m2;
            a[r][1] = m1 - m2 - m3;
        }
        for (int j = 0; j < 2; j++) {
            ST(y[0][j] + t, a[0][j] + a[1][j] + a[2][j]);
            ST(y[1][j] + t, a[1][j] - a[2][j] - a[3][j]);
        }
    }
}

/* m + e s + t = (A dy A^T)[r][k] of tile t, the adjoint of out_body, dy
 * read from y[i][j] + t. */
static inline __attribute__((always_inline)) void adj_body(float *m, size_t s, float *y[2][2],
                                                           size_t T)
{
    FOR_TILES(t, T)
    {
        vec a = LD(y[0][0] + t), b = LD(y[0][1] + t), c = LD(y[1][0] + t), d = LD(y[1][1] + t);
        vec p[4] = { a, a + c, a - c, -c }, q[4] = { b, b + d, b - d, -d };
        for (int r = 0; r < 4; r++) {
            float *e = m + (size_t)(4 * r) * s + t;
            ST(e, p[r]);
            ST(e + s, p[r] + q[r]);
            ST(e + 2 * s, p[r] - q[r]);
            ST(e + 3 * s, -q[r]);
        }
    }
}

typedef struct {
    void (*in)(float *, size_t, float *[2][2], size_t, size_t);
    void (*out)(float *[2][2], const float *, size_t, size_t);
    void (*adj)(float *, size_t, float *[2][2], size_t);
} loops;

#define LOOPS(NAME, ATTR)                                                                   \
    ATTR static void in_##NAME(float *v, size_t s, float *p[2][2], size_t tw1,      \
                               size_t T)                                                    \
    {                                                                                       \
        in_body(v, s, p, tw1, T);                                                           \
    }                                                                                       \
    ATTR static void out_##NAME(float *y[2][2], const float *m, size_t s, size_t T) \
    {                                                                                       \
        out_body(y, m, s, T);                                                               \
    }                                                                                       \
    ATTR static void adj_##NAME(float *m, size_t s, float *y[2][2], size_t T)       \
    {                                                                                       \
        adj_body(m, s, y, T);                                                               \
    }

LOOPS(portable, )
#if defined(__x86_64__) && defined(__GNUC__)
LOOPS(avx2, __attribute__((target("avx2"))))
LOOPS(avx512, __attribute__((target("avx512f"))))
#define WINO_X86 1
#endif

static loops loops_at(int level)
{
#ifdef WINO_X86
    if (level == SIMD_AVX512 && simd_supported(level))
        return (loops){ in_avx512, out_avx512, adj_avx512 };
    if (level == SIMD_AVX2 && simd_supported(level))
        return (loops){ in_avx2, out_avx2, adj_avx2 };
#endif
    return (loops){ in_portable, out_portable, adj_portable };
}

/* ---- planes ------------------------------------------------------------- */

/* The four planes of one channel x (H, W) padded by one zero on every
 * side: padded (py, px) goes to plane (py % 2, px % 2), entry
 * (py / 2) tw1 + px / 2. */
static void split(float *p[2][2], const float *x, int H, int W)
{
    size_t tw1 = (size_t)tiles_wide(W), n = plane_size(H, W);
    for (int i = 0; i < 4; i++)
        memset(p[i / 2][i % 2], 0, sizeof(float) * n);
    for (int iy = 0; iy < H; iy++) {
        int py = iy + 1;
        float *restrict even = p[py % 2][0] + (size_t)(py / 2) * tw1 + 1;
        float *restrict odd = p[py % 2][1] + (size_t)(py / 2) * tw1;
        const float *restrict row = x + (size_t)iy * (size_t)W;
        int half = W / 2;    /* padded column px = ix + 1 */
        for (int k = 0; k < half; k++) {
            odd[k] = row[2 * k];
            even[k] = row[2 * k + 1];
        }
        if (W % 2)
            odd[half] = row[W - 1];
    }
}

/* out (H, W) += the output planes: y[i][j][ty tw1 + tx] goes to row
 * 2 ty + i, column 2 tx + j. */
static void scatter(float *out, float *y[2][2], int H, int W)
{
    size_t tw1 = (size_t)tiles_wide(W);
    for (int oy = 0; oy < H; oy++) {
        float *restrict row = out + (size_t)oy * (size_t)W;
        const float *restrict even = y[oy % 2][0] + (size_t)(oy / 2) * tw1;
        const float *restrict odd = y[oy % 2][1] + (size_t)(oy / 2) * tw1;
        int half = W / 2;
        for (int k = 0; k < half; k++) {
            row[2 * k] += even[k];
            row[2 * k + 1] += odd[k];
        }
        if (W % 2)
            row[W - 1] += even[half];
    }
}

/* The adjoint's input: y[i][j] gets dy (H, W) as scatter places it, and
 * zero where no pixel is (the column of tiles outside the image). */
static void gather(float *y[2][2], const float *dy, int H, int W)
{
    size_t tw1 = (size_t)tiles_wide(W);
    for (int i = 0; i < 4; i++)
        memset(y[i / 2][i % 2], 0, sizeof(float) * (size_t)tiles_high(H) * tw1);
    for (int oy = 0; oy < H; oy++) {
        const float *restrict row = dy + (size_t)oy * (size_t)W;
        float *restrict even = y[oy % 2][0] + (size_t)(oy / 2) * tw1;
        float *restrict odd = y[oy % 2][1] + (size_t)(oy / 2) * tw1;
        int half = W / 2;
        for (int k = 0; k < half; k++) {
            even[k] = row[2 * k];
            odd[k] = row[2 * k + 1];
        }
        if (W % 2)
            even[half] = row[W - 1];
    }
}

/* ---- convolutions ------------------------------------------------------- */

/* One image's pass: the scratch's parts, v (16, C, T), m (16, O, T) and
 * four planes, and the loops of the level. */
typedef struct {
    float *v, *m, *p[2][2];
    loops f;
    size_t T, HW;
} pass;

/* Set up w for an image of C channels of H x W, O outputs, and fill
 * w->v with B^T d B of every tile d of every channel of x (C, H, W), each
 * channel split into the planes first. */
static void start(pass *w, int level, float *scratch, const float *x, int C, int H, int W,
                  int O)
{
    size_t n = plane_size(H, W), tw1 = (size_t)tiles_wide(W);
    w->T = wino_tiles(H, W), w->HW = (size_t)H * (size_t)W;
    w->v = scratch;
    w->m = w->v + 16 * (size_t)C * w->T;
    for (int i = 0; i < 4; i++)
        w->p[i / 2][i % 2] = w->m + 16 * (size_t)O * w->T + (size_t)i * n;
    w->f = loops_at(level);
    for (int c = 0; c < C; c++) {
        split(w->p, x + (size_t)c * w->HW, H, W);
        w->f.in(w->v + (size_t)c * w->T, (size_t)C * w->T, w->p, tw1, w->T);
    }
}

void wino_conv_at(int level, float *out, float *scratch, const float *x, const float *u,
                  int C, int H, int W, int O)
{
    pass w;
    start(&w, level, scratch, x, C, H, W, O);
    size_t T = w.T;
    for (size_t e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int)T, C, 1.0f,
                    u + e * (size_t)O * (size_t)C, C, w.v + e * (size_t)C * T, (int)T, 0.0f,
                    w.m + e * (size_t)O * T, (int)T);
    for (int o = 0; o < O; o++) {
        w.f.out(w.p, w.m + (size_t)o * T, (size_t)O * T, T);
        scatter(out + (size_t)o * w.HW, w.p, H, W);
    }
}

void wino_conv(float *out, float *scratch, const float *x, const float *u, int C, int H,
               int W, int O)
{
    wino_conv_at(simd_level(), out, scratch, x, u, C, H, W, O);
}

void wino_grad_at(int level, float *du, float *scratch, const float *x, const float *dy,
                  int C, int H, int W, int O)
{
    pass w;
    start(&w, level, scratch, x, C, H, W, O);
    size_t T = w.T;
    for (int o = 0; o < O; o++) {
        gather(w.p, dy + (size_t)o * w.HW, H, W);
        w.f.adj(w.m + (size_t)o * T, (size_t)O * T, w.p, T);
    }
    for (size_t e = 0; e < 16; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int)T, 1.0f,
                    w.m + e * (size_t)O * T, (int)T, w.v + e * (size_t)C * T, (int)T, 1.0f,
                    du + e * (size_t)O * (size_t)C, C);
}

void wino_grad(float *du, float *scratch, const float *x, const float *dy, int C, int H,
               int W, int O)
{
    wino_grad_at(simd_level(), du, scratch, x, dy, C, H, W, O);
}
