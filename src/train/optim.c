#include "optim.h"
#include "names.h"

#include <assert.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const opt_names[] = {[TPL_OPT_SGD] = "sgd", [TPL_OPT_ADAMW] = "adamw"};
static_assert(sizeof opt_names / sizeof *opt_names == TPL_OPT_COUNT, "an optimiser without a name");
static const char *const sched_names[] = {
    [TPL_SCHED_CONST] = "const", [TPL_SCHED_COSINE] = "cosine", [TPL_SCHED_ONECYCLE] = "onecycle"};
static_assert(sizeof sched_names / sizeof *sched_names == TPL_SCHED_COUNT,
              "a schedule without a name");

const char *tpl_opt_name(tpl_opt_kind k) {
    return (int)k >= 0 && (int)k < TPL_OPT_COUNT ? opt_names[k] : "unknown";
}
int tpl_opt_parse(const char *name) { return tpl_name_find(opt_names, TPL_OPT_COUNT, name); }
const char *tpl_sched_name(tpl_sched_kind k) {
    return (int)k >= 0 && (int)k < TPL_SCHED_COUNT ? sched_names[k] : "unknown";
}
int tpl_sched_parse(const char *name) { return tpl_name_find(sched_names, TPL_SCHED_COUNT, name); }

void tpl_optim_config_default(tpl_optim_config *c) {
    *c = (tpl_optim_config){.kind = TPL_OPT_SGD, .lr = 0.1f, .logit_lr_mult = 1.0f,
                            .momentum = 0.9f, .nesterov = 1, .weight_decay = 5e-4f,
                            .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                            .sched = TPL_SCHED_ONECYCLE, .warmup = 0.15f,
                            .total_steps = 1};
}

int tpl_optim_init(tpl_optim *o, const tpl_optim_config *c, size_t numel) {
    memset(o, 0, sizeof *o);
    o->c = *c;
    o->numel = numel;
    o->m = calloc(numel ? numel : 1, sizeof(float));
    if (c->kind == TPL_OPT_ADAMW) o->v = calloc(numel ? numel : 1, sizeof(float));
    return o->m && (c->kind != TPL_OPT_ADAMW || o->v) ? 0 : -1;
}

void tpl_optim_free(tpl_optim *o) {
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* Warm-up then cosine decay.  One-cycle starts from lr/25 and ends near 0;
 * cosine starts from 0 (after warm-up) and ends at 0. */
float tpl_optim_lr(const tpl_optim *o) {
    const tpl_optim_config *c = &o->c;
    if (c->sched == TPL_SCHED_CONST) return c->lr;
    double total = c->total_steps > 0 ? (double)c->total_steps : 1.0;
    double t = o->step / total, w = c->warmup;
    double floor = c->sched == TPL_SCHED_ONECYCLE ? c->lr / 25.0 : 0.0;
    if (t < w) return (float)(floor + (c->lr - floor) * t / w);
    double u = w < 1.0 ? (t - w) / (1.0 - w) : 1.0;
    if (u > 1.0) u = 1.0;
    return (float)(c->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * u)));
}

static int decays(tpl_kind k) {
    return k == TPL_KIND_TEMPLATE || k == TPL_KIND_CONV || k == TPL_KIND_HEAD_W;
}

static void sgd_view(const tpl_optim_config *c, float lr, float wd, float *w,
                     const float *g, float *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        m[i] = c->momentum * m[i] + gi;
        w[i] -= lr * (c->nesterov ? gi + c->momentum * m[i] : m[i]);
    }
}

static void adamw_view(const tpl_optim_config *c, float lr, float wd, long step,
                       float *w, const float *g, float *m, float *v, size_t n) {
    const float bc1 = 1.0f - powf(c->beta1, (float)step);
    const float bc2 = 1.0f - powf(c->beta2, (float)step);
    for (size_t i = 0; i < n; i++) {
        m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * g[i];
        v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * g[i] * g[i];
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        w[i] -= lr * (mhat / (sqrtf(vhat) + c->eps) + wd * w[i]);
    }
}

void tpl_optim_step(tpl_optim *o, tpl_params *p) {
    const tpl_optim_config *c = &o->c;
    const float lr = tpl_optim_lr(o);
    o->step++;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        if (!v->trainable) continue;
        float vlr = v->kind == TPL_KIND_LOGITS ? lr * c->logit_lr_mult : lr;
        float wd = decays(v->kind) ? c->weight_decay : 0.0f;
        float *w = p->data + v->offset, *g = p->grad + v->offset, *m = o->m + v->offset;
        if (c->kind == TPL_OPT_SGD)
            sgd_view(c, vlr, wd, w, g, m, v->numel);
        else
            adamw_view(c, vlr, wd, o->step, w, g, m, o->v + v->offset, v->numel);
    }
}
