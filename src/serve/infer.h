/* One forward for one task: binds the task's folded trunk into the model's
 * slot 0 (binding.h), selects its mixed weights in the cache, runs the
 * library's eval forward on the images, applies the task's head to the
 * pooled features and a softmax: what tpl_model_classify does for the
 * model's own tasks, bit for bit.  The images share the binding and the
 * cache lookup; how many go through one forward is infer.c's choice
 * (forward_batch).  Owned by the batcher thread. */
#ifndef TPL_SERVE_INFER_H
#define TPL_SERVE_INFER_H
#include "cache.h"
#include "store.h"

typedef struct serve_infer serve_infer;

serve_infer *serve_infer_create(tpl_model *m, serve_cache *cache, tpl_err *err);
void serve_infer_free(serve_infer *in);
/* Probabilities [t->classes] of pixels[i] (the model's input, uint8) into
 * probs[i], i < n.  *hit: whether the task's mixed weights were cached.
 * Returns 0, or -1 with err. */
int serve_infer_run(serve_infer *in, const serve_task *t, const uint8_t *const *pixels, int n,
                    float *const *probs, int *hit, tpl_err *err);
#endif
