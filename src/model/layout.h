/* The parameter layout of a model: its views declared and allocated, and
 * their seeded initial values (layout.c). */
#ifndef TPL_LAYOUT_H
#define TPL_LAYOUT_H
#include "model.h"

/* Declares every view (shared, then task by task) and allocates the buffers;
 * the stages' geometry and kinds must be set.  -1 when out of memory. */
int tpl_layout_declare(tpl_model *m);
/* One view as the layout declares it (name, kind, owning task or -1, shape):
 * returns its index, >= 0, or a negative number to stop the listing. */
typedef int (*tpl_view_fn)(void *ctx, const char *name, tpl_kind kind, int task, int ndim,
                           const int64_t *shape);
/* The views a model of cfg (which passes tpl_config_check) declares, in the
 * order and with the names and shapes tpl_layout_declare gives them, handed
 * to fn without allocating anything: what a file is checked against before
 * a model is built for it.  Returns 0, or fn's first negative answer. */
int tpl_layout_list(const tpl_config *cfg, tpl_view_fn fn, void *ctx);
/* Kaiming-normal convs and templates, BN scale 1 (0 for each block's last
 * BN), seeded-noise logits, PyTorch-style heads. */
void tpl_layout_init(tpl_model *m, uint64_t seed);
#endif
