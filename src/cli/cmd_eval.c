/* templar eval: test accuracy of a model file; the file carries its config. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "train.h"

static int find_task(const tpl_model *m, const char *name) {
    for (int t = 0; t < m->cfg.n_tasks; t++)
        if (!strcmp(m->cfg.task[t].name, name)) return t;
    return -1;
}

int cmd_eval(int argc, char **argv) {
    const char *data = DEFAULT_DATA, *task = NULL, *pos[1];
    int batch = 250, threads = 0, npos;
    const arg_spec specs[] = {
        {"data", ARG_STR, &data, "IDX directory holding the test split", 0, 0},
        {"task", ARG_STR, &task, "task to evaluate (default: the model's first)", 0, 0},
        {"batch", ARG_INT, &batch, "batch size", 1, 4096},
        {"threads", ARG_INT, &threads, "threads (0 = all cores)", 0, 1024},
    };
    int rc = args_parse("eval", "MODEL [flags]", specs, sizeof specs / sizeof *specs, argc, argv,
                        2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar eval: which model? (usage: templar eval MODEL [flags])\n");
        return 2;
    }
    cli_set_threads(threads);
    tpl_err err = {{0}};
    tpl_dataset test = {0};
    tpl_batch b = {0};
    tpl_step_result r;
    tpl_model *m = tpl_model_load(pos[0], &err);
    int t = m && task ? find_task(m, task) : 0;
    if (t < 0) tpl_err_set(&err, "%s: no task '%s' in the model", pos[0], task);
    rc = !m || t < 0 || tpl_idx_load_dir(data, "test", &test, &err) ||
         tpl_dataset_check(m, t, &test, data, &err) || tpl_batch_init(&b, m, batch) ||
         tpl_evaluate(m, t, &test, &b, &r, &err);
    if (rc) fprintf(stderr, "templar eval: %s\n", err.msg[0] ? err.msg : "out of memory");
    else printf("model=%s task=%s images=%d test_loss=%.4f test_acc=%.4f\n", pos[0],
                m->cfg.task[t].name, r.n, r.loss, (double)r.correct / r.n);
    tpl_batch_free(&b);
    tpl_dataset_free(&test);
    tpl_model_free(m);
    return rc ? 1 : 0;
}
