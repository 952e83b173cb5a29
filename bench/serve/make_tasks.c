/* The benchmark's bank and tasks (bench/serve/run.sh): a fresh model of
 * the reference architecture (1x28x28, width 64, 8 blocks, 4 templates,
 * ten classes), its BN statistics and its task's tensors drawn from a seed,
 * saved as OUT/bank.safetensors; N task files OUT/tasks/tNNNNN.safetensors,
 * each the model's task with its own seeded logits, BNs and head (what
 * transfer would give, without the training: serving speed does not depend
 * on the values); and OUT/image.png, a 28x28 grey picture to classify.
 *
 *   bench_serve_make_tasks OUT N [--width 64 --layers 8 --templates 4] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "model.h"
#include "rng.h"
#include "taskfile.h"

/* The task's own tensors drawn anew: a new task over the same bank. */
static void draw_task(tpl_model *m, tpl_rng *r) {
    for (int v = 0; v < m->params.n_views; v++) {
        const tpl_view *w = &m->params.views[v];
        if (w->task != 0) continue;
        float *x = tpl_params_data(&m->params, v);
        for (size_t i = 0; i < w->numel; i++) switch (w->kind) {
            case TPL_KIND_LOGITS: x[i] = tpl_rng_normal(r); break;
            case TPL_KIND_BN_SCALE: x[i] = 0.5f + 0.5f * tpl_rng_uniform(r); break;
            case TPL_KIND_BN_VAR: x[i] = 0.5f + tpl_rng_uniform(r); break;
            case TPL_KIND_BN_SHIFT:
            case TPL_KIND_BN_MEAN: x[i] = 0.1f * tpl_rng_normal(r); break;
            default: x[i] = 0.1f * tpl_rng_normal(r); /* head */
            }
    }
    tpl_model_params_changed(m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_serve_make_tasks OUT N [--width W --layers L --templates K]\n");
        return 2;
    }
    const char *out = argv[1];
    const int n = atoi(argv[2]);
    tpl_config c;
    tpl_config_default(&c);
    snprintf(c.task[0].name, TPL_NAME_LEN, "bench");
    c.in_mean[0] = 0.286f, c.in_std[0] = 0.353f;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--width")) c.stage[0].width = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layers")) c.stage[0].layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--templates")) c.stage[0].templates = atoi(argv[i + 1]);
    }
    tpl_err err;
    tpl_model *m = tpl_model_create(&c, 7, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    tpl_rng r;
    tpl_rng_seed(&r, 1234);
    draw_task(m, &r);
    char path[4096];
    mkdir(out, 0777);
    snprintf(path, sizeof path, "%s/tasks", out);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/bank.safetensors", out);
    int rc = tpl_model_save(m, path, &err);
    for (int i = 0; !rc && i < n; i++) {
        draw_task(m, &r);
        snprintf(path, sizeof path, "%s/tasks/t%05d.safetensors", out, i);
        rc = tpl_taskfile_write(m, 0, path, &err);
    }
    uint8_t px[28 * 28];
    for (int i = 0; i < 28 * 28; i++) px[i] = (uint8_t)((i % 28) * (i / 28) % 256);
    snprintf(path, sizeof path, "%s/image.png", out);
    if (!rc) rc = tpl_png_write(path, px, 28, 28, 1, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    tpl_model_free(m);
    return rc ? 1 : 0;
}
