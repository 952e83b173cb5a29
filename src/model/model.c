/* The template-bank network (see model.h): construction, the forward and
 * backward passes over stem, stages and head, and the parameter version.
 * What a block does is its aggregation's and kind's (block.h). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "footprint.h"
#include "layout.h"
#include "mixing.h"
#include "ops.h"
#include "winograd.h"
#include "workspace.h"

#define BN_MOMENTUM 0.1f

static const tpl_aggregation_impl *const aggregations[TPL_AGG_COUNT] = {
    [TPL_AGG_PARAMS] = &tpl_aggregate_params,
    [TPL_AGG_OUTPUTS] = &tpl_aggregate_outputs,
};

const tpl_aggregation_impl *tpl_aggregation_of(tpl_aggregation a) {
    return (int)a >= 0 && (int)a < TPL_AGG_COUNT ? aggregations[a] : NULL;
}

static const tpl_block_kind *const kinds[TPL_BLOCK_COUNT] = {
    [TPL_BLOCK_BASIC] = &tpl_block_basic,
    [TPL_BLOCK_INVERTED] = &tpl_block_inverted,
};

const tpl_block_kind *tpl_block_kind_of(tpl_block_type t) {
    return (int)t >= 0 && (int)t < TPL_BLOCK_COUNT ? kinds[t] : NULL;
}

tpl_route tpl_model_route(const tpl_model *m) {
    return (tpl_route){.kind = m->cfg.routing, .tau = m->cfg.tau, .topk = m->cfg.topk};
}

void tpl_model_params_changed(tpl_model *m) { m->version++; }

void tpl_model_set_tau(tpl_model *m, float tau) {
    m->cfg.tau = tau;
    tpl_model_params_changed(m);
}

int tpl_model_set_mixtures(tpl_model *m, const float *weights, size_t n, const char *what,
                           tpl_err *err) {
    size_t want = 0;
    for (int s = 0; s < m->cfg.n_stages; s++)
        want += (size_t)m->stage[s].layers * m->stage[s].templates;
    for (size_t i = 0; i < n && i < want; i++)
        if (!(weights[i] >= 0.0f) || weights[i] > 1e30f) {
            tpl_err_set(err, "%s: weight %zu is not a number >= 0", what, i);
            return -1;
        }
    if (n != want) {
        tpl_err_set(err, "%s: %s numbers than the stages' blocks x templates (%zu, not %zu)", what,
                    n > want ? "more" : "fewer", n, want);
        return -1;
    }
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const size_t k = st->templates;
        for (int t = 0; t < m->cfg.n_tasks; t++)
            for (size_t r = 0; r < tpl_stage_rows(st); r++) /* a block's every unit */
                memcpy(tpl_params_data(&m->params, m->task[t].stage[s].logits) + r * k,
                       weights + r / st->units * k, sizeof(float) * k);
        weights += (size_t)st->layers * k;
    }
    tpl_model_params_changed(m);
    return 0;
}

/* ---- construction ----------------------------------------------------- */

/* Images come planar (NCHW, channel block 1), the layout oneDNN's fp32
 * first-layer kernels take: with NHWC and few channels it falls back to a
 * reference kernel, ten times slower for RGB.  Its bf16 kernels want NHWC:
 * bf16 runs convert the images to it (ws->x_bf16). */
#define IMAGE_BLOCK 1

/* What each stage derives from the model's precision. */
static void stage_precision(tpl_model *m) {
    for (int s = 0; s < m->cfg.n_stages; s++) {
        m->stage[s].bf16 = tpl_model_bf16(m);
        /* (the basic kind's convs only: the others write fp32) */
        m->stage[s].out_bf16 = tpl_model_bf16(m) && m->cfg.aggregate == TPL_AGG_PARAMS &&
                               m->stage[s].kind == &tpl_block_basic;
    }
}

void tpl_model_geometry(tpl_model *m, const tpl_config *cfg) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (!tpl_precision_supported(cfg->precision)) m->cfg.precision = TPL_PRECISION_FP32;
    m->agg = tpl_aggregation_of(cfg->aggregate);
    const tpl_config *c = &m->cfg;
    int h = (c->in_height + 2 - 3) / c->stem_stride + 1;
    int w = (c->in_width + 2 - 3) / c->stem_stride + 1;
    for (int s = 0; s < c->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        st->width = c->stage[s].width;
        st->layers = c->stage[s].layers;
        st->templates = c->stage[s].templates;
        st->kind = tpl_block_kind_of(c->block);
        st->expand = c->expand;
        if (s > 0) {
            h = (h + 2 - 3) / 2 + 1;
            w = (w + 2 - 3) / 2 + 1;
        }
        st->h = h;
        st->w = w;
        st->per_template = st->kind->template_floats(st);
        st->bn_per_block = m->agg->bn_per_block(st);
        st->mix = c->mix;
        st->mix_group = c->mix_group;
        st->units = tpl_stage_units(st);
    }
    stage_precision(m);
}

/* The convolution plans, their weight slots and the workspace, for the
 * model's precision. */
static int make_plans(tpl_model *m) {
    const tpl_config *c = &m->cfg;
    const tpl_precision prec = c->precision;
    int c0 = c->stage[0].width;
    m->stem_plan = tpl_conv_plan_create_as(
        m->engine, prec, c->in_channels, c0, 3, c->stem_stride, c->in_height, c->in_width,
        tpl_model_bf16(m) ? c->in_channels : IMAGE_BLOCK, tpl_model_act_block(m, c0));
    if (!m->stem_plan) return -1;
    for (int s = 0; s < c->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (s > 0) {
            const tpl_stage *prev = &m->stage[s - 1];
            st->trans_plan = tpl_conv_plan_create_as(m->engine, prec, prev->width, st->width, 3,
                                                     2, prev->h, prev->w,
                                                     tpl_model_act_block(m, prev->width),
                                                     tpl_model_act_block(m, st->width));
            if (!st->trans_plan) return -1;
        }
        st->n_slots = m->agg->slot_units(st) * st->kind->convs;
        st->slots = calloc((size_t)st->n_slots, sizeof *st->slots);
        if (st->kind->plans(m, st) || !st->slots) return -1;
    }
    m->ws = calloc(1, sizeof *m->ws);
    return m->ws ? 0 : -1;
}

/* Everything make_plans made, and what was derived from the plans' weights. */
static void free_plans(tpl_model *m) {
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        for (int i = 0; st->slots && i < st->n_slots; i++) tpl_conv_slot_free(&st->slots[i]);
        free(st->slots);
        st->slots = NULL;
        tpl_conv_slot_free(&st->trans_slot);
        if (st->kind && st->kind_shared) st->kind->free_state(st->kind_shared);
        st->kind_shared = NULL;
        for (int i = 0; i < TPL_BLOCK_MAX_CONVS; i++) {
            tpl_conv_plan_free(st->plan[i]);
            st->plan[i] = NULL;
        }
        tpl_conv_plan_free(st->trans_plan);
        st->trans_plan = NULL;
    }
    tpl_conv_slot_free(&m->stem_slot);
    tpl_conv_plan_free(m->stem_plan);
    m->stem_plan = NULL;
    tpl_ws_free(m->ws);
    m->ws = NULL;
}

int tpl_model_set_precision(tpl_model *m, tpl_precision p, tpl_err *err) {
    if ((int)p < 0 || (int)p >= TPL_PRECISION_COUNT) {
        tpl_err_set(err, "precision: unknown precision %d", (int)p);
        return -1;
    }
    if (!tpl_precision_supported(p)) {
        tpl_err_set(err, "precision %s: this CPU has no AVX-512 BF16 (oneDNN runs %s); use fp32",
                    tpl_precision_name(p), tpl_engine_isa());
        return -1;
    }
    if (p == m->cfg.precision) return 0;
    free_plans(m);
    m->cfg.precision = p;
    stage_precision(m);
    if (make_plans(m)) {
        tpl_err_set(err, "out of memory switching the model to %s", tpl_precision_name(p));
        return -1;
    }
    return 0;
}

tpl_model *tpl_model_create(const tpl_config *cfg, uint64_t seed, tpl_err *err) {
    if (tpl_memory_check(cfg, 1, 0, TPL_OPT_SGD, 0, "model", err)) return NULL; /* checks cfg */
    tpl_model *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    tpl_model_geometry(m, cfg);
    m->bn_momentum = BN_MOMENTUM;
    m->winograd = tpl_wino_fast() && getenv("TEMPLAR_NO_WINOGRAD") == NULL;
    m->engine = tpl_engine_create(err);
    if (!m->engine) {
        tpl_model_free(m);
        return NULL;
    }
    if (tpl_layout_declare(m) || make_plans(m) || tpl_mixing_init(m, seed)) goto oom;
    for (int i = 0; i < m->params.n_views; i++)
        if (!tpl_route_learned(cfg->routing) && m->params.views[i].kind == TPL_KIND_LOGITS)
            m->params.views[i].trainable = 0;
    tpl_layout_init(m, seed);
    return m;
oom:
    tpl_err_set(err, "out of memory creating the model");
    tpl_model_free(m);
    return NULL;
}

void tpl_model_free(tpl_model *m) {
    if (!m) return;
    for (int t = 0; t < m->cfg.n_tasks; t++) tpl_model_clear_class_names(m, t);
    free_plans(m);
    tpl_engine_free(m->engine);
    tpl_mixing_free(m);
    tpl_params_free(&m->params);
    free(m);
}

/* ---- BN, shared by every layer ---------------------------------------- */

tpl_bn_args tpl_model_bn_args(const tpl_model *m, tpl_bn_views v, size_t at, tpl_shape shape,
                              int relu, const float *skip) {
    const tpl_params *p = &m->params;
    return (tpl_bn_args){.shape = shape,
                         .gamma = v.scale < 0 ? NULL : tpl_params_data(p, v.scale) + at,
                         .beta = v.shift < 0 ? NULL : tpl_params_data(p, v.shift) + at,
                         .running_mean = tpl_params_data(p, v.mean) + at,
                         .running_var = tpl_params_data(p, v.var) + at,
                         .momentum = m->bn_momentum, .eps = TPL_BN_EPS,
                         .relu = relu, .skip = skip, .scratch = m->ws->bn_scratch,
                         .sync = m->bn_sync};
}

void tpl_model_bn_forward(const tpl_model *m, const tpl_bn_args *a, int training,
                          const float *x, float *out, float *stats) {
    (void)m;
    if (training)
        tpl_bn_forward_train(a, x, out, stats, stats + a->shape.c);
    else
        tpl_bn_forward_eval(a, x, out);
}

void tpl_model_bn_backward(tpl_model *m, const tpl_bn_args *a, const float *x, const float *out,
                           const float *dout, const float *stats, tpl_bn_views v, size_t at,
                           float *dx, float *dskip) {
    const tpl_params *p = &m->params;
    tpl_bn_backward(a, x, out, dout, stats, stats + a->shape.c, dx,
                    tpl_params_grad(p, v.scale) + at, tpl_params_grad(p, v.shift) + at, dskip);
}

/* A BN's offset within its block's rows: only the parameters aggregation
 * runs kinds that mix their BNs (config.c), and its block l's rows start
 * at l x bn_per_block rows. */
static size_t within_block(const tpl_stage *st, size_t at) {
    return at % ((size_t)st->bn_per_block * st->width);
}

tpl_bn_args tpl_branch_bn_args(const tpl_branch *b, size_t at, tpl_shape shape, int relu,
                               const float *skip) {
    const tpl_stage *st = &b->m->stage[b->s];
    tpl_bn_args a = tpl_model_bn_args(b->m, b->m->task[b->task].stage[b->s].bn, at, shape, relu,
                                      skip);
    if (st->kind->affine_at) {
        const float *affine = b->w + st->kind->affine_at(st) + within_block(st, at);
        a.gamma = affine;
        a.beta = affine + (size_t)st->bn_per_block * st->width;
    }
    return a;
}

void tpl_branch_bn_backward(const tpl_branch *b, const tpl_bn_args *a, const float *x,
                            const float *out, const float *dout, const float *stats, size_t at,
                            float *dw, float *dx, float *dskip) {
    const tpl_stage *st = &b->m->stage[b->s];
    const tpl_bn_views v = b->m->task[b->task].stage[b->s].bn;
    if (!st->kind->affine_at) {
        tpl_model_bn_backward(b->m, a, x, out, dout, stats, v, at, dx, dskip);
        return;
    }
    float *dg = dw + st->kind->affine_at(st) + within_block(st, at);
    tpl_bn_backward(a, x, out, dout, stats, stats + a->shape.c, dx, dg,
                    dg + (size_t)st->bn_per_block * st->width, dskip);
}

void tpl_add_into(float *dst, const float *src, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

int tpl_model_conv_forward(const tpl_model *m, tpl_conv_plan *p, const tpl_conv_slot *s,
                           tpl_act x, float *y, tpl_err *err) {
    if (tpl_conv_writes_bf16(p)) return tpl_conv_forward_bf16_out(p, s, x.h, tpl_bf16_at(y), err);
    return tpl_model_bf16(m) ? tpl_conv_forward_bf16(p, s, x.h, y, err)
                             : tpl_conv_forward(p, s, x.f, y, err);
}

int tpl_model_conv_backward(const tpl_model *m, tpl_conv_plan *p, const tpl_conv_slot *s,
                            tpl_act x, const float *dy, const tpl_bf16 *dy_bf16, float *dw,
                            float *dx, tpl_err *err) {
    if (!tpl_model_bf16(m))
        return tpl_conv_backward_weights(p, x.f, dy, dw, err) ||
               (dx && tpl_conv_backward_data(p, s, dy, dx, err)) ? -1 : 0;
    if (tpl_conv_backward_weights_bf16(p, x.h, dy_bf16, dw, err)) return -1;
    if (!dx) return 0;
    return tpl_conv_writes_bf16(p) ? tpl_conv_backward_data_bf16_out(p, s, dy_bf16, tpl_bf16_at(dx), err)
                                   : tpl_conv_backward_data_bf16(p, s, dy_bf16, dx, err);
}

/* ---- forward ---------------------------------------------------------- */

/* conv -> BN -> ReLU: the stem and the stage transitions; in bf16 runs the
 * BN writes h's bf16 copy into h_bf16 too. */
static int conv_bn_relu(tpl_model *m, tpl_conv_plan *plan, tpl_conv_slot *slot,
                        const float *w, tpl_bn_views bn, int training, tpl_act x, float *c,
                        float *h, tpl_bf16 *h_bf16, float *stats, tpl_err *err) {
    if (tpl_conv_set_weights(plan, slot, w, m->version, err) ||
        tpl_model_conv_forward(m, plan, slot, x, c, err))
        return -1;
    tpl_bn_args a = tpl_model_bn_args(m, bn, 0, tpl_conv_out_shape(plan), 1, NULL);
    a.out_bf16 = h_bf16;
    tpl_model_bn_forward(m, &a, training, c, h, stats);
    return 0;
}

/* Where a forward's activations first stop being finite: looked for only
 * when the logits of an eval forward are not (a second, watched forward). */
typedef struct watch {
    int on;
    char where[48];
} watch;

static void watch_at(watch *w, const float *a, size_t count, const char *what, int s, int l) {
    if (!w->on || w->where[0]) return;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(a[i])) {
            if (s < 0) snprintf(w->where, sizeof w->where, "%s", what);
            else if (l < 0) snprintf(w->where, sizeof w->where, "stage %d's %s", s, what);
            else snprintf(w->where, sizeof w->where, "stage %d, block %d", s, l);
            return;
        }
}

/* A block's output as the next one reads it. */
static tpl_act block_out(float **b) {
    return (tpl_act){b[TPL_BLK_OUT], tpl_bf16_at(b[TPL_BLK_OUT_BF16])};
}

/* The blocks of stage s from input h: training keeps every block's tensors,
 * eval passes its output between two buffers.  Returns 0 with the last
 * output in *h, or -1. */
static int stage_forward(tpl_model *m, int task, int s, int training, tpl_act *h, int *blk,
                         watch *w, tpl_err *err) {
    tpl_workspace *ws = m->ws;
    for (int l = 0; l < m->stage[s].layers; l++, (*blk)++) {
        float **b = training ? tpl_ws_block(ws, *blk) : ws->eval_blk;
        if (!training) {
            const int next = h->f == ws->eval_out[0];
            b[TPL_BLK_OUT] = ws->eval_out[next];
            b[TPL_BLK_OUT_BF16] = (float *)(void *)ws->eval_out_bf16[next];
        }
        if (m->agg->forward(m, task, s, l, training, *h, b, err)) return -1;
        *h = block_out(b);
        watch_at(w, h->f, tpl_shape_numel(tpl_stage_shape(m, s)), "", s, l);
    }
    return 0;
}

static int forward(tpl_model *m, int task, const float *x, int n, int training, float *logits,
                   watch *w, tpl_err *err) {
    if (tpl_ws_prepare(m, n, training, err)) return -1;
    tpl_workspace *ws = m->ws;
    const tpl_params *p = &m->params;
    const tpl_task_params *tp = &m->task[task];
    tpl_mixing_update(m, task, training);
    ws->x = x;
    if (ws->x_bf16)
        tpl_bf16_from_planar(x, n, m->cfg.in_channels, m->cfg.in_height * m->cfg.in_width,
                             ws->x_bf16);
    const tpl_act in = {x, ws->x_bf16};
    if (conv_bn_relu(m, m->stem_plan, &m->stem_slot, tpl_params_data(p, m->stem_w), tp->stem_bn,
                     training, in, ws->stem_c, ws->stem_h, ws->stem_h_bf16, ws->stem_stats, err))
        return -1;
    tpl_act h = {ws->stem_h, ws->stem_h_bf16};
    watch_at(w, h.f, tpl_shape_numel(tpl_stage_shape(m, 0)), "the stem", -1, -1);
    int blk = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (s > 0) {
            if (conv_bn_relu(m, st->trans_plan, &st->trans_slot, tpl_params_data(p, st->trans_w),
                             tp->stage[s].trans_bn, training, h, ws->trans_c[s], ws->trans_h[s],
                             ws->trans_h_bf16[s], ws->trans_stats[s], err))
                return -1;
            h = (tpl_act){ws->trans_h[s], ws->trans_h_bf16[s]};
            watch_at(w, h.f, tpl_shape_numel(tpl_stage_shape(m, s)), "transition", s, -1);
        }
        if (stage_forward(m, task, s, training, &h, &blk, w, err)) return -1;
    }
    const tpl_stage *last = &m->stage[m->cfg.n_stages - 1];
    tpl_avgpool_forward(tpl_stage_shape(m, m->cfg.n_stages - 1), h.f, ws->pool);
    watch_at(w, ws->pool, (size_t)n * last->width, "the pooling", -1, -1);
    tpl_linear_forward(n, last->width, m->cfg.task[task].classes, ws->pool,
                       tpl_params_data(p, tp->head_w), tpl_params_data(p, tp->head_b), logits);
    if (training) {
        ws->fwd_task = task;
        ws->fwd_mix_gen = m->mixing.gen;
    }
    return 0;
}

/* Eval logits must be finite: weights that are finite but huge overflow
 * float in the forward, and a NaN must not pass for an answer. */
static int check_logits(tpl_model *m, int task, const float *x, int n, float *logits,
                        tpl_err *err) {
    const size_t count = (size_t)n * m->cfg.task[task].classes;
    size_t i = 0;
    while (i < count && isfinite(logits[i])) i++;
    if (i == count) return 0;
    watch w = {.on = 1};
    if (forward(m, task, x, n, 0, logits, &w, err)) return -1;
    tpl_err_set(err, "task '%s': the forward overflows (activations not finite from %s on): the "
                "model's weights are out of range", m->cfg.task[task].name,
                w.where[0] ? w.where : "the head");
    return -1;
}

int tpl_model_forward(tpl_model *m, int task, const float *x, int n,
                      int training, float *logits, tpl_err *err) {
    if (task < 0 || task >= m->cfg.n_tasks || n <= 0) {
        tpl_err_set(err, "forward: bad task %d or batch %d", task, n);
        return -1;
    }
    watch off = {0};
    if (forward(m, task, x, n, training, logits, &off, err)) return -1;
    return training ? 0 : check_logits(m, task, x, n, logits, err);
}

const float *tpl_model_features(const tpl_model *m) { return m->ws ? m->ws->pool : NULL; }

/* ---- backward --------------------------------------------------------- */

static int is_bn_of(tpl_bn_views bn, int v) { return v == bn.scale || v == bn.shift; }

int tpl_model_grad_part(const tpl_model *m, int task, int v) {
    const tpl_task_params *tp = &m->task[task];
    const int S = m->cfg.n_stages;
    if (v == tp->head_w || v == tp->head_b) return 0;
    for (int s = 0; s < S; s++) {
        const tpl_stage *st = &m->stage[s];
        if (v == st->bank || v == tp->stage[s].logits || is_bn_of(tp->stage[s].bn, v) ||
            (s > 0 && (v == st->trans_w || is_bn_of(tp->stage[s].trans_bn, v))))
            return 1 + S - 1 - s;
    }
    if (v == m->stem_w || is_bn_of(tp->stem_bn, v)) return 1 + S;
    return -1;
}

/* Part p of the backward is done (tpl_model_grad_part). */
static void grad_ready(tpl_model *m, int part) {
    if (m->grad_ready) m->grad_ready(m->grad_user, part);
}

/* conv -> BN -> ReLU backward; g[0] holds dL/dh on entry and dL/dx on exit
 * (left untouched when want_dx is 0: the stem's input needs no gradient).
 * The conv's output gradient goes to g[1], or in bf16 runs to g_bf16 alone. */
static int conv_bn_relu_backward(tpl_model *m, tpl_conv_plan *plan, tpl_conv_slot *slot,
                                 int w_view, tpl_bn_views bn, tpl_act x, const float *c,
                                 const float *h, const float *stats, int want_dx, tpl_err *err) {
    tpl_workspace *ws = m->ws;
    tpl_ws_settle_grad(ws);
    tpl_bn_args a = tpl_model_bn_args(m, bn, 0, tpl_conv_out_shape(plan), 1, NULL);
    a.dx_bf16 = ws->g_bf16;
    float *dc = ws->g_bf16 ? NULL : ws->g[1];
    tpl_model_bn_backward(m, &a, c, h, ws->g[0], stats, bn, 0, dc, NULL);
    if (tpl_model_conv_backward(m, plan, slot, x, dc, ws->g_bf16, ws->dw,
                                want_dx ? ws->g[0] : NULL, err))
        return -1;
    tpl_add_into(tpl_params_grad(&m->params, w_view), ws->dw, tpl_conv_weight_count(plan));
    return 0;
}

/* The last training forward must be this task's, with the mixtures it used
 * still in the cache (nothing re-mixed since). */
static int check_backward(const tpl_model *m, int task, tpl_err *err) {
    const tpl_workspace *ws = m->ws;
    if (ws && ws->training && ws->fwd_task == task && ws->fwd_mix_gen == m->mixing.gen &&
        m->mixing.key.version == m->version)
        return 0;
    tpl_err_set(err, "backward: no training forward of task %d to go back through", task);
    return -1;
}

int tpl_model_backward(tpl_model *m, int task, const float *dlogits, tpl_err *err) {
    return tpl_model_backward_features(m, task, dlogits, NULL, err);
}

int tpl_model_backward_features(tpl_model *m, int task, const float *dlogits,
                                const float *dfeatures, tpl_err *err) {
    if (check_backward(m, task, err)) return -1;
    tpl_workspace *ws = m->ws;
    const tpl_params *p = &m->params;
    const tpl_task_params *tp = &m->task[task];
    const tpl_config *c = &m->cfg;
    const tpl_stage *last = &m->stage[c->n_stages - 1];
    tpl_linear_backward(ws->n, last->width, c->task[task].classes, ws->pool,
                        tpl_params_data(p, tp->head_w), dlogits, ws->dpool,
                        tpl_params_grad(p, tp->head_w), tpl_params_grad(p, tp->head_b));
    for (size_t i = 0; dfeatures && i < (size_t)ws->n * last->width; i++)
        ws->dpool[i] += dfeatures[i];
    grad_ready(m, 0);
    tpl_avgpool_backward(tpl_stage_shape(m, c->n_stages - 1), ws->dpool, ws->g[0]);
    ws->g_pending = NULL;
    int blk = 0;
    for (int s = 0; s < c->n_stages; s++) blk += m->stage[s].layers;
    for (int s = c->n_stages - 1; s >= 0; s--) {
        tpl_stage *st = &m->stage[s];
        for (int l = st->layers - 1; l >= 0; l--) {
            float **b = tpl_ws_block(ws, --blk);
            const tpl_act h = l > 0 ? block_out(tpl_ws_block(ws, blk - 1))
                            : s > 0 ? (tpl_act){ws->trans_h[s], ws->trans_h_bf16[s]}
                                    : (tpl_act){ws->stem_h, ws->stem_h_bf16};
            if (m->agg->backward(m, task, s, l, h, b, err)) return -1;
            grad_ready(m, -1);
        }
        if (s > 0 && conv_bn_relu_backward(m, st->trans_plan, &st->trans_slot, st->trans_w,
                                           tp->stage[s].trans_bn,
                                           block_out(tpl_ws_block(ws, blk - 1)),
                                           ws->trans_c[s], ws->trans_h[s], ws->trans_stats[s], 1,
                                           err))
            return -1;
        grad_ready(m, c->n_stages - s);
    }
    if (conv_bn_relu_backward(m, m->stem_plan, &m->stem_slot, m->stem_w, tp->stem_bn,
                              (tpl_act){ws->x, ws->x_bf16}, ws->stem_c, ws->stem_h,
                              ws->stem_stats, 0, err))
        return -1;
    grad_ready(m, c->n_stages + 1);
    return 0;
}
