/* Routing: how a block's mixture weights a[K] come from its logits z[K]
 * (soft, top-k, Gumbel, fixed; see tpl_routing in templar.h). */
#ifndef TPL_ROUTE_H
#define TPL_ROUTE_H
#include <stddef.h>

#include "templar.h"

/* A routing rule: kind, temperature and k of top-k. */
typedef struct tpl_route {
    tpl_routing kind;
    float tau;
    int topk;
} tpl_route;

/* Mixture weights a[K] of block `layer` from its logits z[K], plus soft[K],
 * the distribution the backward differentiates (= a for soft routing).
 * noise[K] (Gumbel samples) may be NULL. */
void tpl_route_forward(const tpl_route *r, int k, int layer, const float *z,
                       const float *noise, float *a, float *soft);
/* dz from da through soft (zero for the fixed kinds). */
void tpl_route_backward(const tpl_route *r, int k, const float *soft,
                        const float *da, float *dz);
/* Whether a rule's weights are learned (not FIXED_ONEHOT or FIXED). */
int tpl_route_learned(tpl_routing kind);

#endif
