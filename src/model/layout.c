/* Where every parameter lives and what it starts as: the view table of one
 * buffer (params.h) and the seeded initialisation. */
#include <math.h>
#include <stdio.h>

#include "block.h"
#include "layout.h"

/* Where the views go: the parameter table (tpl_layout_declare), or a
 * caller's function that only looks at them (tpl_layout_list).  The first
 * negative answer stops the declaration; later views are skipped. */
typedef struct declarer {
    tpl_view_fn add;
    void *ctx;
    int rc;
} declarer;

static int add_view(declarer *d, const char *name, tpl_kind kind, int task, int ndim,
                    const int64_t *shape) {
    if (d->rc < 0) return -1;
    int v = d->add(d->ctx, name, kind, task, ndim, shape);
    if (v < 0) d->rc = v;
    return v;
}

/* A BN's views; with stats_only, its running statistics alone (the scale
 * and shift live in the templates: -1). */
static tpl_bn_views add_bn_of(declarer *d, const char *prefix, int task, int ndim,
                              const int64_t *shape, int stats_only) {
    static const char *const part[] = {"weight", "bias", "running_mean", "running_var"};
    static const tpl_kind kinds[] = {TPL_KIND_BN_SCALE, TPL_KIND_BN_SHIFT, TPL_KIND_BN_MEAN,
                                     TPL_KIND_BN_VAR};
    int v[4] = {-1, -1, -1, -1};
    for (int i = stats_only ? 2 : 0; i < 4; i++) {
        char name[TPL_VIEW_NAME + 16]; /* params.h keeps the first TPL_VIEW_NAME - 1 */
        snprintf(name, sizeof name, "%s.%s", prefix, part[i]);
        v[i] = add_view(d, name, kinds[i], task, ndim, shape);
    }
    return (tpl_bn_views){v[0], v[1], v[2], v[3]};
}

static tpl_bn_views add_bn(declarer *d, const char *prefix, int task, int ndim,
                           const int64_t *shape) {
    return add_bn_of(d, prefix, task, ndim, shape, 0);
}

/* A stage's logits: [L][K], or [L][units][K] with several mixtures a
 * block (granularity.c). */
static int logits_shape(const tpl_stage *st, int64_t *shape) {
    int n = 0;
    shape[n++] = st->layers;
    if (st->units > 1) shape[n++] = st->units;
    shape[n++] = st->templates;
    return n;
}

/* The shared tensors: stem, and per stage its bank, transition and (with a
 * shared mixture) the one logits tensor. */
static void declare_shared(tpl_model *m, declarer *d) {
    const tpl_config *c = &m->cfg;
    m->stem_w = add_view(d, "stem.weight", TPL_KIND_CONV, -1, 4,
                         (int64_t[]){c->stage[0].width, c->in_channels, 3, 3});
    for (int s = 0; s < c->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        char name[TPL_VIEW_NAME];
        int64_t shape[TPL_VIEW_DIMS] = {st->templates};
        int nd = 1 + st->kind->template_shape(st, shape + 1);
        snprintf(name, sizeof name, "stage%d.templates", s);
        st->bank = add_view(d, name, TPL_KIND_TEMPLATE, -1, nd, shape);
        st->trans_w = -1;
        if (s > 0) {
            snprintf(name, sizeof name, "stage%d.transition.weight", s);
            st->trans_w = add_view(d, name, TPL_KIND_CONV, -1, 4,
                                   (int64_t[]){st->width, c->stage[s - 1].width, 3, 3});
        }
        if (c->shared_mixture) {
            snprintf(name, sizeof name, "stage%d.logits", s);
            int64_t shape[3];
            int v = add_view(d, name, TPL_KIND_LOGITS, -1, logits_shape(st, shape), shape);
            for (int t = 0; t < c->n_tasks; t++) m->task[t].stage[s].logits = v;
        }
    }
}

/* Task t's tensors, named "task.NAME.part" so a reader can tell at a glance
 * what a new task adds.  A shared head is declared once, by the first task,
 * as "head.*". */
static void declare_task(tpl_model *m, declarer *d, int t) {
    const tpl_config *c = &m->cfg;
    tpl_task_params *tp = &m->task[t];
    char pre[TPL_NAME_LEN + 8], name[TPL_VIEW_NAME];
    snprintf(pre, sizeof pre, "task.%s", c->task[t].name);
    snprintf(name, sizeof name, "%s.stem.bn", pre);
    tp->stem_bn = add_bn(d, name, t, 1, (int64_t[]){c->stage[0].width});
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        if (!c->shared_mixture) {
            snprintf(name, sizeof name, "%s.stage%d.logits", pre, s);
            int64_t shape[3];
            tp->stage[s].logits = add_view(d, name, TPL_KIND_LOGITS, t, logits_shape(st, shape),
                                           shape);
        }
        snprintf(name, sizeof name, "%s.stage%d.bn", pre, s);
        tp->stage[s].bn = add_bn_of(d, name, t, 3,
                                    (int64_t[]){st->layers, st->bn_per_block, st->width},
                                    st->kind->affine_at != NULL);
        if (s > 0) {
            snprintf(name, sizeof name, "%s.stage%d.transition.bn", pre, s);
            tp->stage[s].trans_bn = add_bn(d, name, t, 1, (int64_t[]){st->width});
        }
    }
    const int last = c->stage[c->n_stages - 1].width;
    snprintf(name, sizeof name, "%s.features.moments", pre);
    tp->moments = add_view(d, name, TPL_KIND_FEAT_MOMENTS, t, 2, (int64_t[]){2, last});
    if (c->shared_head && t > 0) {
        tp->head_w = m->task[0].head_w, tp->head_b = m->task[0].head_b;
        return;
    }
    const int owner = c->shared_head ? -1 : t;
    const char *at = c->shared_head ? "head" : pre;
    snprintf(name, sizeof name, c->shared_head ? "%s.weight" : "%s.head.weight", at);
    tp->head_w = add_view(d, name, TPL_KIND_HEAD_W, owner, 2,
                          (int64_t[]){c->task[t].classes, last});
    snprintf(name, sizeof name, c->shared_head ? "%s.bias" : "%s.head.bias", at);
    tp->head_b = add_view(d, name, TPL_KIND_HEAD_B, owner, 1, (int64_t[]){c->task[t].classes});
}

/* Every view of m, shared ones first, into d; the view indices land in m. */
static int declare_all(tpl_model *m, declarer *d) {
    declare_shared(m, d);
    for (int t = 0; t < m->cfg.n_tasks; t++) declare_task(m, d, t);
    return d->rc;
}

static int into_params(void *params, const char *name, tpl_kind kind, int task, int ndim,
                       const int64_t *shape) {
    return tpl_params_add(params, name, kind, task, ndim, shape);
}

int tpl_layout_declare(tpl_model *m) {
    declarer d = {into_params, &m->params, 0};
    return declare_all(m, &d) < 0 ? -1 : tpl_params_alloc(&m->params);
}

int tpl_layout_list(const tpl_config *cfg, tpl_view_fn fn, void *ctx) {
    tpl_model shell; /* geometry only: the indices it collects mean nothing */
    tpl_model_geometry(&shell, cfg);
    declarer d = {fn, ctx, 0};
    return declare_all(&shell, &d);
}

static void fill_normal(float *w, size_t n, float std, tpl_rng *rng) {
    for (size_t i = 0; i < n; i++) w[i] = std * tpl_rng_normal(rng);
}

static void fill_const(float *w, size_t n, float v) {
    for (size_t i = 0; i < n; i++) w[i] = v;
}

/* The fan-in of a conv view (stem, transition): its last three dimensions. */
static int conv_fan_in(const tpl_view *v) {
    return (int)(v->shape[v->ndim - 3] * v->shape[v->ndim - 2] * v->shape[v->ndim - 1]);
}

/* A bank, template after template, conv after conv, Kaiming-normal each;
 * BN scales and shifts mixed in the templates start as the task's would
 * (tpl_layout_init), the last BN's scale at 0. */
static void init_bank(const tpl_stage *st, float *w, tpl_rng *rng) {
    const tpl_block_kind *k = st->kind;
    const size_t convs_end = tpl_block_convs_end(st);
    const size_t rows = (size_t)st->bn_per_block * st->width;
    for (int t = 0; t < st->templates; t++) {
        float *tw = w + (size_t)t * st->per_template;
        for (int i = 0; i < k->convs; i++)
            fill_normal(tw + k->conv_offset(st, i), tpl_block_conv_floats(st, i),
                        sqrtf(2.0f / k->fan_in(st, i)), rng);
        if (!k->affine_at) continue;
        fill_const(tw + convs_end, rows - st->width, 1.0f);
        fill_const(tw + convs_end + rows - st->width, st->width, 0.0f);
        fill_const(tw + convs_end + rows, rows, 0.0f);
    }
}

static const tpl_stage *stage_of_bank(const tpl_model *m, int view) {
    for (int s = 0; s < m->cfg.n_stages; s++)
        if (m->stage[s].bank == view) return &m->stage[s];
    return NULL;
}

/* Kaiming-normal convs; BN scale 1 except the last BN of each block, which
 * starts at 0 so every block starts as the identity (faster, steadier
 * training of deep residual nets); uniform logits plus seeded noise so the
 * blocks can tell themselves apart; PyTorch-style uniform heads. */
void tpl_layout_init(tpl_model *m, uint64_t seed) {
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        float *w = tpl_params_data(p, i);
        switch (v->kind) {
        case TPL_KIND_TEMPLATE:
            init_bank(stage_of_bank(m, i), w, &rng);
            break;
        case TPL_KIND_CONV:
            fill_normal(w, v->numel, sqrtf(2.0f / conv_fan_in(v)), &rng);
            break;
        case TPL_KIND_LOGITS:
            fill_normal(w, v->numel, m->cfg.logit_noise, &rng);
            break;
        case TPL_KIND_BN_SCALE:
        case TPL_KIND_BN_VAR:
            fill_const(w, v->numel, 1.0f);
            break;
        case TPL_KIND_HEAD_W: {
            float bound = 1.0f / sqrtf((float)v->shape[1]);
            for (size_t j = 0; j < v->numel; j++)
                w[j] = bound * (2.0f * tpl_rng_uniform(&rng) - 1.0f);
            break;
        }
        default: /* shifts, biases, running means */
            fill_const(w, v->numel, 0.0f);
        }
    }
    for (int s = 0; s < m->cfg.n_stages; s++)
        for (int t = 0; t < m->cfg.n_tasks; t++) {
            const tpl_stage *st = &m->stage[s];
            if (m->task[t].stage[s].bn.scale < 0) continue; /* in the templates */
            float *g = tpl_params_data(p, m->task[t].stage[s].bn.scale);
            for (int l = 0; l < st->layers; l++)
                fill_const(g + ((size_t)l * st->bn_per_block + st->bn_per_block - 1) * st->width,
                           st->width, 0.0f);
        }
}
