/* The parameter layout of a model: its views declared and allocated, and
 * their seeded initial values (layout.c). */
#ifndef TPL_LAYOUT_H
#define TPL_LAYOUT_H
#include "model.h"

/* Declares every view (shared, then task by task) and allocates the buffers;
 * the stages' geometry and kinds must be set.  -1 when out of memory. */
int tpl_layout_declare(tpl_model *m);
/* Kaiming-normal convs and templates, BN scale 1 (0 for each block's last
 * BN), seeded-noise logits, PyTorch-style heads. */
void tpl_layout_init(tpl_model *m, uint64_t seed);
#endif
