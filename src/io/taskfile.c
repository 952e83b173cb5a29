/* Task files (see taskfile.h). */
#include "taskfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "checkpoint.h"
#include "json.h"
#include "safetensors.h"

#define MAX_TENSORS (TPL_TRUNK_MAX_VIEWS + 2)

int tpl_task_name_valid(const char *name) {
    size_t n = strnlen(name, TPL_NAME_LEN);
    if (n == 0 || n >= TPL_NAME_LEN) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- the bank's identity ------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

void tpl_bank_architecture(const tpl_model *m, char *out, size_t cap) {
    const tpl_config *c = &m->cfg;
    size_t n = (size_t)snprintf(out, cap, "input %dx%dx%d, stem stride %d, stages", c->in_channels,
                                c->in_height, c->in_width, c->stem_stride);
    for (int s = 0; s < c->n_stages && n < cap; s++)
        n += (size_t)snprintf(out + n, cap - n, " %dx%dx%d", c->stage[s].width, c->stage[s].layers,
                              c->stage[s].templates);
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, " (width x blocks x templates), %s routing "
                              "(tau %.9g, top %d), mixing %s, %s mixtures, %s heads, input mean",
                              tpl_routing_name(c->routing), c->tau, c->topk,
                              tpl_aggregation_name(c->aggregate),
                              c->shared_mixture ? "shared" : "per-task",
                              c->shared_head ? "shared" : "per-task");
    if (c->block != TPL_BLOCK_BASIC && n < cap) /* (absent for basic: older banks' ids hold) */
        n += (size_t)snprintf(out + n, cap - n, ", %s blocks (expansion %d)",
                              tpl_block_name(c->block), c->expand);
    if (c->mix != TPL_MIX_BLOCK && n < cap) /* absent for one a block: the ids of older banks hold */
        n += (size_t)snprintf(out + n, cap - n, ", one mixture per %s",
                              tpl_granularity_format(c->mix, c->mix_group, (char[24]){0}, 24));
    for (int i = 0; i < c->in_channels && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, " %.9g/%.9g", c->in_mean[i], c->in_std[i]);
}

/* FNV-1a over the architecture and every shared view's name, shape and bytes. */
void tpl_bank_id(const tpl_model *m, char id[17]) {
    char arch[512];
    tpl_bank_architecture(m, arch, sizeof arch);
    uint64_t h = fnv1a(0xcbf29ce484222325ull, arch, strlen(arch));
    const tpl_params *p = &m->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        if (v->task != -1) continue;
        h = fnv1a(h, v->name, strlen(v->name) + 1);
        h = fnv1a(h, v->shape, sizeof(int64_t) * (size_t)v->ndim);
        h = fnv1a(h, tpl_params_data(p, i), sizeof(float) * v->numel);
    }
    snprintf(id, 17, "%016llx", (unsigned long long)h);
}

/* A view's name without the "task.NAME." of task t. */
static const char *short_name(const tpl_model *m, int t, const tpl_view *v) {
    const size_t pre = strlen("task.") + strlen(m->cfg.task[t].name) + 1;
    return strncmp(v->name, "task.", 5) || strlen(v->name) <= pre ? v->name : v->name + pre;
}

/* ---- writing ------------------------------------------------------------ */

int tpl_taskfile_write(const tpl_model *m, int t, const char *path, tpl_err *err) {
    if (t < 0 || t >= m->cfg.n_tasks) {
        tpl_err_set(err, "%s: no task %d in the model", path, t);
        return -1;
    }
    int views[MAX_TENSORS], n = tpl_trunk_views(m, t, views);
    views[n++] = m->task[t].head_w;
    views[n++] = m->task[t].head_b;
    tpl_st_tensor tensors[MAX_TENSORS];
    for (int i = 0; i < n; i++) {
        const tpl_view *v = &m->params.views[views[i]];
        tensors[i] = (tpl_st_tensor){.name = short_name(m, t, v), .ndim = v->ndim,
                                     .data = tpl_params_data(&m->params, views[i])};
        memcpy(tensors[i].shape, v->shape, sizeof(int64_t) * (size_t)v->ndim);
    }
    char bank[17], arch[512], classes[16];
    tpl_bank_id(m, bank);
    tpl_bank_architecture(m, arch, sizeof arch);
    snprintf(classes, sizeof classes, "%d", m->cfg.task[t].classes);
    char *names = tpl_model_class_names_json(m, t);
    if (tpl_model_class_name(m, t, 0) && !names) {
        tpl_err_set(err, "%s: out of memory for the class names", path);
        return -1;
    }
    const tpl_st_kv meta[] = {{"format", TPL_TASKFILE_FORMAT}, {"task", m->cfg.task[t].name},
                              {"classes", classes}, {"bank", bank}, {"architecture", arch},
                              {"class_names", names}};
    int rc = tpl_st_write(path, tensors, n, meta, names ? 6 : 5, err);
    free(names);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

void tpl_task_file_free(tpl_task_file *f) {
    if (!f) return;
    for (int k = 0; f->class_names && k < f->classes; k++) free(f->class_names[k]);
    free(f->class_names);
    free(f->trunk);
    free(f->head_w);
    free(f->head_b);
    memset(f, 0, sizeof *f);
}

/* Tensor name (of ndim dims, shape) into dst, finite. */
static int read_tensor(tpl_st_file *st, const char *path, const char *name, int ndim,
                       const int64_t *shape, float *dst, size_t numel, tpl_err *err) {
    const int j = tpl_st_find(st, name);
    int64_t got[TPL_ST_MAX_DIMS];
    if (j < 0) {
        tpl_err_set(err, "%s: tensor '%s' is missing", path, name);
        return -1;
    }
    const int nd = tpl_st_shape(st, j, got);
    if (nd != ndim || memcmp(got, shape, sizeof(int64_t) * (size_t)ndim)) {
        tpl_err_set(err, "%s: tensor '%s' has a shape that does not fit this bank", path, name);
        return -1;
    }
    if (tpl_st_read_f32(st, j, dst, numel, err)) return -1;
    for (size_t i = 0; i < numel; i++)
        if (!isfinite(dst[i])) {
            tpl_err_set(err, "%s: tensor '%s' holds NaN or infinity", path, name);
            return -1;
        }
    return 0;
}

static int read_class_names(const char *path, const char *v, tpl_task_file *out, tpl_err *err) {
    out->class_names = calloc((size_t)out->classes, sizeof(char *));
    tpl_json j;
    tpl_json_init(&j, v, strlen(v));
    int n = 0, count = 0, more = 0, rc = out->class_names && !tpl_json_open(&j, '[') ? 0 : -1;
    while (!rc && (more = tpl_json_more(&j, ']', &count)) == 1)
        rc = n == out->classes || tpl_json_string(&j, &out->class_names[n++]) ? -1 : 0;
    if (rc || more < 0 || tpl_json_end(&j) || n != out->classes) {
        tpl_err_set(err, "%s: metadata 'class_names' is not a list of %d names", path,
                    out->classes);
        return -1;
    }
    return 0;
}

/* The metadata: format, bank, name, classes, class names. */
static int read_meta(tpl_st_file *st, const char *path, const char *bank_id, tpl_task_file *out,
                     tpl_err *err) {
    const char *format = tpl_st_meta(st, "format"), *bank = tpl_st_meta(st, "bank");
    const char *name = tpl_st_meta(st, "task"), *classes = tpl_st_meta(st, "classes");
    if (!format || strcmp(format, TPL_TASKFILE_FORMAT)) {
        tpl_err_set(err, "%s: not a templar task file (metadata 'format' is not '%s')", path,
                    TPL_TASKFILE_FORMAT);
        return -1;
    }
    if (!bank || strcmp(bank, bank_id)) {
        tpl_err_set(err, "%s: the task file is for another bank (%.16s), not this model's (%s)",
                    path, bank ? bank : "none named", bank_id);
        return -1;
    }
    char *end = NULL;
    long k = classes ? strtol(classes, &end, 10) : 0;
    if (!name || !tpl_task_name_valid(name) || !end || *end || k < 2 || k > 100000) {
        tpl_err_set(err, "%s: metadata 'task' or 'classes' is malformed", path);
        return -1;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    out->classes = (int)k;
    const char *names = tpl_st_meta(st, "class_names");
    return names ? read_class_names(path, names, out, err) : 0;
}

static int read_tensors(tpl_st_file *st, const char *path, const tpl_model *bank,
                        tpl_task_file *out, tpl_err *err) {
    int views[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(bank, 0, views);
    const int64_t width = bank->cfg.stage[bank->cfg.n_stages - 1].width;
    const int64_t hw[2] = {out->classes, width}, hb[1] = {out->classes};
    if (tpl_st_count(st) != n + 2) {
        tpl_err_set(err, "%s: %d tensors, not the %d of a task of this bank", path,
                    tpl_st_count(st), n + 2);
        return -1;
    }
    out->trunk = malloc(sizeof(float) * tpl_trunk_floats(bank));
    out->head_w = malloc(sizeof(float) * (size_t)(hw[0] * hw[1]));
    out->head_b = malloc(sizeof(float) * (size_t)out->classes);
    if (!out->trunk || !out->head_w || !out->head_b) {
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    float *at = out->trunk;
    for (int i = 0; i < n; i++) {
        const tpl_view *v = &bank->params.views[views[i]];
        if (read_tensor(st, path, short_name(bank, 0, v), v->ndim, v->shape, at, v->numel, err) ||
            tpl_view_check_values(v, at, path, err))
            return -1;
        at += v->numel;
    }
    return read_tensor(st, path, "head.weight", 2, hw, out->head_w, (size_t)(hw[0] * hw[1]),
                       err) ||
                   read_tensor(st, path, "head.bias", 1, hb, out->head_b, (size_t)hb[0], err)
               ? -1
               : 0;
}

int tpl_taskfile_read(const char *path, const tpl_model *bank, const char *bank_id,
                      tpl_task_file *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    tpl_st_file *st = tpl_st_open(path, err);
    if (!st) return -1;
    int rc = read_meta(st, path, bank_id, out, err) || read_tensors(st, path, bank, out, err);
    tpl_st_close(st);
    if (rc) tpl_task_file_free(out);
    return rc ? -1 : 0;
}
