/* templar predict: classify image files (PNG) with one task of a model.
 * Each image is read in the model's channels (grey or RGB), resized to its
 * input size, and printed with the most likely class and its probability.
 * The model expects what it was trained on: Fashion-MNIST and the digit
 * sets are light shapes on black. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "image.h"

/* One image, as the model takes it, into pixels (in_h * in_w * in_c). */
static int load_image(const char *path, const tpl_config *c, uint8_t *pixels, tpl_err *err) {
    tpl_dataset raw, sized;
    if (tpl_image_load_dataset(path, c->in_channels == 3 ? 3 : 1, &raw, err)) return -1;
    int rc = tpl_dataset_resize(&raw, c->in_height, c->in_width, &sized, err);
    tpl_dataset_free(&raw);
    if (rc) return -1;
    for (size_t i = 0; i < (size_t)c->in_height * c->in_width * c->in_channels; i++)
        pixels[i] = sized.pixels[i];
    tpl_dataset_free(&sized);
    return 0;
}

static int run(int argc, char **argv) {
    enum { MAX_IMAGES = 4096 };
    const char *task = NULL, **pos = malloc(sizeof(char *) * MAX_IMAGES);
    int npos, threads = 0;
    const arg_spec specs[] = {
        {"task", ARG_STR, &task, "the task to answer (default: the model's first)", 0, 0},
        {"threads", ARG_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = pos ? args_parse("predict", "MODEL IMAGE.png... [--task T]",
                              (const arg_spec *const[]){specs, NULL}, argc, argv, 2, pos,
                              MAX_IMAGES, &npos)
                 : -1;
    if (rc || npos < 2) {
        if (!rc) fprintf(stderr, "templar predict: a model and at least one image, please (usage: templar predict MODEL IMAGE.png... [--task T])\n");
        free(pos);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(pos[0], &err);
    int t = m ? (task ? tpl_model_find_task(m, task) : 0) : -1;
    if (m && t < 0) tpl_err_set(&err, "%s: no task '%s' in the model", pos[0], task);
    rc = t < 0;
    const tpl_config *c = m ? tpl_model_config(m) : NULL;
    const size_t img = c ? (size_t)c->in_height * c->in_width * c->in_channels : 0;
    const int classes = c && t >= 0 ? c->task[t].classes : 1;
    uint8_t *pixels = rc ? NULL : malloc(img);
    float *probs = rc ? NULL : malloc(sizeof(float) * classes);
    if (!rc && (!pixels || !probs)) rc = 1, tpl_err_set(&err, "out of memory");
    for (int i = 1; !rc && i < npos; i++) {
        rc = load_image(pos[i], c, pixels, &err) || tpl_model_classify(m, t, pixels, 1, probs, &err);
        int best = 0;
        for (int k = 1; !rc && k < classes; k++)
            if (probs[k] > probs[best]) best = k;
        if (!rc) printf("%s task=%s class=%d prob=%.4f\n", pos[i], c->task[t].name, best, probs[best]);
    }
    if (rc) fprintf(stderr, "templar predict: %s\n", err.msg);
    free(pixels), free(probs), free(pos);
    tpl_model_free(m);
    return rc ? 1 : 0;
}

const cli_command cli_command_predict = {"predict", 60, "classify PNG and JPEG images with a task of a model", run};
