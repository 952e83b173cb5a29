/* What a model takes in memory, from its config alone (templar.h:
 * tpl_memory_estimate), and the limit models are held to. */
#ifndef TPL_FOOTPRINT_H
#define TPL_FOOTPRINT_H
#include <stddef.h>

#include "templar.h"

/* 0 when a model of cfg fits for a batch of n (training: with optim's
 * state), else -1 with err: "WHAT: needs N MiB (the parts), M MiB
 * available".  Under tpl_set_memory_limit's limit the whole estimate must
 * fit; otherwise what it adds beyond held (bytes the model already has)
 * must fit in the available memory (0 when unknown: no check). */
int tpl_memory_check(const tpl_config *cfg, int n, int training, tpl_opt_kind optim, size_t held,
                     const char *what, tpl_err *err);
/* Bytes tpl_model_create allocates for cfg: parameters, gradients, mixing. */
size_t tpl_memory_created(const tpl_config *cfg);
#endif
