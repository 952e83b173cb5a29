/* Winograd F(4x4, 3x3) convolution for small-batch inference, with the
 * eval-mode batch norm, residual add and ReLU that follow it fused in.
 *
 * Why: at batch 1 oneDNN runs our 3x3 convs with its direct kernel, already
 * near one core's FMA peak, and its own winograd kernel is 2-3x slower there
 * (bench/conv_backends.c).  F(4x4, 3x3) does 4x fewer multiplies than direct
 * (36 per 4x4 output tile instead of 144), so a kernel that keeps the 36
 * small GEMMs near peak runs the residual blocks ~1.7x faster.  Results
 * differ from a direct convolution by a few 1e-6 of the largest output.
 *
 * Scope: 3x3, stride 1, padding 1, any H x W, channels a multiple of 16, in
 * the trunk's [N][C/16][H][W][16] layout (ops.h).  Training keeps oneDNN.
 * Memory: the transformed weights are 4x the 3x3 weights, the scratch about
 * 4.5x one activation (36/16 of it for the transformed input, as much for
 * the products). */
#ifndef TPL_WINOGRAD_H
#define TPL_WINOGRAD_H
#include <stddef.h>

#include "ops.h"

#define TPL_WINO_CHANNEL_BLOCK 16

/* Whether this build runs the kernels fast: 1 when compiled for AVX-512,
 * where a 16-float vector is one register.  Elsewhere they are correct but
 * the compiler splits every vector through memory (up to 20x slower than
 * oneDNN's direct kernels), so callers should leave them to tests. */
int tpl_wino_fast(void);

/* Floats of the transformed weights of a cin -> cout conv: [36][cin][cout]. */
static inline size_t tpl_wino_weight_count(int cin, int cout) {
    return (size_t)36 * cin * cout;
}
/* Transforms OIHW 3x3 weights into u (tpl_wino_weight_count floats). */
void tpl_wino_weights(int cin, int cout, const float *oihw, float *u);

/* Floats of scratch tpl_wino_forward needs for input shape x and cout. */
size_t tpl_wino_scratch_count(tpl_shape x, int cout);

/* y = bn_eval(conv3x3(x, u)) with bn's ReLU and skip (ops.h: tpl_bn_args;
 * bn->shape is y's shape).  x, y, skip in the 16-channel blocked layout,
 * channels multiples of 16; y overlaps neither x nor skip; scratch holds
 * tpl_wino_scratch_count floats, 64-byte aligned. */
void tpl_wino_forward(tpl_shape x, const float *u, const tpl_bn_args *bn, const float *xdata,
                      float *y, float *scratch);
#endif
