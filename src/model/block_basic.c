/* The basic block kind: branch(h) = conv3x3(W2, ReLU(BN1(conv3x3(W1, h)))),
 * both convs C -> C; a template holds W1 then W2, [2][C][C][3][3].  Small
 * eval batches run the whole block as winograd.c's F(4x4, 3x3) with every
 * BN, the skip and the ReLU fused in. */
#include <stdlib.h>

#include "block.h"
#include "mixing.h"
#include "winograd.h"
#include "workspace.h"

/* Saved tensors: conv1's output, after BN1 + ReLU, BN1's statistics, conv2's
 * output (the branch's output, last).  In bf16 runs A1 is kept in bf16
 * alone: conv2 reads it, and BN1's backward its ReLU mask. */
enum { C1, A1, S1, C2, SAVED };

static size_t template_floats(const tpl_stage *st) { return (size_t)2 * st->width * st->width * 9; }

static int template_shape(const tpl_stage *st, int64_t *shape) {
    const int64_t c = st->width, dims[5] = {2, c, c, 3, 3};
    for (int i = 0; i < 5; i++) shape[i] = dims[i];
    return 5;
}

static int fan_in(const tpl_stage *st, int conv) {
    (void)conv;
    return st->width * 9;
}

static size_t conv_offset(const tpl_stage *st, int conv) { return conv * template_floats(st) / 2; }

static int plans(tpl_model *m, tpl_stage *st) {
    const int b = tpl_model_act_block(m, st->width);
    st->plan[0] = tpl_conv_plan_create_as(m->engine, m->cfg.precision, st->width, st->width, 3, 1,
                                          st->h, st->w, b, b);
    return st->plan[0] ? 0 : -1;
}

static size_t saved_floats(const tpl_stage *st, int i, int n) {
    const size_t act = (size_t)n * st->width * st->h * st->w;
    if (i == S1) return 2 * (size_t)st->width;
    if (i == A1 && tpl_conv_precision(st->plan[0]) == TPL_PRECISION_BF16) return (act + 1) / 2;
    return act;
}

static tpl_bn_args bn1(const tpl_branch *b) {
    const tpl_stage *st = &b->m->stage[b->s];
    return tpl_model_bn_args(b->m, b->m->task[b->task].stage[b->s].bn, b->bn_at,
                             tpl_conv_out_shape(st->plan[0]), 1, NULL);
}

/* BN1's output in bf16 runs (NULL in fp32 ones, which keep x[A1] in fp32). */
static tpl_bf16 *a1_bf16(const tpl_branch *b, float **x) {
    return tpl_model_bf16(b->m) ? tpl_bf16_at(x[A1]) : NULL;
}

static int forward(const tpl_branch *b, int training, tpl_act h, float **x, tpl_err *err) {
    tpl_conv_plan *p = b->m->stage[b->s].plan[0];
    const size_t half = template_floats(&b->m->stage[b->s]) / 2;
    if (tpl_conv_set_weights(p, &b->slots[0], b->w, b->gen, err) ||
        tpl_conv_set_weights(p, &b->slots[1], b->w + half, b->gen, err) ||
        tpl_model_conv_forward(b->m, p, &b->slots[0], h, x[C1], err))
        return -1;
    tpl_bn_args a1 = bn1(b);
    a1.out_bf16 = a1_bf16(b, x);
    float *a1f = a1.out_bf16 ? NULL : x[A1];
    tpl_model_bn_forward(b->m, &a1, training, x[C1], a1f, x[S1]);
    return tpl_model_conv_forward(b->m, p, &b->slots[1], (tpl_act){a1f, a1.out_bf16}, x[C2],
                                  err);
}

/* In bf16 runs the gradient reaching conv1's output is kept in bf16 alone,
 * in g[1]. */
static int backward(const tpl_branch *b, tpl_act h, float **x, float *dy, const tpl_bf16 *dy_bf16,
                    float **g, float *dw, float *dh, tpl_err *err) {
    tpl_conv_plan *p = b->m->stage[b->s].plan[0];
    const size_t half = template_floats(&b->m->stage[b->s]) / 2;
    float *scratch = g[0];
    tpl_bn_args a1 = bn1(b);
    a1.out_bf16 = a1_bf16(b, x);
    float *a1f = a1.out_bf16 ? NULL : x[A1], *dc1 = scratch;
    if (tpl_model_conv_backward(b->m, p, &b->slots[1], (tpl_act){a1f, a1.out_bf16}, dy, dy_bf16,
                                dw + half, scratch, err))
        return -1;
    if (a1.out_bf16) {
        a1.dx_bf16 = tpl_bf16_at(g[1]);
        dc1 = NULL;
    }
    tpl_model_bn_backward(b->m, &a1, x[C1], a1f, scratch, x[S1],
                          b->m->task[b->task].stage[b->s].bn, b->bn_at, dc1, NULL);
    return tpl_model_conv_backward(b->m, p, &b->slots[0], h, dc1, a1.dx_bf16, dw, dh, err);
}

/* ---- the small-batch eval path -------------------------------------------
 * Small-batch eval runs a block's convs as winograd.c's F(4x4, 3x3), which
 * beats oneDNN's direct kernels at batches where oneDNN's own winograd does
 * not take over yet (conv.h).  Its transformed weights are this kind's own
 * cache, kept per stage and keyed by the mixing cache's generation. */

typedef struct wino_state {
    float *u;           /* [L][2] transformed mixed weights */
    unsigned long gen;  /* generation of the mixed weights in u, + 1 (0: none yet) */
} wino_state;

static int wino_applies(const tpl_branch *b) {
    const tpl_model *m = b->m;
    return m->winograd && !tpl_model_bf16(m) && m->ws->n < TPL_CONV_WINOGRAD_MIN_BATCH &&
           m->stage[b->s].width % TPL_WINO_CHANNEL_BLOCK == 0;
}

/* Transforms stage s's mixed weights (generation gen) for winograd.c; the
 * stage's blocks are consecutive in the mixing cache from block 0's. */
static int wino_weights(tpl_stage *st, const float *block0, unsigned long gen, tpl_err *err) {
    const size_t count = tpl_wino_weight_count(st->width, st->width);
    if (!st->kind_state) st->kind_state = calloc(1, sizeof(wino_state));
    wino_state *w = st->kind_state;
    if (w && w->gen == gen + 1) return 0;
    if (w && !w->u) w->u = aligned_alloc(64, sizeof(float) * count * 2 * st->layers);
    if (!w || !w->u) {
        tpl_err_set(err, "out of memory: winograd weights");
        return -1;
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < 2 * st->layers; i++)
        tpl_wino_weights(st->width, st->width, block0 + (size_t)i * st->per_template / 2,
                         w->u + (size_t)i * count);
    w->gen = gen + 1;
    return 0;
}

/* h -> conv -> BN -> ReLU -> conv -> BN -> + h -> ReLU, every BN, skip and
 * ReLU fused into the convs' output transforms. */
static int eval_block(const tpl_branch *b, int l, size_t last_bn_at, const float *h, float **x,
                      float *out, tpl_err *err) {
    if (!wino_applies(b)) return 0;
    tpl_model *m = b->m;
    tpl_stage *st = &m->stage[b->s];
    const tpl_shape shape = tpl_conv_out_shape(st->plan[0]);
    const size_t count = tpl_wino_weight_count(st->width, st->width); /* one conv's */
    float *scratch = tpl_ws_extra(m->ws, tpl_wino_scratch_count(shape, st->width), err);
    if (!scratch || wino_weights(st, tpl_mixing_weights(m, b->s, 0), b->gen, err)) return -1;
    const wino_state *w = st->kind_state;
    const float *u = w->u + 2 * (size_t)l * count;
    const tpl_bn_views v = m->task[b->task].stage[b->s].bn;
    tpl_bn_args a1 = tpl_model_bn_args(m, v, b->bn_at, shape, 1, NULL);
    tpl_bn_args a2 = tpl_model_bn_args(m, v, last_bn_at, shape, 1, h);
    tpl_wino_forward(shape, u, &a1, h, x[C1], scratch);
    tpl_wino_forward(shape, u + count, &a2, x[C1], out, scratch);
    return 1;
}

static void free_state(tpl_stage *st) {
    wino_state *w = st->kind_state;
    if (w) free(w->u);
    free(w);
    st->kind_state = NULL;
}

const tpl_block_kind tpl_block_basic = {
    .name = "basic", .convs = 2, .branch_bns = 1, .last_relu = 1, .saved = SAVED,
    .template_floats = template_floats, .template_shape = template_shape, .fan_in = fan_in,
    .conv_offset = conv_offset, .plans = plans, .saved_floats = saved_floats,
    .forward = forward, .backward = backward, .eval_block = eval_block,
    .free_state = free_state,
};
