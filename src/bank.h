/* The template bank: K templates of P floats each, one tensor [K][P].
 * A block's parameters are a mixture W = sum_k a_k T_k, with a = route(z),
 * computed once per step per block.  The bank knows nothing of what a
 * template means: any block kind that asks for P floats can use it. */
#ifndef TPL_BANK_H
#define TPL_BANK_H
#include <stddef.h>

#include "templar.h"

/* Mixture weights a[K] of block l from its logits z[K]. */
void tpl_route_forward(tpl_routing r, int k, float tau, int layer,
                       const float *z, float *a);
/* dz from da (zero for fixed routing). */
void tpl_route_backward(tpl_routing r, int k, float tau, const float *a,
                        const float *da, float *dz);

/* Entropy H = -sum_k a_k log a_k of a mixture (nats); da[k] = dH/da_k
 * (may be NULL).  Zero weights count as 0 log 0 = 0. */
double tpl_entropy_forward_backward(int k, const float *a, float *da);

/* w[P] = sum_k a[k] * bank[k][P] */
void tpl_mix_forward(int k, size_t p, const float *bank, const float *a,
                     float *w);
/* dbank[k] += a[k] * dw;  da[k] = <bank[k], dw>  (da may be NULL) */
void tpl_mix_backward(int k, size_t p, const float *bank, const float *a,
                      const float *dw, float *dbank, float *da);
#endif
