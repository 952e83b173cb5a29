/* bf16 backward-weights of a 3x3 stride-1 pad-1 convolution, several ways:
 * the measurement behind conv.c's use of amx_bwdw.c for that pass.
 *
 *   bench_conv_bwdw [--threads 2] [--c 64] [--hw 14] [--batch 64] [--short]
 *
 * Ways (x and dy bf16 NHWC, dW fp32 OIHW, as tpl_conv_backward_weights_bf16):
 *   onednn nhwc        oneDNN's backward-weights primitive on NHWC, dW "any"
 *                      plus its reorder to OIHW (what conv.c ran before)
 *   templar amx_bwdw   amx_bwdw.c (what conv.c runs now where there is AMX)
 * and, unless --short, what was tried on the way:
 *   onednn any         oneDNN's primitive with src and diff_dst "any" (the
 *                      primitive alone; the reorders into its formats timed
 *                      apart)
 *   onednn dw bf16     NHWC, the weight gradient in bf16 (rounded: not
 *                      usable, shown for its kernel)
 *   grid, P parts      x and dy copied onto amx_bwdw.c's zero-padded grid,
 *                      then the 9 taps as 9 oneDNN bf16 matmuls each,
 *                      dW_tap (Co x Ci) = dy^T (Co x M) . x shifted (M x Ci),
 *                      x's rows read in place; 1 part: oneDNN's threads; 2:
 *                      M cut in two, one-thread matmuls on each thread.
 *                      oneDNN takes its AMX matmul (brg) only for dense
 *                      operands, so the taps cannot share one matmul (the
 *                      overlapping-rows view of x it refuses), and its
 *                      matmul repacks both operands on every call.
 *   grid dyT, P parts  the same with dy transposed by the copy (A plain)
 * Each is checked against oneDNN's primitive (max |difference| against
 * max |dW|), then timed: median call of a 0.3 s loop. */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amx_bwdw.h"
#include "bench.h"
#include "bf16.h"

typedef struct geom {
    int n, c, h, w;
} geom;

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static void check(dnnl_status_t s, const char *what) {
    if (s == dnnl_success) return;
    fprintf(stderr, "bench_conv_bwdw: %s failed (status %d)\n", what, (int)s);
    exit(1);
}

static const char *impl_of(dnnl_primitive_desc_t pd) {
    const char *s = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *ptr) {
    dnnl_memory_t m;
    check(dnnl_memory_create(&m, md, eng, ptr ? ptr : DNNL_MEMORY_ALLOCATE), "memory");
    return m;
}

static void exec(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *a) {
    check(dnnl_primitive_execute(p, strm, n, a), "execute");
    check(dnnl_stream_wait(strm), "wait");
}

/* Median seconds of fn(arg) over a 0.3 s loop after 5 warm-up calls. */
static double time_it(void (*fn)(void *), void *arg) {
    enum { MAX = 4096 };
    static double t[MAX];
    for (int i = 0; i < 5; i++) fn(arg);
    int calls = 0;
    const double start = bench_now();
    while (calls < MAX && (calls < 5 || bench_now() - start < 0.3)) {
        const double t0 = bench_now();
        fn(arg);
        t[calls++] = bench_now() - t0;
    }
    return bench_median(t, calls);
}

/* ---- oneDNN's backward-weights primitive ------------------------------ */

typedef struct prim_case {
    dnnl_primitive_t bw, to_src, to_dst, to_oihw;
    dnnl_memory_t src, ddst, src_user, ddst_user, dw, oihw;
} prim_case;

static void prim_run(void *arg) {
    prim_case *c = arg;
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, c->src}, {DNNL_ARG_DIFF_DST, c->ddst},
                            {DNNL_ARG_DIFF_WEIGHTS, c->dw}};
    exec(c->bw, 3, a);
    if (c->to_oihw) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, c->dw}, {DNNL_ARG_TO, c->oihw}};
        exec(c->to_oihw, 2, r);
    }
}

static void prim_inputs(void *arg) {
    prim_case *c = arg;
    if (c->to_src) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, c->src_user}, {DNNL_ARG_TO, c->src}};
        exec(c->to_src, 2, r);
    }
    if (c->to_dst) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, c->ddst_user}, {DNNL_ARG_TO, c->ddst}};
        exec(c->to_dst, 2, r);
    }
}

static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    check(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL), "reorder pd");
    check(dnnl_primitive_create(&p, pd), "reorder");
    dnnl_primitive_desc_destroy(pd);
    return p;
}

/* mode 0: NHWC in; 1: "any" in (reordered); 2: NHWC in, bf16 dW. Runs it
 * once into dw_oihw (fp32), times it, prints a row. */
static void onednn_way(geom g, int mode, tpl_bf16 *x, tpl_bf16 *dy, float *dw_oihw) {
    dnnl_dims_t ad = {g.n, g.c, g.h, g.w}, wd = {g.c, g.c, 3, 3}, st = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t nhwc, any_act, wany, oihw, fwd_w;
    check(dnnl_memory_desc_init_by_tag(&nhwc, 4, ad, dnnl_bf16, dnnl_nhwc), "md");
    check(dnnl_memory_desc_init_by_tag(&any_act, 4, ad, dnnl_bf16, dnnl_format_tag_any), "md");
    check(dnnl_memory_desc_init_by_tag(&wany, 4, wd, mode == 2 ? dnnl_bf16 : dnnl_f32,
                                       dnnl_format_tag_any), "md");
    check(dnnl_memory_desc_init_by_tag(&fwd_w, 4, wd, dnnl_bf16, dnnl_format_tag_any), "md");
    check(dnnl_memory_desc_init_by_tag(&oihw, 4, wd, dnnl_f32, dnnl_oihw), "md");
    const dnnl_memory_desc_t *act = mode == 1 ? &any_act : &nhwc;
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_desc_t fpd, bpd;
    check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                             act, &fwd_w, NULL, act, st, pad, pad), "fwd desc");
    check(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL), "fwd pd");
    check(dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, act, &wany,
                                                      NULL, act, st, pad, pad), "bwd_w desc");
    check(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd), "bwd_w pd");
    prim_case c = {0};
    check(dnnl_primitive_create(&c.bw, bpd), "bwd_w");
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(bpd, dnnl_query_src_md, 0),
                             *dmd = dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_dst_md, 0),
                             *wmd =
                                 dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 0);
    c.src_user = mem(&nhwc, x);
    c.ddst_user = mem(&nhwc, dy);
    c.src = mode == 1 ? mem(smd, NULL) : mem(&nhwc, x);
    c.ddst = mode == 1 ? mem(dmd, NULL) : mem(&nhwc, dy);
    if (mode == 1) {
        c.to_src = reorder(&nhwc, smd);
        c.to_dst = reorder(&nhwc, dmd);
    }
    c.dw = mem(wmd, NULL);
    dnnl_memory_desc_t oihw_t = oihw;
    oihw_t.data_type = mode == 2 ? dnnl_bf16 : dnnl_f32;
    void *out = mode == 2 ? malloc(sizeof(tpl_bf16) * g.c * g.c * 9) : dw_oihw;
    c.oihw = mem(&oihw_t, out);
    c.to_oihw = reorder(wmd, &oihw_t);
    prim_inputs(&c);
    prim_run(&c);
    if (mode == 2) {
        for (int i = 0; i < g.c * g.c * 9; i++) dw_oihw[i] = tpl_bf16_widen(((tpl_bf16 *)out)[i]);
    }
    const double s = time_it(prim_run, &c), flops = 2.0 * g.n * g.h * g.w * g.c * g.c * 9;
    static const char *const names[] = {"onednn nhwc", "onednn any", "onednn dw bf16"};
    printf("  %-22s %8.3f ms %8.1f GFLOP/s  %s", names[mode], s * 1e3, flops / s * 1e-9,
           impl_of(bpd));
    if (mode == 1) printf("  (+ input reorders %.3f ms)", time_it(prim_inputs, &c) * 1e3);
    printf("\n");
    if (mode == 2) free(out);
    dnnl_memory_t ms[] = {c.src, c.ddst, c.src_user, c.ddst_user, c.dw, c.oihw};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) dnnl_memory_destroy(ms[i]);
    dnnl_primitive_t ps[] = {c.bw, c.to_src, c.to_dst, c.to_oihw};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        if (ps[i]) dnnl_primitive_destroy(ps[i]);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_desc_destroy(fpd);
}

/* ---- the padded grid and matmuls -------------------------------------- */

/* Grid of rows of W+1 pixels: image i's row r (0..H) starts at pixel
 * (i*(H+1) + r)*(W+1); row 0 is zeros (the row above its first row, and
 * below the previous image's last one), rows 1..H hold the image's rows with
 * a zero in the last column (right of the row's last pixel, left of the next
 * row's first).  dy lies on the same grid, so a pixel of the grid multiplies
 * the pixel (ky-1, kx-1) away in x: for each of the 9 kernel taps one
 * matmul dW_tap (Co x Ci) = dy^T (Co x M) . x shifted (M x Ci), x's rows
 * read in place (no im2col).  oneDNN's AMX matmul (brg) wants dense
 * operands, so the 9 taps are 9 matmuls into 9 dense Co x Ci blocks.
 * The M pixels may be cut in P parts, one a thread, each with its own
 * one-thread matmuls, their results summed after. x has FRONT zero pixels
 * before pixel 0 and zeros after M, so every shifted read stays in the
 * buffer. */
typedef struct grid {
    geom g;
    int row;          /* W+1 */
    int parts;        /* P: cuts of M, one a thread (1: oneDNN threads) */
    int dy_t;         /* dy stored transposed, [P][Co][M/P] (A plain) */
    long m, kp;       /* pixels summed over (a multiple of 2P), and per part */
    long front, total;
    tpl_bf16 *x, *dy;
    dnnl_primitive_t mm[2];
    dnnl_stream_t st[2];
    dnnl_memory_t a[2], b[2][9], c[2][9], pad[2];
    float *out;  /* [P][9][Co][Ci] */
    float *oihw;
    const tpl_bf16 *x_in, *dy_in;
    const char *impl;
} grid;

/* dy^T part by part: element (c, q) of part p at dy[(p*C + c)*kp + q - p*kp] */
static void put_dy_t(grid *G, long q, const tpl_bf16 *src, int count) {
    const int C = G->g.c;
    for (int w = 0; w < count; w++, q++) {
        const long p = q / G->kp, r = q % G->kp;
        tpl_bf16 *col = G->dy + (p * C) * G->kp + r;
        for (int c = 0; c < C; c++) col[(long)c * G->kp] = src ? src[(long)w * C + c] : 0;
    }
}

static void grid_fill(grid *G) {
    const geom g = G->g;
    const int C = g.c, row = G->row;
    const long front = G->front;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < g.n; i++) {
        for (int r = 0; r <= g.h; r++) {
            const long q0 = ((long)i * (g.h + 1) + r) * row;
            tpl_bf16 *xr = G->x + (front + q0) * C;
            const tpl_bf16 *xs = r ? G->x_in + (((long)i * g.h + r - 1) * g.w) * C : NULL,
                           *ds = r ? G->dy_in + (((long)i * g.h + r - 1) * g.w) * C : NULL;
            if (xs) {
                memcpy(xr, xs, sizeof(tpl_bf16) * g.w * C);
                memset(xr + (long)g.w * C, 0, sizeof(tpl_bf16) * C);
            } else {
                memset(xr, 0, sizeof(tpl_bf16) * row * C);
            }
            if (G->dy_t) {
                put_dy_t(G, q0, ds, ds ? g.w : row);
                if (ds) put_dy_t(G, q0 + g.w, NULL, 1);
            } else if (ds) {
                memcpy(G->dy + q0 * C, ds, sizeof(tpl_bf16) * g.w * C);
                memset(G->dy + (q0 + g.w) * C, 0, sizeof(tpl_bf16) * C);
            } else {
                memset(G->dy + q0 * C, 0, sizeof(tpl_bf16) * row * C);
            }
        }
    }
    /* after the last image: zeros up to M (dy) and to the end (x) */
    const long used = (long)g.n * (g.h + 1) * row;
    memset(G->x + (front + used) * C, 0, sizeof(tpl_bf16) * (G->total - front - used) * C);
    if (G->dy_t) put_dy_t(G, used, NULL, (int)(G->m - used));
    else memset(G->dy + used * C, 0, sizeof(tpl_bf16) * (G->m - used) * C);
}

static void grid_part(grid *G, int p) {
    for (int k = 0; k < 9; k++) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, G->a[p]}, {DNNL_ARG_WEIGHTS, G->b[p][k]},
                                {DNNL_ARG_DST, G->c[p][k]}, {DNNL_ARG_SCRATCHPAD, G->pad[p]}};
        check(dnnl_primitive_execute(G->mm[p], G->st[p], 4, a), "execute");
    }
    check(dnnl_stream_wait(G->st[p]), "wait");
}

static void grid_run(void *arg) {
    grid *G = arg;
    grid_fill(G);
    if (G->parts == 1) {
        grid_part(G, 0);
    } else {
#pragma omp parallel num_threads(G->parts)
        grid_part(G, omp_get_thread_num());
    }
    /* sum the parts, [tap][Co][Ci] -> OIHW */
    const int C = G->g.c;
    const long blk = (long)9 * C * C;
    for (int o = 0; o < C; o++)
        for (int i = 0; i < C; i++)
            for (int t = 0; t < 9; t++) {
                float v = 0;
                for (int p = 0; p < G->parts; p++) v += G->out[p * blk + ((long)t * C + o) * C + i];
                G->oihw[((long)o * C + i) * 9 + t] = v;
            }
}

static void grid_matmuls(grid *G) {
    const dnnl_dim_t C = G->g.c, K = G->kp, row = G->row;
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_dims_t ad = {C, K}, as = {G->dy_t ? K : 1, G->dy_t ? 1 : C};
    check(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_bf16, as), "A md");
    dnnl_dims_t bd = {K, C};
    check(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_bf16, dnnl_ab), "B md");
    dnnl_dims_t cd = {C, C};
    check(dnnl_memory_desc_init_by_tag(&cmd, 2, cd, dnnl_f32, dnnl_ab), "C md");
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "attr");
    check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "attr");
    check(dnnl_matmul_desc_init(&d, &amd, &bmd, NULL, &cmd), "matmul desc");
    /* a part's matmuls run on one thread: plan them for one */
    const int threads = omp_get_max_threads();
    if (G->parts > 1) omp_set_num_threads(1);
    check(dnnl_primitive_desc_create(&pd, &d, attr, eng, NULL), "matmul pd");
    omp_set_num_threads(threads);
    G->impl = impl_of(pd);
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    for (int p = 0; p < G->parts; p++) {
        check(dnnl_primitive_create(&G->mm[p], pd), "matmul");
        check(dnnl_stream_create(&G->st[p], eng, dnnl_stream_default_flags), "stream");
        G->pad[p] = mem(smd, NULL);
        G->a[p] = mem(&amd, G->dy + (G->dy_t ? p * C * K : p * K * C));
        for (int k = 0; k < 9; k++) {
            const long first = G->front + p * K + (long)(k / 3 - 1) * row + (k % 3 - 1);
            G->b[p][k] = mem(&bmd, G->x + first * C);
            G->c[p][k] = mem(&cmd, G->out + ((long)p * 9 + k) * C * C);
        }
    }
    /* the pd (and the impl string in it) live until exit: a benchmark */
    dnnl_primitive_attr_destroy(attr);
}

static void grid_way(geom g, int parts, int dy_t, const tpl_bf16 *x, const tpl_bf16 *dy,
                     const float *ref) {
    grid G = {.g = g, .row = g.w + 1, .parts = parts, .dy_t = dy_t, .x_in = x, .dy_in = dy};
    const long used = (long)g.n * (g.h + 1) * G.row;
    G.m = (used + 2 * parts - 1) / (2 * parts) * (2 * parts);
    G.kp = G.m / parts;
    G.front = G.row + 1;
    G.total = G.front + G.m + G.row + 1;
    G.x = calloc((size_t)G.total * g.c, sizeof(tpl_bf16));
    G.dy = calloc((size_t)G.m * g.c, sizeof(tpl_bf16));
    G.out = calloc((size_t)parts * 9 * g.c * g.c, sizeof(float));
    G.oihw = calloc((size_t)g.c * g.c * 9, sizeof(float));
    grid_matmuls(&G);
    grid_run(&G);
    float md = 0, mr = 0;
    for (long i = 0; i < (long)g.c * g.c * 9; i++) {
        md = fmaxf(md, fabsf(G.oihw[i] - ref[i]));
        mr = fmaxf(mr, fabsf(ref[i]));
    }
    const double s = time_it(grid_run, &G), flops = 2.0 * g.n * g.h * g.w * g.c * g.c * 9;
    char name[64];
    snprintf(name, sizeof name, "grid%s, %d part%s", dy_t ? " dyT" : "", parts,
             parts > 1 ? "s" : "");
    printf("  %-22s %8.3f ms %8.1f GFLOP/s  %s  (max diff %.2g of %.3g)", name, s * 1e3,
           flops / s * 1e-9, G.impl, md, mr);
    const double t0 = bench_now();
    for (int i = 0; i < 20; i++) grid_fill(&G);
    printf("  fill %.3f ms\n", (bench_now() - t0) / 20 * 1e3);
    for (int p = 0; p < parts; p++) {
        dnnl_primitive_destroy(G.mm[p]);
        dnnl_stream_destroy(G.st[p]);
        dnnl_memory_destroy(G.a[p]);
        dnnl_memory_destroy(G.pad[p]);
        for (int k = 0; k < 9; k++) {
            dnnl_memory_destroy(G.b[p][k]);
            dnnl_memory_destroy(G.c[p][k]);
        }
    }
    free(G.x), free(G.dy), free(G.out), free(G.oihw);
}

/* ---- templar's own AMX kernel (amx_bwdw.c) ----------------------------- */

typedef struct amx_case {
    tpl_amx_bwdw *b;
    const tpl_bf16 *x, *dy;
    float *dw;
} amx_case;

static void amx_run(void *arg) {
    amx_case *c = arg;
    tpl_amx_bwdw_run(c->b, c->x, c->dy, c->dw);
}

static void amx_way(geom g, const tpl_bf16 *x, const tpl_bf16 *dy, const float *ref) {
    amx_case c = {tpl_amx_bwdw_create(g.n, g.c, g.c, g.h, g.w), x, dy,
                  malloc(sizeof(float) * g.c * g.c * 9)};
    if (!c.b) {
        printf("  %-22s (no AMX here)\n", "templar amx_bwdw");
        free(c.dw);
        return;
    }
    amx_run(&c);
    float md = 0, mr = 0;
    for (long i = 0; i < (long)g.c * g.c * 9; i++) {
        md = fmaxf(md, fabsf(c.dw[i] - ref[i]));
        mr = fmaxf(mr, fabsf(ref[i]));
    }
    const double s = time_it(amx_run, &c), flops = 2.0 * g.n * g.h * g.w * g.c * g.c * 9;
    printf("  %-22s %8.3f ms %8.1f GFLOP/s  (max diff %.2g of %.3g)\n", "templar amx_bwdw",
           s * 1e3, flops / s * 1e-9, md, mr);
    tpl_amx_bwdw_free(c.b);
    free(c.dw);
}

int main(int argc, char **argv) {
    int threads = 2, only_short = 0;
    geom g = {64, 64, 14, 14};
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        int *value = !strcmp(argv[i], "--threads") ? &threads
                     : !strcmp(argv[i], "--c")     ? &g.c
                     : !strcmp(argv[i], "--hw")    ? &g.h
                     : !strcmp(argv[i], "--batch") ? &g.n
                                                   : NULL;
        if (!strcmp(argv[i], "--short")) {
            only_short = 1;
        } else if (value && has_value && atoi(argv[i + 1]) > 0) {
            *value = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_conv_bwdw [--threads N] [--c C] [--hw S] "
                            "[--batch N] [--short]\n");
            return 2;
        }
    }
    g.w = g.h;
    omp_set_num_threads(threads);
    check(dnnl_engine_create(&eng, dnnl_cpu, 0), "engine");
    check(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags), "stream");
    const long act = (long)g.n * g.h * g.w * g.c, wc = (long)g.c * g.c * 9;
    tpl_bf16 *x = malloc(sizeof(tpl_bf16) * act), *dy = malloc(sizeof(tpl_bf16) * act);
    float *ref = malloc(sizeof(float) * wc), *other = malloc(sizeof(float) * wc);
    unsigned s = 12345;
    for (long i = 0; i < act; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = tpl_bf16_round((float)((s >> 8) & 0xffff) / 32768.0f - 1.0f);
        s = s * 1103515245u + 12345u;
        dy[i] = tpl_bf16_round((float)((s >> 8) & 0xffff) / 32768.0f - 1.0f);
    }
    printf("bf16 backward-weights, 3x3 %d->%d, %dx%d, batch %d, %d threads\n", g.c, g.c, g.h,
           g.w, g.n, threads);
    onednn_way(g, 0, x, dy, ref);
    amx_way(g, x, dy, ref);
    if (only_short) return 0;
    onednn_way(g, 1, x, dy, other);
    onednn_way(g, 2, x, dy, other);
    for (int dy_t = 0; dy_t < 2; dy_t++)
        for (int parts = 1; parts <= 2 && parts <= threads; parts++)
            grid_way(g, parts, dy_t, x, dy, ref);
    return 0;
}
