/* bf16 convolutions (templar.h: TPL_PRECISION_BF16) against the fp32 path.
 * Finite differences mean nothing at bf16's 8 bits, so every check compares
 * with fp32:
 *
 *  1. rounding: tpl_bf16_round is round-to-nearest-even, NaN kept.
 *  2. each convolution shape the models use (stem from 1 and 3 channels,
 *     blocks, stride-2 transitions, batch 64 and 1), forward,
 *     backward-data and backward-weights: the bf16 plan on bf16 inputs
 *     equals the fp32 plan on the same values rounded, to TOL_SUM of the
 *     largest output (so the sums are fp32: bf16 sums would be off by
 *     ~1e-2), and the fp32 plan on the unrounded values to TOL_ROUNDED;
 *     oneDNN's kernel is a JIT one, never its reference or a GEMM fallback.
 *  3. the BN kernels' bf16 copies are the fp32 results rounded, and a ReLU
 *     mask read from a copy gives the same gradients.
 *  4. every layer kind in a model (stem, basic blocks mixing parameters,
 *     stage transitions, experts mixing outputs, the head; one and three
 *     input channels; widths 16, 24 and 32): logits of a training and an
 *     eval forward (batch 16 and 1) to TOL_LOGITS of the largest, and every
 *     parameter gradient to TOL_GRAD in relative L2 norm; switching back to
 *     fp32 reproduces the fp32 results bit for bit.
 *  5. a short training run: the last steps' loss in bf16 within
 *     TOL_TRAIN_LOSS of fp32's.
 *
 * Exits 77 (skipped) on a CPU without AVX-512 BF16, after checking that
 * asking for bf16 there fails with one line. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "block.h"
#include "check.h"
#include "stripes.h"
#include "conv.h"
#include "loss.h"
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "rng.h"
#include "train.h"

#define TOL_SUM 2e-5        /* bf16 plan vs fp32 plan on the rounded values */
#define TOL_ROUNDED 3e-2    /* ... vs fp32 on the values themselves */
#define TOL_LOGITS 5e-2     /* model logits, of the largest |logit| */
#define TOL_GRAD 0.2        /* a parameter's gradient, relative L2 (measured: up to 0.11;
                             * small sums of terms that cancel, as a BN shift's or an early
                             * layer's at initialisation, lose the most) */
#define TOL_TRAIN_LOSS 0.1  /* mean loss of a short run's last steps */

static tpl_rng rng;

static float *randn(size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = scale * tpl_rng_normal(&rng);
    return v;
}

static float *rounded(const float *x, size_t n) {
    float *r = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) r[i] = tpl_bf16_widen(tpl_bf16_round(x[i]));
    return r;
}

static tpl_bf16 *to_bf16(const float *x, size_t n) {
    tpl_bf16 *h = malloc(sizeof(tpl_bf16) * n);
    tpl_bf16_from_f32(x, h, n);
    return h;
}

/* max |a - b| / max |b| */
static double rel_max(const float *a, const float *b, size_t n) {
    double d = 0.0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return d / m;
}

/* ||a - b|| / ||b|| */
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        m += (double)b[i] * b[i];
    }
    return m > 0 ? sqrt(d / m) : sqrt(d);
}

/* ---- 1. rounding ------------------------------------------------------- */

static void test_rounding(void) {
    const struct { float f; uint16_t h; } cases[] = {
        {1.0f, 0x3f80}, {-2.0f, 0xc000}, {0.0f, 0x0000}, {-0.0f, 0x8000},
        {1.00390625f, 0x3f80},  /* 1 + 2^-8: a tie, to even (down) */
        {1.01171875f, 0x3f82},  /* 1 + 3 * 2^-8: a tie, to even (up) */
        {INFINITY, 0x7f80}, {3.3895314e38f, 0x7f7f}, /* the largest bf16 stays finite */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_MSG(tpl_bf16_round(cases[i].f) == cases[i].h, "round(%.9g) = 0x%04x, not 0x%04x",
                  cases[i].f, tpl_bf16_round(cases[i].f), cases[i].h);
    CHECK(tpl_bf16_round(nextafterf(1.00390625f, 2.0f)) == 0x3f81); /* just above a tie: up */
    CHECK(isnan(tpl_bf16_widen(tpl_bf16_round(NAN))));
    CHECK(tpl_bf16_widen(0x3f80) == 1.0f);
    /* planar images to NHWC */
    const float planar[2 * 3 * 2] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    tpl_bf16 nhwc[12];
    tpl_bf16_from_planar(planar, 2, 3, 2, nhwc);
    const float want[12] = {1, 3, 5, 2, 4, 6, 7, 9, 11, 8, 10, 12};
    for (int i = 0; i < 12; i++) CHECK(tpl_bf16_widen(nhwc[i]) == want[i]);
}

/* ---- 2. convolutions --------------------------------------------------- */

typedef struct conv_case {
    int n, cin, cout, stride, h, w;
} conv_case;

/* A JIT kernel, not oneDNN's reference one nor a GEMM-based fallback. */
static int fast_kernel(const char *impl) {
    return strncmp(impl, "ref", 3) != 0 && strstr(impl, "gemm") == NULL &&
           (strstr(impl, "bf16") || strstr(impl, "amx"));
}

static void test_conv(tpl_engine *e, conv_case k) {
    tpl_err err = {{0}};
    /* NHWC both sides, the layout bf16 runs use */
    tpl_conv_plan *p32 = tpl_conv_plan_create_as(e, TPL_PRECISION_FP32, k.cin, k.cout, 3, k.stride,
                                                 k.h, k.w, k.cin, k.cout);
    tpl_conv_plan *p16 = tpl_conv_plan_create_as(e, TPL_PRECISION_BF16, k.cin, k.cout, 3, k.stride,
                                                 k.h, k.w, k.cin, k.cout);
    int ok = tpl_conv_plan_prepare(p32, k.n, 1, &err) == 0 &&
             tpl_conv_plan_prepare(p16, k.n, 1, &err) == 0;
    CHECK_MSG(ok, "prepare %d->%d: %s", k.cin, k.cout, err.msg);
    if (!ok) goto done;
    for (int pass = 0; pass < 3; pass++)
        CHECK_MSG(fast_kernel(tpl_conv_impl_of(p16, pass)),
                  "%d->%d stride %d batch %d: pass %d runs '%s'", k.cin, k.cout, k.stride, k.n,
                  pass, tpl_conv_impl_of(p16, pass));
    const size_t ni = tpl_shape_numel(tpl_conv_in_shape(p16)),
                 no = tpl_shape_numel(tpl_conv_out_shape(p16)), nw = tpl_conv_weight_count(p16);
    float *x = randn(ni, 1.0f), *w = randn(nw, 0.2f), *dy = randn(no, 1.0f);
    float *xr = rounded(x, ni), *wr = rounded(w, nw), *dyr = rounded(dy, no);
    tpl_bf16 *xh = to_bf16(x, ni), *dyh = to_bf16(dy, no);
    float *y32 = malloc(4 * no), *y16 = malloc(4 * no), *yx = malloc(4 * no);
    float *dx32 = malloc(4 * ni), *dx16 = malloc(4 * ni), *dxx = malloc(4 * ni);
    float *dw32 = malloc(4 * nw), *dw16 = malloc(4 * nw), *dwx = malloc(4 * nw);
    tpl_conv_slot s32 = {0}, s32r = {0}, s16 = {0};
    ok = !tpl_conv_set_weights(p32, &s32r, wr, 1, &err) &&
         !tpl_conv_set_weights(p32, &s32, w, 1, &err) &&
         !tpl_conv_set_weights(p16, &s16, w, 1, &err) && /* the reorder rounds */
         !tpl_conv_forward(p32, &s32r, xr, y32, &err) &&
         !tpl_conv_forward_bf16(p16, &s16, xh, y16, &err) &&
         !tpl_conv_forward(p32, &s32, x, yx, &err) &&
         !tpl_conv_backward_data(p32, &s32r, dyr, dx32, &err) &&
         !tpl_conv_backward_data_bf16(p16, &s16, dyh, dx16, &err) &&
         !tpl_conv_backward_data(p32, &s32, dy, dxx, &err) &&
         !tpl_conv_backward_weights(p32, xr, dyr, dw32, &err) &&
         !tpl_conv_backward_weights_bf16(p16, xh, dyh, dw16, &err) &&
         !tpl_conv_backward_weights(p32, x, dy, dwx, &err);
    CHECK_MSG(ok, "%d->%d: %s", k.cin, k.cout, err.msg);
    /* a plan given the other precision's inputs says so */
    CHECK(tpl_conv_forward(p16, &s16, x, y16, &err) == -1 && strstr(err.msg, "bf16 plan"));
    if (ok) {
        const double e[6] = {rel_max(y16, y32, no),  rel_max(dx16, dx32, ni),
                             rel_max(dw16, dw32, nw), rel_max(y16, yx, no),
                             rel_max(dx16, dxx, ni), rel_max(dw16, dwx, nw)};
        printf("  conv %3d->%-3d stride %d batch %2d  [%s | %s | %s]: vs rounded fp32 %.1e %.1e "
               "%.1e, vs fp32 %.1e %.1e %.1e\n", k.cin, k.cout, k.stride, k.n,
               tpl_conv_impl_of(p16, 0), tpl_conv_impl_of(p16, 1), tpl_conv_impl_of(p16, 2),
               e[0], e[1], e[2], e[3], e[4], e[5]);
        for (int i = 0; i < 3; i++) {
            CHECK_MSG(e[i] < TOL_SUM, "%d->%d pass %d: %.2e from fp32 on the rounded values",
                      k.cin, k.cout, i, e[i]);
            CHECK_MSG(e[3 + i] < TOL_ROUNDED, "%d->%d pass %d: %.2e from fp32", k.cin, k.cout, i,
                      e[3 + i]);
        }
    }
    free(x), free(w), free(dy), free(xr), free(wr), free(dyr), free(xh), free(dyh);
    free(y32), free(y16), free(yx), free(dx32), free(dx16), free(dxx);
    free(dw32), free(dw16), free(dwx);
    tpl_conv_slot_free(&s32), tpl_conv_slot_free(&s32r), tpl_conv_slot_free(&s16);
done:
    tpl_conv_plan_free(p32);
    tpl_conv_plan_free(p16);
}

static void test_convs(void) {
    tpl_err err = {{0}};
    tpl_engine *e = tpl_engine_create(&err);
    CHECK_MSG(e != NULL, "engine: %s", err.msg);
    if (!e) return;
    const conv_case cases[] = {
        {64, 1, 64, 2, 28, 28},  /* the reference model's stem */
        {64, 64, 64, 1, 14, 14}, /* its blocks */
        {64, 32, 32, 1, 14, 14}, /* the small model's */
        {16, 32, 64, 2, 28, 28}, /* a stage transition */
        {8, 3, 32, 1, 12, 10},   /* an RGB stem */
        {8, 24, 24, 1, 7, 6},    /* a width that is no multiple of 16 */
        {1, 64, 64, 1, 14, 14},  /* batch 1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) test_conv(e, cases[i]);
    tpl_engine_free(e);
}

/* ---- 3. the BN kernels' bf16 copies ------------------------------------ */

static void test_bn(void) {
    const tpl_shape s = {6, 32, 5, 4, 32};
    const size_t n = tpl_shape_numel(s);
    float *x = randn(n, 2.0f), *skip = randn(n, 1.0f), *dout = randn(n, 1.0f);
    float *gamma = randn(s.c, 1.0f), *beta = randn(s.c, 0.5f);
    float rm[32] = {0}, rv[32], stats[64], stats2[64];
    for (int c = 0; c < s.c; c++) rv[c] = 1.0f;
    float *out = malloc(4 * n), *dx = malloc(4 * n), *dx2 = malloc(4 * n), *dskip = malloc(4 * n);
    tpl_bf16 *oh = malloc(2 * n), *oh2 = malloc(2 * n), *dh = malloc(2 * n), *dh2 = malloc(2 * n);
    float dg[32] = {0}, db[32] = {0}, dg2[32] = {0}, db2[32] = {0};
    tpl_bn_args a = {.shape = s, .gamma = gamma, .beta = beta, .running_mean = rm,
                     .running_var = rv, .momentum = 0.1f, .eps = 1e-5f, .relu = 1, .skip = skip,
                     .scratch = malloc(tpl_bn_scratch_bytes(s)), .out_bf16 = oh};
    tpl_bn_forward_train(&a, x, out, stats, stats + s.c);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= oh[i] == tpl_bf16_round(out[i]);
    CHECK_MSG(same, "BN forward: the bf16 copy is not the output rounded");
    a.out_bf16 = oh2; /* bf16 alone */
    tpl_bn_forward_train(&a, x, NULL, stats2, stats2 + s.c);
    CHECK(memcmp(oh, oh2, 2 * n) == 0 && memcmp(stats, stats2, sizeof stats) == 0);
    /* backward: mask from out, dx in fp32 and bf16; then mask from the copy, dx in bf16 alone */
    a.out_bf16 = oh;
    a.dx_bf16 = dh;
    tpl_bn_backward(&a, x, out, dout, stats, stats + s.c, dx, dg, db, dskip);
    a.dx_bf16 = dh2;
    tpl_bn_backward(&a, x, NULL, dout, stats, stats + s.c, NULL, dg2, db2, NULL);
    same = 1;
    for (size_t i = 0; i < n; i++) same &= dh[i] == tpl_bf16_round(dx[i]);
    CHECK_MSG(same, "BN backward: the bf16 copy is not dx rounded");
    CHECK_MSG(memcmp(dh, dh2, 2 * n) == 0 && memcmp(dg, dg2, sizeof dg) == 0 &&
                  memcmp(db, db2, sizeof db) == 0,
              "BN backward: a mask read from the bf16 copy changes the gradients");
    a.dx_bf16 = NULL; /* and the fp32-only path, with the mask from the copy */
    tpl_bn_backward(&a, x, NULL, dout, stats, stats + s.c, dx2, dg2, db2, NULL);
    CHECK(memcmp(dx, dx2, 4 * n) == 0);
    free(x), free(skip), free(dout), free(gamma), free(beta), free(out), free(dx), free(dx2);
    free(dskip), free(oh), free(oh2), free(dh), free(dh2), free(a.scratch);
}

/* ---- 4. every layer kind in a model ------------------------------------ */

typedef struct run_result {
    float *logits, *eval16, *eval1, *grad;
} run_result;

static void free_result(run_result *r) {
    free(r->logits), free(r->eval16), free(r->eval1), free(r->grad);
    memset(r, 0, sizeof *r);
}

/* From params p0: a training forward and backward of batch n, then eval
 * forwards of the batch and of its first image. */
static int run_model(tpl_model *m, const float *p0, const float *x, const int *y, int n,
                     run_result *r) {
    tpl_err err = {{0}};
    const int classes = m->cfg.task[0].classes;
    memcpy(m->params.data, p0, sizeof(float) * m->params.numel);
    memset(m->params.grad, 0, sizeof(float) * m->params.numel);
    tpl_model_params_changed(m);
    r->logits = malloc(sizeof(float) * n * classes);
    r->eval16 = malloc(sizeof(float) * n * classes);
    r->eval1 = malloc(sizeof(float) * classes);
    r->grad = malloc(sizeof(float) * m->params.numel);
    float *dl = malloc(sizeof(float) * n * classes);
    int rc = tpl_model_forward(m, 0, x, n, 1, r->logits, &err);
    if (!rc) {
        tpl_xent_forward_backward(n, classes, r->logits, y, dl, NULL);
        rc = tpl_model_backward(m, 0, dl, &err);
    }
    memcpy(r->grad, m->params.grad, sizeof(float) * m->params.numel);
    /* eval from the same running statistics in both precisions */
    memcpy(m->params.data, p0, sizeof(float) * m->params.numel);
    tpl_model_params_changed(m);
    if (!rc) rc = tpl_model_forward(m, 0, x, n, 0, r->eval16, &err);
    if (!rc) rc = tpl_model_forward(m, 0, x, 1, 0, r->eval1, &err);
    CHECK_MSG(rc == 0, "%s run: %s", tpl_precision_name(m->cfg.precision), err.msg);
    free(dl);
    return rc;
}

typedef struct model_case {
    const char *what;
    int channels, widths[3], stages, layers, templates;
    tpl_aggregation agg;
    tpl_block_type block;
} model_case;

static void test_model(model_case k) {
    enum { N = 16, HW = 12 };
    tpl_config cfg;
    tpl_config_default(&cfg);
    cfg.in_channels = k.channels;
    cfg.in_height = cfg.in_width = HW;
    cfg.stem_stride = 1;
    cfg.n_stages = k.stages;
    for (int s = 0; s < k.stages; s++)
        cfg.stage[s] = (tpl_stage_config){k.widths[s], k.layers, k.templates};
    cfg.aggregate = k.agg;
    cfg.block = k.block, cfg.expand = 3;
    cfg.task[0].classes = 5;
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 7, &err);
    CHECK_MSG(m != NULL, "%s: %s", k.what, err.msg);
    if (!m) return;
    /* BN scales and shifts away from 1 and 0, so that every path matters */
    tpl_params *p = &m->params;
    for (int v = 0; v < p->n_views; v++)
        if (p->views[v].kind == TPL_KIND_BN_SCALE || p->views[v].kind == TPL_KIND_BN_SHIFT) {
            float *d = tpl_params_data(p, v);
            for (size_t i = 0; i < p->views[v].numel; i++)
                d[i] += 0.3f * tpl_rng_normal(&rng);
        }
    for (int s = 0; s < k.stages; s++) { /* and those mixed in the templates */
        const tpl_stage *st = &m->stage[s];
        for (int t = 0; st->kind->affine_at && t < st->templates; t++) {
            float *a = tpl_params_data(p, st->bank) + (size_t)t * st->per_template +
                       st->kind->affine_at(st);
            for (size_t i = 0; i < 2 * (size_t)st->bn_per_block * st->width; i++)
                a[i] = (i < (size_t)st->bn_per_block * st->width ? 1.0f : 0.0f) +
                       0.3f * tpl_rng_normal(&rng);
        }
    }
    float *p0 = malloc(sizeof(float) * p->numel), *x = randn((size_t)N * k.channels * HW * HW, 1.0f);
    memcpy(p0, p->data, sizeof(float) * p->numel);
    int y[N];
    for (int i = 0; i < N; i++) y[i] = i % 5;
    run_result f32 = {0}, b16 = {0}, again = {0};
    if (run_model(m, p0, x, y, N, &f32) || tpl_model_set_precision(m, TPL_PRECISION_BF16, &err) ||
        run_model(m, p0, x, y, N, &b16) || tpl_model_set_precision(m, TPL_PRECISION_FP32, &err) ||
        run_model(m, p0, x, y, N, &again)) {
        CHECK_MSG(0, "%s: %s", k.what, err.msg);
        goto done;
    }
    const int cl = 5;
    const double el = rel_max(b16.logits, f32.logits, N * cl),
                 e16 = rel_max(b16.eval16, f32.eval16, N * cl), e1 = rel_max(b16.eval1, f32.eval1, cl);
    double worst = 0.0;
    const char *worst_name = "";
    for (int v = 0; v < p->n_views; v++) {
        const tpl_view *vw = &p->views[v];
        if (vw->kind == TPL_KIND_BN_MEAN || vw->kind == TPL_KIND_BN_VAR) continue;
        const size_t at = vw->offset;
        double e = rel_l2(b16.grad + at, f32.grad + at, vw->numel);
        if (e > worst) worst = e, worst_name = vw->name;
        CHECK_MSG(e < TOL_GRAD, "%s: gradient of %s off by %.3f (relative L2)", k.what, vw->name, e);
    }
    printf("  %-36s logits: train %.1e, eval batch 16 %.1e, batch 1 %.1e; worst gradient %.1e "
           "(%s)\n", k.what, el, e16, e1, worst, worst_name);
    CHECK_MSG(el < TOL_LOGITS && e16 < TOL_LOGITS && e1 < TOL_LOGITS,
              "%s: bf16 logits off by %.3g / %.3g / %.3g", k.what, el, e16, e1);
    CHECK_MSG(!memcmp(again.logits, f32.logits, sizeof(float) * N * cl) &&
                  !memcmp(again.eval16, f32.eval16, sizeof(float) * N * cl) &&
                  !memcmp(again.eval1, f32.eval1, sizeof(float) * cl) &&
                  !memcmp(again.grad, f32.grad, sizeof(float) * p->numel),
              "%s: back in fp32, the results differ from the first fp32 run", k.what);
done:
    free_result(&f32), free_result(&b16), free_result(&again);
    free(p0), free(x);
    tpl_model_free(m);
}

static void test_models(void) {
    const model_case cases[] = {
        {"stem + basic blocks (params), width 32", 1, {32}, 1, 3, 2, TPL_AGG_PARAMS, TPL_BLOCK_BASIC},
        {"stage transitions, widths 16,32", 1, {16, 32}, 2, 2, 3, TPL_AGG_PARAMS, TPL_BLOCK_BASIC},
        {"experts mixing outputs, width 16", 1, {16}, 1, 2, 3, TPL_AGG_OUTPUTS, TPL_BLOCK_BASIC},
        {"RGB input, width 24", 3, {24}, 1, 2, 2, TPL_AGG_PARAMS, TPL_BLOCK_BASIC},
        {"inverted blocks (expansion 3), width 32", 1, {32}, 1, 2, 2, TPL_AGG_PARAMS,
         TPL_BLOCK_INVERTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) test_model(cases[i]);
}

/* ---- 5. a short training run ------------------------------------------- */

static double train_loss(tpl_precision prec, const tpl_dataset *d, int steps) {
    tpl_config cfg;
    tpl_config_default(&cfg);
    cfg.in_height = cfg.in_width = d->h;
    cfg.stem_stride = 1;
    cfg.stage[0] = (tpl_stage_config){16, 2, 2};
    cfg.task[0].classes = 4;
    cfg.precision = prec;
    tpl_dataset_stats(d, cfg.in_mean, cfg.in_std);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 3, &err);
    tpl_optim_config oc;
    tpl_optim_config_default(&oc);
    oc.lr = 0.05f;
    oc.sched = TPL_SCHED_CONST;
    oc.total_steps = steps;
    tpl_optim o;
    tpl_batch b;
    if (!m || tpl_optim_init(&o, &oc, m->params.numel) || tpl_batch_init(&b, m, 16)) {
        CHECK_MSG(0, "training set-up: %s", err.msg);
        tpl_model_free(m);
        return NAN;
    }
    CHECK(m->cfg.precision == prec);
    tpl_rng r;
    tpl_rng_seed(&r, 5);
    int idx[16];
    double last = 0.0;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 16; i++) idx[i] = (s * 16 + i) % d->n;
        tpl_step_result res;
        const tpl_step_opts so = {0};
        if (tpl_train_step(m, &o, 0, d, idx, 16, &so, &r, &b, &res, &err)) {
            CHECK_MSG(0, "%s step %d: %s", tpl_precision_name(prec), s, err.msg);
            break;
        }
        if (s >= steps - 10) last += res.loss / 10;
    }
    tpl_batch_free(&b);
    tpl_optim_free(&o);
    tpl_model_free(m);
    return last;
}

static void test_training(void) {
    tpl_dataset d;
    stripes_dataset(&d, 320, 12, 4, 5);
    const double l32 = train_loss(TPL_PRECISION_FP32, &d, 80),
                 l16 = train_loss(TPL_PRECISION_BF16, &d, 80);
    printf("  training, mean loss of the last 10 of 80 steps: fp32 %.4f, bf16 %.4f\n", l32, l16);
    CHECK_MSG(fabs(l16 - l32) < TOL_TRAIN_LOSS, "bf16 trains to loss %.4f, fp32 to %.4f", l16, l32);
    CHECK_MSG(l16 < 0.7 * log(4.0), "bf16 did not learn: loss %.4f", l16);
    tpl_dataset_free(&d);
}

int main(void) {
    tpl_rng_seed(&rng, 42);
    test_rounding();
    test_bn();
    if (!tpl_precision_supported(TPL_PRECISION_BF16)) {
        tpl_config cfg;
        tpl_config_default(&cfg);
        tpl_err err = {{0}};
        tpl_model *m = tpl_model_create(&cfg, 1, &err);
        CHECK(m && tpl_model_set_precision(m, TPL_PRECISION_BF16, &err) == -1 &&
              strstr(err.msg, "AVX-512 BF16") && !strchr(err.msg, '\n'));
        tpl_model_free(m);
        printf("SKIPPED: bf16 convolutions: this CPU has no AVX-512 BF16 (oneDNN runs %s)\n",
               tpl_engine_isa());
        check_skips++;
        return check_summary("test_bf16");
    }
    printf("oneDNN runs %s\n", tpl_engine_isa());
    test_convs();
    test_models();
    test_training();
    return check_summary("test_bf16");
}
