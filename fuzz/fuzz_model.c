/* Model files (src/io/checkpoint.c): tpl_model_load on arbitrary bytes,
 * then tpl_model_classify of a fixed small image for every task of a model
 * that loads.
 *
 * A loaded model must find each task by its name, and classify must return
 * probabilities in [0, 1] that sum to 1 -- unless they are not finite: a
 * model whose weights are finite but huge overflows in the forward (issue
 * 14, item 1), so NaN probabilities only count as a failure with
 * FUZZ_MODEL_STRICT=1 in the environment, until the loader refuses such
 * models.
 *
 * Known issue ("model bomb", fuzz/known/model/): the loader allocates the
 * model its metadata describes before it compares the file's tensors with
 * it, so 2 KB of metadata claiming widths of 1024 allocate gigabytes.
 * Unless built with -DFUZZ_MODEL_BOMBS, files whose metadata claims more
 * template bytes than the file holds are skipped here, so that fuzzing goes
 * past them; remove claims_too_much() once checkpoint.c checks this
 * itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "safetensors.h"
#include "templar.h"

/* Images classified only up to this many pixels: the file bounds the
 * weights, not the input size, and a 1024x1024 forward is slow. */
#define MAX_PIXELS (64 * 64)

#ifndef FUZZ_MODEL_BOMBS
/* n comma-separated non-negative integers from a metadata value; how many
 * were read (at most max), or -1 if the text is not such a list. */
static int int_list(const char *s, long *v, int max) {
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        v[n] = strtol(s, &end, 10);
        if (end == s || v[n] < 0 || v[n] > 1 << 20) return -1;
        n++;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

/* 1 if the templates the metadata claims (K * 2 convs * 9 * width^2 floats
 * a stage) cannot fit in the file: the model bomb. */
static int claims_too_much(const char *path, size_t size) {
    tpl_err err;
    tpl_st_file *f = tpl_st_open(path, &err);
    if (!f) return 0; /* the loader will say why */
    long w[8], k[8];
    int nw = int_list(tpl_st_meta(f, "widths"), w, 8);
    int nk = int_list(tpl_st_meta(f, "templates"), k, 8);
    double bytes = 0;
    for (int s = 0; s < nw && s < nk; s++) bytes += 4.0 * k[s] * 2 * 9 * (double)w[s] * w[s];
    tpl_st_close(f);
    return bytes > (double)size;
}
#endif

static void classify_all(tpl_model *m) {
    const tpl_config *c = tpl_model_config(m);
    const int pixels = c->in_height * c->in_width;
    if (pixels > MAX_PIXELS) return;
    const size_t bytes = (size_t)pixels * c->in_channels;
    uint8_t *image = malloc(bytes);
    if (!image) fuzz_fail("out of memory");
    for (size_t i = 0; i < bytes; i++) image[i] = (uint8_t)(i * 37 + i / 7); /* a fixed pattern */
    const int strict = getenv("FUZZ_MODEL_STRICT") && !strcmp(getenv("FUZZ_MODEL_STRICT"), "1");
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
            int finite = 1;
            for (int i = 0; i < classes; i++) {
                finite &= isfinite(probs[i]);
                if (isfinite(probs[i]) && (probs[i] < 0 || probs[i] > 1))
                    fuzz_fail("task %d: probability %g", t, probs[i]);
                sum += probs[i];
            }
            if (!finite && strict) fuzz_fail("task %d: non-finite probabilities", t);
            if (finite && fabs(sum - 1) > 1e-3) fuzz_fail("task %d: probabilities sum to %g", t, sum);
        }
        free(probs);
    }
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
#ifndef FUZZ_MODEL_BOMBS
    if (claims_too_much(path, size)) return 0;
#endif
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
