/* The template mix: a block's parameters as a weighted sum of K templates
 * of P floats each, W = sum_k a_k T_k, and its backward.  The kernel knows
 * nothing of what a template means: any block kind that asks for P floats
 * can use it. */
#ifndef TPL_MIX_H
#define TPL_MIX_H
#include <stddef.h>

/* w[P] = sum_k a[k] * bank[k][P], template k starting at bank + k * stride
 * (a run of P floats out of longer templates: one mixture of several in a
 * block); templates whose weight is 0 are not read */
void tpl_mix_forward(int k, size_t p, size_t stride, const float *bank, const float *a,
                     float *w);
/* dbank[k] += a[k] * dw;  da[k] = <bank[k], dw>  (da may be NULL), with
 * the same strides */
void tpl_mix_backward(int k, size_t p, size_t stride, const float *bank, const float *a,
                      const float *dw, float *dbank, float *da);
#endif
