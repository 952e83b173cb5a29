/* 3x3 bf16 weight gradients on AMX tiles: see amx_bwdw.h. */
#define _GNU_SOURCE /* syscall */
#include "amx_bwdw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define TPL_HAVE_AMX 1
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* One k-step of a tile product: 32 pixels (16 pairs of bf16); a chunk:
 * the pixels whose x and dy^T a thread lays out at once, in its own
 * buffers, small enough to stay in its core's L2 through the 9 taps. */
enum { STEP = 32, TILE = 16, CHUNK_STEPS = 32, CHUNK = STEP * CHUNK_STEPS };

/* One thread's buffers. */
typedef struct amx_part {
    long *pix;    /* [ld]: the image pixel (n*h*w index) at each chunk position, or -1 */
    tpl_bf16 *xc; /* the chunk's x, pairs of pixels interleaved: [CHUNK/2][cip][2] */
    tpl_bf16 *dc; /* the chunk's dy^T with halo pixels each side: [cop][ld] */
    float *acc;   /* the part's sums: [9][cop][cip] */
} amx_part;

struct tpl_amx_bwdw {
    int n, ci, co, h, w;
    int row;      /* pixels in a grid row: w + 1 */
    int cip, cop; /* channels rounded up to whole tiles */
    int halo;     /* dy pixels a tap reaches before or after its x pixel */
    long ld;      /* length of a dy^T row in a chunk: CHUNK + 2 halo */
    long m;       /* grid pixels summed over, a whole number of steps */
    int parts;    /* threads a run may use (buffers allocated) */
    amx_part *part;
    tpl_bf16 *zeros; /* a pad pixel: max(cin, cout) zeros */
};

void tpl_amx_bwdw_free(tpl_amx_bwdw *b) {
    if (!b) return;
    for (int p = 0; b->part && p < b->parts; p++) {
        free(b->part[p].xc);
        free(b->part[p].dc);
        free(b->part[p].acc);
        free(b->part[p].pix);
    }
    free(b->part);
    free(b->zeros);
    free(b);
}

#ifndef TPL_HAVE_AMX
int tpl_amx_bwdw_available(void) { return 0; }
tpl_amx_bwdw *tpl_amx_bwdw_create(int n, int cin, int cout, int h, int w) {
    (void)n, (void)cin, (void)cout, (void)h, (void)w;
    return NULL;
}
void tpl_amx_bwdw_run(tpl_amx_bwdw *b, const tpl_bf16 *x, const tpl_bf16 *dy, float *dw) {
    (void)b, (void)x, (void)dy, (void)dw;
}
#else

/* Linux hands out the tile registers' state only to a process that asks
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA); oneDNN asks too. */
#define TPL_ARCH_REQ_XCOMP_PERM 0x1023
#define TPL_XFEATURE_XTILEDATA 18

int tpl_amx_bwdw_available(void) {
    static int known = -1;
    if (known >= 0) return known;
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(),
                   amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
    known = (isa & amx) == amx &&
            syscall(SYS_arch_prctl, TPL_ARCH_REQ_XCOMP_PERM, TPL_XFEATURE_XTILEDATA) == 0;
    return known;
}

static long round_up(long v, long to) { return (v + to - 1) / to * to; }

/* Zeroed memory on a cache-line boundary: the padding channels stay zero,
 * the chunks write the others. */
static void *lines_alloc(size_t bytes) {
    bytes = (size_t)round_up((long)bytes, 64);
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

tpl_amx_bwdw *tpl_amx_bwdw_create(int n, int cin, int cout, int h, int w) {
    if (!tpl_amx_bwdw_available() || n < 1 || cin < 1 || cout < 1 || h < 1 || w < 1)
        return NULL;
    tpl_amx_bwdw *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    *b = (tpl_amx_bwdw){.n = n, .ci = cin, .co = cout, .h = h, .w = w, .row = w + 1,
                        .cip = (int)round_up(cin, TILE), .cop = (int)round_up(cout, TILE),
                        .halo = (int)round_up(w + 2, 2), .parts = omp_get_max_threads()};
    b->ld = round_up(CHUNK + 2 * b->halo, STEP); /* rows of whole cache lines */
    /* image i's grid row r (0: zeros) starts at pixel (i*(h+1) + r)*(w+1) */
    b->m = round_up((long)n * (h + 1) * b->row, STEP);
    b->part = calloc((size_t)b->parts, sizeof *b->part);
    b->zeros = calloc((size_t)(cin > cout ? cin : cout), sizeof(tpl_bf16));
    if (!b->part || !b->zeros) {
        tpl_amx_bwdw_free(b);
        return NULL;
    }
    for (int p = 0; p < b->parts; p++) {
        amx_part *q = &b->part[p];
        /* tile rows on whole cache lines: each tile row load reads one */
        q->xc = lines_alloc(sizeof(tpl_bf16) * CHUNK * b->cip);
        q->dc = lines_alloc(sizeof(tpl_bf16) * b->cop * b->ld);
        q->acc = lines_alloc(sizeof(float) * 9 * b->cop * b->cip);
        q->pix = malloc(sizeof(long) * b->ld);
        if (!q->xc || !q->dc || !q->acc || !q->pix) {
            tpl_amx_bwdw_free(b);
            return NULL;
        }
    }
    return b;
}

/* pix[k] for grid pixels g0 + k, k in [0, count): the image pixel there
 * (index into n x h x w), or -1 on a pad. */
static void map_pixels(const tpl_amx_bwdw *b, long *pix, long g0, long count) {
    long k = 0;
    for (; k < count && g0 + k < 0; k++) pix[k] = -1;
    const long per_image = (long)(b->h + 1) * b->row, g = g0 + k;
    long i = g / per_image, r = g % per_image / b->row, col = g % b->row;
    for (; k < count; k++) {
        pix[k] = i < b->n && r > 0 && col < b->w ? (i * b->h + r - 1) * b->w + col : -1;
        if (++col == b->row) {
            col = 0;
            if (++r == b->h + 1) r = 0, i++;
        }
    }
}

#define TPL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* Transposes 16 rows of 16 32-bit lanes in place. */
TPL_AVX512 static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* rows now hold 4x4 blocks of 128-bit lanes; gather them */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* dy^T for chunk positions [k0, k0 + 32), channels [c0, c0 + 16): pairs
 * of pixels interleaved into 32-bit lanes (pair q, channel c), transposed
 * to rows of channel c holding the 32 pixels. */
TPL_AVX512 static void dy_block(const tpl_amx_bwdw *b, amx_part *q, const tpl_bf16 *dy,
                                long k0, int c0) {
    const __mmask16 keep = (__mmask16)(b->co - c0 >= 16 ? 0xffff : (1u << (b->co - c0)) - 1);
    /* lane 2c <- a[c], lane 2c+1 <- b[c] of a|b (b in the upper half) */
    const __m512i mix = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                         16, 0);
    __m512i r[16];
    for (int j = 0; j < 16; j++) {
        const long p0 = q->pix[k0 + 2 * j], p1 = q->pix[k0 + 2 * j + 1];
        const tpl_bf16 *s0 = p0 >= 0 ? dy + p0 * b->co + c0 : b->zeros,
                       *s1 = p1 >= 0 ? dy + p1 * b->co + c0 : b->zeros;
        const __m256i a = _mm256_maskz_loadu_epi16(keep, s0), c = _mm256_maskz_loadu_epi16(keep, s1);
        r[j] = _mm512_permutexvar_epi16(mix, _mm512_inserti64x4(_mm512_castsi256_si512(a), c, 1));
    }
    transpose16(r);
    for (int c = 0; c < 16; c++) _mm512_store_si512(q->dc + (c0 + c) * b->ld + k0, r[c]);
}

/* Lays out grid pixels [g0, g0 + len) of x, and of dy with the halo, in
 * the part's buffers (zeros on the pads). */
static void lay_chunk(const tpl_amx_bwdw *b, amx_part *q, const tpl_bf16 *x,
                      const tpl_bf16 *dy, long g0, long len) {
    map_pixels(b, q->pix, g0 - b->halo, b->ld);
    for (long k = 0; k < len; k += 2) {
        const long p0 = q->pix[b->halo + k], p1 = q->pix[b->halo + k + 1];
        const tpl_bf16 *s0 = p0 >= 0 ? x + p0 * b->ci : b->zeros,
                       *s1 = p1 >= 0 ? x + p1 * b->ci : b->zeros;
        tpl_bf16 *d = q->xc + k * b->cip;
        for (int c = 0; c < b->ci; c++) {
            d[2 * c] = s0[c];
            d[2 * c + 1] = s1[c];
        }
    }
    /* whole blocks of 32 positions (ld is a multiple of 32): a few more than
     * the halo needs, harmless */
    const long end = round_up(len + 2 * b->halo, STEP);
    for (long k = 0; k < end; k += STEP)
        for (int c = 0; c < b->cop; c += TILE) dy_block(b, q, dy, k, c);
}

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

#define TPL_AMX __attribute__((target("amx-tile,amx-bf16")))

/* Tiles 0-3: the sums C[a][b] (16 x 16 fp32); 4-5: dy^T rows (16 x 32
 * bf16); 6-7: x pairs (16 x 16 pairs).  All full: channels are padded. */
TPL_AMX static void tiles_on(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = TILE;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
}

/* C[co block a][ci block b] += over steps [s0, s1) of dy^T (shifted by
 * `shift` pixels) times x, for two or one co and ci blocks. */
TPL_AMX static inline __attribute__((always_inline)) void
tile_block(const tpl_amx_bwdw *b, float *c, int two_a, int two_b, const tpl_bf16 *a,
           const tpl_bf16 *x, long s0, long s1) {
    const long lda = b->ld * 2, ldb = (long)b->cip * 4, ldc = (long)b->cip * 4;
    /* a: the co block's dy^T rows, shifted; x: the ci block's pairs */
    const tpl_bf16 *a1 = a + TILE * b->ld, *x1 = x + TILE * 2;
    _tile_loadd(0, c, ldc);
    if (two_b) _tile_loadd(1, c + TILE, ldc);
    if (two_a) _tile_loadd(2, c + TILE * b->cip, ldc);
    if (two_a && two_b) _tile_loadd(3, c + TILE * b->cip + TILE, ldc);
    for (long s = s0; s < s1; s++) {
        const long ka = s * STEP, kx = s * STEP * b->cip;
        _tile_loadd(4, a + ka, lda);
        _tile_loadd(6, x + kx, ldb);
        if (two_b) _tile_loadd(7, x1 + kx, ldb);
        _tile_dpbf16ps(0, 4, 6);
        if (two_b) _tile_dpbf16ps(1, 4, 7);
        if (two_a) {
            _tile_loadd(5, a1 + ka, lda);
            _tile_dpbf16ps(2, 5, 6);
            if (two_b) _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, ldc);
    if (two_b) _tile_stored(1, c + TILE, ldc);
    if (two_a) _tile_stored(2, c + TILE * b->cip, ldc);
    if (two_a && two_b) _tile_stored(3, c + TILE * b->cip + TILE, ldc);
}

/* All taps and channel blocks of steps [0, steps) of the part's chunk,
 * added to its sums. */
TPL_AMX static void sum_chunk(const tpl_amx_bwdw *b, amx_part *q, long steps) {
    for (int tap = 0; tap < 9; tap++) {
        /* dy pixel g pairs with x pixel g + shift */
        const long shift = (long)(tap / 3 - 1) * b->row + (tap % 3 - 1);
        float *c_tap = q->acc + (long)tap * b->cop * b->cip;
        for (int ca = 0; ca < b->cop; ca += 2 * TILE) {
            const int two_a = ca + TILE < b->cop;
            const tpl_bf16 *a = q->dc + (long)ca * b->ld + b->halo - shift;
            for (int cb = 0; cb < b->cip; cb += 2 * TILE) {
                const int two_b = cb + TILE < b->cip;
                float *c = c_tap + (long)ca * b->cip + cb;
                const tpl_bf16 *x = q->xc + (long)cb * 2;
                if (two_a && two_b) tile_block(b, c, 1, 1, a, x, 0, steps);
                else if (two_a) tile_block(b, c, 1, 0, a, x, 0, steps);
                else if (two_b) tile_block(b, c, 0, 1, a, x, 0, steps);
                else tile_block(b, c, 0, 0, a, x, 0, steps);
            }
        }
    }
}

/* One thread's part: steps [s0, s1) of the grid, a chunk at a time. */
TPL_AMX static void sum_part(const tpl_amx_bwdw *b, amx_part *q, const tpl_bf16 *x,
                             const tpl_bf16 *dy, long s0, long s1) {
    memset(q->acc, 0, sizeof(float) * 9 * b->cop * b->cip);
    tiles_on();
    for (long s = s0; s < s1; s += CHUNK_STEPS) {
        const long steps = s + CHUNK_STEPS < s1 ? CHUNK_STEPS : s1 - s;
        lay_chunk(b, q, x, dy, s * STEP, steps * STEP);
        sum_chunk(b, q, steps);
    }
    _tile_release();
}

void tpl_amx_bwdw_run(tpl_amx_bwdw *b, const tpl_bf16 *x, const tpl_bf16 *dy, float *dw) {
    int threads = omp_get_max_threads();
    if (threads > b->parts) threads = b->parts;
    const long steps = b->m / STEP;
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        sum_part(b, &b->part[t], x, dy, steps * t / nt, steps * (t + 1) / nt);
#pragma omp barrier
#pragma omp for schedule(static)
        for (int o = 0; o < b->co; o++)
            for (int i = 0; i < b->ci; i++)
                for (int tap = 0; tap < 9; tap++) {
                    const long at = ((long)tap * b->cop + o) * b->cip + i;
                    float v = b->part[0].acc[at];
                    for (int p = 1; p < nt; p++) v += b->part[p].acc[at];
                    dw[((long)o * b->ci + i) * 9 + tap] = v;
                }
    }
}
#endif
