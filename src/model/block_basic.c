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
 * alone: conv2 reads it, and BN1's backward its ReLU mask; and where the
 * stage's convs write bf16 (tpl_stage.out_bf16) C1 and C2 are bf16 too, as
 * are the input gradients the convs' backward writes. */
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

static int one_row(const tpl_stage *st) {
    (void)st;
    return 1;
}

static int width(const tpl_stage *st) { return st->width; }

static int conv_out(const tpl_stage *st, int conv) {
    (void)conv;
    return st->width;
}

static void conv_shape(const tpl_stage *st, int conv, int64_t shape[4]) {
    (void)conv;
    shape[0] = shape[1] = st->width, shape[2] = shape[3] = 3;
}

static size_t conv_offset(const tpl_stage *st, int conv) { return conv * template_floats(st) / 2; }

static int plans(tpl_model *m, tpl_stage *st) {
    const int b = tpl_model_act_block(m, st->width);
    st->plan[0] = tpl_conv_plan_create_as(m->engine, m->cfg.precision, st->width, st->width, 3, 1,
                                          st->h, st->w, b, b);
    if (st->plan[0] && st->out_bf16) tpl_conv_plan_out_bf16(st->plan[0]);
    return st->plan[0] ? 0 : -1;
}

static size_t saved_floats(const tpl_stage *st, int i, int n) {
    const size_t act = (size_t)n * st->width * st->h * st->w;
    if (i == S1) return 2 * (size_t)st->width;
    if ((i == A1 && st->bf16) || ((i == C1 || i == C2) && st->out_bf16)) return (act + 1) / 2;
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

/* BN1's input, x[C1], as bf16 (where the convs write it) or fp32. */
static const float *bn1_input(const tpl_branch *b, float **x, tpl_bn_args *a1) {
    if (!b->m->stage[b->s].out_bf16) return x[C1];
    a1->x_bf16 = tpl_bf16_at(x[C1]);
    return NULL;
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
    tpl_model_bn_forward(b->m, &a1, training, bn1_input(b, x, &a1), a1f, x[S1]);
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
    const float *da1 = scratch; /* conv2's input gradient: bf16 where the convs write it */
    if (b->m->stage[b->s].out_bf16) {
        a1.dout_bf16 = tpl_bf16_at(scratch);
        da1 = NULL;
    }
    tpl_model_bn_backward(b->m, &a1, bn1_input(b, x, &a1), a1f, da1, x[S1],
                          b->m->task[b->task].stage[b->s].bn, b->bn_at, dc1, NULL);
    return tpl_model_conv_backward(b->m, p, &b->slots[0], h, dc1, a1.dx_bf16, dw, dh, err);
}

/* ---- the small-batch eval path -------------------------------------------
 * Small-batch eval runs a block's convs as winograd.c's F(4x4, 3x3), which
 * beats oneDNN's direct kernels at batches where oneDNN's own winograd does
 * not take over yet (conv.h).  The winograd transform is linear, so a
 * block's transformed weights are the mixture of its templates'
 * transforms: the templates are transformed once (the stage's shared
 * state, keyed by the parameter version) and each task's blocks mixed from
 * them (the kind's state in the mixing cache, beside the mixed weights,
 * keyed by that cache's generation): a task switch costs a mix, not a
 * transform of every block. */

typedef struct wino_state {
    float *u;           /* [units][2] transformed weights */
    unsigned long gen;  /* version of what u was made from, + 1 (0: none yet) */
} wino_state;

/* fp32 runs only: bf16 ones keep oneDNN's bf16 kernels at every batch.
 * Mixtures per channel group would need the transform's own channel
 * order: those blocks run oneDNN's kernels too. */
static int wino_shape_applies(const tpl_stage *st, int n) {
    return !st->bf16 && st->mix != TPL_MIX_GROUP && n < TPL_CONV_WINOGRAD_MIN_BATCH &&
           st->width % TPL_WINO_CHANNEL_BLOCK == 0;
}

static int wino_applies(const tpl_branch *b) {
    const tpl_model *m = b->m;
    return m->winograd && wino_shape_applies(&m->stage[b->s], m->ws->n);
}

/* The transformed weights of the stage's templates and blocks, and one
 * block's scratch. */
static size_t eval_block_floats(const tpl_stage *st, int n) {
    if (!tpl_wino_fast() || !wino_shape_applies(st, n)) return 0;
    const tpl_shape shape = {n, st->width, st->h, st->w, TPL_WINO_CHANNEL_BLOCK};
    return tpl_wino_weight_count(st->width, st->width) * 2 * (st->templates + st->layers) +
           tpl_wino_scratch_count(shape, st->width);
}

/* *state holding room for units x 2 transformed convs. */
static wino_state *wino_room(const tpl_stage *st, void **state, int units) {
    const size_t count = tpl_wino_weight_count(st->width, st->width);
    if (!*state) *state = calloc(1, sizeof(wino_state));
    wino_state *w = *state;
    if (w && !w->u) w->u = aligned_alloc(64, sizeof(float) * count * 2 * units);
    return w && w->u ? w : NULL;
}

/* The stage's templates transformed (parameter version): [K][2][count]. */
static const wino_state *wino_bank(tpl_model *m, tpl_stage *st, tpl_err *err) {
    const size_t count = tpl_wino_weight_count(st->width, st->width);
    wino_state *w = wino_room(st, &st->kind_shared, st->templates);
    if (!w) {
        tpl_err_set(err, "out of memory: winograd templates");
        return NULL;
    }
    if (w->gen == m->version + 1) return w;
    const float *bank = tpl_params_data(&m->params, st->bank);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < 2 * st->templates; i++)
        tpl_wino_weights(st->width, st->width, bank + (size_t)i * st->per_template / 2,
                         w->u + (size_t)i * count);
    w->gen = m->version + 1;
    return w;
}

/* Stage s's blocks' transformed weights for the mixing cache's generation
 * gen: u[l][c] = sum_k a[l][k] U[k][c] for each conv c (a per the block,
 * or per conv with one mixture a conv), chunk by chunk so that every
 * template's chunk is read once for all the blocks. */
static int wino_weights(tpl_model *m, int s, unsigned long gen, tpl_err *err) {
    tpl_stage *st = &m->stage[s];
    const size_t count = tpl_wino_weight_count(st->width, st->width), chunk = 2048;
    const size_t chunks = (count + chunk - 1) / chunk;
    wino_state *w = wino_room(st, &m->mixing.kind_state[s], st->layers);
    if (!w) {
        tpl_err_set(err, "out of memory: winograd weights");
        return -1;
    }
    if (w->gen == gen + 1) return 0;
    const wino_state *bank = wino_bank(m, st, err);
    if (!bank) return -1;
    const float *a = tpl_mixing_mix(m, s, 0); /* [L][units][K] */
    const int L = st->layers, K = st->templates, U = st->units;
#pragma omp parallel for schedule(static) collapse(2)
    for (int c = 0; c < 2; c++)
        for (size_t j = 0; j < chunks; j++) {
            const size_t at = c * count + j * chunk, n = count - j * chunk < chunk ? count - j * chunk : chunk;
            for (int l = 0; l < L; l++) {
                float *out = w->u + (size_t)l * 2 * count + at;
                const float *al = a + ((size_t)l * U + (U > 1 ? c : 0)) * K;
                for (size_t i = 0; i < n; i++) out[i] = 0.0f;
                for (int k = 0; k < K; k++) {
                    const float ak = al[k], *in = bank->u + (size_t)k * 2 * count + at;
                    if (ak == 0.0f) continue; /* top-k routing */
                    for (size_t i = 0; i < n; i++) out[i] += ak * in[i];
                }
            }
        }
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
    if (!scratch || wino_weights(m, b->s, b->gen, err)) return -1;
    const wino_state *w = m->mixing.kind_state[b->s];
    const float *u = w->u + 2 * (size_t)l * count;
    const tpl_bn_views v = m->task[b->task].stage[b->s].bn;
    tpl_bn_args a1 = tpl_model_bn_args(m, v, b->bn_at, shape, 1, NULL);
    tpl_bn_args a2 = tpl_model_bn_args(m, v, last_bn_at, shape, 1, h);
    tpl_wino_forward(shape, u, &a1, h, x[C1], scratch);
    tpl_wino_forward(shape, u + count, &a2, x[C1], out, scratch);
    return 1;
}

static size_t state_bytes(const tpl_model *m, const tpl_stage *st) {
    return !m->winograd || st->bf16 || st->mix == TPL_MIX_GROUP ||
                   st->width % TPL_WINO_CHANNEL_BLOCK
               ? 0
               : sizeof(float) * tpl_wino_weight_count(st->width, st->width) * 2 * st->layers;
}

static void free_state(void *state) {
    wino_state *w = state;
    if (w) free(w->u);
    free(w);
}

const tpl_block_kind tpl_block_basic = {
    .name = "basic", .convs = 2, .branch_bns = one_row, .widest = width, .last_relu = 1,
    .saved = SAVED,
    .template_floats = template_floats, .template_shape = template_shape, .fan_in = fan_in,
    .conv_out = conv_out, .conv_shape = conv_shape, .conv_offset = conv_offset, .plans = plans, .saved_floats = saved_floats,
    .forward = forward, .backward = backward, .eval_block = eval_block,
    .state_bytes = state_bytes, .free_state = free_state, .eval_block_floats = eval_block_floats,
};
