/* NAME=idx:DIR: an IDX directory in the MNIST layout (data.h), its images
 * as they are.  Also how the built-in fashion is read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_source.h"

/* The halves asked for; labels may be missing where they are not needed. */
static int load_halves(const char *dir, const tpl_task_opts *o, tpl_task_data *out,
                       tpl_err *err) {
    int labelled[2] = {1, 1};
    const int need = !o->unlabelled_ok;
    if (((o->halves & TPL_TASK_TRAIN) &&
         tpl_idx_load_dir_opt(dir, "train", need, &out->train, &labelled[0], err)) ||
        ((o->halves & TPL_TASK_TEST) &&
         tpl_idx_load_dir_opt(dir, "test", need, &out->test, &labelled[1], err)))
        return -1;
    out->labelled = labelled[0] && labelled[1];
    if (!out->labelled) { /* one half without labels: neither counts */
        for (int i = 0; i < out->train.n; i++) out->train.labels[i] = 0;
        for (int i = 0; i < out->test.n; i++) out->test.labels[i] = 0;
        out->train.classes = out->train.n ? 1 : 0;
        out->test.classes = out->test.n ? 1 : 0;
    }
    return 0;
}

int tpl_task_idx_into(const char *dir, const tpl_task_opts *o, tpl_task_data *out,
                      tpl_err *err) {
    const int fashion = !strcmp(out->name, "fashion");
    if (tpl_task_describe(out, tpl_task_source_spec(out->name, "idx", dir),
                          tpl_str_printf("%s", dir), err))
        return -1;
    /* the built-in set, wherever it is read from: its classes survive a mirror */
    out->flip_ok = fashion;
    if (load_halves(dir, o, out, err)) {
        if (!strcmp(dir, TPL_FASHION_DIR))
            tpl_task_hint_package(dir, "dataset-fashion-mnist", err);
        return -1;
    }
    /* its names only where the data is its ten classes */
    const int classes = out->train.classes > out->test.classes ? out->train.classes
                                                               : out->test.classes;
    if (fashion && out->labelled && classes == 10 &&
        tpl_task_set_class_names(out, tpl_fashion_classes, 10, err))
        return -1;
    return 0;
}

int tpl_task_load_idx(const char *name, const char *dir, int halves, tpl_task_data *out,
                      tpl_err *err) {
    tpl_task_opts o;
    tpl_task_opts_default(&o);
    o.halves = halves;
    memset(out, 0, sizeof *out);
    snprintf(out->name, TPL_NAME_LEN, "%s", name);
    out->labelled = 1;
    if (tpl_task_idx_into(dir, &o, out, err)) {
        tpl_task_free(out);
        return -1;
    }
    return 0;
}

static int load(const tpl_task_request *rq, tpl_task_data *out, tpl_err *err) {
    return tpl_task_idx_into(rq->arg, rq->o, out, err);
}

const tpl_source_kind tpl_source_idx = {
    .kind = "idx",
    .usage = "NAME=idx:DIR",
    .names = NULL,
    .load = load,
};
