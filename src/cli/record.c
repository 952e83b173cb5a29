/* A run's record, and --resume's command line (see record.h). */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "safetensors.h"

/* Whether argv[i] is --resume (with its value next) or --resume=FILE;
 * *value is the file. */
static int is_resume(int argc, char **argv, int i, const char **value) {
    if (!strcmp(argv[i], "--resume")) {
        *value = i + 1 < argc ? argv[i + 1] : NULL;
        return 2;
    }
    if (!strncmp(argv[i], "--resume=", 9)) {
        *value = argv[i] + 9;
        return 1;
    }
    return 0;
}

int record_make(run_record *rec, int argc, char **argv, const arg_spec *const *tables,
                const char *data, int threads) {
    tpl_buf a = {0}, b = {0};
    tpl_buf_puts(&a, "[");
    int first = 1;
    for (int i = 1; i < argc; i++) {
        const char *skip;
        int n = is_resume(argc, argv, i, &skip);
        if (n) {
            i += n - 1;
            continue;
        }
        if (!first) tpl_buf_puts(&a, ",");
        tpl_buf_json_string(&a, argv[i]);
        first = 0;
    }
    tpl_buf_put(&a, "]", 2);
    tpl_buf_puts(&b, "{\"templar\":");
    tpl_buf_json_string(&b, TEMPLAR_VERSION);
    tpl_buf_printf(&b, ",\"command\":%s,\"flags\":", a.failed ? "[]" : a.p);
    static const char *const not_settings[] = {"resume", NULL}; /* where, not how */
    args_json(tables, not_settings, &b);
    tpl_buf_printf(&b, ",\"threads\":%d,\"data\":", threads);
    tpl_buf_json_string(&b, data ? data : "");
    tpl_buf_put(&b, "}", 2);
    if (a.failed || b.failed) {
        tpl_buf_free(&a), tpl_buf_free(&b);
        *rec = (run_record){0};
        return -1;
    }
    *rec = (run_record){a.p, b.p};
    return 0;
}

void record_free(run_record *rec) {
    free(rec->argv_json);
    free(rec->json);
    *rec = (run_record){0};
}

/* The strings of a JSON array, malloc'd, into *out (n of them). */
static int json_strings(const char *text, char ***out, int *n) {
    tpl_json j;
    tpl_json_init(&j, text, strlen(text));
    int count = 0, more, cap = 0;
    char **v = NULL;
    *n = 0;
    if (tpl_json_open(&j, '[')) return -1;
    while ((more = tpl_json_more(&j, ']', &count)) == 1) {
        if (*n == cap) {
            char **g = realloc(v, sizeof *g * (size_t)(cap = cap ? 2 * cap : 16));
            if (!g) break;
            v = g;
        }
        if (tpl_json_string(&j, &v[*n])) break;
        (*n)++;
    }
    *out = v;
    return more == 0 && !tpl_json_end(&j) ? 0 : -1;
}

char *record_command_line(const char *argv_json) {
    char **v = NULL;
    int n = 0;
    tpl_buf b = {0};
    if (!json_strings(argv_json, &v, &n)) {
        tpl_buf_puts(&b, "templar");
        for (int i = 0; i < n; i++)
            tpl_buf_printf(&b, strpbrk(v[i], " \t'\"") ? " '%s'" : " %s", v[i]);
        tpl_buf_put(&b, "", 1);
    }
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
    if (b.failed) tpl_buf_free(&b);
    return b.p;
}

int record_resume_argv(int argc, char **argv, int *out_argc, char ***out_argv, tpl_err *err) {
    const char *file = NULL;
    *out_argc = argc, *out_argv = argv;
    for (int i = 2; i < argc && !file; i++) is_resume(argc, argv, i, &file);
    if (!file) return 0;
    tpl_st_file *f = tpl_st_open(file, err);
    const char *cmd = f ? tpl_st_meta(f, "command") : NULL;
    char **rec = NULL;
    int n = 0, rc = -1;
    if (f && !cmd)
        tpl_err_set(err, "--resume: %s records no command line to continue", file);
    else if (f && json_strings(cmd, &rec, &n))
        tpl_err_set(err, "--resume: %s: metadata 'command' is malformed", file);
    else if (f && (n < 1 || strcmp(rec[0], argv[1])))
        tpl_err_set(err, "--resume: %s is a run of 'templar %s', not of 'templar %s'", file,
                    n ? rec[0] : "?", argv[1]);
    else if (f)
        rc = 0;
    tpl_st_close(f);
    char **merged = rc ? NULL : malloc(sizeof *merged * (size_t)(n + argc));
    if (!rc && !merged) tpl_err_set(err, "--resume: out of memory"), rc = -1;
    if (rc) {
        for (int i = 0; i < n; i++) free(rec[i]);
        free(rec);
        return -1;
    }
    /* the program and the recorded command line, then this one's arguments,
     * every string the merged list's own */
    int ok = (merged[0] = strdup(argv[0])) != NULL;
    for (int i = 0; i < n; i++) merged[1 + i] = rec[i];
    for (int i = 2; i < argc; i++) ok &= (merged[n + i - 1] = strdup(argv[i])) != NULL;
    free(rec);
    *out_argc = n + argc - 1;
    *out_argv = merged;
    if (!ok) {
        record_free_argv(*out_argc, merged, argv);
        *out_argc = argc, *out_argv = argv;
        tpl_err_set(err, "--resume: out of memory");
        return -1;
    }
    return 0;
}

void record_free_argv(int argc, char **argv, char **orig) {
    if (argv == orig) return;
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
}
