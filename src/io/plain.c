/* Plain networks (plain.h): one task as ordinary convolutions with biases.
 *
 * A plain file holds, per stage s and block l, the block's convolutions
 * with their BNs folded in (export.c does the folding): basic blocks' two,
 *
 *   stem.weight [C0][in][3][3]              stem.bias [C0]
 *   stageS.transition.weight [C][Cp][3][3]  stageS.transition.bias [C]   (s > 0)
 *   stageS.blockL.conv1.weight [C][C][3][3] stageS.blockL.conv1.bias [C]
 *   stageS.blockL.conv2.weight [C][C][3][3] stageS.blockL.conv2.bias [C]
 *   head.weight [classes][C_last]           head.bias [classes]
 *
 * and inverted blocks' three (metadata "block": inverted, "expand": E):
 *   stageS.blockL.conv1.weight [EC][C][1][1] (expansion), conv2 [EC][1][3][3]
 *   (depthwise), conv3 [C][EC][1][1] (projection), each with its bias.
 *
 * In memory it is a templar model with one template per block (fixed
 * one-hot routing) whose BNs are pure biases: scale 1, mean 0, variance
 * 1 - eps, shift = the bias, which is what export makes; so eval and
 * predict run a plain file as they run any model. */
#include "plain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"

/* Calls each(tensor) for every tensor of the plain form of m, in the order
 * above, its data pointing into m's views. */
typedef struct plain_walk {
    int (*each)(struct plain_walk *w, const char *name, int ndim, const int64_t *shape,
                float *data);
    void *ctx;
} plain_walk;

static int walk_bn_conv(plain_walk *w, const char *prefix, int ndim, const int64_t *shape,
                        float *weight, float *bias) {
    char name[TPL_VIEW_NAME + 16];
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (w->each(w, name, ndim, shape, weight)) return -1;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return w->each(w, name, 1, shape, bias);
}

/* Stage s's blocks: conv i of block l with the bias its BN became, which
 * sits in the task's BN shifts, or in the template for kinds that mix
 * their BNs (block.h: affine_at; conv i's BN channels follow conv i-1's). */
static int walk_blocks(const tpl_model *m, int s, plain_walk *w) {
    const tpl_stage *st = &m->stage[s];
    const tpl_block_kind *k = st->kind;
    const size_t rows = (size_t)st->bn_per_block * st->width;
    float *bank = tpl_params_data(&m->params, st->bank);
    for (int l = 0; l < st->layers; l++) {
        float *t = bank + (size_t)l * st->per_template;
        float *bias = k->affine_at ? t + k->affine_at(st) + rows
                                   : tpl_params_data(&m->params, m->task[0].stage[s].bn.shift) +
                                         (size_t)l * rows;
        for (int i = 0; i < k->convs; i++) {
            char prefix[64];
            int64_t shape[4];
            k->conv_shape(st, i, shape);
            snprintf(prefix, sizeof prefix, "stage%d.block%d.conv%d", s, l, i + 1);
            if (walk_bn_conv(w, prefix, 4, shape, t + k->conv_offset(st, i), bias)) return -1;
            bias += shape[0];
        }
    }
    return 0;
}

static int walk(const tpl_model *m, plain_walk *w) {
    const tpl_config *c = &m->cfg;
    const tpl_params *p = &m->params;
    const tpl_task_params *tp = &m->task[0];
    int64_t stem[4] = {c->stage[0].width, c->in_channels, 3, 3};
    if (walk_bn_conv(w, "stem", 4, stem, tpl_params_data(p, m->stem_w),
                     tpl_params_data(p, tp->stem_bn.shift)))
        return -1;
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        char prefix[64];
        const int64_t C = st->width;
        if (s > 0) {
            int64_t shape[4] = {C, c->stage[s - 1].width, 3, 3};
            snprintf(prefix, sizeof prefix, "stage%d.transition", s);
            if (walk_bn_conv(w, prefix, 4, shape, tpl_params_data(p, st->trans_w),
                             tpl_params_data(p, tp->stage[s].trans_bn.shift)))
                return -1;
        }
        if (walk_blocks(m, s, w)) return -1;
    }
    const int64_t head[2] = {c->task[0].classes, c->stage[c->n_stages - 1].width};
    return walk_bn_conv(w, "head", 2, head, tpl_params_data(p, tp->head_w),
                        tpl_params_data(p, tp->head_b));
}

int tpl_plain_check(const tpl_model *m, tpl_err *err) {
    const tpl_config *c = &m->cfg;
    int ok = c->n_tasks == 1 && c->routing == TPL_ROUTE_FIXED_ONEHOT &&
             c->aggregate == TPL_AGG_PARAMS;
    for (int s = 0; ok && s < c->n_stages; s++)
        ok = c->stage[s].templates == c->stage[s].layers && c->mix == TPL_MIX_BLOCK;
    if (!ok) tpl_err_set(err, "a plain network is one task, one template a block");
    return ok ? 0 : -1;
}

/* ---- writing ------------------------------------------------------------------- */

typedef struct collect {
    tpl_st_tensor *t;
    char (*names)[TPL_VIEW_NAME + 16];
    int n, cap;
} collect;

static int add_tensor(plain_walk *w, const char *name, int ndim, const int64_t *shape,
                      float *data) {
    collect *c = w->ctx;
    if (c->n == c->cap) return -1;
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    tpl_st_tensor *t = &c->t[c->n++];
    *t = (tpl_st_tensor){.name = c->names[c->n - 1], .ndim = ndim, .data = data};
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    return 0;
}

int tpl_plain_tensors(const tpl_model *m, tpl_st_tensor **tensors, int *n, tpl_err *err) {
    int cap = 4; /* stem, head */
    for (int s = 0; s < m->cfg.n_stages; s++)
        cap += 2 + 2 * m->stage[s].kind->convs * m->cfg.stage[s].layers;
    collect c = {calloc((size_t)cap, sizeof *c.t), NULL, 0, cap};
    c.names = calloc((size_t)cap, sizeof *c.names);
    plain_walk w = {add_tensor, &c};
    if (!c.t || !c.names || walk(m, &w)) {
        free(c.t), free(c.names);
        tpl_err_set(err, "out of memory listing the plain network's tensors");
        return -1;
    }
    /* the names live right after the table, freed with it */
    tpl_st_tensor *all = realloc(c.t, sizeof *c.t * (size_t)cap + sizeof *c.names * (size_t)cap);
    if (!all) {
        free(c.t), free(c.names);
        tpl_err_set(err, "out of memory listing the plain network's tensors");
        return -1;
    }
    char (*names)[TPL_VIEW_NAME + 16] = (void *)(all + cap);
    memcpy(names, c.names, sizeof *c.names * (size_t)cap);
    for (int i = 0; i < c.n; i++) all[i].name = names[i];
    free(c.names);
    *tensors = all;
    *n = c.n;
    return 0;
}

/* ---- reading -------------------------------------------------------------------- */

typedef struct reader {
    tpl_st_file *f;
    const char *path;
    tpl_err *err;
} reader;

static int read_tensor(plain_walk *w, const char *name, int ndim, const int64_t *shape,
                       float *data) {
    reader *r = w->ctx;
    const int i = tpl_st_find(r->f, name);
    int64_t got[TPL_ST_MAX_DIMS];
    if (i < 0) {
        tpl_err_set(r->err, "%s: tensor '%s' is missing", r->path, name);
        return -1;
    }
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= (size_t)shape[d];
    if (tpl_st_shape(r->f, i, got) != ndim || memcmp(got, shape, sizeof(int64_t) * ndim)) {
        tpl_err_set(r->err, "%s: tensor '%s' has a shape that does not match the network", r->path,
                    name);
        return -1;
    }
    if (tpl_st_read_f32(r->f, i, data, numel, r->err)) return -1;
    for (size_t k = 0; k < numel; k++)
        if (!(data[k] == data[k]) || data[k] > 3.4e38f || data[k] < -3.4e38f) {
            tpl_err_set(r->err, "%s: tensor '%s' holds NaN or infinity", r->path, name);
            return -1;
        }
    return 0;
}

/* Every BN a pure bias: scale 1, mean 0, variance 1 - eps (the shift is
 * read), the task's or the templates'. */
static void bias_only_bns(tpl_model *m) {
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        float *x = tpl_params_data(p, i), value;
        if (v->kind == TPL_KIND_BN_SCALE) value = 1.0f;
        else if (v->kind == TPL_KIND_BN_MEAN) value = 0.0f;
        else if (v->kind == TPL_KIND_BN_VAR) value = 1.0f - TPL_BN_EPS;
        else continue;
        for (size_t k = 0; k < v->numel; k++) x[k] = value;
    }
    for (int s = 0; s < m->cfg.n_stages; s++) { /* scales mixed in the templates */
        const tpl_stage *st = &m->stage[s];
        for (int l = 0; st->kind->affine_at && l < st->layers; l++) {
            float *scale = tpl_params_data(p, st->bank) + (size_t)l * st->per_template +
                           st->kind->affine_at(st);
            for (size_t c = 0; c < (size_t)st->bn_per_block * st->width; c++) scale[c] = 1.0f;
        }
    }
}

int tpl_plain_read(tpl_model *m, tpl_st_file *f, const char *path, tpl_err *err) {
    if (tpl_plain_check(m, err)) return -1;
    bias_only_bns(m);
    reader r = {f, path, err};
    plain_walk w = {read_tensor, &r};
    return walk(m, &w);
}
