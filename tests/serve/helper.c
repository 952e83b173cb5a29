/* What tests/cli_serve.sh needs besides the binary and curl:
 *   png OUT W H C SEED         a PNG of smooth seeded pixels
 *   json IMAGE C               the image as a JSON-pixels body (C channels)
 *   expect MODEL TASKFILE IMAGE
 *                              the task file's answer by another road than
 *                              the server's: the task appended to the model
 *                              (tpl_model_add_task, its raw tensors copied
 *                              in) and tpl_model_classify on the image
 *                              read as templar predict reads it
 *                              (tpl_image_load);
 *                              prints "class=K prob=P" */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "image.h"
#include "rng.h"
#include "taskfile.h"
#include "templar_image.h"

static int png(int argc, char **argv) {
    if (argc != 7) return 2;
    const int w = atoi(argv[3]), h = atoi(argv[4]), c = atoi(argv[5]);
    tpl_rng r;
    tpl_rng_seed(&r, (uint64_t)atoll(argv[6]));
    uint8_t *px = malloc((size_t)w * h * c);
    const float fx = 0.2f + tpl_rng_uniform(&r), fy = 0.2f + tpl_rng_uniform(&r);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] =
                    (uint8_t)(127.5f + 127.0f * sinf(fx * x + fy * y + k));
    tpl_err err;
    int rc = tpl_png_write(argv[2], px, w, h, c, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    free(px);
    return rc ? 1 : 0;
}

static int json(int argc, char **argv) {
    if (argc != 4) return 2;
    tpl_image im;
    tpl_err err;
    if (tpl_image_read(argv[2], atoi(argv[3]), 8192, &im, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("{\"width\": %d, \"height\": %d, \"channels\": %d, \"pixels\": [", im.w, im.h, im.c);
    for (size_t i = 0; i < (size_t)im.w * im.h * im.c; i++) printf("%s%d", i ? "," : "", im.px[i]);
    printf("]}\n");
    tpl_image_free(&im);
    return 0;
}

/* The task file's raw tensors into task t of m. */
static void copy_task(tpl_model *m, int t, const tpl_task_file *f) {
    int v[TPL_TRUNK_MAX_VIEWS], n = tpl_trunk_views(m, t, v);
    const float *at = f->trunk;
    for (int i = 0; i < n; i++) {
        memcpy(tpl_params_data(&m->params, v[i]), at, sizeof(float) * m->params.views[v[i]].numel);
        at += m->params.views[v[i]].numel;
    }
    memcpy(tpl_params_data(&m->params, m->task[t].head_w), f->head_w,
           sizeof(float) * m->params.views[m->task[t].head_w].numel);
    memcpy(tpl_params_data(&m->params, m->task[t].head_b), f->head_b, sizeof(float) * f->classes);
    tpl_model_params_changed(m);
}

static int expect(int argc, char **argv) {
    if (argc != 5) return 2;
    tpl_err err = {{0}};
    tpl_model *bank = tpl_model_load(argv[2], &err), *m = NULL;
    tpl_task_file f = {0};
    char id[17];
    if (bank) tpl_bank_id(bank, id);
    int rc = !bank || tpl_taskfile_read(argv[3], bank, id, &f, &err);
    tpl_task_config tc = {.classes = f.classes};
    snprintf(tc.name, sizeof tc.name, "expected");
    if (!rc && !(m = tpl_model_add_task(bank, &tc, 1, &err))) rc = 1;
    const tpl_config *c = m ? tpl_model_config(m) : NULL;
    uint8_t *px = c ? malloc((size_t)c->in_height * c->in_width * c->in_channels) : NULL;
    if (!rc) rc = tpl_image_load(argv[4], c, px, NULL, &err);
    float *probs = malloc(sizeof(float) * (f.classes ? f.classes : 1));
    const int t = m ? m->cfg.n_tasks - 1 : 0;
    if (!rc) {
        copy_task(m, t, &f);
        rc = tpl_model_classify(m, t, px, 1, probs, &err);
    }
    if (rc) fprintf(stderr, "expect: %s\n", err.msg);
    else {
        int best = 0;
        for (int k = 1; k < f.classes; k++)
            if (probs[k] > probs[best]) best = k;
        printf("class=%d prob=%.6f\n", best, probs[best]);
    }
    free(probs);
    free(px);
    tpl_task_file_free(&f);
    tpl_model_free(m), tpl_model_free(bank);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    int rc = 2;
    if (argc > 1 && !strcmp(argv[1], "png")) rc = png(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "json")) rc = json(argc, argv);
    else if (argc > 1 && !strcmp(argv[1], "expect")) rc = expect(argc, argv);
    if (rc == 2) fprintf(stderr, "usage: serve_helper png|json|expect ...\n");
    return rc;
}
