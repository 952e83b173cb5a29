/* Plain networks: one task of a model as ordinary convolutions with
 * biases, mixtures baked and BNs folded (the model file format
 * "templar-plain-1", docs/FORMAT.md): what `templar export` writes, for
 * people and programs that want the network without the bank.  No
 * templates, routing or BN tensors; eval and predict read it as a model. */
#ifndef TPL_PLAIN_H
#define TPL_PLAIN_H
#include "model.h"
#include "safetensors.h"

#define TPL_PLAIN_FORMAT "templar-plain-1"

/* Whether m has the plain shape: one task, basic blocks, one template a
 * block with one-hot routing (tpl_model_export's result). */
int tpl_plain_check(const tpl_model *m, tpl_err *err);
/* The tensors of m's plain form (pointing into m), in a table that is one
 * allocation (free it); *n of them. */
int tpl_plain_tensors(const tpl_model *m, tpl_st_tensor **tensors, int *n, tpl_err *err);
/* Fills m (built from the file's plain config) from a plain file. */
int tpl_plain_read(tpl_model *m, tpl_st_file *f, const char *path, tpl_err *err);
#endif
