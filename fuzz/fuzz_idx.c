/* IDX (src/data/idx.c): tpl_idx_load of an image file and a label file
 * cut from one input.
 *
 * Input layout: two bytes, little-endian, give the image file's length L;
 * the next L bytes (fewer if the input is shorter) are the image file, the
 * rest is the label file.  Either may be gzip (the reader goes by magic).
 * A pair that loads must describe itself consistently (sizes, channels,
 * classes = 1 + largest label) and survive tpl_idx_write and a reload
 * unchanged. */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fuzz.h"

static void check_dataset(const tpl_dataset *d) {
    if (d->n < 1 || d->h < 1 || d->w < 1 || (d->c != 1 && d->c != 3))
        fuzz_fail("loaded %d images of %dx%dx%d", d->n, d->h, d->w, d->c);
    fuzz_touch(d->pixels, (size_t)d->n * d->h * d->w * d->c);
    int top = 0;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] > top) top = d->labels[i];
    if (d->classes != top + 1) fuzz_fail("classes %d, largest label %d", d->classes, top);
}

static void round_trip(const tpl_dataset *d) {
    const char *im = fuzz_scratch_path(0, "images-idx"), *lb = fuzz_scratch_path(1, "labels-idx");
    tpl_err err = {{0}};
    tpl_dataset back;
    if (tpl_idx_write(im, lb, d, &err)) fuzz_fail("write back: %s", err.msg);
    if (tpl_idx_load(im, lb, &back, &err)) fuzz_fail("read back: %s", err.msg);
    if (back.n != d->n || back.h != d->h || back.w != d->w || back.c != d->c ||
        back.classes != d->classes ||
        memcmp(back.pixels, d->pixels, (size_t)d->n * d->h * d->w * d->c) ||
        memcmp(back.labels, d->labels, (size_t)d->n))
        fuzz_fail("the data set changed through write and read");
    tpl_dataset_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (split > size) split = size;
    const char *images = fuzz_file(0, data, split);
    const char *labels = fuzz_file(1, data + split, size - split);
    tpl_dataset d;
    tpl_err err = {{0}};
    if (tpl_idx_load(images, labels, &d, &err)) {
        fuzz_check_error(err.msg);
        if (d.pixels || d.labels || d.n) fuzz_fail("a failed load left a data set behind");
        return 0;
    }
    check_dataset(&d);
    round_trip(&d);
    tpl_dataset_free(&d);
    return 0;
}
