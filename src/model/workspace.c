/* The activation arena (see workspace.h): a first pass with base NULL
 * counts, the second assigns. */
#include "workspace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"

tpl_shape tpl_stage_shape(const tpl_model *m, int s) {
    const tpl_stage *st = &m->stage[s];
    return (tpl_shape){m->ws->n, st->width, st->h, st->w, tpl_model_act_block(m, st->width)};
}

typedef struct carver {
    float *base;
    size_t off;
} carver;

static void take(carver *c, float **ptr, size_t count) {
    if (c->base) *ptr = c->base + c->off;
    c->off += (count + 15) / 16 * 16;
}

/* count bf16 values, in bf16 runs only (else *ptr stays NULL). */
static void take_bf16(carver *c, const tpl_model *m, tpl_bf16 **ptr, size_t count) {
    if (!tpl_model_bf16(m)) return;
    float *f = NULL;
    take(c, &f, (count + 1) / 2);
    if (c->base) *ptr = tpl_bf16_at(f);
}

static size_t stage_act(const tpl_model *m, int s, int n) {
    return (size_t)n * m->stage[s].width * m->stage[s].h * m->stage[s].w;
}

/* One branch run's saved tensors into x[0 .. kind->saved). */
static void take_branch(carver *c, const tpl_stage *st, int n, float **x) {
    for (int i = 0; i < st->kind->saved; i++) take(c, &x[i], st->kind->saved_floats(st, i, n));
}

/* Every block's pointers and tensors, kept for the backward. */
static void take_blocks(carver *c, const tpl_model *m, tpl_workspace *ws, int n) {
    int blk = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const size_t a = stage_act(m, s, n);
        const int runs = m->agg->branches(st), last = TPL_BLK_BRANCHES + st->kind->saved - 1;
        for (int l = 0; l < st->layers; l++, blk++) {
            float **b = tpl_ws_block(ws, blk);
            take(c, &b[TPL_BLK_OUT], a);
            tpl_bf16 *out_bf16 = NULL;
            take_bf16(c, m, &out_bf16, a);
            b[TPL_BLK_OUT_BF16] = (float *)(void *)out_bf16;
            take(c, &b[TPL_BLK_STATS], 2 * (size_t)st->width);
            for (int r = 0; r < runs; r++) take_branch(c, st, n, b + TPL_BLK_BRANCHES + r * st->kind->saved);
            /* one branch: the last BN reads its output; several: their sum */
            if (runs == 1) b[TPL_BLK_SUM] = b[last];
            else take(c, &b[TPL_BLK_SUM], a);
        }
    }
}

/* Eval: two outputs in turn, and one block's scratch that every block reuses. */
static void take_eval(carver *c, const tpl_model *m, tpl_workspace *ws, int n, size_t biggest) {
    take(c, &ws->eval_out[0], biggest);
    take(c, &ws->eval_out[1], biggest);
    take_bf16(c, m, &ws->eval_out_bf16[0], biggest);
    take_bf16(c, m, &ws->eval_out_bf16[1], biggest);
    size_t most[TPL_BRANCH_MAX_SAVED] = {0};
    int saved = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        if (st->kind->saved > saved) saved = st->kind->saved;
        for (int i = 0; i < st->kind->saved; i++)
            if (st->kind->saved_floats(st, i, n) > most[i]) most[i] = st->kind->saved_floats(st, i, n);
    }
    float **b = ws->eval_blk;
    b[TPL_BLK_OUT] = b[TPL_BLK_STATS] = b[TPL_BLK_OUT_BF16] = NULL;
    take(c, &b[TPL_BLK_SUM], biggest);
    for (int i = 0; i < saved; i++) take(c, &b[TPL_BLK_BRANCHES + i], most[i]);
}

static size_t layout(const tpl_model *m, tpl_workspace *ws, float *base, int n, int training) {
    carver c = {base, 0};
    const tpl_config *cfg = &m->cfg;
    size_t a0 = stage_act(m, 0, n), biggest = a0, biggest_w = (size_t)cfg->stage[0].width * cfg->in_channels * 9;
    take(&c, &ws->stem_c, a0);
    take(&c, &ws->stem_h, a0);
    take(&c, &ws->stem_stats, 2 * (size_t)cfg->stage[0].width);
    take_bf16(&c, m, &ws->x_bf16, (size_t)n * cfg->in_channels * cfg->in_height * cfg->in_width);
    take_bf16(&c, m, &ws->stem_h_bf16, a0);
    for (int s = 0; s < cfg->n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const size_t a = stage_act(m, s, n), wide = a / st->width * st->kind->widest(st);
        if (wide > biggest) biggest = wide; /* the gradient buffers hold a branch's widest */
        if (st->per_template > biggest_w) biggest_w = st->per_template;
        if (s > 0) {
            take(&c, &ws->trans_c[s], a);
            take(&c, &ws->trans_h[s], a);
            take(&c, &ws->trans_stats[s], 2 * (size_t)st->width);
            take_bf16(&c, m, &ws->trans_h_bf16[s], a);
        }
    }
    if (training) take_blocks(&c, m, ws, n);
    else take_eval(&c, m, ws, n, biggest);
    int classes = 0;
    for (int t = 0; t < cfg->n_tasks; t++)
        if (cfg->task[t].classes > classes) classes = cfg->task[t].classes;
    const int last = cfg->stage[cfg->n_stages - 1].width;
    take(&c, &ws->pool, (size_t)n * last);
    take(&c, &ws->logits, (size_t)n * classes);
    if (training) {
        for (int i = 0; i < TPL_WS_GRADS; i++) take(&c, &ws->g[i], biggest);
        take(&c, &ws->dw, biggest_w);
        take(&c, &ws->dpool, (size_t)n * last);
        take_bf16(&c, m, &ws->g_bf16, biggest);
    }
    /* BN scratch: the widest BN over the batch (doubles: aligned by take) */
    size_t bn = 0;
    for (int s = 0; s < cfg->n_stages; s++) {
        tpl_shape sh = {n, m->stage[s].kind->widest(&m->stage[s]), 1, 1, 1};
        if (tpl_bn_scratch_bytes(sh) > bn) bn = tpl_bn_scratch_bytes(sh);
    }
    float *bn_at = NULL;
    take(&c, &bn_at, (bn + sizeof(float) - 1) / sizeof(float));
    ws->bn_scratch = bn_at;
    return c.off;
}

/* Pointers a block needs (the most over the stages); and the blocks. */
static int block_stride(const tpl_model *m, int *blocks) {
    int stride = 0;
    *blocks = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        *blocks += st->layers;
        int need = TPL_BLK_BRANCHES + m->agg->branches(st) * st->kind->saved;
        if (need > stride) stride = need;
    }
    return stride;
}

/* Pointer tables: a block's pointers times the blocks (training), one
 * block's (eval). */
static int alloc_tables(tpl_model *m, tpl_workspace *ws) {
    if (ws->blk) return 0;
    int blocks, stride = block_stride(m, &blocks);
    ws->bstride = stride;
    ws->blk = calloc((size_t)blocks * stride, sizeof(float *));
    ws->eval_blk = calloc((size_t)stride, sizeof(float *));
    return ws->blk && ws->eval_blk ? 0 : -1;
}

int tpl_ws_prepare(tpl_model *m, int n, int training, tpl_err *err) {
    tpl_workspace *ws = m->ws;
    if (alloc_tables(m, ws)) goto oom;
    if (ws->cap < n || ws->training != training) {
        free(ws->arena);
        size_t need = layout(m, ws, NULL, n, training);
        ws->arena = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
        ws->cap = 0;
        if (!ws->arena) goto oom;
        layout(m, ws, ws->arena, n, training);
        ws->cap = n;
        ws->training = training;
    }
    ws->n = n;
    ws->fwd_task = -1;
    if (tpl_conv_plan_prepare(m->stem_plan, n, training, err)) return -1;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        for (int i = 0; i < TPL_BLOCK_MAX_CONVS && st->plan[i]; i++)
            if (tpl_conv_plan_prepare(st->plan[i], n, training, err)) return -1;
        if (s > 0 && tpl_conv_plan_prepare(st->trans_plan, n, training, err)) return -1;
    }
    return 0;
oom:
    tpl_err_set(err, "out of memory: activations for a batch of %d", n);
    return -1;
}

size_t tpl_ws_floats(const tpl_model *m, int n, int training) {
    /* The layout pass that only counts still fills pointer tables: here one
     * block's, which every block shares (stride 0). */
    float *table[TPL_BLK_BRANCHES + TPL_MAX_TEMPLATES * TPL_BRANCH_MAX_SAVED];
    int blocks;
    if (block_stride(m, &blocks) > (int)(sizeof table / sizeof *table)) return SIZE_MAX;
    tpl_workspace counting = {.blk = table, .eval_blk = table, .bstride = 0};
    return layout(m, &counting, NULL, n, training);
}

float *tpl_ws_extra(tpl_workspace *ws, size_t floats, tpl_err *err) {
    if (ws->extra_cap >= floats) return ws->extra;
    free(ws->extra);
    ws->extra = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    ws->extra_cap = ws->extra ? floats : 0;
    if (!ws->extra) tpl_err_set(err, "out of memory: %zu floats of scratch", floats);
    return ws->extra;
}

void tpl_ws_settle_grad(tpl_workspace *ws) {
    if (!ws->g_pending) return;
    if (ws->g_pending_bf16) {
        float *restrict g = ws->g[0];
        const tpl_bf16 *restrict h = (const tpl_bf16 *)(const void *)ws->g_pending;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < ws->g_pending_numel; i++) g[i] += tpl_bf16_widen(h[i]);
    } else {
        tpl_add_into(ws->g[0], ws->g_pending, ws->g_pending_numel);
    }
    ws->g_pending = NULL;
}

void tpl_ws_free(tpl_workspace *ws) {
    if (!ws) return;
    free(ws->arena);
    free(ws->blk);
    free(ws->eval_blk);
    free(ws->extra);
    free(ws);
}
