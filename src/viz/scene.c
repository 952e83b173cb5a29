/* The retained drawing list and its PNG rendering (see scene.h; the SVG
 * writer is scene_svg.c). */
#include "scene.h"

#include "fileio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tpl_scene_init(tpl_scene *sc, tpl_rgb bg, int text_scale) {
    *sc = (tpl_scene){.bg = bg, .text_scale = text_scale};
}

void tpl_scene_free(tpl_scene *sc) {
    free(sc->items);
    free(sc->pts);
    *sc = (tpl_scene){.bg = sc->bg, .text_scale = sc->text_scale};
}

/* Grows the extent to reach x1 across and y1 down. */
static void extend(tpl_scene *sc, int x1, int y1) {
    if (x1 > sc->w) sc->w = x1;
    if (y1 > sc->h) sc->h = y1;
}

static tpl_scene_item *add(tpl_scene *sc, tpl_item_kind kind, tpl_rgb col) {
    if (sc->oom) return NULL;
    if (sc->n == sc->cap) {
        const int cap = sc->cap ? 2 * sc->cap : 256;
        tpl_scene_item *p = realloc(sc->items, (size_t)cap * sizeof *p);
        if (!p) return sc->oom = 1, NULL;
        sc->items = p, sc->cap = cap;
    }
    tpl_scene_item *it = &sc->items[sc->n++];
    *it = (tpl_scene_item){.kind = kind, .col = col};
    return it;
}

void tpl_scene_rect(tpl_scene *sc, int x, int y, int w, int h, tpl_rgb col) {
    tpl_scene_item *it = add(sc, TPL_ITEM_RECT, col);
    if (!it) return;
    it->x = x, it->y = y, it->w = w, it->h = h;
    extend(sc, x + w, y + h);
}

/* Where a text w long with its anchor at a begins (the left end across). */
static int text_start(int a, tpl_anchor anchor, int w) { return a - (int)anchor * w / 2; }

/* s cut to fit dst (size TPL_SCENE_TEXT_MAX) at a character boundary. */
static void copy_text(char *dst, const char *s) {
    size_t n = 0;
    for (int len; (len = tpl_utf8_char_len(s + n)) && n + len < TPL_SCENE_TEXT_MAX;) n += len;
    memcpy(dst, s, n);
    dst[n] = 0;
}

static tpl_scene_item *add_text(tpl_scene *sc, int x, int y, int scale, tpl_anchor anchor,
                                tpl_rgb col, const char *s) {
    tpl_scene_item *it = add(sc, TPL_ITEM_TEXT, col);
    if (!it) return NULL;
    copy_text(it->text, s);
    it->x = x, it->y = y, it->anchor = anchor, it->scale = scale;
    it->w = tpl_text_width(it->text, scale), it->h = TPL_GLYPH_H * scale;
    return it;
}

void tpl_scene_text_scaled(tpl_scene *sc, int x, int y, int scale, tpl_anchor anchor, tpl_rgb col,
                           const char *s) {
    const tpl_scene_item *it = add_text(sc, x, y, scale, anchor, col, s);
    if (it) extend(sc, text_start(x, anchor, it->w) + it->w, y + it->h);
}

void tpl_scene_text(tpl_scene *sc, int x, int y, tpl_anchor anchor, tpl_rgb col, const char *s) {
    tpl_scene_text_scaled(sc, x, y, sc->text_scale, anchor, col, s);
}

void tpl_scene_text_up(tpl_scene *sc, int x, int y, int scale, tpl_anchor anchor, tpl_rgb col,
                       const char *s) {
    tpl_scene_item *it = add_text(sc, x, y, scale, anchor, col, s);
    if (!it) return;
    it->up = 1;
    /* upwards the start is the bottom end: anchored at its end, the text
     * hangs below y */
    extend(sc, x + it->h, y + (int)anchor * it->w / 2);
}

/* Room for n more points; 0, or -1 (the scene marked out of memory). */
static int reserve_points(tpl_scene *sc, int n) {
    if (sc->n_pts + n <= sc->cap_pts) return 0;
    int cap = sc->cap_pts ? sc->cap_pts : 256;
    while (cap < sc->n_pts + n) cap *= 2;
    float *p = realloc(sc->pts, (size_t)cap * 2 * sizeof *p);
    if (!p) return sc->oom = 1, -1;
    sc->pts = p, sc->cap_pts = cap;
    return 0;
}

void tpl_scene_line(tpl_scene *sc, const float *xy, int n, float width, float dash, tpl_rgb col) {
    if (n < 1 || sc->oom || n > (1 << 26) || reserve_points(sc, n)) return;
    tpl_scene_item *it = add(sc, TPL_ITEM_LINE, col);
    if (!it) return;
    it->first = sc->n_pts, it->n = n, it->width = width, it->dash = dash;
    memcpy(sc->pts + 2 * (size_t)sc->n_pts, xy, (size_t)n * 2 * sizeof *xy);
    sc->n_pts += n;
    for (int i = 0; i < n; i++)
        if (isfinite(xy[2 * i]) && isfinite(xy[2 * i + 1]) && fabsf(xy[2 * i]) < 1e6f &&
            fabsf(xy[2 * i + 1]) < 1e6f)
            extend(sc, (int)ceilf(xy[2 * i] + width / 2), (int)ceilf(xy[2 * i + 1] + width / 2));
}

void tpl_scene_disc(tpl_scene *sc, float cx, float cy, float r, tpl_rgb col) {
    tpl_scene_item *it = add(sc, TPL_ITEM_DISC, col);
    if (!it) return;
    it->cx = cx, it->cy = cy, it->r = r;
    if (isfinite(cx) && isfinite(cy) && isfinite(r) && fabsf(cx) + r < 1e6f && fabsf(cy) + r < 1e6f)
        extend(sc, (int)ceilf(cx + r), (int)ceilf(cy + r));
}

/* ---- PNG ------------------------------------------------------------------- */

static int draw_item(const tpl_scene *sc, const tpl_scene_item *it, tpl_canvas *c) {
    switch (it->kind) {
    case TPL_ITEM_RECT:
        tpl_canvas_fill(c, it->x, it->y, it->w, it->h, it->col);
        return 0;
    case TPL_ITEM_TEXT:
        if (it->up)
            tpl_canvas_text_up(c, it->x, it->y + (int)it->anchor * it->w / 2, it->scale, it->text,
                               it->col);
        else
            tpl_canvas_text(c, text_start(it->x, it->anchor, it->w), it->y, it->scale, it->text,
                            it->col);
        return 0;
    case TPL_ITEM_LINE:
        return tpl_canvas_polyline(c, sc->pts + 2 * (size_t)it->first, it->n, it->width, it->dash,
                                   it->col);
    case TPL_ITEM_DISC:
        tpl_canvas_disc(c, it->cx, it->cy, it->r, it->col);
        return 0;
    }
    return 0;
}

int tpl_scene_render(const tpl_scene *sc, tpl_canvas *c) {
    *c = (tpl_canvas){0};
    if (sc->oom || tpl_canvas_init(c, sc->w, sc->h, sc->bg)) return -1;
    for (int i = 0; i < sc->n; i++)
        if (draw_item(sc, &sc->items[i], c)) {
            tpl_canvas_free(c);
            return -1;
        }
    return 0;
}

static int write_png(const tpl_scene *sc, const char *path, tpl_err *err) {
    tpl_canvas c;
    if (tpl_scene_render(sc, &c)) {
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    const int rc = tpl_canvas_write_png(&c, path, err);
    tpl_canvas_free(&c);
    return rc ? -1 : 0;
}

static int svg_to(FILE *fp, const void *sc) { return tpl_scene_svg(sc, fp); }

int tpl_scene_write(const tpl_scene *sc, const char *png, const char *svg, tpl_err *err) {
    if (png && write_png(sc, png, err)) return -1;
    if (!svg) return 0;
    if (sc->oom) {
        tpl_err_set(err, "%s: out of memory", svg);
        return -1;
    }
    return tpl_write_atomic(svg, svg_to, sc, err) ? -1 : 0;
}
