/* Training checkpoints: a model file that also holds where its run stands
 * (tpl_fit_state), so that a run stopped midway (Ctrl-C, a crash after a
 * --save-every checkpoint) continues bit for bit.  The file is an ordinary
 * model file too: eval, predict and export read it as one. */
#ifndef TPL_RESUME_H
#define TPL_RESUME_H
#include "safetensors.h"
#include "train.h"

/* Writes m, the extra metadata and the state, atomically. */
int tpl_checkpoint_save(const tpl_model *m, const char *path, const tpl_st_kv *extra,
                        int n_extra, const tpl_fit_state *s, tpl_err *err);
/* Reads path's parameters into m (built as the run built it) and its state
 * into *s (owned: tpl_fit_state_free); adamw: the run's optimiser keeps
 * second moments.  A file without a state is an error saying so. */
int tpl_checkpoint_resume(const char *path, tpl_model *m, int adamw, tpl_fit_state *s,
                          tpl_err *err);
#endif
