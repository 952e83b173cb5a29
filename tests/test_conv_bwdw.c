/* The bf16 3x3 weight gradient of amx_bwdw.c (what a bf16 plan's
 * tpl_conv_backward_weights_bf16 runs where the CPU has AMX, for images up
 * to 16x16), called directly and through a plan, against oneDNN's
 * backward-weights primitive (the same plan built with
 * TEMPLAR_NO_AMX_BWDW), on random data: the model's shapes, batch 1, odd
 * channel counts (not whole tiles), non-square images, one channel, and a
 * grid longer than one thread's chunk.  Both sum the same products of the
 * same bf16 values in fp32, in another order, so they agree to TOL of the
 * sum of the products' magnitudes.  Also: the plan says which kernel it
 * runs (oneDNN's for 28x28 images), a second call gives the same result (the workspace's pads stay
 * zero), and every weight is written.
 *
 * Exits 77 (skipped) where the CPU has no AMX. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amx_bwdw.h"
#include "bf16.h"
#include "check.h"
#include "conv.h"
#include "rng.h"

#define TOL 2e-6

typedef struct shape {
    int n, cin, cout, h, w;
} shape;

static tpl_rng rng;

static tpl_bf16 *random_bf16(size_t count) {
    tpl_bf16 *v = malloc(sizeof(tpl_bf16) * count);
    for (size_t i = 0; i < count; i++) v[i] = tpl_bf16_round(tpl_rng_normal(&rng));
    return v;
}

/* The weight gradient of a bf16 plan (oneDNN's kernel, or the one the
 * plan picks when amx), or of amx_bwdw.c called directly (direct); NULL
 * (and a failed check) when the plan cannot be built. */
static float *weight_gradient(tpl_engine *e, shape s, int amx, int direct, const tpl_bf16 *x,
                              const tpl_bf16 *dy, int calls) {
    const size_t wc = (size_t)s.cout * s.cin * 9;
    float *dw = malloc(sizeof(float) * wc);
    if (direct) {
        tpl_amx_bwdw *b = tpl_amx_bwdw_create(s.n, s.cin, s.cout, s.h, s.w);
        CHECK(b != NULL);
        for (int c = 0; b && c < calls; c++) {
            for (size_t i = 0; i < wc; i++) dw[i] = NAN; /* every weight must be written */
            tpl_amx_bwdw_run(b, x, dy, dw);
        }
        tpl_amx_bwdw_free(b);
        return dw;
    }
    if (amx) unsetenv("TEMPLAR_NO_AMX_BWDW");
    else setenv("TEMPLAR_NO_AMX_BWDW", "1", 1);
    tpl_err err = {{0}};
    tpl_conv_plan *p =
        tpl_conv_plan_create_as(e, TPL_PRECISION_BF16, s.cin, s.cout, 3, 1, s.h, s.w, s.cin, s.cout);
    int ok = p && tpl_conv_plan_prepare(p, s.n, 1, &err) == 0;
    CHECK_MSG(ok, "no bf16 plan for %d->%d %dx%d batch %d: %s", s.cin, s.cout, s.h, s.w, s.n,
              err.msg);
    if (ok) {
        /* the plan takes amx_bwdw.c for images up to 16x16 (conv.c) */
        const int want = amx && s.h <= 16 && s.w <= 16;
        const char *impl = tpl_conv_impl_of(p, 2);
        CHECK_MSG((strcmp(impl, "templar:amx_bwdw") == 0) == want, "kernel %s for %dx%d (amx %d)",
                  impl, s.h, s.w, amx);
    }
    for (int c = 0; ok && c < calls; c++) {
        for (size_t i = 0; i < wc; i++) dw[i] = NAN;
        ok = tpl_conv_backward_weights_bf16(p, x, dy, dw, &err) == 0;
        CHECK_MSG(ok, "backward-weights: %s", err.msg);
    }
    tpl_conv_plan_free(p);
    unsetenv("TEMPLAR_NO_AMX_BWDW");
    if (!ok) {
        free(dw);
        return NULL;
    }
    return dw;
}

/* sum over the batch and pixels of |dy| |x| for each weight: the scale of
 * the rounding differences of an fp32 sum in another order */
static float *magnitudes(shape s, const tpl_bf16 *x, const tpl_bf16 *dy) {
    float *m = calloc((size_t)s.cout * s.cin * 9, sizeof(float));
    for (int i = 0; i < s.n; i++)
        for (int r = 0; r < s.h; r++)
            for (int c = 0; c < s.w; c++)
                for (int t = 0; t < 9; t++) {
                    const int rr = r + t / 3 - 1, cc = c + t % 3 - 1;
                    if (rr < 0 || rr >= s.h || cc < 0 || cc >= s.w) continue;
                    const tpl_bf16 *d = dy + (((size_t)i * s.h + r) * s.w + c) * s.cout,
                                   *xs = x + (((size_t)i * s.h + rr) * s.w + cc) * s.cin;
                    for (int o = 0; o < s.cout; o++)
                        for (int k = 0; k < s.cin; k++)
                            m[((size_t)o * s.cin + k) * 9 + t] +=
                                fabsf(tpl_bf16_widen(d[o]) * tpl_bf16_widen(xs[k]));
                }
    return m;
}

static void compare(shape s, const tpl_bf16 *x, const tpl_bf16 *dy, const float *ref,
                    const float *got, const char *what) {
    const size_t wc = (size_t)s.cout * s.cin * 9;
    if (ref && got) {
        float *mag = magnitudes(s, x, dy);
        double worst = 0;
        size_t bad = 0;
        for (size_t i = 0; i < wc; i++) {
            const double d = fabs((double)got[i] - ref[i]), allowed = TOL * mag[i] + 1e-30;
            if (!(d <= allowed)) bad++;
            if (d / allowed > worst) worst = d / allowed;
        }
        CHECK_MSG(bad == 0, "%s, %d->%d %dx%d batch %d: %zu of %zu weights off (worst %.2g of "
                  "the allowed)", what, s.cin, s.cout, s.h, s.w, s.n, bad, wc, worst);
        printf("%3d -> %3d channels, %2dx%-2d, batch %2d, %-10s: worst difference %.3f of the "
               "allowed\n", s.cin, s.cout, s.h, s.w, s.n, what, worst);
        free(mag);
    }
}

int main(void) {
    if (!tpl_amx_bwdw_available()) {
        printf("SKIPPED: no AMX on this CPU (or oneDNN held below it)\n");
        return 77;
    }
    tpl_rng_seed(&rng, 7);
    tpl_err err = {{0}};
    tpl_engine *e = tpl_engine_create(&err);
    CHECK_MSG(e != NULL, "%s", err.msg);
    if (!e) return check_summary("test_conv_bwdw");
    const shape shapes[] = {
        {64, 64, 64, 14, 14}, /* the reference model's blocks (grid longer than a chunk) */
        {64, 32, 32, 14, 14}, /* the small model's */
        {1, 64, 64, 14, 14},  /* batch 1 */
        {3, 5, 19, 7, 9},     /* odd channels, not whole tiles; h != w */
        {2, 48, 40, 9, 6},    /* one and a half tiles of input channels */
        {5, 1, 16, 8, 8},     /* one input channel */
        {1, 17, 33, 1, 3},    /* one row */
        {4, 16, 16, 28, 28},  /* larger images, wider grid rows (the plan: oneDNN's) */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape s = shapes[i];
        tpl_bf16 *x = random_bf16((size_t)s.n * s.h * s.w * s.cin),
                 *dy = random_bf16((size_t)s.n * s.h * s.w * s.cout);
        float *ref = weight_gradient(e, s, 0, 0, x, dy, 1);
        for (int direct = 0; direct < 2; direct++) {
            float *got = weight_gradient(e, s, 1, direct, x, dy, 2);
            compare(s, x, dy, ref, got, direct ? "amx_bwdw.c" : "the plan");
            free(got);
        }
        free(x), free(dy), free(ref);
    }
    tpl_engine_free(e);
    return check_summary("test_conv_bwdw");
}
