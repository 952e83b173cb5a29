/* Sorted file lists (see paths.h). */
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

int tpl_ends_with_nocase(const char *name, const char *tail) {
    size_t n = strlen(name), t = strlen(tail);
    if (n < t) return 0;
    for (size_t i = 0; i < t; i++)
        if (lower((unsigned char)name[n - t + i]) != lower((unsigned char)tail[i])) return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_owned(tpl_paths *p, char *s) {
    char **grown = realloc(p->path, sizeof *p->path * (size_t)(p->n + 1));
    if (!grown) return -1;
    p->path = grown;
    p->path[p->n++] = s;
    return 0;
}

int tpl_paths_push(tpl_paths *p, const char *s) {
    char *copy = strdup(s);
    if (copy && push_owned(p, copy) == 0) return 0;
    free(copy);
    return -1;
}

int tpl_paths_find(const tpl_paths *p, const char *s) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->path[i], s)) return i;
    return -1;
}

void tpl_paths_sort(tpl_paths *p) {
    if (p->n > 1) qsort(p->path, (size_t)p->n, sizeof *p->path, cmp_str);
}

void tpl_paths_free(tpl_paths *p) {
    for (int i = 0; i < p->n; i++) free(p->path[i]);
    free(p->path);
    p->n = 0;
    p->path = NULL;
}

/* What an entry of a directory is, links followed: 'f' a regular file,
 * 'd' a directory, 0 anything else (or gone). */
static char kind_of(const char *dir, const char *name) {
    size_t len = strlen(dir) + strlen(name) + 2;
    char *full = malloc(len);
    if (!full) return 0;
    snprintf(full, len, "%s/%s", dir, name);
    struct stat st;
    char k = 0;
    if (stat(full, &st) == 0) k = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 0;
    free(full);
    return k;
}

/* Which entries of dir to keep, and how to name them. */
typedef struct list_rule {
    const char *suffix;            /* exact suffix, or NULL */
    const char *const *suffixes;   /* suffixes without case, or NULL */
    char want;                     /* 'f' or 'd' */
    int full;                      /* name as "dir/name" */
    int hidden;                    /* keep names starting with '.' */
} list_rule;

static int keep(const list_rule *r, const char *dir, const char *name) {
    if (!strcmp(name, ".") || !strcmp(name, "..") || (!r->hidden && name[0] == '.')) return 0;
    if (r->suffix && !ends_with(name, r->suffix)) return 0;
    if (r->suffixes) {
        int any = 0;
        for (const char *const *s = r->suffixes; *s && !any; s++)
            any = tpl_ends_with_nocase(name, *s);
        if (!any) return 0;
    }
    return kind_of(dir, name) == r->want;
}

static int add_entry(tpl_paths *p, const list_rule *r, const char *dir, const char *name) {
    if (!r->full) return tpl_paths_push(p, name);
    size_t len = strlen(dir) + strlen(name) + 2;
    char *full = malloc(len);
    if (!full) return -1;
    snprintf(full, len, "%s/%s", dir, name);
    if (push_owned(p, full) == 0) return 0;
    free(full);
    return -1;
}

static int list(tpl_paths *p, const char *dir, const list_rule *r, tpl_err *err) {
    DIR *d = opendir(dir);
    if (!d) {
        tpl_err_set(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int first = p->n, rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));)
        if (keep(r, dir, e->d_name) && add_entry(p, r, dir, e->d_name)) {
            tpl_err_set(err, "%s: out of memory listing files", dir);
            rc = -1;
        }
    closedir(d);
    if (p->n - first > 1) qsort(p->path + first, (size_t)(p->n - first), sizeof *p->path, cmp_str);
    return rc;
}

int tpl_paths_list(tpl_paths *p, const char *dir, const char *suffix, tpl_err *err) {
    const list_rule r = {.suffix = suffix, .want = 'f', .full = 1, .hidden = 1};
    return list(p, dir, &r, err);
}

int tpl_paths_subdirs(tpl_paths *p, const char *dir, tpl_err *err) {
    const list_rule r = {.want = 'd'};
    return list(p, dir, &r, err);
}

int tpl_paths_files(tpl_paths *p, const char *dir, const char *const *suffixes, tpl_err *err) {
    const list_rule r = {.suffixes = suffixes, .want = 'f'};
    return list(p, dir, &r, err);
}

int tpl_path_join(char *buf, size_t size, const char *a, const char *b, tpl_err *err) {
    int n = snprintf(buf, size, "%s/%s", a, b);
    if (n >= 0 && (size_t)n < size) return 0;
    tpl_err_set(err, "%s: path too long", a);
    return -1;
}

char *tpl_path_absolute(const char *path) {
    if (path[0] == '/') return strdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    size_t len = strlen(cwd) + strlen(path) + 2;
    char *abs = malloc(len);
    if (abs) snprintf(abs, len, "%s/%s", cwd, path);
    return abs;
}
