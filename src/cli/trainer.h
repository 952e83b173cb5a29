/* What templar train, transfer and adapt share: the training flags, the
 * tasks' data, and the frame around the library's tpl_fit (progress on
 * stderr, the JSON log, Ctrl-C, the model file, the final report). */
#ifndef TPL_TRAINER_H
#define TPL_TRAINER_H
#include <stdio.h>

#include "args.h"
#include "progress.h"
#include "tasks.h"
#include "train.h"

/* The training flags' table: its entries and the NULL that ends it. */
enum { TRAINER_N_FLAGS = 20, TRAINER_SPECS = TRAINER_N_FLAGS + 1 };

/* Flags of the optimisation, common to the commands that train. */
typedef struct trainer_opts {
    const char *optim, *schedule, *out, *log;
    int batch, epochs, steps, threads, seed, crop_pad, flip, eval_batch, max_memory;
    float lr, logit_lr, momentum, wd, warmup, entropy, tau_end;
    arg_spec specs[TRAINER_SPECS]; /* the table of the flags above */
} trainer_opts;

/* Defaults, and the flag table pointing into o. */
void trainer_defaults(trainer_opts *o);

typedef struct trainer_task {
    tpl_task_data d;
    int model_task;             /* index of the task in the model */
} trainer_task;

typedef struct trainer {
    const trainer_opts *o;
    int multi;                  /* results per task (lines task=NAME ...) */
    int n_tasks;
    trainer_task task[TPL_MAX_TASKS];
    tpl_model *m;               /* owned: freed by trainer_free */
    FILE *log;
    long steps;                 /* trained so far */
    const char *data_meta;      /* the file's "data" metadata; NULL: the tasks' sources */
    int unsupervised;           /* steps ignore labels: information maximisation */
    float diversity;            /* its weight of the mean prediction's entropy */
    progress bar;               /* of the epoch under way */
    char label[64];
} trainer;

/* What a training command does once its flags are parsed and checked. */
typedef int (*trainer_body)(void *flags, trainer *r, tpl_err *err);
/* The frame every training command shares: threads, a writable --out, the
 * log, body, one line "templar CMD: error" on failure.  multi: results per
 * task.  Returns the exit code (0 or 1). */
int trainer_command(const char *cmd, const trainer_opts *o, int multi, trainer_body body,
                    void *flags);

/* Gives the model's tasks their data's class names (those that have some). */
int trainer_name_classes(trainer *r, tpl_err *err);
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
