/* NAME=csv:FILE: a list of images, one per line, "path,label[,split]".
 *
 *   path   the image (PNG or JPEG, found by its first bytes), relative to
 *          the CSV file's directory unless absolute
 *   label  a class name, or an integer 0..254: when every label is an
 *          integer, the label is the class (classes = 1 + the largest),
 *          else the class names sorted (strcmp order) number the classes;
 *          empty on every line (or no column at all): unlabelled (tasks.h)
 *   split  train or test (any case); without the column, the seeded split
 *
 * The first line may be a header, "path,label[,split]" (any case).  Every
 * line has the first's number of fields; blank lines are skipped, spaces
 * around fields dropped, a field may be in double quotes (to hold a comma;
 * "" is a quote), and a UTF-8 byte order mark and "\r\n" endings are fine.
 * With a split column, a class name that no train line has is an error.
 * Errors name the line: "FILE:LINE: problem". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageset.h"
#include "paths.h"
#include "task_source.h"

#define MAX_FIELDS 3

typedef struct row {
    int line;
    char *field[MAX_FIELDS]; /* into the row's own copy of its line */
    char *text;
} row;

typedef struct table {
    const char *file;
    int n, cap, cols;
    row *r;
} table;

static void table_free(table *t) {
    for (int i = 0; i < t->n; i++) free(t->r[i].text);
    free(t->r);
    memset(t, 0, sizeof *t);
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int same_word(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b)) return 0;
    return !*a && !*b;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Splits line in place into fields; returns their count, -1 for an
 * unclosed quote, MAX_FIELDS + 1 for too many. */
static int split_fields(char *line, char **f) {
    int n = 0;
    char *r = line;
    for (;;) {
        while (*r == ' ' || *r == '\t') r++;
        char *start = r, *w = r;
        if (*r == '"') {
            for (r++;; r++) {
                if (!*r) return -1;
                if (*r == '"' && r[1] == '"') *w++ = '"', r++;
                else if (*r == '"') break;
                else *w++ = *r;
            }
            r++;
            while (*r && *r != ',') r++;
        } else {
            while (*r && *r != ',') *w++ = *r++;
        }
        const char end = *r;
        *w = '\0';
        if (n == MAX_FIELDS) return MAX_FIELDS + 1;
        f[n++] = *start == '"' ? start : trim(start);
        if (!end) return n;
        r++;
    }
}

static int is_header(char **f, int n) {
    static const char *const words[MAX_FIELDS] = {"path", "label", "split"};
    for (int i = 0; i < n; i++)
        if (!same_word(f[i], words[i])) return 0;
    return 1;
}

static int grow(table *t) {
    if (t->n < t->cap) return 0;
    int cap = t->cap ? 2 * t->cap : 256;
    row *r = realloc(t->r, sizeof *r * (size_t)cap);
    if (!r) return -1;
    t->r = r, t->cap = cap;
    return 0;
}

/* The fields of one line, or 0 for a blank one; -1 (err set) when it cannot
 * be read. */
static int fields_of(const table *t, char *text, int number, char **f, tpl_err *err) {
    int n = *trim(text) ? split_fields(text, f) : 0;
    if (n < 0) tpl_err_set(err, "%s:%d: a quote is not closed", t->file, number);
    if (n > MAX_FIELDS) tpl_err_set(err, "%s:%d: more than %d fields (path,label,split)",
                                    t->file, number, MAX_FIELDS);
    return n > MAX_FIELDS ? -1 : n;
}

/* One line into t (blank lines and the header skipped). */
static int add_line(table *t, const char *line, int number, tpl_err *err) {
    char *text = strdup(line), *f[MAX_FIELDS];
    if (!text) {
        tpl_err_set(err, "%s: out of memory", t->file);
        return -1;
    }
    const int n = fields_of(t, text, number, f, err);
    const int header = n > 0 && t->n == 0 && !t->cols && is_header(f, n);
    if (n <= 0 || header) {
        free(text);
        if (header) t->cols = n;
        return n < 0 ? -1 : 0;
    }
    if (t->cols && n != t->cols) {
        free(text);
        tpl_err_set(err, "%s:%d: %d field%s, but %s %d", t->file, number, n, n > 1 ? "s" : "",
                    t->n ? "the first line has" : "the header has", t->cols);
        return -1;
    }
    if (grow(t)) {
        free(text);
        tpl_err_set(err, "%s: out of memory", t->file);
        return -1;
    }
    row *r = &t->r[t->n++];
    *r = (row){.line = number, .text = text};
    for (int i = 0; i < n; i++) r->field[i] = f[i];
    t->cols = n;
    return 0;
}

static int read_table(const char *file, table *t, tpl_err *err) {
    memset(t, 0, sizeof *t);
    t->file = file;
    FILE *fp = fopen(file, "r");
    if (!fp) {
        tpl_err_set(err, "%s: %s", file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int number = 1; !rc && getline(&line, &cap, fp) >= 0; number++) {
        char *s = line;
        if (number == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3; /* byte order mark */
        rc = add_line(t, s, number, err);
    }
    free(line);
    fclose(fp);
    if (!rc && t->n == 0) {
        tpl_err_set(err, "%s: no images listed (lines path,label[,split])", file);
        rc = -1;
    }
    if (rc) table_free(t);
    return rc;
}

/* ---- labels -------------------------------------------------------------------- */

static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

static int half_of(const table *t, const row *r, tpl_err *err) {
    if (t->cols < 3) return TPL_HALF_SPLIT;
    if (same_word(r->field[2], "train")) return TPL_HALF_TRAIN;
    if (same_word(r->field[2], "test")) return TPL_HALF_TEST;
    tpl_err_set(err, "%s:%d: split '%s' is not train or test", t->file, r->line, r->field[2]);
    return -1;
}

/* Class names of the rows' labels (train rows only, with a split column). */
static int name_classes(const table *t, tpl_paths *names, tpl_err *err) {
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->r[i];
        if (half_of(t, r, err) == TPL_HALF_TEST || tpl_paths_find(names, r->field[1]) >= 0)
            continue;
        if (tpl_paths_push(names, r->field[1])) {
            tpl_err_set(err, "%s: out of memory", t->file);
            return -1;
        }
    }
    tpl_paths_sort(names);
    return 0;
}

/* Integer labels: "0".."max" as names. */
static int number_classes(const table *t, tpl_paths *names, tpl_err *err) {
    long top = 0;
    for (int i = 0; i < t->n; i++) {
        const long v = strtol(t->r[i].field[1], NULL, 10);
        if (v > TPL_TASK_MAX_CLASSES - 1 || strlen(t->r[i].field[1]) > 9) {
            tpl_err_set(err, "%s:%d: label %s is more than %d (labels are bytes)", t->file,
                        t->r[i].line, t->r[i].field[1], TPL_TASK_MAX_CLASSES - 1);
            return -1;
        }
        if (v > top) top = v;
    }
    for (long k = 0; k <= top; k++) {
        char s[24];
        snprintf(s, sizeof s, "%ld", k);
        if (tpl_paths_push(names, s)) {
            tpl_err_set(err, "%s: out of memory", t->file);
            return -1;
        }
    }
    return 0;
}

/* 1 labelled, 0 not, -1 on an error (some lines with labels, some without). */
static int labelled(const table *t, tpl_err *err) {
    if (t->cols < 2) return 0;
    int with = 0;
    for (int i = 0; i < t->n; i++) with += *t->r[i].field[1] != '\0';
    if (with == 0 || with == t->n) return with > 0;
    for (int i = 0; i < t->n; i++)
        if (!*t->r[i].field[1]) {
            tpl_err_set(err, "%s:%d: no label, but other lines have one", t->file, t->r[i].line);
            break;
        }
    return -1;
}

/* ---- the list ------------------------------------------------------------------ */

/* The image path of a row: as written when absolute, else from dir. */
static int row_path(const char *dir, const char *p, char *out, size_t size) {
    int n = p[0] == '/' ? snprintf(out, size, "%s", p) : snprintf(out, size, "%s/%s", dir, p);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int label_of(const table *t, const row *r, const tpl_paths *names, int numbers,
                    tpl_err *err) {
    if (numbers) return (int)strtol(r->field[1], NULL, 10);
    int k = tpl_paths_find(names, r->field[1]);
    if (k < 0)
        tpl_err_set(err, "%s:%d: label '%s' is on no train line", t->file, r->line, r->field[1]);
    return k;
}

static int build_list(const table *t, const char *dir, int is_labelled, const tpl_paths *names,
                      int numbers, tpl_image_list *l, tpl_err *err) {
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->r[i];
        char path[PATH_MAX];
        int half = half_of(t, r, err);
        int label = is_labelled ? label_of(t, r, names, numbers, err) : 0;
        if (half < 0 || label < 0) return -1;
        if (!*r->field[0] || row_path(dir, r->field[0], path, sizeof path)) {
            tpl_err_set(err, "%s:%d: %s", t->file, r->line, *r->field[0] ? "path too long" : "no path");
            return -1;
        }
        if (tpl_image_list_add(l, path, label, half)) {
            tpl_err_set(err, "%s: out of memory", t->file);
            return -1;
        }
    }
    return 0;
}

/* The directory of file ("." when it has none). */
static char *dir_of(const char *file) {
    const char *slash = strrchr(file, '/');
    if (!slash) return strdup(".");
    if (slash == file) return strdup("/");
    return strndup(file, (size_t)(slash - file));
}

static int list_csv(const char *file, const tpl_task_opts *o, tpl_image_list *l,
                    tpl_paths *names, tpl_err *err) {
    table t;
    if (read_table(file, &t, err)) return -1;
    char *dir = dir_of(file);
    int lab = labelled(&t, err), numbers = 1, rc = lab < 0 || !dir;
    if (!dir) tpl_err_set(err, "%s: out of memory", file);
    if (!rc && lab == 0 && !o->unlabelled_ok) {
        tpl_err_set(err, "%s: no labels (lines path[,,split]); images without classes load "
                    "only where labels are not needed", file);
        rc = -1;
    }
    for (int i = 0; !rc && lab && i < t.n; i++) numbers &= all_digits(t.r[i].field[1]);
    if (!rc && lab) rc = numbers ? number_classes(&t, names, err) : name_classes(&t, names, err);
    if (!rc && names->n > TPL_TASK_MAX_CLASSES) {
        tpl_err_set(err, "%s: %d classes, at most %d", file, names->n, TPL_TASK_MAX_CLASSES);
        rc = -1;
    }
    if (!rc) rc = build_list(&t, dir, lab, names, numbers, l, err);
    l->labelled = lab > 0;
    if (!rc && !(l->root = strdup(dir))) {
        tpl_err_set(err, "%s: out of memory", file);
        rc = -1;
    }
    free(dir);
    table_free(&t);
    return rc ? -1 : 0;
}

static int load(const tpl_task_request *rq, tpl_task_data *out, tpl_err *err) {
    return tpl_image_source_load(rq, "csv", list_csv, out, err);
}

const tpl_source_kind tpl_source_csv = {
    .kind = "csv",
    .usage = "NAME=csv:FILE",
    .names = NULL,
    .load = load,
};
