#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tpl_params_add(tpl_params *p, const char *name, tpl_kind kind, int task,
                   int ndim, const int64_t *shape) {
    if (p->n_views == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        tpl_view *v = realloc(p->views, sizeof *v * cap);
        if (!v) return -1;
        p->views = v;
        p->cap = cap;
    }
    tpl_view *v = &p->views[p->n_views];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = ndim;
    v->numel = 1;
    for (int i = 0; i < ndim; i++) {
        v->shape[i] = shape[i];
        v->numel *= (size_t)shape[i];
    }
    v->kind = kind;
    v->task = task;
    v->trainable = !tpl_kind_is_state(kind);
    v->offset = p->numel;
    p->numel += tpl_params_padded(v->numel);
    return p->n_views++;
}

static float *alloc_floats(size_t n) {
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *f = aligned_alloc(64, bytes);
    if (f) memset(f, 0, bytes);
    return f;
}

int tpl_params_alloc(tpl_params *p) {
    p->data = alloc_floats(p->numel);
    p->grad = alloc_floats(p->numel);
    return p->data && p->grad ? 0 : -1;
}

void tpl_params_free(tpl_params *p) {
    free(p->data);
    free(p->grad);
    free(p->views);
    memset(p, 0, sizeof *p);
}

int tpl_params_find(const tpl_params *p, const char *name) {
    for (int i = 0; i < p->n_views; i++)
        if (strcmp(p->views[i].name, name) == 0) return i;
    return -1;
}

size_t tpl_params_count(const tpl_params *p, int task, int include_state) {
    size_t n = 0;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        if (task != -2 && v->task != task) continue;
        if (!include_state && tpl_kind_is_state(v->kind)) continue;
        n += v->numel;
    }
    return n;
}

size_t tpl_params_trainable(const tpl_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->n_views; i++)
        if (p->views[i].trainable) n += p->views[i].numel;
    return n;
}
