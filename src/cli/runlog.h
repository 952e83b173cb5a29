/* The JSON-lines log of a training run (--log FILE):
 *
 *   {"kind":"run","started":"UTC time", ...the run's record (record.h)...}   first
 *   {"kind":"step","step":S,"epoch":E,"lr":X,"elapsed_s":T,
 *    "tasks":{"NAME":{"loss":L,"acc":A},...}}               every --log-every steps:
 *                                                           means since the last
 *   {"kind":"epoch","epoch":E,"step":S,"lr":X,"train_loss":..,"train_acc":..,
 *    "test_loss":..,"test_acc":..,"img_s":..,"elapsed_s":..[,"tasks":{"NAME":
 *    {"train_loss":..,"train_acc":..,"test_loss":..,"test_acc":..}}]}   every epoch
 *
 * A failed write is kept (errno), not ignored: the run stops and says so. */
#ifndef TPL_RUNLOG_H
#define TPL_RUNLOG_H
#include <stdio.h>

#include "templar.h"

typedef struct run_log {
    FILE *f;
    const char *path;
    int error;            /* errno of the first failed write, 0 while none */
    int every;            /* step lines every this many steps (0: none) */
    int multi;            /* per-task results of epochs (multi-task runs) */
    int n_tasks;
    const char *const *names;
    double loss[TPL_MAX_TASKS], acc[TPL_MAX_TASKS];
    int steps[TPL_MAX_TASKS]; /* since the last step line */
} run_log;

/* Opens path (NULL: no log) for a new run, or to go on with a resumed one
 * (append), and writes the record line.  -1 with err set on failure. */
int runlog_open(run_log *l, const char *path, int append, const char *record_json, int every,
                int multi, int n_tasks, const char *const *names, tpl_err *err);
void runlog_step(run_log *l, const tpl_fit_report *r);
void runlog_epoch(run_log *l, const tpl_fit_report *r);
/* Closes the log; -1 with err set when any write failed. */
int runlog_close(run_log *l, tpl_err *err);
#endif
