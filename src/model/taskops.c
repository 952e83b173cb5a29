/* A model's tasks as units: added, copied, averaged, frozen, counted
 * (see model.h). */
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
    /* Every view of src exists in m under its name, with its shape. */
    const tpl_params *from = &src->params;
    for (int i = 0; i < m->params.n_views; i++) {
        int j = tpl_params_find(from, m->params.views[i].name);
        if (j >= 0)
            memcpy(tpl_params_data(&m->params, i), tpl_params_data(from, j),
                   sizeof(float) * from->views[j].numel);
    }
    tpl_model_touch(m);
    return m;
}

/* View to = the mean of views from[0..n) (to may be one of them). */
static void mean_view(tpl_params *p, const int *from, int n, int to) {
    const size_t len = p->views[to].numel;
    float *dst = tpl_params_data(p, to);
    for (size_t i = 0; i < len; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += tpl_params_data(p, from[j])[i];
        dst[i] = (float)(sum / n);
    }
}

/* views[to] = mean of views[from[j]]: one tensor kind indexed by task. */
static void mean_of(tpl_params *p, const int *views, const int *from, int n, int to) {
    int src[TPL_MAX_TASKS];
    for (int j = 0; j < n; j++) src[j] = views[from[j]];
    mean_view(p, src, n, views[to]);
}

static void mean_bn(tpl_params *p, const tpl_bn_views *bn, const int *from, int n, int to) {
    int v[4][TPL_MAX_TASKS]; /* scale, shift, running mean, running var, by task */
    for (int t = 0; t < TPL_MAX_TASKS; t++)
        v[0][t] = bn[t].scale, v[1][t] = bn[t].shift, v[2][t] = bn[t].mean, v[3][t] = bn[t].var;
    for (int f = 0; f < 4; f++) mean_of(p, v[f], from, n, to);
}

/* Every per-task view but the head, of tasks from[0..n) onto task to. */
static void mean_task(tpl_model *m, const int *from, int n, int to) {
    tpl_params *p = &m->params;
    mean_bn(p, m->stem_bn, from, n, to);
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        if (!m->cfg.shared_mixture) mean_of(p, st->logits, from, n, to);
        mean_bn(p, st->bn, from, n, to);
        if (s > 0) mean_bn(p, st->trans_bn, from, n, to);
    }
    tpl_model_touch(m);
}

void tpl_model_copy_task(tpl_model *m, int from, int to) { mean_task(m, &from, 1, to); }

void tpl_model_average_tasks(tpl_model *m, const int *from, int n, int to) {
    mean_task(m, from, n, to);
}

void tpl_model_train_only(tpl_model *m, int task, tpl_train_part part) {
    for (int i = 0; i < m->params.n_views; i++) {
        tpl_view *v = &m->params.views[i];
        int head = v->kind == TPL_KIND_HEAD_W || v->kind == TPL_KIND_HEAD_B;
        int own = v->task == task && (part == TPL_PART_MIXTURE || (part == TPL_PART_HEAD && head) ||
                                      (part == TPL_PART_LOGITS && v->kind == TPL_KIND_LOGITS));
        v->trainable = !tpl_kind_is_state(v->kind) && (part == TPL_PART_FULL || own);
    }
}

size_t tpl_task_bytes(const tpl_params *p, int task, unsigned kinds) {
    size_t n = 0;
    for (int i = 0; i < p->n_views; i++)
        if (p->views[i].task == task && (kinds & TPL_KINDS(p->views[i].kind)))
            n += p->views[i].numel * sizeof(float);
    return n;
}

