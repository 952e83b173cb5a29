/* The canvas: pixels, rectangles, anti-aliased lines and discs, PNG files
 * (see canvas.h; the font is font.c's). */
#include "canvas.h"

#include "image.h"

#include <math.h>
#include <stdlib.h>

int tpl_canvas_init(tpl_canvas *c, int w, int h, tpl_rgb bg) {
    c->w = w, c->h = h;
    c->px = w > 0 && h > 0 ? malloc((size_t)w * h * 3) : NULL;
    if (!c->px) return -1;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        c->px[3 * i] = bg.r, c->px[3 * i + 1] = bg.g, c->px[3 * i + 2] = bg.b;
    }
    return 0;
}

void tpl_canvas_free(tpl_canvas *c) {
    free(c->px);
    c->px = NULL;
}

void tpl_canvas_fill(tpl_canvas *c, int x, int y, int w, int h, tpl_rgb col) {
    const int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int j = y < 0 ? 0 : y; j < y1; j++)
        for (int i = x < 0 ? 0 : x; i < x1; i++) {
            unsigned char *p = c->px + 3 * ((size_t)j * c->w + i);
            p[0] = col.r, p[1] = col.g, p[2] = col.b;
        }
}

static unsigned char mix(unsigned char a, unsigned char b, float t) {
    return (unsigned char)lrintf(a + t * ((float)b - a));
}

void tpl_canvas_blend(tpl_canvas *c, int x, int y, tpl_rgb col, float alpha) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || !(alpha > 0.0f)) return;
    if (alpha > 1.0f) alpha = 1.0f;
    unsigned char *p = c->px + 3 * ((size_t)y * c->w + x);
    p[0] = mix(p[0], col.r, alpha), p[1] = mix(p[1], col.g, alpha), p[2] = mix(p[2], col.b, alpha);
}

/* ---- lines -------------------------------------------------------------------
 * A pixel's coverage is how far its centre lies inside the line's outline,
 * plus half a pixel, clamped to [0, 1]: 1 well inside, 0 beyond half a
 * pixel outside, a linear ramp across the edge.  Coverage is gathered over
 * all segments first (the largest wins) and blended once, so the joins of
 * a polyline are no darker than its segments. */

typedef struct coverage {
    int x0, y0, w, h; /* the box of pixels it holds, on the canvas */
    float *a;
} coverage;

static float clamp01f(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* v - base as an index clamped to [0, n] (NaN as 0): converting a float out
 * of int's range would be undefined. */
static int index_in(float v, int base, int n) {
    v -= (float)base;
    return !(v > 0.0f) ? 0 : v >= (float)n ? n : (int)v;
}

/* One segment a-b starting at arc length s0 along the polyline. */
static void cover_segment(coverage *cv, const float *a, const float *b, float s0, float half,
                          float dash) {
    const float dx = b[0] - a[0], dy = b[1] - a[1], len2 = dx * dx + dy * dy;
    const float len = sqrtf(len2), reach = half + 1.0f;
    const int i0 = index_in(floorf(fminf(a[0], b[0]) - reach), cv->x0, cv->w);
    const int i1 = index_in(ceilf(fmaxf(a[0], b[0]) + reach), cv->x0, cv->w);
    const int j0 = index_in(floorf(fminf(a[1], b[1]) - reach), cv->y0, cv->h);
    const int j1 = index_in(ceilf(fmaxf(a[1], b[1]) + reach), cv->y0, cv->h);
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++) {
            const float px = cv->x0 + i + 0.5f - a[0], py = cv->y0 + j + 0.5f - a[1];
            const float t = len2 > 0.0f ? clamp01f((px * dx + py * dy) / len2) : 0.0f;
            if (dash > 0.0f && fmodf(s0 + t * len, 2.0f * dash) >= dash) continue;
            const float ex = px - t * dx, ey = py - t * dy;
            const float k = clamp01f(half + 0.5f - sqrtf(ex * ex + ey * ey));
            float *cell = &cv->a[(size_t)j * cv->w + i];
            if (k > *cell) *cell = k;
        }
}

int tpl_canvas_polyline(tpl_canvas *c, const float *xy, int n, float width, float dash,
                        tpl_rgb col) {
    if (n < 1 || !(width > 0.0f)) return 0;
    const float half = width / 2, reach = half + 1.0f;
    float lo[2] = {xy[0], xy[1]}, hi[2] = {xy[0], xy[1]};
    for (int i = 1; i < n; i++)
        for (int d = 0; d < 2; d++) {
            lo[d] = fminf(lo[d], xy[2 * i + d]);
            hi[d] = fmaxf(hi[d], xy[2 * i + d]);
        }
    /* the canvas part of the line's box; points far off the canvas (or not
     * numbers) leave it empty */
    const float x0 = fmaxf(floorf(lo[0] - reach), 0.0f), x1 = fminf(ceilf(hi[0] + reach), c->w);
    const float y0 = fmaxf(floorf(lo[1] - reach), 0.0f), y1 = fminf(ceilf(hi[1] + reach), c->h);
    if (!(x1 > x0 && y1 > y0)) return 0;
    coverage cv = {(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0), NULL};
    cv.a = calloc((size_t)cv.w * cv.h, sizeof *cv.a);
    if (!cv.a) return -1;
    float s = 0.0f;
    for (int i = 0; i < (n > 1 ? n - 1 : 1); i++) {
        const float *a = xy + 2 * i, *b = n > 1 ? a + 2 : a;
        cover_segment(&cv, a, b, s, half, dash);
        s += hypotf(b[0] - a[0], b[1] - a[1]);
    }
    for (int j = 0; j < cv.h; j++)
        for (int i = 0; i < cv.w; i++)
            tpl_canvas_blend(c, cv.x0 + i, cv.y0 + j, col, cv.a[(size_t)j * cv.w + i]);
    free(cv.a);
    return 0;
}

void tpl_canvas_disc(tpl_canvas *c, float cx, float cy, float r, tpl_rgb col) {
    if (!(r > 0.0f)) return;
    const int i0 = index_in(floorf(cx - r - 1), 0, c->w), i1 = index_in(ceilf(cx + r + 1), 0, c->w);
    const int j0 = index_in(floorf(cy - r - 1), 0, c->h), j1 = index_in(ceilf(cy + r + 1), 0, c->h);
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++)
            tpl_canvas_blend(c, i, j, col,
                             clamp01f(r + 0.5f - hypotf(i + 0.5f - cx, j + 0.5f - cy)));
}

int tpl_canvas_write_png(const tpl_canvas *c, const char *path, tpl_err *err) {
    return tpl_png_write(path, c->px, c->w, c->h, 3, err);
}
