/* Divergence: a run that got worse and stays worse.  tpl_fit hands every
 * step's loss and accuracy to a detector, which fails the run with a
 * message saying what it saw (tpl_fit_options: diverge_factor,
 * diverge_steps).  A task diverges when
 *   - its loss is not finite;
 *   - its loss, smoothed over about ten of its steps, stays over `factor`
 *     times the best smoothed loss it had and over the loss of a uniform
 *     guess (log of its classes) for `steps` of its steps in a row;
 *   - after warm-up, its training accuracy over a window of `steps` of its
 *     steps is back at chance (within 5 % of the way from chance to 1),
 *     after a window that had learned something (a quarter of that way).
 *     Chance is the share of its most common class, what always guessing it
 *     scores.
 * Healthy runs wobble far less: the loss rules watch the trend, not one
 * batch, and the accuracy rule needs a fall from learned to chance. */
#ifndef TPL_DIVERGE_H
#define TPL_DIVERGE_H
#include "templar.h"

typedef struct tpl_diverge_rule {
    float factor;       /* loss over factor x its best ...; 0: only non-finite losses */
    int steps;          /* ... for this many of the task's steps; the accuracy window */
    long warmup;        /* steps (of the run) before the accuracy rule applies */
    int accuracy;       /* the accuracy rule applies (not when labels do not train) */
} tpl_diverge_rule;

typedef struct tpl_diverge_task {
    const char *name;
    double chance;              /* accuracy of always guessing the most common class */
    double uniform_loss;        /* log(classes) */
    double smooth, best;        /* the smoothed loss and its lowest value */
    long steps, over;           /* the task's steps; steps in a row over the bound */
    long win_steps, win_correct, win_images;  /* the accuracy window under way */
    double best_acc;            /* of the windows so far; -1 before the first */
} tpl_diverge_task;

typedef struct tpl_diverge {
    tpl_diverge_rule rule;
    int n;
    tpl_diverge_task task[TPL_MAX_TASKS];
} tpl_diverge;

void tpl_diverge_init(tpl_diverge *d, const tpl_diverge_rule *rule);
/* Adds task n of the detector: its name (kept, not copied), classes, and
 * its chance accuracy. */
void tpl_diverge_add(tpl_diverge *d, const char *name, int classes, double chance);
/* A detector for tpl_fit's tasks and options, over total steps. */
void tpl_diverge_for_fit(tpl_diverge *d, const tpl_model *m, const tpl_fit_task *tasks, int n,
                         const tpl_fit_options *o, long total);
/* Step `step` (1-based, of the run) trained task t: its mean loss and
 * correct answers of n images.  0, or -1 with err: "training diverged at
 * step S: ...; try a lower --lr". */
int tpl_diverge_step(tpl_diverge *d, int t, long step, double loss, int correct, int n,
                     tpl_err *err);
#endif
