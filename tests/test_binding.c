/* Tasks bound from outside a model (src/model/binding.h): a task's folded
 * trunk bound into another slot, with its head applied to the features,
 * gives its own logits bit for bit; mixing caches swapped in and out keep
 * their tasks' weights and are never taken for another's; binding leaves
 * the shared tensors' reordered weights alone. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "check.h"
#include "data.h"
#include "ops.h"
#include "rng.h"

#define HW 16

static tpl_model *make_model(int winograd) {
    tpl_config c;
    tpl_config_default(&c);
    c.in_height = c.in_width = HW;
    c.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 3};
    c.n_stages = 2;
    c.stage[1] = (tpl_stage_config){.width = 32, .layers = 2, .templates = 2};
    c.n_tasks = 3;
    const int classes[3] = {4, 7, 3};
    for (int t = 0; t < 3; t++) {
        snprintf(c.task[t].name, TPL_NAME_LEN, "t%d", t);
        c.task[t].classes = classes[t];
    }
    c.in_mean[0] = 0.5f, c.in_std[0] = 0.25f;
    tpl_err err;
    tpl_model *m = tpl_model_create(&c, 11, &err);
    CHECK_MSG(m != NULL, "create: %s", err.msg);
    if (!m) exit(1);
    m->winograd = winograd && m->winograd;
    tpl_rng r;
    tpl_rng_seed(&r, 5);
    for (int v = 0; v < m->params.n_views; v++) { /* every task different, BNs far from identity */
        const tpl_kind k = m->params.views[v].kind;
        float *x = tpl_params_data(&m->params, v);
        for (size_t i = 0; i < m->params.views[v].numel; i++) {
            if (k == TPL_KIND_BN_SCALE || k == TPL_KIND_BN_VAR) x[i] = 0.5f + tpl_rng_uniform(&r);
            else if (k == TPL_KIND_BN_SHIFT || k == TPL_KIND_BN_MEAN) x[i] = 0.2f * tpl_rng_normal(&r);
            else if (k == TPL_KIND_LOGITS) x[i] = tpl_rng_normal(&r);
        }
    }
    tpl_model_params_changed(m);
    return m;
}

static float *inputs(const tpl_model *m, int n) {
    tpl_dataset d;
    tpl_dataset_alloc(&d, n, HW, HW, 1, 1);
    tpl_rng r;
    tpl_rng_seed(&r, 99);
    for (size_t i = 0; i < (size_t)n * HW * HW; i++) d.pixels[i] = (uint8_t)(tpl_rng_uniform(&r) * 255);
    memset(d.labels, 0, (size_t)n);
    float *x = malloc(sizeof(float) * (size_t)n * HW * HW);
    int idx[64], y[64];
    for (int i = 0; i < n; i++) idx[i] = i;
    tpl_batch_fill(&d, idx, n, m->cfg.in_mean, m->cfg.in_std, NULL, NULL, x, y);
    tpl_dataset_free(&d);
    return x;
}

/* Task t run in its own slot: its logits. */
static float *own_logits(tpl_model *m, int t, const float *x, int n) {
    float *out = malloc(sizeof(float) * (size_t)n * m->cfg.task[t].classes);
    tpl_err err;
    CHECK_MSG(tpl_model_forward(m, t, x, n, 0, out, &err) == 0, "forward: %s", err.msg);
    return out;
}

/* The folded trunk of task t, bound into slot 0 under id, head of t applied. */
static float *bound_logits(tpl_model *m, const float *folded, int t, uint64_t id, const float *x,
                           int n) {
    const int classes = m->cfg.task[t].classes, c = m->cfg.stage[m->cfg.n_stages - 1].width;
    float *scratch = malloc(sizeof(float) * (size_t)n * 8), *out = malloc(sizeof(float) * n * classes);
    tpl_model_bind(m, 0, folded, id);
    tpl_err err;
    CHECK_MSG(tpl_model_forward(m, 0, x, n, 0, scratch, &err) == 0, "forward: %s", err.msg);
    tpl_linear_forward(n, c, classes, tpl_model_features(m),
                       tpl_params_data(&m->params, m->task[t].head_w),
                       tpl_params_data(&m->params, m->task[t].head_b), out);
    free(scratch);
    return out;
}

static float *folded_of(const tpl_model *m, int t) {
    float *raw = malloc(sizeof(float) * tpl_trunk_floats(m));
    float *f = malloc(sizeof(float) * tpl_trunk_folded_floats(m));
    tpl_trunk_get(m, t, raw);
    tpl_trunk_fold(m, raw, f);
    free(raw);
    return f;
}

static void test_bit_for_bit(int winograd, int n) {
    tpl_model *m = make_model(winograd);
    float *x = inputs(m, n);
    float *ref[3], *fold[3];
    for (int t = 0; t < 3; t++) ref[t] = own_logits(m, t, x, n), fold[t] = folded_of(m, t);
    CHECK(tpl_trunk_folded_floats(m) < tpl_trunk_floats(m));
    const unsigned long version = m->version, stem_gen = m->stem_slot.weights_gen;
    for (int round = 0; round < 2; round++)
        for (int t = 2; t >= 0; t--) {
            float *got = bound_logits(m, fold[t], t, 100 + t, x, n);
            CHECK_MSG(!memcmp(got, ref[t], sizeof(float) * n * m->cfg.task[t].classes),
                      "winograd %d, batch %d: task %d bound differs from its own", winograd, n, t);
            free(got);
        }
    CHECK_MSG(m->version == version && m->stem_slot.weights_gen == stem_gen,
              "binding touched the shared tensors' version");
    for (int t = 0; t < 3; t++) free(ref[t]), free(fold[t]);
    free(x);
    tpl_model_free(m);
}

/* Two tasks' caches kept outside and swapped in: a hit re-mixes nothing. */
static void test_swapped_caches(void) {
    tpl_model *m = make_model(1);
    const int n = 2;
    float *x = inputs(m, n), *f1 = folded_of(m, 1), *f2 = folded_of(m, 2);
    float *ref1 = bound_logits(m, f1, 1, 7, x, n);
    const unsigned long gen1 = m->mixing.gen;
    tpl_mix_cache outside;
    CHECK(tpl_mixing_cache_init(m, &outside) == 0);
    CHECK(tpl_mixing_cache_bytes(m) >= sizeof(float) * m->mixing.mixed_numel);
    tpl_mixing_swap(m, &outside); /* task 1's weights go outside */
    CHECK(outside.key.binding == 7 && outside.gen == gen1);
    float *ref2 = bound_logits(m, f2, 2, 8, x, n);
    CHECK_MSG(m->mixing.gen != gen1, "two caches share generation %lu", gen1);
    tpl_mixing_swap(m, &outside); /* task 1's back, task 2's outside */
    float *again = bound_logits(m, f1, 1, 7, x, n);
    CHECK_MSG(m->mixing.gen == gen1, "a swapped-in cache was rebuilt");
    CHECK(!memcmp(again, ref1, sizeof(float) * n * 7));
    /* a stale cache (its slot rebound under another id) is rebuilt */
    tpl_mixing_swap(m, &outside);
    float *two = bound_logits(m, f2, 2, 9, x, n);
    CHECK(!memcmp(two, ref2, sizeof(float) * n * 3));
    CHECK(m->mixing.key.binding == 9);
    free(ref1), free(ref2), free(again), free(two), free(x), free(f1), free(f2);
    tpl_mixing_cache_free(m, &outside);
    tpl_model_free(m);
}

int main(void) {
    test_bit_for_bit(1, 1);
    test_bit_for_bit(1, 3);
    test_bit_for_bit(0, 2);
    test_bit_for_bit(1, 17); /* oneDNN's batch path */
    test_swapped_caches();
    return check_summary("test_binding");
}
