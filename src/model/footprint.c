/* Memory estimates (see footprint.h), counted by the code that lays the
 * model out: the parameter views (tpl_layout_list), the aggregation's mixed
 * weights and weight slots, the block kind's eval cache, and the workspace
 * arena (tpl_ws_floats); nothing is allocated.  oneDNN's own scratch and
 * the small tables are left out: the figure is a floor, close for the large
 * configs it exists to catch. */
#include "footprint.h"

#include <stdint.h>

#include "block.h"
#include "layout.h"
#include "meminfo.h"
#include "mixing.h"
#include "workspace.h"

#define MIB ((size_t)1 << 20)

static size_t memory_limit; /* bytes; 0: what the system has available */

void tpl_set_memory_limit(size_t bytes) { memory_limit = bytes; }

static int count_view(void *floats, const char *name, tpl_kind kind, int task, int ndim,
                      const int64_t *shape) {
    (void)name, (void)kind, (void)task;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    *(size_t *)floats += tpl_params_padded(n);
    return 0;
}

/* Floats of the weights the convolutions keep reordered (one copy for the
 * forward, a second for the backward in training), and of the block kind's
 * eval cache. */
static size_t conv_floats(const tpl_model *shell, int n, int training) {
    const tpl_config *c = &shell->cfg;
    size_t w = (size_t)c->stage[0].width * c->in_channels * 9, cache = 0;
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage *st = &shell->stage[s];
        w += (size_t)shell->agg->slot_units(st) * st->per_template;
        if (s > 0) w += (size_t)st->width * shell->stage[s - 1].width * 9;
        if (!training && c->aggregate == TPL_AGG_PARAMS && st->kind->eval_block_floats)
            cache += st->kind->eval_block_floats(st, n);
    }
    return w * (training ? 2 : 1) + cache;
}

/* Floats of the batch's own buffers (tpl_batch: images, logits and their
 * gradient) besides the model's arena. */
static size_t batch_floats(const tpl_config *c, int n) {
    int classes = 0;
    for (int t = 0; t < c->n_tasks; t++)
        if (c->task[t].classes > classes) classes = c->task[t].classes;
    return (size_t)n * ((size_t)c->in_channels * c->in_height * c->in_width + 2 * (size_t)classes);
}

int tpl_memory_estimate(const tpl_config *cfg, int batch, int training, tpl_opt_kind optim,
                        tpl_memory *out, tpl_err *err) {
    if (tpl_config_check(cfg, err)) return -1;
    if (batch < 1) {
        tpl_err_set(err, "memory estimate: batch %d is not positive", batch);
        return -1;
    }
    tpl_model shell;
    tpl_model_geometry(&shell, cfg);
    size_t params = 0, mixing = 0;
    tpl_layout_list(cfg, count_view, &params);
    for (int s = 0; s < cfg->n_stages; s++) {
        const tpl_stage *st = &shell.stage[s];
        mixing += shell.agg->mixed_floats(st) + 2 * tpl_stage_rows(st) * st->templates;
    }
    const size_t f = sizeof(float);
    *out = (tpl_memory){
        .params = 2 * params * f, /* and their gradients */
        .optimiser = training ? (optim == TPL_OPT_ADAMW ? 2 : 1) * params * f : 0,
        .mixing = mixing * f,
        .convs = conv_floats(&shell, batch, training) * f,
        .activations = (tpl_ws_floats(&shell, batch, training) + batch_floats(cfg, batch)) * f};
    out->total = out->params + out->optimiser + out->mixing + out->convs + out->activations;
    return 0;
}

size_t tpl_memory_created(const tpl_config *cfg) {
    tpl_memory m;
    tpl_err ignored;
    return tpl_memory_estimate(cfg, 1, 0, TPL_OPT_SGD, &m, &ignored) ? 0 : m.params + m.mixing;
}

static size_t mib(size_t bytes) { return (bytes + MIB - 1) / MIB; }

int tpl_memory_check(const tpl_config *cfg, int n, int training, tpl_opt_kind optim, size_t held,
                     const char *what, tpl_err *err) {
    tpl_memory m;
    if (tpl_memory_estimate(cfg, n, training, optim, &m, err)) return -1;
    const size_t avail = memory_limit ? memory_limit : tpl_mem_available();
    const size_t need = memory_limit ? m.total : m.total > held ? m.total - held : 0;
    if (!avail || need <= avail) return 0;
    tpl_err_set(err,
                "%s: needs %zu MiB%s (parameters and gradients %zu, optimiser %zu, mixed weights "
                "%zu, convolution weights %zu, %s activations of %d image%s %zu), %zu MiB %s",
                what, mib(need), held && !memory_limit ? " more" : "", mib(m.params),
                mib(m.optimiser), mib(m.mixing), mib(m.convs), training ? "training" : "eval", n,
                n == 1 ? "" : "s", mib(m.activations), avail / MIB,
                memory_limit ? "allowed (the memory limit)" : "available");
    return -1;
}
