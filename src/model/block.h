/* Block kinds and aggregations: the two axes of a residual block.
 *
 * A block is   out = act(BN_last(branch(h)) + h)
 * where the branch is the block kind's (block_basic.c: conv -> BN -> ReLU ->
 * conv; block_inverted.c: 1x1 -> BN -> ReLU6 -> depthwise 3x3 -> BN -> ReLU
 * -> 1x1, its BNs' scales and shifts mixed with its weights), and the
 * aggregation decides where the templates meet:
 *
 *   params   (aggregate_params.c)  one branch run on the mixed weights
 *            W = sum_k a_k T_k: the template bank
 *   outputs  (aggregate_outputs.c) every template with a_k != 0 runs its own
 *            branch, with BNs of its own; the outputs are mixed: a mixture
 *            of experts
 *
 * Each kind is one file with its forward beside its backward; each
 * aggregation one file that calls them.  The model (model.c) sees only the
 * aggregation, one call each way.
 *
 * In bf16 runs (tpl_model_bf16) the convolutions read bf16 copies of their
 * inputs and output gradients, which the BN kernels write in the pass that
 * makes the fp32 values (ops.h: out_bf16, dx_bf16); a tensor only a
 * convolution and a ReLU mask read is kept in bf16 alone. */
#ifndef TPL_BLOCK_H
#define TPL_BLOCK_H
#include "model.h"
#include "ops.h"

/* An activation as a block reads it: its fp32 values, and in bf16 runs
 * their bf16 copy (NULL in fp32 runs), which the convolutions read. */
typedef struct tpl_act {
    const float *f;
    const tpl_bf16 *h;
} tpl_act;

/* A branch's saved tensors: the kind's own, then its output (the last).
 * In training they are kept for the backward; in eval they are scratch. */
#define TPL_BRANCH_MAX_SAVED 10

/* One run of a branch: whose weights, whose BNs. */
typedef struct tpl_branch {
    tpl_model *m;
    int task, s;
    size_t bn_at;             /* the branch's first BN: offset into the stage's BN views */
    tpl_conv_slot *slots;     /* the kind's convs, in order */
    const float *w;           /* the weights in the kind's template layout */
    unsigned long gen;        /* version of w, for the slots' reordered copies */
} tpl_branch;

typedef struct tpl_block_kind {
    const char *name;
    int convs;           /* convolutions of a branch: weight slots per unit */
    /* BN rows inside the branch, in units of the stage's width (a BN of E x
     * width channels takes E rows; the block's last BN not counted). */
    int (*branch_bns)(const tpl_stage *st);
    /* Channels of the widest tensor a branch makes: the gradient buffers
     * and BN scratch are sized by it. */
    int (*widest)(const tpl_stage *st);
    /* Where the block's BN scales start within a template, the shifts
     * following them (one per BN row, in row order, the last BN's
     * included): for kinds that mix their BNs' affine parameters from the
     * templates (a task then keeps only the running statistics).  NULL:
     * the BNs are the task's own. */
    size_t (*affine_at)(const tpl_stage *st);
    int last_relu;       /* ReLU after the residual sum */
    int saved;           /* tensors a branch saves (its output the last) */
    /* Floats of one template, and its shape (without K) for the file. */
    size_t (*template_floats)(const tpl_stage *st);
    int (*template_shape)(const tpl_stage *st, int64_t *shape);
    /* Fan-in of conv i of a template, for initialisation; and where conv i
     * starts within it. */
    int (*fan_in)(const tpl_stage *st, int conv);
    /* Output channels of conv i: its weights are [out][...] within the
     * template, so that a group of output channels is one run of floats
     * (mixture granularity, granularity.c). */
    int (*conv_out)(const tpl_stage *st, int conv);
    /* Conv i's weight shape, [out][in / groups][k][k] (plain files). */
    void (*conv_shape)(const tpl_stage *st, int conv, int64_t shape[4]);
    size_t (*conv_offset)(const tpl_stage *st, int conv);
    /* Conv plans into st->plan[], from the stage's geometry, in the model's
     * precision; freed by the model. */
    int (*plans)(tpl_model *m, tpl_stage *st);
    /* Floats of saved tensor i for a batch of n (a tensor kept in bf16
     * takes half as many). */
    size_t (*saved_floats)(const tpl_stage *st, int i, int n);
    int (*forward)(const tpl_branch *b, int training, tpl_act h, float **x, tpl_err *err);
    /* From dy = dL/d(output): adds the weight gradient (template layout) into
     * dw, writes dL/dh into dh; g[0..1] are activation-sized scratch; dy may
     * be clobbered (and may be dh).  bf16 runs read dy rounded to bf16 from
     * dy_bf16 (and dy may be NULL); dh is fp32, but for bf16 values where
     * the stage's convs write bf16 (tpl_stage.out_bf16). */
    int (*backward)(const tpl_branch *b, tpl_act h, float **x, float *dy, const tpl_bf16 *dy_bf16,
                    float **g, float *dw, float *dh, tpl_err *err);
    /* Optional eval path for a whole block of the params aggregation (the
     * last BN, skip and ReLU included): returns 1 when it ran, 0 when it
     * does not apply, -1 on error. */
    int (*eval_block)(const tpl_branch *b, int l, size_t last_bn_at, const float *h, float **x,
                      float *out, tpl_err *err);
    /* The kind's own caches of stage st: one derived from the mixed
     * weights, in the mixing cache (tpl_mix_cache.kind_state) so that it
     * travels with them, and one from the shared tensors
     * (tpl_stage.kind_shared); the bytes of the first once built, and how
     * either is freed.  Both NULL for a kind that keeps neither. */
    size_t (*state_bytes)(const tpl_model *m, const tpl_stage *st);
    void (*free_state)(void *state);
    /* Floats eval_block keeps (the stage's transformed templates and its
     * blocks' mixed transforms) and borrows (tpl_ws_extra) for a batch of n;
     * 0 when it would not run (memory estimates). */
    size_t (*eval_block_floats)(const tpl_stage *st, int n);
} tpl_block_kind;

extern const tpl_block_kind tpl_block_basic, tpl_block_inverted;
const tpl_block_kind *tpl_block_kind_of(tpl_block_type t);

typedef struct tpl_aggregation_impl {
    tpl_aggregation id;
    /* BNs a block owns, and weight-slot units (times the kind's convs). */
    int (*bn_per_block)(const tpl_stage *st);
    int (*slot_units)(const tpl_stage *st);
    /* Mixed-weight floats a stage needs in the mixing cache. */
    size_t (*mixed_floats)(const tpl_stage *st);
    /* Branch runs a block keeps in training (1, or K experts). */
    int (*branches)(const tpl_stage *st);
    int (*forward)(tpl_model *m, int task, int s, int l, int training, tpl_act h,
                   float **blk, tpl_err *err);
    int (*backward)(tpl_model *m, int task, int s, int l, tpl_act h, float **blk,
                    tpl_err *err);
} tpl_aggregation_impl;

extern const tpl_aggregation_impl tpl_aggregate_params, tpl_aggregate_outputs;
const tpl_aggregation_impl *tpl_aggregation_of(tpl_aggregation a);

/* ---- shared by the kinds and aggregations ------------------------------- */

/* Where a template's convolutions end (its BNs' mixed scale and shift, if
 * the kind has them, follow), and the floats of conv i within it
 * (granularity.c). */
size_t tpl_block_convs_end(const tpl_stage *st);
size_t tpl_block_conv_floats(const tpl_stage *st, int conv);

/* The BN args of BN views v at offset at, for shape; with relu and skip. */
tpl_bn_args tpl_model_bn_args(const tpl_model *m, tpl_bn_views v, size_t at, tpl_shape shape,
                              int relu, const float *skip);
/* A block's BN as the branch b runs it: its running statistics the task's
 * at offset at (floats into the stage's BN rows), its scale and shift the
 * task's too, or, for kinds that mix them (affine_at), in b's weights. */
tpl_bn_args tpl_branch_bn_args(const tpl_branch *b, size_t at, tpl_shape shape, int relu,
                               const float *skip);
/* Its backward: the scale's and shift's gradients into the task's, or into
 * dw (the kind's template layout) for kinds that mix them. */
void tpl_branch_bn_backward(const tpl_branch *b, const tpl_bn_args *a, const float *x,
                            const float *out, const float *dout, const float *stats, size_t at,
                            float *dw, float *dx, float *dskip);
/* Training: batch statistics into stats (mean, 1/std); eval: running ones. */
void tpl_model_bn_forward(const tpl_model *m, const tpl_bn_args *a, int training,
                          const float *x, float *out, float *stats);
/* BN backward into the views' gradients at offset at. */
void tpl_model_bn_backward(tpl_model *m, const tpl_bn_args *a, const float *x, const float *out,
                           const float *dout, const float *stats, tpl_bn_views v, size_t at,
                           float *dx, float *dskip);
/* dst += src, n floats. */
void tpl_add_into(float *dst, const float *src, size_t n);
/* A convolution's forward, and its backward (weights into dw, and the
 * input's gradient into dx unless NULL), reading x and dy as the model's
 * precision does (tpl_act; dy or dy_bf16).  The forward's y and the
 * backward's dx hold bf16 values when the plan writes them
 * (tpl_conv_writes_bf16). */
int tpl_model_conv_forward(const tpl_model *m, tpl_conv_plan *p, const tpl_conv_slot *s,
                           tpl_act x, float *y, tpl_err *err);
int tpl_model_conv_backward(const tpl_model *m, tpl_conv_plan *p, const tpl_conv_slot *s,
                            tpl_act x, const float *dy, const tpl_bf16 *dy_bf16, float *dw,
                            float *dx, tpl_err *err);
/* A block table entry (workspace.h) or saved tensor that holds bf16 values. */
static inline tpl_bf16 *tpl_bf16_at(float *p) { return (tpl_bf16 *)(void *)p; }
#endif
