/* Class names of a model's tasks (templar.h): what predict, eval and
 * inspect print instead of indices, kept with the model and its file. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"

const char *tpl_model_class_name(const tpl_model *m, int task, int k) {
    if (task < 0 || task >= m->cfg.n_tasks || !m->class_names[task] || k < 0 ||
        k >= m->cfg.task[task].classes)
        return NULL;
    return m->class_names[task][k];
}

void tpl_model_clear_class_names(tpl_model *m, int task) {
    char **names = m->class_names[task];
    for (int k = 0; names && k < m->cfg.task[task].classes; k++) free(names[k]);
    free(names);
    m->class_names[task] = NULL;
}

int tpl_model_set_class_names(tpl_model *m, int task, const char *const *names, int n,
                              tpl_err *err) {
    if (task < 0 || task >= m->cfg.n_tasks) {
        tpl_err_set(err, "class names: no task %d (the model has %d)", task, m->cfg.n_tasks);
        return -1;
    }
    const int classes = m->cfg.task[task].classes;
    if (n && n != classes) {
        tpl_err_set(err, "task '%s': %d class names for %d classes", m->cfg.task[task].name, n,
                    classes);
        return -1;
    }
    tpl_model_clear_class_names(m, task);
    if (!n) return 0;
    char **copy = calloc((size_t)classes, sizeof *copy);
    for (int k = 0; copy && k < classes; k++)
        if (!(copy[k] = strdup(names[k] ? names[k] : ""))) {
            for (int j = 0; j < k; j++) free(copy[j]);
            free(copy);
            copy = NULL;
        }
    if (!copy) {
        tpl_err_set(err, "task '%s': out of memory for class names", m->cfg.task[task].name);
        return -1;
    }
    m->class_names[task] = copy;
    return 0;
}

int tpl_model_copy_class_names(tpl_model *to, int t, const tpl_model *from, int f, tpl_err *err) {
    const char *const *names = (const char *const *)from->class_names[f];
    return tpl_model_set_class_names(to, t, names, names ? from->cfg.task[f].classes : 0, err);
}

char *tpl_model_class_names_json(const tpl_model *m, int t) {
    if (!tpl_model_class_name(m, t, 0)) return NULL;
    tpl_buf j = {0};
    tpl_buf_puts(&j, "[");
    for (int k = 0; k < m->cfg.task[t].classes; k++) {
        if (k) tpl_buf_puts(&j, ",");
        tpl_buf_json_string(&j, tpl_model_class_name(m, t, k));
    }
    tpl_buf_put(&j, "]", 2); /* and the NUL */
    if (j.failed) tpl_buf_free(&j);
    return j.p;
}
