/* Byte datasets into normalised, optionally augmented float batches. */
#include "data.h"

#include <math.h>

/* One image's random choices, drawn in the order data.h gives. */
typedef struct aug_draw {
    int dy, dx, flip;
    int warp;                  /* rotation or zoom asked for */
    float cos_z, sin_z;        /* cos and sin of the angle over the zoom: the inverse map */
    int jitter;                /* colour jitter asked for and the image is RGB */
    float bright, contrast, satur;
} aug_draw;

/* Uniform in [-r, r]. */
static float uniform_pm(tpl_rng *rng, float r) {
    return (2.0f * tpl_rng_uniform(rng) - 1.0f) * r;
}

static aug_draw draw_aug(const tpl_augment *aug, int channels, tpl_rng *rng) {
    aug_draw a = {.cos_z = 1.0f, .bright = 1.0f, .contrast = 1.0f, .satur = 1.0f};
    if (!aug) return a;
    if (aug->pad > 0) {
        uint32_t span = 2u * (uint32_t)aug->pad + 1u;
        a.dy = (int)tpl_rng_below(rng, span) - aug->pad;
        a.dx = (int)tpl_rng_below(rng, span) - aug->pad;
    }
    if (aug->flip) a.flip = (int)tpl_rng_below(rng, 2);
    a.warp = aug->rotate_deg > 0 || aug->scale > 0;
    if (a.warp) {
        float angle = 0.0f, zoom = 1.0f;
        if (aug->rotate_deg > 0) angle = uniform_pm(rng, aug->rotate_deg) * (3.14159265f / 180.0f);
        if (aug->scale > 0) zoom = 1.0f + uniform_pm(rng, aug->scale);
        a.cos_z = cosf(angle) / zoom;
        a.sin_z = sinf(angle) / zoom;
    }
    a.jitter = aug->jitter > 0 && channels == 3; /* grey images: nothing drawn */
    if (a.jitter) {
        a.bright = 1.0f + uniform_pm(rng, aug->jitter);
        a.contrast = 1.0f + uniform_pm(rng, aug->jitter);
        a.satur = 1.0f + uniform_pm(rng, aug->jitter);
    }
    return a;
}

/* ---- the pixels of one image ------------------------------------------- */

/* One source image and its draws, with what the jitter needs of it. */
typedef struct image_ref {
    const uint8_t *px;         /* h x w x c */
    int h, w, c;
    const aug_draw *a;
    float grey_mean;           /* brightness times the mean luma (jitter only) */
} image_ref;

static float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* The mean luma in [0, 1] of an RGB image of n pixels. */
static float mean_luma(const uint8_t *px, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += luma(px[3 * i], px[3 * i + 1], px[3 * i + 2]);
    return (float)(sum / ((double)n * 255.0));
}

/* Channel c of RGB pixel p after the jitter (data.h, step 1). */
static float jittered(const image_ref *im, const uint8_t *p, int c) {
    const aug_draw *a = im->a;
    float v[3];
    for (int k = 0; k < 3; k++)
        v[k] = im->grey_mean + a->contrast * ((float)p[k] / 255.0f * a->bright - im->grey_mean);
    float g = luma(v[0], v[1], v[2]);
    return clamp01(g + a->satur * (v[c] - g));
}

/* Channel c of pixel (y, x) in [0, 1], jittered when asked; 0 outside. */
static float source_value(const image_ref *im, int y, int x, int c) {
    if (y < 0 || y >= im->h || x < 0 || x >= im->w) return 0.0f;
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
    return im->a->jitter ? jittered(im, p, c) : (float)p[c] / 255.0f;
}

/* Where the warp (data.h, step 2) samples for one output pixel: the corner
 * pixel (y0, x0) and the weights of the pixels below and right of it. */
typedef struct warp_at {
    int y0, x0;
    float wy, wx;
} warp_at;

/* The inverse of the rotation and zoom about the centre, applied to
 * output pixel (y, x).  With angle 0 and zoom 1 it lands exactly on (y, x)
 * with zero weights (the centre is a multiple of 1/2), so the warp is then
 * the identity. */
static warp_at warp_source(const image_ref *im, int y, int x) {
    const float cy = 0.5f * (float)(im->h - 1), cx = 0.5f * (float)(im->w - 1);
    const float ry = (float)y - cy, rx = (float)x - cx;
    const float sy = cy - im->a->sin_z * rx + im->a->cos_z * ry;
    const float sx = cx + im->a->cos_z * rx + im->a->sin_z * ry;
    const float fy = floorf(sy), fx = floorf(sx);
    return (warp_at){(int)fy, (int)fx, sy - fy, sx - fx};
}

/* Channel c of the warped image at the place s: bilinear, black outside. */
static float warped_value(const image_ref *im, warp_at s, int c) {
    float top = (1.0f - s.wx) * source_value(im, s.y0, s.x0, c) +
                s.wx * source_value(im, s.y0, s.x0 + 1, c);
    float bottom = (1.0f - s.wx) * source_value(im, s.y0 + 1, s.x0, c) +
                   s.wx * source_value(im, s.y0 + 1, s.x0 + 1, c);
    return (1.0f - s.wy) * top + s.wy * bottom;
}

/* Writes one image: jitter and warp (as the draws ask), then crop (shift by
 * dy, dx with zero fill), then mirror the crop if flip, then normalise.
 * out(y, x) = in'(y + dy, x' + dx) with x' = flip ? w-1-x : x and in' the
 * jittered, warped image. */
static void fill_one(const tpl_dataset *d, const uint8_t *src, const aug_draw *a,
                     const float *mean, const float *std, float *dst) {
    const int h = d->h, w = d->w, C = d->c;
    image_ref im = {src, h, w, C, a, 0.0f};
    if (a->jitter) im.grey_mean = a->bright * mean_luma(src, (size_t)h * w);
    for (int y = 0; y < h; y++) {
        int sy = y + a->dy;
        for (int x = 0; x < w; x++) {
            int sx = (a->flip ? w - 1 - x : x) + a->dx;
            int warp = a->warp && sy >= 0 && sy < h && sx >= 0 && sx < w;
            warp_at s = warp ? warp_source(&im, sy, sx) : (warp_at){0, 0, 0.0f, 0.0f};
            float *o = dst + (size_t)y * w + x; /* planar: channel c at o[c * h * w] */
            for (int c = 0; c < C; c++) {
                float v = warp ? warped_value(&im, s, c) : source_value(&im, sy, sx, c);
                o[(size_t)c * h * w] = (v - mean[c]) / std[c];
            }
        }
    }
}

void tpl_batch_fill_part(const tpl_dataset *d, const int *idx, int n, int first, int count,
                         const float *mean, const float *std, const tpl_augment *aug,
                         tpl_rng *rng, float *x, int *y) {
    const size_t per = (size_t)d->h * (size_t)d->w * (size_t)d->c;
    for (int i = 0; i < n; i++) {
        aug_draw a = draw_aug(aug, d->c, rng);
        if (i < first || i >= first + count) continue;
        const int j = i - first;
        fill_one(d, d->pixels + (size_t)idx[i] * per, &a, mean, std, x + (size_t)j * per);
        if (y) y[j] = d->labels[idx[i]];
    }
}

void tpl_batch_fill(const tpl_dataset *d, const int *idx, int n,
                    const float *mean, const float *std,
                    const tpl_augment *aug, tpl_rng *rng, float *x, int *y) {
    tpl_batch_fill_part(d, idx, n, 0, n, mean, std, aug, rng, x, y);
}

void tpl_shuffle(int *perm, int n, tpl_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tpl_rng_below(rng, (uint32_t)i + 1u);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
