/* How far apart two model files' predictions are: the largest difference
 * of any logit of any task over the test images of an IDX directory (eval
 * mode), and of any parameter or running statistic.  For the several-
 * process tests (tests/cli_mpi.sh), which train the same run two ways.
 *
 * usage: compare_logits A B IDXDIR
 * prints: max_logit_diff=X max_param_diff=Y logits=N */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "model.h"

static int fail(const char *what) {
    fprintf(stderr, "compare_logits: %s\n", what);
    return 1;
}

/* Largest |a - b| over n floats. */
static double max_diff(const float *a, const float *b, size_t n) {
    double most = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= most)) most = d; /* NaN wins */
    }
    return most;
}

int main(int argc, char **argv) {
    if (argc != 4) return fail("usage: compare_logits A B IDXDIR");
    tpl_err err;
    tpl_model *a = tpl_model_load(argv[1], &err), *b = a ? tpl_model_load(argv[2], &err) : NULL;
    tpl_dataset d = {0};
    if (!a || !b || tpl_idx_load_dir(argv[3], "test", &d, &err)) return fail(err.msg);
    if (a->params.numel != b->params.numel || a->cfg.n_tasks != b->cfg.n_tasks)
        return fail("the models differ in shape");
    const int classes = a->cfg.task[0].classes; /* every task's, in these tests */
    const size_t img = (size_t)d.c * d.h * d.w;
    float *x = malloc(sizeof(float) * img * d.n);
    float *la = malloc(sizeof(float) * classes * d.n), *lb = malloc(sizeof(float) * classes * d.n);
    int *idx = malloc(sizeof(int) * d.n);
    if (!x || !la || !lb || !idx) return fail("out of memory");
    for (int i = 0; i < d.n; i++) idx[i] = i;
    tpl_batch_fill(&d, idx, d.n, a->cfg.in_mean, a->cfg.in_std, NULL, NULL, x, NULL);
    double logits = 0.0;
    for (int t = 0; t < a->cfg.n_tasks; t++) {
        if (a->cfg.task[t].classes != classes) return fail("tasks of different classes");
        if (tpl_model_forward(a, t, x, d.n, 0, la, &err) ||
            tpl_model_forward(b, t, x, d.n, 0, lb, &err))
            return fail(err.msg);
        double m = max_diff(la, lb, (size_t)classes * d.n);
        if (!(m <= logits)) logits = m;
    }
    printf("max_logit_diff=%.3g max_param_diff=%.3g logits=%zu\n", logits,
           max_diff(a->params.data, b->params.data, a->params.numel),
           (size_t)classes * d.n * a->cfg.n_tasks);
    free(x), free(la), free(lb), free(idx);
    tpl_dataset_free(&d);
    tpl_model_free(a);
    tpl_model_free(b);
    return 0;
}
