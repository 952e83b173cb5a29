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
/* The same with more tensors after the model's (a training state). */
int tpl_model_save_more(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, const tpl_st_tensor *more, int n_more, tpl_err *err);
/* m (tpl_model_export's one-task network) as a plain network file
 * (plain.h), with the extra metadata. */
int tpl_model_save_plain(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                         int n_extra, tpl_err *err);
/* tpl_model_save (no extra metadata) is public: templar.h. */
/* Reads every view of m from f (path for messages): each must be there with
 * its shape, and finite.  Bumps nothing: the caller says the parameters
 * changed. */
/* Values no trained model holds in view v's data w: NaN or infinity, a
 * negative running variance.  Returns 0, or -1 naming the tensor. */
int tpl_view_check_values(const tpl_view *v, const float *w, const char *path, tpl_err *err);
int tpl_model_read_params(tpl_model *m, tpl_st_file *f, const char *path, tpl_err *err);
/* Rebuilds the model a file describes and loads its tensors; every tensor
 * the model needs must be present with its exact shape (a view of an
 * optional kind, params.h, may be absent: it loads as zeros). */
/* tpl_model_load is declared in templar.h: it is public. */
#endif
