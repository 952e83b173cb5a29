/* templar task: one task of a model as a task file (README.md, "Task
 * files"): what `templar serve` adds without a restart (PUT /v1/tasks/NAME)
 * or finds in its --tasks-dir. */
#include <stdio.h>

#include "args.h"
#include "cli.h"
#include "taskfile.h"

static int run(int argc, char **argv) {
    const char *task = NULL, *pos[2];
    int npos;
    const arg_spec specs[] = {
        {"task", ARG_STR, &task, "the task to write (default: the model's only task)", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("task", "MODEL OUT.safetensors [--task T]",
                        (const arg_spec *const[]){specs, NULL}, argc, argv, 2, pos, 2, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 2) {
        fprintf(stderr, "templar task: which model, and where to? (usage: templar task MODEL "
                        "OUT.safetensors [--task T])\n");
        return 2;
    }
    tpl_err err = {{0}};
    if (cli_check_writable(pos[1], &err)) {
        fprintf(stderr, "templar task: %s\n", err.msg);
        return 1;
    }
    tpl_model *m = tpl_model_load(pos[0], &err);
    int t = m && task ? tpl_model_find_task(m, task) : 0;
    if (m && task && t < 0) tpl_err_set(&err, "%s: no task '%s' in the model", pos[0], task);
    else if (m && !task && m->cfg.n_tasks > 1)
        tpl_err_set(&err, "%s: the model has %d tasks: name one with --task", pos[0],
                    m->cfg.n_tasks), t = -1;
    rc = m && t >= 0 ? tpl_taskfile_write(m, t, pos[1], &err) : -1;
    if (rc) {
        fprintf(stderr, "templar task: %s\n", err.msg);
    } else {
        char bank[17];
        tpl_bank_id(m, bank);
        const tpl_task_size s = tpl_task_bytes(m, t);
        printf("model=%s task=%s file=%s bank=%s bytes=%zu\n", pos[0], m->cfg.task[t].name,
               pos[1], bank, tpl_task_size_total(s) + s.bn_stats);
    }
    tpl_model_free(m);
    return rc ? 1 : 0;
}

const cli_command cli_command_task = {"task", 65, "one task of a model as a task file (for serve)", run};
