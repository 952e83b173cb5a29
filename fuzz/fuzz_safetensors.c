/* safetensors (src/io/safetensors.c): tpl_st_open on arbitrary bytes.
 *
 * A file that opens is walked: every tensor's name, dtype and shape, the
 * name found again by tpl_st_find, F32 tensors read (and reading with a
 * wrong count or dtype refused), the metadata keys a model file has looked
 * up.  Its F32 tensors are then written with tpl_st_write and read back:
 * the same names, shapes and bits. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "safetensors.h"

/* The checkpoint's keys (src/io/checkpoint.c) and one that never is. */
static const char *const META_KEYS[] = {
    "format", "input", "stem_stride", "widths", "layers", "templates", "tasks",
    "routing", "topk", "aggregation", "mixtures", "heads", "tau", "logit_noise",
    "input_mean", "input_std", "trained_steps", "data", "", "__metadata__",
};

typedef struct tensor {
    const char *name;
    int ndim;
    int64_t shape[TPL_ST_MAX_DIMS];
    size_t numel;
    float *data;
} tensor;

/* Tensor i as the file describes it, its data read when it is F32. */
static void read_tensor(tpl_st_file *f, int i, size_t file_size, tensor *t) {
    tpl_err err = {{0}};
    memset(t, 0, sizeof *t);
    t->name = tpl_st_name(f, i);
    const char *dtype = tpl_st_dtype(f, i);
    if (!t->name || !dtype) fuzz_fail("tensor %d has no name or dtype", i);
    if (tpl_st_find(f, t->name) != i) fuzz_fail("tensor %d is not found by its name", i);
    t->ndim = tpl_st_shape(f, i, t->shape);
    if (t->ndim < 0 || t->ndim > TPL_ST_MAX_DIMS) fuzz_fail("tensor %d has rank %d", i, t->ndim);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0) fuzz_fail("tensor %d has a negative axis", i);
        if (__builtin_mul_overflow(numel, (uint64_t)t->shape[d], &numel))
            fuzz_fail("tensor %d: its shape overflows", i);
    }
    if (numel > file_size) fuzz_fail("tensor %d claims more elements than the file has bytes", i);
    t->numel = numel;
    float one;
    if (strcmp(dtype, "F32")) {
        if (!tpl_st_read_f32(f, i, &one, 1, &err) || !tpl_st_read_f32(f, i, NULL, 0, &err))
            fuzz_fail("tensor %d of dtype %s read as F32", i, dtype);
        fuzz_check_error(err.msg);
        t->name = NULL; /* not written back */
        return;
    }
    if (!tpl_st_read_f32(f, i, &one, numel + 1, &err))
        fuzz_fail("tensor %d read with the wrong element count", i);
    fuzz_check_error(err.msg);
    t->data = malloc(sizeof(float) * (numel ? numel : 1));
    if (!t->data) fuzz_fail("out of memory");
    if (tpl_st_read_f32(f, i, t->data, numel, &err))
        fuzz_fail("a checked F32 tensor does not read: %s", err.msg);
}

/* The F32 tensors written to a new file and read back unchanged. */
static void round_trip(const tensor *t, int n) {
    tpl_st_tensor *w = calloc((size_t)(n ? n : 1), sizeof *w);
    int m = 0;
    if (!w) fuzz_fail("out of memory");
    for (int i = 0; i < n; i++) {
        if (!t[i].name) continue;
        w[m] = (tpl_st_tensor){t[i].name, t[i].ndim, {0}, t[i].data};
        memcpy(w[m++].shape, t[i].shape, sizeof t[i].shape);
    }
    const tpl_st_kv meta[] = {{"format", "fuzz"}};
    const char *path = fuzz_scratch_path(0, "round-trip.safetensors");
    tpl_err err = {{0}};
    if (tpl_st_write(path, w, m, meta, 1, &err)) fuzz_fail("write back: %s", err.msg);
    tpl_st_file *f = tpl_st_open(path, &err);
    if (!f) fuzz_fail("read back: %s", err.msg);
    if (tpl_st_count(f) != m || strcmp(tpl_st_meta(f, "format"), "fuzz"))
        fuzz_fail("read back: %d tensors, wrote %d", tpl_st_count(f), m);
    for (int i = 0; i < m; i++) {
        int k = tpl_st_find(f, w[i].name);
        int64_t shape[TPL_ST_MAX_DIMS];
        if (k < 0 || tpl_st_shape(f, k, shape) != w[i].ndim ||
            memcmp(shape, w[i].shape, sizeof *shape * (size_t)w[i].ndim))
            fuzz_fail("read back: tensor %d lost or reshaped", i);
        size_t numel = 1;
        for (int d = 0; d < w[i].ndim; d++) numel *= (size_t)shape[d];
        float *back = malloc(sizeof(float) * (numel ? numel : 1));
        if (!back || tpl_st_read_f32(f, k, back, numel, &err) ||
            memcmp(back, w[i].data, sizeof(float) * numel))
            fuzz_fail("read back: tensor %d data differ", i);
        free(back);
    }
    tpl_st_close(f);
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
    tpl_err err = {{0}};
    tpl_st_file *f = tpl_st_open(path, &err);
    if (!f) {
        fuzz_check_error(err.msg);
        return 0;
    }
    for (size_t k = 0; k < sizeof META_KEYS / sizeof *META_KEYS; k++) {
        const char *v = tpl_st_meta(f, META_KEYS[k]);
        if (v && strlen(v) > size) fuzz_fail("metadata longer than the file");
    }
    int n = tpl_st_count(f);
    if (tpl_st_name(f, n) || tpl_st_name(f, -1) || tpl_st_shape(f, n, NULL) >= 0)
        fuzz_fail("a tensor past the end");
    tensor *t = calloc((size_t)(n ? n : 1), sizeof *t);
    if (!t) fuzz_fail("out of memory");
    for (int i = 0; i < n; i++) read_tensor(f, i, size, &t[i]);
    round_trip(t, n);
    for (int i = 0; i < n; i++) free(t[i].data);
    free(t);
    tpl_st_close(f);
    return 0;
}
