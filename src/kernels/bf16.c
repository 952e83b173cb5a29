/* bfloat16 conversions over arrays: see bf16.h. */
#include "bf16.h"

void tpl_bf16_from_f32(const float *restrict x, tpl_bf16 *restrict out, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = tpl_bf16_round(x[i]);
}

void tpl_bf16_from_planar(const float *restrict x, int n, int c, int hw,
                          tpl_bf16 *restrict out) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * c * hw;
        tpl_bf16 *oi = out + (size_t)i * c * hw;
        for (int p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) oi[(size_t)p * c + ch] = tpl_bf16_round(xi[(size_t)ch * hw + p]);
    }
}
