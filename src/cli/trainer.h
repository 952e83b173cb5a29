/* The training loop that templar train and templar transfer share: tasks
 * in turn, one batch each (round robin), an epoch of progress, the tests,
 * the JSON log and the model file.
 *
 * An epoch is R rounds of one batch per task, R being the largest task's
 * whole batches (its training images / batch); each task walks its own
 * shuffled order and reshuffles when less than a batch is left, so a smaller
 * task is seen several times an epoch.  --steps counts steps over all tasks.
 * One task is the case R = its batches an epoch. */
#ifndef TPL_TRAINER_H
#define TPL_TRAINER_H
#include <stdio.h>

#include "args.h"
#include "tasks.h"
#include "train.h"

/* Flags of the optimisation, common to the commands that train. */
typedef struct trainer_opts {
    const char *optim, *schedule, *out, *log;
    int batch, epochs, steps, threads, seed, crop_pad, flip, eval_batch;
    float lr, logit_lr, momentum, wd, warmup, entropy, tau_end;
} trainer_opts;

#define TRAINER_N_SPECS 19
/* Defaults, then the flag table entries (TRAINER_N_SPECS of them) into specs. */
void trainer_defaults(trainer_opts *o);
void trainer_specs(trainer_opts *o, arg_spec *specs);

typedef struct trainer_task {
    tpl_task_data d;
    int model_task;             /* index of the task in the model */
    tpl_augment aug;
    int *perm;                  /* the task's shuffled order of training images */
    int pos;                    /* next unused place in perm */
    tpl_step_result sum, test;  /* this epoch's training (loss summed over images), last test */
} trainer_task;

typedef struct trainer {
    const trainer_opts *o;
    int multi;                  /* results per task (lines task=NAME ...) */
    int n_tasks;
    trainer_task task[TPL_MAX_TASKS];
    tpl_model *m;               /* owned: freed by trainer_free */
    tpl_optim opt;
    tpl_batch batch;
    FILE *log;
    long step, total, per_epoch;
    float tau_start;            /* the model's tau before annealing */
    double start;
    const char *data_meta;      /* the file's "data" metadata; NULL: the tasks' sources */
    int unsupervised;           /* steps ignore labels: information maximisation */
    float diversity;            /* its weight of the mean prediction's entropy */
} trainer;

/* What a training command does once its flags are parsed and checked. */
typedef int (*trainer_body)(void *flags, trainer *r, tpl_err *err);
/* The frame every training command shares: threads, a writable --out, the
 * log, body, one line "templar CMD: error" on failure.  multi: results per
 * task.  Returns the exit code (0 or 1). */
int trainer_command(const char *cmd, const trainer_opts *o, int multi, trainer_body body,
                    void *flags);

/* Opens the log (if any) and installs the Ctrl-C handler that stops after
 * the current step and saves what was trained. */
int trainer_begin(trainer *r, tpl_err *err);
/* Trains r->m on the tasks (data loaded, model_task set) and saves it. */
int trainer_run(trainer *r, tpl_err *err);
/* Writes the model file (trainer_run does it after training). */
int trainer_save(const trainer *r, tpl_err *err);
/* Tests every task; prints a line each (multi) and the final line. */
int trainer_report(trainer *r, tpl_err *err);
void trainer_free(trainer *r);
/* The tasks' sources joined by commas (malloc'd), as eval reads them back. */
char *trainer_sources(const trainer *r);
#endif
