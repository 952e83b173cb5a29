/* Image files by their first bytes (see image.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

tpl_image_format tpl_image_sniff(const char *path) {
    unsigned char b[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got == 8 && !memcmp(b, png, 8)) return TPL_IMAGE_PNG;
    if (got >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return TPL_IMAGE_JPEG;
    return TPL_IMAGE_UNKNOWN;
}

/* A file that is neither: says why in one line (missing, or what it is not). */
static int unknown(const char *path, tpl_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) tpl_err_set(err, "%s: %s", path, strerror(errno));
    else tpl_err_set(err, "%s: not a PNG or JPEG file", path);
    if (f) fclose(f);
    return -1;
}

int tpl_image_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err) {
    switch (tpl_image_sniff(path)) {
    case TPL_IMAGE_PNG: return tpl_png_probe(path, w, h, file_c, err);
    case TPL_IMAGE_JPEG: return tpl_jpeg_probe(path, w, h, file_c, err);
    default: return unknown(path, err);
    }
}

int tpl_image_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    switch (tpl_image_sniff(path)) {
    case TPL_IMAGE_PNG: return tpl_png_read(path, channels, max_side, out, err);
    case TPL_IMAGE_JPEG: return tpl_jpeg_read(path, channels, max_side, out, err);
    default: return unknown(path, err);
    }
}

void tpl_image_free(tpl_image *im) {
    if (!im) return;
    free(im->px);
    memset(im, 0, sizeof *im);
}

int tpl_image_load_dataset(const char *path, int channels, tpl_dataset *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    tpl_image im;
    if (tpl_image_read(path, channels, TPL_IMAGE_MAX_SIDE, &im, err)) return -1;
    int rc = tpl_dataset_alloc(out, 1, im.h, im.w, channels, 1);
    if (rc) tpl_err_set(err, "%s: out of memory", path);
    else {
        memcpy(out->pixels, im.px, (size_t)im.w * im.h * channels);
        out->labels[0] = 0;
    }
    tpl_image_free(&im);
    return rc;
}

int tpl_image_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                     tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char *b = data;
    if (len >= 8 && !memcmp(b, png, 8))
        return tpl_png_decode(data, len, what, channels, max_side, out, err);
    if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return tpl_jpeg_decode(data, len, what, channels, max_side, out, err);
    tpl_err_set(err, "%s: not a PNG or JPEG image", what);
    return -1;
}
