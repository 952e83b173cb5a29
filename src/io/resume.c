/* Training checkpoints (resume.h): the model file plus where its run stands.
 *
 * The state's arrays are tensors beside the model's: "fit.m" and "fit.v"
 * (the optimiser's moments, as long as the parameter buffer) and
 * "fit.perm.T" (task T's order of training images, as floats: exact below
 * 2^24 images).  Its scalars are the metadata "fit_state", a JSON object
 * whose 64-bit and floating values are strings, so they read back exactly:
 *
 *   {"step":N,"opt_step":N,"rng":["hex","hex"],"noise":["hex","hex"],
 *    "tau_start":"%.9g","elapsed_s":"%.17g",
 *    "tasks":[{"n":N,"pos":N,"correct":N,"seen":N,"loss":"%.17g"},...]} */
#include "resume.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "json.h"

#define STATE_KEY "fit_state"

static void put_hex_pair(tpl_buf *b, const char *key, const uint64_t *v) {
    tpl_buf_printf(b, "\"%s\":[\"%016" PRIx64 "\",\"%016" PRIx64 "\"]", key, v[0], v[1]);
}

static char *state_json(const tpl_fit_state *s) {
    tpl_buf b = {0};
    tpl_buf_printf(&b, "{\"step\":%ld,\"opt_step\":%ld,", s->step, s->opt_step);
    put_hex_pair(&b, "rng", s->rng.s);
    tpl_buf_puts(&b, ",");
    put_hex_pair(&b, "noise", s->noise.s);
    tpl_buf_printf(&b, ",\"tau_start\":\"%.9g\",\"elapsed_s\":\"%.17g\",\"tasks\":[",
                   s->tau_start, s->elapsed_s);
    for (int t = 0; t < s->n_tasks; t++)
        tpl_buf_printf(&b, "%s{\"n\":%d,\"pos\":%d,\"correct\":%d,\"seen\":%d,\"loss\":\"%.17g\"}",
                       t ? "," : "", s->task[t].n, s->task[t].pos, s->task[t].sum.correct,
                       s->task[t].sum.n, s->task[t].sum.loss);
    tpl_buf_put(&b, "]}", 3); /* and the NUL */
    if (b.failed) tpl_buf_free(&b);
    return b.p;
}

int tpl_checkpoint_save(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, const tpl_fit_state *s, tpl_err *err) {
    enum { MAX_KV = 64 };
    tpl_st_tensor t[2 + TPL_MAX_TASKS];
    char names[TPL_MAX_TASKS][32];
    float *perm[TPL_MAX_TASKS] = {0};
    tpl_st_kv kv[MAX_KV];
    char *json = state_json(s);
    int n = 0, ok = json && n_extra < MAX_KV;
    t[n++] = (tpl_st_tensor){"fit.m", 1, {(int64_t)s->numel}, s->opt_m};
    if (s->opt_v) t[n++] = (tpl_st_tensor){"fit.v", 1, {(int64_t)s->numel}, s->opt_v};
    for (int k = 0; ok && k < s->n_tasks; k++) {
        const int count = s->task[k].n;
        ok = (perm[k] = malloc(sizeof(float) * (count ? count : 1))) != NULL;
        for (int i = 0; ok && i < count; i++) perm[k][i] = (float)s->task[k].perm[i];
        snprintf(names[k], sizeof names[k], "fit.perm.%d", k);
        t[n++] = (tpl_st_tensor){names[k], 1, {count}, perm[k]};
    }
    int rc = -1;
    if (!ok) {
        tpl_err_set(err, "%s: out of memory for the training state", path);
    } else {
        memcpy(kv, extra, sizeof *kv * (size_t)n_extra);
        kv[n_extra] = (tpl_st_kv){STATE_KEY, json};
        rc = tpl_model_save_more(m, path, kv, n_extra + 1, t, n, err);
    }
    for (int k = 0; k < s->n_tasks; k++) free(perm[k]);
    free(json);
    return rc;
}

/* ---- reading it back ------------------------------------------------------- */

/* A JSON string that holds a number, parsed whole by parse. */
static int json_number(tpl_json *j, int (*parse)(const char *s, void *out), void *out) {
    char *v = NULL;
    int rc = tpl_json_string(j, &v) || parse(v, out) ? -1 : 0;
    free(v);
    return rc;
}

static int parse_hex(const char *s, void *out) {
    char *end;
    *(uint64_t *)out = strtoull(s, &end, 16);
    return *s && !*end ? 0 : -1;
}

static int parse_double(const char *s, void *out) {
    char *end;
    *(double *)out = strtod(s, &end);
    return *s && !*end ? 0 : -1;
}

static int json_hex_pair(tpl_json *j, uint64_t *v) {
    int count = 0, more, n = 0;
    if (tpl_json_open(j, '[')) return -1;
    while ((more = tpl_json_more(j, ']', &count)) == 1)
        if (n == 2 || json_number(j, parse_hex, &v[n++])) return -1;
    return more < 0 || n != 2 ? -1 : 0;
}

static int json_int(tpl_json *j, long max, long *v) {
    uint64_t u;
    if (tpl_json_uint(j, &u) || u > (uint64_t)max) return -1;
    *v = (long)u;
    return 0;
}

/* One task's entry of "tasks". */
static int json_task(tpl_json *j, tpl_fit_state *s) {
    if (s->n_tasks == TPL_MAX_TASKS || tpl_json_open(j, '{')) return -1;
    int count = 0, more;
    long n = 0, pos = 0, correct = 0, seen = 0;
    double loss = 0.0;
    while ((more = tpl_json_more(j, '}', &count)) == 1) {
        char *key = NULL;
        int rc = tpl_json_string(j, &key) || tpl_json_colon(j);
        if (!rc && !strcmp(key, "n")) rc = json_int(j, 1 << 30, &n);
        else if (!rc && !strcmp(key, "pos")) rc = json_int(j, 1 << 30, &pos);
        else if (!rc && !strcmp(key, "correct")) rc = json_int(j, 1 << 30, &correct);
        else if (!rc && !strcmp(key, "seen")) rc = json_int(j, 1 << 30, &seen);
        else if (!rc && !strcmp(key, "loss")) rc = json_number(j, parse_double, &loss);
        else if (!rc) rc = tpl_json_skip(j);
        free(key);
        if (rc) return -1;
    }
    if (more < 0 || pos > n) return -1;
    const int t = s->n_tasks++;
    s->task[t].n = (int)n, s->task[t].pos = (int)pos;
    s->task[t].sum = (tpl_step_result){.loss = loss, .correct = (int)correct, .n = (int)seen};
    return 0;
}

static int parse_state(const char *text, tpl_fit_state *s) {
    tpl_json j;
    tpl_json_init(&j, text, strlen(text));
    int count = 0, more;
    double tau = 0.0;
    if (tpl_json_open(&j, '{')) return -1;
    while ((more = tpl_json_more(&j, '}', &count)) == 1) {
        char *key = NULL;
        int rc = tpl_json_string(&j, &key) || tpl_json_colon(&j);
        if (!rc && !strcmp(key, "step")) rc = json_int(&j, 1L << 50, &s->step);
        else if (!rc && !strcmp(key, "opt_step")) rc = json_int(&j, 1L << 50, &s->opt_step);
        else if (!rc && !strcmp(key, "rng")) rc = json_hex_pair(&j, s->rng.s);
        else if (!rc && !strcmp(key, "noise")) rc = json_hex_pair(&j, s->noise.s);
        else if (!rc && !strcmp(key, "tau_start")) rc = json_number(&j, parse_double, &tau);
        else if (!rc && !strcmp(key, "elapsed_s")) rc = json_number(&j, parse_double, &s->elapsed_s);
        else if (!rc && !strcmp(key, "tasks")) {
            int c = 0, m;
            rc = tpl_json_open(&j, '[');
            while (!rc && (m = tpl_json_more(&j, ']', &c)) == 1) rc = json_task(&j, s);
            if (!rc && m < 0) rc = -1;
        } else if (!rc) rc = tpl_json_skip(&j);
        free(key);
        if (rc) return -1;
    }
    s->tau_start = (float)tau;
    return more < 0 || tpl_json_end(&j) ? -1 : 0;
}

/* Reads the F32 tensor name of exactly numel floats into a new buffer. */
static float *read_floats(tpl_st_file *f, const char *path, const char *name, size_t numel,
                          tpl_err *err) {
    const int i = tpl_st_find(f, name);
    float *v = i >= 0 ? malloc(sizeof(float) * (numel ? numel : 1)) : NULL;
    if (i < 0) tpl_err_set(err, "%s: training state: tensor '%s' is missing", path, name);
    else if (!v) tpl_err_set(err, "%s: out of memory for the training state", path);
    if (v && tpl_st_read_f32(f, i, v, numel, err)) {
        free(v);
        v = NULL;
    }
    return v;
}

static int read_arrays(tpl_st_file *f, const char *path, const tpl_model *m, int adamw,
                       tpl_fit_state *s, tpl_err *err) {
    s->numel = m->params.numel;
    if (!(s->opt_m = read_floats(f, path, "fit.m", s->numel, err))) return -1;
    if (adamw && !(s->opt_v = read_floats(f, path, "fit.v", s->numel, err))) return -1;
    for (int t = 0; t < s->n_tasks; t++) {
        char name[32];
        snprintf(name, sizeof name, "fit.perm.%d", t);
        const int n = s->task[t].n;
        float *p = read_floats(f, path, name, (size_t)n, err);
        if (!p || !(s->task[t].perm = malloc(sizeof(int) * (n ? n : 1)))) {
            if (p) tpl_err_set(err, "%s: out of memory for the training state", path);
            free(p);
            return -1;
        }
        int ok = 1;
        for (int i = 0; i < n; i++) {
            ok &= p[i] >= 0.0f && p[i] < (float)n && p[i] == (float)(int)p[i];
            s->task[t].perm[i] = ok ? (int)p[i] : 0;
        }
        free(p);
        if (!ok) {
            tpl_err_set(err, "%s: training state: '%s' is not an order of %d images", path, name,
                        n);
            return -1;
        }
    }
    return 0;
}

int tpl_checkpoint_resume(const char *path, tpl_model *m, int adamw, tpl_fit_state *s,
                          tpl_err *err) {
    memset(s, 0, sizeof *s);
    tpl_st_file *f = tpl_st_open(path, err);
    if (!f) return -1;
    const char *text = tpl_st_meta(f, STATE_KEY);
    int rc = -1;
    if (!text)
        tpl_err_set(err, "%s: holds no training state (a finished run's model: train anew, or "
                    "transfer from it)", path);
    else if (parse_state(text, s))
        tpl_err_set(err, "%s: metadata '%s' is malformed", path, STATE_KEY);
    else if (!tpl_model_read_params(m, f, path, err) && !read_arrays(f, path, m, adamw, s, err))
        rc = 0;
    tpl_st_close(f);
    if (rc) tpl_fit_state_free(s);
    else tpl_model_params_changed(m);
    return rc;
}
