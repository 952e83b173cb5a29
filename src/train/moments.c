/* Feature moments: what a task's pooled features look like (their mean and
 * mean square per channel), recorded into the model so that a later task
 * can match them without the task's images (moment matching, loss.h). */
#include <stdlib.h>

#include "train.h"

void tpl_moments_update(int n, int dim, const float *f, float rate, float *mq) {
    for (int c = 0; c < dim; c++) {
        double mean = 0.0, sq = 0.0;
        for (int i = 0; i < n; i++) {
            const double v = f[(size_t)i * dim + c];
            mean += v, sq += v * v;
        }
        mq[c] = (float)((1.0 - rate) * mq[c] + rate * mean / n);
        mq[dim + c] = (float)((1.0 - rate) * mq[dim + c] + rate * sq / n);
    }
}

int tpl_record_moments(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b,
                       tpl_err *err) {
    const int dim = m->cfg.stage[m->cfg.n_stages - 1].width;
    double *sum = calloc(2 * (size_t)dim, sizeof *sum);
    float *mq = malloc(sizeof(float) * 2 * dim);
    int rc = sum && mq ? 0 : -1;
    if (rc) tpl_err_set(err, "out of memory: the moments of %d features", dim);
    for (int i0 = 0; !rc && i0 < d->n; i0 += b->cap) {
        const int k = tpl_batch_range(b, m, d, i0, d->n);
        rc = tpl_model_forward(m, task, b->x, k, 0, b->logits, err);
        const float *f = tpl_model_features(m);
        for (size_t j = 0; !rc && j < (size_t)k * dim; j++) {
            sum[j % dim] += f[j];
            sum[dim + j % dim] += (double)f[j] * f[j];
        }
    }
    for (int c = 0; !rc && c < 2 * dim; c++) mq[c] = (float)(sum[c] / d->n);
    if (!rc) tpl_model_set_moments(m, task, mq);
    free(sum), free(mq);
    return rc;
}

void tpl_moments_mean(const tpl_model *m, const int *tasks, int n, float *mq) {
    const tpl_params *p = &m->params;
    const size_t len = p->views[m->task[tasks[0]].moments].numel;
    for (size_t i = 0; i < len; i++) {
        double sum = 0.0;
        for (int j = 0; j < n; j++) sum += tpl_params_data(p, m->task[tasks[j]].moments)[i];
        mq[i] = (float)(sum / n);
    }
}

float *tpl_model_moments(tpl_model *m, int task) {
    return tpl_params_data(&m->params, m->task[task].moments);
}
