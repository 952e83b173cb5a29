/* Tasks bound from outside a model: how one process answers for thousands
 * of tasks over one bank (templar serve).
 *
 * A task is a few KB over the shared bank: its trunk (its mixture logits,
 * unless the model shares them, and every BN) and its head.  A server keeps
 * each task's trunk outside the model, folded to what inference needs
 * (each BN as the affine map eval applies), and binds the one it is about
 * to run into a task slot; it applies the task's head itself to the pooled
 * features (tpl_model_features), so tasks of any class count share a slot.
 *
 * Versions: binding writes the slot's task tensors without
 * tpl_model_params_changed.  The binding's id (m->binding[t]) is their
 * version instead, and the mixing key carries it, so the slot re-mixes
 * while the shared tensors' caches (the stem's and transitions' reordered
 * weights, keyed by the parameter version) stay as they are: nothing else
 * is derived from task tensors (BNs and heads are read at every forward).
 * Mixed weights of many tasks are kept by swapping caches in and out of
 * the model (mixing.h: tpl_mixing_swap); each is checked by its key. */
#ifndef TPL_BINDING_H
#define TPL_BINDING_H
#include "mixing.h"

/* Views of a trunk at most: stem BN, and per stage logits, BN, transition BN. */
#define TPL_TRUNK_MAX_VIEWS (4 + TPL_MAX_STAGES * 9)

/* The views of task t's trunk (its own but the head and the feature
 * moments) in their fixed order (declaration order); returns how many. */
int tpl_trunk_views(const tpl_model *m, int t, int *views);
/* Floats of one task's trunk as a model holds it (raw: every BN's scale,
 * shift, running mean and variance) and as it is served (folded: each
 * BN's eval scale and shift). */
size_t tpl_trunk_floats(const tpl_model *m);
size_t tpl_trunk_folded_floats(const tpl_model *m);
/* Task t's raw trunk, view after view. */
void tpl_trunk_get(const tpl_model *m, int t, float *raw);
/* raw -> folded: logits as they are, each BN as (scale, shift) computed
 * by tpl_bn_eval_affine, so the bound task runs bit for bit as the model's
 * own.  Reads only m's view table (safe beside a forward in another
 * thread). */
void tpl_trunk_fold(const tpl_model *m, const float *raw, float *folded);
/* Binds a folded trunk into task slot t under id (non-zero, never reused
 * for other tensors): each BN becomes (scale, shift, mean 0, variance v)
 * with v + eps exactly 1. */
void tpl_model_bind(tpl_model *m, int t, const float *folded, uint64_t id);
#endif
