/* Convolutions on oneDNN: see conv.h for why and how. */
#include "conv.h"

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

/* One primitive with the memory objects of its arguments; data handles are
 * set at each call, so the same primitive serves every buffer. */
typedef struct prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
} prim;

struct tpl_conv_plan {
    tpl_engine *e;
    int cin, cout, k, stride, pad, h, w, oh, ow, in_block, out_block;
    int n, training;
    unsigned long gen;
    prim fwd, bwd_d, bwd_w;
    prim reorder_fwd, reorder_bwd, reorder_dw; /* OIHW <-> primitive formats */
    dnnl_memory_t m_src, m_dst, m_wfwd, m_wbwd, m_dw, m_oihw;
    float *dw_buf; /* backward-weights result in the primitive's format */
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
    dnnl_memory_t *mems[] = {&p->m_src, &p->m_dst, &p->m_wfwd, &p->m_wbwd, &p->m_dw, &p->m_oihw};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++) mem_free(mems[i]);
    free(p->dw_buf);
    p->dw_buf = NULL;
    p->n = 0;
}

tpl_conv_plan *tpl_conv_plan_create(tpl_engine *e, int cin, int cout, int k,
                                    int stride, int h, int w, int in_block,
                                    int out_block) {
    tpl_conv_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (tpl_conv_plan){.e = e, .cin = cin, .cout = cout, .k = k,
                         .stride = stride, .pad = k / 2, .h = h, .w = w,
                         .in_block = in_block, .out_block = out_block};
    p->oh = (h + 2 * p->pad - k) / stride + 1;
    p->ow = (w + 2 * p->pad - k) / stride + 1;
    return p;
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
    return (size_t)p->cout * p->cin * p->k * p->k;
}

/* Memory format tag for our [N][C/B][HW][B] layout. */
static dnnl_format_tag_t act_tag(int c, int b) {
    if (b == 1) return dnnl_nchw; /* also NHWC when c == 1 */
    if (b == c) return dnnl_nhwc;
    if (b == 16) return dnnl_nChw16c;
    if (b == 8) return dnnl_nChw8c;
    return dnnl_format_tag_undef;
}

static int act_md(dnnl_memory_desc_t *md, int n, int c, int h, int w, int b) {
    dnnl_dims_t d = {n, c, h, w};
    dnnl_format_tag_t tag = act_tag(c, b);
    return tag == dnnl_format_tag_undef ||
           dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag) != dnnl_success;
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
    int wino = p->k == 3 && p->stride == 1 && p->in_block == 16 && p->out_block == 16 &&
               n >= TPL_CONV_WINOGRAD_MIN_BATCH && getenv("TEMPLAR_NO_WINOGRAD") == NULL;
    return wino ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

static int conv_desc(const tpl_conv_plan *p, dnnl_convolution_desc_t *d,
                     int kind, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *src,
                     const dnnl_memory_desc_t *dst) {
    dnnl_dims_t wd = {p->cout, p->cin, p->k, p->k}, st = {p->stride, p->stride},
                pad = {p->pad, p->pad};
    dnnl_memory_desc_t wany;
    dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_status_t s;
    if (kind == 0)
        s = dnnl_convolution_forward_desc_init(d, dnnl_forward_training, alg, src,
                                               &wany, NULL, dst, st, pad, pad);
    else if (kind == 1)
        s = dnnl_convolution_backward_data_desc_init(d, alg, src, &wany, dst, st, pad, pad);
    else
        s = dnnl_convolution_backward_weights_desc_init(d, alg, src, &wany, NULL,
                                                        dst, st, pad, pad);
    return s == dnnl_success ? 0 : -1;
}

/* Forward primitive with the given algorithm, falling back to direct. */
static int make_fwd(tpl_conv_plan *p, prim *out, dnnl_alg_kind_t alg,
                    const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst) {
    dnnl_convolution_desc_t d;
    if (conv_desc(p, &d, 0, alg, src, dst) == 0 && prim_make(out, &d, p->e, NULL) == 0)
        return 0;
    prim_free(out);
    if (alg == dnnl_convolution_direct) return -1;
    return make_fwd(p, out, dnnl_convolution_direct, src, dst);
}

static int build_backward(tpl_conv_plan *p, dnnl_alg_kind_t alg,
                          const dnnl_memory_desc_t *src,
                          const dnnl_memory_desc_t *dst,
                          const dnnl_memory_desc_t *oihw) {
    dnnl_convolution_desc_t d;
    if (conv_desc(p, &d, 1, alg, src, dst) || prim_make(&p->bwd_d, &d, p->e, p->fwd.pd)) {
        prim_free(&p->bwd_d);
        if (conv_desc(p, &d, 1, dnnl_convolution_direct, src, dst)) return -1;
        /* a direct-algorithm forward is the hint the direct backward wants */
        prim hint = {0};
        int bad = make_fwd(p, &hint, dnnl_convolution_direct, src, dst) ||
                  prim_make(&p->bwd_d, &d, p->e, hint.pd);
        prim_free(&hint);
        if (bad) return -1;
    }
    /* backward-weights: direct is as fast as winograd here and simpler */
    prim hint = {0};
    int bad = make_fwd(p, &hint, dnnl_convolution_direct, src, dst) ||
              conv_desc(p, &d, 2, dnnl_convolution_direct, src, dst) ||
              prim_make(&p->bwd_w, &d, p->e, hint.pd);
    prim_free(&hint);
    if (bad) return -1;
    const dnnl_memory_desc_t *wb = pd_md(&p->bwd_d, dnnl_query_weights_md);
    const dnnl_memory_desc_t *dw = pd_md(&p->bwd_w, dnnl_query_diff_weights_md);
    if (reorder_make(&p->reorder_bwd, p->e, oihw, wb) ||
        reorder_make(&p->reorder_dw, p->e, dw, oihw) || mem_make(&p->m_wbwd, wb, p->e) ||
        mem_make(&p->m_dw, dw, p->e))
        return -1;
    p->dw_buf = malloc(dnnl_memory_desc_get_size(dw));
    return p->dw_buf ? 0 : -1;
}

int tpl_conv_plan_prepare(tpl_conv_plan *p, int n, int training, tpl_err *err) {
    if (p->n == n && p->training >= training) return 0;
    plan_release(p);
    dnnl_memory_desc_t src, dst, oihw;
    dnnl_dims_t wd = {p->cout, p->cin, p->k, p->k};
    dnnl_alg_kind_t alg = pick_alg(p, n);
    if (act_md(&src, n, p->cin, p->h, p->w, p->in_block) ||
        act_md(&dst, n, p->cout, p->oh, p->ow, p->out_block) ||
        dnnl_memory_desc_init_by_tag(&oihw, 4, wd, dnnl_f32, dnnl_oihw) != dnnl_success ||
        make_fwd(p, &p->fwd, alg, &src, &dst))
        goto fail;
    const dnnl_memory_desc_t *wf = pd_md(&p->fwd, dnnl_query_weights_md);
    if (reorder_make(&p->reorder_fwd, p->e, &oihw, wf) || mem_make(&p->m_src, &src, p->e) ||
        mem_make(&p->m_dst, &dst, p->e) || mem_make(&p->m_wfwd, wf, p->e) ||
        mem_make(&p->m_oihw, &oihw, p->e))
        goto fail;
    if (training && build_backward(p, alg, &src, &dst, &oihw)) goto fail;
    p->n = n;
    p->training = training;
    p->gen = ++p->e->generations;
    return 0;
fail:
    plan_release(p);
    tpl_err_set(err, "oneDNN: no convolution for %dx%d %d->%d channels, stride %d, batch %d",
                p->k, p->k, p->cin, p->cout, p->stride, n);
    return -1;
}

const char *tpl_conv_impl(const tpl_conv_plan *p) {
    const char *s = "none";
    if (p->fwd.pd) dnnl_primitive_desc_query(p->fwd.pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

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

/* Reorders OIHW weights into dst (allocating it to the size the format wants). */
static int reorder_weights(tpl_conv_plan *p, const prim *r, dnnl_memory_t m,
                           const float *oihw, float **dst, size_t *cap, tpl_err *err) {
    size_t need = dnnl_memory_desc_get_size(pd_md(r, dnnl_query_dst_md));
    if (*cap < need) {
        float *nb = realloc(*dst, need);
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

int tpl_conv_forward(tpl_conv_plan *p, const tpl_conv_slot *s, const float *x, float *y,
                     tpl_err *err) {
    bind(p->m_src, x);
    bind(p->m_wfwd, s->fwd);
    bind(p->m_dst, y);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_WEIGHTS, p->m_wfwd},
                            {DNNL_ARG_DST, p->m_dst}};
    return run(p, &p->fwd, 3, a, "forward", err);
}

int tpl_conv_backward_data(tpl_conv_plan *p, const tpl_conv_slot *s, const float *dy,
                           float *dx, tpl_err *err) {
    bind(p->m_src, dx);
    bind(p->m_wbwd, s->bwd);
    bind(p->m_dst, dy);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_SRC, p->m_src},
                            {DNNL_ARG_WEIGHTS, p->m_wbwd},
                            {DNNL_ARG_DIFF_DST, p->m_dst}};
    return run(p, &p->bwd_d, 3, a, "backward-data", err);
}

int tpl_conv_backward_weights(tpl_conv_plan *p, const float *x, const float *dy, float *dw,
                              tpl_err *err) {
    bind(p->m_src, x);
    bind(p->m_dst, dy);
    bind(p->m_dw, p->dw_buf);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_DIFF_DST, p->m_dst},
                            {DNNL_ARG_DIFF_WEIGHTS, p->m_dw}};
    if (run(p, &p->bwd_w, 3, a, "backward-weights", err)) return -1;
    bind(p->m_oihw, dw);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_dw}, {DNNL_ARG_TO, p->m_oihw}};
    return run(p, &p->reorder_dw, 2, r, "weight-gradient reorder", err);
}
