/* The mixed-weights cache: a bounded LRU of tasks' mixing caches (the
 * mixed block weights and what the block kinds derive from them, e.g. the
 * winograd transforms; mixing.h), so a task that comes back is not mixed
 * again.  The model's own cache is one of them, the one in use: selecting
 * a task swaps its cache in (O(1)), or on a miss hands the model the least
 * recently used one to rebuild.  Owned by the batcher thread: not
 * thread-safe. */
#ifndef TPL_SERVE_CACHE_H
#define TPL_SERVE_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct serve_cache serve_cache;

/* Room for budget bytes of caches: at least the model's own. */
serve_cache *serve_cache_create(tpl_model *m, size_t budget, tpl_err *err);
void serve_cache_free(serve_cache *c);
/* How many tasks' caches fit, and the bytes of one. */
int serve_cache_capacity(const serve_cache *c);
size_t serve_cache_entry_bytes(const serve_cache *c);
/* Makes the model's mixing cache the one kept for binding id (the task
 * must be bound in slot 0 with that id): 1 on a hit, 0 when it will be
 * rebuilt.  -1 when out of memory (the model keeps its own, rebuilt). */
int serve_cache_select(serve_cache *c, uint64_t id);
#endif
