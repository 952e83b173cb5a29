/* A step spread over processes or tasks (dist.h).  Every process runs the
 * same sequence of collective operations, whatever its share: that is what
 * keeps a group in step, so a process with nothing to do (or one that
 * failed) still joins each of them. */
#include "dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workspace.h"

/* ---- agreement ------------------------------------------------------------ */

int tpl_comm_agree(tpl_comm *c, int failed, tpl_err *err) {
    if (!c->failed) {
        const int first = c->ops->min_int(c, failed ? c->rank : c->size);
        if (first == c->size) return 0;
        c->failed = 1;
        tpl_err why = {{0}};
        if (c->rank == first) why = *err;
        c->ops->bcast(c, why.msg, sizeof why.msg, first);
        why.msg[sizeof why.msg - 1] = 0;
        tpl_err_set(&c->failure, "rank %d: %.480s", first, why.msg);
    }
    if (!failed) *err = c->failure;
    return -1;
}

int tpl_comm_any(tpl_comm *c, int flag) {
    if (c->failed) return flag;
    double x = flag != 0;
    c->ops->sum_doubles(c, &x, 1);
    return x > 0.0;
}

int tpl_dist_any(tpl_dist *d, int flag) { return d->comm ? tpl_comm_any(d->comm, flag) : flag; }

int tpl_dist_agree(tpl_dist *d, int failed, tpl_err *err) {
    return d->comm ? tpl_comm_agree(d->comm, failed, err) : failed ? -1 : 0;
}

/* ---- who does what --------------------------------------------------------- */

int tpl_dist_owns(const tpl_dist *d, int i) {
    return !d->task_parallel || i % d->size == d->rank;
}

void tpl_dist_share(const tpl_dist *d, int i, int n, int *first, int *count) {
    if (d->task_parallel || !d->comm) {
        *first = 0;
        *count = tpl_dist_owns(d, i) ? n : 0;
        return;
    }
    *first = (int)((long)d->rank * n / d->size);
    *count = (int)((long)(d->rank + 1) * n / d->size) - *first;
}

/* ---- synchronised BN -------------------------------------------------------- */

/* Each process's (count, mean, variance), merged in process order: the
 * mean of the means weighted by counts, and the within plus the between
 * spread (the merge batch_moments does over images). */
static double bn_moments(void *user, int c, double *mean, double *var, double count) {
    tpl_dist *d = user;
    const int k = 1 + 2 * c;
    double *mine = d->bn_scratch, *all = mine + k;
    mine[0] = count;
    memcpy(mine + 1, mean, sizeof(double) * c);
    memcpy(mine + 1 + c, var, sizeof(double) * c);
    d->comm->ops->gather_doubles(d->comm, mine, k, all);
    double total = 0.0;
    for (int p = 0; p < d->size; p++) total += all[(size_t)p * k];
    for (int ch = 0; ch < c; ch++) {
        double mu = 0.0, m2 = 0.0;
        for (int p = 0; p < d->size; p++) mu += all[(size_t)p * k] * all[(size_t)p * k + 1 + ch];
        mu /= total;
        for (int p = 0; p < d->size; p++) {
            const double *q = all + (size_t)p * k, dm = q[1 + ch] - mu;
            m2 += q[0] * (q[1 + c + ch] + dm * dm);
        }
        mean[ch] = mu;
        var[ch] = m2 / total;
    }
    return total;
}

static double bn_sums(void *user, int c, double *sum_g, double *sum_gxhat, double count) {
    tpl_dist *d = user;
    double *x = d->bn_scratch;
    memcpy(x, sum_g, sizeof(double) * c);
    memcpy(x + c, sum_gxhat, sizeof(double) * c);
    x[2 * c] = count;
    d->comm->ops->sum_doubles(d->comm, x, 2 * c + 1);
    memcpy(sum_g, x, sizeof(double) * c);
    memcpy(sum_gxhat, x + c, sizeof(double) * c);
    return x[2 * c];
}

static int widest_bn(const tpl_model *m) {
    int w = 0;
    for (int s = 0; s < m->cfg.n_stages; s++)
        if (m->stage[s].width > w) w = m->stage[s].width;
    return w;
}

/* ---- gradient buckets ------------------------------------------------------------ */

/* The views whose gradients cross: trainable, and shared, or (data
 * parallel) the task's own. */
static int summed(const tpl_dist *d, const tpl_view *v, int task) {
    return v->trainable && (v->task == -1 || (!d->task_parallel && v->task == task));
}

/* The plan of a backward of model task `task`.  Every process makes the
 * same one. */
static int make_plan(tpl_dist *d, tpl_grad_plan *g, int task) {
    const tpl_params *p = &d->m->params;
    g->task = task;
    if (!(g->views = malloc(sizeof(int) * (p->n_views ? p->n_views : 1)))) return -1;
    int n = 0;
    size_t at = 0;
    for (int q = 0; q < tpl_model_grad_parts(d->m); q++) {
        g->first[q] = n;
        g->at[q] = at;
        for (int i = 0; i < p->n_views; i++)
            if (summed(d, &p->views[i], task) && tpl_model_grad_part(d->m, task, i) == q) {
                g->views[n++] = i;
                at += p->views[i].numel;
            }
    }
    for (int q = tpl_model_grad_parts(d->m); q <= TPL_GRAD_PARTS; q++) g->first[q] = n, g->at[q] = at;
    return 0;
}

static int make_plans(tpl_dist *d, const int *tasks, int n) {
    size_t most = 1;
    d->n_plans = d->task_parallel ? 1 : n; /* task parallel: the shared views alone */
    for (int i = 0; i < d->n_plans; i++) {
        if (make_plan(d, &d->plan[i], tasks[i])) return -1;
        if (d->plan[i].at[TPL_GRAD_PARTS] > most) most = d->plan[i].at[TPL_GRAD_PARTS];
    }
    return (d->pack = malloc(sizeof(float) * most)) ? 0 : -1;
}

static const tpl_grad_plan *plan_of(const tpl_dist *d, int task) {
    for (int i = 1; i < d->n_plans; i++)
        if (d->plan[i].task == task) return &d->plan[i];
    return &d->plan[0];
}

int tpl_dist_init(tpl_dist *d, tpl_model *m, tpl_comm *comm, const int *tasks, int n,
                  int task_parallel, int sync_bn, tpl_err *err) {
    if (comm && comm->size < 2) comm = NULL; /* a group of one is a process alone */
    *d = (tpl_dist){.comm = comm, .rank = comm ? comm->rank : 0, .size = comm ? comm->size : 1,
                    .task_parallel = task_parallel, .m = m};
    d->sync_bn = sync_bn && comm && !task_parallel;
    if (!comm) return 0;
    const size_t per = 1 + 2 * (size_t)widest_bn(m);
    d->bn_scratch = malloc(sizeof(double) * per * (d->size + 1));
    d->bn = (tpl_bn_sync){.moments = bn_moments, .sums = bn_sums, .user = d};
    if (d->bn_scratch && !make_plans(d, tasks, n)) return 0;
    tpl_err_set(err, "fit: out of memory");
    return -1;
}

void tpl_dist_free(tpl_dist *d) {
    for (int i = 0; i < TPL_MAX_TASKS; i++) free(d->plan[i].views);
    free(d->pack);
    free(d->bn_scratch);
    memset(d, 0, sizeof *d);
}

static void start_part(tpl_dist *d, int q) {
    const tpl_grad_plan *g = d->cur;
    if (d->started[q]) return;
    d->started[q] = 1;
    const size_t floats = g->at[q + 1] - g->at[q];
    if (!floats) return;
    const tpl_params *p = &d->m->params;
    float *at = d->pack + g->at[q];
    for (int i = g->first[q]; i < g->first[q + 1]; i++) {
        const tpl_view *v = &p->views[g->views[i]];
        memcpy(at, p->grad + v->offset, sizeof(float) * v->numel);
        at += v->numel;
    }
    d->comm->ops->start_sum(d->comm, d->pack + g->at[q], floats);
}

/* The model's grad_ready: a part of the backward is done (or, part -1, a
 * block: a moment for the sums under way to move on). */
static void grad_ready(void *user, int part) {
    tpl_dist *d = user;
    if (part >= 0 && d->hooks_on) start_part(d, part);
    d->comm->ops->progress(d->comm);
}

/* Every part summed (those a failed backward never reached started now,
 * in order, so every process starts the same sums) and unpacked. */
static void finish_parts(tpl_dist *d) {
    const tpl_grad_plan *g = d->cur;
    const int parts = tpl_model_grad_parts(d->m);
    for (int q = 0; q < parts; q++) start_part(d, q);
    d->comm->ops->wait_sums(d->comm);
    const tpl_params *p = &d->m->params;
    const float *at = d->pack;
    for (int i = 0; i < g->first[parts]; i++) {
        const tpl_view *v = &p->views[g->views[i]];
        memcpy(p->grad + v->offset, at, sizeof(float) * v->numel);
        at += v->numel;
    }
    memset(d->started, 0, sizeof d->started);
}

/* ---- the step -------------------------------------------------------------------- */

static void sum_for_loss(void *user, double *x, int n) {
    tpl_dist *d = user;
    d->comm->ops->sum_doubles(d->comm, x, n);
}

/* Whether a batch's forward or backward holds collective operations of
 * its own (BN moments, the unsupervised loss's mean prediction): a
 * process failing inside one cannot leave the others waiting there. */
static int inner_collectives(const tpl_dist *d, const tpl_dist_work *w) {
    return d->comm && !d->task_parallel && (d->sync_bn || w->so.unsupervised);
}

/* A failure where the others may be waiting inside a collective: the
 * whole group ends; else the step goes on, its share skipped. */
static void fail(tpl_dist *d, const tpl_dist_work *w, tpl_err *err) {
    if (inner_collectives(d, w)) d->comm->ops->abort(d->comm, err->msg);
    d->failed = 1;
}

/* This process's share of w (fit task i): out = its loss sum, correct
 * answers, images.  hooks: this is its last backward of the step. */
static void run_work(tpl_dist *d, const tpl_dist_work *w, int i, int hooks, tpl_rng *rng,
                     tpl_batch *b, double *out, tpl_err *err) {
    tpl_model *m = d->m;
    int first, count;
    tpl_dist_share(d, i, w->n, &first, &count);
    if (d->failed) count = 0;
    tpl_batch_fill_part(w->d, w->idx, w->n, first, count, m->cfg.in_mean, m->cfg.in_std,
                        w->so.aug, rng, b->x, b->y);
    if (!count) {
        tpl_model_skip_noise(m);
        return;
    }
    if (inner_collectives(d, w)) { /* the usual failure (memory) agreed before any of them */
        const int bad = tpl_ws_prepare(m, count, 1, err) != 0;
        if (tpl_comm_agree(d->comm, bad, err)) {
            d->failed = 1;
            return;
        }
    }
    if (tpl_model_forward(m, w->task, b->x, count, 1, b->logits, err)) {
        fail(d, w, err);
        return;
    }
    const int classes = m->cfg.task[w->task].classes, unsup = w->so.unsupervised;
    int right;
    double loss = tpl_xent_part_backward(count, w->n, classes, b->logits, b->y,
                                         unsup ? NULL : b->dlogits, &right);
    if (unsup) /* the share of the batch's loss: the whole is L */
        loss = count * tpl_infomax_part_backward(count, w->n, classes, b->logits,
                                                 w->so.diversity, b->dlogits, b->loss_scratch,
                                                 inner_collectives(d, w) ? sum_for_loss : NULL, d);
    d->hooks_on = hooks && d->comm;
    const int rc = tpl_model_backward(m, w->task, b->dlogits, err);
    d->hooks_on = 0;
    if (rc) {
        fail(d, w, err);
        return;
    }
    out[0] = loss, out[1] = right, out[2] = count;
}

/* While a step runs, the model calls back into d (and only then). */
static void hooks(tpl_dist *d, int on) {
    tpl_model *m = d->m;
    m->bn_sync = on && d->sync_bn ? &d->bn : NULL;
    m->grad_ready = on && d->comm ? grad_ready : NULL;
    m->grad_user = on && d->comm ? d : NULL;
}

int tpl_dist_step(tpl_dist *d, tpl_optim *o, const tpl_dist_work *w, int first, int n,
                  tpl_rng *rng, tpl_batch *b, tpl_step_result *res, tpl_err *err) {
    tpl_model *m = d->m;
    double sums[1 + 3 * TPL_MAX_TASKS] = {0}; /* failures, then (loss, correct, n) a task */
    int last = -1;
    for (int i = 0; i < n; i++)
        if (tpl_dist_owns(d, first + i)) last = i;
    d->failed = 0;
    d->cur = d->comm ? plan_of(d, w[0].task) : NULL;
    memset(m->params.grad, 0, sizeof(float) * m->params.numel);
    hooks(d, 1);
    for (int i = 0; i < n; i++)
        run_work(d, &w[i], first + i, i == last, rng, b, sums + 1 + 3 * i, err);
    if (d->comm) finish_parts(d);
    hooks(d, 0);
    sums[0] = d->failed;
    if (d->comm) d->comm->ops->sum_doubles(d->comm, sums, 1 + 3 * n);
    if (sums[0] > 0.0 && tpl_dist_agree(d, d->failed, err)) return -1;
    for (int i = 0; i < n; i++) {
        const double *s = sums + 1 + 3 * i;
        res[i] = (tpl_step_result){.loss = s[0] / w[i].n, .correct = (int)s[1], .n = w[i].n};
        if (!isfinite(res[i].loss)) {
            tpl_err_set(err, "training diverged: loss is %g (try a lower --lr)", res[i].loss);
            return -1;
        }
    }
    for (int i = 0; i < n; i++)
        if (w[i].so.entropy != 0.0f) tpl_mixture_entropy(m, w[i].task, w[i].so.entropy);
    tpl_optim_update(o, m);
    return 0;
}

/* ---- tests and the model's parts ------------------------------------------------- */

int tpl_dist_evaluate(tpl_dist *d, int i, int task, const tpl_dataset *data, tpl_batch *b,
                      tpl_step_result *r, tpl_err *err) {
    if (!d->comm) return tpl_evaluate(d->m, task, data, b, r, NULL, err);
    int first, count;
    tpl_dist_share(d, i, data->n, &first, &count);
    tpl_dataset part = *data;
    const size_t per = (size_t)data->h * data->w * data->c;
    part.n = count;
    part.pixels += first * per;
    part.labels += first;
    tpl_step_result s = {0};
    const int bad = count > 0 && tpl_evaluate(d->m, task, &part, b, &s, NULL, err) != 0;
    double v[4] = {bad, s.loss * s.n, s.correct, s.n};
    d->comm->ops->sum_doubles(d->comm, v, 4);
    if (v[0] > 0.0 && tpl_comm_agree(d->comm, bad, err)) return -1;
    *r = (tpl_step_result){.loss = v[3] > 0.0 ? v[1] / v[3] : 0.0, .correct = (int)v[2],
                           .n = (int)v[3]};
    return 0;
}

static int of_tasks(int task, const int *tasks, int n) {
    for (int i = 0; i < n; i++)
        if (tasks[i] == task) return 1;
    return 0;
}

/* Each fit task's own views, parameters and optimiser moments, from the
 * process that trained it to every other. */
static void gather_tasks(tpl_dist *d, tpl_optim *o, const int *tasks, int n) {
    const tpl_params *p = &d->m->params;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p->n_views; j++) {
            const tpl_view *v = &p->views[j];
            if (v->task != tasks[i]) continue;
            const int root = i % d->size;
            const size_t bytes = sizeof(float) * v->numel;
            d->comm->ops->bcast(d->comm, p->data + v->offset, bytes, root);
            d->comm->ops->bcast(d->comm, o->m + v->offset, bytes, root);
            if (o->v) d->comm->ops->bcast(d->comm, o->v + v->offset, bytes, root);
        }
}

/* The fit tasks' running BN statistics: the processes' mean. */
static void average_bn(tpl_dist *d, const int *tasks, int n) {
    const tpl_params *p = &d->m->params;
    const float inv = 1.0f / (float)d->size;
    for (int j = 0; j < p->n_views; j++) {
        const tpl_view *v = &p->views[j];
        if (!tpl_kind_is_state(v->kind) || !of_tasks(v->task, tasks, n)) continue;
        float *x = p->data + v->offset;
        d->comm->ops->sum_floats(d->comm, x, v->numel);
        for (size_t k = 0; k < v->numel; k++) x[k] *= inv;
    }
}

void tpl_dist_same_start(tpl_dist *d, tpl_optim *o) {
    if (!d->comm) return;
    const tpl_params *p = &d->m->params;
    const size_t bytes = sizeof(float) * p->numel;
    d->comm->ops->bcast(d->comm, p->data, bytes, 0);
    d->comm->ops->bcast(d->comm, o->m, bytes, 0);
    if (o->v) d->comm->ops->bcast(d->comm, o->v, bytes, 0);
    tpl_model_params_changed(d->m);
}

void tpl_dist_gather(tpl_dist *d, tpl_optim *o, const int *tasks, int n) {
    if (!d->comm) return;
    if (d->task_parallel)
        gather_tasks(d, o, tasks, n);
    else if (!d->sync_bn)
        average_bn(d, tasks, n);
    else
        return;
    tpl_model_params_changed(d->m);
}
