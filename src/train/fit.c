/* tpl_fit: the multi-task training loop (templar.h).  Tasks in turn, one
 * batch each; every epoch ends with each task's test; the caller watches
 * through callbacks and may stop it between steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dist.h"
#include "diverge.h"
#include "footprint.h"
#include "train.h"

void tpl_fit_options_default(tpl_fit_options *o) {
    *o = (tpl_fit_options){.batch = 64, .epochs = 5, .eval_batch = 250, .seed = 1,
                           .optim = TPL_OPT_SGD, .schedule = TPL_SCHED_ONECYCLE, .lr = 0.1f,
                           .warmup = 0.15f, .logit_lr = 1.0f, .momentum = 0.9f,
                           .weight_decay = 5e-4f, .infomax = 1, .diversity = 1.0f,
                           .diverge_factor = 10.0f,
                           .diverge_steps = 50};
}

/* A task's place in its shuffled order. */
typedef struct walk {
    int *perm, pos;
    int *pseudo;         /* the task's pseudo-labels (options.pseudo), or NULL */
    int pseudo_epoch;    /* of those labels */
    tpl_augment aug;
    tpl_step_result sum; /* this epoch: loss summed over images */
} walk;

typedef struct run {
    tpl_model *m;
    const tpl_fit_task *tasks;
    int n;
    const tpl_fit_options *o;
    walk w[TPL_MAX_TASKS];
    tpl_optim opt;
    tpl_batch batch;
    tpl_rng rng;
    float tau_start;      /* the model's tau before annealing */
    double start, epoch_start;
    long epoch_images;    /* minus the images the epoch had when this call began it */
    tpl_fit_report rep;
    tpl_diverge diverge;
    /* Steps through dist.h: on several processes, or every task a step */
    int spread;
    tpl_dist dist;
    int model_task[TPL_MAX_TASKS]; /* tasks[t].task */
    float *moments;       /* [2][last width]: what unlabelled steps match (options.moments) */
} run;

/* Fit task t trains without its labels. */
static int unlabelled(const run *r, int t) { return r->o->unsupervised || r->tasks[t].unlabelled; }

/* Every task's data fits the model and holds a batch; the steps of an epoch. */
static int check_tasks(const run *r, long *per_epoch, tpl_err *err) {
    long rounds = 0;
    for (int t = 0; t < r->n; t++) {
        const tpl_fit_task *k = &r->tasks[t];
        if (k->task < 0 || k->task >= r->m->cfg.n_tasks || !k->train) {
            tpl_err_set(err, "fit: task %d of %d has no training data or no model task", t, r->n);
            return -1;
        }
        const char *name = r->m->cfg.task[k->task].name;
        if (tpl_dataset_check(r->m, k->task, k->train, name, err) ||
            (k->test && tpl_dataset_check(r->m, k->task, k->test, name, err)))
            return -1;
        int batches = k->train->n / r->o->batch;
        if (batches < 1) {
            tpl_err_set(err, "%s: %d training images is less than one batch of %d", name,
                        k->train->n, r->o->batch);
            return -1;
        }
        if (batches > rounds) rounds = batches;
    }
    *per_epoch = r->o->task_parallel ? rounds : rounds * r->n;
    return 0;
}

/* Fit task trains model task `task` with its labels, or -1. */
static int labelled_fit_task(const run *r, int task) {
    for (int t = 0; t < r->n; t++)
        if (r->tasks[t].task == task && !unlabelled(r, t)) return t;
    return -1;
}

/* Moment matching has tasks to match, each with moments recorded or
 * trained with labels in the run (which records them as it goes). */
static int check_moments(run *r, tpl_err *err) {
    const tpl_fit_options *o = r->o;
    if (o->moments <= 0.0f) return 0;
    if (o->n_moments_from < 1 || !o->moments_from) {
        tpl_err_set(err, "fit: moment matching needs the tasks whose moments to match");
        return -1;
    }
    for (int j = 0; j < o->n_moments_from; j++) {
        const int u = o->moments_from[j];
        if (u < 0 || u >= r->m->cfg.n_tasks) {
            tpl_err_set(err, "fit: moments of task %d, which the model does not have", u);
            return -1;
        }
        if (!tpl_model_has_moments(r->m, u) && labelled_fit_task(r, u) < 0) {
            tpl_err_set(err, "task '%s' has no feature moments recorded (its model was trained "
                        "before templar recorded them: train it again)", r->m->cfg.task[u].name);
            return -1;
        }
    }
    const int dim = r->m->cfg.stage[r->m->cfg.n_stages - 1].width;
    if (!(r->moments = malloc(sizeof(float) * 2 * dim))) {
        tpl_err_set(err, "fit: out of memory");
        return -1;
    }
    return 0;
}

/* What several processes need: a share of every batch for each (data
 * parallel), or a task for each (task parallel). */
static int check_spread(const run *r, tpl_err *err) {
    const tpl_comm *c = r->o->comm;
    const int size = c ? c->size : 1;
    if (!r->o->task_parallel && r->o->batch < size) {
        tpl_err_set(err, "fit: a batch of %d cannot be shared out among %d processes",
                    r->o->batch, size);
        return -1;
    }
    if ((r->o->pseudo > 0 || r->o->moments > 0 || !r->o->infomax) && (c || r->o->task_parallel)) {
        tpl_err_set(err, "fit: pseudo-labels and moment matching run in one process, on one task "
                         "at a time");
        return -1;
    }
    if (r->o->task_parallel && r->n < size) {
        tpl_err_set(err, "fit: task parallel on %d processes needs at least %d tasks, not %d",
                    size, size, r->n);
        return -1;
    }
    return 0;
}

/* The training batch's memory, and the tests', fit beside the model. */
static int check_memory(const run *r, tpl_err *err) {
    const tpl_config *c = &r->m->cfg;
    const size_t held = tpl_memory_created(c);
    return tpl_memory_check(c, r->o->batch, 1, r->o->optim, held, "fit", err) ||
           tpl_memory_check(c, r->o->eval_batch, 0, r->o->optim, held, "fit", err);
}

static int optim_config(const run *r, tpl_optim_config *c, tpl_err *err) {
    const tpl_fit_options *f = r->o;
    tpl_optim_config_default(c);
    if ((int)f->optim < 0 || (int)f->optim >= TPL_OPT_COUNT || (int)f->schedule < 0 ||
        (int)f->schedule >= TPL_SCHED_COUNT) {
        tpl_err_set(err, "fit: unknown optimiser %d or schedule %d", (int)f->optim,
                    (int)f->schedule);
        return -1;
    }
    c->kind = f->optim;
    c->sched = f->schedule;
    c->lr = f->lr;
    c->logit_lr_mult = f->logit_lr;
    c->momentum = f->momentum;
    c->weight_decay = f->weight_decay;
    c->warmup = f->warmup;
    c->total_steps = r->rep.total;
    return 0;
}

static int begin(run *r, tpl_err *err) {
    const tpl_fit_options *f = r->o;
    tpl_fit_report *rep = &r->rep;
    if (f->batch < 1 || f->eval_batch < 1 || r->n < 1 || r->n > TPL_MAX_TASKS) {
        tpl_err_set(err, "fit: batch %d, eval batch %d and %d tasks (1 to %d) make no run",
                    f->batch, f->eval_batch, r->n, TPL_MAX_TASKS);
        return -1;
    }
    if (check_tasks(r, &rep->per_epoch, err) || check_spread(r, err) || check_memory(r, err) ||
        check_moments(r, err))
        return -1;
    rep->total = f->steps > 0 ? f->steps : (long)f->epochs * rep->per_epoch;
    rep->epochs = (int)((rep->total + rep->per_epoch - 1) / rep->per_epoch);
    rep->n_tasks = r->n;
    tpl_optim_config oc;
    if (optim_config(r, &oc, err)) return -1;
    int ok = tpl_optim_init(&r->opt, &oc, r->m->params.numel) == 0 &&
             tpl_batch_init(&r->batch, r->m, f->batch > f->eval_batch ? f->batch : f->eval_batch) == 0;
    for (int t = 0; ok && t < r->n; t++) {
        walk *w = &r->w[t];
        const tpl_dataset *d = r->tasks[t].train;
        if (!(w->perm = malloc(sizeof(int) * d->n))) ok = 0;
        for (int i = 0; w->perm && i < d->n; i++) w->perm[i] = i;
        w->pos = d->n; /* used up: the first batch shuffles */
        w->aug = (tpl_augment){.pad = r->tasks[t].crop_pad, .flip = r->tasks[t].flip,
                               .rotate_deg = r->tasks[t].rotate_deg,
                               .scale = r->tasks[t].scale, .jitter = r->tasks[t].jitter};
    }
    if (!ok) {
        tpl_err_set(err, "fit: out of memory");
        return -1;
    }
    for (int t = 0; t < r->n; t++) r->model_task[t] = r->tasks[t].task;
    r->spread = f->task_parallel || (f->comm && f->comm->size > 1);
    if (r->spread && tpl_dist_init(&r->dist, r->m, f->comm, r->model_task, r->n,
                                   f->task_parallel, f->sync_bn, err))
        return -1;
    tpl_diverge_for_fit(&r->diverge, r->m, r->tasks, r->n, f, rep->total);
    r->tau_start = r->m->cfg.tau;
    tpl_rng_seed(&r->rng, f->seed * 7919u + 1u);
    r->start = tpl_now();
    return 0;
}

static void end(run *r) {
    for (int t = 0; t < r->n; t++) free(r->w[t].perm), free(r->w[t].pseudo);
    free(r->moments);
    tpl_batch_free(&r->batch);
    tpl_optim_free(&r->opt);
    tpl_dist_free(&r->dist);
}

/* Annealing is geometric; the last step runs at tau_end. */
static void anneal(run *r) {
    const float end_tau = r->o->tau_end;
    if (end_tau <= 0.0f) return;
    const long total = r->rep.total;
    tpl_model_set_tau(r->m, r->tau_start * powf(end_tau / r->tau_start,
                                                 (float)r->rep.step /
                                                     (float)(total > 1 ? total - 1 : 1)));
}

/* The next batch of fit task t: its images' places in its order. */
static const int *next_batch(run *r, int t) {
    walk *w = &r->w[t];
    const tpl_dataset *d = r->tasks[t].train;
    if (w->pos + r->o->batch > d->n) {
        tpl_shuffle(w->perm, d->n, &r->rng);
        w->pos = 0;
    }
    w->pos += r->o->batch;
    return w->perm + w->pos - r->o->batch;
}

static void count_step(run *r, int t, const tpl_step_result *s) {
    walk *w = &r->w[t];
    w->sum.loss += s->loss * s->n;
    w->sum.correct += s->correct;
    w->sum.n += s->n;
    r->rep.loss = s->loss;
    r->rep.acc = (double)s->correct / (s->n ? s->n : 1);
    r->rep.last_task = t;
}

/* One optimiser step through dist.h: every task's next batch (task
 * parallel) or task t's. */
static int spread_step(run *r, int t, tpl_err *err) {
    const int first = r->o->task_parallel ? 0 : t, n = r->o->task_parallel ? r->n : 1;
    tpl_dist_work w[TPL_MAX_TASKS];
    tpl_step_result s[TPL_MAX_TASKS];
    for (int i = 0; i < n; i++) {
        const tpl_fit_task *k = &r->tasks[first + i];
        w[i] = (tpl_dist_work){.task = k->task, .d = k->train, .idx = next_batch(r, first + i),
                               .n = r->o->batch,
                               .so = {.aug = &r->w[first + i].aug, .entropy = r->o->entropy,
                                      .unsupervised = unlabelled(r, first + i),
                                      .infomax = 1, .diversity = r->o->diversity}};
    }
    anneal(r);
    if (tpl_dist_step(&r->dist, &r->opt, w, first, n, &r->rng, &r->batch, s, err)) return -1;
    /* the results are the whole batches', the same on every process: so
     * is the detector's verdict */
    for (int i = 0; i < n; i++)
        if (tpl_diverge_step(&r->diverge, first + i, r->rep.step + 1, s[i].loss, s[i].correct,
                             s[i].n, err))
            return -1;
    for (int i = 0; i < n; i++) count_step(r, first + i, &s[i]);
    return 0;
}

/* How fast a labelled task's running moments follow its batches. */
#define MOMENTS_RATE 0.05f

/* Moment matching around a step of fit task t: an unlabelled task's target
 * (before), or a labelled task's running record, if it is matched (after). */
static const float *moments_before(run *r, int t) {
    if (!r->moments || !unlabelled(r, t)) return NULL;
    tpl_moments_mean(r->m, r->o->moments_from, r->o->n_moments_from, r->moments);
    return r->moments;
}

static void moments_after(run *r, int t) {
    const tpl_fit_options *o = r->o;
    if (!r->moments || unlabelled(r, t)) return;
    for (int j = 0; j < o->n_moments_from; j++)
        if (o->moments_from[j] == r->tasks[t].task) {
            tpl_model *m = r->m;
            float *mq = tpl_model_moments(m, r->tasks[t].task);
            const int fresh = !tpl_model_has_moments(m, r->tasks[t].task);
            tpl_moments_update(o->batch, m->cfg.stage[m->cfg.n_stages - 1].width,
                               tpl_model_features(m), fresh ? 1.0f : MOMENTS_RATE, mq);
            return;
        }
}

/* One optimiser step on the next batch of task t. */
static int step(run *r, int t, tpl_err *err) {
    if (r->spread) return spread_step(r, t, err);
    const int *idx = next_batch(r, t);
    anneal(r);
    const tpl_step_opts so = {.aug = &r->w[t].aug, .entropy = r->o->entropy,
                              .unsupervised = unlabelled(r, t), .infomax = r->o->infomax,
                              .diversity = r->o->diversity, .pseudo = r->w[t].pseudo,
                              .pseudo_weight = r->o->pseudo, .moments = moments_before(r, t),
                              .moments_weight = r->o->moments};
    tpl_step_result s;
    if (tpl_train_step(r->m, &r->opt, r->tasks[t].task, r->tasks[t].train, idx, r->o->batch, &so,
                       &r->rng, &r->batch, &s, err) ||
        tpl_diverge_step(&r->diverge, t, r->rep.step + 1, s.loss, s.correct, s.n, err))
        return -1;
    moments_after(r, t);
    count_step(r, t, &s);
    return 0;
}

/* The report's training figures, from the epoch's sums so far. */
static void report_training(run *r) {
    tpl_fit_report *rep = &r->rep;
    tpl_step_result all = {0};
    for (int t = 0; t < r->n; t++) {
        const tpl_step_result *s = &r->w[t].sum;
        tpl_fit_task_report *k = &rep->task[t];
        k->train_loss = s->loss / (s->n ? s->n : 1);
        k->train_acc = (double)s->correct / (s->n ? s->n : 1);
        k->train_images = s->n;
        all.loss += s->loss, all.correct += s->correct, all.n += s->n;
    }
    const long images = all.n + r->epoch_images;
    rep->train_loss = all.loss / (all.n ? all.n : 1);
    rep->train_acc = (double)all.correct / (all.n ? all.n : 1);
    const double now = tpl_now(), el = now - r->epoch_start;
    rep->elapsed_s = now - r->start;
    rep->epoch_img_s = images / (el > 0 ? el : 1);
    rep->lr = tpl_optim_lr(&r->opt);
}

static int test_all(run *r, tpl_err *err) {
    if (r->spread && !r->o->task_parallel) /* the processes' BN statistics, one model */
        tpl_dist_gather(&r->dist, &r->opt, r->model_task, r->n);
    for (int t = 0; t < r->n; t++) {
        const tpl_fit_task *k = &r->tasks[t];
        tpl_step_result s;
        if (!k->test) continue;
        if (r->spread ? tpl_dist_evaluate(&r->dist, t, k->task, k->test, &r->batch, &s, err)
                      : tpl_evaluate(r->m, k->task, k->test, &r->batch, &s, NULL, err))
            return -1;
        r->rep.task[t].test_loss = s.loss;
        r->rep.task[t].test_acc = (double)s.correct / (s.n ? s.n : 1);
        r->rep.task[t].tested = 1;
    }
    return 0;
}

/* Any process's should_stop stops every one. */
static int stopped(run *r) {
    const int stop = r->o->should_stop && r->o->should_stop(r->o->user);
    return r->spread ? tpl_dist_any(&r->dist, stop) : stop;
}

/* The callbacks that report and save run on process 0 alone. */
static int first_process(const run *r) { return !r->spread || r->dist.rank == 0; }

/* ---- the state that resumes a run ------------------------------------------ */

void tpl_fit_state_free(tpl_fit_state *s) {
    if (!s) return;
    free(s->opt_m);
    free(s->opt_v);
    for (int t = 0; t < s->n_tasks; t++) free(s->task[t].perm);
    memset(s, 0, sizeof *s);
}

/* The running loop's state, its arrays borrowed. */
static void capture(const run *r, tpl_fit_state *s) {
    *s = (tpl_fit_state){.step = r->rep.step, .rng = r->rng, .noise = r->m->mixing.noise_rng,
                         .tau_start = r->tau_start, .elapsed_s = tpl_now() - r->start,
                         .opt_step = r->opt.step, .numel = r->opt.numel, .opt_m = r->opt.m,
                         .opt_v = r->opt.v, .n_tasks = r->n};
    for (int t = 0; t < r->n; t++) {
        s->task[t].n = r->tasks[t].train->n;
        s->task[t].pos = r->w[t].pos;
        s->task[t].perm = r->w[t].perm;
        s->task[t].sum = r->w[t].sum;
    }
}

/* The loop continues from s: it must be a state of the same run. */
static int restore(run *r, const tpl_fit_state *s, tpl_err *err) {
    int ok = s->n_tasks == r->n && s->numel == r->opt.numel && !s->opt_v == !r->opt.v &&
             s->step >= 0 && s->step <= r->rep.total;
    for (int t = 0; ok && t < r->n; t++)
        ok = s->task[t].n == r->tasks[t].train->n && s->task[t].pos >= 0 &&
             s->task[t].pos <= s->task[t].n;
    if (!ok) {
        tpl_err_set(err, "resume: the saved state is not of this run (its tasks, data, model or "
                    "optimiser differ)");
        return -1;
    }
    r->rep.step = s->step;
    r->rng = s->rng;
    r->m->mixing.noise_rng = s->noise;
    r->tau_start = s->tau_start;
    r->start = tpl_now() - s->elapsed_s;
    r->opt.step = s->opt_step;
    memcpy(r->opt.m, s->opt_m, sizeof(float) * s->numel);
    if (s->opt_v) memcpy(r->opt.v, s->opt_v, sizeof(float) * s->numel);
    for (int t = 0; t < r->n; t++) {
        memcpy(r->w[t].perm, s->task[t].perm, sizeof(int) * s->task[t].n);
        r->w[t].pos = s->task[t].pos;
        r->w[t].sum = s->task[t].sum;
    }
    return 0;
}

/* The whole model on every process, then process 0 saves; a failed save
 * fails every process. */
static int save(run *r, tpl_err *err) {
    if (!r->o->on_save) return 0;
    if (r->spread) tpl_dist_gather(&r->dist, &r->opt, r->model_task, r->n);
    int rc = 0;
    if (first_process(r)) {
        tpl_fit_state s;
        capture(r, &s);
        rc = r->o->on_save(&s, r->o->user, err);
    }
    return r->spread ? tpl_dist_agree(&r->dist, rc != 0, err) : rc;
}

/* ---- the loop ----------------------------------------------------------------- */

/* Every task's pseudo-labels for the epoch under way, made at its start
 * from the model as it is (a run resumed midway makes them anew). */
static int refresh_pseudo(run *r, tpl_err *err) {
    if (!(r->o->pseudo > 0)) return 0;
    for (int t = 0; t < r->n; t++) {
        walk *w = &r->w[t];
        if (!unlabelled(r, t)) continue;
        const tpl_dataset *d = r->tasks[t].train;
        if (w->pseudo_epoch == r->rep.epoch) continue;
        if (!w->pseudo && !(w->pseudo = malloc(sizeof(int) * (size_t)d->n))) {
            tpl_err_set(err, "out of memory: pseudo-labels of %d images", d->n);
            return -1;
        }
        if (tpl_pseudo_labels(r->m, r->tasks[t].task, d, &r->batch, w->pseudo, err)) return -1;
        w->pseudo_epoch = r->rep.epoch;
    }
    return 0;
}

/* The rest of the epoch under way (all of it, unless resumed midway), then
 * the tests.  Returns 1 when stopped early. */
static int epoch(run *r, tpl_err *err) {
    tpl_fit_report *rep = &r->rep;
    const tpl_fit_options *o = r->o;
    const long first = rep->step / rep->per_epoch * rep->per_epoch;
    const long end = first + rep->per_epoch < rep->total ? first + rep->per_epoch : rep->total;
    rep->epoch = (int)(first / rep->per_epoch) + 1;
    if (rep->step == first)
        for (int t = 0; t < r->n; t++) r->w[t].sum = (tpl_step_result){0};
    if (refresh_pseudo(r, err)) return -1;
    r->epoch_start = tpl_now();
    r->epoch_images = 0;
    for (int t = 0; t < r->n; t++) r->epoch_images -= r->w[t].sum.n; /* those of this call */
    while (rep->step < end) {
        if (stopped(r)) {
            rep->stopped = 1;
            return save(r, err) ? -1 : 1;
        }
        if (step(r, (int)(rep->step % r->n), err)) return -1;
        rep->step++;
        if (o->save_every > 0 && rep->step % o->save_every == 0 && rep->step < rep->total &&
            save(r, err))
            return -1;
        if (o->on_step && first_process(r)) {
            report_training(r);
            o->on_step(rep, o->user);
        }
    }
    report_training(r);
    if (test_all(r, err)) return -1;
    if (o->on_epoch && first_process(r)) o->on_epoch(rep, o->user);
    return 0;
}

/* ---- several processes ------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

/* Every process was given the same run (the processes agreed they are
 * ready): a fingerprint of what must be the same, compared. */
static int same_run(const run *r, tpl_err *err) {
    const tpl_fit_options *o = r->o;
    uint64_t h = 0xcbf29ce484222325ull;
    const uint64_t v[] = {o->batch, r->rep.total, r->rep.per_epoch, r->n, o->seed, o->optim,
                          o->schedule, o->task_parallel, o->sync_bn, r->m->params.numel,
                          r->rep.step, r->m->cfg.n_tasks};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) h = mix(h, v[i]);
    for (int t = 0; t < r->n; t++) {
        h = mix(mix(h, r->tasks[t].task), r->tasks[t].train->n);
        h = mix(h, r->tasks[t].test ? r->tasks[t].test->n : -1);
    }
    const int mine = (int)(h & 0x3fffffff);
    tpl_comm *c = o->comm;
    if (c->ops->min_int(c, mine) == -c->ops->min_int(c, -mine)) return 0;
    tpl_err_set(err, "fit: the ranks were not given the same run (their model, tasks, data or "
                "options differ)");
    return -1;
}

int tpl_fit(tpl_model *m, const tpl_fit_task *tasks, int n, const tpl_fit_options *o,
            tpl_fit_report *final, tpl_err *err) {
    run r = {.m = m, .tasks = tasks, .n = n, .o = o};
    int rc = begin(&r, err);
    if (!rc && o->resume) rc = restore(&r, o->resume, err);
    /* every process ready, or none goes on (the first collective of a run) */
    if (o->comm && o->comm->size > 1)
        rc = tpl_comm_agree(o->comm, rc != 0, err) || same_run(&r, err) ? -1 : 0;
    if (!rc && r.spread) tpl_dist_same_start(&r.dist, &r.opt);
    while (!rc && r.rep.step < r.rep.total) rc = epoch(&r, err);
    if (rc >= 0 && r.spread) tpl_dist_gather(&r.dist, &r.opt, r.model_task, r.n);
    for (int t = 0; rc >= 0 && t < n; t++)
        if (tpl_record_moments(m, tasks[t].task, tasks[t].train, &r.batch, err)) rc = -1;
    if (final) *final = r.rep;
    end(&r);
    return rc < 0 ? -1 : 0;
}

int tpl_model_evaluate(tpl_model *m, int task, const tpl_dataset *d, int batch, double *loss,
                       double *accuracy, tpl_err *err) {
    tpl_batch b;
    if (task < 0 || task >= m->cfg.n_tasks) {
        tpl_err_set(err, "evaluate: no task %d (the model has %d)", task, m->cfg.n_tasks);
        return -1;
    }
    if (tpl_dataset_check(m, task, d, m->cfg.task[task].name, err) ||
        tpl_memory_check(&m->cfg, batch > 0 ? batch : 1, 0, TPL_OPT_SGD,
                         tpl_memory_created(&m->cfg), "evaluate", err))
        return -1;
    if (tpl_batch_init(&b, m, batch > 0 ? batch : 1)) {
        tpl_err_set(err, "evaluate: out of memory");
        return -1;
    }
    tpl_step_result s;
    int rc = tpl_evaluate(m, task, d, &b, &s, NULL, err);
    tpl_batch_free(&b);
    if (!rc) {
        *loss = s.loss;
        *accuracy = (double)s.correct / (s.n ? s.n : 1);
    }
    return rc;
}
