/* Convolutions on oneDNN: see conv.h for why and how. */
#include "conv.h"

#include "amx_bwdw.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tpl_engine {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    unsigned long generations; /* hands out plan generations, unique per engine */
};

tpl_engine *tpl_engine_create(tpl_err *err) {
    tpl_engine *e = calloc(1, sizeof *e);
    if (!e || dnnl_engine_create(&e->engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&e->stream, e->engine, dnnl_stream_default_flags) !=
            dnnl_success) {
        tpl_err_set(err, "oneDNN: cannot create a CPU engine");
        tpl_engine_free(e);
        return NULL;
    }
    return e;
}

void tpl_engine_free(tpl_engine *e) {
    if (!e) return;
    if (e->stream) dnnl_stream_destroy(e->stream);
    if (e->engine) dnnl_engine_destroy(e->engine);
    free(e);
}

const char *tpl_engine_isa(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

int tpl_precision_supported(tpl_precision p) {
    if (p == TPL_PRECISION_FP32) return 1;
    if (p != TPL_PRECISION_BF16) return 0;
    /* the ISA values are bit sets, each containing those below it; without
     * native bf16 oneDNN would emulate it, slower than fp32 */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(),
                   bf16 = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & bf16) == bf16;
}

tpl_precision tpl_precision_auto(void) {
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(),
                   amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
    return (isa & amx) == amx ? TPL_PRECISION_BF16 : TPL_PRECISION_FP32;
}

/* One primitive with the memory objects of its arguments; data handles are
 * set at each call, so the same primitive serves every buffer. */
typedef struct prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
} prim;

struct tpl_conv_plan {
    tpl_engine *e;
    int cin, cout, k, stride, pad, h, w, oh, ow, in_block, out_block;
    int groups;   /* 1, or channel groups (tpl_conv_plan_set_groups) */
    int bf16;     /* inputs and weights in bf16 (tpl_precision) */
    int out_bf16; /* the forward and backward-data write bf16 (tpl_conv_plan_out_bf16) */
    int n, training;
    unsigned long gen;
    prim fwd, bwd_d, bwd_w;
    prim reorder_fwd, reorder_bwd, reorder_dw; /* OIHW <-> primitive formats */
    /* sources and output gradients as the primitives read them (bf16 in bf16
     * plans), output and input gradients as they write them (fp32) */
    dnnl_memory_t m_src, m_dst, m_dsrc, m_ddst, m_wfwd, m_wbwd, m_dw, m_oihw;
    float *dw_buf; /* backward-weights result in the primitive's format */
    tpl_amx_bwdw *amx; /* the bf16 3x3 weight gradient, where it applies (uses_amx_bwdw) */
};

static void prim_free(prim *p) {
    if (p->p) dnnl_primitive_destroy(p->p);
    if (p->pd) dnnl_primitive_desc_destroy(p->pd);
    p->p = NULL;
    p->pd = NULL;
}

static void mem_free(dnnl_memory_t *m) {
    if (*m) dnnl_memory_destroy(*m);
    *m = NULL;
}

static void plan_release(tpl_conv_plan *p) {
    prim *prims[] = {&p->fwd, &p->bwd_d, &p->bwd_w, &p->reorder_fwd,
                     &p->reorder_bwd, &p->reorder_dw};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++) prim_free(prims[i]);
    dnnl_memory_t *mems[] = {&p->m_src, &p->m_dst,  &p->m_dsrc, &p->m_ddst,
                             &p->m_wfwd, &p->m_wbwd, &p->m_dw,   &p->m_oihw};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++) mem_free(mems[i]);
    free(p->dw_buf);
    p->dw_buf = NULL;
    tpl_amx_bwdw_free(p->amx);
    p->amx = NULL;
    p->n = 0;
}

tpl_conv_plan *tpl_conv_plan_create(tpl_engine *e, int cin, int cout, int k,
                                    int stride, int h, int w, int in_block,
                                    int out_block) {
    return tpl_conv_plan_create_as(e, TPL_PRECISION_FP32, cin, cout, k, stride, h, w, in_block,
                                   out_block);
}

tpl_conv_plan *tpl_conv_plan_create_as(tpl_engine *e, tpl_precision prec, int cin, int cout,
                                       int k, int stride, int h, int w, int in_block,
                                       int out_block) {
    tpl_conv_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (tpl_conv_plan){.e = e, .cin = cin, .cout = cout, .k = k,
                         .stride = stride, .pad = k / 2, .h = h, .w = w,
                         .in_block = in_block, .out_block = out_block, .groups = 1,
                         .bf16 = prec == TPL_PRECISION_BF16};
    p->oh = (h + 2 * p->pad - k) / stride + 1;
    p->ow = (w + 2 * p->pad - k) / stride + 1;
    return p;
}

void tpl_conv_plan_out_bf16(tpl_conv_plan *p) {
    if (!p->bf16 || p->out_bf16) return;
    plan_release(p);
    p->out_bf16 = 1;
}

int tpl_conv_writes_bf16(const tpl_conv_plan *p) { return p->out_bf16; }

int tpl_conv_plan_set_groups(tpl_conv_plan *p, int groups) {
    if (groups < 1 || p->cin % groups || p->cout % groups) return -1;
    plan_release(p);
    p->groups = groups;
    return 0;
}

tpl_precision tpl_conv_precision(const tpl_conv_plan *p) {
    return p->bf16 ? TPL_PRECISION_BF16 : TPL_PRECISION_FP32;
}

void tpl_conv_plan_free(tpl_conv_plan *p) {
    if (!p) return;
    plan_release(p);
    free(p);
}

tpl_shape tpl_conv_in_shape(const tpl_conv_plan *p) {
    return (tpl_shape){p->n, p->cin, p->h, p->w, p->in_block};
}
tpl_shape tpl_conv_out_shape(const tpl_conv_plan *p) {
    return (tpl_shape){p->n, p->cout, p->oh, p->ow, p->out_block};
}
size_t tpl_conv_weight_count(const tpl_conv_plan *p) {
    return (size_t)p->cout * (p->cin / p->groups) * p->k * p->k;
}

/* Memory format tag for our [N][C/B][HW][B] layout.  With one channel,
 * NCHW and NHWC are the same bytes, but not the same kernels: fp32 plans
 * keep NCHW, bf16 ones need NHWC for a kernel that is not oneDNN's
 * reference one. */
static dnnl_format_tag_t act_tag(int c, int b, int bf16) {
    if (b == 1 && !(bf16 && c == 1)) return dnnl_nchw;
    if (b == c) return dnnl_nhwc;
    if (b == 16) return dnnl_nChw16c;
    if (b == 8) return dnnl_nChw8c;
    return dnnl_format_tag_undef;
}

static int act_md(const tpl_conv_plan *p, dnnl_memory_desc_t *md, int n, int c, int h, int w,
                  int b, dnnl_data_type_t type) {
    dnnl_dims_t d = {n, c, h, w};
    dnnl_format_tag_t tag = act_tag(c, b, p->bf16);
    return tag == dnnl_format_tag_undef ||
           dnnl_memory_desc_init_by_tag(md, 4, d, type, tag) != dnnl_success;
}

/* What a plan's primitives read and write: fp32 everywhere, or bf16
 * sources and output gradients (s16, d16) beside fp32 outputs and input
 * gradients (s32, d32). */
typedef struct act_mds {
    dnnl_memory_desc_t s32, d32, s16, d16;
} act_mds;

static const dnnl_memory_desc_t *src_in(const tpl_conv_plan *p, const act_mds *a) {
    return p->bf16 ? &a->s16 : &a->s32;
}
static const dnnl_memory_desc_t *dst_in(const tpl_conv_plan *p, const act_mds *a) {
    return p->bf16 ? &a->d16 : &a->d32;
}
/* What the forward writes, and the backward-data. */
static const dnnl_memory_desc_t *dst_out(const tpl_conv_plan *p, const act_mds *a) {
    return p->out_bf16 ? &a->d16 : &a->d32;
}
static const dnnl_memory_desc_t *dsrc_out(const tpl_conv_plan *p, const act_mds *a) {
    return p->out_bf16 ? &a->s16 : &a->s32;
}

static const dnnl_memory_desc_t *pd_md(const prim *p, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(p->pd, what, 0);
}

static int prim_make(prim *p, const_dnnl_op_desc_t desc, tpl_engine *e,
                     const_dnnl_primitive_desc_t hint) {
    if (dnnl_primitive_desc_create(&p->pd, desc, NULL, e->engine, hint) != dnnl_success)
        return -1;
    return dnnl_primitive_create(&p->p, p->pd) == dnnl_success ? 0 : -1;
}

static int reorder_make(prim *r, tpl_engine *e, const dnnl_memory_desc_t *from,
                        const dnnl_memory_desc_t *to) {
    if (dnnl_reorder_primitive_desc_create(&r->pd, from, e->engine, to, e->engine,
                                           NULL) != dnnl_success)
        return -1;
    return dnnl_primitive_create(&r->p, r->pd) == dnnl_success ? 0 : -1;
}

static int mem_make(dnnl_memory_t *m, const dnnl_memory_desc_t *md, tpl_engine *e) {
    return dnnl_memory_create(m, md, e->engine, DNNL_MEMORY_NONE) == dnnl_success ? 0 : -1;
}

/* Winograd F(4x4, 3x3) wins for 3x3 stride-1 convs on blocked layouts once
 * the batch is large enough to fill its tiles (measured: ~1.5x at batch 64,
 * 2x slower at batch 1; bench/conv_backends.c). */
static dnnl_alg_kind_t pick_alg(const tpl_conv_plan *p, int n) {
    /* (oneDNN 2.6 has no bf16 winograd) */
    int wino = !p->bf16 && p->groups == 1 && p->k == 3 && p->stride == 1 && p->in_block == 16 && p->out_block == 16 &&
               n >= TPL_CONV_WINOGRAD_MIN_BATCH && getenv("TEMPLAR_NO_WINOGRAD") == NULL;
    return wino ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

/* The weights' dimensions: OIHW, or with groups G x O/G x I/G x H x W
 * (the same bytes as OIHW with I/G inputs); returns how many. */
static int weight_dims(const tpl_conv_plan *p, dnnl_dims_t wd) {
    const dnnl_dim_t o = p->cout, i = p->cin, k = p->k, g = p->groups;
    if (g == 1) {
        wd[0] = o, wd[1] = i, wd[2] = k, wd[3] = k;
        return 4;
    }
    wd[0] = g, wd[1] = o / g, wd[2] = i / g, wd[3] = k, wd[4] = k;
    return 5;
}

/* The descriptor of pass kind (0 forward, 1 backward-data, 2
 * backward-weights): weights in the plan's type, but the weight gradient,
 * which is fp32 whatever the plan. */
static int conv_desc(const tpl_conv_plan *p, dnnl_convolution_desc_t *d,
                     int kind, dnnl_alg_kind_t alg, const act_mds *a) {
    dnnl_dims_t wd, st = {p->stride, p->stride}, pad = {p->pad, p->pad};
    dnnl_memory_desc_t wany;
    dnnl_data_type_t wt = p->bf16 && kind != 2 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_init_by_tag(&wany, weight_dims(p, wd), wd, wt, dnnl_format_tag_any);
    dnnl_status_t s;
    if (kind == 0)
        s = dnnl_convolution_forward_desc_init(d, dnnl_forward_training, alg, src_in(p, a),
                                               &wany, NULL, dst_out(p, a), st, pad, pad);
    else if (kind == 1)
        s = dnnl_convolution_backward_data_desc_init(d, alg, dsrc_out(p, a), &wany, dst_in(p, a),
                                                     st, pad, pad);
    else
        s = dnnl_convolution_backward_weights_desc_init(d, alg, src_in(p, a), &wany, NULL,
                                                        dst_in(p, a), st, pad, pad);
    return s == dnnl_success ? 0 : -1;
}

/* Forward primitive with the given algorithm, falling back to direct. */
static int make_fwd(tpl_conv_plan *p, prim *out, dnnl_alg_kind_t alg, const act_mds *a) {
    dnnl_convolution_desc_t d;
    if (conv_desc(p, &d, 0, alg, a) == 0 && prim_make(out, &d, p->e, NULL) == 0)
        return 0;
    prim_free(out);
    if (alg == dnnl_convolution_direct) return -1;
    return make_fwd(p, out, dnnl_convolution_direct, a);
}

/* bf16 3x3 stride-1 convs on NHWC images of up to 16x16 take their weight
 * gradient from amx_bwdw.c where the CPU has AMX: 1.5-2.8x oneDNN 2.6's
 * backward-weights kernel there, 24 to 256 channels; on 28x28 images
 * oneDNN's is as fast or faster (bench/conv_bwdw.c, docs/PERFORMANCE.md).
 * TEMPLAR_NO_AMX_BWDW keeps oneDNN's everywhere. */
#define TPL_AMX_BWDW_MAX_SIDE 16
static int uses_amx_bwdw(const tpl_conv_plan *p) {
    return p->bf16 && p->groups == 1 && p->k == 3 && p->stride == 1 && p->pad == 1 &&
           p->in_block == p->cin &&
           p->out_block == p->cout && p->h <= TPL_AMX_BWDW_MAX_SIDE &&
           p->w <= TPL_AMX_BWDW_MAX_SIDE && getenv("TEMPLAR_NO_AMX_BWDW") == NULL &&
           tpl_amx_bwdw_available();
}

static int build_backward(tpl_conv_plan *p, int n, dnnl_alg_kind_t alg, const act_mds *a,
                          const dnnl_memory_desc_t *oihw) {
    dnnl_convolution_desc_t d;
    if (conv_desc(p, &d, 1, alg, a) || prim_make(&p->bwd_d, &d, p->e, p->fwd.pd)) {
        prim_free(&p->bwd_d);
        if (conv_desc(p, &d, 1, dnnl_convolution_direct, a)) return -1;
        /* a direct-algorithm forward is the hint the direct backward wants */
        prim hint = {0};
        int bad = make_fwd(p, &hint, dnnl_convolution_direct, a) ||
                  prim_make(&p->bwd_d, &d, p->e, hint.pd);
        prim_free(&hint);
        if (bad) return -1;
    }
    if (mem_make(&p->m_dsrc, dsrc_out(p, a), p->e) || mem_make(&p->m_ddst, dst_in(p, a), p->e) ||
        reorder_make(&p->reorder_bwd, p->e, oihw, pd_md(&p->bwd_d, dnnl_query_weights_md)) ||
        mem_make(&p->m_wbwd, pd_md(&p->bwd_d, dnnl_query_weights_md), p->e))
        return -1;
    /* (without the memory for its workspace, oneDNN's kernel does it) */
    if (uses_amx_bwdw(p) && (p->amx = tpl_amx_bwdw_create(n, p->cin, p->cout, p->h, p->w)))
        return 0;
    /* backward-weights: direct is as fast as winograd here and simpler */
    prim hint = {0};
    int bad = make_fwd(p, &hint, dnnl_convolution_direct, a) ||
              conv_desc(p, &d, 2, dnnl_convolution_direct, a) ||
              prim_make(&p->bwd_w, &d, p->e, hint.pd);
    prim_free(&hint);
    if (bad) return -1;
    const dnnl_memory_desc_t *dw = pd_md(&p->bwd_w, dnnl_query_diff_weights_md);
    if (reorder_make(&p->reorder_dw, p->e, dw, oihw) || mem_make(&p->m_dw, dw, p->e))
        return -1;
    p->dw_buf = malloc(dnnl_memory_desc_get_size(dw));
    return p->dw_buf ? 0 : -1;
}

int tpl_conv_plan_prepare(tpl_conv_plan *p, int n, int training, tpl_err *err) {
    if (p->n == n && p->training >= training) return 0;
    plan_release(p);
    act_mds a;
    dnnl_memory_desc_t oihw;
    dnnl_dims_t wd;
    const int wnd = weight_dims(p, wd);
    dnnl_alg_kind_t alg = pick_alg(p, n);
    if (act_md(p, &a.s32, n, p->cin, p->h, p->w, p->in_block, dnnl_f32) ||
        act_md(p, &a.d32, n, p->cout, p->oh, p->ow, p->out_block, dnnl_f32) ||
        act_md(p, &a.s16, n, p->cin, p->h, p->w, p->in_block, dnnl_bf16) ||
        act_md(p, &a.d16, n, p->cout, p->oh, p->ow, p->out_block, dnnl_bf16) ||
        dnnl_memory_desc_init_by_tag(&oihw, wnd, wd, dnnl_f32, wnd == 5 ? dnnl_goihw : dnnl_oihw) !=
            dnnl_success ||
        make_fwd(p, &p->fwd, alg, &a))
        goto fail;
    const dnnl_memory_desc_t *wf = pd_md(&p->fwd, dnnl_query_weights_md);
    if (reorder_make(&p->reorder_fwd, p->e, &oihw, wf) ||
        mem_make(&p->m_src, src_in(p, &a), p->e) || mem_make(&p->m_dst, dst_out(p, &a), p->e) ||
        mem_make(&p->m_wfwd, wf, p->e) || mem_make(&p->m_oihw, &oihw, p->e))
        goto fail;
    if (training && build_backward(p, n, alg, &a, &oihw)) goto fail;
    p->n = n;
    p->training = training;
    p->gen = ++p->e->generations;
    return 0;
fail:
    plan_release(p);
    tpl_err_set(err, "oneDNN: no %s convolution for %dx%d %d->%d channels, stride %d, batch %d",
                p->bf16 ? "bf16" : "fp32", p->k, p->k, p->cin, p->cout, p->stride, n);
    return -1;
}

const char *tpl_conv_impl_of(const tpl_conv_plan *p, int pass) {
    const prim *pr = pass == 0 ? &p->fwd : pass == 1 ? &p->bwd_d : &p->bwd_w;
    const char *s = "none";
    if (pass == 2 && p->amx) return "templar:amx_bwdw";
    if (pr->pd) dnnl_primitive_desc_query(pr->pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

const char *tpl_conv_impl(const tpl_conv_plan *p) { return tpl_conv_impl_of(p, 0); }

/* Runs a primitive to completion; oneDNN's status becomes one line. */
static int run(tpl_conv_plan *p, const prim *pr, int nargs, const dnnl_exec_arg_t *args,
               const char *what, tpl_err *err) {
    dnnl_status_t s = dnnl_primitive_execute(pr->p, p->e->stream, nargs, args);
    if (s == dnnl_success) s = dnnl_stream_wait(p->e->stream);
    if (s == dnnl_success) return 0;
    tpl_err_set(err, "oneDNN: %s of a %dx%d %d->%d convolution failed (status %d)", what, p->k,
                p->k, p->cin, p->cout, (int)s);
    return -1;
}

static void bind(dnnl_memory_t m, const void *ptr) {
    dnnl_memory_set_data_handle(m, (void *)ptr);
}

/* Reorders OIHW weights into dst (allocating it to the size the format
 * wants); into bf16 plans' weights, the reorder rounds. */
static int reorder_weights(tpl_conv_plan *p, const prim *r, dnnl_memory_t m,
                           const float *oihw, void **dst, size_t *cap, tpl_err *err) {
    size_t need = dnnl_memory_desc_get_size(pd_md(r, dnnl_query_dst_md));
    if (*cap < need) {
        void *nb = realloc(*dst, need);
        if (!nb) {
            tpl_err_set(err, "out of memory reordering convolution weights");
            return -1;
        }
        *dst = nb;
        *cap = need;
    }
    bind(p->m_oihw, oihw);
    bind(m, *dst);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_oihw}, {DNNL_ARG_TO, m}};
    return run(p, r, 2, a, "weight reorder", err);
}

int tpl_conv_set_weights(tpl_conv_plan *p, tpl_conv_slot *s, const float *oihw,
                         unsigned long gen, tpl_err *err) {
    if (s->plan_gen == p->gen && s->weights_gen == gen && s->fwd) return 0;
    if (reorder_weights(p, &p->reorder_fwd, p->m_wfwd, oihw, &s->fwd, &s->fwd_cap, err) ||
        (p->training && reorder_weights(p, &p->reorder_bwd, p->m_wbwd, oihw, &s->bwd,
                                        &s->bwd_cap, err)))
        return -1;
    s->plan_gen = p->gen;
    s->weights_gen = gen;
    return 0;
}

void tpl_conv_slot_free(tpl_conv_slot *s) {
    free(s->fwd);
    free(s->bwd);
    memset(s, 0, sizeof *s);
}

/* A plan called with inputs of the other precision: a bug of the caller's. */
static int wrong_type(const tpl_conv_plan *p, int bf16, tpl_err *err) {
    if (p->bf16 == bf16) return 0;
    tpl_err_set(err, "convolution: a %s plan given %s inputs", p->bf16 ? "bf16" : "fp32",
                bf16 ? "bf16" : "fp32");
    return -1;
}

static int forward(tpl_conv_plan *p, const tpl_conv_slot *s, const void *x, void *y,
                   tpl_err *err) {
    bind(p->m_src, x);
    bind(p->m_wfwd, s->fwd);
    bind(p->m_dst, y);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_WEIGHTS, p->m_wfwd},
                            {DNNL_ARG_DST, p->m_dst}};
    return run(p, &p->fwd, 3, a, "forward", err);
}

static int backward_data(tpl_conv_plan *p, const tpl_conv_slot *s, const void *dy, void *dx,
                         tpl_err *err) {
    bind(p->m_dsrc, dx);
    bind(p->m_wbwd, s->bwd);
    bind(p->m_ddst, dy);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_SRC, p->m_dsrc},
                            {DNNL_ARG_WEIGHTS, p->m_wbwd},
                            {DNNL_ARG_DIFF_DST, p->m_ddst}};
    return run(p, &p->bwd_d, 3, a, "backward-data", err);
}

static int backward_weights(tpl_conv_plan *p, const void *x, const void *dy, float *dw,
                            tpl_err *err) {
    if (p->amx) { /* bf16 plans only */
        tpl_amx_bwdw_run(p->amx, x, dy, dw);
        return 0;
    }
    bind(p->m_src, x);
    bind(p->m_ddst, dy);
    bind(p->m_dw, p->dw_buf);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_DIFF_DST, p->m_ddst},
                            {DNNL_ARG_DIFF_WEIGHTS, p->m_dw}};
    if (run(p, &p->bwd_w, 3, a, "backward-weights", err)) return -1;
    bind(p->m_oihw, dw);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_dw}, {DNNL_ARG_TO, p->m_oihw}};
    return run(p, &p->reorder_dw, 2, r, "weight-gradient reorder", err);
}

int tpl_conv_forward(tpl_conv_plan *p, const tpl_conv_slot *s, const float *x, float *y,
                     tpl_err *err) {
    return wrong_type(p, 0, err) || forward(p, s, x, y, err) ? -1 : 0;
}

int tpl_conv_backward_data(tpl_conv_plan *p, const tpl_conv_slot *s, const float *dy,
                           float *dx, tpl_err *err) {
    return wrong_type(p, 0, err) || backward_data(p, s, dy, dx, err) ? -1 : 0;
}

int tpl_conv_backward_weights(tpl_conv_plan *p, const float *x, const float *dy, float *dw,
                              tpl_err *err) {
    return wrong_type(p, 0, err) || backward_weights(p, x, dy, dw, err) ? -1 : 0;
}

/* A forward whose output type is not the plan's: a bug of the caller's. */
static int wrong_output(const tpl_conv_plan *p, int out_bf16, tpl_err *err) {
    if (p->out_bf16 == out_bf16) return 0;
    tpl_err_set(err, "convolution: a plan that writes %s asked for %s", p->out_bf16 ? "bf16" : "fp32",
                out_bf16 ? "bf16" : "fp32");
    return -1;
}

int tpl_conv_forward_bf16(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *x,
                          float *y, tpl_err *err) {
    return wrong_type(p, 1, err) || wrong_output(p, 0, err) || forward(p, s, x, y, err) ? -1 : 0;
}

int tpl_conv_forward_bf16_out(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *x,
                              tpl_bf16 *y, tpl_err *err) {
    return wrong_type(p, 1, err) || wrong_output(p, 1, err) || forward(p, s, x, y, err) ? -1 : 0;
}

int tpl_conv_backward_data_bf16(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *dy,
                                float *dx, tpl_err *err) {
    return wrong_type(p, 1, err) || wrong_output(p, 0, err) || backward_data(p, s, dy, dx, err)
               ? -1
               : 0;
}

int tpl_conv_backward_data_bf16_out(tpl_conv_plan *p, const tpl_conv_slot *s,
                                    const tpl_bf16 *dy, tpl_bf16 *dx, tpl_err *err) {
    return wrong_type(p, 1, err) || wrong_output(p, 1, err) || backward_data(p, s, dy, dx, err)
               ? -1
               : 0;
}

int tpl_conv_backward_weights_bf16(tpl_conv_plan *p, const tpl_bf16 *x, const tpl_bf16 *dy,
                                   float *dw, tpl_err *err) {
    return wrong_type(p, 1, err) || backward_weights(p, x, dy, dw, err) ? -1 : 0;
}
