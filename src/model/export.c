/* Export: see export.h. */
#include "export.h"

#include <string.h>

#include "block.h"

/* dst = src with its output channels scaled by BN bn's eval-mode scale; the
 * exported BN out keeps only the shift.  A conv is [cout][per_out]. */
/* The BN a folded into the conv w [cout][per_out]: its eval-mode scale and
 * shift into scale and shift (which may be a's gamma and beta), dst = w
 * with each output channel scaled, the scale then 1 (the shift stays as
 * the conv's bias); dst may be w. */
static void fold_affine(const tpl_bn_args *a, const float *w, int cout, size_t per_out,
                        float *scale, float *shift, float *dst) {
    tpl_bn_eval_affine(a, scale, shift);
    for (int c = 0; c < cout; c++) {
        for (size_t i = 0; i < per_out; i++) dst[c * per_out + i] = w[c * per_out + i] * scale[c];
        scale[c] = 1.0f;
    }
}

/* The exported BN's running statistics at offset at: the identity's. */
static void identity_stats(tpl_params *to, tpl_bn_views out, size_t at, size_t n) {
    float *om = tpl_params_data(to, out.mean) + at, *ov = tpl_params_data(to, out.var) + at;
    for (size_t c = 0; c < n; c++) om[c] = 0.0f, ov[c] = 1.0f - TPL_BN_EPS;
}

static void fold(const tpl_params *from, tpl_bn_views bn, size_t at, const float *w, int cout,
                 size_t per_out, tpl_params *to, tpl_bn_views out, float *dst) {
    const tpl_bn_args a = {.shape = {.c = cout},
                           .gamma = tpl_params_data(from, bn.scale) + at,
                           .beta = tpl_params_data(from, bn.shift) + at,
                           .running_mean = tpl_params_data(from, bn.mean) + at,
                           .running_var = tpl_params_data(from, bn.var) + at,
                           .eps = TPL_BN_EPS};
    fold_affine(&a, w, cout, per_out, tpl_params_data(to, out.scale) + at,
                tpl_params_data(to, out.shift) + at, dst);
    identity_stats(to, out, at, (size_t)cout);
}

static void copy_view(const tpl_params *from, int a, tpl_params *to, int b) {
    memcpy(tpl_params_data(to, b), tpl_params_data(from, a), sizeof(float) * from->views[a].numel);
}

/* Block l of a kind that mixes its BNs' scales and shifts (block.h:
 * affine_at), each conv followed by its BN in the template's order: every
 * BN folded into its conv, the template keeping scale 1 and the shift, the
 * exported running statistics the identity's. */
static void fold_mixed(tpl_model *m, int task, int s, int l, float *t, tpl_params *q,
                       tpl_bn_views out) {
    const tpl_stage *st = &m->stage[s];
    const tpl_block_kind *k = st->kind;
    const tpl_params *p = &m->params;
    const tpl_bn_views bn = m->task[task].stage[s].bn;
    const size_t rows = (size_t)st->bn_per_block * st->width, at = (size_t)l * rows;
    memcpy(t, tpl_model_block_weights(m, task, s, l), sizeof(float) * st->per_template);
    float *gamma = t + k->affine_at(st), *beta = gamma + rows;
    float *mean = tpl_params_data(p, bn.mean) + at, *var = tpl_params_data(p, bn.var) + at;
    size_t ch = 0; /* the conv's first BN channel */
    for (int i = 0; i < k->convs; i++) {
        const int cout = k->conv_out(st, i);
        const tpl_bn_args a = {.shape = {.c = cout}, .gamma = gamma + ch, .beta = beta + ch,
                               .running_mean = mean + ch, .running_var = var + ch,
                               .eps = TPL_BN_EPS};
        float *w = t + k->conv_offset(st, i);
        fold_affine(&a, w, cout, tpl_block_conv_floats(st, i) / cout, gamma + ch, beta + ch, w);
        ch += cout;
    }
    identity_stats(q, out, at, rows);
}

tpl_model *tpl_model_export(tpl_model *m, int task, tpl_err *err) {
    if (m->cfg.aggregate != TPL_AGG_PARAMS) {
        tpl_err_set(err, "a model that mixes outputs (a mixture of experts) has no one set of "
                    "weights per block to export");
        return NULL;
    }
    tpl_config cfg = m->cfg;
    cfg.n_tasks = 1;
    cfg.task[0] = m->cfg.task[task];
    cfg.routing = TPL_ROUTE_FIXED_ONEHOT;
    cfg.shared_mixture = cfg.shared_head = 0;
    cfg.mix = TPL_MIX_BLOCK, cfg.mix_group = 0; /* each block its own weights, whole */
    for (int s = 0; s < cfg.n_stages; s++) cfg.stage[s].templates = cfg.stage[s].layers;
    tpl_model *e = tpl_config_check(&cfg, err) ? NULL : tpl_model_create(&cfg, 0, err);
    if (!e) return NULL;
    if (tpl_model_copy_class_names(e, 0, m, task, err)) {
        tpl_model_free(e);
        return NULL;
    }
    const tpl_params *p = &m->params;
    tpl_params *q = &e->params;
    const int c0 = cfg.stage[0].width;
    fold(p, m->task[task].stem_bn, 0, tpl_params_data(p, m->stem_w), c0, (size_t)cfg.in_channels * 9,
         q, e->task[0].stem_bn, tpl_params_data(q, e->stem_w));
    for (int s = 0; s < cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const int C = st->width;
        if (s > 0)
            fold(p, m->task[task].stage[s].trans_bn, 0, tpl_params_data(p, st->trans_w), C,
                 (size_t)m->stage[s - 1].width * 9, q, e->task[0].stage[s].trans_bn,
                 tpl_params_data(q, e->stage[s].trans_w));
        float *bank = tpl_params_data(q, e->stage[s].bank);
        if (st->kind->affine_at) {
            for (int l = 0; l < st->layers; l++)
                fold_mixed(m, task, s, l, bank + (size_t)l * st->per_template, q,
                           e->task[0].stage[s].bn);
            continue;
        }
        const size_t half = st->per_template / 2;
        for (int l = 0; l < st->layers; l++) {
            const float *w = tpl_model_block_weights(m, task, s, l);
            float *t = bank + (size_t)l * st->per_template;
            for (int j = 0; j < 2; j++) /* BN [L][2][C]: the j-th conv of block l */
                fold(p, m->task[task].stage[s].bn, ((size_t)l * 2 + j) * C, w + j * half, C, (size_t)C * 9, q,
                     e->task[0].stage[s].bn, t + j * half);
        }
    }
    copy_view(p, m->task[task].head_w, q, e->task[0].head_w);
    copy_view(p, m->task[task].head_b, q, e->task[0].head_b);
    tpl_model_params_changed(e);
    return e;
}
