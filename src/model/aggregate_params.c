/* Mixing parameters: block l runs one branch on its mixed weights
 * W = sum_k a_k T_k (the template bank proper; see block.h). */
#include <string.h>

#include "block.h"
#include "mix.h"
#include "mixing.h"
#include "workspace.h"

static int bn_per_block(const tpl_stage *st) { return st->kind->branch_bns(st) + 1; }
static int slot_units(const tpl_stage *st) { return st->layers; }
static size_t mixed_floats(const tpl_stage *st) { return (size_t)st->layers * st->per_template; }
static int branches(const tpl_stage *st) {
    (void)st;
    return 1;
}

/* The branch of block l: its BNs come first in the block's BN rows. */
static tpl_branch branch_of(tpl_model *m, int task, int s, int l) {
    tpl_stage *st = &m->stage[s];
    return (tpl_branch){.m = m, .task = task, .s = s,
                        .bn_at = (size_t)l * st->bn_per_block * st->width,
                        .slots = st->slots + (size_t)l * st->kind->convs,
                        .w = tpl_mixing_weights(m, s, l), .gen = m->mixing.gen};
}

static size_t last_bn_at(const tpl_stage *st, int l) {
    return ((size_t)l * st->bn_per_block + st->bn_per_block - 1) * st->width;
}

/* The branch's output as the last BN reads it: fp32, or bf16 where the
 * stage's convs write it (then NULL, and a->x_bf16 set). */
static const float *branch_out(const tpl_stage *st, float *y, tpl_bn_args *a) {
    if (!st->out_bf16) return y;
    a->x_bf16 = tpl_bf16_at(y);
    return NULL;
}

static int forward(tpl_model *m, int task, int s, int l, int training, tpl_act h,
                   float **blk, tpl_err *err) {
    const tpl_stage *st = &m->stage[s];
    const tpl_branch b = branch_of(m, task, s, l);
    float **x = blk + TPL_BLK_BRANCHES;
    if (!training && st->kind->eval_block) {
        int ran = st->kind->eval_block(&b, l, last_bn_at(st, l), h.f, x, blk[TPL_BLK_OUT], err);
        if (ran) return ran < 0 ? -1 : 0;
    }
    if (st->kind->forward(&b, training, h, x, err)) return -1;
    tpl_bn_args last = tpl_branch_bn_args(&b, last_bn_at(st, l), tpl_stage_shape(m, s),
                                          st->kind->last_relu, h.f);
    last.out_bf16 = tpl_bf16_at(blk[TPL_BLK_OUT_BF16]);
    tpl_model_bn_forward(m, &last, training, branch_out(st, x[st->kind->saved - 1], &last),
                         blk[TPL_BLK_OUT], blk[TPL_BLK_STATS]);
    return 0;
}

/* g[0] holds dL/d(out) on entry (plus a pending part, which the last BN's
 * backward adds as it reads) and dL/dh on exit: its skip part in g[0], its
 * branch part left pending in g[1].  The weight gradient goes through the
 * mix to the templates and the logits.  The branch's output gradient goes
 * to g[1], or in bf16 runs to g_bf16 alone. */
static int backward(tpl_model *m, int task, int s, int l, tpl_act h, float **blk,
                    tpl_err *err) {
    tpl_workspace *ws = m->ws;
    const tpl_stage *st = &m->stage[s];
    const tpl_shape shape = tpl_stage_shape(m, s);
    const tpl_branch b = branch_of(m, task, s, l);
    float *g0 = ws->g[0], *g1 = ws->g[1];
    tpl_bn_args last = tpl_branch_bn_args(&b, last_bn_at(st, l), shape, st->kind->last_relu, h.f);
    last.dx_bf16 = ws->g_bf16;
    /* bf16 runs read the ReLU mask from the output's bf16 copy: half the bytes */
    last.out_bf16 = tpl_bf16_at(blk[TPL_BLK_OUT_BF16]);
    if (ws->g_pending_bf16) last.dout_add_bf16 = (const tpl_bf16 *)(const void *)ws->g_pending;
    else last.dout_add = ws->g_pending;
    ws->g_pending = NULL;
    float *dy = ws->g_bf16 ? NULL : g1;
    if (st->kind->affine_at) /* the BNs' part of dw, which their backwards add into */
        memset(ws->dw + st->kind->affine_at(st), 0,
               sizeof(float) * (st->per_template - st->kind->affine_at(st)));
    tpl_branch_bn_backward(&b, &last, branch_out(st, blk[TPL_BLK_SUM], &last),
                           last.out_bf16 ? NULL : blk[TPL_BLK_OUT], g0, blk[TPL_BLK_STATS],
                           last_bn_at(st, l), ws->dw, dy, g0);
    if (st->kind->backward(&b, h, blk + TPL_BLK_BRANCHES, dy, ws->g_bf16, ws->g + 2, ws->dw, g1,
                           err))
        return -1;
    ws->g_pending = g1;
    ws->g_pending_numel = tpl_shape_numel(shape);
    ws->g_pending_bf16 = st->out_bf16;
    const int k = st->templates;
    const tpl_params *p = &m->params;
    const float *a = tpl_mixing_mix(m, s, l);
    float da[st->units * k];
    for (int u = 0; u < st->units; u++) {
        size_t at, n;
        tpl_stage_unit(st, u, &at, &n);
        tpl_mix_backward(k, n, st->per_template, tpl_params_data(p, st->bank) + at,
                         a + (size_t)u * k, ws->dw + at, tpl_params_grad(p, st->bank) + at,
                         da + (size_t)u * k);
    }
    tpl_mixing_backward(m, task, s, l, da);
    return 0;
}

const tpl_aggregation_impl tpl_aggregate_params = {
    .id = TPL_AGG_PARAMS, .bn_per_block = bn_per_block, .slot_units = slot_units,
    .mixed_floats = mixed_floats, .branches = branches, .forward = forward,
    .backward = backward,
};
