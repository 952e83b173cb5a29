/* A figure as a retained list of drawing items (rectangles, text, lines,
 * discs) in pixel coordinates, laid out once and rendered both to a PNG
 * (through the canvas and its bitmap font) and to an SVG, so the two
 * pictures agree.  The SVG's text is monospace at 10 px per font scale
 * step, whose advance (about 6 px) and capital height (about 7 px) are the
 * bitmap font's, so one layout fits both. */
#ifndef TPL_SCENE_H
#define TPL_SCENE_H
#include <stdio.h>

#include "canvas.h"

typedef enum { TPL_ANCHOR_START, TPL_ANCHOR_MIDDLE, TPL_ANCHOR_END } tpl_anchor;
typedef enum { TPL_ITEM_RECT, TPL_ITEM_TEXT, TPL_ITEM_LINE, TPL_ITEM_DISC } tpl_item_kind;

#define TPL_SCENE_TEXT_MAX 80 /* bytes a text keeps, its NUL included */

typedef struct tpl_scene_item {
    tpl_item_kind kind;
    tpl_rgb col;
    /* rect: its box.  text: across, x is the anchor and y the top of the
     * line; upwards, x is the left edge (the glyphs' tops) and y the anchor;
     * w is the text's length in pixels */
    int x, y, w, h;
    tpl_anchor anchor;
    int scale, up;            /* text: font scale; read upwards */
    int first, n;             /* line: its points, pts[2 first .. 2 (first + n)) */
    float width, dash;        /* line: stroke width, dash length (0: solid) */
    float cx, cy, r;          /* disc */
    char text[TPL_SCENE_TEXT_MAX];
} tpl_scene_item;

typedef struct tpl_scene {
    int w, h;       /* extent: right and bottom edges of all items (a layout adds its margin) */
    tpl_rgb bg;
    int text_scale; /* of tpl_scene_text, and the SVG's default font size */
    tpl_scene_item *items;
    int n, cap;
    float *pts; /* the lines' points, x y pairs */
    int n_pts, cap_pts;
    int oom; /* an item could not be added: the writers fail */
} tpl_scene;

void tpl_scene_init(tpl_scene *sc, tpl_rgb bg, int text_scale);
void tpl_scene_free(tpl_scene *sc);

void tpl_scene_rect(tpl_scene *sc, int x, int y, int w, int h, tpl_rgb col);
/* Text at the scene's scale, across, with its anchor (start, middle or end
 * of the line) at x and its top at y; longer than TPL_SCENE_TEXT_MAX - 1
 * bytes, it is cut at a character boundary. */
void tpl_scene_text(tpl_scene *sc, int x, int y, tpl_anchor anchor, tpl_rgb col, const char *s);
void tpl_scene_text_scaled(tpl_scene *sc, int x, int y, int scale, tpl_anchor anchor, tpl_rgb col,
                           const char *s);
/* Text reading upwards: its left edge (the glyphs' tops) at x, its anchor
 * at y (start: the text goes up from y; end: it ends at y). */
void tpl_scene_text_up(tpl_scene *sc, int x, int y, int scale, tpl_anchor anchor, tpl_rgb col,
                       const char *s);
/* A polyline through n >= 1 points (x y pairs), copied; see
 * tpl_canvas_polyline. */
void tpl_scene_line(tpl_scene *sc, const float *xy, int n, float width, float dash, tpl_rgb col);
void tpl_scene_disc(tpl_scene *sc, float cx, float cy, float r, tpl_rgb col);

/* The scene on a new sc->w x sc->h canvas (freed by the caller); -1 if out
 * of memory or the scene is empty. */
int tpl_scene_render(const tpl_scene *sc, tpl_canvas *c);
/* The scene as an SVG document on fp; -1 on a write error. */
int tpl_scene_svg(const tpl_scene *sc, FILE *fp);
/* Either file (NULL: not written), each atomically; on failure err names
 * the file. */
int tpl_scene_write(const tpl_scene *sc, const char *png, const char *svg, tpl_err *err);
#endif
