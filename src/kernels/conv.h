/* 2-D convolution (forward, backward-data, backward-weights) on oneDNN.
 *
 * Why oneDNN: measured in bench/conv_backends.c, its JIT convolutions run the
 * 3x3 layers of our models at ~450-500 GFLOP/s on 2 Zen 5 cores (winograd
 * ~700), against ~300 for im2col + OpenBLAS sgemm, and it dispatches on the
 * CPU it finds, whatever OPENBLAS_CORETYPE says.
 *
 * A plan holds the primitives for one shape and batch size; shapes recur (all
 * blocks of a stage share one plan), so primitives are built once and reused.
 * Weights travel as plain OIHW floats (the checkpoint layout); a slot keeps
 * them reordered into the formats the primitives want, and is refreshed only
 * when the weights change.
 *
 * A plan computes in fp32 or in bf16 (templar.h: tpl_precision).  A bf16
 * plan reads bf16 inputs (the forward's source, the backward's output
 * gradient: the _bf16 calls), keeps its weights as bf16 in the slot
 * (rounded by the reorder, once per weight version), and writes fp32 (the
 * forward's output, the input and weight gradients) from fp32 sums; or,
 * once told so (tpl_conv_plan_out_bf16), a forward output and an input
 * gradient rounded to bf16 (the _out calls), half the bytes for the batch
 * norms that read them.  Its
 * activations want NHWC (block = channels): that is where oneDNN has its
 * AMX kernels; for the blocked layouts it has only AVX-512 BF16 ones.
 * Where the CPU has AMX, the weight gradient of a bf16 3x3 stride-1 conv
 * is templar's own (amx_bwdw.h), not oneDNN's; tpl_conv_impl_of says
 * which ran. */
#ifndef TPL_CONV_H
#define TPL_CONV_H
#include <stddef.h>

#include "bf16.h"
#include "ops.h"
#include "templar.h"

typedef struct tpl_engine tpl_engine; /* oneDNN engine + stream */

tpl_engine *tpl_engine_create(tpl_err *err);
void tpl_engine_free(tpl_engine *e);
/* The instruction set oneDNN dispatches to, e.g. "avx512_core". */
const char *tpl_engine_isa(void);

typedef struct tpl_conv_plan tpl_conv_plan;

/* From this batch on, 3x3 stride-1 convs on blocked layouts run as oneDNN's
 * winograd (below it, its direct kernels; for eval, model.c's winograd.c). */
#define TPL_CONV_WINOGRAD_MIN_BATCH 16

/* cin -> cout channels, k x k kernel, stride, padding k/2; input h x w;
 * fp32. */
tpl_conv_plan *tpl_conv_plan_create(tpl_engine *e, int cin, int cout, int k,
                                    int stride, int h, int w, int in_block,
                                    int out_block);
/* The same in precision prec. */
tpl_conv_plan *tpl_conv_plan_create_as(tpl_engine *e, tpl_precision prec, int cin, int cout,
                                       int k, int stride, int h, int w, int in_block,
                                       int out_block);
tpl_precision tpl_conv_precision(const tpl_conv_plan *p);
/* A bf16 plan's forward and backward-data write bf16 from now on
 * (tpl_conv_forward_bf16_out, tpl_conv_backward_data_bf16_out); nothing for
 * fp32 plans. */
void tpl_conv_plan_out_bf16(tpl_conv_plan *p);
int tpl_conv_writes_bf16(const tpl_conv_plan *p);
/* Splits the channels into groups convolved apart (groups = cin = cout:
 * depthwise); the weights become [cout][cin/groups][k][k].  Returns 0, or
 * -1 when groups does not divide both. */
int tpl_conv_plan_set_groups(tpl_conv_plan *p, int groups);
void tpl_conv_plan_free(tpl_conv_plan *p);
/* (Re)builds primitives for batch n; training adds the backward ones.
 * Returns 0, or -1 with err set. Cheap when nothing changed. */
int tpl_conv_plan_prepare(tpl_conv_plan *p, int n, int training, tpl_err *err);
tpl_shape tpl_conv_out_shape(const tpl_conv_plan *p);
tpl_shape tpl_conv_in_shape(const tpl_conv_plan *p);
size_t tpl_conv_weight_count(const tpl_conv_plan *p); /* cout*(cin/groups)*k*k */
/* Name of the implementation oneDNN picked for the forward pass, and for
 * pass 0 (forward), 1 (backward-data), 2 (backward-weights; "none" before
 * a training prepare). */
const char *tpl_conv_impl(const tpl_conv_plan *p);
const char *tpl_conv_impl_of(const tpl_conv_plan *p, int pass);

/* Weights of one use site of a plan, in the primitives' own formats. */
typedef struct tpl_conv_slot {
    void *fwd, *bwd;           /* reordered weights (bwd: for backward-data), fp32 or bf16 */
    size_t fwd_cap, bwd_cap;   /* capacities in bytes */
    unsigned long plan_gen;    /* plan generation the buffers were made for */
    unsigned long weights_gen; /* caller's version of the weights */
} tpl_conv_slot;

void tpl_conv_slot_free(tpl_conv_slot *s);
/* Reorders OIHW weights into the slot unless it already holds version gen of
 * them for the plan's current primitives. */
int tpl_conv_set_weights(tpl_conv_plan *p, tpl_conv_slot *s, const float *oihw,
                         unsigned long gen, tpl_err *err);

/* Each returns 0, or -1 with err set when oneDNN fails.  These take fp32
 * inputs and serve fp32 plans; the _bf16 ones take bf16 inputs and serve
 * bf16 plans. */
int tpl_conv_forward(tpl_conv_plan *p, const tpl_conv_slot *s, const float *x, float *y,
                     tpl_err *err);
int tpl_conv_backward_data(tpl_conv_plan *p, const tpl_conv_slot *s, const float *dy,
                           float *dx, tpl_err *err);
/* Writes (not adds) the weight gradient as OIHW into dw. */
int tpl_conv_backward_weights(tpl_conv_plan *p, const float *x, const float *dy, float *dw,
                              tpl_err *err);
int tpl_conv_forward_bf16(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *x,
                          float *y, tpl_err *err);
int tpl_conv_forward_bf16_out(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *x,
                              tpl_bf16 *y, tpl_err *err);
int tpl_conv_backward_data_bf16(tpl_conv_plan *p, const tpl_conv_slot *s, const tpl_bf16 *dy,
                                float *dx, tpl_err *err);
int tpl_conv_backward_data_bf16_out(tpl_conv_plan *p, const tpl_conv_slot *s,
                                    const tpl_bf16 *dy, tpl_bf16 *dx, tpl_err *err);
int tpl_conv_backward_weights_bf16(tpl_conv_plan *p, const tpl_bf16 *x, const tpl_bf16 *dy,
                                   float *dw, tpl_err *err);
#endif
