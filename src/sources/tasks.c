/* Task sources: specs ("fashion", "a=idx:DIR", "b=folder:DIR,flip") into
 * train and test datasets, through a registry of source kinds.  See tasks.h
 * for the list and its rules. */
#include "tasks.h"

#include "paths.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task_source.h"

/* Every kind of source; a new kind is a file and a line here. */
static const tpl_source_kind *const kinds[] = {
    &tpl_source_builtin,
    &tpl_source_idx,
    &tpl_source_folder,
    &tpl_source_csv,
    NULL,
};

/* The option words, and what each sets flip_ok to. */
static const struct {
    const char *word;
    int flip;
} options[] = {{"flip", 1}, {"noflip", 0}};
#define N_OPTIONS ((int)(sizeof options / sizeof *options))

/* ---- helpers shared by the sources ---------------------------------------------- */

char *tpl_str_printf(const char *fmt, ...) {
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

char *tpl_task_source_spec(const char *name, const char *kind, const char *path) {
    char *abs = tpl_path_absolute(path);
    char *spec = abs ? tpl_str_printf("%s=%s:%s", name, kind, abs) : NULL;
    free(abs);
    return spec;
}

int tpl_task_describe(tpl_task_data *t, char *source, char *where, tpl_err *err) {
    free(t->source);
    free(t->where);
    t->source = source;
    t->where = where;
    if (source && where) return 0;
    tpl_err_set(err, "task '%s': out of memory", t->name);
    return -1;
}

int tpl_task_set_class_names(tpl_task_data *t, const char *const *names, int n, tpl_err *err) {
    char **copy = calloc((size_t)(n > 0 ? n : 1), sizeof *copy);
    int ok = copy != NULL;
    for (int i = 0; ok && i < n; i++) ok = (copy[i] = strdup(names[i])) != NULL;
    if (!ok) {
        for (int i = 0; copy && i < n; i++) free(copy[i]);
        free(copy);
        tpl_err_set(err, "task '%s': out of memory", t->name);
        return -1;
    }
    for (int i = 0; i < t->n_class_names; i++) free(t->class_names[i]);
    free(t->class_names);
    t->class_names = copy;
    t->n_class_names = n;
    return 0;
}

void tpl_task_hint_package(const char *path, const char *package, tpl_err *err) {
    if (!err || access(path, F_OK) == 0) return;
    size_t n = strnlen(err->msg, sizeof err->msg);
    snprintf(err->msg + n, sizeof err->msg - n,
             " (it comes with the Debian package %s: apt-get install %s)", package, package);
}

void tpl_task_opts_default(tpl_task_opts *o) {
    *o = (tpl_task_opts){.halves = TPL_TASK_BOTH, .cache = TPL_CACHE_ON};
}

void tpl_task_free(tpl_task_data *t) {
    if (!t) return;
    free(t->source);
    free(t->where);
    free(t->cache);
    for (int i = 0; i < t->n_class_names; i++) free(t->class_names[i]);
    free(t->class_names);
    tpl_dataset_free(&t->train);
    tpl_dataset_free(&t->test);
    memset(t, 0, sizeof *t);
}

/* ---- specs ------------------------------------------------------------------------ */

static int option_index(const char *word, size_t len) {
    for (int i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].word) == len && !memcmp(options[i].word, word, len)) return i;
    return -1;
}

int tpl_task_option(const char *word, size_t len) { return option_index(word, len) >= 0; }

int tpl_task_known(const char *name) {
    for (int k = 0; kinds[k]; k++)
        if (kinds[k]->names && kinds[k]->names(name)) return 1;
    return 0;
}

size_t tpl_task_spec_len(const char *list) {
    const char *comma = strchr(list, ',');
    size_t len = comma ? (size_t)(comma - list) : strlen(list);
    while (list[len] == ',') {
        const char *next = list + len + 1, *end = strchr(next, ',');
        size_t n = end ? (size_t)(end - next) : strlen(next);
        if (!tpl_task_option(next, n)) break;
        len += 1 + n;
    }
    return len;
}

size_t tpl_task_spec_name(const char *spec, size_t len) {
    size_t n = 0;
    while (n < len && spec[n] != '=' && spec[n] != ',') n++;
    return n;
}

const char *tpl_task_spec_find(const char *list, const char *name, size_t *len) {
    size_t want = strlen(name);
    for (const char *s = list; *s;) {
        size_t n = tpl_task_spec_len(s);
        if (tpl_task_spec_name(s, n) == want && !memcmp(s, name, want)) {
            *len = n;
            return s;
        }
        if (!s[n]) break;
        s += n + 1;
    }
    return NULL;
}

/* A spec taken apart: name, kind, argument (up to the options), options. */
typedef struct parsed {
    char name[TPL_NAME_LEN];
    const tpl_source_kind *kind;
    const char *arg;
    size_t arg_len, main_len; /* main_len: the spec without its options */
    int flip;                 /* -1: no option said */
} parsed;

static void unknown_task(const char *name, tpl_err *err) {
    char known[256] = "";
    size_t n = 0;
    for (int k = 0; kinds[k] && n < sizeof known; k++)
        if (kinds[k]->names) n += (size_t)snprintf(known + n, sizeof known - n, "%s, ", kinds[k]->usage);
    tpl_err_set(err, "unknown task '%s' (known: %sor NAME=KIND:PATH with KIND idx, folder or csv)",
                name, known);
}

/* The kind whose word is src[0..len) up to a ':'. */
static const tpl_source_kind *find_kind(const char *src, size_t len, size_t *word) {
    const char *colon = memchr(src, ':', len);
    *word = colon ? (size_t)(colon - src) : len;
    for (int k = 0; colon && kinds[k]; k++)
        if (kinds[k]->kind && strlen(kinds[k]->kind) == *word && !memcmp(kinds[k]->kind, src, *word))
            return kinds[k];
    return NULL;
}

/* The options after main_len: every element an option word (the last wins). */
static int parse_options(const char *spec, size_t len, parsed *p, tpl_err *err) {
    p->flip = -1;
    for (size_t at = p->main_len; at < len;) {
        const char *w = spec + at + 1, *end = memchr(w, ',', len - at - 1);
        size_t n = end ? (size_t)(end - w) : len - at - 1;
        int i = option_index(w, n);
        if (i < 0) {
            tpl_err_set(err, "task '%s': unknown option '%.*s' (options: flip, noflip)", p->name,
                        (int)n, w);
            return -1;
        }
        p->flip = options[i].flip;
        at += 1 + n;
    }
    return 0;
}

static int parse(const char *spec, size_t len, parsed *p, tpl_err *err) {
    memset(p, 0, sizeof *p);
    const char *comma = memchr(spec, ',', len);
    p->main_len = comma ? (size_t)(comma - spec) : len;
    size_t nl = tpl_task_spec_name(spec, p->main_len);
    if (nl == 0 || nl >= TPL_NAME_LEN) {
        tpl_err_set(err, "task '%.*s': a task name is 1-%d characters", (int)p->main_len, spec,
                    TPL_NAME_LEN - 1);
        return -1;
    }
    memcpy(p->name, spec, nl);
    p->name[nl] = '\0';
    if (nl == p->main_len) {
        for (int k = 0; !p->kind && kinds[k]; k++)
            if (kinds[k]->names && kinds[k]->names(p->name)) p->kind = kinds[k];
        if (!p->kind) {
            unknown_task(p->name, err);
            return -1;
        }
        return parse_options(spec, len, p, err);
    }
    const char *src = spec + nl + 1;
    size_t sl = p->main_len - nl - 1, word;
    p->kind = find_kind(src, sl, &word);
    if (!p->kind || word + 1 >= sl) {
        tpl_err_set(err, "task '%s': unknown source '%.*s' (use %s=idx:DIR, %s=folder:DIR or "
                    "%s=csv:FILE)", p->name, (int)sl, src, p->name, p->name, p->name);
        return -1;
    }
    p->arg = src + word + 1;
    p->arg_len = sl - word - 1;
    return parse_options(spec, len, p, err);
}

int tpl_task_spec_check(const char *spec, size_t len, tpl_err *err) {
    parsed p;
    return parse(spec, len, &p, err);
}

/* ---- loading --------------------------------------------------------------------- */

/* Converts a half to the asked shape, when it is not yet. */
static int convert_half(const tpl_task_opts *o, tpl_task_data *t, tpl_dataset *d,
                        tpl_err *err) {
    if (d->n == 0 || ((!o->h || o->h == d->h) && (!o->w || o->w == d->w) &&
                      (!o->c || o->c == d->c)))
        return 0;
    tpl_dataset conv;
    if (tpl_dataset_convert(d, o->h, o->w, o->c, &conv, err)) return -1;
    t->converted += d->n;
    tpl_dataset_free(d);
    *d = conv;
    return 0;
}

/* The options as given, appended to the recorded source. */
static int record_options(const char *spec, size_t len, const parsed *p, tpl_task_data *t,
                          tpl_err *err) {
    if (p->main_len == len) return 0;
    char *s = tpl_str_printf("%s%.*s", t->source, (int)(len - p->main_len), spec + p->main_len);
    return tpl_task_describe(t, s, t->where ? strdup(t->where) : NULL, err);
}

static int check_opts(const tpl_task_opts *o, tpl_err *err) {
    if (o->h < 0 || o->w < 0 || (o->c != 0 && o->c != 1 && o->c != 3) ||
        (o->halves & ~TPL_TASK_BOTH) || !o->halves) {
        tpl_err_set(err, "task: cannot load halves %d as %dx%dx%d (channels 1 or 3)", o->halves,
                    o->c, o->h, o->w);
        return -1;
    }
    return 0;
}

int tpl_task_load_with(const char *spec, size_t len, const tpl_task_opts *o,
                       tpl_task_data *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    parsed p;
    if (check_opts(o, err) || parse(spec, len, &p, err)) return -1;
    char *arg = p.arg ? strndup(p.arg, p.arg_len) : NULL;
    if (p.arg && !arg) {
        tpl_err_set(err, "task '%s': out of memory", p.name);
        return -1;
    }
    snprintf(out->name, TPL_NAME_LEN, "%s", p.name);
    out->labelled = 1;
    const tpl_task_request rq = {p.name, arg, o};
    int rc = p.kind->load(&rq, out, err) || record_options(spec, len, &p, out, err) ||
             convert_half(o, out, &out->train, err) || convert_half(o, out, &out->test, err);
    free(arg);
    if (rc) {
        tpl_task_free(out);
        return -1;
    }
    if (p.flip >= 0) out->flip_ok = p.flip;
    return 0;
}

int tpl_task_load(const char *spec, size_t len, const char *fashion_dir, int halves,
                  tpl_task_data *out, tpl_err *err) {
    tpl_task_opts o;
    tpl_task_opts_default(&o);
    o.fashion_dir = fashion_dir;
    o.halves = halves;
    o.progress = stderr;
    return tpl_task_load_with(spec, len, &o, out, err);
}
