/* bfloat16 numbers: the upper 16 bits of an fp32 (same exponent range, 8
 * significant bits), what the bf16 convolutions read (conv.h).
 *
 * Rounding is to nearest, ties to even, as the CPU's VCVTNEPS2BF16 and
 * oneDNN's reorders do, so a value rounded here and one rounded by oneDNN
 * agree (but for denormals, which the instruction flushes to zero: they
 * never matter next to the activations' scale).  The functions are inline
 * so that the per-element loops of the BN kernels vectorise them. */
#ifndef TPL_BF16_H
#define TPL_BF16_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint16_t tpl_bf16;

static inline tpl_bf16 tpl_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (tpl_bf16)((u >> 16) | 0x40u); /* NaN stays NaN */
    return (tpl_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float tpl_bf16_widen(tpl_bf16 h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* out[i] = round(x[i]), n values. */
void tpl_bf16_from_f32(const float *x, tpl_bf16 *out, size_t n);
/* n planar images of c channels, h*w each ([N][C][HW], the model's input) into
 * bf16 NHWC ([N][HW][C]), the layout the bf16 stem reads. */
void tpl_bf16_from_planar(const float *x, int n, int c, int hw, tpl_bf16 *out);
#endif
