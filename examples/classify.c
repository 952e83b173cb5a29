/* classify: the templar library from outside, through its installed header.
 *
 *   cc classify.c $(pkg-config --cflags --libs templar) -o classify
 *   ./classify MODEL TASK IMAGE.pgm
 *
 * Loads a model file, picks a task by name and classifies one binary PGM
 * (P5, 8-bit grey) of the model's input size, printing the most likely class
 * and its probability. */
#include <stdio.h>
#include <stdlib.h>
#include <templar.h>

/* A binary PGM of exactly w x h pixels into pixels; 0 on success. */
static int read_pgm(const char *path, int w, int h, unsigned char *pixels) {
    FILE *f = fopen(path, "rb");
    int fw, fh, max;
    int ok = f && fscanf(f, "P5 %d %d %d", &fw, &fh, &max) == 3 && fgetc(f) != EOF &&
             fw == w && fh == h && max == 255 && fread(pixels, 1, (size_t)w * h, f) == (size_t)w * h;
    if (f) fclose(f);
    if (!ok) fprintf(stderr, "classify: %s: not a %dx%d 8-bit binary PGM\n", path, w, h);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: classify MODEL TASK IMAGE.pgm\n");
        return 2;
    }
    tpl_err err;
    tpl_model *m = tpl_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "classify: %s\n", err.msg);
        return 1;
    }
    const tpl_config *c = tpl_model_config(m);
    int task = tpl_model_find_task(m, argv[2]);
    unsigned char *pixels = malloc((size_t)c->in_height * c->in_width);
    float *probs = malloc(sizeof(float) * (task >= 0 ? c->task[task].classes : 1));
    int rc = 1;
    if (task < 0) fprintf(stderr, "classify: %s has no task '%s'\n", argv[1], argv[2]);
    else if (c->in_channels != 1) fprintf(stderr, "classify: this example reads grey images only\n");
    else if (pixels && probs && read_pgm(argv[3], c->in_width, c->in_height, pixels) == 0) {
        if (tpl_model_classify(m, task, pixels, 1, probs, &err)) {
            fprintf(stderr, "classify: %s\n", err.msg);
        } else {
            int best = 0;
            for (int k = 1; k < c->task[task].classes; k++)
                if (probs[k] > probs[best]) best = k;
            printf("class=%d prob=%.4f\n", best, probs[best]);
            rc = 0;
        }
    }
    free(pixels), free(probs);
    tpl_model_free(m);
    return rc;
}
