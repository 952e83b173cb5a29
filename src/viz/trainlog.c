/* Reading a training log back (see trainlog.h): a line at a time through
 * the JSON cursor, into a record, then into the tasks' series. */
#include "trainlog.h"

#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one line --------------------------------------------------------------- */

enum { F_LOSS, F_ACC, F_TRAIN_LOSS, F_TRAIN_ACC, F_TEST_LOSS, F_TEST_ACC, N_FIELDS };
static const char *const field_name[N_FIELDS] = {"loss",      "acc",      "train_loss",
                                                 "train_acc", "test_loss", "test_acc"};

typedef struct values {
    double v[N_FIELDS]; /* NaN where absent */
} values;

typedef struct task_values {
    char *name;
    values val;
} task_values;

typedef struct record {
    char *kind;        /* NULL: none (an old log's line) */
    int has_step, has_epoch;
    double step;
    values top;        /* the line's own fields: a single-task log's */
    char *command;     /* a run record's */
    task_values *tasks;
    int n_tasks, cap;
    int oom;
} record;

static void values_clear(values *v) {
    for (int f = 0; f < N_FIELDS; f++) v->v[f] = NAN;
}

static void record_free(record *r) {
    free(r->kind);
    free(r->command);
    for (int t = 0; t < r->n_tasks; t++) free(r->tasks[t].name);
    free(r->tasks);
}

/* A number, or NaN for null and for values of other types (passed over). */
static int number(tpl_json *j, double *out) {
    const int c = tpl_json_peek(j);
    const size_t start = j->pos;
    *out = NAN;
    if (tpl_json_skip(j)) return -1;
    if (c != '-' && (c < '0' || c > '9')) return 0;
    char buf[64]; /* the cursor has checked the syntax; longer is no plausible log value */
    const size_t n = j->pos - start;
    if (n >= sizeof buf) return 0;
    memcpy(buf, j->s + start, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

/* An object's members, key by key: each key to member(j, key, ctx), which
 * consumes the value. */
typedef int (*member_fn)(tpl_json *j, const char *key, void *ctx);

static int members(tpl_json *j, member_fn member, void *ctx) {
    int count = 0, more;
    if (tpl_json_open(j, '{')) return -1;
    while ((more = tpl_json_more(j, '}', &count)) == 1) {
        char *key = NULL;
        if (tpl_json_string(j, &key) || tpl_json_colon(j)) {
            free(key);
            return -1;
        }
        const int rc = member(j, key, ctx);
        free(key);
        if (rc) return -1;
    }
    return more;
}

static int value_member(tpl_json *j, const char *key, void *ctx) {
    values *v = ctx;
    for (int f = 0; f < N_FIELDS; f++)
        if (!strcmp(key, field_name[f])) return number(j, &v->v[f]);
    return tpl_json_skip(j);
}

static int task_member(tpl_json *j, const char *key, void *ctx) {
    record *r = ctx;
    if (tpl_json_peek(j) != '{') return tpl_json_skip(j);
    if (r->n_tasks == r->cap) {
        const int cap = r->cap ? 2 * r->cap : 8;
        task_values *p = realloc(r->tasks, (size_t)cap * sizeof *p);
        if (!p) return r->oom = 1, -1;
        r->tasks = p, r->cap = cap;
    }
    task_values *t = &r->tasks[r->n_tasks];
    values_clear(&t->val);
    if (members(j, value_member, &t->val)) return -1;
    if (!(t->name = strdup(key))) return r->oom = 1, -1;
    r->n_tasks++;
    return 0;
}

/* "command": a string, or an array of strings (joined with spaces). */
static int command(tpl_json *j, record *r) {
    const int c = tpl_json_peek(j);
    free(r->command);
    r->command = NULL;
    if (c == '"') return tpl_json_string(j, &r->command);
    if (c != '[') return tpl_json_skip(j);
    tpl_buf b = {0};
    int count = 0, more;
    if (tpl_json_open(j, '[')) return -1;
    while ((more = tpl_json_more(j, ']', &count)) == 1) {
        char *arg = NULL;
        if (tpl_json_peek(j) != '"') {
            if (tpl_json_skip(j)) break;
            continue;
        }
        if (tpl_json_string(j, &arg)) break;
        if (b.len) tpl_buf_put(&b, " ", 1);
        tpl_buf_puts(&b, arg);
        free(arg);
    }
    if (more || b.failed) {
        r->oom |= b.failed;
        tpl_buf_free(&b);
        return -1;
    }
    tpl_buf_put(&b, "", 1);
    r->command = b.p;
    return 0;
}

static int record_member(tpl_json *j, const char *key, void *ctx) {
    record *r = ctx;
    if (!strcmp(key, "kind")) {
        if (tpl_json_peek(j) != '"') return tpl_json_skip(j);
        free(r->kind);
        r->kind = NULL;
        return tpl_json_string(j, &r->kind);
    }
    if (!strcmp(key, "step")) {
        if (number(j, &r->step)) return -1;
        r->has_step = isfinite(r->step) && r->step >= 0;
        return 0;
    }
    if (!strcmp(key, "epoch")) {
        r->has_epoch = 1;
        return tpl_json_skip(j);
    }
    if (!strcmp(key, "tasks")) return tpl_json_peek(j) == '{' ? members(j, task_member, r)
                                                               : tpl_json_skip(j);
    if (!strcmp(key, "command")) return command(j, r);
    return value_member(j, key, &r->top);
}

/* ---- the log ------------------------------------------------------------------ */

static int series_add(tpl_series *s, double x, double y) {
    if (!isfinite(y)) return 0;
    while (s->n > 0 && s->x[s->n - 1] >= x) s->n--; /* resumed: later points win */
    if (s->n == s->cap) {
        const int cap = s->cap ? 2 * s->cap : 64;
        double *px = realloc(s->x, (size_t)cap * sizeof *px);
        if (!px) return -1;
        s->x = px;
        double *py = realloc(s->y, (size_t)cap * sizeof *py);
        if (!py) return -1;
        s->y = py, s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

/* The task named name (NULL: the unnamed one), added if new; NULL if out of
 * memory. */
static tpl_log_task *task_of(tpl_trainlog *log, const char *name) {
    for (int t = 0; t < log->n_tasks; t++) {
        const char *have = log->task[t].name;
        if (name ? have && !strcmp(have, name) : !have) return &log->task[t];
    }
    tpl_log_task *p = realloc(log->task, (size_t)(log->n_tasks + 1) * sizeof *p);
    if (!p) return NULL;
    log->task = p;
    tpl_log_task *t = &p[log->n_tasks];
    *t = (tpl_log_task){0};
    if (name && !(t->name = strdup(name))) return NULL;
    log->n_tasks++;
    return t;
}

/* A task's values at the record's step into its series: from a step line,
 * the loss and accuracy since the last; from an epoch line, the epoch's.
 * Returns the points added, or -1 if out of memory. */
static int add_values(tpl_trainlog *log, const char *name, const values *v, int step_line,
                      double x) {
    static const int from_step[][2] = {{F_LOSS, TPL_LOG_STEP_LOSS}, {F_ACC, TPL_LOG_STEP_ACC}};
    static const int from_epoch[][2] = {{F_TRAIN_LOSS, TPL_LOG_TRAIN_LOSS},
                                        {F_TRAIN_ACC, TPL_LOG_TRAIN_ACC},
                                        {F_TEST_LOSS, TPL_LOG_TEST_LOSS},
                                        {F_TEST_ACC, TPL_LOG_TEST_ACC}};
    const int(*map)[2] = step_line ? from_step : from_epoch;
    const int n = step_line ? 2 : 4;
    int any = 0;
    for (int i = 0; i < n; i++) any |= isfinite(v->v[map[i][0]]);
    if (!any) return 0; /* a task that logged nothing here gets no entry */
    tpl_log_task *t = task_of(log, name);
    if (!t) return -1;
    int added = 0;
    for (int i = 0; i < n; i++) {
        if (series_add(&t->s[map[i][1]], x, v->v[map[i][0]])) return -1;
        added += isfinite(v->v[map[i][0]]);
    }
    return added;
}

static void skip_line(tpl_trainlog *log, int line, const char *why) {
    if (!log->skipped++) {
        log->first_skipped = line;
        snprintf(log->why, sizeof log->why, "%s", why);
    }
}

/* One line's record into the log; -1 only when out of memory. */
static int take(tpl_trainlog *log, record *r, int line) {
    const int step_line = r->kind && !strcmp(r->kind, "step");
    const int epoch_line = r->kind ? !strcmp(r->kind, "epoch") : r->has_epoch;
    if (r->kind && !strcmp(r->kind, "run")) {
        if (!log->command && r->command) log->command = r->command, r->command = NULL;
        return 0;
    }
    if (!step_line && !epoch_line) return 0; /* a kind of line this reader does not plot */
    if (!r->has_step) {
        skip_line(log, line, "no \"step\"");
        return 0;
    }
    /* multi-task lines also carry means over the tasks: the tasks' own
     * values are the ones to draw */
    int added = 0;
    for (int t = 0; t <= r->n_tasks; t++) {
        const int k = t < r->n_tasks ? add_values(log, r->tasks[t].name, &r->tasks[t].val,
                                                  step_line, r->step)
                      : r->n_tasks ? 0 : add_values(log, NULL, &r->top, step_line, r->step);
        if (k < 0) return -1;
        added += k;
    }
    log->lines += added > 0;
    return 0;
}

static int parse_line(tpl_trainlog *log, const char *s, size_t len, int line) {
    tpl_json j;
    record r = {0};
    values_clear(&r.top);
    tpl_json_init(&j, s, len);
    if (tpl_json_peek(&j) != '{') {
        skip_line(log, line, "not a JSON object");
        return 0;
    }
    int rc = 0;
    if (members(&j, record_member, &r) || tpl_json_end(&j)) {
        if (r.oom) rc = -1;
        else skip_line(log, line, j.err);
    } else {
        rc = take(log, &r, line);
    }
    record_free(&r);
    return rc;
}

/* A single-task run names its task on step lines but not on epoch lines:
 * one named task and the unnamed one are the same task. */
static void merge_unnamed(tpl_trainlog *log) {
    int unnamed = -1, named = -1, n_named = 0;
    for (int t = 0; t < log->n_tasks; t++)
        if (log->task[t].name) named = t, n_named++;
        else unnamed = t;
    if (unnamed < 0 || n_named != 1) return;
    tpl_log_task *from = &log->task[unnamed], *to = &log->task[named];
    for (int k = 0; k < TPL_LOG_N_SERIES; k++)
        if (!to->s[k].n) {
            tpl_series tmp = to->s[k];
            to->s[k] = from->s[k], from->s[k] = tmp;
        }
    long left = 0;
    for (int k = 0; k < TPL_LOG_N_SERIES; k++) left += from->s[k].n;
    if (left) return;
    for (int k = 0; k < TPL_LOG_N_SERIES; k++) free(from->s[k].x), free(from->s[k].y);
    memmove(from, from + 1, (size_t)(log->n_tasks - unnamed - 1) * sizeof *from);
    log->n_tasks--;
}

int tpl_trainlog_parse(tpl_trainlog *log, const char *text, size_t len, const char *where,
                       tpl_err *err) {
    *log = (tpl_trainlog){0};
    int line = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        const size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        size_t n = end - at;
        while (n > 0 && (text[at + n - 1] == '\r' || text[at + n - 1] == ' ')) n--;
        if (n > 0 && parse_line(log, text + at, n, line)) {
            tpl_err_set(err, "%s: out of memory", where);
            return -1;
        }
        at = end + 1;
    }
    merge_unnamed(log);
    if (!log->lines) {
        if (!line) tpl_err_set(err, "%s: empty, not a training log", where);
        else if (log->skipped)
            tpl_err_set(err, "%s: no training records (line %d: %s): not a templar log?", where,
                        log->first_skipped, log->why);
        else tpl_err_set(err, "%s: no training records: not a templar log?", where);
        return -1;
    }
    return 0;
}

int tpl_trainlog_read(tpl_trainlog *log, const char *path, tpl_err *err) {
    *log = (tpl_trainlog){0};
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tpl_err_set(err, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    tpl_buf b = {0};
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0 && b.len <= TPL_TRAINLOG_MAX_BYTES)
        tpl_buf_put(&b, chunk, n);
    const int bad = ferror(fp);
    fclose(fp);
    int rc = -1;
    if (bad) tpl_err_set(err, "%s: cannot read (%s)", path, strerror(errno));
    else if (b.failed) tpl_err_set(err, "%s: out of memory", path);
    else if (b.len > TPL_TRAINLOG_MAX_BYTES)
        tpl_err_set(err, "%s: larger than %zu MiB, not a training log", path,
                    TPL_TRAINLOG_MAX_BYTES >> 20);
    else rc = tpl_trainlog_parse(log, b.p ? b.p : "", b.len, path, err);
    tpl_buf_free(&b);
    return rc;
}

void tpl_trainlog_free(tpl_trainlog *log) {
    for (int t = 0; t < log->n_tasks; t++) {
        free(log->task[t].name);
        for (int k = 0; k < TPL_LOG_N_SERIES; k++) {
            free(log->task[t].s[k].x);
            free(log->task[t].s[k].y);
        }
    }
    free(log->task);
    free(log->command);
    *log = (tpl_trainlog){0};
}

long tpl_trainlog_points(const tpl_trainlog *log) {
    long n = 0;
    for (int t = 0; t < log->n_tasks; t++)
        for (int k = 0; k < TPL_LOG_N_SERIES; k++) n += log->task[t].s[k].n;
    return n;
}
