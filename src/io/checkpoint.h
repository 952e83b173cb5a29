/* Model files: safetensors with the model config and task names in the
 * metadata, so a file alone rebuilds its model (no architecture flags). */
#ifndef TPL_CHECKPOINT_H
#define TPL_CHECKPOINT_H
#include "model.h"
#include "safetensors.h"

/* Writes every parameter view (and running statistics) plus the config, and
 * the extra metadata pairs given (may be NULL).  Atomic: see safetensors.h. */
int tpl_model_save_with(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, tpl_err *err);
/* tpl_model_save (no extra metadata) is public: templar.h. */
/* Rebuilds the model a file describes and loads its tensors; every tensor
 * the model needs must be present with its exact shape. */
/* tpl_model_load is declared in templar.h: it is public. */
#endif
