/* Image files: PNG and JPEG decoded into 8-bit pixels, PNG written.
 *
 * Decoding goes through libpng's simplified API and libjpeg; both compose
 * transparency over black and convert to the channels asked for (1 grey, 3
 * RGB: grey is replicated, colour becomes grey the way each library does it).
 * Sizes are checked from the header, before any pixel is decoded, so a file
 * that claims a huge size costs nothing.  Errors read "PATH: problem". */
#ifndef TPL_IMAGE_H
#define TPL_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "templar.h"

typedef struct tpl_image {
    int w, h, c;  /* c: 1 or 3, as asked for */
    int file_c;   /* channels the file holds (1 grey, 3 colour; alpha not counted) */
    uint8_t *px;  /* [h][w][c] */
} tpl_image;

typedef enum { TPL_IMAGE_PNG, TPL_IMAGE_JPEG, TPL_IMAGE_UNKNOWN } tpl_image_format;

/* The format a file's first bytes announce (not its name); TPL_IMAGE_UNKNOWN
 * when it is neither or cannot be read. */
tpl_image_format tpl_image_sniff(const char *path);

/* Width, height and channels from the header alone. */
int tpl_image_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err);
/* Decodes a PNG or JPEG (found by its first bytes) into *out with channels
 * 1 or 3; refuses images wider or taller than max_side.  On failure *out is
 * zeroed. */
int tpl_image_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err);
void tpl_image_free(tpl_image *im);

/* The same from bytes in memory (an upload); what names them in messages. */
int tpl_image_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                     tpl_image *out, tpl_err *err);

/* The two decoders tpl_image_read dispatches to, and their in-memory forms. */
int tpl_png_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err);
int tpl_png_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err);
int tpl_jpeg_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err);
int tpl_jpeg_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err);
int tpl_png_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                   tpl_image *out, tpl_err *err);
int tpl_jpeg_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                    tpl_image *out, tpl_err *err);

/* Writes w x h pixels of c channels (1 or 3) as an 8-bit PNG, atomically
 * (see fileio.h). */
int tpl_png_write(const char *path, const uint8_t *px, int w, int h, int c, tpl_err *err);
/* The same written in place, without a temporary file or fsync: for the
 * many small files of a directory that is itself renamed into place once
 * complete.  A failed write removes the file. */
int tpl_png_write_plain(const char *path, const uint8_t *px, int w, int h, int c, tpl_err *err);

/* Any PNG or JPEG as a one-image dataset of the given channels (label 0,
 * 1 class), at its own size, at most TPL_IMAGE_MAX_SIDE a side. */
#define TPL_IMAGE_MAX_SIDE 8192
int tpl_image_load_dataset(const char *path, int channels, tpl_dataset *out, tpl_err *err);

/* A file as h x w x c pixels into out, the way training prepares images
 * (load.c; the public tpl_image_load is this for a model's input);
 * *changes (may be NULL): TPL_IMAGE_RESIZED | TPL_IMAGE_CONVERTED. */
int tpl_image_load_as(const char *path, int h, int w, int c, uint8_t *out, int *changes,
                      tpl_err *err);
/* The same for bytes in memory (an upload; what names them in messages),
 * refusing images larger than max_side a side; and for pixels already
 * decoded (im->c 1 or 3). */
int tpl_image_decode_as(const void *data, size_t len, const char *what, int max_side, int h,
                        int w, int c, uint8_t *out, int *changes, tpl_err *err);
int tpl_image_fit(const tpl_image *im, int h, int w, int c, uint8_t *out, int *changes,
                  tpl_err *err);
#endif
