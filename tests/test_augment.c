/* Tests for the augmentation of batch.c beyond crop and flip: rotation and
 * zoom (one bilinear warp), colour jitter; that with them off every batch
 * and every draw is what it was before they existed; the order and count of
 * the draws; tpl_batch_fill_part's promise with them on. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "data.h"

enum { H = 7, W = 9, N = 6 };

static uint8_t pixels[N * H * W * 3], labels[N];

/* N images of H x W x c with seeded pixels, labels 0..N-1. */
static tpl_dataset images(int c, uint64_t seed) {
    tpl_rng r;
    tpl_rng_seed(&r, seed);
    for (int i = 0; i < N * H * W * c; i++) pixels[i] = (uint8_t)tpl_rng_below(&r, 256);
    for (int i = 0; i < N; i++) labels[i] = (uint8_t)i;
    return (tpl_dataset){N, H, W, c, N, pixels, labels};
}

static const float mean3[3] = {0.4f, 0.5f, 0.3f}, std3[3] = {0.2f, 0.25f, 0.3f};

/* Crop and flip as batch.c wrote them before rotation, zoom and jitter
 * existed (draws dy, dx, flip per image), for comparison. */
static void fill_before(const tpl_dataset *d, const int *idx, int n, int pad, int flip,
                        tpl_rng *rng, float *x) {
    const int h = d->h, w = d->w, C = d->c;
    for (int i = 0; i < n; i++) {
        int dy = 0, dx = 0, f = 0;
        if (pad > 0) {
            dy = (int)tpl_rng_below(rng, 2u * (uint32_t)pad + 1u) - pad;
            dx = (int)tpl_rng_below(rng, 2u * (uint32_t)pad + 1u) - pad;
        }
        if (flip) f = (int)tpl_rng_below(rng, 2);
        const uint8_t *src = d->pixels + (size_t)idx[i] * h * w * C;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                int sy = y + dy, sx = (f ? w - 1 - xx : xx) + dx;
                int in = sy >= 0 && sy < h && sx >= 0 && sx < w;
                for (int c = 0; c < C; c++) {
                    float v = in ? (float)src[((size_t)sy * w + sx) * C + c] / 255.0f : 0.0f;
                    x[(size_t)i * h * w * C + (size_t)c * h * w + (size_t)y * w + xx] =
                        (v - mean3[c]) / std3[c];
                }
            }
    }
}

static int same_rng(const tpl_rng *a, const tpl_rng *b) {
    return a->s[0] == b->s[0] && a->s[1] == b->s[1];
}

/* With rotation, zoom and jitter off: the very floats and draws of before. */
static void test_off_unchanged(void) {
    const int idx[8] = {0, 5, 2, 2, 4, 1, 3, 0};
    float got[8 * H * W * 3], want[8 * H * W * 3];
    int y[8];
    for (int c = 1; c <= 3; c += 2) {
        tpl_dataset d = images(c, 11);
        const int cases[4][2] = {{0, 0}, {2, 0}, {0, 1}, {1, 1}};
        for (int k = 0; k < 4; k++) {
            tpl_augment aug = {.pad = cases[k][0], .flip = cases[k][1]};
            tpl_rng a, b;
            tpl_rng_seed(&a, 77);
            b = a;
            tpl_batch_fill(&d, idx, 8, mean3, std3, &aug, &a, got, y);
            fill_before(&d, idx, 8, aug.pad, aug.flip, &b, want);
            CHECK_MSG(memcmp(got, want, sizeof(float) * 8 * H * W * c) == 0,
                      "c %d pad %d flip %d: not the batch of before", c, aug.pad, aug.flip);
            CHECK(same_rng(&a, &b));
        }
    }
}

/* Jitter on a grey set: the batch and the draws are those without it. */
static void test_jitter_grey_noop(void) {
    tpl_dataset d = images(1, 12);
    const int idx[4] = {3, 1, 4, 1};
    float a[4 * H * W], b[4 * H * W];
    tpl_augment with = {.pad = 1, .flip = 1, .jitter = 0.8f}, without = {.pad = 1, .flip = 1};
    tpl_rng ra, rb;
    tpl_rng_seed(&ra, 5);
    rb = ra;
    tpl_batch_fill(&d, idx, 4, mean3, std3, &with, &ra, a, NULL);
    tpl_batch_fill(&d, idx, 4, mean3, std3, &without, &rb, b, NULL);
    CHECK(memcmp(a, b, sizeof a) == 0 && same_rng(&ra, &rb));
}

/* A warp of (almost) no angle and zoom is the identity up to rounding; it
 * draws the angle, then the zoom. */
static void test_warp_identity(void) {
    tpl_dataset d = images(3, 13);
    const int idx[N] = {0, 1, 2, 3, 4, 5};
    float warped[N * H * W * 3], plain[N * H * W * 3];
    tpl_augment tiny = {.rotate_deg = 1e-4f, .scale = 1e-6f};
    tpl_rng r, counted;
    tpl_rng_seed(&r, 8);
    counted = r;
    tpl_batch_fill(&d, idx, N, mean3, std3, &tiny, &r, warped, NULL);
    tpl_batch_fill(&d, idx, N, mean3, std3, NULL, NULL, plain, NULL);
    float worst = 0.0f;
    for (int i = 0; i < N * H * W * 3; i++) worst = fmaxf(worst, fabsf(warped[i] - plain[i]));
    CHECK_MSG(worst < 1e-4f, "a warp of 1e-4 degrees moved a pixel by %g", worst);
    for (int i = 0; i < 2 * N; i++) tpl_rng_uniform(&counted);
    CHECK(same_rng(&r, &counted)); /* two draws an image */
}

/* A 9x9 grey image with a horizontal bar through its centre row. */
static uint8_t bar[81];
static tpl_dataset bar_image(void) {
    static uint8_t label = 0;
    memset(bar, 0, sizeof bar);
    memset(bar + 4 * 9, 255, 9);
    return (tpl_dataset){1, 9, 9, 1, 1, bar, &label};
}

/* A rotated bar keeps its centre pixel and, turned far enough, leaves its
 * ends and lights pixels off its row.  The angles are drawn again from a
 * copy of the rng to know them. */
static void test_rotated_bar(void) {
    tpl_dataset d = bar_image();
    const float zero = 0.0f, one = 1.0f;
    tpl_augment aug = {.rotate_deg = 45.0f};
    tpl_rng r, angles;
    tpl_rng_seed(&r, 21);
    angles = r;
    int far = 0;
    for (int t = 0; t < 40; t++) {
        float x[81];
        const int idx = 0;
        tpl_batch_fill(&d, &idx, 1, &zero, &one, &aug, &r, x, NULL);
        float deg = (2.0f * tpl_rng_uniform(&angles) - 1.0f) * 45.0f;
        CHECK_MSG(x[4 * 9 + 4] == 1.0f, "angle %g: centre %g", deg, x[4 * 9 + 4]);
        if (fabsf(deg) < 20.0f) continue;
        far++;
        float off_row = 0.0f;
        for (int i = 0; i < 81; i++)
            if (i / 9 != 4) off_row = fmaxf(off_row, x[i]);
        CHECK_MSG(x[4 * 9 + 0] < 0.5f && x[4 * 9 + 8] < 0.5f && off_row > 0.5f,
                  "angle %g: ends %g %g, off the row %g", deg, x[36], x[44], off_row);
    }
    CHECK(far > 5);
    /* zoom alone: the centre row stays the bar where it samples inside */
    tpl_augment zoom = {.scale = 0.5f};
    for (int t = 0; t < 10; t++) {
        float x[81];
        const int idx = 0;
        tpl_batch_fill(&d, &idx, 1, &zero, &one, &zoom, &r, x, NULL);
        CHECK(x[4 * 9 + 4] == 1.0f && fabsf(x[4 * 9 + 3] - 1.0f) < 1e-6f && x[0] == 0.0f);
    }
}

/* Jitter keeps RGB values in [0, 1] before normalisation, leaves the crop's
 * black fill black and changes the image. */
static void test_jitter_range(void) {
    tpl_dataset d = images(3, 14);
    const int idx[N] = {0, 1, 2, 3, 4, 5};
    float x[N * H * W * 3], plain[N * H * W * 3];
    tpl_augment aug = {.pad = 2, .jitter = 1.0f};
    tpl_rng r;
    tpl_rng_seed(&r, 3);
    int changed = 0;
    for (int t = 0; t < 30; t++) {
        tpl_batch_fill(&d, idx, N, mean3, std3, &aug, &r, x, NULL);
        tpl_batch_fill(&d, idx, N, mean3, std3, NULL, NULL, plain, NULL);
        float lo = 1.0f, hi = 0.0f;
        for (int i = 0; i < N * H * W * 3; i++) {
            int c = i / (H * W) % 3;
            float v = x[i] * std3[c] + mean3[c];
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
            changed += fabsf(x[i] - plain[i]) > 0.05f;
        }
        CHECK_MSG(lo >= -1e-6f && hi <= 1.0f + 1e-6f, "jittered values in [%g, %g]", lo, hi);
    }
    CHECK(changed > 1000);
    /* a grey RGB image: contrast and saturation keep it, brightness scales it */
    uint8_t px[H * W * 3], label = 0;
    memset(px, 100, sizeof px);
    tpl_dataset g = {1, H, W, 3, 1, px, &label};
    tpl_augment bright = {.jitter = 0.5f};
    tpl_rng a, b;
    tpl_rng_seed(&a, 4);
    b = a;
    const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    const int i0 = 0;
    tpl_batch_fill(&g, &i0, 1, zero, one, &bright, &a, x, NULL);
    float want = 100.0f / 255.0f * (1.0f + (2.0f * tpl_rng_uniform(&b) - 1.0f) * 0.5f);
    tpl_rng_uniform(&b);
    tpl_rng_uniform(&b);
    CHECK(same_rng(&a, &b)); /* brightness, contrast, saturation */
    for (int i = 0; i < H * W * 3; i++)
        CHECK_MSG(fabsf(x[i] - want) < 1e-5f, "pixel %d: %g, want %g", i, x[i], want);
}

/* Everything on: two shares fill what one process fills, drawing as much;
 * a seed repeats exactly and another seed differs. */
static void test_parts_and_seeds(void) {
    tpl_dataset d = images(3, 15);
    const int idx[10] = {5, 4, 3, 2, 1, 0, 1, 2, 3, 4}, per = H * W * 3;
    tpl_augment aug = {.pad = 1, .flip = 1, .rotate_deg = 15.0f, .scale = 0.2f, .jitter = 0.4f};
    float whole[10 * H * W * 3], part[10 * H * W * 3], again[10 * H * W * 3];
    int y_whole[10], y_part[10];
    tpl_rng a, b, c;
    tpl_rng_seed(&a, 9);
    tpl_batch_fill(&d, idx, 10, mean3, std3, &aug, &a, whole, y_whole);
    for (int first = 0; first < 10; first += 6) { /* shares of 6 and 4 */
        tpl_rng_seed(&b, 9);
        int count = first ? 4 : 6;
        tpl_batch_fill_part(&d, idx, 10, first, count, mean3, std3, &aug, &b,
                            part + first * per, y_part + first);
        CHECK(same_rng(&a, &b));
    }
    CHECK(memcmp(whole, part, sizeof whole) == 0 && memcmp(y_whole, y_part, sizeof y_whole) == 0);
    tpl_rng_seed(&c, 9);
    tpl_batch_fill(&d, idx, 10, mean3, std3, &aug, &c, again, NULL);
    CHECK(memcmp(whole, again, sizeof whole) == 0);
    tpl_rng_seed(&c, 10);
    tpl_batch_fill(&d, idx, 10, mean3, std3, &aug, &c, again, NULL);
    CHECK(memcmp(whole, again, sizeof whole) != 0);
}

int main(void) {
    test_off_unchanged();
    test_jitter_grey_noop();
    test_warp_identity();
    test_rotated_bar();
    test_jitter_range();
    test_parts_and_seeds();
    return check_summary("test_augment");
}
