/* Losses: what training minimises, each forward beside its backward.
 * Reductions run in double, in a fixed order, so results do not depend on
 * the number of threads. */
#include "loss.h"

#include <math.h>
#include <stdlib.h>

#include "mixing.h"
#include "model.h"
#include "route.h"

/* p = softmax(z) in double; returns log of the normaliser. */
static double softmax_row(int k, const float *z, double *p) {
    float top = z[0];
    for (int j = 1; j < k; j++) top = z[j] > top ? z[j] : top;
    double sum = 0.0;
    for (int j = 0; j < k; j++) sum += (p[j] = exp((double)z[j] - top));
    for (int j = 0; j < k; j++) p[j] /= sum;
    return log(sum) + top;
}

double tpl_infomax_forward_backward(int n, int classes, const float *logits, float diversity,
                                    float *dlogits, double *scratch) {
    return tpl_infomax_part_backward(n, n, classes, logits, diversity, dlogits, scratch, NULL,
                                     NULL);
}

double tpl_pseudo_forward_backward(int n, int classes, const float *logits, const int *labels,
                                   float weight, float diversity, float *dlogits,
                                   double *scratch, float *fscratch) {
    double l = tpl_infomax_forward_backward(n, classes, logits, diversity, dlogits, scratch);
    l += weight * tpl_xent_forward_backward(n, classes, logits, labels, dlogits ? fscratch : NULL,
                                            NULL);
    for (size_t i = 0; dlogits && i < (size_t)n * classes; i++) dlogits[i] += weight * fscratch[i];
    return l;
}

double tpl_moments_forward_backward(int n, int dim, const float *f, const float *target,
                                    float *df) {
    double loss = 0.0;
    for (int c = 0; c < dim; c++) {
        double mean = 0.0, sq = 0.0;
        for (int i = 0; i < n; i++) {
            const double v = f[(size_t)i * dim + c];
            mean += v, sq += v * v;
        }
        const double dm = mean / n - target[c], dq = sq / n - target[dim + c];
        loss += dm * dm + dq * dq;
        for (int i = 0; df && i < n; i++)
            df[(size_t)i * dim + c] =
                (float)(2.0 * (dm + 2.0 * dq * f[(size_t)i * dim + c]) / ((double)n * dim));
    }
    return loss / dim;
}

/* Centroids c[k][dim] of the unit features g, image i weighted w(i, k);
 * into c, the weights' sums after them. */
static void centroids(int n, int dim, int classes, const float *g, const float *p,
                      const int *labels, double *c) {
    double *sum = c + (size_t)classes * dim;
    for (size_t j = 0; j < (size_t)classes * (dim + 1); j++) c[j] = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < classes; k++) {
            const double w = labels ? (labels[i] == k) : p[(size_t)i * classes + k];
            if (w == 0.0) continue;
            for (int d = 0; d < dim; d++) c[(size_t)k * dim + d] += w * g[(size_t)i * dim + d];
            sum[k] += w;
        }
}

/* Each image's nearest centroid in cosine (a centroid of no weight is
 * passed over). */
static void nearest(int n, int dim, int classes, const float *g, const double *c, int *labels) {
    const double *sum = c + (size_t)classes * dim;
    for (int i = 0; i < n; i++) {
        double best = -INFINITY;
        for (int k = 0; k < classes; k++) {
            if (sum[k] <= 0.0) continue;
            double dot = 0.0, norm = 0.0;
            for (int d = 0; d < dim; d++) {
                dot += c[(size_t)k * dim + d] * g[(size_t)i * dim + d];
                norm += c[(size_t)k * dim + d] * c[(size_t)k * dim + d];
            }
            const double cos = norm > 0.0 ? dot / sqrt(norm) : -1.0;
            if (cos > best) best = cos, labels[i] = k;
        }
    }
}

int tpl_centroid_labels(int n, int dim, int classes, const float *f, const float *p,
                        int *labels) {
    const size_t cn = (size_t)classes * (dim + 1);
    float *g = calloc((size_t)n * dim + 1, sizeof(float));
    double *c = calloc(cn, sizeof(double)), *again = calloc(cn, sizeof(double));
    if (!g || !c || !again) {
        free(g), free(c), free(again);
        return -1;
    }
    for (int i = 0; i < n; i++) { /* unit features: cosine distances */
        double norm = 0.0;
        for (int d = 0; d < dim; d++) norm += (double)f[(size_t)i * dim + d] * f[(size_t)i * dim + d];
        const double inv = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
        for (int d = 0; d < dim; d++) g[(size_t)i * dim + d] = (float)(f[(size_t)i * dim + d] * inv);
    }
    centroids(n, dim, classes, g, p, NULL, c);
    nearest(n, dim, classes, g, c, labels);
    /* once more from the labels; a class they left empty keeps its weighted centroid */
    centroids(n, dim, classes, g, p, labels, again);
    for (int k = 0; k < classes; k++)
        if (again[(size_t)classes * dim + k] > 0.0) {
            for (int d = 0; d < dim; d++) c[(size_t)k * dim + d] = again[(size_t)k * dim + d];
            c[(size_t)classes * dim + k] = again[(size_t)classes * dim + k];
        }
    nearest(n, dim, classes, g, c, labels);
    free(g), free(c), free(again);
    return 0;
}

double tpl_infomax_part_backward(int n, int total, int classes, const float *logits,
                                 float diversity, float *dlogits, double *scratch,
                                 tpl_sum_fn sum, void *user) {
    /* mean[classes] holds the sum of the images' entropies, so one sum
     * over the processes carries both */
    double *p = scratch, *mean = scratch + (size_t)n * classes, h_mean = 0.0;
    for (int k = 0; k <= classes; k++) mean[k] = 0.0;
    for (int i = 0; i < n; i++) {
        double *pi = p + (size_t)i * classes;
        softmax_row(classes, logits + (size_t)i * classes, pi);
        for (int k = 0; k < classes; k++) {
            mean[classes] -= pi[k] > 0.0 ? pi[k] * log(pi[k]) : 0.0;
            mean[k] += pi[k] / total;
        }
    }
    if (sum) sum(user, mean, classes + 1);
    const double h_each = mean[classes];
    for (int k = 0; k < classes; k++) h_mean -= mean[k] > 0.0 ? mean[k] * log(mean[k]) : 0.0;
    /* dH(p_i)/dz_ik = -p_ik (log p_ik + H_i);
     * dH(mean)/dz_ik = p_ik (sum_j p_ij log mean_j - log mean_k) / n */
    for (int i = 0; dlogits && i < n; i++) {
        const double *pi = p + (size_t)i * classes;
        double hi = 0.0, cross = 0.0;
        for (int k = 0; k < classes; k++) {
            double lp = pi[k] > 1e-300 ? log(pi[k]) : -690.0;
            hi -= pi[k] * lp;
            cross += pi[k] * log(mean[k] > 1e-300 ? mean[k] : 1e-300);
        }
        for (int k = 0; k < classes; k++) {
            double lp = pi[k] > 1e-300 ? log(pi[k]) : -690.0;
            double lm = log(mean[k] > 1e-300 ? mean[k] : 1e-300);
            double g = -pi[k] * (lp + hi) - diversity * pi[k] * (cross - lm);
            dlogits[(size_t)i * classes + k] = (float)(g / total);
        }
    }
    return h_each / total - diversity * h_mean;
}

double tpl_xent_forward_backward(int n, int classes, const float *logits,
                                const int *labels, float *dlogits,
                                int *correct) {
    return tpl_xent_part_backward(n, n, classes, logits, labels, dlogits, correct) / n;
}

double tpl_xent_part_backward(int n, int total, int classes, const float *logits,
                              const int *labels, float *dlogits, int *correct) {
    double loss = 0.0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (z[k] > z[best]) best = k;
        double sum = 0.0;
        for (int k = 0; k < classes; k++) sum += exp((double)z[k] - z[best]);
        const double logsum = log(sum) + z[best];
        loss += logsum - z[labels[i]];
        right += best == labels[i];
        if (!dlogits) continue;
        for (int k = 0; k < classes; k++) {
            double p = exp((double)z[k] - logsum);
            dlogits[(size_t)i * classes + k] = (float)((p - (k == labels[i])) / total);
        }
    }
    if (correct) *correct = right;
    return loss;
}

double tpl_entropy_forward_backward(int k, const float *a, float *da) {
    double h = 0.0;
    for (int i = 0; i < k; i++) {
        /* the limit of -a log a at 0 is 0; its slope there is unbounded, so
         * a weight that is exactly 0 gets the slope of a tiny one */
        double ai = a[i] > 1e-30f ? a[i] : 1e-30;
        if (a[i] > 0.0f) h -= a[i] * log(ai);
        if (da) da[i] = (float)(-log(ai) - 1.0);
    }
    return h;
}

double tpl_mixture_entropy(tpl_model *m, int task, float weight) {
    const tpl_config *c = &m->cfg;
    size_t rows = 0; /* mixtures: a block's, or its convs' or groups' */
    for (int s = 0; s < c->n_stages; s++) rows += tpl_stage_rows(&m->stage[s]);
    const float scale = weight / rows; /* of the mean over mixtures */
    double h = 0.0;
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const int k = st->templates;
        const int v = m->task[task].stage[s].logits;
        const float *z = tpl_params_data(&m->params, v);
        float *gz = tpl_params_grad(&m->params, v);
        const tpl_route r = tpl_model_route(m);
        for (size_t row = 0; row < tpl_stage_rows(st); row++) {
            float a[k], soft[k], da[k], dz[k];
            tpl_route_forward(&r, k, (int)(row / st->units), z + row * k, NULL, a, soft);
            /* of the soft weights: top-k's are piecewise constant */
            h += tpl_entropy_forward_backward(k, soft, da);
            if (weight == 0.0f) continue;
            tpl_route_backward(&r, k, soft, da, dz);
            for (int i = 0; i < k; i++) gz[row * k + i] += scale * dz[i];
        }
    }
    return h / rows;
}
