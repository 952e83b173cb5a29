#include "bank.h"

#include <math.h>

#include "ops.h"

/* Dot products are cut into fixed chunks and summed in chunk order, so the
 * result is the same for any number of threads. */
#define CHUNK 4096

int tpl_route_learned(tpl_routing kind) {
    return kind != TPL_ROUTE_FIXED_ONEHOT && kind != TPL_ROUTE_FIXED;
}

/* Keeps the `keep` largest entries of soft (ties: the lower index), the
 * rest zero, renormalised, in a. */
static void top_k(int k, int keep, const float *score, const float *soft, float *a) {
    double sum = 0.0;
    for (int i = 0; i < k; i++) {
        int above = 0; /* entries ranked before i */
        for (int j = 0; j < k; j++)
            above += score[j] > score[i] || (score[j] == score[i] && j < i);
        a[i] = above < keep ? soft[i] : 0.0f;
        sum += a[i];
    }
    for (int i = 0; i < k; i++) a[i] = (float)(a[i] / sum);
}

void tpl_route_forward(const tpl_route *r, int k, int layer, const float *z,
                       const float *noise, float *a, float *soft) {
    double sum = 0.0;
    switch (r->kind) {
    case TPL_ROUTE_FIXED_ONEHOT:
        for (int i = 0; i < k; i++) a[i] = soft[i] = i == layer % k ? 1.0f : 0.0f;
        return;
    case TPL_ROUTE_FIXED:
        for (int i = 0; i < k; i++) sum += z[i] > 0.0f ? z[i] : 0.0f;
        for (int i = 0; i < k; i++)
            a[i] = soft[i] = sum > 0.0 ? (float)((z[i] > 0.0f ? z[i] : 0.0f) / sum) : 1.0f / k;
        return;
    case TPL_ROUTE_TOPK:
    case TPL_ROUTE_GUMBEL: {
        float zn[TPL_MAX_TEMPLATES] = {0};
        for (int i = 0; i < k; i++)
            zn[i] = z[i] + (noise && r->kind == TPL_ROUTE_GUMBEL ? noise[i] : 0.0f);
        tpl_softmax_forward(k, r->tau, zn, soft);
        top_k(k, r->topk, zn, soft, a);
        return;
    }
    default:
        tpl_softmax_forward(k, r->tau, z, soft);
        for (int i = 0; i < k; i++) a[i] = soft[i];
    }
}

void tpl_route_backward(const tpl_route *r, int k, const float *soft,
                        const float *da, float *dz) {
    if (!tpl_route_learned(r->kind)) {
        for (int i = 0; i < k; i++) dz[i] = 0.0f;
        return;
    }
    tpl_softmax_backward(k, r->tau, soft, da, dz);
}

double tpl_entropy_forward_backward(int k, const float *a, float *da) {
    double h = 0.0;
    for (int i = 0; i < k; i++) {
        /* the limit of -a log a at 0 is 0; its slope there is unbounded, so
         * a weight that is exactly 0 gets the slope of a tiny one */
        double ai = a[i] > 1e-30f ? a[i] : 1e-30;
        if (a[i] > 0.0f) h -= a[i] * log(ai);
        if (da) da[i] = (float)(-log(ai) - 1.0);
    }
    return h;
}

void tpl_mix_forward(int k, size_t p, const float *bank, const float *a,
                     float *w) {
#pragma omp parallel for schedule(static)
    for (size_t c0 = 0; c0 < p; c0 += CHUNK) {
        size_t c1 = c0 + CHUNK < p ? c0 + CHUNK : p;
        for (size_t i = c0; i < c1; i++) w[i] = 0.0f;
        for (int t = 0; t < k; t++) {
            if (a[t] == 0.0f) continue; /* top-k routing: unread */
            const float *b = bank + (size_t)t * p;
            for (size_t i = c0; i < c1; i++) w[i] += a[t] * b[i];
        }
    }
}

void tpl_mix_backward(int k, size_t p, const float *bank, const float *a,
                      const float *dw, float *dbank, float *da) {
    const size_t chunks = (p + CHUNK - 1) / CHUNK;
    double part[k][chunks > 0 ? chunks : 1];
#pragma omp parallel for schedule(static) collapse(2)
    for (int t = 0; t < k; t++)
        for (size_t c = 0; c < chunks; c++) {
            const float *b = bank + (size_t)t * p;
            float *db = dbank + (size_t)t * p;
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
