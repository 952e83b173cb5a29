/* The public inference API (templar.h): load a model, pick a task, classify
 * images held in memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "model.h"
#include "ops.h"

const tpl_config *tpl_model_config(const tpl_model *m) { return &m->cfg; }

int tpl_model_find_task(const tpl_model *m, const char *name) {
    for (int t = 0; t < m->cfg.n_tasks; t++)
        if (!strcmp(m->cfg.task[t].name, name)) return t;
    return -1;
}

#define CLASSIFY_BATCH 64

int tpl_model_classify(tpl_model *m, int task, const uint8_t *pixels, int n, float *probs,
                       tpl_err *err) {
    const tpl_config *c = &m->cfg;
    if (task < 0 || task >= c->n_tasks || n < 0) {
        tpl_err_set(err, "classify: no task %d (the model has %d) or a negative count", task,
                    c->n_tasks);
        return -1;
    }
    const int classes = c->task[task].classes;
    const size_t img = (size_t)c->in_channels * c->in_height * c->in_width;
    float *x = malloc(sizeof(float) * img * CLASSIFY_BATCH);
    int *idx = malloc(sizeof(int) * CLASSIFY_BATCH), *y = malloc(sizeof(int) * CLASSIFY_BATCH);
    uint8_t *labels = calloc((size_t)(n > 0 ? n : 1), 1);
    int rc = x && idx && y && labels ? 0 : -1;
    if (rc) tpl_err_set(err, "classify: out of memory");
    /* the caller's buffer, seen as a data set (never written) */
    const tpl_dataset d = {.n = n, .h = c->in_height, .w = c->in_width, .c = c->in_channels,
                           .classes = classes, .pixels = (uint8_t *)pixels, .labels = labels};
    for (int i0 = 0; !rc && i0 < n; i0 += CLASSIFY_BATCH) {
        int b = n - i0 < CLASSIFY_BATCH ? n - i0 : CLASSIFY_BATCH;
        for (int i = 0; i < b; i++) idx[i] = i0 + i;
        tpl_batch_fill(&d, idx, b, c->in_mean, c->in_std, NULL, NULL, x, y);
        float *p = probs + (size_t)i0 * classes;
        rc = tpl_model_forward(m, task, x, b, 0, p, err);
        for (int i = 0; !rc && i < b; i++) {
            float row[classes];
            tpl_softmax_forward(classes, 1.0f, p + (size_t)i * classes, row);
            memcpy(p + (size_t)i * classes, row, sizeof row);
        }
    }
    free(x), free(idx), free(y), free(labels);
    return rc;
}
