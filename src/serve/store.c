/* The task store (see store.h): a sorted array of tasks under one mutex. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "fileio.h"
#include "taskfile.h"

#define SUFFIX ".safetensors"

struct serve_store {
    pthread_mutex_t mu;
    pthread_mutex_t writers; /* one PUT or DELETE at a time: files and table agree */
    const tpl_model *bank;
    char bank_id[17];
    char *dir;
    serve_task **tasks;      /* sorted by name */
    int n, cap;
    uint64_t next_id;
    size_t trunk_floats, folded_floats;
    int last_width;
};

const char *serve_store_bank(const serve_store *s) { return s->bank_id; }

static void task_free(serve_task *t) {
    if (!t) return;
    for (int k = 0; t->class_names && k < t->classes; k++) free(t->class_names[k]);
    free(t->class_names);
    free(t->trunk);
    free(t->head_w);
    free(t->head_b);
    free(t);
}

/* A task from a raw trunk, head and names (the names and head taken over). */
static serve_task *task_make(serve_store *s, const char *name, tpl_task_file *f) {
    serve_task *t = calloc(1, sizeof *t);
    float *folded = malloc(sizeof(float) * s->folded_floats);
    if (!t || !folded) {
        free(t), free(folded);
        return NULL;
    }
    tpl_trunk_fold(s->bank, f->trunk, folded);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->classes = f->classes;
    t->trunk = folded;
    t->head_w = f->head_w, t->head_b = f->head_b, t->class_names = f->class_names;
    f->head_w = f->head_b = NULL, f->class_names = NULL;
    t->bytes = sizeof *t + sizeof(float) * (s->folded_floats + (size_t)t->classes * (s->last_width + 1));
    for (int k = 0; t->class_names && k < t->classes; k++) t->bytes += strlen(t->class_names[k]) + 1;
    t->refs = 1;
    return t;
}

/* ---- the table (under mu) ---------------------------------------------------- */

/* Index of name, or -(insertion point) - 1. */
static int find(const serve_store *s, const char *name) {
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(s->tasks[mid]->name, name);
        if (!c) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

static void unref(serve_task *t) {
    if (--t->refs == 0) task_free(t);
}

/* Puts t under its name; the one it replaces (if any) is dropped.  -1 when
 * out of memory. */
static int table_put(serve_store *s, serve_task *t) {
    t->id = ++s->next_id;
    int i = find(s, t->name);
    if (i >= 0) {
        unref(s->tasks[i]);
        s->tasks[i] = t;
        return 0;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        serve_task **grown = realloc(s->tasks, sizeof *grown * (size_t)cap);
        if (!grown) return -1;
        s->tasks = grown, s->cap = cap;
    }
    i = -i - 1;
    memmove(s->tasks + i + 1, s->tasks + i, sizeof *s->tasks * (size_t)(s->n - i));
    s->tasks[i] = t;
    s->n++;
    return 0;
}

serve_task *serve_store_get(serve_store *s, const char *name) {
    pthread_mutex_lock(&s->mu);
    int i = find(s, name);
    serve_task *t = i >= 0 ? s->tasks[i] : NULL;
    if (t) t->refs++;
    pthread_mutex_unlock(&s->mu);
    return t;
}

void serve_store_release(serve_store *s, serve_task *t) {
    if (!t) return;
    pthread_mutex_lock(&s->mu);
    unref(t);
    pthread_mutex_unlock(&s->mu);
}

int serve_store_count(serve_store *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- loading ------------------------------------------------------------------ */

static int add_model_tasks(serve_store *s, tpl_err *err) {
    const tpl_model *m = s->bank;
    for (int t = 0; t < m->cfg.n_tasks; t++) {
        tpl_task_file f = {.classes = m->cfg.task[t].classes};
        const size_t head = (size_t)f.classes * s->last_width;
        f.trunk = malloc(sizeof(float) * s->trunk_floats);
        f.head_w = malloc(sizeof(float) * head);
        f.head_b = malloc(sizeof(float) * (size_t)f.classes);
        if (tpl_model_class_name(m, t, 0) && (f.class_names = calloc((size_t)f.classes, sizeof(char *))))
            for (int k = 0; k < f.classes; k++) f.class_names[k] = strdup(tpl_model_class_name(m, t, k));
        serve_task *task = NULL;
        if (f.trunk && f.head_w && f.head_b) {
            tpl_trunk_get(m, t, f.trunk);
            memcpy(f.head_w, tpl_params_data(&m->params, m->task[t].head_w), sizeof(float) * head);
            memcpy(f.head_b, tpl_params_data(&m->params, m->task[t].head_b), sizeof(float) * f.classes);
            task = task_make(s, m->cfg.task[t].name, &f);
        }
        tpl_task_file_free(&f);
        if (!task || table_put(s, task)) {
            task_free(task);
            tpl_err_set(err, "out of memory loading the model's tasks");
            return -1;
        }
        task->from_model = 1;
    }
    return 0;
}

/* The name a directory entry serves under, or 0 when it is not a task file. */
static int entry_name(const char *file, char *name) {
    const size_t n = strlen(file), k = strlen(SUFFIX);
    if (n <= k || n - k >= TPL_NAME_LEN || strcmp(file + n - k, SUFFIX)) return 0;
    memcpy(name, file, n - k);
    name[n - k] = 0;
    return tpl_task_name_valid(name);
}

static char *path_of(const serve_store *s, const char *name, const char *suffix) {
    const size_t n = strlen(s->dir) + strlen(name) + strlen(suffix) + 4;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s", s->dir, name, suffix);
    return p;
}

/* Reads path as task name: a new task, or NULL with err. */
static serve_task *load_file(serve_store *s, const char *path, const char *name, tpl_err *err) {
    tpl_task_file f;
    if (tpl_taskfile_read(path, s->bank, s->bank_id, &f, err)) return NULL;
    serve_task *t = task_make(s, name, &f);
    tpl_task_file_free(&f);
    if (!t) tpl_err_set(err, "%s: out of memory", path);
    return t;
}

static int add_dir_tasks(serve_store *s, tpl_err *err) {
    DIR *d = opendir(s->dir);
    if (!d) {
        tpl_err_set(err, "%s: cannot open the tasks directory (%s)", s->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        char name[TPL_NAME_LEN];
        if (!entry_name(e->d_name, name)) continue;
        char *path = path_of(s, name, SUFFIX);
        serve_task *t = path ? load_file(s, path, name, err) : NULL;
        int i = find(s, name);
        if (t && i >= 0 && s->tasks[i]->from_model) {
            tpl_err_set(err, "%s: the model file has a task '%s' already", path, name);
            task_free(t), t = NULL;
        }
        if (!path) tpl_err_set(err, "out of memory");
        if (!t || table_put(s, t)) rc = -1;
        free(path);
    }
    closedir(d);
    return rc;
}

serve_store *serve_store_create(const tpl_model *bank, const char *dir, tpl_err *err) {
    serve_store *s = calloc(1, sizeof *s);
    if (!s || (dir && !(s->dir = strdup(dir)))) {
        free(s);
        tpl_err_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->writers, NULL);
    s->bank = bank;
    tpl_bank_id(bank, s->bank_id);
    s->trunk_floats = tpl_trunk_floats(bank);
    s->folded_floats = tpl_trunk_folded_floats(bank);
    s->last_width = bank->cfg.stage[bank->cfg.n_stages - 1].width;
    if (add_model_tasks(s, err) || (dir && add_dir_tasks(s, err))) {
        serve_store_free(s);
        return NULL;
    }
    return s;
}

void serve_store_free(serve_store *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) unref(s->tasks[i]);
    free(s->tasks);
    free(s->dir);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->writers);
    free(s);
}

/* ---- changes ---------------------------------------------------------------- */

typedef struct bytes {
    const void *p;
    size_t n;
} bytes;

static int write_bytes(FILE *fp, const void *ctx) {
    const bytes *b = ctx;
    return fwrite(b->p, 1, b->n, fp) == b->n ? 0 : -1;
}

/* Whether name is one of the model file's tasks (which cannot change). */
static int is_model_task(serve_store *s, const char *name) {
    pthread_mutex_lock(&s->mu);
    int i = find(s, name), model = i >= 0 && s->tasks[i]->from_model;
    pthread_mutex_unlock(&s->mu);
    return model;
}

static int no_dir(tpl_err *err) {
    tpl_err_set(err, "the server was started without --tasks-dir: tasks cannot change");
    return 409;
}

/* Staged as DIR/.NAME.upload (a dot file: never served), read back with
 * every check, then renamed into place: the tasks directory only ever
 * holds whole, valid task files. */
int serve_store_put(serve_store *s, const char *name, const void *body, size_t len, tpl_err *err) {
    if (!s->dir) return no_dir(err);
    if (is_model_task(s, name)) {
        tpl_err_set(err, "task '%s' comes with the model file: give the new one another name", name);
        return 409;
    }
    char *stage = path_of(s, ".", name), *path = path_of(s, name, SUFFIX);
    char *upload = stage ? malloc(strlen(stage) + 8) : NULL;
    int status = 500;
    pthread_mutex_lock(&s->writers);
    if (!upload || !path) {
        tpl_err_set(err, "out of memory");
        goto done;
    }
    snprintf(upload, strlen(stage) + 8, "%s.upload", stage);
    const bytes b = {body, len};
    if (tpl_write_atomic(upload, write_bytes, &b, err)) goto done;
    tpl_err inner;
    serve_task *t = load_file(s, upload, name, &inner);
    if (!t) {
        unlink(upload);
        const char *why = strchr(inner.msg, ':'); /* the staging path means nothing to a client */
        tpl_err_set(err, "task file refused%s", why ? why : inner.msg);
        status = strstr(inner.msg, "another bank") ? 409 : 400;
        goto done;
    }
    if (rename(upload, path)) {
        tpl_err_set(err, "%s: cannot rename into place (%s)", path, strerror(errno));
        unlink(upload);
        task_free(t);
        goto done;
    }
    tpl_sync_dir(s->dir);
    pthread_mutex_lock(&s->mu);
    const int existed = find(s, name) >= 0;
    if (table_put(s, t)) {
        task_free(t);
        tpl_err_set(err, "out of memory");
    } else {
        status = existed ? 200 : 201;
    }
    pthread_mutex_unlock(&s->mu);
done:
    pthread_mutex_unlock(&s->writers);
    free(stage), free(path), free(upload);
    return status;
}

int serve_store_delete(serve_store *s, const char *name, tpl_err *err) {
    if (!s->dir) return no_dir(err);
    if (is_model_task(s, name)) {
        tpl_err_set(err, "task '%s' comes with the model file and cannot be removed", name);
        return 409;
    }
    char *path = path_of(s, name, SUFFIX);
    if (!path) {
        tpl_err_set(err, "out of memory");
        return 500;
    }
    int status = 200;
    pthread_mutex_lock(&s->writers);
    pthread_mutex_lock(&s->mu);
    int i = find(s, name);
    pthread_mutex_unlock(&s->mu);
    if (i < 0) {
        tpl_err_set(err, "no task '%s'", name);
        status = 404;
    } else if (unlink(path) && errno != ENOENT) {
        tpl_err_set(err, "%s: cannot remove (%s)", path, strerror(errno));
        status = 500;
    } else {
        tpl_sync_dir(s->dir);
        pthread_mutex_lock(&s->mu);
        i = find(s, name);
        if (i >= 0) {
            unref(s->tasks[i]);
            memmove(s->tasks + i, s->tasks + i + 1, sizeof *s->tasks * (size_t)(s->n - i - 1));
            s->n--;
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&s->writers);
    free(path);
    return status;
}

/* ---- JSON ------------------------------------------------------------------- */

void serve_task_json(const serve_task *t, tpl_buf *b) {
    tpl_buf_puts(b, "{\"name\":");
    tpl_buf_json_string(b, t->name);
    tpl_buf_printf(b, ",\"classes\":%d,\"class_names\":", t->classes);
    if (!t->class_names) tpl_buf_puts(b, "null");
    for (int k = 0; t->class_names && k < t->classes; k++) {
        tpl_buf_puts(b, k ? "," : "[");
        tpl_buf_json_string(b, t->class_names[k]);
    }
    if (t->class_names) tpl_buf_puts(b, "]");
    tpl_buf_printf(b, ",\"bytes\":%zu,\"source\":\"%s\"}", t->bytes,
                   t->from_model ? "model" : "tasks-dir");
}

void serve_store_json(serve_store *s, tpl_buf *b) {
    tpl_buf_printf(b, "{\"bank\":\"%s\",\"tasks\":[", s->bank_id);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++) {
        if (i) tpl_buf_puts(b, ",");
        serve_task_json(s->tasks[i], b);
    }
    pthread_mutex_unlock(&s->mu);
    tpl_buf_puts(b, "]}\n");
}
