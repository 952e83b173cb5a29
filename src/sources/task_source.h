/* What a kind of task source provides, for tasks.c's registry (see
 * tasks.h for the specs).  Adding a kind: a file source_KIND.c defining a
 * tpl_source_kind, and one line in tasks.c's table. */
#ifndef TPL_TASK_SOURCE_H
#define TPL_TASK_SOURCE_H
#include "tasks.h"

typedef struct tpl_task_request {
    const char *name;       /* the task's name */
    const char *arg;        /* what follows "KIND:"; NULL for a built-in */
    const tpl_task_opts *o;
} tpl_task_request;

typedef struct tpl_source_kind {
    const char *kind;  /* the word before ':' ("idx"); NULL for sources named alone */
    const char *usage; /* how a spec reads, in messages: "NAME=idx:DIR" */
    /* Sources named alone (the built-ins): 1 when name is one. */
    int (*names)(const char *name);
    /* Loads rq into out (zeroed, name set): the halves asked for, source,
     * where, flip_ok, labelled, class names, and decoded, converted and
     * cache when it converts or caches; tasks.c then applies the options
     * and converts what is not yet of the asked shape. */
    int (*load)(const tpl_task_request *rq, tpl_task_data *out, tpl_err *err);
} tpl_source_kind;

extern const tpl_source_kind tpl_source_builtin, tpl_source_idx, tpl_source_folder,
    tpl_source_csv;

/* ---- helpers for sources ---------------------------------------------------- */

/* A malloc'd, formatted string (NULL when out of memory). */
char *tpl_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets t->source and t->where (taking them; NULL means out of memory:
 * err is set, -1). */
int tpl_task_describe(tpl_task_data *t, char *source, char *where, tpl_err *err);
/* Copies names[0..n) into t's class names. */
/* "NAME=KIND:PATH" with PATH made absolute, so that a model file's record
 * of its data reads the same from any directory; malloc'd, NULL when out of
 * memory. */
char *tpl_task_source_spec(const char *name, const char *kind, const char *path);
int tpl_task_set_class_names(tpl_task_data *t, const char *const *names, int n, tpl_err *err);
/* Appends where to get path from, when path is missing. */
void tpl_task_hint_package(const char *path, const char *package, tpl_err *err);
/* Reads the IDX directory dir into out (named already) as NAME=idx:DIR
 * does; the built-in fashion is read this way too. */
int tpl_task_idx_into(const char *dir, const tpl_task_opts *o, tpl_task_data *out,
                      tpl_err *err);
/* Fashion-MNIST's class names, in label order. */
extern const char *const tpl_fashion_classes[10];
#endif
