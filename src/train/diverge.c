/* The divergence detector (see diverge.h). */
#include "diverge.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

/* Weight of a step in the smoothed loss: about ten steps' memory. */
#define SMOOTH 0.1
/* "At chance" and "learned": fractions of the way from chance to 1. */
#define AT_CHANCE 0.05
#define LEARNED 0.25

void tpl_diverge_init(tpl_diverge *d, const tpl_diverge_rule *rule) {
    memset(d, 0, sizeof *d);
    d->rule = *rule;
}

void tpl_diverge_add(tpl_diverge *d, const char *name, int classes, double chance) {
    if (d->n == TPL_MAX_TASKS) return;
    d->task[d->n++] = (tpl_diverge_task){.name = name, .chance = chance,
                                         .uniform_loss = log(classes > 1 ? classes : 2),
                                         .best_acc = -1.0};
}

/* The share of the most common label in d. */
static double majority_share(const tpl_dataset *d) {
    long count[256] = {0}, most = 0;
    for (int i = 0; i < d->n; i++)
        if (++count[d->labels[i]] > most) most = count[d->labels[i]];
    return d->n ? (double)most / d->n : 0.0;
}

void tpl_diverge_for_fit(tpl_diverge *d, const tpl_model *m, const tpl_fit_task *tasks, int n,
                         const tpl_fit_options *o, long total) {
    int unsup = o->unsupervised; /* a loss without labels has no scale to hold it to */
    for (int t = 0; t < n; t++) unsup |= tasks[t].unlabelled;
    const tpl_diverge_rule rule = {.factor = unsup ? 0.0f : o->diverge_factor,
                                   .steps = o->diverge_steps,
                                   .warmup = (long)ceil(o->warmup * (double)total),
                                   .accuracy = !unsup};
    tpl_diverge_init(d, &rule);
    for (int t = 0; t < n; t++) {
        const tpl_task_config *c = &m->cfg.task[tasks[t].task];
        tpl_diverge_add(d, c->name, c->classes, majority_share(tasks[t].train));
    }
}

static int diverged(tpl_err *err, long step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int diverged(tpl_err *err, long step, const char *fmt, ...) {
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    tpl_err_set(err, "training diverged at step %ld: %s; try a lower --lr", step, what);
    return -1;
}

/* The loss rule: the smoothed loss far over its best, and over a guess's. */
static int loss_rule(const tpl_diverge *d, tpl_diverge_task *k, long step, double loss,
                     tpl_err *err) {
    const double bound = d->rule.factor * k->best;
    k->smooth = k->steps == 1 ? loss : (1.0 - SMOOTH) * k->smooth + SMOOTH * loss;
    if (k->steps == 1 || k->smooth < k->best) k->best = k->smooth;
    k->over = k->smooth > bound && k->smooth > k->uniform_loss ? k->over + 1 : 0;
    if (k->over < d->rule.steps) return 0;
    return diverged(err, step,
                    "the loss of task '%s' (%.4g, smoothed) has been over %gx its best (%.4g) "
                    "for %d steps",
                    k->name, k->smooth, d->rule.factor, k->best, d->rule.steps);
}

/* The accuracy rule, at the end of each window of the task's steps. */
static int accuracy_rule(const tpl_diverge *d, tpl_diverge_task *k, long step, int correct,
                         int n, tpl_err *err) {
    k->win_correct += correct, k->win_images += n;
    if (++k->win_steps < d->rule.steps) return 0;
    const double acc = k->win_images ? (double)k->win_correct / k->win_images : 0.0;
    const double learned = k->best_acc >= k->chance + LEARNED * (1.0 - k->chance);
    k->win_steps = k->win_correct = k->win_images = 0;
    if (acc > k->best_acc) k->best_acc = acc;
    if (!d->rule.accuracy || step <= d->rule.warmup || !learned ||
        acc > k->chance + AT_CHANCE * (1.0 - k->chance))
        return 0;
    return diverged(err, step,
                    "the training accuracy of task '%s' fell back to chance (%.4f over its last "
                    "%d steps, after %.4f)",
                    k->name, acc, d->rule.steps, k->best_acc);
}

int tpl_diverge_step(tpl_diverge *d, int t, long step, double loss, int correct, int n,
                     tpl_err *err) {
    if (t < 0 || t >= d->n) return 0;
    tpl_diverge_task *k = &d->task[t];
    if (!isfinite(loss))
        return diverged(err, step, "the loss of task '%s' is %g", k->name, loss);
    k->steps++;
    if (d->rule.factor <= 0.0f || d->rule.steps < 1) return 0;
    return loss_rule(d, k, step, loss, err) || accuracy_rule(d, k, step, correct, n, err) ? -1 : 0;
}
