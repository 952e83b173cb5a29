/* The closest task: whose features separate a new task's classes best
 * (see train.h). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* Share of images whose nearest class mean (Euclidean) is their own class's. */
static double nearest_mean_accuracy(const float *f, const uint8_t *labels, int n, int dim,
                                    int classes, double *mean, int *count) {
    memset(mean, 0, sizeof(double) * (size_t)classes * dim);
    memset(count, 0, sizeof(int) * (size_t)classes);
    for (int i = 0; i < n; i++) {
        count[labels[i]]++;
        for (int j = 0; j < dim; j++) mean[(size_t)labels[i] * dim + j] += f[(size_t)i * dim + j];
    }
    for (int k = 0; k < classes; k++)
        for (int j = 0; j < dim && count[k]; j++) mean[(size_t)k * dim + j] /= count[k];
    int right = 0;
    for (int i = 0; i < n; i++) {
        double best = DBL_MAX;
        int arg = -1;
        for (int k = 0; k < classes; k++) {
            double d2 = 0.0;
            for (int j = 0; j < dim && count[k]; j++) {
                double e = f[(size_t)i * dim + j] - mean[(size_t)k * dim + j];
                d2 += e * e;
            }
            if (count[k] && d2 < best) best = d2, arg = k;
        }
        right += arg == labels[i];
    }
    return n ? (double)right / n : 0.0;
}

int tpl_closest_task(tpl_model *m, int n_tasks, const tpl_dataset *d, int max_images,
                     double *score, tpl_err *err) {
    const tpl_config *c = &m->cfg;
    const int dim = c->stage[c->n_stages - 1].width, classes = d->classes;
    const int n = d->n < max_images ? d->n : max_images;
    tpl_batch b;
    int batch_ok = tpl_batch_init(&b, m, 100) == 0;
    float *f = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * dim);
    double *mean = malloc(sizeof(double) * (size_t)classes * dim);
    int *count = malloc(sizeof(int) * (size_t)classes);
    int best = -1;
    if (!batch_ok || !f || !mean || !count || n < 1) {
        tpl_err_set(err, n < 1 ? "closest task: no images" : "closest task: out of memory");
    } else {
        for (int t = 0; t < n_tasks; t++) {
            if (tpl_features(m, t, d, n, &b, f, NULL, err)) {
                best = -1;
                break;
            }
            score[t] = nearest_mean_accuracy(f, d->labels, n, dim, classes, mean, count);
            if (best < 0 || score[t] > score[best]) best = t;
        }
    }
    tpl_batch_free(&b);
    free(f), free(mean), free(count);
    return best;
}
