/* The built-in tasks: fashion (an IDX directory), handwritten and optical
 * (digit sets loaded whole, resized to 28x28, split by the fixed rule). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "task_source.h"

typedef struct builtin {
    const char *name, *path, *package;
    /* the whole set as published; NULL for an IDX directory */
    int (*load)(const char *path, tpl_dataset *out, tpl_err *err);
} builtin;

static int load_sheet(const char *path, tpl_dataset *out, tpl_err *err) {
    return tpl_digits_png_load(path, 20, 5, out, err);
}

static int load_csv(const char *path, tpl_dataset *out, tpl_err *err) {
    return tpl_digits_csv_load(path, 8, 16, out, err);
}

static const builtin builtins[] = {
    {"fashion", TPL_FASHION_DIR, "dataset-fashion-mnist", NULL},
    {"handwritten", TPL_HANDWRITTEN_PNG, "opencv-doc", load_sheet},
    {"optical", TPL_OPTICAL_CSV, "python3-sklearn", load_csv},
};
#define N_BUILTINS ((int)(sizeof builtins / sizeof *builtins))

const char *const tpl_fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                             "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                             "Ankle boot"};
static const char *const digit_classes[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static const builtin *find_builtin(const char *name) {
    for (int i = 0; i < N_BUILTINS; i++)
        if (!strcmp(builtins[i].name, name)) return &builtins[i];
    return NULL;
}

static int is_builtin(const char *name) { return find_builtin(name) != NULL; }

/* A digit set: loaded whole, resized to 28x28, split by the fixed rule. */
static int load_digits(const builtin *b, int halves, tpl_task_data *out, tpl_err *err) {
    if (tpl_task_describe(out, tpl_str_printf("%s", b->name), tpl_str_printf("%s", b->path), err) ||
        tpl_task_set_class_names(out, digit_classes, 10, err))
        return -1;
    tpl_dataset all, sized = {0};
    if (b->load(b->path, &all, err)) {
        tpl_task_hint_package(b->path, b->package, err);
        return -1;
    }
    int rc = tpl_dataset_resize(&all, TPL_TASK_SIDE, TPL_TASK_SIDE, &sized, err);
    tpl_dataset_free(&all);
    if (!rc)
        rc = tpl_dataset_split(&sized, TPL_TASK_TEST_FRACTION, TPL_TASK_SPLIT_SEED, &out->train,
                               &out->test, err);
    tpl_dataset_free(&sized);
    if (rc) return -1;
    if (!(halves & TPL_TASK_TRAIN)) tpl_dataset_free(&out->train);
    if (!(halves & TPL_TASK_TEST)) tpl_dataset_free(&out->test);
    return 0;
}

static int load(const tpl_task_request *rq, tpl_task_data *out, tpl_err *err) {
    const builtin *b = find_builtin(rq->name);
    if (b->load) return load_digits(b, rq->o->halves, out, err);
    const char *dir = rq->o->fashion_dir ? rq->o->fashion_dir : b->path;
    return tpl_task_idx_into(dir, rq->o, out, err);
}

const tpl_source_kind tpl_source_builtin = {
    .kind = NULL,
    .usage = "fashion, handwritten, optical",
    .names = is_builtin,
    .load = load,
};
