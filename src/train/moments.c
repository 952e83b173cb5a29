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
    float *mq = calloc(2 * (size_t)dim, sizeof *mq); /* finite: rate 1 then drops it */
    if (!mq) {
        tpl_err_set(err, "out of memory: the moments of %d features", dim);
        return -1;
    }
    int rc = 0;
    for (int i0 = 0; !rc && i0 < d->n; i0 += b->cap) {
        const int k = tpl_batch_range(b, m, d, i0, d->n);
        rc = tpl_model_forward(m, task, b->x, k, 0, b->logits, err);
        /* every batch weighs by its images: the record is the mean over all */
        if (!rc) tpl_moments_update(k, dim, tpl_model_features(m), (float)k / (float)(i0 + k), mq);
    }
    if (!rc) tpl_model_set_moments(m, task, mq);
    free(mq);
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
