#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

int tpl_batch_init(tpl_batch *b, const tpl_model *m, int cap) {
    const tpl_config *c = &m->cfg;
    memset(b, 0, sizeof *b);
    b->cap = cap;
    for (int t = 0; t < c->n_tasks; t++)
        if (c->task[t].classes > b->classes) b->classes = c->task[t].classes;
    size_t img = (size_t)c->in_channels * c->in_height * c->in_width;
    b->x = malloc(sizeof(float) * img * cap);
    b->logits = malloc(sizeof(float) * (size_t)b->classes * cap);
    b->dlogits = malloc(sizeof(float) * (size_t)b->classes * cap);
    b->y = malloc(sizeof(int) * cap);
    b->idx = malloc(sizeof(int) * cap);
    b->loss_scratch = malloc(sizeof(double) * TPL_INFOMAX_SCRATCH(cap, b->classes));
    b->fscratch = malloc(sizeof(float) * (size_t)b->classes * cap);
    b->dfeatures = malloc(sizeof(float) * (size_t)c->stage[c->n_stages - 1].width * cap);
    return b->x && b->logits && b->dlogits && b->y && b->idx && b->loss_scratch &&
                   b->fscratch && b->dfeatures
               ? 0
               : -1;
}

void tpl_batch_free(tpl_batch *b) {
    free(b->x), free(b->logits), free(b->dlogits), free(b->y), free(b->idx);
    free(b->loss_scratch), free(b->fscratch), free(b->dfeatures);
    memset(b, 0, sizeof *b);
}

int tpl_batch_range(tpl_batch *b, const tpl_model *m, const tpl_dataset *d, int i0, int end) {
    const int n = end - i0 < b->cap ? end - i0 : b->cap;
    for (int i = 0; i < n; i++) b->idx[i] = i0 + i;
    tpl_batch_fill(d, b->idx, n, m->cfg.in_mean, m->cfg.in_std, NULL, NULL, b->x, b->y);
    return n;
}

int tpl_dataset_check_shape(const tpl_model *m, const tpl_dataset *d, const char *what,
                            tpl_err *err) {
    const tpl_config *c = &m->cfg;
    if (d->c == c->in_channels && d->h == c->in_height && d->w == c->in_width) return 0;
    tpl_err_set(err, "%s: images are %dx%dx%d but the model takes %dx%dx%d", what, d->c, d->h,
                d->w, c->in_channels, c->in_height, c->in_width);
    return -1;
}

int tpl_dataset_check(const tpl_model *m, int task, const tpl_dataset *d,
                      const char *what, tpl_err *err) {
    const tpl_config *c = &m->cfg;
    if (tpl_dataset_check_shape(m, d, what, err)) return -1;
    if (d->classes > c->task[task].classes) {
        tpl_err_set(err, "%s: labels go up to %d but task '%s' has %d classes", what,
                    d->classes - 1, c->task[task].name, c->task[task].classes);
        return -1;
    }
    return 0;
}

void tpl_optim_update(tpl_optim *o, tpl_model *m) {
    tpl_optim_step(o, &m->params);
    tpl_model_params_changed(m);
}

/* The loss of a step without labels, its gradients into b->dlogits and (with
 * moments) b->dfeatures: information maximisation, alone or with pseudo-
 * labels, or nothing on the logits; plus moment matching. */
static double unsupervised_loss(const tpl_model *m, const tpl_step_opts *so, const int *idx,
                                int n, int classes, tpl_batch *b) {
    double loss = 0.0;
    if (so->pseudo) {
        for (int i = 0; i < n; i++) b->y[i] = so->pseudo[idx[i]];
        loss = tpl_pseudo_forward_backward(n, classes, b->logits, b->y, so->pseudo_weight,
                                           so->diversity, b->dlogits, b->loss_scratch,
                                           b->fscratch);
    } else if (so->infomax) {
        loss = tpl_infomax_forward_backward(n, classes, b->logits, so->diversity, b->dlogits,
                                            b->loss_scratch);
    } else {
        memset(b->dlogits, 0, sizeof(float) * (size_t)n * classes);
    }
    if (!so->moments) return loss;
    const int dim = m->cfg.stage[m->cfg.n_stages - 1].width;
    const double lm = tpl_moments_forward_backward(n, dim, tpl_model_features(m), so->moments,
                                                   b->dfeatures);
    for (size_t i = 0; i < (size_t)n * dim; i++) b->dfeatures[i] *= so->moments_weight;
    return loss + so->moments_weight * lm;
}

int tpl_train_step(tpl_model *m, tpl_optim *o, int task, const tpl_dataset *d,
                   const int *idx, int n, const tpl_step_opts *so, tpl_rng *rng,
                   tpl_batch *b, tpl_step_result *r, tpl_err *err) {
    const tpl_config *c = &m->cfg;
    const int classes = c->task[task].classes;
    tpl_batch_fill(d, idx, n, c->in_mean, c->in_std, so ? so->aug : NULL, rng, b->x, b->y);
    if (tpl_model_forward(m, task, b->x, n, 1, b->logits, err)) return -1;
    const int unsup = so && so->unsupervised;
    /* unsupervised, the labels only count the correct answers shown */
    r->loss = tpl_xent_forward_backward(n, classes, b->logits, b->y, unsup ? NULL : b->dlogits,
                                        &r->correct);
    if (unsup) r->loss = unsupervised_loss(m, so, idx, n, classes, b);
    r->n = n;
    if (!isfinite(r->loss)) {
        tpl_err_set(err, "training diverged: loss is %g (try a lower --lr)", r->loss);
        return -1;
    }
    memset(m->params.grad, 0, sizeof(float) * m->params.numel);
    if (tpl_model_backward_features(m, task, b->dlogits, unsup && so->moments ? b->dfeatures : NULL,
                                    err))
        return -1;
    if (so && so->entropy != 0.0f) tpl_mixture_entropy(m, task, so->entropy);
    tpl_optim_update(o, m);
    return 0;
}

int tpl_features(tpl_model *m, int task, const tpl_dataset *d, int n, tpl_batch *b, float *f,
                 float *p, tpl_err *err) {
    const int dim = m->cfg.stage[m->cfg.n_stages - 1].width, classes = m->cfg.task[task].classes;
    for (int i0 = 0; i0 < n; i0 += b->cap) {
        const int k = tpl_batch_range(b, m, d, i0, n);
        if (tpl_model_forward(m, task, b->x, k, 0, b->logits, err)) return -1;
        memcpy(f + (size_t)i0 * dim, tpl_model_features(m), sizeof(float) * (size_t)k * dim);
        for (int i = 0; p && i < k; i++)
            tpl_softmax_forward(classes, 1.0f, b->logits + (size_t)i * classes,
                                p + (size_t)(i0 + i) * classes);
    }
    return 0;
}

int tpl_pseudo_labels(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b, int *labels,
                      tpl_err *err) {
    const int dim = m->cfg.stage[m->cfg.n_stages - 1].width, classes = m->cfg.task[task].classes;
    float *f = malloc(sizeof(float) * (size_t)d->n * dim);
    float *p = malloc(sizeof(float) * (size_t)d->n * classes);
    int rc = f && p ? 0 : -1;
    if (rc) tpl_err_set(err, "out of memory: the features of %d images for pseudo-labels", d->n);
    if (!rc) rc = tpl_features(m, task, d, d->n, b, f, p, err);
    if (!rc && (rc = tpl_centroid_labels(d->n, dim, classes, f, p, labels)))
        tpl_err_set(err, "out of memory: pseudo-labels of %d images", d->n);
    free(f), free(p);
    return rc;
}

int tpl_bn_recalibrate(tpl_model *m, int task, const tpl_dataset *d, int max_images,
                       tpl_batch *b, tpl_err *err) {
    const float keep = m->bn_momentum;
    const int n_all = d->n < max_images ? d->n : max_images;
    int rc = 0;
    for (int i0 = 0, batch = 0; !rc && i0 + 2 <= n_all; i0 += b->cap, batch++) {
        int n = tpl_batch_range(b, m, d, i0, n_all);
        m->bn_momentum = 1.0f / (batch + 1); /* running = mean of the batches so far */
        rc = tpl_model_forward(m, task, b->x, n, 1, b->logits, err);
    }
    m->bn_momentum = keep;
    return rc;
}

/* Adds the batch's (true, predicted) pairs into confusion[classes][classes]. */
static void count_predictions(int n, int classes, const float *logits, const int *y,
                              long *confusion) {
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (z[k] > z[best]) best = k;
        confusion[(size_t)y[i] * classes + best]++;
    }
}

int tpl_evaluate(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b,
                 tpl_step_result *r, long *confusion, tpl_err *err) {
    const tpl_config *c = &m->cfg;
    const int classes = c->task[task].classes;
    double loss = 0.0;
    int correct = 0;
    for (int i0 = 0; i0 < d->n; i0 += b->cap) {
        int n = tpl_batch_range(b, m, d, i0, d->n), right;
        if (tpl_model_forward(m, task, b->x, n, 0, b->logits, err)) return -1;
        loss += n * tpl_xent_forward_backward(n, classes, b->logits, b->y, NULL, &right);
        correct += right;
        if (confusion) count_predictions(n, classes, b->logits, b->y, confusion);
    }
    r->loss = d->n ? loss / d->n : 0.0;
    r->correct = correct;
    r->n = d->n;
    return 0;
}
