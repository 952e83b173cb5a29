/* templar-image: PNG and JPEG files as inputs of templar models (the
 * library libtemplar-image, pkg-config templar-image). */
#ifndef TEMPLAR_IMAGE_H
#define TEMPLAR_IMAGE_H
#include "templar.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What tpl_image_load did to fit an image to a model (a bit set). */
enum { TPL_IMAGE_RESIZED = 1, TPL_IMAGE_CONVERTED = 2 /* grey <-> RGB */ };

/* Reads a PNG or JPEG file (told apart by its first bytes, not its name)
 * as model cfg's input: in_height x in_width x in_channels uint8 pixels,
 * NHWC, into pixels.  Images of another size are resized (an area filter
 * when shrinking, bilinear when growing), colour and grey converted (grey
 * replicated; colour to grey by Rec. 601 luma), exactly as templar's folder
 * and CSV sources prepare training images.  *changes (may be NULL) says
 * which happened.  Returns 0, or -1 with a one-line err naming the file. */
int tpl_image_load(const char *path, const tpl_config *cfg, uint8_t *pixels, int *changes,
                   tpl_err *err);

#ifdef __cplusplus
}
#endif
#endif
