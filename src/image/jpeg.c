/* JPEG through libjpeg (see image.h).  libjpeg reports errors by calling
 * error_exit, which must not return: it jumps back with the message kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image.h"

typedef struct jpeg_job {
    struct jpeg_decompress_struct ci; /* first member: error_exit finds the job from it */
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

static void jpeg_fail(j_common_ptr ci) {
    jpeg_job *j = (jpeg_job *)ci;
    (*ci->err->format_message)(ci, j->msg);
    longjmp(j->jump, 1);
}

static void jpeg_quiet(j_common_ptr ci) { (void)ci; } /* warnings: recoverable, unprinted */

/* Reads the header; with out, decodes into it too (channels, max_side).
 * Every state it changes lives behind pointers, so the longjmp leaves
 * nothing indeterminate. */
static int jpeg_run(jpeg_job *j, FILE *f, const uint8_t *mem, size_t len, int channels,
                    int max_side, tpl_image *out) {
    if (setjmp(j->jump)) return -1;
    jpeg_create_decompress(&j->ci);
    if (f) jpeg_stdio_src(&j->ci, f);
    else jpeg_mem_src(&j->ci, mem, (unsigned long)len);
    jpeg_read_header(&j->ci, TRUE);
    out->w = (int)j->ci.image_width;
    out->h = (int)j->ci.image_height;
    out->file_c = j->ci.num_components == 1 ? 1 : 3;
    if (!channels) return 0; /* a probe */
    if (j->ci.image_width > (unsigned)max_side || j->ci.image_height > (unsigned)max_side) {
        snprintf(j->msg, sizeof j->msg, "%ux%u is larger than %dx%d", j->ci.image_width,
                 j->ci.image_height, max_side, max_side);
        return -1;
    }
    j->ci.out_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    j->ci.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&j->ci);
    const size_t row = (size_t)j->ci.output_width * (size_t)channels;
    if (j->ci.output_components != channels || !(out->px = malloc(row * j->ci.output_height))) {
        snprintf(j->msg, sizeof j->msg, "out of memory or not %d channels", channels);
        return -1;
    }
    out->w = (int)j->ci.output_width;
    out->h = (int)j->ci.output_height;
    out->c = channels;
    while (j->ci.output_scanline < j->ci.output_height) {
        JSAMPROW r = out->px + row * j->ci.output_scanline;
        jpeg_read_scanlines(&j->ci, &r, 1);
    }
    jpeg_finish_decompress(&j->ci);
    return 0;
}

/* Decodes from f, or from mem[0..len) when f is NULL; path names it. */
static int jpeg_decode(const char *path, FILE *f, const uint8_t *mem, size_t len, int channels,
                       int max_side, tpl_image *out, tpl_err *err) {
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j) {
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    j->ci.err = jpeg_std_error(&j->mgr);
    j->mgr.error_exit = jpeg_fail;
    j->mgr.output_message = jpeg_quiet;
    int rc = jpeg_run(j, f, mem, len, channels, max_side, out);
    jpeg_destroy_decompress(&j->ci);
    if (rc) {
        tpl_err_set(err, "%s: cannot decode JPEG: %s", path, j->msg);
        free(out->px);
        memset(out, 0, sizeof *out);
    }
    free(j);
    return rc;
}

static int jpeg_do(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        tpl_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = jpeg_decode(path, f, NULL, 0, channels, max_side, out, err);
    fclose(f);
    return rc;
}

int tpl_jpeg_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                    tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    return jpeg_decode(what, NULL, data, len, channels, max_side, out, err);
}

int tpl_jpeg_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err) {
    tpl_image im;
    if (jpeg_do(path, 0, 0, &im, err)) return -1;
    *w = im.w, *h = im.h, *file_c = im.file_c;
    return 0;
}

int tpl_jpeg_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err) {
    return jpeg_do(path, channels, max_side, out, err);
}
