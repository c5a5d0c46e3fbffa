/* wino.c - Winograd F(4x4, 3x3) convolutions; see wino.h.
 *
 * With d a 6 x 6 input tile and g a 3 x 3 kernel, the 4 x 4 output tile is
 * A^T [(G g G^T) .* (B^T d B)] A, the interpolation points 0, 1, -1, 2, -2
 * and infinity (Lavin and Gray, 2016):
 *   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0 4 -4 -1 1 0;
 *          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0 4  0 -5 0 1],
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
 * Summed over input channels, the 36 element-wise products become 36
 * matrix products, which OpenBLAS runs; the tiles of all the call's images
 * sit side by side in their columns.
 *
 * Layout.  The call's n images stand side by side, each padded by one
 * zero on every side and given tw1 = ceil((W + 1) / 4) tiles of width (4
 * columns each): the right padding of one image is the left padding of
 * the next, at column 4 tw1 of the first.  A tile row holds n tw1 tiles,
 * and the channel is split into sixteen planes by its padded row and
 * column modulo 4, each of th + 1 rows of n tw1 entries.  Tile t = ty n
 * tw1 + tx then reads entry (r, k) of its 6 x 6 input at a fixed offset
 * from t in plane (r % 4, k % 4), so the transforms are flat loops over
 * all the call's tiles that vectorise.  The last tile of an image reads
 * columns of the next image (or of the next row of the first): they reach
 * only its outputs past the image's right edge, which are dropped (their
 * output gradients are zero).  The price is the columns of tiles past
 * the edge: none for W = 4 m - 1, one for W = 4 m (a whole tile whose
 * outputs are all dropped). */
#include <cblas.h>
#include <string.h>

#include "nn/simd.h"
#include "nn/wino.h"

enum { E = 36 };    /* entries of a transformed tile */

/* Tiles per row of one image (4 tw1 >= W + 1 columns: the pixels and one
 * padding), rows of tiles. */
static int tiles_wide(int W)
{
    return (W + 4) / 4;
}

static int tiles_high(int H)
{
    return (H + 3) / 4;
}

/* n rounded up to a multiple of 16. */
static size_t up16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* The tiles of a call: the images' own rounded up to a multiple of 16
 * (the vectors of the loops below), so that with a 64-byte aligned
 * scratch every row of the transformed tiles starts on a cache line; the
 * tiles past theirs read zeros and their outputs are dropped. */
static size_t tiles_all(int n, int H, int W)
{
    return up16((size_t)n * (size_t)tiles_high(H) * (size_t)tiles_wide(W));
}

/* Floats per plane of n images: the tiles' rows and one more (tile row
 * ty reads plane rows ty and ty + 1), and one entry (column tx + 1 of the
 * last tile); enough for every tile of the call, rounded as they are. */
static size_t plane_size(int n, int H, int W)
{
    size_t ld = (size_t)n * (size_t)tiles_wide(W);
    return up16(tiles_all(n, H, W) + ld + 1);
}

size_t wino_kernel_size(int O, int C)
{
    return E * (size_t)O * (size_t)C;
}

size_t wino_scratch(int n, int C, int H, int W, int O)
{
    size_t N = tiles_all(n, H, W);
    return E * ((size_t)C + (size_t)O) * N + 16 * plane_size(n, H, W) +
           4 * (size_t)n * (size_t)tiles_wide(W);
}

/* ---- the kernels' transform, in double ---------------------------------- */

static const double SIXTH = 1.0 / 6, TWELFTH = 1.0 / 12, TWENTYFOURTH = 1.0 / 24;

/* The kernels go QB at a time, each step a loop over the QB of them (the
 * compiler vectorises it). */
enum { QB = 16 };

/* o = G g for a column g = (a, b, c) of three, QB kernels. */
static inline void g_apply(double o[6][QB], const double *a, const double *b, const double *c)
{
    for (int q = 0; q < QB; q++) {
        o[0][q] = 0.25 * a[q];
        o[1][q] = -SIXTH * (a[q] + b[q] + c[q]);
        o[2][q] = -SIXTH * (a[q] - b[q] + c[q]);
        o[3][q] = TWENTYFOURTH * a[q] + TWELFTH * b[q] + SIXTH * c[q];
        o[4][q] = TWENTYFOURTH * a[q] - TWELFTH * b[q] + SIXTH * c[q];
        o[5][q] = c[q];
    }
}

/* o = G^T x, the adjoint, for x = x[0] ... x[5] (each QB long). */
static inline void g_adjoint(double o[3][QB], const double *const x[6])
{
    for (int q = 0; q < QB; q++) {
        o[0][q] = 0.25 * x[0][q] - SIXTH * (x[1][q] + x[2][q]) +
                  TWENTYFOURTH * (x[3][q] + x[4][q]);
        o[1][q] = SIXTH * (x[2][q] - x[1][q]) + TWELFTH * (x[3][q] - x[4][q]);
        o[2][q] = SIXTH * (x[3][q] + x[4][q] - x[1][q] - x[2][q]) + x[5][q];
    }
}

void wino_kernels(float *u, const float *w, int O, int C)
{
    size_t oc = (size_t)O * (size_t)C;
    for (size_t q0 = 0; q0 < oc; q0 += QB) {
        size_t nq = oc - q0 < QB ? oc - q0 : QB;
        double g[9][QB] = { { 0 } }, t[3][6][QB], o[6][QB];    /* t[k] = G g[., k] */
        for (size_t q = 0; q < nq; q++)
            for (int k = 0; k < 9; k++)
                g[k][q] = w[(q0 + q) * 9 + (size_t)k];
        for (int k = 0; k < 3; k++)
            g_apply(t[k], g[k], g[3 + k], g[6 + k]);
        for (int i = 0; i < 6; i++) {
            g_apply(o, t[0][i], t[1][i], t[2][i]);
            for (int j = 0; j < 6; j++)
                for (size_t q = 0; q < nq; q++)
                    u[(size_t)(6 * i + j) * oc + q0 + q] = (float)o[j][q];
        }
    }
}

void wino_kernels_adjoint(float *dw, const float *du, int O, int C)
{
    size_t oc = (size_t)O * (size_t)C;
    for (size_t q0 = 0; q0 < oc; q0 += QB) {
        size_t nq = oc - q0 < QB ? oc - q0 : QB;
        double x[36][QB] = { { 0 } }, t[6][3][QB], o[3][QB];    /* t[i] = du[i, .] G */
        for (int e = 0; e < 36; e++)
            for (size_t q = 0; q < nq; q++)
                x[e][q] = du[(size_t)e * oc + q0 + q];
        for (int i = 0; i < 6; i++) {
            const double *row[6] = { x[6 * i], x[6 * i + 1], x[6 * i + 2],
                                     x[6 * i + 3], x[6 * i + 4], x[6 * i + 5] };
            g_adjoint(t[i], row);
        }
        for (int k = 0; k < 3; k++) {
            const double *col[6] = { t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k] };
            g_adjoint(o, col);
            for (size_t q = 0; q < nq; q++)
                for (int r = 0; r < 3; r++)
                    dw[(q0 + q) * 9 + (size_t)(3 * r + k)] += (float)o[r][q];
        }
    }
}

/* ---- the vectorised loops over tiles ------------------------------------ */

/* 16 floats; on narrower machines the compiler splits it.  Only additions,
 * subtractions and products by exact constants act on it, in one order
 * (the file is compiled without contraction into FMAs: -std=c11), so every
 * level gives the same bits.  uvec is the same at any alignment: loads and
 * stores through it (GCC lets a vector alias its element type). */
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

/* o = B^T d for a column d of six. */
static inline __attribute__((always_inline)) void bt(vec o[6], const vec d[6])
{
    vec s = d[4] - d[2], a = d[3] - d[1];
    o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    o[1] = (d[3] + d[4]) - 4.0f * (d[1] + d[2]);
    o[2] = (d[4] - d[3]) + 4.0f * (d[1] - d[2]);
    o[3] = s + 2.0f * a;
    o[4] = s - 2.0f * a;
    o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

/* o = A^T m for a column m of six. */
static inline __attribute__((always_inline)) void at(vec o[4], const vec m[6])
{
    vec p = m[1] + m[2], q = m[1] - m[2], r = m[3] + m[4], s = m[3] - m[4];
    o[0] = p + r + m[0];
    o[1] = q + 2.0f * s;
    o[2] = p + 4.0f * r;
    o[3] = q + 8.0f * s + m[5];
}

/* o = A y for a column y of four, the adjoint of at(). */
static inline __attribute__((always_inline)) void a(vec o[6], const vec y[4])
{
    vec p = y[0] + y[2], q = y[1] + y[3], r = y[0] + 4.0f * y[2], s = 2.0f * y[1] + 8.0f * y[3];
    o[0] = y[0];
    o[1] = p + q;
    o[2] = p - q;
    o[3] = r + s;
    o[4] = r - s;
    o[5] = y[3];
}

/* v + e s + t (e = 6 i + j) = (B^T d B)[i][j] of tile t, d read from the
 * planes p[row % 4][column % 4]. */
static inline __attribute__((always_inline)) void in_body(float *v, size_t s, float *p[4][4],
                                                          size_t tw1, size_t T)
{
    FOR_TILES(t, T)
    {
        vec b[6][6], d[6], o[6];    /* b = d B, by rows */
        for (int r = 0; r < 6; r++) {
            for (int k = 0; k < 6; k++)
                d[k] = LD(p[r % 4][k % 4] + t + (size_t)(r / 4) * tw1 + (size_t)(k / 4));
            bt(b[r], d);
        }
        for (int j = 0; j < 6; j++) {
            for (int r = 0; r < 6; r++)
                d[r] = b[r][j];
            bt(o, d);
            for (int i = 0; i < 6; i++)
                ST(v + (size_t)(6 * i + j) * s + t, o[i]);
        }
    }
}

/* y[i][j][t] = (A^T m A)[i][j] of tile t, m read at m + e s + t. */
static inline __attribute__((always_inline)) void out_body(float *y[4][4], const float *m,
                                                           size_t s, size_t T)
{
    FOR_TILES(t, T)
    {
        vec c[6][4], d[6], o[4];    /* c = m A, by rows */
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++)
                d[j] = LD(m + (size_t)(6 * i + j) * s + t);
            at(c[i], d);
        }
        for (int q = 0; q < 4; q++) {
            for (int i = 0; i < 6; i++)
                d[i] = c[i][q];
            at(o, d);
            for (int r = 0; r < 4; r++)
                ST(y[r][q] + t, o[r]);
        }
    }
}

/* m + e s + t = (A dy A^T)[i][j] of tile t, the adjoint of out_body, dy
 * read from y[r][q] + t. */
static inline __attribute__((always_inline)) void adj_body(float *m, size_t s, float *y[4][4],
                                                           size_t T)
{
    FOR_TILES(t, T)
    {
        vec c[4][6], d[4], o[6];    /* c = dy A^T, by rows */
        for (int r = 0; r < 4; r++) {
            for (int q = 0; q < 4; q++)
                d[q] = LD(y[r][q] + t);
            a(c[r], d);
        }
        for (int j = 0; j < 6; j++) {
            for (int r = 0; r < 4; r++)
                d[r] = c[r][j];
            a(o, d);
            for (int i = 0; i < 6; i++)
                ST(m + (size_t)(6 * i + j) * s + t, o[i]);
        }
    }
}

/* The shuffles of four-way (de)interleaving, on pairs of vectors (indices
 * 16-31 name the second's entries). */
typedef int ivec __attribute__((vector_size(64)));
static const ivec EVEN = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30 };
static const ivec ODD = { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31 };
static const ivec LO = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23 };
static const ivec HI = { 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };

/* d[b][k] = s[4 k + b], k < L: a padded row dealt to its four column
 * planes, 64 floats at a time by two rounds of even/odd shuffles (the
 * last block moved back to end at L); rows under 16 one by one. */
static inline __attribute__((always_inline)) void deal_body(float *d[4], const float *s,
                                                            size_t L)
{
    if (L < VN) {
        for (size_t k = 0; k < L; k++)
            for (int b = 0; b < 4; b++)
                d[b][k] = s[4 * k + (size_t)b];
        return;
    }
    FOR_TILES(k, L)
    {
        const float *q = s + 4 * k;
        vec a = LD(q), b = LD(q + VN), c = LD(q + 2 * VN), e = LD(q + 3 * VN);
        vec p0 = __builtin_shuffle(a, b, EVEN), p1 = __builtin_shuffle(a, b, ODD);
        vec r0 = __builtin_shuffle(c, e, EVEN), r1 = __builtin_shuffle(c, e, ODD);
        ST(d[0] + k, __builtin_shuffle(p0, r0, EVEN));
        ST(d[1] + k, __builtin_shuffle(p1, r1, EVEN));
        ST(d[2] + k, __builtin_shuffle(p0, r0, ODD));
        ST(d[3] + k, __builtin_shuffle(p1, r1, ODD));
    }
}

/* s[4 k + b] = d[b][k], the inverse. */
static inline __attribute__((always_inline)) void merge_body(float *s, float *d[4], size_t L)
{
    if (L < VN) {
        for (size_t k = 0; k < L; k++)
            for (int b = 0; b < 4; b++)
                s[4 * k + (size_t)b] = d[b][k];
        return;
    }
    FOR_TILES(k, L)
    {
        vec d0 = LD(d[0] + k), d1 = LD(d[1] + k), d2 = LD(d[2] + k), d3 = LD(d[3] + k);
        vec p0 = __builtin_shuffle(d0, d2, LO), r0 = __builtin_shuffle(d0, d2, HI);
        vec p1 = __builtin_shuffle(d1, d3, LO), r1 = __builtin_shuffle(d1, d3, HI);
        float *q = s + 4 * k;
        ST(q, __builtin_shuffle(p0, p1, LO));
        ST(q + VN, __builtin_shuffle(p0, p1, HI));
        ST(q + 2 * VN, __builtin_shuffle(r0, r1, LO));
        ST(q + 3 * VN, __builtin_shuffle(r0, r1, HI));
    }
}

typedef struct {
    void (*in)(float *, size_t, float *[4][4], size_t, size_t);
    void (*out)(float *[4][4], const float *, size_t, size_t);
    void (*adj)(float *, size_t, float *[4][4], size_t);
    void (*deal)(float *[4], const float *, size_t);
    void (*merge)(float *, float *[4], size_t);
} loops;

#define LOOPS(NAME, ATTR)                                                                   \
    ATTR static void in_##NAME(float *v, size_t s, float *p[4][4], size_t tw1,      \
                               size_t T)                                                    \
    {                                                                                       \
        in_body(v, s, p, tw1, T);                                                           \
    }                                                                                       \
    ATTR static void out_##NAME(float *y[4][4], const float *m, size_t s, size_t T) \
    {                                                                                       \
        out_body(y, m, s, T);                                                               \
    }                                                                                       \
    ATTR static void adj_##NAME(float *m, size_t s, float *y[4][4], size_t T)       \
    {                                                                                       \
        adj_body(m, s, y, T);                                                               \
    }                                                                                       \
    ATTR static void deal_##NAME(float *d[4], const float *s, size_t L)             \
    {                                                                                       \
        deal_body(d, s, L);                                                                 \
    }                                                                                       \
    ATTR static void merge_##NAME(float *s, float *d[4], size_t L)                  \
    {                                                                                       \
        merge_body(s, d, L);                                                                \
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
        return (loops){ in_avx512, out_avx512, adj_avx512, deal_avx512, merge_avx512 };
    if (level == SIMD_AVX2 && simd_supported(level))
        return (loops){ in_avx2, out_avx2, adj_avx2, deal_avx2, merge_avx2 };
#endif
    return (loops){ in_portable, out_portable, adj_portable, deal_portable, merge_portable };
}

/* ---- planes ------------------------------------------------------------- */

/* Padded pixel (py, px) of image i lives in plane (py % 4, px % 4) at
 * entry (py / 4) ld + i tw1 + px / 4, ld = n tw1 the planes' row; so does
 * output pixel (oy, ox) of image i in the output planes (the entry
 * (oy % 4, ox % 4) of its tile).  A row of all n images goes through a
 * wide row of 4 ld floats, image i's padded columns from 4 i tw1 on: the
 * images' rows are copied in or out of it whole, and it is dealt to (or
 * merged from) the planes by the level's vector loops. */

/* The planes' row ry, column phases 0-3, of row phase a. */
static void plane_row(float *d[4], float *p[4][4], int a, size_t ry, size_t ld)
{
    for (int b = 0; b < 4; b++)
        d[b] = p[a][b] + ry * ld;
}

/* ---- convolutions ------------------------------------------------------- */

/* One call's pass over n images: the scratch's parts, v (36, C, N) and
 * m (36, O, N) for the N tiles, sixteen planes of ld-float rows, and the
 * loops of the level. */
typedef struct {
    float *v, *m, *p[4][4], *wide;
    loops f;
    simd_silu_fn silu;
    int n, H, W;
    size_t N, HW, ld, tw1, plane;
} pass;

/* Zero the planes and the wide row: the entries of no pixel. */
static void zero_planes(pass *w)
{
    memset(w->p[0][0], 0, sizeof(float) * (16 * w->plane + 4 * w->ld));
}

/* The planes of channel c of the images x (n, C, H, W), pixel (y, x) at
 * (y + pad, x + pad): pad 1, the input's padded planes (the padding's
 * entries stay as the caller zeroed them); pad 0, the output planes where
 * scatter would take them (the entries of no pixel: the wide row's zeros). */
static void deal_rows(pass *w, const float *x, const wino_pre *pre, int C, int c, int pad)
{
    float *d[4];
    for (int iy = 0; iy < w->H; iy++) {
        for (int i = 0; i < w->n; i++) {
            float *restrict row = w->wide + 4 * (size_t)i * w->tw1 + (size_t)pad;
            const float *restrict src =
                x + (((size_t)i * (size_t)C + (size_t)c) * w->HW + (size_t)iy * w->W);
            if (!pre) {
                memcpy(row, src, sizeof(float) * (size_t)w->W);
                continue;
            }
            float a = pre->scale[(size_t)i * (size_t)C + (size_t)c];
            float b = pre->shift[(size_t)i * (size_t)C + (size_t)c];
            for (int k = 0; k < w->W; k++)
                row[k] = src[k] * a + b;
        }
        /* the SiLU of the whole wide row at once: its zeros stay 0 */
        if (pre)
            w->silu(w->wide, w->wide, 4 * w->ld);
        int py = iy + pad;
        plane_row(d, w->p, py % 4, (size_t)(py / 4), w->ld);
        w->f.deal(d, w->wide, w->ld);
    }
}

/* out (n, O, H, W), channel o, += the output planes; = them + the terms
 * if t (the rows are in L1: a pass per term costs nothing). */
static void scatter(pass *w, float *out, const wino_terms *t, int O, int o)
{
    float *d[4];
    for (int oy = 0; oy < w->H; oy++) {
        plane_row(d, w->p, oy % 4, (size_t)(oy / 4), w->ld);
        w->f.merge(w->wide, d, w->ld);
        for (int i = 0; i < w->n; i++) {
            size_t at = ((size_t)i * (size_t)O + (size_t)o) * w->HW + (size_t)oy * w->W;
            float *restrict row = out + at;
            const float *restrict src = w->wide + 4 * (size_t)i * w->tw1;
            if (!t) {
                for (int ox = 0; ox < w->W; ox++)
                    row[ox] += src[ox];
                continue;
            }
            float b = t->bias ? t->bias[o] : 0.0f;
            if (t->bias)
                for (int ox = 0; ox < w->W; ox++)
                    row[ox] = src[ox] + b;
            else
                memcpy(row, src, sizeof(float) * (size_t)w->W);
            if (t->sbias) {
                b = t->sbias[(size_t)i * (size_t)O + (size_t)o];
                for (int ox = 0; ox < w->W; ox++)
                    row[ox] += b;
            }
            if (t->res) {
                const float *restrict r = t->res + at;
                for (int ox = 0; ox < w->W; ox++)
                    row[ox] += r[ox];
            }
        }
    }
}

/* Set up w and fill w->v with B^T d B of every tile d of every channel
 * of the images x (n, C, H, W). */
static void start(pass *w, int level, float *scratch, const float *x, const wino_pre *pre,
                  int n, int C, int H, int W, int O)
{
    w->n = n, w->H = H, w->W = W;
    w->silu = simd_silu_for(level);
    w->tw1 = (size_t)tiles_wide(W), w->ld = (size_t)n * w->tw1;
    w->N = tiles_all(n, H, W), w->HW = (size_t)H * (size_t)W;
    w->plane = plane_size(n, H, W);
    w->v = scratch;
    w->m = w->v + E * (size_t)C * w->N;
    for (int k = 0; k < 16; k++)
        w->p[k / 4][k % 4] = w->m + E * (size_t)O * w->N + (size_t)k * w->plane;
    w->wide = w->p[3][3] + w->plane;
    w->f = loops_at(level);
    zero_planes(w);
    for (int c = 0; c < C; c++) {
        deal_rows(w, x, pre, C, c, 1);
        w->f.in(w->v + (size_t)c * w->N, (size_t)C * w->N, w->p, w->ld, w->N);
    }
}

void wino_conv_at(int level, float *out, float *scratch, const float *x, const wino_pre *pre,
                  const float *u, const wino_terms *t, int n, int C, int H, int W, int O)
{
    pass w;
    start(&w, level, scratch, x, pre, n, C, H, W, O);
    size_t N = w.N;
    for (size_t e = 0; e < E; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int)N, C, 1.0f,
                    u + e * (size_t)O * (size_t)C, C, w.v + e * (size_t)C * N, (int)N, 0.0f,
                    w.m + e * (size_t)O * N, (int)N);
    for (int o = 0; o < O; o++) {
        w.f.out(w.p, w.m + (size_t)o * N, (size_t)O * N, N);
        scatter(&w, out, t, O, o);
    }
}

void wino_conv(float *out, float *scratch, const float *x, const wino_pre *pre, const float *u,
               const wino_terms *t, int n, int C, int H, int W, int O)
{
    wino_conv_at(simd_level(), out, scratch, x, pre, u, t, n, C, H, W, O);
}

void wino_grad_at(int level, float *du, float *scratch, const float *x, const float *dy,
                  int add, int n, int C, int H, int W, int O)
{
    pass w;
    start(&w, level, scratch, x, NULL, n, C, H, W, O);
    size_t N = w.N;
    zero_planes(&w);    /* split's entries are not gather's */
    for (int o = 0; o < O; o++) {
        deal_rows(&w, dy, NULL, O, o, 0);
        w.f.adj(w.m + (size_t)o * N, (size_t)O * N, w.p, N);
    }
    for (size_t e = 0; e < E; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int)N, 1.0f,
                    w.m + e * (size_t)O * N, (int)N, w.v + e * (size_t)C * N, (int)N,
                    add ? 1.0f : 0.0f, du + e * (size_t)O * (size_t)C, C);
}

void wino_grad(float *du, float *scratch, const float *x, const float *dy, int add, int n,
               int C, int H, int W, int O)
{
    wino_grad_at(simd_level(), du, scratch, x, dy, add, n, C, H, W, O);
}
