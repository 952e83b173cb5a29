/* The weight gradient of a 3x3, stride-1, pad-1 convolution in bf16 on
 * AMX tiles: what conv.c runs for that pass of such bf16 convolutions where
 * the CPU has AMX, because oneDNN 2.6's own kernel for it reaches about
 * half the rate of its forward (bench/conv_bwdw.c measures both).
 *
 * How: x and dy are copied onto one zero-padded grid of rows of W+1
 * pixels (one zero column, which is both the right pad of a row and the
 * left pad of the next, and one zero row between images), x in AMX's
 * pair-interleaved layout, dy transposed.  On that grid the input pixel
 * (ky-1, kx-1) away from an output pixel is a fixed number of pixels away,
 * so each of the 9 taps is one long matrix product over the grid,
 * dW_tap (Co x Ci) = dy^T shifted (Co x M) . x (M x Ci), read in place (no
 * im2col); the grid's zeros stand in for the padding.  The M pixels are cut
 * in one part a thread, each summed in fp32 on its own, the parts added at
 * the end.  The sums are the direct convolution's, in fp32, from the same
 * bf16 inputs; only their order differs. */
#ifndef TPL_AMX_BWDW_H
#define TPL_AMX_BWDW_H
#include "bf16.h"

typedef struct tpl_amx_bwdw tpl_amx_bwdw;

/* Whether this CPU and OS let us run AMX bf16 tiles (and oneDNN's ISA
 * limit, ONEDNN_MAX_CPU_ISA, allows AMX). */
int tpl_amx_bwdw_available(void);
/* The workspace for batch n, cin -> cout channels, h x w; NULL when out
 * of memory or without AMX. */
tpl_amx_bwdw *tpl_amx_bwdw_create(int n, int cin, int cout, int h, int w);
void tpl_amx_bwdw_free(tpl_amx_bwdw *b);
/* x: n x h x w x cin, dy: n x h x w x cout (bf16 NHWC); writes (not adds)
 * dw as fp32 OIHW (cout x cin x 3 x 3).  Runs on the OpenMP threads. */
void tpl_amx_bwdw_run(tpl_amx_bwdw *b, const tpl_bf16 *x, const tpl_bf16 *dy, float *dw);
#endif
