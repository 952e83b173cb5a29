/* The JSON-lines log of templar train, transfer and adapt, read back for
 * plotting.  Three kinds of line, each a JSON object (unknown keys and
 * unknown kinds are passed over):
 *   {"kind":"run","command":...}                       the run record
 *   {"kind":"step","step":S,"tasks":{"T":{"loss":L,"acc":A},...}}
 *                                   means over the steps since the last one
 *   {"kind":"epoch","step":S,"train_loss":..,"train_acc":..,"test_loss":..,
 *    "test_acc":..,"tasks":{"T":{"train_loss":..,...}}}  after each epoch
 * Logs from before the kinds have epoch lines only, with "epoch" and no
 * "kind".  A line that is not a JSON object (the last line of a killed
 * run) is skipped and counted; a value that is null or missing leaves its
 * point out.  When a step repeats an earlier one (a run resumed from a
 * checkpoint and logging on), the later points replace what followed it. */
#ifndef TPL_TRAINLOG_H
#define TPL_TRAINLOG_H
#include <stddef.h>

#include "templar.h"

/* One curve: y against the step x, x increasing. */
typedef struct tpl_series {
    double *x, *y;
    int n, cap;
} tpl_series;

typedef enum {
    TPL_LOG_STEP_LOSS, TPL_LOG_STEP_ACC,   /* from step lines */
    TPL_LOG_TRAIN_LOSS, TPL_LOG_TRAIN_ACC, /* from epoch lines */
    TPL_LOG_TEST_LOSS, TPL_LOG_TEST_ACC,
    TPL_LOG_N_SERIES
} tpl_log_series;

typedef struct tpl_log_task {
    char *name; /* NULL: the task of a single-task log, whose lines name none */
    tpl_series s[TPL_LOG_N_SERIES];
} tpl_log_task;

typedef struct tpl_trainlog {
    char *command;      /* the run record's "command", or NULL */
    tpl_log_task *task; /* in order of first appearance */
    int n_tasks;
    int lines;          /* step and epoch lines that gave points */
    int skipped;        /* lines skipped: not JSON objects, or no step */
    int first_skipped;  /* the first one's number, from 1 */
    char why[200];      /* and what was wrong with it */
} tpl_trainlog;

/* Reads text[0..len), a log named where (for messages), into *log (freed by
 * the caller, also on failure).  Fails only when no line gives a point (an
 * empty file, or not a log) or memory runs out; err says so in one line. */
int tpl_trainlog_parse(tpl_trainlog *log, const char *text, size_t len, const char *where,
                       tpl_err *err);
/* The same from a file (at most TPL_TRAINLOG_MAX_BYTES). */
#define TPL_TRAINLOG_MAX_BYTES ((size_t)1 << 30)
int tpl_trainlog_read(tpl_trainlog *log, const char *path, tpl_err *err);
void tpl_trainlog_free(tpl_trainlog *log);
/* Points of all series. */
long tpl_trainlog_points(const tpl_trainlog *log);
#endif
