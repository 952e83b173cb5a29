/* The template mix and its backward (see mix.h). */
#include "mix.h"

/* Dot products are cut into fixed chunks and summed in chunk order, so the
 * result is the same for any number of threads. */
#define CHUNK 4096

void tpl_mix_forward(int k, size_t p, size_t stride, const float *bank, const float *a,
                     float *w) {
#pragma omp parallel for schedule(static)
    for (size_t c0 = 0; c0 < p; c0 += CHUNK) {
        size_t c1 = c0 + CHUNK < p ? c0 + CHUNK : p;
        for (size_t i = c0; i < c1; i++) w[i] = 0.0f;
        for (int t = 0; t < k; t++) {
            if (a[t] == 0.0f) continue; /* top-k routing: unread */
            const float *b = bank + (size_t)t * stride;
            for (size_t i = c0; i < c1; i++) w[i] += a[t] * b[i];
        }
    }
}

void tpl_mix_backward(int k, size_t p, size_t stride, const float *bank, const float *a,
                      const float *dw, float *dbank, float *da) {
    const size_t chunks = (p + CHUNK - 1) / CHUNK;
    double part[k][chunks > 0 ? chunks : 1];
#pragma omp parallel for schedule(static) collapse(2)
    for (int t = 0; t < k; t++)
        for (size_t c = 0; c < chunks; c++) {
            const float *b = bank + (size_t)t * stride;
            float *db = dbank + (size_t)t * stride;
            size_t i0 = c * CHUNK, i1 = i0 + CHUNK < p ? i0 + CHUNK : p;
            float dot = 0.0f;
            for (size_t i = i0; i < i1; i++) {
                dot += b[i] * dw[i];
                db[i] += a[t] * dw[i];
            }
            part[t][c] = dot;
        }
    if (!da) return;
    for (int t = 0; t < k; t++) {
        double s = 0.0;
        for (size_t c = 0; c < chunks; c++) s += part[t][c];
        da[t] = (float)s;
    }
}
