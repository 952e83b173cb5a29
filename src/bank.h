/* The template bank: K templates of P floats each, one tensor [K][P].
 * A block's parameters are a mixture W = sum_k a_k T_k, with a = route(z),
 * computed once per step per block.  The bank knows nothing of what a
 * template means: any block kind that asks for P floats can use it. */
#ifndef TPL_BANK_H
#define TPL_BANK_H
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

/* Entropy H = -sum_k a_k log a_k of a mixture (nats); da[k] = dH/da_k
 * (may be NULL).  Zero weights count as 0 log 0 = 0. */
double tpl_entropy_forward_backward(int k, const float *a, float *da);

/* w[P] = sum_k a[k] * bank[k][P]; templates whose weight is 0 are not read */
void tpl_mix_forward(int k, size_t p, const float *bank, const float *a,
                     float *w);
/* dbank[k] += a[k] * dw;  da[k] = <bank[k], dw>  (da may be NULL) */
void tpl_mix_backward(int k, size_t p, const float *bank, const float *a,
                      const float *dw, float *dbank, float *da);
#endif
