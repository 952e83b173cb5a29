/* The mixed-weights cache (see cache.h).  Entries are few (each holds a
 * whole network's block weights), so a linear scan finds them. */
#include "cache.h"

#include <stdlib.h>

#include "mixing.h"

typedef struct entry {
    tpl_mix_cache mix;
    unsigned long used; /* clock of the last use */
} entry;

struct serve_cache {
    tpl_model *m;
    entry *e;           /* caches outside the model */
    int n, cap;         /* entries made, at most */
    unsigned long clock, model_used;
    size_t entry_bytes;
};

serve_cache *serve_cache_create(tpl_model *m, size_t budget, tpl_err *err) {
    serve_cache *c = calloc(1, sizeof *c);
    if (!c) {
        tpl_err_set(err, "out of memory");
        return NULL;
    }
    c->m = m;
    c->entry_bytes = tpl_mixing_cache_bytes(m);
    const size_t fit = c->entry_bytes ? budget / c->entry_bytes : 1;
    c->cap = fit > 1 ? (int)(fit - 1 < 1000000 ? fit - 1 : 1000000) : 0;
    c->e = c->cap ? calloc((size_t)c->cap, sizeof *c->e) : NULL;
    if (c->cap && !c->e) {
        tpl_err_set(err, "out of memory for %d cache entries", c->cap);
        free(c);
        return NULL;
    }
    return c;
}

void serve_cache_free(serve_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) tpl_mixing_cache_free(c->m, &c->e[i].mix);
    free(c->e);
    free(c);
}

int serve_cache_capacity(const serve_cache *c) { return c->cap + 1; }
size_t serve_cache_entry_bytes(const serve_cache *c) { return c->entry_bytes; }

/* Swaps entry i into the model; it keeps what the model held, with the
 * time that was last used. */
static void swap_in(serve_cache *c, int i) {
    tpl_mixing_swap(c->m, &c->e[i].mix);
    const unsigned long used = c->e[i].used;
    c->e[i].used = c->model_used;
    c->model_used = used;
}

int serve_cache_select(serve_cache *c, uint64_t id) {
    tpl_model *m = c->m;
    const unsigned long now = ++c->clock;
    int hit = m->mixing.key.task == 0 && m->mixing.key.binding == id;
    for (int i = 0; !hit && i < c->n; i++)
        if (c->e[i].mix.key.task == 0 && c->e[i].mix.key.binding == id) {
            swap_in(c, i);
            hit = 1;
        }
    if (!hit && c->cap) {
        int victim = -1;
        if (c->n < c->cap) {
            if (tpl_mixing_cache_init(m, &c->e[c->n].mix)) {
                tpl_mixing_cache_free(m, &c->e[c->n].mix);
                c->model_used = now;
                return -1;
            }
            victim = c->n++;
        } else {
            victim = 0;
            for (int i = 1; i < c->n; i++)
                if (c->e[i].used < c->e[victim].used) victim = i;
        }
        swap_in(c, victim); /* the model rebuilds in the victim's buffers */
    }
    c->model_used = now;
    return hit;
}
