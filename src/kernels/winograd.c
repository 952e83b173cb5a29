/* Winograd F(4x4, 3x3): see winograd.h.
 *
 * With d a 6x6 input tile, g a 3x3 kernel and Y the 4x4 output tile
 * (Lavin & Gray 2016, interpolation points 0, +-1, +-2, infinity):
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * The elementwise product, summed over input channels, is 36 independent
 * GEMMs, one per position p of the 6x6 transformed tile:
 *     M[p][tile][oc] = sum_ic V[p][tile][ic] * U[p][ic][oc].
 * Every transform works on 16 channels at once (one vector), which is why
 * the blocked layout suits it: a pixel's 16 channels are contiguous.
 *
 * The vectors are GCC/Clang vector extensions rather than intrinsics: one
 * AVX-512 register each, and on other targets the same code still builds
 * and gives the same results, only slowly (tpl_wino_fast says which).
 * CMakeLists.txt compiles this file with -ffp-contract=fast, which ISO C
 * mode otherwise turns off, so that a * b + c becomes one FMA. */
#include "winograd.h"

#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
enum { VL = TPL_WINO_CHANNEL_BLOCK, TILE = 4, IN = 6, POS = 36 };
/* Tiles per GEMM micro-kernel: 8 tiles x 2 vectors of output channels keep
 * 16 accumulators in registers, enough to hide the FMA latency. */
enum { GEMM_TILES = 8 };

static inline v16 vload(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline v16 vzero(void) { return (v16){0.0f}; }
static inline v16 vrelu(v16 r) { /* keeps the lanes that compare > 0 (mask all ones) */
    return (v16)((v16i)r & (r > vzero()));
}

int tpl_wino_fast(void) {
#ifdef __AVX512F__
    return 1;
#else
    return 0;
#endif
}

/* ---- transforms ------------------------------------------------------- */

void tpl_wino_weights(int cin, int cout, const float *oihw, float *u) {
    static const double G[IN][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++) {
            const float *g = oihw + ((size_t)o * cin + i) * 9;
            double gg[IN][3]; /* G g */
            for (int r = 0; r < IN; r++)
                for (int c = 0; c < 3; c++)
                    gg[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
            for (int r = 0; r < IN; r++)
                for (int c = 0; c < IN; c++) { /* (G g) G^T */
                    double s = gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2];
                    u[((size_t)(r * IN + c) * cin + i) * cout + o] = (float)s;
                }
        }
}

/* B^T applied to 6 vectors d[0], d[ds], ..., written to t[0], t[ts], ... */
static inline void input_1d(const v16 *d, int ds, v16 *t, int ts) {
    const v16 d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds],
              d5 = d[5 * ds];
    t[0] = 4.0f * d0 - 5.0f * d2 + d4;
    t[ts] = d3 + d4 - 4.0f * (d1 + d2);
    t[2 * ts] = d4 - d3 + 4.0f * (d1 - d2);
    t[3 * ts] = d4 - d2 + 2.0f * (d3 - d1);
    t[4 * ts] = d4 - d2 + 2.0f * (d1 - d3);
    t[5 * ts] = 4.0f * d1 - 5.0f * d3 + d5;
}

/* A^T applied to 6 vectors m[0], m[ms], ..., written to o[0], ..., o[3 os]. */
static inline void output_1d(const v16 *m, int ms, v16 *o, int os) {
    const v16 a = m[ms] + m[2 * ms], b = m[ms] - m[2 * ms];
    const v16 c = m[3 * ms] + m[4 * ms], d = m[3 * ms] - m[4 * ms];
    o[0] = m[0] + a + c;
    o[os] = b + 2.0f * d;
    o[2 * os] = a + 4.0f * c;
    o[3 * os] = b + 8.0f * d + m[5 * ms];
}

/* Tile grid of one image, the GEMM row count (tiles of all images, rounded
 * up to whole micro-kernels; the extra rows are zeros), and the distances
 * between positions in v and m.  Those get one cache line more than the
 * rows need: at a multiple of 4 KiB the 36 values a transform writes or
 * reads would all fall into one L1 set and evict each other. */
typedef struct grid {
    int th, tw, tiles, rows;
    size_t vstride, mstride;
} grid;

static grid make_grid(tpl_shape x, int cout) {
    grid g = {.th = (x.h + TILE - 1) / TILE, .tw = (x.w + TILE - 1) / TILE};
    g.tiles = x.n * g.th * g.tw;
    g.rows = (g.tiles + GEMM_TILES - 1) / GEMM_TILES * GEMM_TILES;
    g.vstride = (size_t)g.rows * x.c + VL;
    g.mstride = (size_t)g.rows * cout + VL;
    return g;
}

/* Column xx of the 6 rows from y0 of one 16-channel plane of image x;
 * zeros outside the image (the padding).  Tiles wholly inside skip the
 * checks, as most tiles of a large image are. */
static inline void load_column(tpl_shape x, const float *plane, int y0, int xx, int inside,
                               v16 col[IN]) {
    for (int i = 0; i < IN; i++) {
        const int yy = y0 + i;
        col[i] = inside || (yy >= 0 && yy < x.h && xx >= 0 && xx < x.w)
                     ? vload(plane + ((size_t)yy * x.w + xx) * VL)
                     : vzero();
    }
}

/* v[p][tile][ic] = (B^T d B)[p] of every tile and 16-channel block; a tile's
 * 6x6 pixels start one up and one left of its 4x4 outputs (padding 1). */
static void input_transform(tpl_shape x, const grid *g, const float *xd, float *v) {
    const int cb_n = x.c / VL;
    const size_t plane = (size_t)x.h * x.w * VL;
#pragma omp parallel for collapse(2) schedule(static)
    for (int it = 0; it < x.n * g->th; it++)
        for (int cb = 0; cb < cb_n; cb++) {
            const int img = it / g->th, y0 = it % g->th * TILE - 1;
            const float *src = xd + ((size_t)img * cb_n + cb) * plane;
            for (int tx = 0; tx < g->tw; tx++) {
                const int x0 = tx * TILE - 1, t = it * g->tw + tx;
                v16 tmp[POS], col[IN];
                const int inside = y0 >= 0 && y0 + IN <= x.h && x0 >= 0 && x0 + IN <= x.w;
                for (int j = 0; j < IN; j++) { /* columns */
                    load_column(x, src, y0, x0 + j, inside, col);
                    input_1d(col, 1, tmp + j, IN);
                }
                float *dst = v + (size_t)t * x.c + cb * VL;
                for (int r = 0; r < IN; r++) { /* rows */
                    v16 o[IN];
                    input_1d(tmp + r * IN, 1, o, 1);
                    for (int c = 0; c < IN; c++) vstore(dst + (r * IN + c) * g->vstride, o[c]);
                }
            }
        }
    for (int p = 0; p < POS; p++) /* rows past the last tile */
        memset(v + p * g->vstride + (size_t)g->tiles * x.c, 0,
               sizeof(float) * (size_t)(g->rows - g->tiles) * x.c);
}

/* m[t][o0..o0+16*OB) for GEMM_TILES rows t of v (k values each) against
 * u [k][ldu]; inlined with constant OB so the accumulators stay in
 * registers and each FMA takes its v value as a broadcast operand. */
static inline __attribute__((always_inline)) void micro_kernel(int OB, int k, const float *v,
                                                               const float *u, int ldu,
                                                               float *m, int ldm) {
    v16 acc[GEMM_TILES][2];
    for (int t = 0; t < GEMM_TILES; t++) acc[t][0] = acc[t][1] = vzero();
    for (int i = 0; i < k; i++) {
        const v16 b0 = vload(u + (size_t)i * ldu), b1 = OB > 1 ? vload(u + (size_t)i * ldu + VL)
                                                               : vzero();
        for (int t = 0; t < GEMM_TILES; t++) {
            const float a = v[(size_t)t * k + i];
            acc[t][0] += a * b0;
            if (OB > 1) acc[t][1] += a * b1;
        }
    }
    for (int t = 0; t < GEMM_TILES; t++)
        for (int j = 0; j < OB; j++) vstore(m + (size_t)t * ldm + j * VL, acc[t][j]);
}

static void kernel_2(int k, const float *v, const float *u, int ldu, float *m, int ldm) {
    micro_kernel(2, k, v, u, ldu, m, ldm);
}
static void kernel_1(int k, const float *v, const float *u, int ldu, float *m, int ldm) {
    micro_kernel(1, k, v, u, ldu, m, ldm);
}

/* The 36 GEMMs m[p] = v[p] u[p], split into (position, tile block, 32
 * output channels) pieces the threads share. */
static void gemms(const grid *g, int cin, int cout, const float *v, const float *u, float *m) {
    const int blocks = g->rows / GEMM_TILES, ochunks = (cout + 2 * VL - 1) / (2 * VL);
#pragma omp parallel for collapse(3) schedule(static)
    for (int p = 0; p < POS; p++)
        for (int b = 0; b < blocks; b++)
            for (int oc = 0; oc < ochunks; oc++) {
                const int o0 = oc * 2 * VL, t0 = b * GEMM_TILES;
                const float *vp = v + p * g->vstride + (size_t)t0 * cin;
                const float *up = u + (size_t)p * cin * cout + o0;
                float *mp = m + p * g->mstride + (size_t)t0 * cout + o0;
                (cout - o0 >= 2 * VL ? kernel_2 : kernel_1)(cin, vp, up, cout, mp, cout);
            }
}

/* y = act(A^T m A * scale + shift [+ skip]) for every tile's pixels inside
 * the image. */
static void output_transform(tpl_shape y, const grid *g, const float *m, const float *scale,
                             const float *shift, const tpl_bn_args *bn, float *yd) {
    const int ob_n = y.c / VL;
    const size_t plane = (size_t)y.h * y.w * VL;
#pragma omp parallel for collapse(2) schedule(static)
    for (int it = 0; it < y.n * g->th; it++)
        for (int ob = 0; ob < ob_n; ob++) {
            const int img = it / g->th, y0 = it % g->th * TILE;
            const size_t base = ((size_t)img * ob_n + ob) * plane;
            const v16 sc = vload(scale + ob * VL), sh = vload(shift + ob * VL);
            for (int tx = 0; tx < g->tw; tx++) {
                const int x0 = tx * TILE, t = it * g->tw + tx;
                const float *src = m + (size_t)t * y.c + ob * VL;
                v16 tmp[TILE * IN], col[IN];
                for (int j = 0; j < IN; j++) { /* columns */
                    for (int i = 0; i < IN; i++) col[i] = vload(src + (i * IN + j) * g->mstride);
                    output_1d(col, 1, tmp + j, IN);
                }
                for (int i = 0; i < TILE && y0 + i < y.h; i++) { /* rows */
                    v16 o[TILE];
                    output_1d(tmp + i * IN, 1, o, 1);
                    for (int j = 0; j < TILE && x0 + j < y.w; j++) {
                        const size_t at = base + ((size_t)(y0 + i) * y.w + x0 + j) * VL;
                        v16 r = o[j] * sc + sh;
                        if (bn->skip) r += vload(bn->skip + at);
                        if (bn->relu) r = vrelu(r);
                        vstore(yd + at, r);
                    }
                }
            }
        }
}

/* ---- the convolution -------------------------------------------------- */

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

size_t tpl_wino_scratch_count(tpl_shape x, int cout) {
    const grid g = make_grid(x, cout);
    return round16(2 * (size_t)cout) + POS * (g.vstride + g.mstride);
}

void tpl_wino_forward(tpl_shape x, const float *u, const tpl_bn_args *bn, const float *xdata,
                      float *y, float *scratch) {
    const int cout = bn->shape.c;
    const grid g = make_grid(x, cout);
    float *scale = scratch, *shift = scale + cout;
    float *v = scratch + round16(2 * (size_t)cout);
    float *m = v + POS * g.vstride;
    tpl_bn_eval_affine(bn, scale, shift);
    input_transform(x, &g, xdata, v);
    gemms(&g, x.c, cout, v, u, m);
    output_transform(bn->shape, &g, m, scale, shift, bn, y);
}
