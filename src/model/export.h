/* Export: one task of a model baked into a plain network.
 *
 * Each block's mixture is computed once and stored as its own weights (a
 * model with K = L templates and fixed one-hot routing), and every BN is
 * folded into the conv before it: W'[c] = W[c] * g_c / sqrt(v_c + eps), with
 * the BN left as a pure bias b_c = beta_c - m_c * g_c / sqrt(v_c + eps)
 * (scale 1, mean 0, variance 1 - eps).  The result is an ordinary templar
 * model with one task: eval and predict run it as they run any model, and
 * its logits match the task's own to float rounding. */
#ifndef TPL_EXPORT_H
#define TPL_EXPORT_H
#include "model.h"

tpl_model *tpl_model_export(tpl_model *m, int task, tpl_err *err);
#endif
