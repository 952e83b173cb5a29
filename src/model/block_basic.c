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
 * output (the branch's output, last). */
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

static int plans(tpl_engine *e, tpl_stage *st) {
    const int b = st->width % 16 == 0 ? 16 : st->width;
    st->plan[0] = tpl_conv_plan_create(e, st->width, st->width, 3, 1, st->h, st->w, b, b);
    return st->plan[0] ? 0 : -1;
}

static size_t saved_floats(const tpl_stage *st, int i, int n) {
    return i == S1 ? 2 * (size_t)st->width : (size_t)n * st->width * st->h * st->w;
}

static tpl_bn_args bn1(const tpl_branch *b) {
    const tpl_stage *st = &b->m->stage[b->s];
    return tpl_model_bn_args(b->m, b->m->task[b->task].stage[b->s].bn, b->bn_at,
                             tpl_conv_out_shape(st->plan[0]), 1, NULL);
}

static int forward(const tpl_branch *b, int training, const float *h, float **x, tpl_err *err) {
    tpl_conv_plan *p = b->m->stage[b->s].plan[0];
    const size_t half = template_floats(&b->m->stage[b->s]) / 2;
    if (tpl_conv_set_weights(p, &b->slots[0], b->w, b->gen, err) ||
        tpl_conv_set_weights(p, &b->slots[1], b->w + half, b->gen, err) ||
        tpl_conv_forward(p, &b->slots[0], h, x[C1], err))
        return -1;
    tpl_bn_args a1 = bn1(b);
    tpl_model_bn_forward(b->m, &a1, training, x[C1], x[A1], x[S1]);
    return tpl_conv_forward(p, &b->slots[1], x[A1], x[C2], err);
}

static int backward(const tpl_branch *b, const float *h, float **x, float *dy, float **g,
                    float *dw, float *dh, tpl_err *err) {
    tpl_conv_plan *p = b->m->stage[b->s].plan[0];
    const size_t half = template_floats(&b->m->stage[b->s]) / 2;
    float *scratch = g[0];
    if (tpl_conv_backward_weights(p, x[A1], dy, dw + half, err) ||
        tpl_conv_backward_data(p, &b->slots[1], dy, scratch, err))
        return -1;
    tpl_bn_args a1 = bn1(b);
    tpl_model_bn_backward(b->m, &a1, x[C1], x[A1], scratch, x[S1],
                          b->m->task[b->task].stage[b->s].bn, b->bn_at, scratch, NULL);
    if (tpl_conv_backward_weights(p, h, scratch, dw, err)) return -1;
    return tpl_conv_backward_data(p, &b->slots[0], scratch, dh, err);
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

static int wino_shape_applies(const tpl_stage *st, int n) {
    return n < TPL_CONV_WINOGRAD_MIN_BATCH && st->width % TPL_WINO_CHANNEL_BLOCK == 0;
}

static int wino_applies(const tpl_branch *b) {
    const tpl_model *m = b->m;
    return m->winograd && wino_shape_applies(&m->stage[b->s], m->ws->n);
}

/* The transformed weights of the stage's blocks and one block's scratch. */
static size_t eval_block_floats(const tpl_stage *st, int n) {
    if (!tpl_wino_fast() || !wino_shape_applies(st, n)) return 0;
    const tpl_shape shape = {n, st->width, st->h, st->w, TPL_WINO_CHANNEL_BLOCK};
    return tpl_wino_weight_count(st->width, st->width) * 2 * st->layers +
           tpl_wino_scratch_count(shape, st->width);
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
    .eval_block_floats = eval_block_floats,
    .free_state = free_state,
};
