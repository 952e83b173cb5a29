/* Convolution backends for templar's conv shapes: the measurement behind
 * src/conv.c's choice of oneDNN (and of winograd for blocked layouts at
 * large batch).
 *
 * Shapes: 3x3, stride 1, pad 1, 14x14, C -> C with C in {32, 64}, batch
 * N in {64, 1}.  Backends, each timed for forward, backward-data and
 * backward-weights:
 *   onednn direct nhwc      oneDNN direct, nhwc activations, weights "any"
 *   onednn direct nChw16c   oneDNN direct, nChw16c activations
 *   onednn winograd 16c     oneDNN winograd, nChw16c activations
 *   templar winograd.c      src/winograd.c's F(4x4, 3x3), forward only (eval,
 *                           batches under 16), with its BN epilogue
 *   im2col+openblas         NHWC im2col + cblas_sgemm (HAVE_OPENBLAS only):
 *       fwd   Y[NHW,C]   = col[NHW,9C] x W^T[9C,C]           (im2col timed)
 *       bwd_d dcol[NHW,9C] = dY[NHW,C] x W[C,9C], then col2im (timed)
 *       bwd_w dW[C,9C]   = dY^T[C,NHW] x col[NHW,9C]          (im2col timed)
 * W is [C_out][kh][kw][C_in] (oneDNN's ohwi).  The im2col results are
 * checked against oneDNN's nhwc direct convolution once per shape, so that
 * both sides do the same work.
 *
 * Usage: bench_conv_backends [--threads N]   (default 2)
 */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "bench.h"
#include "winograd.h"

enum { FWD, BWD_D, BWD_W, NPASS };
static const char *const pass_name[NPASS] = {"fwd", "bwd_d", "bwd_w"};

typedef struct {
    int n, c, h, w; /* 3x3 kernel, stride 1, pad 1: output is n x c x h x w */
} shape;

typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
} dnn_ctx;

static void die(const char *what) {
    fprintf(stderr, "bench_conv_backends: %s\n", what);
    exit(1);
}

/* Mean seconds per call: 3 warm-up calls, then repeat until >= 0.3 s. */
static double time_per_call(void (*fn)(void *), void *arg) {
    for (int i = 0; i < 3; i++) fn(arg);
    int calls = 0;
    double t0 = bench_now(), t;
    do {
        fn(arg);
        calls++;
        t = bench_now() - t0;
    } while (t < 0.3);
    return t / calls;
}

static double pass_flops(shape s) {
    return 2.0 * s.n * s.h * s.w * (double)s.c * s.c * 9;
}

static void print_row(const char *backend, int pass, shape s, double sec,
                      const char *impl) {
    printf("  %-22s %-6s %9.3f %9.1f  %s\n", backend, pass_name[pass], sec * 1e3,
           pass_flops(s) / sec * 1e-9, impl);
}

static void print_unsupported(const char *backend, int pass) {
    printf("  %-22s %-6s %9s %9s  unsupported\n", backend, pass_name[pass], "-", "-");
}

/* Uniform values in [-1, 1) from a fixed LCG: the same data on every run. */
static void fill_random(float *p, size_t n, unsigned seed) {
    unsigned long long x = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((x >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
    }
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

/* ---- environment report ------------------------------------------------ */

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

static const char *runtime_name(unsigned r) {
    switch (r) {
    case DNNL_RUNTIME_SEQ: return "sequential";
    case DNNL_RUNTIME_OMP: return "OpenMP";
    case DNNL_RUNTIME_TBB: return "TBB";
    case DNNL_RUNTIME_THREADPOOL: return "threadpool";
    default: return "other";
    }
}

/* OpenBLAS cores that use AVX2 kernels (no AVX-512). */
static int is_avx2_core(const char *name) {
    return strcasecmp(name, "haswell") == 0 || strcasecmp(name, "zen") == 0;
}

static void print_environment(int threads) {
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d (hash %s, CPU runtime %s), effective ISA %s\n", v->major,
           v->minor, v->patch, v->hash, runtime_name(v->cpu_runtime),
           isa_name(dnnl_get_effective_cpu_isa()));
    const char *coretype = getenv("OPENBLAS_CORETYPE");
#ifdef HAVE_OPENBLAS
    printf("OpenBLAS core %s (%s)\n", openblas_get_corename(), openblas_get_config());
#else
    printf("OpenBLAS: not built (configure found no libopenblas)\n");
#endif
    printf("OPENBLAS_CORETYPE=%s\n", coretype ? coretype : "unset");
    int avx512 = __builtin_cpu_supports("avx512f");
    printf("CPU AVX-512F: %s; threads: %d\n", avx512 ? "yes" : "no", threads);
    if (coretype && avx512 && is_avx2_core(coretype))
        printf("WARNING: OPENBLAS_CORETYPE=%s forces OpenBLAS's AVX2 kernels on a CPU "
               "with AVX-512; unset it to let OpenBLAS pick its own core\n",
               coretype);
}

/* ---- oneDNN ------------------------------------------------------------ */

/* One backend's primitives, one per pass (NULL where unsupported), and the
 * memory for all their arguments, in the formats the primitives chose. */
typedef struct {
    dnnl_primitive_desc_t pd[NPASS];
    dnnl_primitive_t prim[NPASS];
    dnnl_memory_t src, dst, wf, wb, dsrc, ddst, dw;
} dnn_conv;

static void dnn_free(dnn_conv *c) {
    for (int p = 0; p < NPASS; p++) {
        if (c->prim[p]) dnnl_primitive_destroy(c->prim[p]);
        if (c->pd[p]) dnnl_primitive_desc_destroy(c->pd[p]);
    }
    dnnl_memory_t m[] = {c->src, c->dst, c->wf, c->wb, c->dsrc, c->ddst, c->dw};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    memset(c, 0, sizeof *c);
}

static void act_md(dnnl_memory_desc_t *md, shape s, dnnl_format_tag_t tag) {
    dnnl_dims_t d = {s.n, s.c, s.h, s.w};
    if (dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag) != dnnl_success)
        die("oneDNN: bad activation descriptor");
}

/* Op descriptor of one pass; src/dst stand for diff_src/diff_dst backward. */
static int conv_desc(dnnl_convolution_desc_t *d, int pass, dnnl_alg_kind_t alg,
                     shape s, const dnnl_memory_desc_t *src,
                     const dnnl_memory_desc_t *dst) {
    dnnl_dims_t wd = {s.c, s.c, 3, 3}, st = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t w;
    if (dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any) !=
        dnnl_success)
        return -1;
    dnnl_status_t r;
    if (pass == FWD)
        r = dnnl_convolution_forward_desc_init(d, dnnl_forward_training, alg, src, &w,
                                               NULL, dst, st, pad, pad);
    else if (pass == BWD_D)
        r = dnnl_convolution_backward_data_desc_init(d, alg, src, &w, dst, st, pad, pad);
    else
        r = dnnl_convolution_backward_weights_desc_init(d, alg, src, &w, NULL, dst, st,
                                                        pad, pad);
    return r == dnnl_success ? 0 : -1;
}

/* Primitive of one pass; leaves it NULL when oneDNN has no implementation. */
static void make_pass(dnn_conv *c, const dnn_ctx *x, int pass, dnnl_alg_kind_t alg,
                      shape s, const dnnl_memory_desc_t *src,
                      const dnnl_memory_desc_t *dst) {
    dnnl_convolution_desc_t d;
    if (conv_desc(&d, pass, alg, s, src, dst) ||
        dnnl_primitive_desc_create(&c->pd[pass], &d, NULL, x->eng, c->pd[FWD]) !=
            dnnl_success) {
        c->pd[pass] = NULL;
        return;
    }
    if (dnnl_primitive_create(&c->prim[pass], c->pd[pass]) != dnnl_success)
        die("oneDNN: cannot create a primitive");
}

/* Memory for the argument `what` of the pass's primitive, random-filled. */
static dnnl_memory_t make_mem(const dnn_conv *c, const dnn_ctx *x, int pass,
                              dnnl_query_t what, unsigned seed) {
    if (!c->pd[pass]) return NULL;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(c->pd[pass], what, 0);
    dnnl_memory_t m;
    if (dnnl_memory_create(&m, md, x->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success)
        die("oneDNN: out of memory");
    void *p;
    dnnl_memory_get_data_handle(m, &p);
    fill_random(p, dnnl_memory_desc_get_size(md) / sizeof(float), seed);
    return m;
}

static void dnn_build(dnn_conv *c, const dnn_ctx *x, shape s, dnnl_format_tag_t tag,
                      dnnl_alg_kind_t alg) {
    memset(c, 0, sizeof *c);
    dnnl_memory_desc_t act;
    act_md(&act, s, tag);
    make_pass(c, x, FWD, alg, s, &act, &act);
    if (!c->pd[FWD]) return; /* no forward, no hint for the backward passes */
    make_pass(c, x, BWD_D, alg, s, &act, &act);
    make_pass(c, x, BWD_W, alg, s, &act, &act);
    c->src = make_mem(c, x, FWD, dnnl_query_src_md, 1);
    c->wf = make_mem(c, x, FWD, dnnl_query_weights_md, 2);
    c->dst = make_mem(c, x, FWD, dnnl_query_dst_md, 3);
    c->wb = make_mem(c, x, BWD_D, dnnl_query_weights_md, 2);
    c->dsrc = make_mem(c, x, BWD_D, dnnl_query_diff_src_md, 4);
    c->dw = make_mem(c, x, BWD_W, dnnl_query_diff_weights_md, 5);
    /* diff_dst is shared by both backward passes: same (given) format */
    c->ddst = make_mem(c, x, c->pd[BWD_D] ? BWD_D : BWD_W, dnnl_query_diff_dst_md, 6);
}

static void dnn_exec(const dnn_conv *c, const dnn_ctx *x, int pass) {
    dnnl_exec_arg_t a[3];
    if (pass == FWD) {
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, c->src};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, c->wf};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, c->dst};
    } else if (pass == BWD_D) {
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, c->ddst};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, c->wb};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, c->dsrc};
    } else {
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, c->src};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, c->ddst};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, c->dw};
    }
    if (dnnl_primitive_execute(c->prim[pass], x->strm, 3, a) != dnnl_success ||
        dnnl_stream_wait(x->strm) != dnnl_success)
        die("oneDNN: execution failed");
}

typedef struct {
    const dnn_conv *c;
    const dnn_ctx *x;
    int pass;
} dnn_call;

static void dnn_call_fn(void *arg) {
    const dnn_call *k = arg;
    dnn_exec(k->c, k->x, k->pass);
}

static void dnn_time(const dnn_conv *c, const dnn_ctx *x, const char *backend,
                     shape s) {
    for (int p = 0; p < NPASS; p++) {
        if (!c->prim[p]) {
            print_unsupported(backend, p);
            continue;
        }
        dnn_call k = {c, x, p};
        double sec = time_per_call(dnn_call_fn, &k);
        const char *impl = "?";
        dnnl_primitive_desc_query(c->pd[p], dnnl_query_impl_info_str, 0, &impl);
        print_row(backend, p, s, sec, impl);
    }
}

static float *alloc_floats(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) die("out of memory");
    return p;
}

/* ---- im2col + OpenBLAS ------------------------------------------------- */
#ifdef HAVE_OPENBLAS

typedef struct {
    shape s;
    float *x, *w, *y, *dy, *dx, *dw, *col; /* NHWC; w is [C][3][3][C]; col [NHW][9C] */
} gemm_conv;

static void gemm_init(gemm_conv *g, shape s) {
    size_t act = (size_t)s.n * s.h * s.w * s.c, wts = (size_t)s.c * 9 * s.c;
    g->s = s;
    g->x = alloc_floats(act);
    g->y = alloc_floats(act);
    g->dy = alloc_floats(act);
    g->dx = alloc_floats(act);
    g->w = alloc_floats(wts);
    g->dw = alloc_floats(wts);
    g->col = alloc_floats(act * 9);
    fill_random(g->x, act, 11);
    fill_random(g->dy, act, 12);
    fill_random(g->w, wts, 13);
}

static void gemm_free(gemm_conv *g) {
    float *p[] = {g->x, g->w, g->y, g->dy, g->dx, g->dw, g->col};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
}

/* col[(n,y,x)][(kh,kw,c)] = x[n][y+kh-1][x+kw-1][c], zero outside. */
static void im2col(const float *x, float *col, shape s) {
    int C = s.c;
#pragma omp parallel for
    for (int ny = 0; ny < s.n * s.h; ny++) {
        int n = ny / s.h, oy = ny % s.h;
        for (int ox = 0; ox < s.w; ox++) {
            float *row = col + ((size_t)ny * s.w + ox) * 9 * C;
            for (int k = 0; k < 9; k++) {
                int iy = oy + k / 3 - 1, ix = ox + k % 3 - 1;
                float *dst = row + k * C;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w)
                    memset(dst, 0, C * sizeof *dst);
                else
                    memcpy(dst, x + (((size_t)n * s.h + iy) * s.w + ix) * C,
                           C * sizeof *dst);
            }
        }
    }
}

/* The adjoint of im2col, as a gather: dx[n][y][x] sums the col entries that
 * im2col copied from it, so the rows parallelise without races. */
static void col2im(const float *col, float *dx, shape s) {
    int C = s.c;
#pragma omp parallel for
    for (int ny = 0; ny < s.n * s.h; ny++) {
        int n = ny / s.h, iy = ny % s.h;
        for (int ix = 0; ix < s.w; ix++) {
            float *out = dx + ((size_t)ny * s.w + ix) * C;
            memset(out, 0, C * sizeof *out);
            for (int k = 0; k < 9; k++) {
                int oy = iy - k / 3 + 1, ox = ix - k % 3 + 1;
                if (oy < 0 || oy >= s.h || ox < 0 || ox >= s.w) continue;
                const float *src =
                    col + (((size_t)n * s.h + oy) * s.w + ox) * 9 * C + k * C;
                for (int c = 0; c < C; c++) out[c] += src[c];
            }
        }
    }
}

static void gemm_exec(gemm_conv *g, int pass) {
    shape s = g->s;
    int M = s.n * s.h * s.w, C = s.c, K = 9 * s.c;
    if (pass == FWD) {
        im2col(g->x, g->col, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, C, K, 1.0f, g->col, K,
                    g->w, K, 0.0f, g->y, C);
    } else if (pass == BWD_D) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, C, 1.0f, g->dy, C,
                    g->w, K, 0.0f, g->col, K);
        col2im(g->col, g->dx, s);
    } else {
        im2col(g->x, g->col, s);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, K, M, 1.0f, g->dy, C,
                    g->col, K, 0.0f, g->dw, K);
    }
}

typedef struct {
    gemm_conv *g;
    int pass;
} gemm_call;

static void gemm_call_fn(void *arg) {
    gemm_call *k = arg;
    gemm_exec(k->g, k->pass);
}

static void gemm_time(gemm_conv *g, const char *backend) {
    char impl[96];
    snprintf(impl, sizeof impl, "im2col + cblas_sgemm (%s)", openblas_get_corename());
    for (int p = 0; p < NPASS; p++) {
        gemm_call k = {g, p};
        print_row(backend, p, g->s, time_per_call(gemm_call_fn, &k), impl);
    }
}

/* Memory over a user buffer in a plain format. */
static dnnl_memory_t user_mem(const dnn_ctx *x, shape s, int weights, float *buf) {
    dnnl_memory_desc_t md;
    dnnl_dims_t wd = {s.c, s.c, 3, 3}, ad = {s.n, s.c, s.h, s.w};
    dnnl_memory_t m;
    if (dnnl_memory_desc_init_by_tag(&md, 4, weights ? wd : ad, dnnl_f32,
                                     weights ? dnnl_ohwi : dnnl_nhwc) != dnnl_success ||
        dnnl_memory_create(&m, &md, x->eng, buf) != dnnl_success)
        die("oneDNN: cannot wrap a buffer");
    return m;
}

static void reorder(const dnn_ctx *x, dnnl_memory_t from, dnnl_memory_t to) {
    const dnnl_memory_desc_t *fmd, *tmd;
    dnnl_memory_get_memory_desc(from, &fmd);
    dnnl_memory_get_memory_desc(to, &tmd);
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t r;
    if (dnnl_reorder_primitive_desc_create(&pd, fmd, x->eng, tmd, x->eng, NULL) !=
            dnnl_success ||
        dnnl_primitive_create(&r, pd) != dnnl_success)
        die("oneDNN: no reorder");
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    if (dnnl_primitive_execute(r, x->strm, 2, a) != dnnl_success ||
        dnnl_stream_wait(x->strm) != dnnl_success)
        die("oneDNN: reorder failed");
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(pd);
}

/* Run every pass on both sides with the same inputs; print max |diff|. */
static void verify(const dnn_conv *c, const dnn_ctx *x, gemm_conv *g) {
    shape s = g->s;
    size_t act = (size_t)s.n * s.h * s.w * s.c, wts = (size_t)s.c * 9 * s.c;
    float *ref = alloc_floats(act > wts ? act : wts); /* oneDNN's result, plain */
    dnnl_memory_t ux = user_mem(x, s, 0, g->x), udy = user_mem(x, s, 0, g->dy),
                  uw = user_mem(x, s, 1, g->w), ref_act = user_mem(x, s, 0, ref),
                  ref_w = user_mem(x, s, 1, ref);
    float diff[NPASS] = {NAN, NAN, NAN};
    if (c->prim[FWD]) {
        reorder(x, ux, c->src);
        reorder(x, uw, c->wf);
        dnn_exec(c, x, FWD);
        reorder(x, c->dst, ref_act);
        gemm_exec(g, FWD);
        diff[FWD] = max_abs_diff(ref, g->y, act);
    }
    if (c->prim[BWD_D]) {
        reorder(x, udy, c->ddst);
        reorder(x, uw, c->wb);
        dnn_exec(c, x, BWD_D);
        reorder(x, c->dsrc, ref_act);
        gemm_exec(g, BWD_D);
        diff[BWD_D] = max_abs_diff(ref, g->dx, act);
    }
    if (c->prim[BWD_W]) {
        reorder(x, ux, c->src);
        reorder(x, udy, c->ddst);
        dnn_exec(c, x, BWD_W);
        reorder(x, c->dw, ref_w);
        gemm_exec(g, BWD_W);
        diff[BWD_W] = max_abs_diff(ref, g->dw, wts);
    }
    printf("  check im2col vs onednn nhwc, max |diff|: fwd %.2e  bwd_d %.2e  bwd_w %.2e\n",
           diff[FWD], diff[BWD_D], diff[BWD_W]);
    dnnl_memory_t m[] = {ux, udy, uw, ref_act, ref_w};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) dnnl_memory_destroy(m[i]);
    free(ref);
}
#endif /* HAVE_OPENBLAS */

/* ---- templar's winograd.c ---------------------------------------------- */

typedef struct {
    tpl_shape xs;
    tpl_bn_args bn;
    float *x, *y, *u, *scratch, *affine; /* affine: gamma, beta, mean, var */
} wino_conv;

static void wino_call_fn(void *arg) {
    wino_conv *k = arg;
    tpl_wino_forward(k->xs, k->u, &k->bn, k->x, k->y, k->scratch);
}

static void wino_time(shape s) {
    wino_conv k = {.xs = {s.n, s.c, s.h, s.w, TPL_WINO_CHANNEL_BLOCK}};
    const size_t act = (size_t)s.n * s.c * s.h * s.w;
    k.x = alloc_floats(act), k.y = alloc_floats(act), k.affine = alloc_floats(4 * (size_t)s.c);
    k.u = aligned_alloc(64, tpl_wino_weight_count(s.c, s.c) * sizeof(float));
    k.scratch = aligned_alloc(64, tpl_wino_scratch_count(k.xs, s.c) * sizeof(float));
    float *w = alloc_floats((size_t)s.c * s.c * 9);
    if (!k.u || !k.scratch) die("out of memory");
    fill_random(k.x, act, 5);
    fill_random(w, (size_t)s.c * s.c * 9, 6);
    for (int i = 0; i < 4 * s.c; i++) /* an identity BN: gamma 1, beta 0, mean 0, var 1 */
        k.affine[i] = i < s.c || i >= 3 * s.c ? 1.0f : 0.0f;
    tpl_wino_weights(s.c, s.c, w, k.u);
    k.bn = (tpl_bn_args){.shape = k.xs, .gamma = k.affine, .beta = k.affine + s.c,
                         .running_mean = k.affine + 2 * s.c, .running_var = k.affine + 3 * s.c,
                         .eps = 1e-5f};
    print_row("templar winograd.c", FWD, s, time_per_call(wino_call_fn, &k),
              "F(4x4,3x3), BN fused");
    free(k.x), free(k.y), free(k.affine), free(k.u), free(k.scratch), free(w);
}

/* ---- driver ------------------------------------------------------------ */

static void bench_shape(const dnn_ctx *x, shape s) {
    static const struct {
        const char *name;
        dnnl_format_tag_t tag;
        dnnl_alg_kind_t alg;
    } dnn[] = {
        {"onednn direct nhwc", dnnl_nhwc, dnnl_convolution_direct},
        {"onednn direct nChw16c", dnnl_nChw16c, dnnl_convolution_direct},
        {"onednn winograd 16c", dnnl_nChw16c, dnnl_convolution_winograd},
    };
    printf("\nN=%d C=%d->%d %dx%d, 3x3 stride 1 pad 1: %.4f GFLOP per pass\n", s.n, s.c,
           s.c, s.h, s.w, pass_flops(s) * 1e-9);
    printf("  %-22s %-6s %9s %9s  %s\n", "backend", "pass", "ms/call", "GFLOP/s",
           "implementation");
#ifdef HAVE_OPENBLAS
    gemm_conv g;
    gemm_init(&g, s);
#endif
    for (size_t i = 0; i < sizeof dnn / sizeof *dnn; i++) {
        dnn_conv c;
        dnn_build(&c, x, s, dnn[i].tag, dnn[i].alg);
#ifdef HAVE_OPENBLAS
        if (i == 0) verify(&c, x, &g);
#endif
        dnn_time(&c, x, dnn[i].name, s);
        dnn_free(&c);
    }
    wino_time(s);
#ifdef HAVE_OPENBLAS
    gemm_time(&g, "im2col+openblas");
    gemm_free(&g);
#else
    printf("  %-22s not built (configure found no OpenBLAS)\n", "im2col+openblas");
#endif
}

static int parse_threads(int argc, char **argv) {
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--threads N]\n", argv[0]);
            exit(2);
        }
    }
    if (threads < 1) die("--threads wants a positive count");
    return threads;
}

int main(int argc, char **argv) {
    int threads = parse_threads(argc, argv);
    omp_set_num_threads(threads);
#ifdef HAVE_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    print_environment(threads);
    dnn_ctx x;
    if (dnnl_engine_create(&x.eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&x.strm, x.eng, dnnl_stream_default_flags) != dnnl_success)
        die("oneDNN: cannot create a CPU engine");
    const shape shapes[] = {{64, 32, 14, 14}, {64, 64, 14, 14},
                            {1, 32, 14, 14},  {1, 64, 14, 14}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) bench_shape(&x, shapes[i]);
    dnnl_stream_destroy(x.strm);
    dnnl_engine_destroy(x.eng);
    return 0;
}
