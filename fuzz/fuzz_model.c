/* Model files (src/io/checkpoint.c): tpl_model_load on arbitrary bytes,
 * then tpl_model_classify of a fixed small image for every task of a model
 * that loads.
 *
 * A loaded model must find each task by its name, and classify must either
 * refuse with a one-line message (a forward that overflows: issue 14) or
 * return probabilities in [0, 1] that sum to 1.  Models may take at most
 * the fuzzer's own allocation limit (tpl_set_memory_limit): the loader must
 * refuse a file whose metadata claims more before allocating it (the
 * "model bomb", fuzz/regressions/model/bomb-1024-wide.safetensors). */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "templar.h"

/* Images classified only up to this many pixels: the file bounds the
 * weights, not the input size, and a 1024x1024 forward is slow. */
#define MAX_PIXELS (64 * 64)

/* run.sh's -malloc_limit_mb: no model may take more in all. */
#define MODEL_LIMIT ((size_t)512 << 20)

static void classify_all(tpl_model *m) {
    const tpl_config *c = tpl_model_config(m);
    const int pixels = c->in_height * c->in_width;
    if (pixels > MAX_PIXELS) return;
    const size_t bytes = (size_t)pixels * c->in_channels;
    uint8_t *image = malloc(bytes);
    if (!image) fuzz_fail("out of memory");
    for (size_t i = 0; i < bytes; i++) image[i] = (uint8_t)(i * 37 + i / 7); /* a fixed pattern */
    for (int t = 0; t < c->n_tasks; t++) {
        if (tpl_model_find_task(m, c->task[t].name) != t) fuzz_fail("task %d not found by name", t);
        const int classes = c->task[t].classes;
        float *probs = malloc(sizeof(float) * (size_t)classes);
        tpl_err err = {{0}};
        if (!probs) fuzz_fail("out of memory");
        if (tpl_model_classify(m, t, image, 1, probs, &err)) {
            fuzz_check_error(err.msg);
        } else {
            double sum = 0;
            for (int i = 0; i < classes; i++) {
                if (!(probs[i] >= 0 && probs[i] <= 1)) /* NaN too */
                    fuzz_fail("task %d: probability %g", t, probs[i]);
                sum += probs[i];
            }
            if (fabs(sum - 1) > 1e-3) fuzz_fail("task %d: probabilities sum to %g", t, sum);
        }
        free(probs);
    }
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
    tpl_set_memory_limit(MODEL_LIMIT);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(path, &err);
    if (!m) {
        fuzz_check_error(err.msg);
        return 0;
    }
    classify_all(m);
    tpl_model_free(m);
    return 0;
}
