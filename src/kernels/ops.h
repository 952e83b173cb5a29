/* Layer ops, each forward beside its backward (llm.c style).
 *
 * Activation layout: [N][C/B][H*W][B] floats, where B is the channel block.
 * B = C is NHWC (images, heads), B = 16 is oneDNN's nChw16c (the trunk: it
 * lets the 3x3 convs use winograd kernels).  Element (n, c, p) lives at
 * ((n*(C/B) + c/B)*H*W + p)*B + c%B.  Every per-channel op here walks that
 * shape, so one kernel serves every layout. */
#ifndef TPL_OPS_H
#define TPL_OPS_H
#include <stddef.h>

#include "bf16.h"

typedef struct tpl_shape {
    int n, c, h, w, b; /* b: channel block, divides c */
} tpl_shape;

static inline size_t tpl_shape_numel(tpl_shape s) {
    return (size_t)s.n * s.c * s.h * s.w;
}
static inline size_t tpl_shape_index(tpl_shape s, int n, int c, int p) {
    return (((size_t)n * (s.c / s.b) + c / s.b) * ((size_t)s.h * s.w) + p) * s.b +
           c % s.b;
}

/* ---- batch norm, optionally followed by residual add and ReLU ----------
 *   out = act(gamma * (x - mean) / sqrt(var + eps) + beta [+ skip])
 * Training uses the batch's statistics and updates the running ones;
 * eval uses the running ones.  Fusing add and ReLU into the norm saves two
 * passes over the activations in both directions. */
/* A batch spread over several processes (synchronised BN): the training
 * forward's moments and the backward's sums become the whole batch's.
 * Each function gets this process's values per channel and the count of
 * values behind them, replaces them with those of every process's batch,
 * and returns the whole batch's count.  Both are collective: every process
 * calls them for the same BNs in the same order. */
typedef struct tpl_bn_sync {
    /* mean and biased variance */
    double (*moments)(void *user, int c, double *mean, double *var, double count);
    /* sums of the gradient g and of g * xhat */
    double (*sums)(void *user, int c, double *sum_g, double *sum_gxhat, double count);
    void *user;
} tpl_bn_sync;

#define TPL_RELU6 6

typedef struct tpl_bn_args {
    tpl_shape shape;
    const float *gamma, *beta;
    float *running_mean, *running_var;
    float momentum, eps;
    int relu;          /* apply ReLU at the end: 0 none, 1 ReLU, TPL_RELU6 min(max(v, 0), 6) */
    const float *skip; /* residual input added before the ReLU, or NULL */
    void *scratch;     /* tpl_bn_scratch_bytes(shape), 8-byte aligned: the caller
                        * owns it, so the hot path never allocates */
    const tpl_bn_sync *sync; /* training only; NULL: the batch is this process's alone */
    /* For bf16 convolutions (conv.h), the copies they read, made in the
     * same pass:
     *   out_bf16  forward: out rounded to bf16, written beside out (or
     *             alone, when out is NULL); backward: where the ReLU mask is
     *             read when out is NULL
     *   dx_bf16   backward: dx rounded to bf16, written beside dx (or alone,
     *             when dx is NULL) */
    tpl_bf16 *out_bf16;
    tpl_bf16 *dx_bf16;
    /* backward: a second gradient of the output, summed with dout as pass 1
     * reads it (a residual block's two paths, without a pass of their
     * own); needs dskip, which receives the masked sum and is what pass 2
     * reads (it may be dout itself). */
    const float *dout_add;
    /* backward: dout, or dout_add, in bf16, read where the float pointer is
     * NULL (a bf16 convolution's input gradient) */
    const tpl_bf16 *dout_bf16, *dout_add_bf16;
    /* the input x in bf16, read where x is NULL (forward and backward): a
     * bf16 convolution's output, half the bytes of every pass over it */
    const tpl_bf16 *x_bf16;
} tpl_bn_args;

/* Scratch bytes a BN of this shape needs, in any of its calls. */
size_t tpl_bn_scratch_bytes(tpl_shape s);

/* Saves per-channel mean and 1/std (c floats each) for the backward.
 * out may be NULL when a->out_bf16 is set, x when a->x_bf16 is (see
 * tpl_bn_args; the same holds for the eval forward and the backward). */
void tpl_bn_forward_train(const tpl_bn_args *a, const float *x, float *out,
                          float *save_mean, float *save_invstd);
void tpl_bn_forward_eval(const tpl_bn_args *a, const float *x, float *out);
/* The per-channel affine map eval mode applies: out = x * scale + shift. */
void tpl_bn_eval_affine(const tpl_bn_args *a, float *scale, float *shift);
/* Given out and dout: writes dx, adds into dgamma/dbeta, and writes dskip
 * (the gradient reaching the residual input) when a->skip and dskip are set.
 * dout may alias dx.  out or dx may be NULL when a->out_bf16 or a->dx_bf16
 * stands in (see tpl_bn_args). */
void tpl_bn_backward(const tpl_bn_args *a, const float *x, const float *out,
                     const float *dout, const float *save_mean,
                     const float *save_invstd, float *dx, float *dgamma,
                     float *dbeta, float *dskip);

/* ---- global average pool: [N][C/B][HW][B] -> [N][C] ---------------------- */
void tpl_avgpool_forward(tpl_shape s, const float *x, float *y);
void tpl_avgpool_backward(tpl_shape s, const float *dy, float *dx);

/* ---- linear: y[n][o] = sum_i x[n][i] w[o][i] + b[o] ----------------------- */
void tpl_linear_forward(int n, int in, int out, const float *x, const float *w,
                        const float *b, float *y);
/* Adds into dw, db; writes dx when non-NULL. */
void tpl_linear_backward(int n, int in, int out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw,
                         float *db);

/* ---- softmax over k values with temperature, and its backward ------------ */
void tpl_softmax_forward(int k, float tau, const float *z, float *a);
/* dz[j] = (1/tau) * a[j] * (da[j] - sum_i a[i] da[i]) */
void tpl_softmax_backward(int k, float tau, const float *a, const float *da,
                          float *dz);
#endif
