/* An image file as a model input: the one conversion every reader of image
 * files shares (task sources, predict, the public tpl_image_load), so that a
 * picture gives a model the same pixels in training and in use. */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "templar_image.h"

/* Grey pixels of an image decoded as RGB: its first channel (libpng and
 * libjpeg replicate grey exactly). */
static void keep_first_channel(tpl_image *im) {
    const size_t n = (size_t)im->w * im->h;
    for (size_t i = 0; i < n; i++) im->px[i] = im->px[3 * i];
    im->c = 1;
}

/* Image im (its file's channels) into out as h x w x c: resized, then the
 * channels as tpl_dataset_to_channels gives them. */
static int convert(const tpl_image *im, int h, int w, int c, uint8_t *out, tpl_err *err) {
    const int resize = im->h != h || im->w != w;
    uint8_t *sized = resize ? malloc((size_t)h * w * im->c) : im->px;
    if (!sized || (resize && tpl_pixels_resize(im->px, im->h, im->w, im->c, sized, h, w))) {
        if (resize) free(sized);
        tpl_err_set(err, "out of memory resizing a %dx%d image", im->w, im->h);
        return -1;
    }
    int rc = 0;
    if (im->c == c) {
        memcpy(out, sized, (size_t)h * w * c);
    } else {
        uint8_t label = 0;
        tpl_dataset one = {1, h, w, im->c, 1, sized, &label}, conv;
        rc = tpl_dataset_to_channels(&one, c, &conv, err);
        if (!rc) memcpy(out, conv.pixels, (size_t)h * w * c);
        tpl_dataset_free(&conv);
    }
    if (resize) free(sized);
    return rc;
}

int tpl_image_fit(const tpl_image *im, int h, int w, int c, uint8_t *out, int *changes,
                  tpl_err *err) {
    if (changes)
        *changes = (im->h != h || im->w != w ? TPL_IMAGE_RESIZED : 0) |
                   (im->c != c ? TPL_IMAGE_CONVERTED : 0);
    return convert(im, h, w, c, out, err);
}

/* A decoded image (read as RGB) fitted: grey files keep their grey. */
static int fit_decoded(tpl_image *im, int h, int w, int c, uint8_t *out, int *changes,
                       tpl_err *err) {
    if (im->file_c == 1) keep_first_channel(im);
    int rc = tpl_image_fit(im, h, w, c, out, changes, err);
    tpl_image_free(im);
    return rc;
}

int tpl_image_load_as(const char *path, int h, int w, int c, uint8_t *out, int *changes,
                      tpl_err *err) {
    tpl_image im;
    if (tpl_image_read(path, 3, TPL_IMAGE_MAX_SIDE, &im, err)) return -1;
    return fit_decoded(&im, h, w, c, out, changes, err);
}

int tpl_image_decode_as(const void *data, size_t len, const char *what, int max_side, int h,
                        int w, int c, uint8_t *out, int *changes, tpl_err *err) {
    tpl_image im;
    if (tpl_image_decode(data, len, what, 3, max_side, &im, err)) return -1;
    return fit_decoded(&im, h, w, c, out, changes, err);
}

int tpl_image_load(const char *path, const tpl_config *cfg, uint8_t *pixels, int *changes,
                   tpl_err *err) {
    return tpl_image_load_as(path, cfg->in_height, cfg->in_width, cfg->in_channels, pixels,
                             changes, err);
}
