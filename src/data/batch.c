/* Byte datasets into normalised, optionally augmented float batches. */
#include "data.h"

/* One image's random choices, drawn in a fixed order: dy, dx, flip. */
typedef struct aug_draw {
    int dy, dx, flip;
} aug_draw;

static aug_draw draw_aug(const tpl_augment *aug, tpl_rng *rng) {
    aug_draw a = {0, 0, 0};
    if (!aug) return a;
    if (aug->pad > 0) {
        uint32_t span = 2u * (uint32_t)aug->pad + 1u;
        a.dy = (int)tpl_rng_below(rng, span) - aug->pad;
        a.dx = (int)tpl_rng_below(rng, span) - aug->pad;
    }
    if (aug->flip) a.flip = (int)tpl_rng_below(rng, 2);
    return a;
}

/* Writes one image: crop (shift by dy, dx with zero fill), then mirror the
 * crop if flip, then normalise.  out(y, x) = in(y + dy, x' + dx) with
 * x' = flip ? w-1-x : x. */
static void fill_one(const tpl_dataset *d, const uint8_t *src, aug_draw a,
                     const float *mean, const float *std, float *dst) {
    const int h = d->h, w = d->w, C = d->c;
    for (int y = 0; y < h; y++) {
        int sy = y + a.dy;
        for (int x = 0; x < w; x++) {
            int sx = (a.flip ? w - 1 - x : x) + a.dx;
            int inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            const uint8_t *p = inside ? src + ((size_t)sy * w + sx) * C : NULL;
            float *o = dst + (size_t)y * w + x; /* planar: channel c at o[c * h * w] */
            for (int c = 0; c < C; c++) {
                float v = p ? (float)p[c] / 255.0f : 0.0f;
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
        aug_draw a = draw_aug(aug, rng);
        if (i < first || i >= first + count) continue;
        const int j = i - first;
        fill_one(d, d->pixels + (size_t)idx[i] * per, a, mean, std, x + (size_t)j * per);
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
