/* classify: the templar libraries from outside, through their installed
 * headers.
 *
 *   cc classify.c $(pkg-config --cflags --libs templar-image) -o classify
 *   ./classify MODEL TASK IMAGE...
 *
 * Loads a model file, picks a task by name, and classifies PNG or JPEG
 * files: each is read and fitted to the model's input (resized, grey or
 * colour) by tpl_image_load, then the most likely class is printed with its
 * name, when the model has class names, and its probability. */
#include <stdio.h>
#include <stdlib.h>
#include <templar.h>
#include <templar_image.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: classify MODEL TASK IMAGE...\n");
        return 2;
    }
    tpl_err err;
    tpl_model *m = tpl_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "classify: %s\n", err.msg);
        return 1;
    }
    const tpl_config *c = tpl_model_config(m);
    const int task = tpl_model_find_task(m, argv[2]);
    const int classes = task >= 0 ? c->task[task].classes : 1;
    unsigned char *pixels = malloc((size_t)c->in_height * c->in_width * c->in_channels);
    float *probs = malloc(sizeof(float) * classes);
    int rc = task < 0 || !pixels || !probs;
    if (task < 0) fprintf(stderr, "classify: %s has no task '%s'\n", argv[1], argv[2]);
    for (int i = 3; !rc && i < argc; i++) {
        int changes;
        if (tpl_image_load(argv[i], c, pixels, &changes, &err) ||
            tpl_model_classify(m, task, pixels, 1, probs, &err)) {
            fprintf(stderr, "classify: %s\n", err.msg);
            rc = 1;
            break;
        }
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (probs[k] > probs[best]) best = k;
        const char *name = tpl_model_class_name(m, task, best);
        printf("%s class=%d%s%s prob=%.4f%s\n", argv[i], best, name ? " name=" : "",
               name ? name : "", probs[best], changes ? " (resized or converted)" : "");
    }
    free(pixels), free(probs);
    tpl_model_free(m);
    return rc;
}
