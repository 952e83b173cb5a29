/* templar export: one task of a model as a standalone plain network
 * (mixtures baked, BN folded into the convs; see export.h), in a model file
 * that eval and predict run like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "export.h"

/* The task's recorded data source, so that eval finds its test images. */
static char *task_source(const char *path, const char *name) {
    char *rec = cli_recorded_sources(path);
    size_t len;
    const char *spec = rec ? tpl_task_spec_find(rec, name, &len) : NULL;
    char *out = spec ? strndup(spec, len) : strdup(tpl_task_known(name) ? name : "");
    free(rec);
    return out;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int run(int argc, char **argv) {
    const char *task = NULL, *pos[2];
    int npos, force = 0;
    const arg_spec specs[] = {
        {"task", ARG_STR, &task, "the task to export (default: the model's only task)", 0, 0},
        {"force", ARG_BOOL, &force, "replace an existing OUT", 0, 1},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("export", "MODEL OUT [--task T]", (const arg_spec *const[]){specs, NULL},
                        argc, argv, 2, pos, 2, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 2) {
        fprintf(stderr, "templar export: which model, and where to? (usage: templar export MODEL OUT [--task T])\n");
        return 2;
    }
    tpl_err err = {{0}};
    if (cli_check_out(pos[1], force, pos[0], &err)) {
        fprintf(stderr, "templar export: %s\n", err.msg);
        return 1;
    }
    tpl_model *m = tpl_model_load(pos[0], &err), *e = NULL;
    int t = m && task ? tpl_model_find_task(m, task) : 0;
    if (m && task && t < 0) tpl_err_set(&err, "%s: no task '%s' in the model", pos[0], task);
    else if (m && !task && m->cfg.n_tasks > 1)
        tpl_err_set(&err, "%s: the model has %d tasks: name one with --task", pos[0],
                    m->cfg.n_tasks), t = -1;
    char *source = m && t >= 0 ? task_source(pos[0], m->cfg.task[t].name) : NULL;
    if (m && t >= 0 && (e = tpl_model_export(m, t, &err))) {
        tpl_st_kv extra[] = {{"exported_from", pos[0]}, {"data", source ? source : ""}};
        rc = tpl_model_save_plain(e, pos[1], extra, 2, &err);
    } else {
        rc = -1;
    }
    if (rc) fprintf(stderr, "templar export: %s\n", err.msg);
    else printf("model=%s task=%s exported=%s file_bytes=%ld model_file_bytes=%ld "
                "(a plain network: mixtures baked, BN folded into biases)\n",
                pos[0], e->cfg.task[0].name, pos[1], file_size(pos[1]), file_size(pos[0]));
    free(source);
    tpl_model_free(e);
    tpl_model_free(m);
    return rc ? 1 : 0;
}

const cli_command cli_command_export = {"export", 50, "one task as a plain network (mixtures baked, BN folded)", run};
