/* Layer ops over the blocked activation layout described in ops.h.
 * Reductions are done per image and merged in image order, so results do not
 * depend on the number of threads. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Walks one image as runs of B consecutive channels: for each run, OFF is
 * the element offset of its first value and C0 its first channel.  The
 * inner loops over j < B then touch contiguous memory and vectorise. */
#define FOR_RUNS(s, base, OFF, C0)                                          \
    for (int cb_ = 0; cb_ < (s).c / (s).b; cb_++)                           \
        for (size_t p_ = 0, C0 = (size_t)cb_ * (s).b,                       \
                    OFF = (base) + (size_t)cb_ * (s).h * (s).w * (s).b;     \
             p_ < (size_t)(s).h * (s).w; p_++, OFF += (s).b)

static size_t image_stride(tpl_shape s) { return (size_t)s.c * s.h * s.w; }

/* A BN's input: fp32, or bf16 where f is NULL. */
typedef struct bn_in {
    const float *f;
    const tpl_bf16 *h;
} bn_in;

/* The run of B values at offset o as floats: in place, or widened into buf
 * (so that the loops over a run stay the plain float loops they vectorise
 * as). */
static inline const float *run_in(bn_in x, size_t o, int B, float *restrict buf) {
    if (x.f) return x.f + o;
    for (int j = 0; j < B; j++) buf[j] = tpl_bf16_widen(x.h[o + j]);
    return buf;
}

/* Mean and M2 (sum of squared deviations) per channel of image n. */
static void image_moments(tpl_shape s, bn_in x, int n, float *restrict mean,
                          float *restrict m2) {
    const size_t base = (size_t)n * image_stride(s);
    const float inv = 1.0f / (float)(s.h * s.w);
    const int B = s.b;
    float buf[B];
    for (int c = 0; c < s.c; c++) mean[c] = m2[c] = 0.0f;
    FOR_RUNS(s, base, o, c0) {
        const float *restrict xr = run_in(x, o, B, buf);
        for (int j = 0; j < B; j++) mean[c0 + j] += xr[j];
    }
    for (int c = 0; c < s.c; c++) mean[c] *= inv;
    FOR_RUNS(s, base, o, c0) {
        const float *restrict xr = run_in(x, o, B, buf);
        for (int j = 0; j < B; j++) {
            float d = xr[j] - mean[c0 + j];
            m2[c0 + j] += d * d;
        }
    }
}

/* The caller's scratch (tpl_bn_scratch_bytes), cut into what one call
 * needs: per-channel doubles first (alignment), then per-image partial sums,
 * then per-channel floats. */
typedef struct bn_scratch {
    double *mean, *var; /* [c] each */
    float *part;        /* [n][2][c] */
    float *k;           /* [3][c] */
} bn_scratch;

static bn_scratch cut_scratch(tpl_shape s, void *scratch) {
    bn_scratch b;
    b.mean = scratch;
    b.var = b.mean + s.c;
    b.part = (float *)(b.var + s.c);
    b.k = b.part + 2 * (size_t)s.n * s.c;
    return b;
}

size_t tpl_bn_scratch_bytes(tpl_shape s) {
    return sizeof(double) * 2 * (size_t)s.c + sizeof(float) * (2 * (size_t)s.n * s.c + 3 * (size_t)s.c);
}

/* Batch mean and biased variance per channel, merged over images in order
 * (Chan et al.: equal counts per image make the merge a plain sum). */
static void batch_moments(tpl_shape s, bn_in x, double *mean, double *var, float *part) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.n; n++)
        image_moments(s, x, n, part + (size_t)n * 2 * s.c,
                      part + (size_t)n * 2 * s.c + s.c);
    const double hw = (double)s.h * s.w, total = hw * s.n;
    for (int c = 0; c < s.c; c++) {
        double m = 0.0;
        for (int n = 0; n < s.n; n++) m += part[(size_t)n * 2 * s.c + c];
        m /= s.n;
        double m2 = 0.0;
        for (int n = 0; n < s.n; n++) {
            const float *pm = part + (size_t)n * 2 * s.c;
            double d = pm[c] - m;
            m2 += pm[s.c + c] + hw * d * d;
        }
        mean[c] = m;
        var[c] = m2 / total;
    }
}

/* Where the activation clips from above: ReLU6's 6, or nowhere. */
static inline float act_cap(int relu) { return relu == TPL_RELU6 ? 6.0f : INFINITY; }

/* out = act(x * scale[c] + shift[c] (+ skip)) over the whole batch. */
static void affine_act(const tpl_bn_args *a, const float *restrict scale,
                       const float *restrict shift, bn_in x, float *restrict out) {
    const tpl_shape s = a->shape;
    const float *restrict skip = a->skip;
    const int relu = a->relu, B = s.b;
    const float cap = act_cap(relu);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.n; n++) {
        const size_t base = (size_t)n * image_stride(s);
        float buf[B];
        FOR_RUNS(s, base, o, c0) {
            const float *restrict xr = run_in(x, o, B, buf);
            for (int j = 0; j < B; j++) {
                float v = xr[j] * scale[c0 + j] + shift[c0 + j];
                if (skip) v += skip[o + j];
                out[o + j] = relu ? fminf(v > 0.0f ? v : 0.0f, cap) : v;
            }
        }
    }
}

/* The same, writing a->out_bf16 too (out, when not NULL): the same values,
 * rounded.  Kept apart from affine_act, whose fp32 loop then stays a plain
 * vector loop with no branch on where it stores. */
static void affine_act_bf16(const tpl_bn_args *a, const float *restrict scale,
                            const float *restrict shift, bn_in x, float *restrict out) {
    const tpl_shape s = a->shape;
    const float *restrict skip = a->skip;
    tpl_bf16 *restrict oh = a->out_bf16;
    const int relu = a->relu, B = s.b;
    const float cap = act_cap(relu);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.n; n++) {
        const size_t base = (size_t)n * image_stride(s);
        float buf[B];
        FOR_RUNS(s, base, o, c0) {
            const float *restrict xr = run_in(x, o, B, buf);
            for (int j = 0; j < B; j++) {
                float v = xr[j] * scale[c0 + j] + shift[c0 + j];
                if (skip) v += skip[o + j];
                v = relu ? fminf(v > 0.0f ? v : 0.0f, cap) : v;
                if (out) out[o + j] = v;
                oh[o + j] = tpl_bf16_round(v);
            }
        }
    }
}

static void affine_out(const tpl_bn_args *a, const float *scale, const float *shift,
                       bn_in x, float *out) {
    if (a->out_bf16) affine_act_bf16(a, scale, shift, x, out);
    else affine_act(a, scale, shift, x, out);
}

void tpl_bn_forward_train(const tpl_bn_args *a, const float *x, float *out,
                          float *save_mean, float *save_invstd) {
    const tpl_shape s = a->shape;
    bn_scratch b = cut_scratch(s, a->scratch);
    double *mean = b.mean, *var = b.var;
    float *scale = b.k, *shift = scale + s.c;
    const bn_in in = {x, a->x_bf16};
    batch_moments(s, in, mean, var, b.part);
    double count = (double)s.n * s.h * s.w;
    if (a->sync) count = a->sync->moments(a->sync->user, s.c, mean, var, count);
    for (int c = 0; c < s.c; c++) {
        float invstd = (float)(1.0 / sqrt(var[c] + a->eps));
        save_mean[c] = (float)mean[c];
        save_invstd[c] = invstd;
        scale[c] = a->gamma[c] * invstd;
        shift[c] = a->beta[c] - (float)mean[c] * scale[c];
        if (a->running_mean) {
            double unbiased = count > 1 ? var[c] * count / (count - 1) : var[c];
            a->running_mean[c] += a->momentum * ((float)mean[c] - a->running_mean[c]);
            a->running_var[c] += a->momentum * ((float)unbiased - a->running_var[c]);
        }
    }
    affine_out(a, scale, shift, in, out);
}

void tpl_bn_eval_affine(const tpl_bn_args *a, float *scale, float *shift) {
    for (int c = 0; c < a->shape.c; c++) {
        scale[c] = a->gamma[c] / sqrtf(a->running_var[c] + a->eps);
        shift[c] = a->beta[c] - a->running_mean[c] * scale[c];
    }
}

void tpl_bn_forward_eval(const tpl_bn_args *a, const float *x, float *out) {
    float *scale = cut_scratch(a->shape, a->scratch).k, *shift = scale + a->shape.c;
    tpl_bn_eval_affine(a, scale, shift);
    affine_out(a, scale, shift, (bn_in){x, a->x_bf16}, out);
}

/* Gradient after the ReLU mask: what reaches the sum (norm + skip).  The
 * mask is read from out, or from its bf16 copy when out is NULL (rounding
 * keeps a value's sign, and zero zero): a run of it at a time (run_in), NULL
 * without a ReLU. */
typedef struct relu_mask {
    int relu;
    bn_in out;
    float cap; /* ReLU6's 6: an output there was clipped (read from a bf16
                * copy, outputs within 1/64 of 6 read as clipped too) */
} relu_mask;

static inline const float *mask_run(relu_mask k, size_t o, int B, float *restrict buf) {
    return k.relu ? run_in(k.out, o, B, buf) : NULL;
}

static inline int cut(const float *restrict mr, float cap, int j) {
    return mr && !(mr[j] > 0.0f && mr[j] < cap);
}

static inline float masked(relu_mask k, const float *restrict mr, const float *dr, int j) {
    return cut(mr, k.cap, j) ? 0.0f : dr[j];
}

/* The same of dout + add. */
static inline float masked_sum(relu_mask k, const float *restrict mr, const float *dr,
                               const float *restrict ar, int j) {
    const float d = dr[j] + ar[j];
    return cut(mr, k.cap, j) ? 0.0f : d;
}

/* Per-channel sums over image n of g and g * (x - mean), where g is the
 * gradient after the ReLU mask; also writes dskip = g when asked. */
static void backward_sums(tpl_shape s, relu_mask k, bn_in x, bn_in dout,
                          const float *restrict mean, float *dskip, int n, float *restrict sg,
                          float *restrict sgx) {
    const size_t base = (size_t)n * image_stride(s);
    const int B = s.b;
    float buf[B], mbuf[B], dbuf[B];
    for (int c = 0; c < s.c; c++) sg[c] = sgx[c] = 0.0f;
    FOR_RUNS(s, base, o, c0) {
        const float *restrict xr = run_in(x, o, B, buf), *restrict mr = mask_run(k, o, B, mbuf);
        const float *dr = run_in(dout, o, B, dbuf);
        for (int j = 0; j < B; j++) {
            float g = masked(k, mr, dr, j);
            sg[c0 + j] += g;
            sgx[c0 + j] += g * (xr[j] - mean[c0 + j]);
        }
        if (dskip)
            for (int j = 0; j < B; j++) dskip[o + j] = masked(k, mr, dr, j);
    }
}

/* The same with g the mask of dout + add; dskip = g always (it may be
 * dout: each run is read before it is written). */
static void backward_sums_add(tpl_shape s, relu_mask k, bn_in x, bn_in dout, bn_in add,
                              const float *restrict mean, float *dskip, int n,
                              float *restrict sg, float *restrict sgx) {
    const size_t base = (size_t)n * image_stride(s);
    const int B = s.b;
    float buf[B], mbuf[B], dbuf[B], abuf[B];
    for (int c = 0; c < s.c; c++) sg[c] = sgx[c] = 0.0f;
    FOR_RUNS(s, base, o, c0) {
        const float *restrict xr = run_in(x, o, B, buf), *restrict mr = mask_run(k, o, B, mbuf);
        const float *dr = run_in(dout, o, B, dbuf), *restrict ar = run_in(add, o, B, abuf);
        for (int j = 0; j < B; j++) {
            float g = masked_sum(k, mr, dr, ar, j);
            sg[c0 + j] += g;
            sgx[c0 + j] += g * (xr[j] - mean[c0 + j]);
        }
        for (int j = 0; j < B; j++) dskip[o + j] = masked_sum(k, mr, dr, ar, j);
    }
}

/* Pass 2 of the backward: dx = k1 * g - k2 - k3 * (x - mean), into dx
 * and/or its bf16 copy. */
static void backward_dx(const tpl_bn_args *a, relu_mask k, bn_in x, bn_in dout,
                        const float *restrict mean, const float *restrict k1,
                        const float *restrict k2, const float *restrict k3, float *dx) {
    const tpl_shape s = a->shape;
    const int B = s.b;
    tpl_bf16 *dh = a->dx_bf16;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.n; n++) {
        const size_t base = (size_t)n * image_stride(s);
        float buf[B], mbuf[B], dbuf[B];
        FOR_RUNS(s, base, o, c0) {
            const float *restrict xr = run_in(x, o, B, buf), *restrict mr = mask_run(k, o, B, mbuf);
            const float *dr = run_in(dout, o, B, dbuf);
            if (!dh) {
                for (int j = 0; j < B; j++) {
                    float g = masked(k, mr, dr, j);
                    dx[o + j] = k1[c0 + j] * g - k2[c0 + j] - k3[c0 + j] * (xr[j] - mean[c0 + j]);
                }
                continue;
            }
            if (dx) {
                for (int j = 0; j < B; j++) {
                    float g = masked(k, mr, dr, j);
                    dx[o + j] = k1[c0 + j] * g - k2[c0 + j] - k3[c0 + j] * (xr[j] - mean[c0 + j]);
                    dh[o + j] = tpl_bf16_round(dx[o + j]);
                }
                continue;
            }
            for (int j = 0; j < B; j++) { /* bf16 alone: no store that may alias dout */
                float g = masked(k, mr, dr, j);
                dh[o + j] = tpl_bf16_round(k1[c0 + j] * g - k2[c0 + j] -
                                           k3[c0 + j] * (xr[j] - mean[c0 + j]));
            }
        }
    }
}

void tpl_bn_backward(const tpl_bn_args *a, const float *x, const float *out,
                     const float *dout, const float *save_mean,
                     const float *save_invstd, float *dx, float *dgamma,
                     float *dbeta, float *dskip) {
    const tpl_shape s = a->shape;
    const relu_mask k = {a->relu, {out, a->out_bf16}, act_cap(a->relu)};
    const bn_in in = {x, a->x_bf16};
    bn_scratch b = cut_scratch(s, a->scratch);
    float *part = b.part;
    /* pass 1: per-image sums of g and g * (x - mean) (and dskip = g) */
    bn_in d = {dout, a->dout_bf16};
    const bn_in add = {a->dout_add, a->dout_add_bf16};
    const int adding = add.f || add.h;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.n; n++) {
        float *sg = part + (size_t)n * 2 * s.c;
        if (adding) backward_sums_add(s, k, in, d, add, save_mean, dskip, n, sg, sg + s.c);
        else backward_sums(s, k, in, d, save_mean, dskip, n, sg, sg + s.c);
    }
    if (adding) d = (bn_in){dskip, NULL}; /* the masked sum: masking it again changes nothing */
    float *k1 = b.k, *k2 = k1 + s.c, *k3 = k2 + s.c;
    double *sum_g = b.mean, *sum_gxhat = b.var; /* the forward's, free here */
    double count = (double)s.n * s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        sum_g[c] = sum_gxhat[c] = 0.0;
        for (int n = 0; n < s.n; n++) {
            sum_g[c] += part[(size_t)n * 2 * s.c + c];
            sum_gxhat[c] += part[(size_t)n * 2 * s.c + s.c + c];
        }
        sum_gxhat[c] *= save_invstd[c];
        /* this batch's share: the gradients are summed over processes later */
        dgamma[c] += (float)sum_gxhat[c];
        dbeta[c] += (float)sum_g[c];
    }
    if (a->sync) count = a->sync->sums(a->sync->user, s.c, sum_g, sum_gxhat, count);
    for (int c = 0; c < s.c; c++) {
        /* dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)) */
        float gi = a->gamma[c] * save_invstd[c];
        k1[c] = gi;
        k2[c] = (float)(gi * sum_g[c] / count);
        k3[c] = (float)(gi * sum_gxhat[c] / count) * save_invstd[c];
    }
    backward_dx(a, k, in, d, save_mean, k1, k2, k3, dx);
}

void tpl_avgpool_forward(tpl_shape s, const float *x, float *y) {
    const float inv = 1.0f / (float)(s.h * s.w);
    for (int n = 0; n < s.n; n++) {
        float *yn = y + (size_t)n * s.c;
        const size_t base = (size_t)n * image_stride(s);
        for (int c = 0; c < s.c; c++) yn[c] = 0.0f;
        FOR_RUNS(s, base, o, c0) {
            for (int j = 0; j < s.b; j++) yn[c0 + j] += x[o + j];
        }
        for (int c = 0; c < s.c; c++) yn[c] *= inv;
    }
}

void tpl_avgpool_backward(tpl_shape s, const float *dy, float *dx) {
    const float inv = 1.0f / (float)(s.h * s.w);
    for (int n = 0; n < s.n; n++) {
        const float *dyn = dy + (size_t)n * s.c;
        const size_t base = (size_t)n * image_stride(s);
        FOR_RUNS(s, base, o, c0) {
            for (int j = 0; j < s.b; j++) dx[o + j] = dyn[c0 + j] * inv;
        }
    }
}

void tpl_linear_forward(int n, int in, int out, const float *x, const float *w,
                        const float *b, float *y) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            float acc = b ? b[o] : 0.0f;
            for (int k = 0; k < in; k++) acc += x[(size_t)i * in + k] * w[(size_t)o * in + k];
            y[(size_t)i * out + o] = acc;
        }
}

void tpl_linear_backward(int n, int in, int out, const float *x,
                         const float *w, const float *dy, float *dx, float *dw,
                         float *db) {
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + (size_t)i * out, *xi = x + (size_t)i * in;
        for (int o = 0; o < out; o++) {
            if (db) db[o] += dyi[o];
            for (int k = 0; k < in; k++) dw[(size_t)o * in + k] += dyi[o] * xi[k];
        }
        if (!dx) continue;
        for (int k = 0; k < in; k++) {
            float acc = 0.0f;
            for (int o = 0; o < out; o++) acc += dyi[o] * w[(size_t)o * in + k];
            dx[(size_t)i * in + k] = acc;
        }
    }
}

void tpl_softmax_forward(int k, float tau, const float *z, float *a) {
    float zmax = z[0];
    for (int i = 1; i < k; i++) zmax = z[i] > zmax ? z[i] : zmax;
    double sum = 0.0;
    for (int i = 0; i < k; i++) sum += exp((double)(z[i] - zmax) / tau);
    for (int i = 0; i < k; i++) a[i] = (float)(exp((double)(z[i] - zmax) / tau) / sum);
}

void tpl_softmax_backward(int k, float tau, const float *a, const float *da,
                          float *dz) {
    double dot = 0.0;
    for (int i = 0; i < k; i++) dot += (double)a[i] * da[i];
    for (int i = 0; i < k; i++) dz[i] = (float)(a[i] * (da[i] - dot) / tau);
}
