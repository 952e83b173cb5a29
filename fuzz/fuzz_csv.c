/* scikit-learn digits CSV (src/sources/digits.c): tpl_digits_csv_load.
 *
 * Input layout: the first byte picks the image side (1 + byte % 16), the
 * second the largest pixel value (1 + byte, or 65535 for 0xff); the rest
 * is the file, plain or gzip.  A file that loads must hold side x side
 * grey images whose classes are 1 + the largest label. */
#include <string.h>

#include "digits.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int side = 1 + data[0] % 16, max_value = data[1] == 0xff ? 65535 : 1 + data[1];
    const char *path = fuzz_file(0, data + 2, size - 2);
    tpl_dataset d;
    tpl_err err = {{0}};
    if (tpl_digits_csv_load(path, side, max_value, &d, &err)) {
        fuzz_check_error(err.msg);
        if (d.pixels || d.labels || d.n) fuzz_fail("a failed load left a data set behind");
        return 0;
    }
    if (d.n < 1 || d.h != side || d.w != side || d.c != 1)
        fuzz_fail("loaded %d images of %dx%dx%d, side %d", d.n, d.h, d.w, d.c, side);
    fuzz_touch(d.pixels, (size_t)d.n * side * side);
    int top = 0;
    for (int i = 0; i < d.n; i++)
        if (d.labels[i] > top) top = d.labels[i];
    if (d.classes != top + 1) fuzz_fail("classes %d, largest label %d", d.classes, top);
    tpl_dataset_free(&d);
    return 0;
}
