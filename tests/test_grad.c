/* Finite-difference checks of every op's backward, of the mixture (templates
 * and logits), and of whole residual blocks inside a small model. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mix.h"
#include "route.h"
#include "block.h"
#include "check.h"
#include "conv.h"
#include "loss.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "workspace.h"

static tpl_rng rng;
static float model_eps = 1e-3f, model_tol = 1e-2f;
/* Coordinates checked per tensor by the model-level check (MODEL_SAMPLES;
 * sanitizer builds check fewer: they look for memory errors, which every
 * coordinate's forwards exercise alike, at ten times the cost). */
static int model_samples = 8;

static float *randn(size_t n, float scale) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = scale * tpl_rng_normal(&rng);
    return p;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Every check probes a scalar loss L(theta), evaluated in double by probe().
 * In float, a difference quotient carries rounding noise of roughly
 * 1e-6 / eps, and ReLU kinks inside the step add more, so the checks are
 * built to keep the signal large:
 *  - per coordinate, on the `samples` coordinates with the largest gradient,
 *    analytic dL/dtheta_i against a central difference; one, or 1 in 8, may
 *    disagree (a kink), a wrong backward fails nearly all;
 *  - along the gradient itself: step delta = t * grad with max |delta_i| =
 *    eps, (L(theta + delta) - L(theta - delta)) / 2 against t * |grad|^2,
 *    a signal every coordinate contributes to. */
typedef double (*probe_fn)(void *ctx);

static double rel_err(double a, double b) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), 1e-12);
}

/* Indices of the k largest |g|, by repeated selection (tests are small). */
static void top_k(const float *g, size_t n, int k, size_t *idx) {
    for (int j = 0; j < k; j++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (int q = 0; q < j; q++) taken |= idx[q] == i;
            if (!taken && (best == SIZE_MAX || fabsf(g[i]) > fabsf(g[best]))) best = i;
        }
        idx[j] = best;
    }
}

static void along_gradient(const char *what, probe_fn f, void *ctx, float *theta,
                           const float *grad, size_t n, float eps, float tol, double floor);

static void fd_check(const char *what, probe_fn f, void *ctx, float *theta,
                     const float *grad, size_t n, int samples, float eps,
                     float tol) {
    if (samples > (int)n) samples = (int)n;
    size_t idx[64];
    if (samples > 64) samples = 64;
    top_k(grad, n, samples, idx);
    int bad = 0;
    for (int s = 0; s < samples; s++) {
        size_t i = idx[s];
        float keep = theta[i];
        theta[i] = keep + eps;
        double up = f(ctx);
        theta[i] = keep - eps;
        double down = f(ctx);
        theta[i] = keep;
        double num = (up - down) / (2.0 * eps);
        if (rel_err(num, grad[i]) > tol) {
            if (bad < 2)
                fprintf(stderr, "  %s[%zu]: analytic %.6g numeric %.6g\n", what, i, grad[i], num);
            bad++;
        }
    }
    /* float32 rounding swamps the difference quotient of the odd small
     * entry: one coordinate (or one in eight) may miss; the check along the
     * whole gradient below may not */
    CHECK_MSG(bad <= 1 || bad * 8 <= samples, "%s: %d of %d coordinates disagree", what, bad,
              samples);
    along_gradient(what, f, ctx, theta, grad, n, eps, tol, 0.0);
}

/* (L(theta + delta) - L(theta - delta)) / 2 against t |grad|^2, for the
 * step delta = t grad whose largest coordinate is eps. */
static void along_gradient(const char *what, probe_fn f, void *ctx, float *theta,
                           const float *grad, size_t n, float eps, float tol, double floor) {
    float *keep = malloc(sizeof(float) * n);
    memcpy(keep, theta, sizeof(float) * n);
    double gmax = 0.0, g2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        gmax = fmax(gmax, fabs(grad[i]));
        g2 += (double)grad[i] * grad[i];
    }
    if (gmax == 0.0) {
        CHECK_MSG(gmax > 0.0, "%s: gradient is all zero", what);
        free(keep);
        return;
    }
    double t = eps / gmax;
    for (size_t i = 0; i < n; i++) theta[i] = keep[i] + (float)(t * grad[i]);
    double up = f(ctx);
    for (size_t i = 0; i < n; i++) theta[i] = keep[i] - (float)(t * grad[i]);
    double down = f(ctx);
    memcpy(theta, keep, sizeof(float) * n);
    double num = (up - down) / 2.0, ana = t * g2;
    CHECK_MSG(fabs(num - ana) <= tol * fmax(fabs(num), fabs(ana)) + floor,
              "%s: along the gradient analytic %.6g numeric %.6g", what, ana, num);
    free(keep);
}

/* ---- batch norm (+ skip, + ReLU) -------------------------------------- */
typedef struct {
    tpl_bn_args a;
    float *x, *skip, *out, *r, *gamma, *beta, *stats;
} bn_ctx;

static double bn_probe(void *p) {
    bn_ctx *c = p;
    tpl_bn_forward_train(&c->a, c->x, c->out, c->stats, c->stats + c->a.shape.c);
    return dot(c->out, c->r, tpl_shape_numel(c->a.shape));
}

static void test_bn(int relu, int with_skip, int block) {
    tpl_shape s = {3, 32, 3, 5, block};
    size_t n = tpl_shape_numel(s);
    bn_ctx c = {.x = randn(n, 2.0f), .skip = randn(n, 1.0f), .out = malloc(n * 4),
                .r = randn(n, 1.0f), .gamma = randn(s.c, 1.0f), .beta = randn(s.c, 1.0f),
                .stats = malloc(2 * s.c * 4)};
    for (size_t i = 0; i < n; i++) c.x[i] += 0.5f; /* non-zero mean */
    for (int i = 0; relu == TPL_RELU6 && i < s.c; i++) /* outputs past 6, so that some clip */
        c.gamma[i] *= 4.0f, c.beta[i] += 2.0f;
    c.a = (tpl_bn_args){.shape = s, .gamma = c.gamma, .beta = c.beta, .eps = 1e-5f,
                        .relu = relu, .skip = with_skip ? c.skip : NULL,
                        .scratch = malloc(tpl_bn_scratch_bytes(s))};
    bn_probe(&c);
    float *dx = malloc(n * 4), *dskip = malloc(n * 4), *dg = calloc(s.c, 4), *db = calloc(s.c, 4);
    tpl_bn_backward(&c.a, c.x, c.out, c.r, c.stats, c.stats + s.c, dx, dg, db,
                    with_skip ? dskip : NULL);
    char name[64];
    snprintf(name, sizeof name, "bn(relu=%d,skip=%d,B=%d).x", relu, with_skip, block);
    fd_check(name, bn_probe, &c, c.x, dx, n, 60, 1e-3f, 5e-2f);
    if (relu == TPL_RELU6) {
        size_t clipped = 0;
        for (size_t i = 0; i < n; i++) clipped += c.out[i] == 6.0f;
        CHECK_MSG(clipped > n / 20, "relu6: %zu of %zu outputs clipped", clipped, n);
    }
    fd_check("bn.gamma", bn_probe, &c, c.gamma, dg, s.c, 32, 1e-3f, 5e-2f);
    fd_check("bn.beta", bn_probe, &c, c.beta, db, s.c, 32, 1e-3f, 5e-2f);
    if (with_skip) fd_check("bn.skip", bn_probe, &c, c.skip, dskip, n, 60, 1e-3f, 5e-2f);
    /* eval mode equals train mode when running stats are the batch stats */
    float *rm = malloc(s.c * 4), *rv = malloc(s.c * 4), *out2 = malloc(n * 4);
    for (int i = 0; i < s.c; i++) {
        rm[i] = c.stats[i];
        rv[i] = 1.0f / (c.stats[s.c + i] * c.stats[s.c + i]) - c.a.eps;
    }
    tpl_bn_args e = c.a;
    e.running_mean = rm;
    e.running_var = rv;
    bn_probe(&c);
    tpl_bn_forward_eval(&e, c.x, out2);
    float md = 0;
    for (size_t i = 0; i < n; i++) md = fmaxf(md, fabsf(out2[i] - c.out[i]));
    CHECK_MSG(md < 1e-3f, "bn eval vs train: max diff %g", md);
    free(rm), free(rv), free(out2);
    free(c.x), free(c.skip), free(c.out), free(c.r), free(c.gamma), free(c.beta), free(c.stats);
    free(c.a.scratch);
    free(dx), free(dskip), free(dg), free(db);
}

/* ---- pool, linear, cross-entropy, softmax ----------------------------- */
typedef struct {
    tpl_shape s;
    int in, out, n, classes, k;
    float *x, *w, *b, *y, *r, tau;
    int *labels;
} small_ctx;

static double pool_probe(void *p) {
    small_ctx *c = p;
    tpl_avgpool_forward(c->s, c->x, c->y);
    return dot(c->y, c->r, (size_t)c->s.n * c->s.c);
}

static double linear_probe(void *p) {
    small_ctx *c = p;
    tpl_linear_forward(c->n, c->in, c->out, c->x, c->w, c->b, c->y);
    return dot(c->y, c->r, (size_t)c->n * c->out);
}

static double xent_probe(void *p) {
    small_ctx *c = p;
    return tpl_xent_forward_backward(c->n, c->classes, c->x, c->labels, NULL, NULL);
}

static double softmax_probe(void *p) {
    small_ctx *c = p;
    tpl_softmax_forward(c->k, c->tau, c->x, c->y);
    return dot(c->y, c->r, c->k);
}

typedef struct {
    int n, k;
    float *z, div;
} im_ctx;

static double im_scratch[64];

static double infomax_probe(void *p) {
    im_ctx *c = p;
    return tpl_infomax_forward_backward(c->n, c->k, c->z, c->div, NULL, im_scratch);
}

static void test_infomax(void) {
    im_ctx c = {.n = 5, .k = 4, .div = 0.8f};
    c.z = randn(20, 1.5f);
    float dz[20];
    tpl_infomax_forward_backward(c.n, c.k, c.z, c.div, dz, im_scratch);
    fd_check("infomax", infomax_probe, &c, c.z, dz, 20, 20, 1e-3f, 1e-2f);
    /* equal logits: every row and the mean have entropy log k */
    float flat[8] = {0};
    double l = tpl_infomax_forward_backward(2, 4, flat, 1.0f, NULL, im_scratch);
    CHECK_MSG(fabs(l) < 1e-9, "infomax of flat logits %g, expected 0", l);
    free(c.z);
}

/* Self-training: information maximisation plus weighted cross-entropy
 * against pseudo-labels. */
static const int pseudo_labels[5] = {2, 0, 3, 3, 1};
static float pseudo_f[20];

static double pseudo_probe(void *p) {
    im_ctx *c = p;
    return tpl_pseudo_forward_backward(c->n, c->k, c->z, pseudo_labels, 0.3f, c->div, NULL,
                                       im_scratch, pseudo_f);
}

static void test_pseudo(void) {
    im_ctx c = {.n = 5, .k = 4, .div = 0.8f};
    c.z = randn(20, 1.5f);
    float dz[20];
    tpl_pseudo_forward_backward(c.n, c.k, c.z, pseudo_labels, 0.3f, c.div, dz, im_scratch,
                                pseudo_f);
    fd_check("pseudo", pseudo_probe, &c, c.z, dz, 20, 20, 1e-3f, 1e-2f);
    free(c.z);
}

/* Moment matching of pooled features against a recorded target. */
typedef struct {
    int n, dim;
    float *f, *target;
} moments_ctx;

static double moments_probe(void *p) {
    moments_ctx *c = p;
    return tpl_moments_forward_backward(c->n, c->dim, c->f, c->target, NULL);
}

static void test_moments(void) {
    moments_ctx c = {.n = 5, .dim = 6};
    c.f = randn(30, 1.0f), c.target = randn(12, 1.0f);
    for (int j = 0; j < 6; j++) c.target[6 + j] = 0.5f + c.target[6 + j] * c.target[6 + j];
    float df[30];
    tpl_moments_forward_backward(c.n, c.dim, c.f, c.target, df);
    fd_check("moments", moments_probe, &c, c.f, df, 30, 30, 1e-3f, 1e-2f);
    /* features whose moments are the target's: no loss */
    float two[4] = {1.0f, -2.0f, 3.0f, 2.0f}, at[4] = {2.0f, 0.0f, 5.0f, 4.0f};
    const double l = tpl_moments_forward_backward(2, 2, two, at, NULL);
    CHECK_MSG(fabs(l) < 1e-12, "moments of matching features %g, expected 0", l);
    free(c.f), free(c.target);
}

static void test_small_ops(void) {
    small_ctx c = {.s = {2, 32, 3, 3, 16}};
    size_t n = tpl_shape_numel(c.s);
    c.x = randn(n, 1.0f);
    c.y = malloc(64 * 4);
    c.r = randn(64, 1.0f);
    float *dx = malloc(n * 4);
    tpl_avgpool_backward(c.s, c.r, dx);
    fd_check("avgpool.x", pool_probe, &c, c.x, dx, n, 50, 1e-2f, 1e-2f);
    free(c.x);

    c.n = 3, c.in = 7, c.out = 5;
    c.x = randn(21, 1.0f), c.w = randn(35, 1.0f), c.b = randn(5, 1.0f);
    float *dw = calloc(35, 4), *db = calloc(5, 4);
    tpl_linear_backward(c.n, c.in, c.out, c.x, c.w, c.r, dx, dw, db);
    fd_check("linear.x", linear_probe, &c, c.x, dx, 21, 21, 1e-2f, 1e-2f);
    fd_check("linear.w", linear_probe, &c, c.w, dw, 35, 35, 1e-2f, 1e-2f);
    fd_check("linear.b", linear_probe, &c, c.b, db, 5, 5, 1e-2f, 1e-2f);
    free(c.x), free(c.w), free(c.b), free(dw), free(db);

    int labels[4] = {0, 3, 2, 3};
    c.n = 4, c.classes = 4, c.labels = labels;
    c.x = randn(16, 2.0f);
    tpl_xent_forward_backward(c.n, c.classes, c.x, labels, dx, NULL);
    fd_check("xent.logits", xent_probe, &c, c.x, dx, 16, 16, 1e-2f, 1e-2f);
    free(c.x);

    c.k = 5, c.tau = 0.7f;
    c.x = randn(5, 1.0f);
    tpl_softmax_forward(c.k, c.tau, c.x, c.y);
    float a[5];
    memcpy(a, c.y, sizeof a);
    tpl_softmax_backward(c.k, c.tau, a, c.r, dx);
    fd_check("softmax.z", softmax_probe, &c, c.x, dx, 5, 5, 1e-2f, 1e-2f);
    free(c.x), free(c.y), free(c.r), free(dx);
}

/* ---- mixture: templates and logits ------------------------------------ */
typedef struct {
    int k;
    size_t p, stride, at; /* a run of p floats at `at` of templates `stride` long */
    float *bank, *z, *a, *w, *r, tau;
} mix_ctx;

static double mix_probe(void *p) {
    mix_ctx *c = p;
    const tpl_route r = {TPL_ROUTE_SOFT, c->tau, 0};
    float soft[8];
    tpl_route_forward(&r, c->k, 0, c->z, NULL, c->a, soft);
    tpl_mix_forward(c->k, c->p, c->stride, c->bank + c->at, c->a, c->w);
    return dot(c->w, c->r, c->p);
}

/* One mixture of a whole template (p = stride), or of a run within longer
 * ones (a mixture per conv or channel group): the bank's gradient outside
 * the run stays 0, as the finite differences there say. */
static void check_mixture(size_t p, size_t stride, size_t at, const char *bank_name,
                          const char *logits_name) {
    mix_ctx c = {.k = 3, .p = p, .stride = stride, .at = at, .tau = 0.5f};
    c.bank = randn(c.k * c.stride, 1.0f), c.z = randn(c.k, 1.0f);
    c.a = malloc(c.k * 4), c.w = malloc(c.p * 4), c.r = randn(c.p, 1.0f);
    mix_probe(&c);
    float *dbank = calloc(c.k * c.stride, 4), da[3], dz[3];
    tpl_mix_backward(c.k, c.p, c.stride, c.bank + c.at, c.a, c.r, dbank + c.at, da);
    const tpl_route soft_rule = {TPL_ROUTE_SOFT, c.tau, 0};
    tpl_route_backward(&soft_rule, c.k, c.a, da, dz);
    fd_check(bank_name, mix_probe, &c, c.bank, dbank, c.k * c.stride, 40, 1e-2f, 1e-2f);
    fd_check(logits_name, mix_probe, &c, c.z, dz, c.k, 3, 1e-3f, 1e-2f);
    free(c.bank), free(c.z), free(c.a), free(c.w), free(c.r), free(dbank);
}

static void test_mixture(void) {
    check_mixture(10000, 10000, 0, "mix.templates", "mix.logits"); /* > one chunk */
    check_mixture(4500, 10000, 3000, "mix.run.templates", "mix.run.logits");
    float onehot[3], soft[3];
    const float z[3] = {0.4f, -0.3f, 1.2f};
    const tpl_route fixed = {TPL_ROUTE_FIXED_ONEHOT, 1.0f, 0};
    tpl_route_forward(&fixed, 3, 4, z, NULL, onehot, soft);
    CHECK(onehot[0] == 0.0f && onehot[1] == 1.0f && onehot[2] == 0.0f);
}

/* ---- hard routing: top-k and Gumbel forward, straight-through backward --- */
static void test_routing(void) {
    const float z[4] = {0.3f, -1.0f, 2.0f, 0.9f}, da[4] = {0.5f, -0.2f, 0.1f, 0.7f};
    float a[4], soft[4], dz[4], dz_soft[4], s_ref[4], unused[4];
    const tpl_route top2 = {TPL_ROUTE_TOPK, 0.5f, 2}, soft_rule = {TPL_ROUTE_SOFT, 0.5f, 0};
    tpl_route_forward(&top2, 4, 0, z, NULL, a, soft);
    tpl_route_forward(&soft_rule, 4, 0, z, NULL, s_ref, unused);
    CHECK(a[1] == 0.0f && a[0] == 0.0f && a[2] > a[3] && a[3] > 0.0f);
    CHECK(fabsf(a[2] + a[3] - 1.0f) < 1e-6f && fabsf(a[2] / a[3] - soft[2] / soft[3]) < 1e-5f);
    CHECK(!memcmp(soft, s_ref, sizeof soft)); /* the surrogate is the soft mixture */
    tpl_route_backward(&top2, 4, soft, da, dz);
    tpl_route_backward(&soft_rule, 4, soft, da, dz_soft);
    CHECK(!memcmp(dz, dz_soft, sizeof dz)); /* straight through */
    /* Gumbel: noise moves the choice; without noise it is top-k of z */
    const tpl_route gumbel = {TPL_ROUTE_GUMBEL, 1.0f, 1};
    const float noise[4] = {0.0f, 5.0f, 0.0f, 0.0f};
    tpl_route_forward(&gumbel, 4, 0, z, noise, a, soft);
    CHECK(a[1] == 1.0f && a[0] == 0.0f && a[2] == 0.0f && a[3] == 0.0f);
    tpl_route_forward(&gumbel, 4, 0, z, NULL, a, soft);
    CHECK(a[2] == 1.0f && a[1] == 0.0f);
    /* fixed: the user's weights, normalised; no gradient */
    const tpl_route fixed = {TPL_ROUTE_FIXED, 1.0f, 0};
    const float w[4] = {1.0f, 0.0f, 3.0f, -2.0f};
    tpl_route_forward(&fixed, 4, 0, w, NULL, a, soft);
    CHECK(a[0] == 0.25f && a[2] == 0.75f && a[1] == 0.0f && a[3] == 0.0f);
    tpl_route_backward(&fixed, 4, soft, da, dz);
    CHECK(dz[0] == 0.0f && dz[2] == 0.0f);
    /* a template whose weight is 0 is not read: NaN there changes nothing */
    float bank[3 * 5], out[5];
    for (int i = 0; i < 15; i++) bank[i] = (float)i;
    for (int i = 5; i < 10; i++) bank[i] = NAN;
    const float pick[3] = {0.5f, 0.0f, 0.5f};
    tpl_mix_forward(3, 5, 5, bank, pick, out);
    CHECK(out[0] == 5.0f && out[4] == 9.0f);
}

/* ---- mixture entropy: the op, and the penalty through the routing ------- */
typedef struct {
    int k, layers;
    float *z, *a, tau;
} entropy_ctx;

static double entropy_probe(void *p) {
    entropy_ctx *c = p;
    return tpl_entropy_forward_backward(c->k, c->a, NULL);
}

/* Mean over blocks of H(softmax(z_l / tau)): what the model's penalty is. */
static double routed_entropy_probe(void *p) {
    entropy_ctx *c = p;
    double h = 0.0;
    const tpl_route r = {TPL_ROUTE_SOFT, c->tau, 0};
    for (int l = 0; l < c->layers; l++) {
        float a[8], soft[8];
        tpl_route_forward(&r, c->k, l, c->z + l * c->k, NULL, a, soft);
        h += tpl_entropy_forward_backward(c->k, a, NULL);
    }
    return h / c->layers;
}

static void test_entropy(void) {
    float a[4] = {0.1f, 0.2f, 0.3f, 0.4f}, da[4];
    entropy_ctx c = {.k = 4, .a = a};
    tpl_entropy_forward_backward(4, a, da);
    fd_check("entropy", entropy_probe, &c, a, da, 4, 4, 1e-3f, 1e-2f);
    float one[3] = {0.0f, 1.0f, 0.0f};
    CHECK(tpl_entropy_forward_backward(3, one, NULL) == 0.0);
    float even[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    CHECK(fabs(tpl_entropy_forward_backward(4, even, NULL) - log(4.0)) < 1e-6);

    /* the model's penalty: a 3-block, 4-template model's logits gradient */
    tpl_config cfg;
    tpl_config_default(&cfg);
    cfg.in_height = cfg.in_width = 8;
    cfg.stage[0] = (tpl_stage_config){.width = 16, .layers = 3, .templates = 4};
    cfg.tau = 0.7f;
    cfg.logit_noise = 1.0f;
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 3, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    const int v = m->task[0].stage[0].logits;
    float *z = tpl_params_data(&m->params, v);
    memset(m->params.grad, 0, m->params.numel * 4);
    double h = tpl_mixture_entropy(m, 0, 1.0f);
    entropy_ctx r = {.k = 4, .layers = 3, .z = z, .tau = cfg.tau};
    CHECK_MSG(fabs(h - routed_entropy_probe(&r)) < 1e-6, "model entropy %g", h);
    fd_check("model.entropy", routed_entropy_probe, &r, z, tpl_params_grad(&m->params, v), 12,
             12, 1e-3f, 1e-2f);
    tpl_model_free(m);
}

/* ---- convolution: forward against a direct loop, backward by FD -------- */
typedef struct {
    tpl_conv_plan *plan;
    tpl_conv_slot slot;
    float *x, *w, *y, *r;
    unsigned long gen;
} conv_ctx;

static double conv_probe(void *p) {
    conv_ctx *c = p;
    tpl_conv_set_weights(c->plan, &c->slot, c->w, ++c->gen, NULL);
    tpl_conv_forward(c->plan, &c->slot, c->x, c->y, NULL);
    return dot(c->y, c->r, tpl_shape_numel(tpl_conv_out_shape(c->plan)));
}

/* A k x k conv (padding k/2) of `groups` channel groups: forward against
 * the definition, both backwards by finite differences. */
static void test_conv(tpl_engine *e, int n, int cin, int cout, int k, int stride, int groups,
                      int bin, int bout) {
    conv_ctx c = {.plan = tpl_conv_plan_create(e, cin, cout, k, stride, 7, 6, bin, bout)};
    tpl_err err = {{0}};
    CHECK(tpl_conv_plan_set_groups(c.plan, groups) == 0);
    CHECK_MSG(tpl_conv_plan_prepare(c.plan, n, 1, &err) == 0, "%s", err.msg);
    tpl_shape is = tpl_conv_in_shape(c.plan), os = tpl_conv_out_shape(c.plan);
    size_t ni = tpl_shape_numel(is), no = tpl_shape_numel(os), nw = tpl_conv_weight_count(c.plan);
    CHECK(nw == (size_t)cout * (cin / groups) * k * k);
    c.x = randn(ni, 1.0f), c.w = randn(nw, 0.3f), c.y = malloc(no * 4), c.r = randn(no, 1.0f);
    conv_probe(&c);
    const int gin = cin / groups, gout = cout / groups, pad = k / 2;
    double maxd = 0.0; /* forward against the definition */
    for (int b = 0; b < n; b++)
        for (int o = 0; o < cout; o++)
            for (int oy = 0; oy < os.h; oy++)
                for (int ox = 0; ox < os.w; ox++) {
                    double acc = 0.0;
                    for (int i = 0; i < gin; i++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                                if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;
                                acc += c.w[((o * gin + i) * k + ky) * k + kx] *
                                       c.x[tpl_shape_index(is, b, o / gout * gin + i, iy * is.w + ix)];
                            }
                    maxd = fmax(maxd, fabs(acc - c.y[tpl_shape_index(os, b, o, oy * os.w + ox)]));
                }
    CHECK_MSG(maxd < 1e-3, "conv forward (%dx%d %d->%d in %d groups, stride %d, batch %d, %s) off by %g",
              k, k, cin, cout, groups, stride, n, tpl_conv_impl(c.plan), maxd);
    float *dx = malloc(ni * 4), *dw = malloc(nw * 4);
    CHECK(tpl_conv_backward_data(c.plan, &c.slot, c.r, dx, &err) == 0);
    CHECK(tpl_conv_backward_weights(c.plan, c.x, c.r, dw, &err) == 0);
    fd_check("conv.x", conv_probe, &c, c.x, dx, ni, 40, 1e-2f, 1e-2f);
    fd_check("conv.w", conv_probe, &c, c.w, dw, nw, 40, 1e-2f, 1e-2f);
    tpl_conv_slot_free(&c.slot);
    tpl_conv_plan_free(c.plan);
    free(c.x), free(c.w), free(c.y), free(c.r), free(dx), free(dw);
}

/* ---- whole model: residual blocks, stem, transition, head --------------- */
typedef struct {
    tpl_model *m;
    float *x, *logits;
    const float *moments;  /* a target for the pooled features' moments, or NULL */
    float *blend;          /* weights of tasks 1 and 2 that task 0 is blended from, or NULL */
    int *y, n;
    size_t arena;          /* floats of the training arena (zeroed once, gaps included) */
    unsigned char *zeros;  /* of the unperturbed forward: activations exactly 0 */
} model_ctx;

static const int blend_from[2] = {1, 2};

static double model_probe(void *p) {
    model_ctx *c = p;
    if (c->blend) tpl_model_blend_tasks(c->m, blend_from, c->blend, 2, 0);
    tpl_model_params_changed(c->m);
    tpl_err err;
    tpl_model_forward(c->m, 0, c->x, c->n, 1, c->logits, &err);
    const int dim = c->m->cfg.stage[c->m->cfg.n_stages - 1].width;
    return tpl_xent_forward_backward(c->n, 10, c->logits, c->y, NULL, NULL) +
           (c->moments ? tpl_moments_forward_backward(c->n, dim, tpl_model_features(c->m),
                                                      c->moments, NULL)
                       : 0.0);
}

/* Activations of the last forward that are exactly 0 and were not in the
 * unperturbed one, or the other way round: a ReLU crossed its kink.  With
 * record, the last forward's pattern becomes the unperturbed one. */
static size_t kinks_crossed(model_ctx *c, int record) {
    const float *a = c->m->ws->arena;
    /* the BN scratch, last in the arena, holds doubles: not activations */
    const size_t end = (size_t)((const float *)c->m->ws->bn_scratch - a);
    size_t crossed = 0;
    for (size_t i = 0; i < end; i++) {
        const unsigned char zero = a[i] == 0.0f;
        if (record) c->zeros[i] = zero;
        crossed += zero != c->zeros[i];
    }
    return crossed;
}

/* Rounding makes the float forward's loss wobble by a few 1e-8 from one
 * parameter value to the next (measured on these models: the difference
 * quotients of kink-free coordinates miss by at most 6e-5 at eps = 1e-3);
 * a difference quotient at step eps carries that much divided by eps. */
#define LOSS_NOISE 2e-7

/* The loss at theta[i] + d, and whether a ReLU crossed its kink on the way
 * (the pattern of exact zeros differs from the unperturbed forward's). */
static double loss_at(model_ctx *c, float *theta, size_t i, float d, int *crossed) {
    const float keep = theta[i];
    theta[i] = keep + d;
    const double l = model_probe(c);
    *crossed |= kinks_crossed(c, 0) > 0;
    theta[i] = keep;
    return l;
}

/* dL/dtheta_i from differences over a stretch the loss is smooth on: no
 * ReLU crosses its kink there (a quotient across a kink mixes two slopes,
 * at every step size when a unit sits on it).  Tried in turn: central at
 * step h, then the three-point one-sided formula on a kink-free side,
 * for h = eps, eps / 4, then eps / 16.  NAN when every stretch has a kink; else
 * *floor is the rounding the formula carries (LOSS_NOISE times the sum of
 * its weights, over h). */
static double smooth_derivative(model_ctx *c, float *theta, size_t i, float eps, double l0,
                                double *floor) {
    for (float h = eps; h >= eps / 16; h /= 4) {
        int up = 0, down = 0, up2 = 0, down2 = 0;
        const double lu = loss_at(c, theta, i, h, &up), ld = loss_at(c, theta, i, -h, &down);
        *floor = LOSS_NOISE / h;
        if (!up && !down) return (lu - ld) / (2.0 * h);
        *floor = 4.0 * LOSS_NOISE / h;
        if (!up) {
            const double lu2 = loss_at(c, theta, i, 2 * h, &up2);
            if (!up2) return (-3.0 * l0 + 4.0 * lu - lu2) / (2.0 * h);
        }
        if (!down) {
            const double ld2 = loss_at(c, theta, i, -2 * h, &down2);
            if (!down2) return (3.0 * l0 - 4.0 * ld + ld2) / (2.0 * h);
        }
    }
    return NAN;
}

static const float *sort_by;
static int larger_gradient_first(const void *a, const void *b) {
    const float x = fabsf(sort_by[*(const size_t *)a]), y = fabsf(sort_by[*(const size_t *)b]);
    return (x < y) - (x > y);
}

/* The model-level check, strict: every coordinate checked must agree, to
 * tol relative plus the rounding floor of its difference formula.  The
 * `samples` coordinates of largest gradient that have a kink-free stretch
 * (smooth_derivative) are checked, the others passed over.  Then the
 * check along the whole gradient. */
static void fd_check_model(const char *what, model_ctx *c, float *theta, const float *grad,
                           size_t n, int samples, float eps, float tol) {
    size_t *order = malloc(sizeof(size_t) * n);
    for (size_t i = 0; i < n; i++) order[i] = i;
    sort_by = grad;
    qsort(order, n, sizeof *order, larger_gradient_first);
    const double l0 = model_probe(c);
    kinks_crossed(c, 1);
    int checked = 0, bad = 0;
    for (size_t k = 0; k < n && checked < samples; k++) {
        const size_t i = order[k];
        double floor;
        const double num = smooth_derivative(c, theta, i, eps, l0, &floor);
        if (isnan(num)) continue;
        checked++;
        const double miss = fabs(num - grad[i]), allowed = tol * fabs(grad[i]) + floor;
        if (getenv("FD_VERBOSE"))
            fprintf(stderr, "  %s[%zu]: analytic %.6g numeric %.6g floor %.2g miss/allowed %.2f\n", what, i,
                    grad[i], num, floor, miss / allowed);
        if (miss > allowed && bad++ < 2)
            fprintf(stderr, "  %s[%zu]: analytic %.6g numeric %.6g (allowed %.2g)\n", what, i, grad[i],
                    num, allowed);
    }
    model_probe(c); /* the unperturbed forward again */
    CHECK_MSG(bad == 0, "%s: %d of %d coordinates disagree", what, bad, checked);
    CHECK_MSG(checked == samples || checked >= (int)n / 2,
              "%s: only %d coordinates away from ReLU kinks", what, checked);
    if (getenv("FD_VERBOSE")) fprintf(stderr, "  %s: %d checked of %zu\n", what, checked, n);
    free(order);
    /* the floor: a few roundings of the float loss, which a gradient this
     * small moves by less than */
    along_gradient(what, model_probe, c, theta, grad, n, eps, 1e-1f, 8 * FLT_EPSILON * fabs(l0));
}

/* One model-level check's network (zeros: soft routing, one stage, per-task
 * mixtures, parameters mixed per block, basic blocks). */
typedef struct model_case {
    int stages;
    tpl_routing routing;
    int shared_mixture;
    tpl_aggregation aggregate;
    tpl_granularity mix;
    int group;
    tpl_block_type block;
    int moments; /* the loss adds moment matching of the pooled features */
} model_case;

static void test_model(model_case mc) {
    const int n_stages = mc.stages ? mc.stages : 1, shared_mixture = mc.shared_mixture;
    const tpl_routing routing = mc.routing;
    tpl_config cfg;
    tpl_config_default(&cfg);
    cfg.in_height = cfg.in_width = 12;
    cfg.n_stages = n_stages;
    cfg.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 3};
    cfg.stage[1] = (tpl_stage_config){.width = 32, .layers = 1, .templates = 2};
    cfg.routing = routing;
    cfg.topk = 2; /* of 3 templates in stage 0 */
    cfg.logit_noise = 0.5f;
    /* a second task, so that a shared mixture is shared by someone */
    cfg.n_tasks = 2;
    cfg.task[1] = (tpl_task_config){.name = "other", .classes = shared_mixture ? 10 : 3};
    cfg.shared_mixture = shared_mixture;
    cfg.shared_head = shared_mixture;
    cfg.aggregate = mc.aggregate;
    cfg.mix = mc.mix, cfg.mix_group = mc.group;
    cfg.block = mc.block, cfg.expand = 3;
    tpl_err err = {{0}};
    model_ctx c = {.n = 4};
    c.m = tpl_model_create(&cfg, 7, &err);
    CHECK_MSG(c.m != NULL, "%s", err.msg);
    if (!c.m) return;
    tpl_params *p = &c.m->params;
    /* non-trivial BN scales so every path carries gradient */
    for (int i = 0; i < p->n_views; i++)
        if (p->views[i].kind == TPL_KIND_BN_SCALE)
            for (size_t j = 0; j < p->views[i].numel; j++)
                tpl_params_data(p, i)[j] = 0.5f + tpl_rng_uniform(&rng);
    for (int s = 0; s < n_stages; s++) { /* and those mixed in the templates */
        const tpl_stage *st = &c.m->stage[s];
        if (!st->kind->affine_at) continue;
        const size_t rows = (size_t)st->bn_per_block * st->width;
        for (int k = 0; k < st->templates; k++)
            for (size_t j = 0; j < rows; j++)
                tpl_params_data(p, st->bank)[k * st->per_template + st->kind->affine_at(st) + j] =
                    0.5f + tpl_rng_uniform(&rng);
    }
    c.x = randn((size_t)c.n * 144, 1.0f);
    c.logits = malloc(c.n * 10 * 4);
    int labels[4] = {1, 5, 7, 1};
    c.y = labels;
    float dl[40];
    model_probe(&c);
    c.arena = tpl_ws_floats(c.m, c.n, 1);
    c.zeros = malloc(c.arena);
    memset(c.m->ws->arena, 0, sizeof(float) * c.arena); /* the gaps between tensors too */
    model_probe(&c);
    tpl_xent_forward_backward(c.n, 10, c.logits, c.y, dl, NULL);
    const int dim = c.m->cfg.stage[n_stages - 1].width;
    float *target = randn(2 * (size_t)dim, 0.3f), *df = malloc(sizeof(float) * c.n * dim);
    for (int j = 0; j < dim; j++) target[dim + j] += 0.5f;
    if (mc.moments) c.moments = target;
    if (mc.moments)
        tpl_moments_forward_backward(c.n, dim, tpl_model_features(c.m), target, df);
    memset(p->grad, 0, p->numel * 4);
    CHECK_MSG(tpl_model_backward_features(c.m, 0, dl, mc.moments ? df : NULL, &err) == 0, "%s",
              err.msg);
    float *g = malloc(p->numel * 4);
    memcpy(g, p->grad, p->numel * 4);
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        if (!v->trainable || v->task > 0) continue; /* task 0 is the one run */
        /* top-k logits get a straight-through gradient, which no finite
         * difference reproduces (the loss is piecewise constant in them) */
        if (routing == TPL_ROUTE_TOPK && v->kind == TPL_KIND_LOGITS) {
            double g2 = 0.0;
            for (size_t j = 0; j < v->numel; j++) g2 += g[v->offset + j] * g[v->offset + j];
            CHECK_MSG(g2 > 0.0, "%s: no straight-through gradient", v->name);
            continue;
        }
        fd_check_model(v->name, &c, tpl_params_data(p, i), g + v->offset, v->numel, model_samples,
                       model_eps, model_tol);
    }
    free(g), free(c.x), free(c.logits), free(c.zeros), free(target), free(df);
    tpl_model_free(c.m);
}

/* A task blended from two others (adapt --init combine): the gradient of
 * its loss with respect to the blend's weights, tpl_model_blend_grad. */
static void test_blend(void) {
    tpl_config cfg;
    tpl_config_default(&cfg);
    cfg.in_height = cfg.in_width = 12;
    cfg.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 3};
    cfg.logit_noise = 1.0f;
    cfg.n_tasks = 3;
    cfg.task[1] = (tpl_task_config){.name = "one", .classes = 3};
    cfg.task[2] = (tpl_task_config){.name = "two", .classes = 3};
    tpl_err err = {{0}};
    float w[2] = {0.3f, 0.7f};
    model_ctx c = {.n = 4, .blend = w};
    c.m = tpl_model_create(&cfg, 11, &err);
    CHECK_MSG(c.m != NULL, "%s", err.msg);
    if (!c.m) return;
    tpl_params *p = &c.m->params;
    for (int i = 0; i < p->n_views; i++) /* two sources that differ everywhere */
        if (p->views[i].kind == TPL_KIND_BN_SCALE || p->views[i].kind == TPL_KIND_BN_SHIFT)
            for (size_t j = 0; j < p->views[i].numel; j++)
                tpl_params_data(p, i)[j] = 0.5f * tpl_rng_normal(&rng) +
                                           (p->views[i].kind == TPL_KIND_BN_SCALE);
    c.x = randn((size_t)c.n * 144, 1.0f);
    c.logits = malloc(c.n * 10 * 4);
    int labels[4] = {2, 9, 4, 2};
    c.y = labels;
    model_probe(&c);
    c.arena = tpl_ws_floats(c.m, c.n, 1);
    c.zeros = malloc(c.arena);
    memset(c.m->ws->arena, 0, sizeof(float) * c.arena);
    model_probe(&c);
    float dl[40];
    tpl_xent_forward_backward(c.n, 10, c.logits, c.y, dl, NULL);
    memset(p->grad, 0, p->numel * 4);
    CHECK_MSG(tpl_model_backward(c.m, 0, dl, &err) == 0, "%s", err.msg);
    double dw[2];
    tpl_model_blend_grad(c.m, blend_from, 2, 0, dw);
    const float g[2] = {(float)dw[0], (float)dw[1]};
    fd_check_model("blend weights", &c, w, g, 2, 2, model_eps, model_tol);
    free(c.x), free(c.logits), free(c.zeros);
    tpl_model_free(c.m);
}

int main(void) {
    tpl_rng_seed(&rng, 42);
    if (getenv("EPS")) model_eps = atof(getenv("EPS"));
    if (getenv("TOL")) model_tol = atof(getenv("TOL"));
    if (getenv("MODEL_SAMPLES")) model_samples = atoi(getenv("MODEL_SAMPLES"));
    if (getenv("MODEL_ONLY")) goto models;
    test_bn(0, 0, 16);
    test_bn(1, 0, 32);
    test_bn(1, 1, 16);
    test_bn(0, 1, 32);
    test_bn(TPL_RELU6, 0, 32);
    test_bn(TPL_RELU6, 1, 16);
    test_small_ops();
    test_mixture();
    tpl_err err;
    tpl_engine *e = tpl_engine_create(&err);
    test_conv(e, 2, 16, 16, 3, 1, 1, 16, 16);  /* direct, blocked */
    test_conv(e, 16, 16, 16, 3, 1, 1, 16, 16); /* winograd when available */
    test_conv(e, 2, 1, 16, 3, 2, 1, 1, 16);    /* stem: 1 channel, stride 2 */
    test_conv(e, 2, 16, 32, 3, 2, 1, 16, 16);  /* transition */
    test_conv(e, 2, 8, 8, 3, 1, 1, 8, 8);      /* NHWC */
    test_conv(e, 2, 8, 24, 1, 1, 1, 8, 24);    /* 1x1 expansion (inverted block), NHWC */
    test_conv(e, 2, 24, 8, 1, 1, 1, 24, 8);    /* 1x1 projection */
    test_conv(e, 2, 24, 24, 3, 1, 24, 24, 24); /* 3x3 depthwise */
    test_conv(e, 2, 32, 32, 3, 1, 32, 16, 16); /* depthwise, blocked */
    tpl_engine_free(e);
    test_routing();
    test_entropy();
    test_infomax();
    test_pseudo();
    test_moments();
models:
    test_model((model_case){.stages = 1});
    test_model((model_case){.stages = 2});
    test_model((model_case){.shared_mixture = 1}); /* one mixture and one head for both tasks */
    test_model((model_case){.routing = TPL_ROUTE_TOPK});
    /* a mixture per conv, and per group of 8 output channels */
    test_model((model_case){.stages = 2, .mix = TPL_MIX_CONV});
    test_model((model_case){.stages = 2, .mix = TPL_MIX_GROUP, .group = 8});
    /* a mixture of experts */
    test_model((model_case){.stages = 2, .aggregate = TPL_AGG_OUTPUTS});
    test_model((model_case){.routing = TPL_ROUTE_TOPK, .aggregate = TPL_AGG_OUTPUTS});
    /* inverted bottlenecks (expansion 3), whole and mixed per group */
    test_model((model_case){.stages = 2, .block = TPL_BLOCK_INVERTED});
    test_model((model_case){.block = TPL_BLOCK_INVERTED, .mix = TPL_MIX_GROUP, .group = 8});
    /* moment matching on the pooled features, through the whole network */
    test_model((model_case){.stages = 2, .moments = 1});
    /* last: its draws from the shared stream would move the cases above */
    test_blend();
    return check_summary("test_grad");
}
