/* PNG and JPEG (src/image): tpl_image_probe and tpl_image_read on
 * arbitrary bytes (the format is found from them), plus the two loaders
 * built on them: tpl_image_load_dataset and, for a picture shaped like a
 * digit sheet, tpl_digits_png_load (src/sources/digits.c).
 *
 * What a decode returns must agree with the probe (size, the file's
 * channels) and hold every pixel it claims, grey and RGB; a file the probe
 * refuses does not decode. */
#include <string.h>

#include "digits.h"
#include "fuzz.h"
#include "image.h"

/* Decodes are capped at this side: larger headers are refused before any
 * pixel is decoded, and only slow the fuzzer. */
#define MAX_SIDE 1024

static void check_image(const tpl_image *im, int channels, int w, int h, int file_c) {
    if (im->c != channels || im->w < 1 || im->h < 1 || im->w > MAX_SIDE || im->h > MAX_SIDE ||
        !im->px)
        fuzz_fail("decoded %dx%dx%d, asked for %d channels", im->w, im->h, im->c, channels);
    if (im->w != w || im->h != h || im->file_c != file_c)
        fuzz_fail("decoded %dx%d with %d file channels, probed %dx%d with %d", im->w, im->h,
                  im->file_c, w, h, file_c);
    fuzz_touch(im->px, (size_t)im->w * im->h * im->c);
}

/* A w x h picture of 10 rows of square cells, cut as a digit sheet. */
static void digit_sheet(const char *path, int w, int h) {
    if (h % 10 || w % (h / 10)) return;
    tpl_dataset d;
    tpl_err err = {{0}};
    if (tpl_digits_png_load(path, h / 10, 1, &d, &err)) {
        fuzz_check_error(err.msg);
        return;
    }
    if (d.n != 10 * (w / (h / 10)) || d.classes != 10 || d.h != h / 10 || d.w != h / 10)
        fuzz_fail("a %dx%d sheet gave %d cells of %dx%d", w, h, d.n, d.h, d.w);
    fuzz_touch(d.pixels, (size_t)d.n * d.h * d.w);
    tpl_dataset_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
    int w, h, file_c;
    tpl_err err = {{0}};
    tpl_image grey, rgb;
    const int probed = tpl_image_probe(path, &w, &h, &file_c, &err) == 0;
    if (!probed) fuzz_check_error(err.msg);
    if (tpl_image_read(path, 1, MAX_SIDE, &grey, &err)) {
        fuzz_check_error(err.msg);
        if (grey.px) fuzz_fail("a failed decode left pixels behind");
        return 0;
    }
    if (!probed) fuzz_fail("decoded a file the probe refused");
    check_image(&grey, 1, w, h, file_c);
    /* libjpeg refuses some chroma subsamplings only when it has to upsample
     * them for RGB ("Fractional sampling not implemented yet"): a clean
     * refusal is fine */
    if (tpl_image_read(path, 3, MAX_SIDE, &rgb, &err)) {
        fuzz_check_error(err.msg);
    } else {
        check_image(&rgb, 3, w, h, file_c);
        tpl_image_free(&rgb);
    }
    tpl_dataset d;
    if (tpl_image_load_dataset(path, 1, &d, &err)) fuzz_fail("as a data set: %s", err.msg);
    if (d.n != 1 || d.w != w || d.h != h || d.c != 1 || memcmp(d.pixels, grey.px, (size_t)w * h))
        fuzz_fail("the data set differs from the decoded picture");
    tpl_dataset_free(&d);
    tpl_image_free(&grey);
    if (tpl_image_sniff(path) == TPL_IMAGE_PNG) digit_sheet(path, w, h);
    return 0;
}
