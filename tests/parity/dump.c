/* One training step of a model file, written out for tests/parity/parity.py
 * to repeat in PyTorch: a seeded batch of normalised inputs and labels, the
 * logits and loss of a training-mode forward (batch statistics), and the
 * gradient of every parameter view ("grad.<view name>") from the
 * cross-entropy backward.  The parameters themselves are read from the
 * model file by parity.py.
 *
 * usage: parity_dump MODEL TASK N SEED OUT
 *   TASK  index of the task to run; N images; OUT a safetensors file */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"
#include "model.h"
#include "safetensors.h"

/* A self-contained generator (splitmix64), so the batch does not change
 * when the library's generator does. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((next_u64(s) >> 11) + 0.5) / 9007199254740992.0; }

static float normal(uint64_t *s) { /* Box-Muller, one of the pair */
    return (float)(sqrt(-2.0 * log(uniform01(s))) * cos(6.283185307179586 * uniform01(s)));
}

static int fail(const char *what) {
    fprintf(stderr, "parity_dump: %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: parity_dump MODEL TASK N SEED OUT\n");
        return 2;
    }
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(argv[1], &err);
    if (!m) return fail(err.msg);
    /* The comparison is float64 PyTorch at 1e-4: the step runs in fp32
     * whatever precision the model was trained in (bf16 has test_bf16). */
    if (tpl_model_set_precision(m, TPL_PRECISION_FP32, &err)) return fail(err.msg);
    const tpl_config *c = tpl_model_config(m);
    const int task = atoi(argv[2]), n = atoi(argv[3]);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    if (task < 0 || task >= c->n_tasks || n < 2) return fail("bad task or batch");
    const int classes = c->task[task].classes;
    const size_t in_numel = (size_t)n * c->in_channels * c->in_height * c->in_width;
    const int nv = m->params.n_views;
    float *x = malloc(sizeof(float) * in_numel);
    float *logits = malloc(sizeof(float) * n * classes);
    float *dlogits = malloc(sizeof(float) * n * classes);
    float *labels_f = malloc(sizeof(float) * n);
    int *labels = malloc(sizeof(int) * n);
    tpl_st_tensor *t = calloc((size_t)nv + 4, sizeof *t);
    char (*names)[TPL_VIEW_NAME + 8] = calloc((size_t)nv, sizeof *names);
    if (!x || !logits || !dlogits || !labels_f || !labels || !t || !names)
        return fail("out of memory");

    for (size_t i = 0; i < in_numel; i++) x[i] = normal(&seed);
    for (int i = 0; i < n; i++) labels_f[i] = (float)(labels[i] = (int)(next_u64(&seed) % classes));

    if (tpl_model_forward(m, task, x, n, /*training*/ 1, logits, &err)) return fail(err.msg);
    float loss = (float)tpl_xent_forward_backward(n, classes, logits, labels, dlogits, NULL);
    memset(m->params.grad, 0, sizeof(float) * m->params.numel);
    if (tpl_model_backward(m, task, dlogits, &err)) return fail(err.msg);

    t[0] = (tpl_st_tensor){"input", 4, {n, c->in_channels, c->in_height, c->in_width}, x};
    t[1] = (tpl_st_tensor){"labels", 1, {n}, labels_f};
    t[2] = (tpl_st_tensor){"logits", 2, {n, classes}, logits};
    t[3] = (tpl_st_tensor){"loss", 1, {1}, &loss};
    for (int i = 0; i < nv; i++) {
        const tpl_view *v = &m->params.views[i];
        snprintf(names[i], sizeof names[i], "grad.%s", v->name);
        t[4 + i] = (tpl_st_tensor){names[i], v->ndim, {0}, tpl_params_grad(&m->params, i)};
        memcpy(t[4 + i].shape, v->shape, sizeof(int64_t) * v->ndim);
    }
    char task_s[16];
    snprintf(task_s, sizeof task_s, "%d", task);
    tpl_st_kv meta[] = {{"task", task_s}};
    if (tpl_st_write(argv[5], t, nv + 4, meta, 1, &err)) return fail(err.msg);
    free(names), free(t), free(labels), free(labels_f), free(dlogits), free(logits), free(x);
    tpl_model_free(m);
    return 0;
}
