/* Mixing outputs: every template with a_k != 0 runs its own branch, with
 * BNs of its own, and the block's last BN takes sum_k a_k branch_k (a
 * mixture of experts, K times the convolutions; see block.h). */
#include <string.h>

#include "block.h"
#include "mix.h"
#include "mixing.h"
#include "workspace.h"

static int bn_per_block(const tpl_stage *st) {
    return st->templates * st->kind->branch_bns(st) + 1;
}
static int slot_units(const tpl_stage *st) { return st->templates; }
static size_t mixed_floats(const tpl_stage *st) {
    (void)st;
    return 0;
}
static int branches(const tpl_stage *st) { return st->templates; }

/* Expert k of block l: template k's weights as they are, its BNs at its
 * place in the block's BN rows. */
static tpl_branch expert(tpl_model *m, int task, int s, int l, int k) {
    tpl_stage *st = &m->stage[s];
    const float *bank = tpl_params_data(&m->params, st->bank);
    return (tpl_branch){
        .m = m, .task = task, .s = s,
        .bn_at = ((size_t)l * st->bn_per_block + (size_t)k * st->kind->branch_bns(st)) * st->width,
        .slots = st->slots + (size_t)k * st->kind->convs,
        .w = bank + (size_t)k * st->per_template, .gen = m->version};
}

static size_t last_bn_at(const tpl_stage *st, int l) {
    return ((size_t)l * st->bn_per_block + st->bn_per_block - 1) * st->width;
}

/* Expert k's saved tensors: its own in training, one shared set in eval. */
static float **expert_saved(const tpl_stage *st, float **blk, int training, int k) {
    return blk + TPL_BLK_BRANCHES + (training ? (size_t)k * st->kind->saved : 0);
}

static int forward(tpl_model *m, int task, int s, int l, int training, tpl_act h,
                   float **blk, tpl_err *err) {
    const tpl_stage *st = &m->stage[s];
    const float *a = tpl_mixing_mix(m, s, l);
    const tpl_shape shape = tpl_stage_shape(m, s);
    const size_t numel = tpl_shape_numel(shape);
    float *sum = blk[TPL_BLK_SUM];
    memset(sum, 0, sizeof(float) * numel);
    for (int k = 0; k < st->templates; k++) {
        if (a[k] == 0.0f) continue; /* top-k routing: not run */
        const tpl_branch b = expert(m, task, s, l, k);
        float **x = expert_saved(st, blk, training, k);
        if (st->kind->forward(&b, training, h, x, err)) return -1;
        const float *y = x[st->kind->saved - 1];
        for (size_t i = 0; i < numel; i++) sum[i] += a[k] * y[i];
    }
    tpl_bn_args last = tpl_model_bn_args(m, m->task[task].stage[s].bn, last_bn_at(st, l), shape,
                                         st->kind->last_relu, h.f);
    last.out_bf16 = tpl_bf16_at(blk[TPL_BLK_OUT_BF16]);
    tpl_model_bn_forward(m, &last, training, sum, blk[TPL_BLK_OUT], blk[TPL_BLK_STATS]);
    return 0;
}

/* The gradients of every run expert's template go straight into the bank;
 * da_k = <branch_k, dsum> goes through the routing into the logits.  In
 * bf16 runs each expert's output gradient is rounded into g_bf16. */
static int backward(tpl_model *m, int task, int s, int l, tpl_act h, float **blk,
                    tpl_err *err) {
    tpl_workspace *ws = m->ws;
    const tpl_stage *st = &m->stage[s];
    const tpl_params *p = &m->params;
    const int K = st->templates;
    const tpl_shape shape = tpl_stage_shape(m, s);
    const size_t numel = tpl_shape_numel(shape);
    const float *a = tpl_mixing_mix(m, s, l);
    const tpl_bn_views v = m->task[task].stage[s].bn;
    float *g0 = ws->g[0], *g1 = ws->g[1], *g2 = ws->g[2];
    float *dbank = tpl_params_grad(p, st->bank), da[K];
    tpl_ws_settle_grad(ws);
    tpl_bn_args last = tpl_model_bn_args(m, v, last_bn_at(st, l), shape, st->kind->last_relu, h.f);
    tpl_model_bn_backward(m, &last, blk[TPL_BLK_SUM], blk[TPL_BLK_OUT], g0, blk[TPL_BLK_STATS],
                          v, last_bn_at(st, l), g1, g0);
    for (int k = 0; k < K; k++) {
        da[k] = 0.0f;
        if (a[k] == 0.0f) continue;
        float **x = expert_saved(st, blk, 1, k);
        /* the sum is a one-template mix of the branch: dbranch = a_k dsum,
         * da_k = <branch, dsum>, by the bank's own kernel */
        memset(g2, 0, sizeof(float) * numel);
        tpl_mix_backward(1, numel, numel, x[st->kind->saved - 1], &a[k], g1, g2, &da[k]);
        const tpl_branch b = expert(m, task, s, l, k);
        if (ws->g_bf16) tpl_bf16_from_f32(g2, ws->g_bf16, numel);
        if (st->kind->backward(&b, h, x, g2, ws->g_bf16, ws->g + 3, ws->dw, g2, err)) return -1;
        tpl_add_into(dbank + (size_t)k * st->per_template, ws->dw, st->per_template);
        tpl_add_into(g0, g2, numel);
    }
    tpl_mixing_backward(m, task, s, l, da);
    return 0;
}

const tpl_aggregation_impl tpl_aggregate_outputs = {
    .id = TPL_AGG_OUTPUTS, .bn_per_block = bn_per_block, .slot_units = slot_units,
    .mixed_floats = mixed_floats, .branches = branches, .forward = forward,
    .backward = backward,
};
