/* A model's tasks as units: added, copied, averaged, frozen, counted
 * (see model.h). */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

tpl_model *tpl_model_add_task(const tpl_model *src, const tpl_task_config *task, uint64_t seed,
                              tpl_err *err) {
    tpl_config cfg = src->cfg;
    if (cfg.n_tasks == TPL_MAX_TASKS) {
        tpl_err_set(err, "the model already holds %d tasks, the most it can", TPL_MAX_TASKS);
        return NULL;
    }
    cfg.task[cfg.n_tasks++] = *task;
    if (tpl_config_check(&cfg, err)) return NULL;
    tpl_model *m = tpl_model_create(&cfg, seed, err);
    if (!m) return NULL;
    for (int t = 0; t < src->cfg.n_tasks; t++)
        if (tpl_model_copy_class_names(m, t, src, t, err)) {
            tpl_model_free(m);
            return NULL;
        }
    /* Every view of src exists in m under its name, with its shape. */
    const tpl_params *from = &src->params;
    for (int i = 0; i < m->params.n_views; i++) {
        int j = tpl_params_find(from, m->params.views[i].name);
        if (j >= 0)
            memcpy(tpl_params_data(&m->params, i), tpl_params_data(from, j),
                   sizeof(float) * from->views[j].numel);
    }
    tpl_model_params_changed(m);
    return m;
}

/* View to = sum_j w[j] * view from[j], j < n (w NULL: the mean; to may be
 * one of them). */
static void blend_view(tpl_params *p, const int *from, const float *w, int n, int to) {
    const size_t len = p->views[to].numel;
    float *dst = tpl_params_data(p, to);
    for (size_t i = 0; i < len; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += (w ? w[j] : 1.0) * tpl_params_data(p, from[j])[i];
        dst[i] = (float)(w ? sum : sum / n);
    }
}

/* The views of task t that a new task can start from: its mixture logits
 * (unless shared) and every BN (scale, shift, running statistics), in a
 * fixed order; the head is left out (heads differ in classes).  Returns
 * how many went into v. */
static int start_views(const tpl_model *m, int t, int *v) {
    const tpl_task_params *tp = &m->task[t];
    int n = 0;
    /* (a BN whose scale and shift are mixed in the templates has none) */
#define BN(b) ((b).scale < 0 ? 0 : (v[n++] = (b).scale, v[n++] = (b).shift), \
               v[n++] = (b).mean, v[n++] = (b).var)
    BN(tp->stem_bn);
    for (int s = 0; s < m->cfg.n_stages; s++) {
        if (!m->cfg.shared_mixture) v[n++] = tp->stage[s].logits;
        BN(tp->stage[s].bn);
        if (s > 0) BN(tp->stage[s].trans_bn);
    }
#undef BN
    return n;
}

#define MAX_START_VIEWS (4 + TPL_MAX_STAGES * 9)

/* Every start view of tasks from[0..n), blended by w (NULL: the mean),
 * onto task to. */
static void blend_task(tpl_model *m, const int *from, const float *w, int n, int to) {
    int dst[MAX_START_VIEWS], src[TPL_MAX_TASKS][MAX_START_VIEWS];
    const int count = start_views(m, to, dst);
    for (int j = 0; j < n; j++) start_views(m, from[j], src[j]);
    for (int i = 0; i < count; i++) {
        int views[TPL_MAX_TASKS];
        for (int j = 0; j < n; j++) views[j] = src[j][i];
        blend_view(&m->params, views, w, n, dst[i]);
    }
    tpl_model_params_changed(m);
}

/* Symmetric KL divergence of N(ma, va) and N(mb, vb), variances floored so
 * that a dead channel (variance 0) does not make it infinite. */
static double gauss_divergence(double ma, double va, double mb, double vb) {
    va = fmax(va, 1e-5), vb = fmax(vb, 1e-5);
    const double d2 = (ma - mb) * (ma - mb);
    return 0.25 * (va / vb + vb / va - 2.0 + d2 / va + d2 / vb);
}

double tpl_model_bn_divergence(const tpl_model *m, int a, int b) {
    int va[MAX_START_VIEWS], vb[MAX_START_VIEWS];
    const int count = start_views(m, a, va);
    start_views(m, b, vb);
    const tpl_params *p = &m->params;
    double sum = 0.0;
    size_t channels = 0;
    for (int i = 0; i < count; i++) {
        if (p->views[va[i]].kind != TPL_KIND_BN_MEAN) continue; /* its var follows it */
        const float *ma = tpl_params_data(p, va[i]), *mb = tpl_params_data(p, vb[i]);
        const float *sa = tpl_params_data(p, va[i + 1]), *sb = tpl_params_data(p, vb[i + 1]);
        for (size_t c = 0; c < p->views[va[i]].numel; c++)
            sum += gauss_divergence(ma[c], sa[c], mb[c], sb[c]);
        channels += p->views[va[i]].numel;
    }
    return channels ? sum / (double)channels : 0.0;
}

void tpl_model_copy_task(tpl_model *m, int from, int to) { blend_task(m, &from, NULL, 1, to); }

void tpl_model_average_tasks(tpl_model *m, const int *from, int n, int to) {
    blend_task(m, from, NULL, n, to);
}

void tpl_model_blend_tasks(tpl_model *m, const int *from, const float *w, int n, int to) {
    blend_task(m, from, w, n, to);
}

void tpl_model_blend_grad(const tpl_model *m, const int *from, int n, int to, double *dw) {
    int dst[MAX_START_VIEWS], src[MAX_START_VIEWS];
    const int count = start_views(m, to, dst);
    const tpl_params *p = &m->params;
    for (int j = 0; j < n; j++) {
        start_views(m, from[j], src);
        dw[j] = 0.0;
        for (int i = 0; i < count; i++) {
            const float *g = tpl_params_grad(p, dst[i]), *x = tpl_params_data(p, src[i]);
            for (size_t k = 0; k < p->views[dst[i]].numel; k++) dw[j] += (double)g[k] * x[k];
        }
    }
}

static const char *const part_names[] = {
    [TPL_PART_LOGITS] = "logits", [TPL_PART_BN] = "bn", [TPL_PART_HEAD] = "head"};
static_assert(sizeof part_names / sizeof *part_names == TPL_PART_COUNT, "a part without a name");

int tpl_train_parts_parse(const char *s) {
    int parts = 0;
    for (const char *p = s; *s; p = s + 1) {
        s = p + strcspn(p, "+");
        int found = -1;
        for (int i = 0; i < TPL_PART_COUNT; i++)
            if ((size_t)(s - p) == strlen(part_names[i]) && !strncmp(p, part_names[i], (size_t)(s - p)))
                found = i;
        if (found < 0) return -1;
        parts |= 1 << found;
        if (!*s) break;
    }
    return parts ? parts : -1;
}

/* Which of the parts a view of a task is; -1 for none (its running state,
 * its feature moments). */
static int part_of(tpl_kind kind) {
    switch (kind) {
    case TPL_KIND_LOGITS: return TPL_PART_LOGITS;
    case TPL_KIND_BN_SCALE:
    case TPL_KIND_BN_SHIFT: return TPL_PART_BN;
    case TPL_KIND_HEAD_W:
    case TPL_KIND_HEAD_B: return TPL_PART_HEAD;
    default: return -1;
    }
}

void tpl_model_train_only(tpl_model *m, int task, unsigned parts) {
    for (int i = 0; i < m->params.n_views; i++) {
        tpl_view *v = &m->params.views[i];
        const int part = v->task == task ? part_of(v->kind) : -1;
        const unsigned flag = part >= 0 ? 1u << part : (unsigned)TPL_TRAIN_REST;
        v->trainable = !tpl_kind_is_state(v->kind) && (parts & flag);
    }
}

void tpl_model_set_moments(tpl_model *m, int task, const float *mq) {
    const int v = m->task[task].moments;
    memcpy(tpl_params_data(&m->params, v), mq, sizeof(float) * m->params.views[v].numel);
    tpl_model_params_changed(m);
}

int tpl_model_has_moments(const tpl_model *m, int task) {
    const int v = m->task[task].moments;
    const float *mq = tpl_params_data(&m->params, v);
    for (size_t i = 0; i < m->params.views[v].numel; i++)
        if (mq[i] != 0.0f) return 1;
    return 0;
}

tpl_task_size tpl_task_bytes(const tpl_model *m, int task) {
    tpl_task_size z = {0};
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        if (v->task != task) continue;
        const size_t bytes = v->numel * sizeof(float);
        switch (v->kind) {
        case TPL_KIND_LOGITS: z.logits += bytes; break;
        case TPL_KIND_BN_SCALE:
        case TPL_KIND_BN_SHIFT: z.bn += bytes; break;
        case TPL_KIND_BN_MEAN:
        case TPL_KIND_BN_VAR: z.bn_stats += bytes; break;
        case TPL_KIND_HEAD_W:
        case TPL_KIND_HEAD_B: z.head += bytes; break;
        case TPL_KIND_FEAT_MOMENTS: z.moments += bytes; break;
        default: break;
        }
    }
    return z;
}
