/* The mixing cache (see model.h, tpl_mix_cache): routed mixtures and mixed
 * weights of one task, rebuilt when the key changes. */
#ifndef TPL_MIXING_H
#define TPL_MIXING_H
#include "model.h"

/* Mixture granularity (granularity.c): the mixtures a block of stage st
 * has, and the run of template floats [*at, *at + *n) that mixture u mixes
 * (the units cover the template, in order). */
int tpl_stage_units(const tpl_stage *st);
void tpl_stage_unit(const tpl_stage *st, int u, size_t *at, size_t *n);
/* Mixture rows of a stage: L x units, K logits each. */
static inline size_t tpl_stage_rows(const tpl_stage *st) { return (size_t)st->layers * st->units; }

/* Sizes the cache for the model's stages (after its aggregation is set). */
int tpl_mixing_init(tpl_model *m, uint64_t seed);
void tpl_mixing_free(tpl_model *m);
/* Caches held outside the model, for a server's LRU of tasks (binding.h):
 * an empty one sized for m; freed (with what the block kinds derived);
 * exchanged with the model's own in O(1) (whatever c holds is checked by
 * its key at the next forward, like the model's own); and the bytes one
 * holds once filled, the kinds' derived weights included. */
int tpl_mixing_cache_init(const tpl_model *m, tpl_mix_cache *c);
void tpl_mixing_cache_free(const tpl_model *m, tpl_mix_cache *c);
void tpl_mixing_swap(tpl_model *m, tpl_mix_cache *c);
size_t tpl_mixing_cache_bytes(const tpl_model *m);
/* Makes the cache hold task t at the current parameter version; a training
 * forward under Gumbel routing always draws fresh noise. */
void tpl_mixing_update(tpl_model *m, int task, int training);
/* Block l of stage s in the cache: its mixed weights, its routed weights a
 * and the soft weights the routing's backward differentiates ([units][K]
 * each). */
const float *tpl_mixing_weights(const tpl_model *m, int s, int l);
const float *tpl_mixing_mix(const tpl_model *m, int s, int l);
const float *tpl_mixing_soft(const tpl_model *m, int s, int l);
/* dL/da of block l ([units][K]) through the routing into task t's logit
 * gradients. */
void tpl_mixing_backward(tpl_model *m, int task, int s, int l, const float *da);
#endif
