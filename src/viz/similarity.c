/* Similarity of mixtures and the verdict on a block (see similarity.h). */
#include "similarity.h"

#include <math.h>

double tpl_js_similarity(const float *p, const float *q, int k) {
    double js = 0.0;
    for (int i = 0; i < k; i++) {
        const double m = 0.5 * ((double)p[i] + q[i]);
        /* 0 log 0 = 0; where p or q is positive, so is m */
        if (p[i] > 0) js += 0.5 * p[i] * log2(p[i] / m);
        if (q[i] > 0) js += 0.5 * q[i] * log2(q[i] / m);
    }
    /* rounding can step just outside [0, 1] */
    return js < 0.0 ? 1.0 : js > 1.0 ? 0.0 : 1.0 - js;
}

tpl_sharing tpl_sharing_of(double mean_similarity) {
    if (mean_similarity >= TPL_SHARED_MIN) return TPL_SHARED;
    if (mean_similarity < TPL_SPECIALISED_BELOW) return TPL_SPECIALISED;
    return TPL_PARTLY_SHARED;
}

const char *tpl_sharing_name(tpl_sharing v) {
    static const char *const name[TPL_N_SHARING] = {"shared", "partly shared", "specialised"};
    return (unsigned)v < TPL_N_SHARING ? name[v] : "?";
}
