/* The small-batch Winograd F(4x4, 3x3) convolution (src/winograd.c) against
 * a direct convolution in double precision, with its fused eval BN, skip and
 * ReLU; on shapes that exercise partial tiles at the right and bottom edges,
 * several images, and output channels that are not a multiple of 32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "winograd.h"

static float *random_floats(tpl_rng *r, size_t n, float scale, float offset) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) p[i] = offset + scale * tpl_rng_normal(r);
    return p;
}

/* act(bn(conv3x3(x))) [+ skip] computed directly, in double. */
static double direct(tpl_shape xs, tpl_shape ys, const float *x, const float *w,
                     const tpl_bn_args *bn, int n, int o, int y, int xx) {
    double acc = 0.0;
    for (int i = 0; i < xs.c; i++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                const int sy = y + ky - 1, sx = xx + kx - 1;
                if (sy < 0 || sy >= xs.h || sx < 0 || sx >= xs.w) continue;
                acc += (double)w[((o * xs.c + i) * 3 + ky) * 3 + kx] *
                       x[tpl_shape_index(xs, n, i, sy * xs.w + sx)];
            }
    const double scale = bn->gamma[o] / sqrt((double)bn->running_var[o] + bn->eps);
    double v = acc * scale + bn->beta[o] - bn->running_mean[o] * scale;
    if (bn->skip) v += bn->skip[tpl_shape_index(ys, n, o, y * ys.w + xx)];
    return bn->relu && v < 0.0 ? 0.0 : v;
}

static void check_conv(int n, int cin, int cout, int h, int w, int relu, int skip) {
    tpl_rng r;
    tpl_rng_seed(&r, (uint64_t)(n * 1000 + cin * 10 + h));
    const tpl_shape xs = {n, cin, h, w, TPL_WINO_CHANNEL_BLOCK};
    const tpl_shape ys = {n, cout, h, w, TPL_WINO_CHANNEL_BLOCK};
    float *x = random_floats(&r, tpl_shape_numel(xs), 1.0f, 0.0f);
    float *wt = random_floats(&r, (size_t)cout * cin * 9, 0.1f, 0.0f);
    float *gamma = random_floats(&r, cout, 0.2f, 1.0f), *beta = random_floats(&r, cout, 0.1f, 0.0f);
    float *mean = random_floats(&r, cout, 0.1f, 0.0f), *var = random_floats(&r, cout, 0.1f, 1.0f);
    float *sk = skip ? random_floats(&r, tpl_shape_numel(ys), 1.0f, 0.0f) : NULL;
    const tpl_bn_args bn = {.shape = ys, .gamma = gamma, .beta = beta, .running_mean = mean,
                            .running_var = var, .eps = 1e-5f, .relu = relu, .skip = sk};
    float *u = aligned_alloc(64, tpl_wino_weight_count(cin, cout) * sizeof(float));
    float *scratch = aligned_alloc(64, tpl_wino_scratch_count(xs, cout) * sizeof(float));
    float *y = malloc(tpl_shape_numel(ys) * sizeof(float));
    tpl_wino_weights(cin, cout, wt, u);
    tpl_wino_forward(xs, u, &bn, x, y, scratch);
    double worst = 0.0, biggest = 0.0;
    int zeros = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < cout; o++)
            for (int p = 0; p < h * w; p++) {
                const double ref = direct(xs, ys, x, wt, &bn, i, o, p / w, p % w);
                const float got = y[tpl_shape_index(ys, i, o, p)];
                worst = fmax(worst, fabs(got - ref));
                biggest = fmax(biggest, fabs(ref));
                zeros += got == 0.0f;
            }
    CHECK_MSG(worst <= 1e-5 * fmax(1.0, biggest),
              "n %d, %d -> %d channels, %dx%d: off by %g (largest output %g)", n, cin, cout, h,
              w, worst, biggest);
    CHECK_MSG(!relu || zeros > 0, "ReLU clipped nothing");
    free(x), free(wt), free(gamma), free(beta), free(mean), free(var), free(sk);
    free(u), free(scratch), free(y);
}

int main(void) {
    check_conv(1, 64, 64, 14, 14, 1, 1); /* a reference-model block conv */
    check_conv(3, 32, 48, 7, 9, 1, 0);   /* partial tiles; 48 = 32 + 16 channels */
    check_conv(2, 16, 16, 5, 5, 0, 1);
    check_conv(1, 16, 32, 1, 3, 0, 0);   /* smaller than one tile */
    return check_summary("test_winograd");
}
