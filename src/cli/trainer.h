/* What templar train, transfer and adapt share: the training flags, the
 * tasks' data, and the frame around the library's tpl_fit (progress on
 * stderr, the JSON log, Ctrl-C, the model file, the final report). */
#ifndef TPL_TRAINER_H
#define TPL_TRAINER_H
#include <stdio.h>

#include "args.h"
#include "progress.h"
#include "record.h"
#include "runlog.h"
#include "tasks.h"
#include "train.h"

/* The training flags' table: its entries and the NULL that ends it. */
enum { TRAINER_N_FLAGS = 30, TRAINER_SPECS = TRAINER_N_FLAGS + 1 };

/* Flags of the optimisation and the run, common to the commands that train. */
typedef struct trainer_opts {
    const char *optim, *schedule, *out, *log, *resume, *precision;
    int batch, epochs, steps, threads, seed, crop_pad, flip, eval_batch;
    int save_every, log_every, force, max_memory;
    int task_parallel, sync_bn;    /* several processes: ranks.h */
    float lr, logit_lr, momentum, wd, warmup, entropy, tau_end;
    float rotate, scale, jitter;   /* augmentation beside crop_pad and flip (tpl_augment) */
    arg_spec specs[TRAINER_SPECS]; /* the table of the flags above */
    /* set by the command, not by flags */
    const char *protect;           /* a file --out may never replace (transfer's --from) */
    char default_out[512];         /* --out when none is given */
} trainer_opts;

/* Defaults, and the flag table pointing into o. */
void trainer_defaults(trainer_opts *o);

typedef struct trainer_task {
    tpl_task_data d;
    int model_task;             /* index of the task in the model */
    int unlabelled;             /* trained without its labels (tpl_fit_task.unlabelled) */
} trainer_task;

typedef struct trainer {
    const trainer_opts *o;
    const char *cmd;
    const char *out;            /* --out, or the command's default */
    int multi;                  /* results per task (lines task=NAME ...) */
    int n_tasks;
    trainer_task task[TPL_MAX_TASKS];
    tpl_model *m;               /* owned: freed by trainer_free */
    run_log log;
    run_record record;
    const arg_spec *const *tables; /* the command's flags, for the record */
    int argc;
    char **argv;
    long steps;                 /* trained so far */
    int save_failed;            /* a checkpoint could not be written: stop */
    const char *data_meta;      /* the file's "data" metadata; NULL: the tasks' sources */
    int unsupervised;           /* steps ignore labels: information maximisation */
    int no_infomax;             /* without labels, no information maximisation */
    float diversity;            /* its weight of the mean prediction's entropy */
    float pseudo;               /* > 0: beside it, self-training on pseudo-labels (tpl_fit) */
    float moments;              /* > 0: moment matching to tasks moments_from (tpl_fit) */
    int moments_from[TPL_MAX_TASKS], n_moments_from;
    progress bar;               /* of the epoch under way */
    int bar_on;
    char label[64];
    const char *names[TPL_MAX_TASKS]; /* the tasks' names, for the log */
} trainer;

/* What a training command does once its flags are parsed and checked. */
typedef int (*trainer_body)(void *flags, trainer *r, tpl_err *err);
/* The frame every training command shares: threads, an --out it may write
 * (never over an existing file without --force, never over o->protect),
 * body, one line "templar CMD: error" on failure.  argv is the command
 * line (recorded), tables its flags.  multi: results per task.  Returns the
 * exit code: 0, 1 on failure, 130 or 143 when SIGINT or SIGTERM stopped
 * the training (after saving where it stood). */
int trainer_command(const char *cmd, int argc, char **argv, const arg_spec *const *tables,
                    const trainer_opts *o, int multi, trainer_body body, void *flags);
/* A training command's main: --resume's recorded command line merged in,
 * its own flags (own, a NULL-ended table) and the training flags parsed,
 * then prepare (usage checks, default --out, what --out must not replace,
 * multi: results per task; returns 0, or the exit code of a usage error),
 * then body in trainer_command's frame.  Returns the exit code. */
typedef int (*trainer_prepare)(void *flags, trainer_opts *o, int *multi);
int trainer_main(const char *cmd, const char *usage, int argc, char **argv, const arg_spec *own,
                 trainer_opts *o, trainer_prepare prepare, trainer_body body, void *flags);
/* The default --out: "[FROM+]NAME+NAME.safetensors" from the task names of
 * a --tasks-style list (and a --from model's file name), into o. */
void trainer_default_out(trainer_opts *o, const char *from, const char *tasks);

/* Options that load a task in model m's input shape (tasks.h). */
void trainer_task_opts(const tpl_model *m, const char *fashion_dir, tpl_task_opts *o);
/* Loads spec[0..len) into task t (see tasks.h) and says on stderr how many
 * of its images were resized or converted to the shape asked for. */
int trainer_load_task(trainer *r, int t, const char *spec, size_t len, const tpl_task_opts *o,
                      tpl_err *err);
/* Gives the model's tasks their data's class names (those that have some). */
int trainer_name_classes(trainer *r, tpl_err *err);
/* Trains r->m on the tasks (data loaded, model_task set) and saves it. */
int trainer_run(trainer *r, tpl_err *err);
/* Writes the model file (trainer_run does it after training). */
int trainer_save(trainer *r, tpl_err *err);
/* Tests every task; prints a line each (multi) and the final line. */
int trainer_report(trainer *r, tpl_err *err);
void trainer_free(trainer *r);
/* The tasks' sources joined by commas (malloc'd), as eval reads them back. */
char *trainer_sources(const trainer *r);
#endif
