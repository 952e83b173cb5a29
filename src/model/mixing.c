/* The mixing cache: every block's routed mixture and mixed weights for one
 * task, rebuilt only when its key (parameter version, task, its slot's
 * binding, noise draw) changes.  It is the one owner of m->mixing;
 * everything derived from the mixed weights (convolution slots, a kind's
 * transformed weights) is keyed by its generation, drawn at every rebuild
 * from the model's counter so that no two caches ever share one: a cache
 * swapped in from outside (tpl_mixing_swap) never passes for another. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "mix.h"
#include "mixing.h"

/* An empty cache sized for m's stages (offsets already set). */
static int cache_init(const tpl_model *m, tpl_mix_cache *c, uint64_t seed) {
    memset(c, 0, sizeof *c);
    size_t mixed = 0, mix = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        mixed += m->agg->mixed_floats(&m->stage[s]);
        mix += tpl_stage_rows(&m->stage[s]) * m->stage[s].templates;
    }
    c->key.task = -1;
    c->mixed_numel = mixed;
    c->mix_numel = mix;
    c->mixed = malloc(sizeof(float) * (mixed ? mixed : 1));
    c->mix = malloc(sizeof(float) * mix);
    c->soft = malloc(sizeof(float) * mix);
    tpl_rng_seed(&c->noise_rng, seed ^ 0x9e3779b97f4a7c15ull);
    return c->mixed && c->mix && c->soft ? 0 : -1;
}

int tpl_mixing_init(tpl_model *m, uint64_t seed) {
    size_t mixed = 0, mix = 0;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        st->mixed_offset = mixed;
        st->mix_offset = mix;
        mixed += m->agg->mixed_floats(st);
        mix += tpl_stage_rows(st) * st->templates;
    }
    return cache_init(m, &m->mixing, seed);
}

int tpl_mixing_cache_init(const tpl_model *m, tpl_mix_cache *c) { return cache_init(m, c, 0); }

void tpl_mixing_cache_free(const tpl_model *m, tpl_mix_cache *c) {
    for (int s = 0; s < m->cfg.n_stages; s++)
        if (c->kind_state[s] && m->stage[s].kind) m->stage[s].kind->free_state(c->kind_state[s]);
    free(c->mixed);
    free(c->mix);
    free(c->soft);
    memset(c, 0, sizeof *c);
    c->key.task = -1;
}

void tpl_mixing_free(tpl_model *m) { tpl_mixing_cache_free(m, &m->mixing); }

void tpl_mixing_swap(tpl_model *m, tpl_mix_cache *c) {
    const tpl_mix_cache mine = m->mixing;
    m->mixing = *c;
    *c = mine;
}

size_t tpl_mixing_cache_bytes(const tpl_model *m) {
    const tpl_mix_cache *c = &m->mixing;
    size_t bytes = sizeof(float) * (c->mixed_numel + 2 * c->mix_numel);
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        if (m->agg->mixed_floats(st) && st->kind->state_bytes) bytes += st->kind->state_bytes(m, st);
    }
    return bytes;
}

/* Routes stage s of task t into a and soft ([L][units][K] each); with
 * Gumbel noise drawn from the cache's stream when noisy.  A row's routing
 * is its block's (fixed one-hot routing picks the template by block). */
static void route_stage(tpl_model *m, int task, int s, int noisy, float *a, float *soft) {
    const tpl_stage *st = &m->stage[s];
    const tpl_route r = tpl_model_route(m);
    const int k = st->templates;
    const float *z = tpl_params_data(&m->params, m->task[task].stage[s].logits);
    for (size_t row = 0; row < tpl_stage_rows(st); row++) {
        float g[k];
        for (int i = 0; noisy && i < k; i++) /* Gumbel(0, 1) */
            g[i] = -logf(-logf(fmaxf(tpl_rng_uniform(&m->mixing.noise_rng), 1e-12f)) + 1e-20f);
        tpl_route_forward(&r, k, (int)(row / st->units), z + row * k, noisy ? g : NULL,
                          a + row * k, soft + row * k);
    }
}

void tpl_model_mixture(tpl_model *m, int task, int s, float *a) {
    const tpl_stage *st = &m->stage[s];
    const size_t k = st->templates, rows = tpl_stage_rows(st);
    float *all = malloc(sizeof(float) * 2 * rows * k);
    if (!all) { /* out of memory: no mixture to show (a picture's input, not a computation's) */
        memset(a, 0, sizeof(float) * st->layers * k);
        return;
    }
    route_stage(m, task, s, 0, all, all + rows * k);
    for (int l = 0; l < st->layers; l++)
        for (size_t i = 0; i < k; i++) {
            double sum = 0.0;
            for (int u = 0; u < st->units; u++) sum += all[((size_t)l * st->units + u) * k + i];
            a[l * k + i] = (float)(sum / st->units);
        }
    free(all);
}

static int same_key(tpl_mix_key a, tpl_mix_key b) {
    return a.version == b.version && a.task == b.task && a.binding == b.binding &&
           a.noise == b.noise;
}

void tpl_mixing_update(tpl_model *m, int task, int training) {
    tpl_mix_cache *c = &m->mixing;
    const int noisy = training && m->cfg.routing == TPL_ROUTE_GUMBEL;
    const tpl_mix_key key = {m->version, task, m->binding[task], noisy ? ++c->draws : 0};
    if (same_key(key, c->key)) return;
    for (int s = 0; s < m->cfg.n_stages; s++) {
        tpl_stage *st = &m->stage[s];
        float *a = c->mix + st->mix_offset;
        route_stage(m, task, s, noisy, a, c->soft + st->mix_offset);
        if (!m->agg->mixed_floats(st)) continue; /* mixing outputs: the templates run as they are */
        const float *bank = tpl_params_data(&m->params, st->bank);
        for (int l = 0; l < st->layers; l++)
            for (int u = 0; u < st->units; u++) {
                size_t at, n;
                tpl_stage_unit(st, u, &at, &n);
                tpl_mix_forward(st->templates, n, st->per_template, bank + at,
                                a + ((size_t)l * st->units + u) * st->templates,
                                c->mixed + st->mixed_offset + (size_t)l * st->per_template + at);
            }
    }
    c->key = key;
    c->gen = ++m->mix_gens;
}

void tpl_model_skip_noise(tpl_model *m) {
    if (m->cfg.routing != TPL_ROUTE_GUMBEL) return;
    for (int s = 0; s < m->cfg.n_stages; s++) /* route_stage's draws */
        for (size_t i = 0; i < tpl_stage_rows(&m->stage[s]) * m->stage[s].templates; i++)
            tpl_rng_uniform(&m->mixing.noise_rng);
}

const float *tpl_mixing_weights(const tpl_model *m, int s, int l) {
    const tpl_stage *st = &m->stage[s];
    return m->mixing.mixed + st->mixed_offset + (size_t)l * st->per_template;
}

const float *tpl_mixing_mix(const tpl_model *m, int s, int l) {
    const tpl_stage *st = &m->stage[s];
    return m->mixing.mix + st->mix_offset + (size_t)l * st->units * st->templates;
}

const float *tpl_mixing_soft(const tpl_model *m, int s, int l) {
    const tpl_stage *st = &m->stage[s];
    return m->mixing.soft + st->mix_offset + (size_t)l * st->units * st->templates;
}

const float *tpl_model_block_weights(tpl_model *m, int task, int s, int l) {
    tpl_mixing_update(m, task, 0);
    return tpl_mixing_weights(m, s, l);
}

void tpl_mixing_backward(tpl_model *m, int task, int s, int l, const float *da) {
    const tpl_stage *st = &m->stage[s];
    const int k = st->templates;
    const tpl_route r = tpl_model_route(m);
    const float *soft = tpl_mixing_soft(m, s, l);
    float *gz = tpl_params_grad(&m->params, m->task[task].stage[s].logits) +
                (size_t)l * st->units * k;
    for (int u = 0; u < st->units; u++) {
        float dz[k];
        tpl_route_backward(&r, k, soft + (size_t)u * k, da + (size_t)u * k, dz);
        for (int i = 0; i < k; i++) gz[(size_t)u * k + i] += dz[i];
    }
}
