/* Template-bank residual network: layout of parameters, initialisation,
 * forward and backward.  See model.h for the architecture. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mix.h"
#include "route.h"
#include "ops.h"
#include "rng.h"
#include "winograd.h"

#define BN_MOMENTUM 0.1f

/* Activations kept for the backward of one training batch. */
typedef struct tpl_workspace {
    int cap;          /* batch capacity the buffers were sized for */
    int n;            /* batch of the last forward */
    int training;
    float *arena;     /* every saved activation, one allocation */
    float *stem_c, *stem_h, *stem_stats;      /* stats: mean[C], invstd[C] */
    float *trans_c[TPL_MAX_STAGES], *trans_h[TPL_MAX_STAGES], *trans_stats[TPL_MAX_STAGES];
    float **blk;      /* training: per block c1, a1, c2, out, stats1, stats2, then
                       * for outputs aggregation c1, a1, c2, stats1 of every expert */
    int bstride;      /* pointers a block takes in blk */
    float *ring[5];   /* eval: activations reused block after block */
    float *pool, *logits;
    float *g[4];      /* gradient buffers, largest activation each */
    float *dw;        /* weight-gradient scratch, largest conv */
    float *dpool;
    float *wino;      /* small-batch eval: winograd scratch (its own allocation) */
    size_t wino_cap;  /* floats */
    const float *x;   /* input of the last training forward */
} tpl_workspace;

/* A residual branch's saved activations: conv1 output, after BN + ReLU,
 * conv2 output, BN1 statistics.  A block's pointers start with its branch's
 * (under outputs aggregation E_C2 there holds the experts' sum instead, and
 * every expert's branch follows B_COUNT). */
enum { E_C1, E_A1, E_C2, E_S1, E_COUNT };
enum { B_OUT = E_COUNT, B_S2, B_COUNT };

static int outputs_mode(const tpl_model *m) { return m->cfg.aggregate == TPL_AGG_OUTPUTS; }

/* Offsets into a stage's BN view [L][bn_per_block][C]: the first BN of
 * block l (of expert k under outputs aggregation) and the one on the sum. */
static size_t bn1_at(const tpl_stage *st, int l, int k) {
    return ((size_t)l * st->bn_per_block + k) * st->width;
}
static size_t bn2_at(const tpl_stage *st, int l) {
    return ((size_t)l * st->bn_per_block + st->bn_per_block - 1) * st->width;
}

/* ---- parameter layout ------------------------------------------------- */

static int add_view(tpl_model *m, const char *name, tpl_kind kind, int task,
                    int ndim, const int64_t *shape, int *ok) {
    int v = tpl_params_add(&m->params, name, kind, task, ndim, shape);
    if (v < 0) *ok = 0;
    return v;
}

static tpl_bn_views add_bn(tpl_model *m, const char *prefix, int task, int ndim,
                           const int64_t *shape, int *ok) {
    char name[TPL_VIEW_NAME];
    tpl_bn_views b;
    snprintf(name, sizeof name, "%s.weight", prefix);
    b.scale = add_view(m, name, TPL_KIND_BN_SCALE, task, ndim, shape, ok);
    snprintf(name, sizeof name, "%s.bias", prefix);
    b.shift = add_view(m, name, TPL_KIND_BN_SHIFT, task, ndim, shape, ok);
    snprintf(name, sizeof name, "%s.running_mean", prefix);
    b.mean = add_view(m, name, TPL_KIND_BN_MEAN, task, ndim, shape, ok);
    snprintf(name, sizeof name, "%s.running_var", prefix);
    b.var = add_view(m, name, TPL_KIND_BN_VAR, task, ndim, shape, ok);
    return b;
}

/* Names follow "shared part" / "task.NAME.part" so a reader can tell at a
 * glance what a new task adds. */
static int declare_params(tpl_model *m) {
    const tpl_config *c = &m->cfg;
    int ok = 1;
    int c0 = c->stage[0].width;
    m->stem_w = add_view(m, "stem.weight", TPL_KIND_CONV, -1, 4,
                         (int64_t[]){c0, c->in_channels, 3, 3}, &ok);
    for (int s = 0; s < c->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        char name[TPL_VIEW_NAME];
        int64_t C = st->width;
        snprintf(name, sizeof name, "stage%d.templates", s);
        st->bank = add_view(m, name, TPL_KIND_TEMPLATE, -1, 6,
                            (int64_t[]){st->templates, 2, C, C, 3, 3}, &ok);
        st->trans_w = -1;
        if (s > 0) {
            snprintf(name, sizeof name, "stage%d.transition.weight", s);
            st->trans_w = add_view(m, name, TPL_KIND_CONV, -1, 4,
                                   (int64_t[]){C, c->stage[s - 1].width, 3, 3}, &ok);
        }
        if (c->shared_mixture) {
            snprintf(name, sizeof name, "stage%d.logits", s);
            st->logits[0] = add_view(m, name, TPL_KIND_LOGITS, -1, 2,
                                     (int64_t[]){st->layers, st->templates}, &ok);
            for (int t = 1; t < c->n_tasks; t++) st->logits[t] = st->logits[0];
        }
    }
    for (int t = 0; t < c->n_tasks; t++) {
        char pre[TPL_NAME_LEN + 8], name[TPL_VIEW_NAME];
        snprintf(pre, sizeof pre, "task.%s", c->task[t].name);
        snprintf(name, sizeof name, "%s.stem.bn", pre);
        m->stem_bn[t] = add_bn(m, name, t, 1, (int64_t[]){c0}, &ok);
        for (int s = 0; s < c->n_stages; s++) {
            tpl_stage *st = &m->stage[s];
            snprintf(name, sizeof name, "%s.stage%d.logits", pre, s);
            if (!c->shared_mixture)
                st->logits[t] = add_view(m, name, TPL_KIND_LOGITS, t, 2,
                                         (int64_t[]){st->layers, st->templates}, &ok);
            snprintf(name, sizeof name, "%s.stage%d.bn", pre, s);
            st->bn[t] = add_bn(m, name, t, 3, (int64_t[]){st->layers, st->bn_per_block, st->width}, &ok);
            if (s > 0) {
                snprintf(name, sizeof name, "%s.stage%d.transition.bn", pre, s);
                st->trans_bn[t] = add_bn(m, name, t, 1, (int64_t[]){st->width}, &ok);
            }
        }
        /* a shared head is declared once, by the first task, as "head.*" */
        int owner = c->shared_head ? -1 : t;
        if (c->shared_head && t > 0) {
            m->head_w[t] = m->head_w[0], m->head_b[t] = m->head_b[0];
            continue;
        }
        int last = c->stage[c->n_stages - 1].width;
        snprintf(name, sizeof name, "%s.head.weight", c->shared_head ? "" : pre);
        m->head_w[t] = add_view(m, name + c->shared_head, TPL_KIND_HEAD_W, owner, 2,
                                (int64_t[]){c->task[t].classes, last}, &ok);
        snprintf(name, sizeof name, "%s.head.bias", c->shared_head ? "" : pre);
        m->head_b[t] = add_view(m, name + c->shared_head, TPL_KIND_HEAD_B, owner, 1,
                                (int64_t[]){c->task[t].classes}, &ok);
    }
    return ok ? tpl_params_alloc(&m->params) : -1;
}

/* ---- initialisation --------------------------------------------------- */

static void fill_normal(float *w, size_t n, float std, tpl_rng *rng) {
    for (size_t i = 0; i < n; i++) w[i] = std * tpl_rng_normal(rng);
}

static void fill_const(float *w, size_t n, float v) {
    for (size_t i = 0; i < n; i++) w[i] = v;
}

/* Kaiming-normal convs; BN scale 1 except the last BN of each block, which
 * starts at 0 so every block starts as the identity (faster, steadier
 * training of deep residual nets); uniform logits plus seeded noise so the
 * blocks can tell themselves apart; PyTorch-style uniform heads. */
static void init_params(tpl_model *m, uint64_t seed) {
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        float *w = tpl_params_data(p, i);
        switch (v->kind) {
        case TPL_KIND_TEMPLATE:
        case TPL_KIND_CONV: {
            int fan_in = (int)(v->shape[v->ndim - 3] * v->shape[v->ndim - 2] * v->shape[v->ndim - 1]);
            fill_normal(w, v->numel, sqrtf(2.0f / fan_in), &rng);
            break;
        }
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
    /* zero-init the scale of the BN before each block's sum */
    for (int s = 0; s < m->cfg.n_stages; s++)
        for (int t = 0; t < m->cfg.n_tasks; t++) {
            tpl_stage *st = &m->stage[s];
            float *g = tpl_params_data(p, st->bn[t].scale);
            for (int l = 0; l < st->layers; l++) fill_const(g + bn2_at(st, l), st->width, 0.0f);
        }
}

/* ---- construction ----------------------------------------------------- */

static int act_block(int c) { return c % 16 == 0 ? 16 : c; }

/* Images come planar (NCHW, channel block 1), the layout oneDNN's
 * first-layer kernels take: with NHWC and few channels it falls back to a
 * reference kernel, ten times slower for RGB. */
#define IMAGE_BLOCK 1

static int make_plans(tpl_model *m) {
    const tpl_config *c = &m->cfg;
    int h = (c->in_height + 2 - 3) / c->stem_stride + 1;
    int w = (c->in_width + 2 - 3) / c->stem_stride + 1;
    int c0 = c->stage[0].width;
    m->stem_plan = tpl_conv_plan_create(m->engine, c->in_channels, c0, 3, c->stem_stride,
                                        c->in_height, c->in_width, IMAGE_BLOCK,
                                        act_block(c0));
    if (!m->stem_plan) return -1;
    size_t mixed = 0, mix = 0;
    for (int s = 0; s < c->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (s > 0) {
            int pc = c->stage[s - 1].width;
            st->trans_plan = tpl_conv_plan_create(m->engine, pc, st->width, 3, 2, h, w,
                                                  act_block(pc), act_block(st->width));
            if (!st->trans_plan) return -1;
            h = (h + 2 - 3) / 2 + 1;
            w = (w + 2 - 3) / 2 + 1;
        }
        st->h = h;
        st->w = w;
        int b = act_block(st->width);
        st->plan = tpl_conv_plan_create(m->engine, st->width, st->width, 3, 1, h, w, b, b);
        st->n_slots = 2 * (outputs_mode(m) ? st->templates : st->layers);
        st->slots = calloc((size_t)st->n_slots, sizeof *st->slots);
        if (!st->plan || !st->slots) return -1;
        st->mixed_offset = mixed;
        st->mix_offset = mix;
        if (!outputs_mode(m)) mixed += (size_t)st->layers * st->per_template;
        mix += (size_t)st->layers * st->templates;
    }
    m->mixed_numel = mixed;
    m->mix_numel = mix;
    m->mixed = malloc(sizeof(float) * (mixed ? mixed : 1));
    m->mix = malloc(sizeof(float) * mix);
    m->soft = malloc(sizeof(float) * mix);
    m->ws = calloc(1, sizeof *m->ws);
    return m->mixed && m->mix && m->soft && m->ws ? 0 : -1;
}

tpl_model *tpl_model_create(const tpl_config *cfg, uint64_t seed, tpl_err *err) {
    if (tpl_config_check(cfg, err)) return NULL;
    tpl_model *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->cfg = *cfg;
    m->mixed_task = -1;
    m->bn_momentum = BN_MOMENTUM;
    m->winograd = tpl_wino_fast() && getenv("TEMPLAR_NO_WINOGRAD") == NULL;
    for (int s = 0; s < cfg->n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        st->width = cfg->stage[s].width;
        st->layers = cfg->stage[s].layers;
        st->templates = cfg->stage[s].templates;
        st->per_template = (size_t)2 * st->width * st->width * 9;
        st->bn_per_block = outputs_mode(m) ? st->templates + 1 : 2;
    }
    m->engine = tpl_engine_create(err);
    if (!m->engine) {
        tpl_model_free(m);
        return NULL;
    }
    if (declare_params(m) || make_plans(m)) goto oom;
    for (int i = 0; i < m->params.n_views; i++)
        if (!tpl_route_learned(cfg->routing) && m->params.views[i].kind == TPL_KIND_LOGITS)
            m->params.views[i].trainable = 0;
    init_params(m, seed);
    tpl_rng_seed(&m->noise_rng, seed ^ 0x9e3779b97f4a7c15ull);
    return m;
oom:
    tpl_err_set(err, "out of memory creating the model");
    tpl_model_free(m);
    return NULL;
}

static void ws_free(tpl_workspace *ws) {
    if (!ws) return;
    free(ws->arena);
    free(ws->blk);
    free(ws->wino);
    free(ws);
}

void tpl_model_free(tpl_model *m) {
    if (!m) return;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (st->slots)
            for (int i = 0; i < st->n_slots; i++) tpl_conv_slot_free(&st->slots[i]);
        free(st->slots);
        tpl_conv_slot_free(&st->trans_slot);
        free(st->wino_u);
        tpl_conv_plan_free(st->plan);
        tpl_conv_plan_free(st->trans_plan);
    }
    tpl_conv_slot_free(&m->stem_slot);
    tpl_conv_plan_free(m->stem_plan);
    tpl_engine_free(m->engine);
    ws_free(m->ws);
    free(m->mixed);
    free(m->mix);
    free(m->soft);
    tpl_params_free(&m->params);
    free(m);
}

/* ---- workspace -------------------------------------------------------- */

static size_t stage_act(const tpl_model *m, int s, int n) {
    return (size_t)n * m->stage[s].width * m->stage[s].h * m->stage[s].w;
}

/* Carves the arena: a first pass with base NULL counts, the second assigns. */
static size_t ws_layout(tpl_model *m, tpl_workspace *ws, float *base, int n, int training) {
    size_t off = 0, biggest = 0, biggest_w = 0;
#define TAKE(ptr, count)                            \
    do {                                            \
        size_t cnt_ = ((count) + 15) / 16 * 16;     \
        if (base) (ptr) = base + off;               \
        off += cnt_;                                \
    } while (0)
    const tpl_config *c = &m->cfg;
    int blk = 0;
    size_t a0 = stage_act(m, 0, n);
    TAKE(ws->stem_c, a0);
    TAKE(ws->stem_h, a0);
    TAKE(ws->stem_stats, 2 * (size_t)c->stage[0].width);
    biggest = a0;
    biggest_w = (size_t)c->stage[0].width * c->in_channels * 9;
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        size_t a = stage_act(m, s, n);
        if (a > biggest) biggest = a;
        /* a block's weight pair (a transition conv's weights are fewer) */
        if (st->per_template > biggest_w) biggest_w = st->per_template;
        if (s > 0) {
            TAKE(ws->trans_c[s], a);
            TAKE(ws->trans_h[s], a);
            TAKE(ws->trans_stats[s], 2 * (size_t)st->width);
        }
        if (!training) continue;
        for (int l = 0; l < st->layers; l++, blk++) {
            float **b = ws->blk + (size_t)blk * ws->bstride;
            if (!outputs_mode(m)) { /* mixing outputs keeps these per expert, below */
                TAKE(b[E_C1], a);
                TAKE(b[E_A1], a);
                TAKE(b[E_S1], 2 * (size_t)st->width);
            }
            TAKE(b[E_C2], a);
            TAKE(b[B_OUT], a);
            TAKE(b[B_S2], 2 * (size_t)st->width);
            for (int k = 0; outputs_mode(m) && k < st->templates; k++) {
                float **e = b + B_COUNT + E_COUNT * k;
                for (int i = E_C1; i <= E_C2; i++) TAKE(e[i], a);
                TAKE(e[E_S1], 2 * (size_t)st->width);
            }
        }
    }
    if (!training)
        for (int i = 0; i < (outputs_mode(m) ? 5 : 3); i++) TAKE(ws->ring[i], biggest);
    int last = c->stage[c->n_stages - 1].width, classes = 0;
    for (int t = 0; t < c->n_tasks; t++)
        if (c->task[t].classes > classes) classes = c->task[t].classes;
    TAKE(ws->pool, (size_t)n * last);
    TAKE(ws->logits, (size_t)n * classes);
    if (training) {
        for (int i = 0; i < 4; i++) TAKE(ws->g[i], biggest);
        TAKE(ws->dw, biggest_w);
        TAKE(ws->dpool, (size_t)n * last);
    }
#undef TAKE
    return off;
}

static int ws_prepare(tpl_model *m, int n, int training, tpl_err *err) {
    tpl_workspace *ws = m->ws;
    if (!ws->blk) {
        int blocks = 0, experts = 0;
        for (int s = 0; s < m->cfg.n_stages; s++) {
            blocks += m->stage[s].layers;
            if (outputs_mode(m) && m->stage[s].templates > experts) experts = m->stage[s].templates;
        }
        ws->bstride = B_COUNT + E_COUNT * experts;
        ws->blk = calloc((size_t)blocks * ws->bstride, sizeof(float *));
        if (!ws->blk) goto oom;
    }
    if (ws->cap < n || ws->training != training) {
        free(ws->arena);
        size_t need = ws_layout(m, ws, NULL, n, training);
        ws->arena = aligned_alloc(64, need * sizeof(float));
        if (!ws->arena) {
            ws->cap = 0;
            goto oom;
        }
        ws_layout(m, ws, ws->arena, n, training);
        ws->cap = n;
        ws->training = training;
    }
    ws->n = n;
    if (tpl_conv_plan_prepare(m->stem_plan, n, training, err)) return -1;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        if (tpl_conv_plan_prepare(m->stage[s].plan, n, training, err)) return -1;
        if (s > 0 && tpl_conv_plan_prepare(m->stage[s].trans_plan, n, training, err))
            return -1;
    }
    return 0;
oom:
    tpl_err_set(err, "out of memory: activations for a batch of %d", n);
    return -1;
}

/* ---- mixing ----------------------------------------------------------- */

tpl_route tpl_model_route(const tpl_model *m) {
    return (tpl_route){.kind = m->cfg.routing, .tau = m->cfg.tau, .topk = m->cfg.topk};
}

/* Routes stage s of task t into a and soft ([L][K] each); noisy: with fresh
 * Gumbel noise (training under Gumbel routing). */
static void route_stage(tpl_model *m, int task, int s, int noisy, float *a, float *soft) {
    const tpl_stage *st = &m->stage[s];
    const tpl_route r = tpl_model_route(m);
    const int k = st->templates;
    const float *z = tpl_params_data(&m->params, st->logits[task]);
    for (int l = 0; l < st->layers; l++) {
        float g[k];
        for (int i = 0; noisy && i < k; i++) /* Gumbel(0, 1) */
            g[i] = -logf(-logf(fmaxf(tpl_rng_uniform(&m->noise_rng), 1e-12f)) + 1e-20f);
        tpl_route_forward(&r, k, l, z + (size_t)l * k, noisy ? g : NULL, a + (size_t)l * k,
                          soft + (size_t)l * k);
    }
}

void tpl_model_mixture(tpl_model *m, int task, int s, float *a) {
    const tpl_stage *st = &m->stage[s];
    float soft[st->layers * st->templates];
    route_stage(m, task, s, 0, a, soft);
}

/* Mixes every block's weights for task t, once per parameter version (and
 * anew for every training forward under Gumbel routing: new noise). */
static void mix_weights(tpl_model *m, int task, int training) {
    const int noisy = training && m->cfg.routing == TPL_ROUTE_GUMBEL;
    if (m->mixed_task == task && m->mixed_version == m->version && !noisy && !m->mixed_noisy)
        return;
    m->mixed_noisy = noisy;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        float *a = m->mix + st->mix_offset;
        route_stage(m, task, s, noisy, a, m->soft + st->mix_offset);
        const float *bank = tpl_params_data(&m->params, st->bank);
        for (int l = 0; !outputs_mode(m) && l < st->layers; l++)
            tpl_mix_forward(st->templates, st->per_template, bank,
                            a + (size_t)l * st->templates,
                            m->mixed + st->mixed_offset + (size_t)l * st->per_template);
    }
    m->mixed_task = task;
    m->mixed_version = m->version;
}

const float *tpl_model_block_weights(tpl_model *m, int task, int s, int l) {
    mix_weights(m, task, 0);
    const tpl_stage *st = &m->stage[s];
    return m->mixed + st->mixed_offset + (size_t)l * st->per_template;
}

/* ---- forward ---------------------------------------------------------- */

static tpl_bn_args bn_args(const tpl_model *m, tpl_bn_views v, size_t at,
                           tpl_shape shape, int relu, const float *skip) {
    const tpl_params *p = &m->params;
    return (tpl_bn_args){.shape = shape,
                         .gamma = tpl_params_data(p, v.scale) + at,
                         .beta = tpl_params_data(p, v.shift) + at,
                         .running_mean = tpl_params_data(p, v.mean) + at,
                         .running_var = tpl_params_data(p, v.var) + at,
                         .momentum = m->bn_momentum, .eps = TPL_BN_EPS,
                         .relu = relu, .skip = skip};
}

static void bn_forward(const tpl_bn_args *a, int training, const float *x,
                       float *out, float *stats) {
    if (training)
        tpl_bn_forward_train(a, x, out, stats, stats + a->shape.c);
    else
        tpl_bn_forward_eval(a, x, out);
}

/* conv -> BN -> ReLU: the stem and the stage transitions. */
static int conv_bn_relu(tpl_model *m, tpl_conv_plan *plan, tpl_conv_slot *slot,
                        const float *w, tpl_bn_views bn, int training,
                        const float *x, float *c, float *h, float *stats, tpl_err *err) {
    if (tpl_conv_set_weights(plan, slot, w, m->version, err)) return -1;
    tpl_conv_forward(plan, slot, x, c);
    tpl_bn_args a = bn_args(m, bn, 0, tpl_conv_out_shape(plan), 1, NULL);
    bn_forward(&a, training, c, h, stats);
    return 0;
}

/* The residual branch conv -> BN -> ReLU -> conv of the weight pair in
 * slot[0..1], its BN at offset `at` of the stage's view: x[E_C1], x[E_A1] and
 * x[E_S1] keep what the backward needs, x[E_C2] gets the result. */
static void branch_forward(tpl_model *m, int task, int s, size_t at, tpl_conv_slot *slot,
                           int training, const float *h, float **x) {
    tpl_stage *st = &m->stage[s];
    tpl_conv_forward(st->plan, slot, h, x[E_C1]);
    tpl_bn_args a1 = bn_args(m, st->bn[task], at, tpl_conv_out_shape(st->plan), 1, NULL);
    bn_forward(&a1, training, x[E_C1], x[E_A1], x[E_S1]);
    tpl_conv_forward(st->plan, slot + 1, x[E_A1], x[E_C2]);
}

/* Small-batch eval runs a block's convs as winograd.c's F(4x4, 3x3), which
 * beats oneDNN's direct kernels at batches where oneDNN's own winograd does
 * not take over yet (conv.h). */
static int use_winograd(const tpl_model *m, const tpl_stage *st, int n, int training) {
    return m->winograd && !training && n < TPL_CONV_WINOGRAD_MIN_BATCH &&
           !outputs_mode(m) && st->width % TPL_WINO_CHANNEL_BLOCK == 0;
}

/* Transforms stage s's mixed weights (version gen) for winograd.c. */
static int wino_weights(tpl_model *m, tpl_stage *st, unsigned long gen, tpl_err *err) {
    const size_t count = tpl_wino_weight_count(st->width, st->width);
    if (st->wino_gen == gen + 1) return 0;
    if (!st->wino_u) st->wino_u = aligned_alloc(64, sizeof(float) * count * 2 * st->layers);
    if (!st->wino_u) {
        tpl_err_set(err, "out of memory: winograd weights");
        return -1;
    }
    const float *w = m->mixed + st->mixed_offset;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < 2 * st->layers; i++)
        tpl_wino_weights(st->width, st->width, w + (size_t)i * st->per_template / 2,
                         st->wino_u + (size_t)i * count);
    st->wino_gen = gen + 1;
    return 0;
}

/* The eval block h -> conv -> BN -> ReLU -> conv -> BN -> + h -> ReLU with
 * every BN, skip and ReLU fused into the convs' output transforms. */
static int block_forward_winograd(tpl_model *m, int task, int s, int l, unsigned long gen,
                                  const float *h, float **b, tpl_err *err) {
    tpl_stage *st = &m->stage[s];
    tpl_workspace *ws = m->ws;
    const tpl_shape shape = tpl_conv_out_shape(st->plan);
    const size_t need = tpl_wino_scratch_count(shape, st->width);
    const size_t count = tpl_wino_weight_count(st->width, st->width); /* one conv's */
    if (wino_weights(m, st, gen, err)) return -1;
    if (ws->wino_cap < need) {
        free(ws->wino);
        ws->wino = aligned_alloc(64, sizeof(float) * need);
        ws->wino_cap = ws->wino ? need : 0;
        if (!ws->wino) {
            tpl_err_set(err, "out of memory: winograd scratch");
            return -1;
        }
    }
    const float *u = st->wino_u + 2 * (size_t)l * count;
    tpl_bn_args a1 = bn_args(m, st->bn[task], bn1_at(st, l, 0), shape, 1, NULL);
    tpl_bn_args a2 = bn_args(m, st->bn[task], bn2_at(st, l), shape, 1, h);
    /* c1 and out are different ring slots (a1 is out's, so not a1) */
    tpl_wino_forward(shape, u, &a1, h, b[E_C1], ws->wino);
    tpl_wino_forward(shape, u + count, &a2, b[E_C1], b[B_OUT], ws->wino);
    return 0;
}

static int block_forward(tpl_model *m, int task, int s, int l, int training,
                         const float *h, float **b, tpl_err *err) {
    tpl_stage *st = &m->stage[s];
    const float *w = m->mixed + st->mixed_offset + (size_t)l * st->per_template;
    const size_t half = st->per_template / 2;
    tpl_conv_slot *slot = st->slots + 2 * l;
    const unsigned long gen = m->mixed_version * TPL_MAX_TASKS + (unsigned long)task;
    tpl_shape shape = tpl_conv_out_shape(st->plan);
    if (use_winograd(m, st, shape.n, training))
        return block_forward_winograd(m, task, s, l, gen, h, b, err);
    if (tpl_conv_set_weights(st->plan, slot, w, gen, err) ||
        tpl_conv_set_weights(st->plan, slot + 1, w + half, gen, err))
        return -1;
    branch_forward(m, task, s, bn1_at(st, l, 0), slot, training, h, b);
    tpl_bn_args a2 = bn_args(m, st->bn[task], bn2_at(st, l), shape, 1, h);
    bn_forward(&a2, training, b[E_C2], b[B_OUT], b[B_S2]);
    return 0;
}

/* Outputs aggregation: every template with a_k != 0 runs its own branch
 * conv -> BN_k -> ReLU -> conv; the sum of a_k * branch_k goes through the
 * block's last BN, the skip and the ReLU. */
static int block_forward_outputs(tpl_model *m, int task, int s, int l, int training,
                                 const float *h, float **b, tpl_err *err) {
    tpl_stage *st = &m->stage[s];
    const int K = st->templates;
    const float *a = m->mix + st->mix_offset + (size_t)l * K;
    const float *bank = tpl_params_data(&m->params, st->bank);
    const size_t half = st->per_template / 2;
    const tpl_shape shape = tpl_conv_out_shape(st->plan);
    const size_t numel = tpl_shape_numel(shape);
    float *sum = b[E_C2];
    memset(sum, 0, sizeof(float) * numel);
    for (int k = 0; k < K; k++) {
        if (a[k] == 0.0f) continue; /* top-k routing: not run */
        float **x = b + B_COUNT + (training ? E_COUNT * k : 0); /* eval: one expert's buffers */
        tpl_conv_slot *slot = st->slots + 2 * k;
        if (tpl_conv_set_weights(st->plan, slot, bank + k * st->per_template, m->version, err) ||
            tpl_conv_set_weights(st->plan, slot + 1, bank + k * st->per_template + half,
                                 m->version, err))
            return -1;
        branch_forward(m, task, s, bn1_at(st, l, k), slot, training, h, x);
        for (size_t i = 0; i < numel; i++) sum[i] += a[k] * x[E_C2][i];
    }
    tpl_bn_args a2 = bn_args(m, st->bn[task], bn2_at(st, l), shape, 1, h);
    bn_forward(&a2, training, sum, b[B_OUT], b[B_S2]);
    return 0;
}

/* Eval keeps no activations, only a ring of buffers each block reuses
 * (each dead when overwritten).  Sets the buffers of the next block from
 * ring slot hr (its input; -1: the input lies outside the ring); returns the
 * slot of its output.  Mixing parameters needs 2 slots besides the input
 * (c1 = c2, a1 = out); mixing outputs 4 (an expert's c1 = out, a1 and c2 at
 * expert 0's place in b, the sum). */
static int ring_buffers(tpl_workspace *ws, int hr, int outputs, float **b) {
    const int n = outputs ? 5 : 3, base = hr < 0 ? n - 1 : hr;
    float *x = ws->ring[(base + 1) % n], *y = ws->ring[(base + 2) % n];
    b[E_S1] = b[B_S2] = NULL;
    if (!outputs) {
        b[E_C1] = b[E_C2] = x;
        b[E_A1] = b[B_OUT] = y;
        return (base + 2) % n;
    }
    float **e = b + B_COUNT;
    e[E_C1] = b[B_OUT] = x;
    e[E_A1] = y;
    e[E_C2] = ws->ring[(base + 3) % n];
    e[E_S1] = NULL;
    b[E_C2] = ws->ring[(base + 4) % n]; /* the sum */
    return (base + 1) % n;
}

int tpl_model_forward(tpl_model *m, int task, const float *x, int n,
                      int training, float *logits, tpl_err *err) {
    if (task < 0 || task >= m->cfg.n_tasks || n <= 0) {
        tpl_err_set(err, "forward: bad task %d or batch %d", task, n);
        return -1;
    }
    if (ws_prepare(m, n, training, err)) return -1;
    tpl_workspace *ws = m->ws;
    const tpl_params *p = &m->params;
    mix_weights(m, task, training);
    ws->x = x;
    if (conv_bn_relu(m, m->stem_plan, &m->stem_slot, tpl_params_data(p, m->stem_w),
                     m->stem_bn[task], training, x, ws->stem_c, ws->stem_h,
                     ws->stem_stats, err))
        return -1;
    const float *h = ws->stem_h;
    int blk = 0, hr = -1;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (s > 0) {
            if (conv_bn_relu(m, st->trans_plan, &st->trans_slot,
                             tpl_params_data(p, st->trans_w), st->trans_bn[task],
                             training, h, ws->trans_c[s], ws->trans_h[s],
                             ws->trans_stats[s], err))
                return -1;
            h = ws->trans_h[s];
            hr = -1;
        }
        for (int l = 0; l < st->layers; l++, blk++) {
            float *ring[B_COUNT + E_COUNT];
            float **b = training ? ws->blk + (size_t)blk * ws->bstride : ring;
            if (!training) hr = ring_buffers(ws, hr, outputs_mode(m), ring);
            if ((outputs_mode(m) ? block_forward_outputs : block_forward)(m, task, s, l, training,
                                                                          h, b, err))
                return -1;
            h = b[B_OUT];
        }
    }
    const tpl_stage *last = &m->stage[m->cfg.n_stages - 1];
    tpl_avgpool_forward(tpl_conv_out_shape(last->plan), h, ws->pool);
    tpl_linear_forward(n, last->width, m->cfg.task[task].classes, ws->pool,
                       tpl_params_data(p, m->head_w[task]),
                       tpl_params_data(p, m->head_b[task]), logits);
    return 0;
}

const float *tpl_model_features(const tpl_model *m) { return m->ws ? m->ws->pool : NULL; }

/* ---- backward --------------------------------------------------------- */

static void add_into(float *dst, const float *src, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

static void bn_backward(tpl_model *m, const tpl_bn_args *a, const float *x,
                        const float *out, const float *dout, const float *stats,
                        tpl_bn_views v, size_t at, float *dx, float *dskip) {
    const tpl_params *p = &m->params;
    tpl_bn_backward(a, x, out, dout, stats, stats + a->shape.c, dx,
                    tpl_params_grad(p, v.scale) + at, tpl_params_grad(p, v.shift) + at, dskip);
}

/* Backward of branch_forward from dc2 = dL/d(x[E_C2]): the weight pair's
 * gradient into dw (conv1's, then conv2's), dL/dh into dh (which may be dc2);
 * scratch holds the gradient between the convs. */
static void branch_backward(tpl_model *m, int task, int s, size_t at, tpl_conv_slot *slot,
                            const float *h, float **x, float *dc2, float *scratch, float *dw,
                            float *dh) {
    tpl_stage *st = &m->stage[s];
    tpl_conv_backward_weights(st->plan, x[E_A1], dc2, dw + st->per_template / 2);
    tpl_conv_backward_data(st->plan, slot + 1, dc2, scratch);
    tpl_bn_args a1 = bn_args(m, st->bn[task], at, tpl_conv_out_shape(st->plan), 1, NULL);
    bn_backward(m, &a1, x[E_C1], x[E_A1], scratch, x[E_S1], st->bn[task], at, scratch, NULL);
    tpl_conv_backward_weights(st->plan, h, scratch, dw);
    tpl_conv_backward_data(st->plan, slot, scratch, dh);
}

/* Gradient of a block: g[0] holds dL/d(out) on entry and dL/d(h) on exit. */
static void block_backward(tpl_model *m, int task, int s, int l, const float *h,
                           float **b, float *dmixed) {
    tpl_workspace *ws = m->ws;
    tpl_stage *st = &m->stage[s];
    tpl_shape shape = tpl_conv_out_shape(st->plan);
    float *g0 = ws->g[0], *g1 = ws->g[1], *g2 = ws->g[2];
    tpl_bn_args a2 = bn_args(m, st->bn[task], bn2_at(st, l), shape, 1, h);
    bn_backward(m, &a2, b[E_C2], b[B_OUT], g0, b[B_S2], st->bn[task], bn2_at(st, l), g1, g0);
    branch_backward(m, task, s, bn1_at(st, l, 0), st->slots + 2 * l, h, b, g1, g2, dmixed, g1);
    add_into(g0, g1, tpl_shape_numel(shape));
}

/* Backward of block_forward_outputs: the gradients of every run expert's
 * templates go straight into the bank; da_k = <branch_k, dsum> goes through
 * the routing into the logits. */
static void block_backward_outputs(tpl_model *m, int task, int s, int l, const float *h,
                                   float **b) {
    tpl_workspace *ws = m->ws;
    tpl_stage *st = &m->stage[s];
    const tpl_params *p = &m->params;
    const int K = st->templates;
    const tpl_shape shape = tpl_conv_out_shape(st->plan);
    const size_t numel = tpl_shape_numel(shape);
    const float *a = m->mix + st->mix_offset + (size_t)l * K;
    float *g0 = ws->g[0], *g1 = ws->g[1], *g2 = ws->g[2], *g3 = ws->g[3];
    float *dbank = tpl_params_grad(p, st->bank), da[K], dz[K];
    tpl_bn_args a2 = bn_args(m, st->bn[task], bn2_at(st, l), shape, 1, h);
    bn_backward(m, &a2, b[E_C2], b[B_OUT], g0, b[B_S2], st->bn[task], bn2_at(st, l), g1, g0);
    for (int k = 0; k < K; k++) {
        da[k] = 0.0f;
        if (a[k] == 0.0f) continue;
        float **x = b + B_COUNT + E_COUNT * k;
        /* the sum is a one-template mix of the branch: dbranch = a_k dsum,
         * da_k = <branch, dsum>, by the bank's own kernel */
        memset(g2, 0, sizeof(float) * numel);
        tpl_mix_backward(1, numel, x[E_C2], &a[k], g1, g2, &da[k]);
        branch_backward(m, task, s, bn1_at(st, l, k), st->slots + 2 * k, h, x, g2, g3, ws->dw,
                        g2);
        add_into(dbank + (size_t)k * st->per_template, ws->dw, st->per_template);
        add_into(g0, g2, numel);
    }
    const tpl_route r = tpl_model_route(m);
    tpl_route_backward(&r, K, m->soft + st->mix_offset + (size_t)l * K, da, dz);
    float *gz = tpl_params_grad(p, st->logits[task]) + (size_t)l * K;
    for (int i = 0; i < K; i++) gz[i] += dz[i];
}

/* Sends a block's weight gradient to the templates and the logits. */
static void mix_backward(tpl_model *m, int task, int s, int l, const float *dmixed) {
    tpl_stage *st = &m->stage[s];
    const tpl_params *p = &m->params;
    const int k = st->templates;
    const float *a = m->mix + st->mix_offset + (size_t)l * k;
    const float *soft = m->soft + st->mix_offset + (size_t)l * k;
    const tpl_route r = tpl_model_route(m);
    float da[k], dz[k];
    tpl_mix_backward(k, st->per_template, tpl_params_data(p, st->bank), a, dmixed,
                     tpl_params_grad(p, st->bank), da);
    tpl_route_backward(&r, k, soft, da, dz);
    float *gz = tpl_params_grad(p, st->logits[task]) + (size_t)l * k;
    for (int i = 0; i < k; i++) gz[i] += dz[i];
}

/* conv -> BN -> ReLU backward; g[0] holds dL/dh on entry and dL/dx on exit
 * (left untouched when want_dx is 0: the stem's input needs no gradient). */
static void conv_bn_relu_backward(tpl_model *m, tpl_conv_plan *plan,
                                  tpl_conv_slot *slot, int w_view, tpl_bn_views bn,
                                  const float *x, const float *c, const float *h,
                                  const float *stats, int want_dx) {
    tpl_workspace *ws = m->ws;
    tpl_shape shape = tpl_conv_out_shape(plan);
    tpl_bn_args a = bn_args(m, bn, 0, shape, 1, NULL);
    bn_backward(m, &a, c, h, ws->g[0], stats, bn, 0, ws->g[1], NULL);
    tpl_conv_backward_weights(plan, x, ws->g[1], ws->dw);
    add_into(tpl_params_grad(&m->params, w_view), ws->dw, tpl_conv_weight_count(plan));
    if (want_dx) tpl_conv_backward_data(plan, slot, ws->g[1], ws->g[0]);
}

void tpl_model_backward(tpl_model *m, int task, const float *dlogits) {
    tpl_workspace *ws = m->ws;
    const tpl_params *p = &m->params;
    const int n = ws->n;
    const tpl_config *c = &m->cfg;
    const tpl_stage *last = &m->stage[c->n_stages - 1];
    tpl_linear_backward(n, last->width, c->task[task].classes, ws->pool,
                        tpl_params_data(p, m->head_w[task]), dlogits, ws->dpool,
                        tpl_params_grad(p, m->head_w[task]),
                        tpl_params_grad(p, m->head_b[task]));
    tpl_avgpool_backward(tpl_conv_out_shape(last->plan), ws->dpool, ws->g[0]);
    int blk = 0;
    for (int s = 0; s < c->n_stages; s++) blk += m->stage[s].layers;
    for (int s = c->n_stages - 1; s >= 0; s--) {
        tpl_stage *st = &m->stage[s];
        for (int l = st->layers - 1; l >= 0; l--) {
            float **b = ws->blk + (size_t)(--blk) * ws->bstride;
            const float *h = l > 0 ? (b - ws->bstride)[B_OUT] : s > 0 ? ws->trans_h[s] : ws->stem_h;
            if (outputs_mode(m)) {
                block_backward_outputs(m, task, s, l, h, b);
                continue;
            }
            block_backward(m, task, s, l, h, b, ws->dw);
            mix_backward(m, task, s, l, ws->dw);
        }
        if (s > 0) {
            const float *x = ws->blk[(size_t)(blk - 1) * ws->bstride + B_OUT];
            conv_bn_relu_backward(m, st->trans_plan, &st->trans_slot, st->trans_w,
                                  st->trans_bn[task], x, ws->trans_c[s], ws->trans_h[s],
                                  ws->trans_stats[s], 1);
        }
    }
    conv_bn_relu_backward(m, m->stem_plan, &m->stem_slot, m->stem_w, m->stem_bn[task],
                          ws->x, ws->stem_c, ws->stem_h, ws->stem_stats, 0);
}
