/* Task sources: specs ("fashion", "optical", "a=idx:DIR") into train and
 * test datasets.  See tasks.h for the list and its rules. */
#include "tasks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digits.h"

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

static const builtin *find_builtin(const char *name) {
    for (int i = 0; i < N_BUILTINS; i++)
        if (!strcmp(builtins[i].name, name)) return &builtins[i];
    return NULL;
}

int tpl_task_known(const char *name) { return find_builtin(name) != NULL; }

/* A malloc'd, formatted string (NULL when out of memory). */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Appends where to get path from, when path is missing. */
static void hint_package(const char *path, const char *package, tpl_err *err) {
    if (!err || access(path, F_OK) == 0) return;
    size_t n = strnlen(err->msg, sizeof err->msg);
    snprintf(err->msg + n, sizeof err->msg - n,
             " (it comes with the Debian package %s: apt-get install %s)", package, package);
}

void tpl_task_free(tpl_task_data *t) {
    if (!t) return;
    free(t->source);
    free(t->where);
    tpl_dataset_free(&t->train);
    tpl_dataset_free(&t->test);
    memset(t, 0, sizeof *t);
}

/* Names the task and records its source; the datasets stay empty. */
static int task_begin(tpl_task_data *out, const char *name, char *source, char *where,
                      tpl_err *err) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, TPL_NAME_LEN, "%s", name);
    out->source = source;
    out->where = where;
    if (source && where) return 0;
    tpl_task_free(out);
    tpl_err_set(err, "task '%s': out of memory", name);
    return -1;
}

int tpl_task_load_idx(const char *name, const char *dir, int halves, tpl_task_data *out,
                      tpl_err *err) {
    if (task_begin(out, name, str_printf("%s=idx:%s", name, dir), str_printf("%s", dir), err))
        return -1;
    out->flip_ok = 1;
    if (((halves & TPL_TASK_TRAIN) && tpl_idx_load_dir(dir, "train", &out->train, err)) ||
        ((halves & TPL_TASK_TEST) && tpl_idx_load_dir(dir, "test", &out->test, err))) {
        if (!strcmp(dir, TPL_FASHION_DIR)) hint_package(dir, builtins[0].package, err);
        tpl_task_free(out);
        return -1;
    }
    return 0;
}

/* A digit set: loaded whole, resized to 28x28, split by the fixed rule. */
static int load_digits(const builtin *b, int halves, tpl_task_data *out, tpl_err *err) {
    if (task_begin(out, b->name, str_printf("%s", b->name), str_printf("%s", b->path), err))
        return -1;
    tpl_dataset all, sized = {0};
    if (b->load(b->path, &all, err)) {
        hint_package(b->path, b->package, err);
        tpl_task_free(out);
        return -1;
    }
    int rc = tpl_dataset_resize(&all, TPL_TASK_SIDE, TPL_TASK_SIDE, &sized, err);
    tpl_dataset_free(&all);
    if (!rc)
        rc = tpl_dataset_split(&sized, TPL_TASK_TEST_FRACTION, TPL_TASK_SPLIT_SEED, &out->train,
                               &out->test, err);
    tpl_dataset_free(&sized);
    if (rc) {
        tpl_task_free(out);
        return -1;
    }
    if (!(halves & TPL_TASK_TRAIN)) tpl_dataset_free(&out->train);
    if (!(halves & TPL_TASK_TEST)) tpl_dataset_free(&out->test);
    return 0;
}

static void unknown_task(const char *name, tpl_err *err) {
    char known[256] = "";
    size_t n = 0;
    for (int i = 0; i < N_BUILTINS && n < sizeof known; i++)
        n += (size_t)snprintf(known + n, sizeof known - n, "%s, ", builtins[i].name);
    tpl_err_set(err, "unknown task '%s' (known: %sor NAME=idx:DIR)", name, known);
}

int tpl_task_spec_check(const char *spec, size_t len, tpl_err *err) {
    size_t nl = tpl_task_spec_name(spec, len);
    char name[TPL_NAME_LEN];
    if (nl == 0 || nl >= TPL_NAME_LEN) {
        tpl_err_set(err, "task '%.*s': a task name is 1-%d characters", (int)len, spec,
                    TPL_NAME_LEN - 1);
        return -1;
    }
    memcpy(name, spec, nl);
    name[nl] = '\0';
    const char *src = spec + nl + 1;
    size_t sl = nl < len ? len - nl - 1 : 0;
    if (nl < len && (sl <= 4 || memcmp(src, "idx:", 4))) {
        tpl_err_set(err, "task '%s': unknown source '%.*s' (use %s=idx:DIR)", name, (int)sl, src,
                    name);
        return -1;
    }
    if (nl == len && !find_builtin(name)) {
        unknown_task(name, err);
        return -1;
    }
    return 0;
}

int tpl_task_load(const char *spec, size_t len, const char *fashion_dir, int halves,
                  tpl_task_data *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (tpl_task_spec_check(spec, len, err)) return -1;
    size_t nl = tpl_task_spec_name(spec, len);
    char name[TPL_NAME_LEN];
    memcpy(name, spec, nl);
    name[nl] = '\0';
    if (nl < len) { /* NAME=idx:DIR */
        char *dir = strndup(spec + nl + 5, len - nl - 5);
        int rc = dir ? tpl_task_load_idx(name, dir, halves, out, err) : -1;
        if (!dir) tpl_err_set(err, "task '%s': out of memory", name);
        free(dir);
        return rc;
    }
    const builtin *b = find_builtin(name);
    if (b->load) return load_digits(b, halves, out, err);
    return tpl_task_load_idx(name, fashion_dir ? fashion_dir : b->path, halves, out, err);
}

size_t tpl_task_spec_name(const char *spec, size_t len) {
    const char *eq = memchr(spec, '=', len);
    return eq ? (size_t)(eq - spec) : len;
}

const char *tpl_task_spec_find(const char *list, const char *name, size_t *len) {
    size_t want = strlen(name);
    for (const char *s = list; *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (tpl_task_spec_name(s, n) == want && !memcmp(s, name, want)) {
            *len = n;
            return s;
        }
        if (!comma) break;
        s = comma + 1;
    }
    return NULL;
}
