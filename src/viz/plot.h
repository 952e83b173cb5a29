/* Pictures of mixtures, for templar inspect: an RGB canvas with a built-in
 * bitmap font (saved as PNG through libpng), a perceptual colour map, and the
 * tasks x blocks x templates heatmap, laid out once and rendered both as PNG
 * and as SVG.  Beside them, the numbers inspect prints: how similar two
 * mixtures are, and what that says about a block. */
#ifndef TPL_PLOT_H
#define TPL_PLOT_H
#include <stdio.h>

#include "data.h"
#include "templar.h"

/* ---- comparing mixtures -------------------------------------------------- */

/* 1 - Jensen-Shannon divergence, in bits, of two distributions over k items:
 * the divergence with log2 lies in [0, 1], so the similarity does too (1 =
 * the same mixture, 0 = mixtures on disjoint templates).  Unlike KL it is
 * symmetric and finite when one task gives a template zero weight. */
double tpl_js_similarity(const float *p, const float *q, int k);

/* Verdict on a block from its tasks' mean similarity. */
#define TPL_SHARED_MIN 0.9        /* at least this: the tasks use one mixture */
#define TPL_SPECIALISED_BELOW 0.6 /* under this: each task has its own */
typedef enum { TPL_SHARED, TPL_PARTLY_SHARED, TPL_SPECIALISED, TPL_N_SHARING } tpl_sharing;
tpl_sharing tpl_sharing_of(double mean_similarity);
const char *tpl_sharing_name(tpl_sharing v); /* "shared", "partly shared", "specialised" */

/* ---- colour -------------------------------------------------------------- */

typedef struct tpl_rgb {
    unsigned char r, g, b;
} tpl_rgb;

/* Viridis of v in [0, 1] (clamped): dark violet to yellow, brightness rising
 * evenly, so equal steps in weight look like equal steps in colour. */
tpl_rgb tpl_colormap(double v);

/* ---- canvas -------------------------------------------------------------- */

typedef struct tpl_canvas {
    int w, h;
    unsigned char *px; /* [h][w][3] RGB */
} tpl_canvas;

/* Glyphs are 5x7 (plus a descender row) in a 6x9 cell, times scale. */
#define TPL_GLYPH_W 6
#define TPL_GLYPH_H 9

int tpl_canvas_init(tpl_canvas *c, int w, int h, tpl_rgb bg); /* -1: no memory */
void tpl_canvas_free(tpl_canvas *c);
/* Fills a rectangle, clipped to the canvas. */
void tpl_canvas_fill(tpl_canvas *c, int x, int y, int w, int h, tpl_rgb col);
/* Draws text with its cell's top-left corner at (x, y); bytes outside
 * printable ASCII show as '?'.  Returns the width, tpl_text_width's. */
int tpl_canvas_text(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col);
int tpl_text_width(const char *s, int scale);
/* Writes the canvas as an 8-bit RGB PNG, atomically (see fileio.h). */
int tpl_canvas_write_png(const tpl_canvas *c, const char *path, tpl_err *err);

/* ---- the mixture heatmap ------------------------------------------------- */

/* A group of columns: one stage's blocks, each cell split into its K
 * templates' weights. */
typedef struct tpl_heatmap_group {
    const char *label; /* above the group, e.g. "stage 0" */
    int cols, cells;   /* blocks L, templates K */
    const float *w;    /* [rows][cols][cells], each in [0, 1] */
} tpl_heatmap_group;

typedef struct tpl_heatmap {
    const char *title;
    int rows;                        /* tasks: a row of cells each */
    const char *const *row_labels;   /* [rows] */
    int n_groups;
    tpl_heatmap_group group[TPL_MAX_STAGES];
} tpl_heatmap;

/* Both write the same picture (one layout); atomically.  *w, *h (may be
 * NULL) get the size in pixels. */
int tpl_heatmap_write_png(const tpl_heatmap *hm, const char *path, int *w, int *h,
                          tpl_err *err);
int tpl_heatmap_write_svg(const tpl_heatmap *hm, const char *path, tpl_err *err);

/* ---- samples ------------------------------------------------------------- */

/* A PNG of per_row training samples of each of n datasets, a row each with
 * its name, samples 2x upscaled; with k = min(classes, per_row), sample j
 * is the (j / k)-th image of class j % k.  Written atomically. */
int tpl_samples_preview(const char *path, const char *const *names,
                        const tpl_dataset *const *sets, int n, int per_row, tpl_err *err);
#endif
