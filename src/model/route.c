/* Routing rules: a block's mixture weights from its logits (see route.h). */
#include "route.h"

#include <math.h>

#include "ops.h"

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
