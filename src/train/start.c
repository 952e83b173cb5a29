/* Where an unlabelled target task starts (see train.h): a blind mean of
 * the sources' mixtures and BN can make a path no source ever trained, so
 * each source is tried as the start on the target's own images, with no
 * label, and the rule keeps the one the evidence points to. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "train.h"

static const char *const rule_names[] = {
    [TPL_START_MEAN] = "mean", [TPL_START_CONFIDENT] = "confident", [TPL_START_CLOSEST] = "closest",
    [TPL_START_BOTH] = "both", [TPL_START_COMBINE] = "combine"};
static_assert(sizeof rule_names / sizeof *rule_names == TPL_START_COUNT, "a rule without a name");

int tpl_start_rule_find(const char *name) { return tpl_name_find(rule_names, TPL_START_COUNT, name); }
const char *tpl_start_rule_name(tpl_start_rule r) { return rule_names[r]; }

/* Mean entropy (nats) of task t's predictions on up to max_images of d
 * (eval mode). */
static int prediction_entropy(tpl_model *m, int t, const tpl_dataset *d, int max_images,
                              tpl_batch *b, double *out, tpl_err *err) {
    const int n = d->n < max_images ? d->n : max_images, classes = m->cfg.task[t].classes;
    double sum = 0.0;
    for (int i0 = 0; i0 < n; i0 += b->cap) {
        const int k = tpl_batch_range(b, m, d, i0, n);
        if (tpl_model_forward(m, t, b->x, k, 0, b->logits, err)) return -1;
        for (int i = 0; i < k; i++) {
            const float *z = b->logits + (size_t)i * classes;
            double top = z[0], total = 0.0, weighted = 0.0;
            for (int c = 1; c < classes; c++) top = fmax(top, z[c]);
            for (int c = 0; c < classes; c++) {
                const double e = exp(z[c] - top);
                total += e, weighted += e * (z[c] - top);
            }
            sum += log(total) - weighted / total; /* -sum p log p */
        }
    }
    *out = n ? sum / n : 0.0;
    return 0;
}

/* Task `to` starts at source s: its mixture and BN, statistics re-estimated
 * on d (AdaBN); *score is the rule's figure for it, lower is better. */
static int try_source(tpl_model *m, int s, int to, tpl_start_rule rule, const tpl_dataset *d,
                      int bn_images, tpl_batch *b, double *score, tpl_err *err) {
    tpl_model_copy_task(m, s, to);
    if (tpl_bn_recalibrate(m, to, d, bn_images, b, err)) return -1;
    const double divergence = tpl_model_bn_divergence(m, s, to);
    if (rule == TPL_START_CLOSEST) {
        *score = divergence;
        return 0;
    }
    if (prediction_entropy(m, to, d, bn_images, b, score, err)) return -1;
    /* both: a product, so that neither figure's scale decides */
    if (rule == TPL_START_BOTH) *score *= divergence;
    return 0;
}

/* ---- combine: a learned convex blend of the sources ------------------------ */

/* Steps, batch and step length (in the weights' logits) of the blend's
 * learning: a few dozen steps of a handful of numbers. */
#define COMBINE_STEPS 60
#define COMBINE_BATCH 64
#define COMBINE_RATE 0.1

/* dL/dw of the information maximisation of task `to` on one random batch
 * of d (a training forward: batch statistics), as the blend w has it. */
static int blend_gradient(tpl_model *m, const int *sources, int n, int to, const tpl_dataset *d,
                          tpl_rng *rng, tpl_batch *b, double *dw, tpl_err *err) {
    int k = d->n < COMBINE_BATCH ? d->n : COMBINE_BATCH;
    if (k > b->cap) k = b->cap;
    const int classes = m->cfg.task[to].classes;
    for (int i = 0; i < k; i++) b->idx[i] = (int)tpl_rng_below(rng, (uint32_t)d->n);
    tpl_batch_fill(d, b->idx, k, m->cfg.in_mean, m->cfg.in_std, NULL, NULL, b->x, b->y);
    if (tpl_model_forward(m, to, b->x, k, 1, b->logits, err)) return -1;
    tpl_infomax_forward_backward(k, classes, b->logits, 1.0f, b->dlogits, b->loss_scratch);
    memset(m->params.grad, 0, sizeof(float) * m->params.numel);
    if (tpl_model_backward(m, to, b->dlogits, err)) return -1;
    tpl_model_blend_grad(m, sources, n, to, dw);
    return 0;
}

/* w = softmax(a) over n sources. */
static void blend_weights(const double *a, int n, float *w) {
    double top = a[0], sum = 0.0;
    for (int j = 1; j < n; j++) top = fmax(top, a[j]);
    for (int j = 0; j < n; j++) sum += exp(a[j] - top);
    for (int j = 0; j < n; j++) w[j] = (float)(exp(a[j] - top) / sum);
}

/* Learns the blend's logits a from the both rule's pick (a[best] = 2, a
 * start the evidence already favours); each step moves the logit with the
 * largest gradient by COMBINE_RATE and the others in proportion. */
static int combine(tpl_model *m, const int *sources, int n, int to, int best,
                   const tpl_dataset *d, tpl_batch *b, double *score, tpl_err *err) {
    double a[TPL_MAX_TASKS] = {0}, dw[TPL_MAX_TASKS], da[TPL_MAX_TASKS];
    float w[TPL_MAX_TASKS];
    a[best] = 2.0;
    tpl_rng rng;
    tpl_rng_seed(&rng, 0x636f6d62u); /* the same batches every run */
    for (int step = 0; step < COMBINE_STEPS; step++) {
        blend_weights(a, n, w);
        tpl_model_blend_tasks(m, sources, w, n, to);
        if (blend_gradient(m, sources, n, to, d, &rng, b, dw, err)) return -1;
        double mean = 0.0, largest = 1e-30;
        for (int j = 0; j < n; j++) mean += w[j] * dw[j];
        for (int j = 0; j < n; j++) largest = fmax(largest, fabs(da[j] = w[j] * (dw[j] - mean)));
        for (int j = 0; j < n; j++) a[j] -= COMBINE_RATE * da[j] / largest;
    }
    blend_weights(a, n, w);
    tpl_model_blend_tasks(m, sources, w, n, to);
    for (int j = 0; j < n; j++) score[j] = w[j];
    return 0;
}

int tpl_start_pick(tpl_model *m, const int *sources, int n, int to, tpl_start_rule rule,
                   const tpl_dataset *d, int bn_images, tpl_batch *b, double *score,
                   tpl_err *err) {
    if (rule == TPL_START_MEAN) {
        tpl_model_average_tasks(m, sources, n, to);
        return n;
    }
    const tpl_start_rule pick = rule == TPL_START_COMBINE ? TPL_START_BOTH : rule;
    int best = -1;
    for (int j = 0; j < n; j++) {
        if (try_source(m, sources[j], to, pick, d, bn_images, b, &score[j], err)) return -1;
        if (best < 0 || score[j] < score[best]) best = j;
    }
    if (rule == TPL_START_COMBINE)
        return combine(m, sources, n, to, best, d, b, score, err) ? -1 : n;
    tpl_model_copy_task(m, sources[best], to); /* as the source left it */
    return best;
}
