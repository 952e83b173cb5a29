/* templar eval: test accuracy of a model file; the file carries its config.
 *
 * The test images of a task: --data DIR (an IDX directory) when given, else
 * the source the file records for the task (templar train --tasks writes the
 * tasks' sources into the "data" metadata), else the built-in task of that
 * name (see tasks.h), else the default IDX directory.  A multi-task model
 * without --task is evaluated on every task: a line each, then their mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "train.h"

static int load_test(const char *recorded, const char *name, const char *data,
                     tpl_task_data *d, tpl_err *err) {
    size_t len;
    const char *spec = recorded ? tpl_task_spec_find(recorded, name, &len) : NULL;
    if (data) return tpl_task_load_idx(name, data, TPL_TASK_TEST, d, err);
    if (spec) return tpl_task_load(spec, len, NULL, TPL_TASK_TEST, d, err);
    if (tpl_task_known(name))
        return tpl_task_load(name, strlen(name), NULL, TPL_TASK_TEST, d, err);
    return tpl_task_load_idx(name, DEFAULT_DATA, TPL_TASK_TEST, d, err);
}

/* Evaluates tasks first .. first + n - 1 into r[0 .. n). */
static int evaluate_tasks(const char *path, tpl_model *m, int first, int n, const char *data,
                          int batch, tpl_step_result *r, tpl_err *err) {
    char *recorded = data ? NULL : cli_recorded_sources(path);
    tpl_batch b;
    int rc = tpl_batch_init(&b, m, batch);
    if (rc) tpl_err_set(err, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        const int t = first + i;
        tpl_task_data d;
        rc = load_test(recorded, m->cfg.task[t].name, data, &d, err) ||
             tpl_dataset_check(m, t, &d.test, d.where, err) ||
             tpl_evaluate(m, t, &d.test, &b, &r[i], err);
        tpl_task_free(&d);
    }
    tpl_batch_free(&b);
    free(recorded);
    return rc;
}

static void print_results(const char *path, const tpl_model *m, int first, int n,
                          const tpl_step_result *r) {
    if (n == 1) {
        printf("model=%s task=%s images=%d test_loss=%.4f test_acc=%.4f\n", path,
               m->cfg.task[first].name, r->n, r->loss, (double)r->correct / r->n);
        return;
    }
    double loss = 0.0, acc = 0.0;
    for (int i = 0; i < n; i++) {
        printf("task=%s images=%d test_loss=%.4f test_acc=%.4f\n", m->cfg.task[first + i].name,
               r[i].n, r[i].loss, (double)r[i].correct / r[i].n);
        loss += r[i].loss;
        acc += (double)r[i].correct / r[i].n;
    }
    printf("model=%s tasks=%d mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n", path, n,
           loss / n, acc / n, acc / n);
}

static int run(int argc, char **argv) {
    const char *data = NULL, *task = NULL, *pos[1];
    int batch = 250, threads = 0, npos;
    const arg_spec specs[] = {
        {"data", ARG_STR, &data, "IDX directory holding the test split of the task evaluated "
                                 "(default: the task's own source)", 0, 0},
        {"task", ARG_STR, &task, "task to evaluate (default: every task of the model)", 0, 0},
        {"batch", ARG_INT, &batch, "batch size", 1, 4096},
        {"threads", ARG_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("eval", "MODEL [flags]", (const arg_spec *const[]){specs, NULL}, argc,
                        argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar eval: which model? (usage: templar eval MODEL [flags])\n");
        return 2;
    }
    cli_set_threads(threads);
    tpl_err err = {{0}};
    tpl_step_result r[TPL_MAX_TASKS];
    tpl_model *m = tpl_model_load(pos[0], &err);
    int first = m && task ? tpl_model_find_task(m, task) : 0, n = task ? 1 : m ? m->cfg.n_tasks : 0;
    if (m && n > 1 && data) {
        fprintf(stderr, "templar eval: --data is the IDX directory of one task: name it with "
                        "--task (the model has %d)\n", n);
        tpl_model_free(m);
        return 2;
    }
    if (first < 0) tpl_err_set(&err, "%s: no task '%s' in the model", pos[0], task);
    rc = !m || first < 0 || evaluate_tasks(pos[0], m, first, n, data, batch, r, &err);
    if (rc) fprintf(stderr, "templar eval: %s\n", err.msg[0] ? err.msg : "out of memory");
    else print_results(pos[0], m, first, n, r);
    tpl_model_free(m);
    return rc ? 1 : 0;
}

const cli_command cli_command_eval = {"eval", 20, "test accuracy of a model's tasks: per class, a confusion matrix", run};
