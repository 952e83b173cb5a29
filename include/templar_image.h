/* templar-image: PNG and JPEG files as inputs of templar models (the
 * library libtemplar-image, pkg-config templar-image). */
#ifndef TEMPLAR_IMAGE_H
#define TEMPLAR_IMAGE_H
#include "templar.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
