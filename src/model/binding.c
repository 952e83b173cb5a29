/* Tasks bound from outside a model (see binding.h). */
#include "binding.h"

#include <math.h>
#include <string.h>

#include "ops.h"
#include "workspace.h"

/* What runs a task's trunk: not its head, nor the record of its features
 * (moments, read by adaptation only). */
static int in_trunk(tpl_kind k) {
    return k != TPL_KIND_HEAD_W && k != TPL_KIND_HEAD_B && k != TPL_KIND_FEAT_MOMENTS;
}

int tpl_trunk_views(const tpl_model *m, int t, int *views) {
    int n = 0;
    for (int i = 0; i < m->params.n_views && n < TPL_TRUNK_MAX_VIEWS; i++)
        if (m->params.views[i].task == t && in_trunk(m->params.views[i].kind)) views[n++] = i;
    return n;
}

/* Floats of slot 0's trunk, raw or folded (every slot has the same shapes). */
static size_t trunk_floats(const tpl_model *m, int folded) {
    int v[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(m, 0, v);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const tpl_view *w = &m->params.views[v[i]];
        if (!folded || !tpl_kind_is_state(w->kind)) total += w->numel;
    }
    return total;
}

size_t tpl_trunk_floats(const tpl_model *m) { return trunk_floats(m, 0); }
size_t tpl_trunk_folded_floats(const tpl_model *m) { return trunk_floats(m, 1); }

void tpl_trunk_get(const tpl_model *m, int t, float *raw) {
    int v[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(m, t, v);
    for (int i = 0; i < n; i++) {
        const size_t len = m->params.views[v[i]].numel;
        memcpy(raw, tpl_params_data(&m->params, v[i]), sizeof(float) * len);
        raw += len;
    }
}

/* A BN's views come as scale, shift, mean, variance (layout.c): the fold
 * walks them four at a time. */
void tpl_trunk_fold(const tpl_model *m, const float *raw, float *folded) {
    int v[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(m, 0, v);
    for (int i = 0; i < n; i++) {
        const tpl_view *w = &m->params.views[v[i]];
        const size_t len = w->numel;
        if (w->kind != TPL_KIND_BN_SCALE) {
            memcpy(folded, raw, sizeof(float) * len);
            raw += len, folded += len;
            continue;
        }
        /* tpl_bn_eval_affine only reads the running statistics */
        const tpl_bn_args a = {.shape = {.c = (int)len}, .gamma = raw, .beta = raw + len,
                               .running_mean = (float *)(raw + 2 * len),
                               .running_var = (float *)(raw + 3 * len), .eps = TPL_BN_EPS};
        tpl_bn_eval_affine(&a, folded, folded + len);
        raw += 4 * len, folded += 2 * len;
        i += 3;
    }
}

/* The variance v with v + eps == 1 in float arithmetic: eval then divides
 * the folded scale by sqrtf(1) = 1 and keeps it exactly. */
static float unit_var(void) {
    volatile float eps = TPL_BN_EPS; /* computed in float, as ops.c does */
    float v = 1.0f - eps;
    for (int i = 0; i < 8 && v + eps != 1.0f; i++) v = nextafterf(v, v + eps < 1.0f ? 2.0f : 0.0f);
    return v;
}

void tpl_model_bind(tpl_model *m, int t, const float *folded, uint64_t id) {
    const float var = unit_var();
    int v[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(m, t, v);
    for (int i = 0; i < n; i++) {
        const tpl_view *w = &m->params.views[v[i]];
        const size_t len = w->numel;
        float *dst = tpl_params_data(&m->params, v[i]);
        if (w->kind != TPL_KIND_BN_SCALE) {
            memcpy(dst, folded, sizeof(float) * len);
            folded += len;
            continue;
        }
        float *shift = tpl_params_data(&m->params, v[i + 1]);
        float *mean = tpl_params_data(&m->params, v[i + 2]);
        float *vars = tpl_params_data(&m->params, v[i + 3]);
        memcpy(dst, folded, sizeof(float) * len);
        memcpy(shift, folded + len, sizeof(float) * len);
        for (size_t k = 0; k < len; k++) mean[k] = 0.0f, vars[k] = var;
        folded += 2 * len;
        i += 3;
    }
    m->binding[t] = id;
    if (m->ws) m->ws->fwd_task = -1; /* no backward through what was there before */
}
