#include "checkpoint.h"

#include "plain.h"

#include "json.h"
#include "layout.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "templar-1"

/* The metadata of a file being written: key/value pairs whose strings it
 * owns; a failed allocation leaves it failed, checked once at the end. */
typedef struct meta_buf {
    tpl_st_kv *kv;
    char **owned;
    int n, cap, n_owned, failed;
} meta_buf;

static char *meta_keep(meta_buf *b, char *s) {
    char **o = s ? realloc(b->owned, sizeof *o * (size_t)(b->n_owned + 1)) : NULL;
    if (!o) {
        free(s);
        b->failed = 1;
        return NULL;
    }
    b->owned = o;
    return b->owned[b->n_owned++] = s;
}

static void meta_add(meta_buf *b, const char *key, const char *value) {
    if (b->failed || !key || !value) {
        b->failed = 1;
        return;
    }
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 32;
        tpl_st_kv *kv = realloc(b->kv, sizeof *kv * (size_t)cap);
        if (!kv) {
            b->failed = 1;
            return;
        }
        b->kv = kv, b->cap = cap;
    }
    b->kv[b->n++] = (tpl_st_kv){key, value};
}

static void meta_put(meta_buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void meta_put(meta_buf *b, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *dst = n < 0 ? NULL : malloc((size_t)n + 1);
    if (dst) {
        va_start(ap, fmt);
        vsnprintf(dst, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    meta_add(b, key, meta_keep(b, dst));
}

static void meta_free(meta_buf *b) {
    for (int i = 0; i < b->n_owned; i++) free(b->owned[i]);
    free(b->owned);
    free(b->kv);
}

/* Each task's class names, "classes.NAME": a JSON array of strings. */
static void class_names_meta(const tpl_model *m, meta_buf *b) {
    for (int t = 0; t < m->cfg.n_tasks; t++) {
        if (!tpl_model_class_name(m, t, 0)) continue;
        char *names = tpl_model_class_names_json(m, t);
        const size_t len = strlen(m->cfg.task[t].name) + sizeof "classes.";
        char *key = malloc(len);
        if (key) snprintf(key, len, "classes.%s", m->cfg.task[t].name);
        meta_add(b, meta_keep(b, key), meta_keep(b, names));
    }
}

/* Task t's class names back from "classes.NAME", when the file has them. */
static int class_names_load(tpl_st_file *f, const char *path, tpl_model *m, int t,
                            tpl_err *err) {
    char key[TPL_NAME_LEN + 16];
    snprintf(key, sizeof key, "classes.%s", m->cfg.task[t].name);
    const char *v = tpl_st_meta(f, key);
    if (!v) return 0;
    const int classes = m->cfg.task[t].classes;
    char **names = calloc((size_t)classes, sizeof *names);
    tpl_json j;
    tpl_json_init(&j, v, strlen(v));
    int n = 0, count = 0, more = 0, rc = names && !tpl_json_open(&j, '[') ? 0 : -1;
    while (!rc && (more = tpl_json_more(&j, ']', &count)) == 1)
        rc = n == classes || tpl_json_string(&j, &names[n++]) ? -1 : 0;
    if (!rc && (more < 0 || tpl_json_end(&j) || n != classes)) rc = -1;
    if (!rc) rc = tpl_model_set_class_names(m, t, (const char *const *)names, n, err);
    else tpl_err_set(err, "%s: metadata '%s' is not a list of %d class names", path, key, classes);
    for (int k = 0; names && k < classes; k++) free(names[k]);
    free(names);
    return rc;
}

/* "a,b,c" from n ints (stride-separated fields of a struct array). */
static void join_ints(char *out, size_t cap, const int *v, int n, size_t stride) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < cap; i++)
        len += snprintf(out + len, cap - len, "%s%d", i ? "," : "",
                        *(const int *)((const char *)v + i * stride));
}

/* The config as metadata; a plain network leaves out what only a bank has
 * (templates, routing, sharing, temperature). */
static void config_meta(const tpl_config *c, int plain, meta_buf *b) {
    char w[256], l[256], k[256], tasks[TPL_MAX_TASKS * (TPL_NAME_LEN + 12)] = "", mean[128] = "",
         std[128] = "";
    join_ints(w, sizeof w, &c->stage[0].width, c->n_stages, sizeof c->stage[0]);
    join_ints(l, sizeof l, &c->stage[0].layers, c->n_stages, sizeof c->stage[0]);
    join_ints(k, sizeof k, &c->stage[0].templates, c->n_stages, sizeof c->stage[0]);
    size_t n = 0;
    for (int t = 0; t < c->n_tasks; t++)
        n += snprintf(tasks + n, sizeof tasks - n, "%s%s:%d", t ? "," : "", c->task[t].name,
                      c->task[t].classes);
    size_t nm = 0, ns = 0;
    for (int i = 0; i < c->in_channels; i++) {
        nm += snprintf(mean + nm, sizeof mean - nm, "%s%.9g", i ? "," : "", c->in_mean[i]);
        ns += snprintf(std + ns, sizeof std - ns, "%s%.9g", i ? "," : "", c->in_std[i]);
    }
    meta_put(b, "format", "%s", plain ? TPL_PLAIN_FORMAT : FORMAT);
    meta_put(b, "input", "%dx%dx%d", c->in_channels, c->in_height, c->in_width);
    meta_put(b, "stem_stride", "%d", c->stem_stride);
    meta_put(b, "widths", "%s", w);
    meta_put(b, "layers", "%s", l);
    meta_put(b, "tasks", "%s", tasks);
    meta_put(b, "input_mean", "%s", mean);
    meta_put(b, "input_std", "%s", std);
    meta_put(b, "block", "%s", tpl_block_name(c->block));
    meta_put(b, "expand", "%d", c->expand);
    if (plain) return;
    meta_put(b, "templates", "%s", k);
    meta_put(b, "routing", "%s", tpl_routing_name(c->routing));
    meta_put(b, "topk", "%d", c->topk);
    meta_put(b, "aggregation", "%s", tpl_aggregation_name(c->aggregate));
    char gran[24];
    meta_put(b, "mix", "%s", tpl_granularity_format(c->mix, c->mix_group, gran, sizeof gran));
    meta_put(b, "mixtures", "%s", c->shared_mixture ? "shared" : "per-task");
    meta_put(b, "heads", "%s", c->shared_head ? "shared" : "per-task");
    meta_put(b, "tau", "%.9g", c->tau);
    meta_put(b, "logit_noise", "%.9g", c->logit_noise);
    meta_put(b, "precision", "%s", tpl_precision_name(c->precision));
}

int tpl_model_save(const tpl_model *m, const char *path, tpl_err *err) {
    return tpl_model_save_with(m, path, NULL, 0, err);
}

int tpl_model_save_with(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, tpl_err *err) {
    return tpl_model_save_more(m, path, extra, n_extra, NULL, 0, err);
}

/* Writes the tensors t[0..n) and the model's metadata (plain: a plain
 * network's) plus extra. */
static int save_file(const tpl_model *m, int plain, const char *path, const tpl_st_kv *extra,
                     int n_extra, const tpl_st_tensor *t, int n, tpl_err *err) {
    meta_buf b = {0};
    config_meta(&m->cfg, plain, &b);
    class_names_meta(m, &b);
    for (int i = 0; i < n_extra; i++) meta_add(&b, extra[i].key, extra[i].value);
    int rc = -1;
    if (b.failed) tpl_err_set(err, "%s: out of memory for the metadata", path);
    else rc = tpl_st_write(path, t, n, b.kv, b.n, err);
    meta_free(&b);
    return rc;
}

int tpl_model_save_plain(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                         int n_extra, tpl_err *err) {
    tpl_st_tensor *t;
    int n;
    if (tpl_plain_check(m, err) || tpl_plain_tensors(m, &t, &n, err)) return -1;
    int rc = save_file(m, 1, path, extra, n_extra, t, n, err);
    free(t);
    return rc;
}

int tpl_model_save_more(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, const tpl_st_tensor *more, int n_more, tpl_err *err) {
    const tpl_params *p = &m->params;
    tpl_st_tensor *t = calloc((size_t)p->n_views + (size_t)n_more, sizeof *t);
    if (!t) {
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        t[i].name = v->name;
        t[i].ndim = v->ndim;
        memcpy(t[i].shape, v->shape, sizeof(int64_t) * v->ndim);
        t[i].data = tpl_params_data(p, i);
    }
    for (int i = 0; i < n_more; i++) t[p->n_views + i] = more[i];
    int rc = save_file(m, 0, path, extra, n_extra, t, p->n_views + n_more, err);
    free(t);
    return rc;
}

/* ---- reading the config back ----------------------------------------- */

static int parse_int(const char **s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (end == *s || errno || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    *s = end;
    return 0;
}

/* n comma-separated ints into a strided field; returns how many, or -1. */
static int parse_list(const char *s, int *dst, size_t stride, int max) {
    int n = 0;
    while (*s) {
        if (n == max || parse_int(&s, (int *)((char *)dst + n * stride))) return -1;
        n++;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return n;
}

static int parse_floats(const char *s, float *dst, int n) {
    for (int i = 0; i < n; i++) {
        char *end;
        dst[i] = strtof(s, &end);
        if (end == s || (*end != ',' && *end != 0) || (*end == 0 && i + 1 < n)) return -1;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : 0;
}

static int parse_tasks(const char *s, tpl_config *c) {
    c->n_tasks = 0;
    while (*s) {
        if (c->n_tasks == TPL_MAX_TASKS) return -1;
        tpl_task_config *t = &c->task[c->n_tasks++];
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || colon - s >= TPL_NAME_LEN) return -1;
        memcpy(t->name, s, (size_t)(colon - s));
        t->name[colon - s] = 0;
        s = colon + 1;
        if (parse_int(&s, &t->classes)) return -1;
        if (*s == ',') s++;
        else if (*s) return -1;
    }
    return c->n_tasks > 0 ? 0 : -1;
}

static const char *need(tpl_st_file *f, const char *key, const char *path, tpl_err *err) {
    const char *v = tpl_st_meta(f, key);
    if (!v) tpl_err_set(err, "%s: not a templar model (metadata '%s' missing)", path, key);
    return v;
}

/* "shared" or "per-task" (or absent: per task) into *shared. */
static int sharing(tpl_st_file *f, const char *key, const char *path, int *shared,
                   tpl_err *err) {
    const char *v = tpl_st_meta(f, key);
    if (v && strcmp(v, "shared") && strcmp(v, "per-task")) {
        tpl_err_set(err, "%s: metadata '%s' is malformed", path, key);
        return -1;
    }
    *shared = v && !strcmp(v, "shared");
    return 0;
}

/* A plain network's config: a template per block, one-hot routing. */
static void plain_config(tpl_config *c, int n_stages) {
    c->n_stages = n_stages;
    for (int s = 0; s < n_stages; s++) c->stage[s].templates = c->stage[s].layers;
    c->routing = TPL_ROUTE_FIXED_ONEHOT;
}

/* The metadata every file has: format, input, stem, stages, tasks, input
 * normalisation.  Returns the stage count, or -1. */
static int common_config(tpl_st_file *f, const char *path, tpl_config *c, int *plain,
                         tpl_err *err) {
    static const char *keys[] = {"format", "input", "stem_stride", "widths", "layers",
                                 "tasks", "input_mean", "input_std"};
    const char *v[8];
    for (int i = 0; i < 8; i++)
        if (!(v[i] = need(f, keys[i], path, err))) return -1;
    tpl_config_default(c);
    *plain = !strcmp(v[0], TPL_PLAIN_FORMAT);
    const char *bad = NULL, *in = v[1];
    int nw = 0;
    if (strcmp(v[0], FORMAT) && !*plain) bad = "format";
    else if (parse_int(&in, &c->in_channels) || *in++ != 'x' || parse_int(&in, &c->in_height) ||
             *in++ != 'x' || parse_int(&in, &c->in_width) || *in)
        bad = "input";
    else if (parse_list(v[2], &c->stem_stride, sizeof(int), 1) != 1) bad = "stem_stride";
    else if ((nw = parse_list(v[3], &c->stage[0].width, sizeof c->stage[0], TPL_MAX_STAGES)) < 1)
        bad = "widths";
    else if (parse_list(v[4], &c->stage[0].layers, sizeof c->stage[0], TPL_MAX_STAGES) != nw)
        bad = "layers";
    else if (parse_tasks(v[5], c)) bad = "tasks";
    else if (c->in_channels < 1 || c->in_channels > 4) bad = "input";
    else if (parse_floats(v[6], c->in_mean, c->in_channels)) bad = "input_mean";
    else if (parse_floats(v[7], c->in_std, c->in_channels)) bad = "input_std";
    if (!bad) return nw;
    tpl_err_set(err, "%s: metadata '%s' is malformed", path, bad);
    return -1;
}

static int check_config(const tpl_config *c, const char *path, tpl_err *err) {
    tpl_err inner;
    if (!tpl_config_check(c, &inner)) return 0;
    tpl_err_set(err, "%s: %s", path, inner.msg);
    return -1;
}

/* The blocks' kind (absent: basic, as before there were kinds). */
static int block_config(tpl_st_file *f, const char *path, tpl_config *c, tpl_err *err) {
    const char *block = tpl_st_meta(f, "block"), *expand = tpl_st_meta(f, "expand");
    int kind = block ? tpl_block_parse(block) : TPL_BLOCK_BASIC;
    if (kind < 0 || (expand && sscanf(expand, "%d", &c->expand) != 1)) {
        tpl_err_set(err, "%s: metadata '%s' is malformed", path, kind < 0 ? "block" : "expand");
        return -1;
    }
    c->block = (tpl_block_type)kind;
    return 0;
}

static int config_from_meta(tpl_st_file *f, const char *path, tpl_config *c, tpl_err *err) {
    int plain, nw = common_config(f, path, c, &plain, err);
    if (nw < 0 || block_config(f, path, c, err)) return -1;
    if (plain) {
        plain_config(c, nw);
        return check_config(c, path, err);
    }
    static const char *keys[] = {"templates", "routing", "tau", "logit_noise"};
    const char *v[4];
    for (int i = 0; i < 4; i++)
        if (!(v[i] = need(f, keys[i], path, err))) return -1;
    const char *bad = NULL;
    if (parse_list(v[0], &c->stage[0].templates, sizeof c->stage[0], TPL_MAX_STAGES) != nw)
        bad = "templates";
    else if (tpl_routing_parse(v[1]) < 0) bad = "routing";
    else if (parse_floats(v[2], &c->tau, 1)) bad = "tau";
    else if (parse_floats(v[3], &c->logit_noise, 1)) bad = "logit_noise";
    if (bad) {
        tpl_err_set(err, "%s: metadata '%s' is malformed", path, bad);
        return -1;
    }
    /* Files from before "mixtures" and "heads" were written have them per task. */
    if (sharing(f, "mixtures", path, &c->shared_mixture, err) ||
        sharing(f, "heads", path, &c->shared_head, err))
        return -1;
    c->n_stages = nw;
    c->routing = (tpl_routing)tpl_routing_parse(v[1]);
    const char *agg = tpl_st_meta(f, "aggregation"); /* absent: parameters, as before */
    int a = agg ? tpl_aggregation_parse(agg) : TPL_AGG_PARAMS;
    if (a < 0) {
        tpl_err_set(err, "%s: metadata 'aggregation' is malformed", path);
        return -1;
    }
    c->aggregate = (tpl_aggregation)a;
    const char *mix = tpl_st_meta(f, "mix"); /* absent before granularities: per block */
    if (mix && tpl_granularity_parse(mix, &c->mix, &c->mix_group)) {
        tpl_err_set(err, "%s: metadata 'mix' is malformed (not block, conv or group:G)", path);
        return -1;
    }
    const char *prec = tpl_st_meta(f, "precision"); /* absent before bf16: fp32 */
    int pr = prec ? tpl_precision_parse(prec) : TPL_PRECISION_FP32;
    if (pr < 0) {
        tpl_err_set(err, "%s: metadata 'precision' is malformed", path);
        return -1;
    }
    /* a bf16 model runs in bf16 only where that is fast (tpl_precision_auto) */
    c->precision = pr == TPL_PRECISION_BF16 ? tpl_precision_auto() : (tpl_precision)pr;
    const char *topk = tpl_st_meta(f, "topk"); /* absent before top-k routing */
    if (topk && parse_list(topk, &c->topk, sizeof(int), 1) != 1) {
        tpl_err_set(err, "%s: metadata 'topk' is malformed", path);
        return -1;
    }
    return check_config(c, path, err);
}

/* ---- the file's tensors against the config -------------------------- */

typedef struct file_check {
    tpl_st_file *f;
    const char *path;
    tpl_err *err;
} file_check;

/* One view the config declares: present, F32, of its exact shape.  The
 * reader has checked that every tensor's bytes lie within the file, apart
 * from each other, so views that pass fit in the file together. */
static int check_view(void *ctx, const char *declared, tpl_kind kind, int task, int ndim,
                      const int64_t *shape) {
    (void)task;
    const file_check *c = ctx;
    char name[TPL_VIEW_NAME]; /* as the parameter table keeps it */
    snprintf(name, sizeof name, "%s", declared);
    const int j = tpl_st_find(c->f, name);
    int64_t has[TPL_ST_MAX_DIMS];
    if (j < 0 && tpl_kind_is_optional(kind)) return 0;
    if (j < 0) {
        tpl_err_set(c->err, "%s: tensor '%s' is missing", c->path, name);
        return -1;
    }
    if (strcmp(tpl_st_dtype(c->f, j), "F32")) {
        tpl_err_set(c->err, "%s: tensor '%s' is %s, not F32", c->path, name, tpl_st_dtype(c->f, j));
        return -1;
    }
    const int nd = tpl_st_shape(c->f, j, has);
    if (nd != ndim || memcmp(has, shape, sizeof(int64_t) * (size_t)nd)) {
        tpl_err_set(c->err, "%s: tensor '%s' has a shape that does not match the model", c->path,
                    name);
        return -1;
    }
    return 0;
}

/* Every view the config would declare is in the file: checked before the
 * model is built, so a few bytes of metadata cannot claim gigabytes. */
static int check_file(const tpl_config *cfg, tpl_st_file *f, const char *path, tpl_err *err) {
    file_check c = {f, path, err};
    return tpl_layout_list(cfg, check_view, &c) < 0 ? -1 : 0;
}

/* Values no trained model holds: NaN or infinity anywhere, a negative
 * running variance (its BN would take the square root of it). */
int tpl_view_check_values(const tpl_view *v, const float *w, const char *path, tpl_err *err) {
    for (size_t k = 0; k < v->numel; k++) {
        if (!isfinite(w[k])) {
            tpl_err_set(err, "%s: tensor '%s' holds NaN or infinity", path, v->name);
            return -1;
        }
        if (v->kind == TPL_KIND_BN_VAR && w[k] < 0.0f) {
            tpl_err_set(err, "%s: tensor '%s' holds a negative variance", path, v->name);
            return -1;
        }
    }
    return 0;
}

/* The tensors into the model built for them (check_file passed). */
static int load_tensors(tpl_model *m, tpl_st_file *f, const char *path, tpl_err *err) {
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        float *w = tpl_params_data(p, i);
        const int j = tpl_st_find(f, v->name);
        if (j < 0) continue; /* optional, and check_file let it be absent: zeros */
        if (tpl_st_read_f32(f, j, w, v->numel, err) ||
            tpl_view_check_values(v, w, path, err))
            return -1;
    }
    return 0;
}

int tpl_model_read_params(tpl_model *m, tpl_st_file *f, const char *path, tpl_err *err) {
    return check_file(&m->cfg, f, path, err) || load_tensors(m, f, path, err) ? -1 : 0;
}

tpl_model *tpl_model_load(const char *path, tpl_err *err) {
    tpl_st_file *f = tpl_st_open(path, err);
    if (!f) return NULL;
    tpl_config cfg;
    tpl_model *m = NULL;
    const char *format = tpl_st_meta(f, "format");
    const int plain = format && !strcmp(format, TPL_PLAIN_FORMAT);
    if (config_from_meta(f, path, &cfg, err) == 0 &&
        (plain || check_file(&cfg, f, path, err) == 0) && (m = tpl_model_create(&cfg, 0, err))) {
        int rc = plain ? tpl_plain_read(m, f, path, err) : load_tensors(m, f, path, err);
        for (int t = 0; !rc && t < cfg.n_tasks; t++) rc = class_names_load(f, path, m, t, err);
        if (rc) {
            tpl_model_free(m);
            m = NULL;
        }
    }
    if (m) tpl_model_params_changed(m);
    tpl_st_close(f);
    return m;
}
