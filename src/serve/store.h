/* The task store: every task the server answers for, by name.  Each task
 * is held folded for inference (binding.h: its trunk, a few KB) with its
 * head and class names; tasks come from the model file and from the tasks
 * directory (NAME.safetensors, task files), and are added, replaced and
 * removed while the server runs.  A task handed out is counted, so one
 * removed or replaced mid-request lives until its last request is done.
 * Thread-safe. */
#ifndef TPL_SERVE_STORE_H
#define TPL_SERVE_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "model.h"

typedef struct serve_task {
    char name[TPL_NAME_LEN];
    uint64_t id;            /* unique to this load of the task: its binding id */
    int classes;
    int from_model;         /* comes with the model file, not the tasks directory */
    float *trunk;           /* folded (tpl_trunk_folded_floats) */
    float *head_w, *head_b; /* [classes][last width], [classes] */
    char **class_names;     /* [classes], or NULL */
    size_t bytes;           /* what it holds */
    int refs;               /* the store's own, and one per request holding it */
} serve_task;

typedef struct serve_store serve_store;

/* The model's tasks, then every DIR/NAME.safetensors (dir may be NULL).  A
 * task file that cannot be read fails the start, naming it. */
serve_store *serve_store_create(const tpl_model *bank, const char *dir, tpl_err *err);
void serve_store_free(serve_store *s);
const char *serve_store_bank(const serve_store *s); /* 16 hex digits */
int serve_store_count(serve_store *s);
/* The task called name with a reference for the caller, or NULL. */
serve_task *serve_store_get(serve_store *s, const char *name);
void serve_store_release(serve_store *s, serve_task *t);
/* A task file's bytes, validated against the bank (renamed name), written
 * atomically to DIR/name.safetensors and served from now on: 201 new, 200
 * replaced, or the 4xx/5xx with err. */
int serve_store_put(serve_store *s, const char *name, const void *body, size_t len, tpl_err *err);
/* Removes task name and its file: 200, or 404/409/500 with err. */
int serve_store_delete(serve_store *s, const char *name, tpl_err *err);
/* One task as JSON: name, classes, class names, bytes. */
void serve_task_json(const serve_task *t, tpl_buf *b);
/* {"bank": ID, "tasks": [...]} */
void serve_store_json(serve_store *s, tpl_buf *b);
#endif
