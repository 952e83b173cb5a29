/* The mixture heatmap's layout (see heatmap.h): one scene, two files. */
#include "heatmap.h"

#include "scene.h"

#include <stdio.h>

#define TEXT_SCALE 2
#define LINE_H (TPL_GLYPH_H * TEXT_SCALE)
#define CAP_H (7 * TEXT_SCALE)  /* height of a capital: where the baseline is */
#define MARGIN 16
#define LABEL_GAP 10            /* between a row's label and its cells */
#define CELL_W 40               /* wide enough for two-digit block numbers */
#define CELL_H 32
#define CELL_GAP 8
#define ROW_GAP 8
#define GROUP_GAP 24
#define BAR_W 240               /* the colour bar legend */
#define BAR_STEPS 60

static const tpl_rgb BG = {255, 255, 255}, INK = {34, 34, 34}, MUTED = {110, 110, 110};

/* Bar width of a template: a cell is CELL_W wide while that leaves 4 px a bar. */
static int bar_width(int cells) { return cells * 4 > CELL_W ? 4 : CELL_W / cells; }

/* One group's label, block numbers and cells from x; returns its width. */
static int layout_group(tpl_scene *sc, const tpl_heatmap *hm, const tpl_heatmap_group *g, int x,
                        int y_label, int y_cells) {
    const int bw = bar_width(g->cells), cw = g->cells * bw;
    char num[16];
    tpl_scene_text(sc, x, y_label, TPL_ANCHOR_START, INK, g->label);
    for (int c = 0; c < g->cols; c++) {
        const int cx = x + c * (cw + CELL_GAP);
        snprintf(num, sizeof num, "%d", c);
        tpl_scene_text(sc, cx + cw / 2, y_label + LINE_H, TPL_ANCHOR_MIDDLE, MUTED, num);
        for (int r = 0; r < hm->rows; r++)
            for (int k = 0; k < g->cells; k++)  /* a 1 px gap keeps the bars apart */
                tpl_scene_rect(sc, cx + k * bw, y_cells + r * (CELL_H + ROW_GAP), bw - 1, CELL_H,
                               tpl_colormap(g->w[((size_t)r * g->cols + c) * g->cells + k]));
    }
    const int w = g->cols * (cw + CELL_GAP) - CELL_GAP, lw = tpl_text_width(g->label, TEXT_SCALE);
    return w > lw ? w : lw;
}

/* The colour bar from 0 to 1 with its ticks, and how to read a cell. */
static void layout_legend(tpl_scene *sc, int x, int y) {
    tpl_scene_text(sc, x - LABEL_GAP, y, TPL_ANCHOR_END, INK, "weight");
    for (int i = 0; i < BAR_STEPS; i++)
        tpl_scene_rect(sc, x + i * BAR_W / BAR_STEPS, y, BAR_W / BAR_STEPS, CAP_H,
                       tpl_colormap((i + 0.5) / BAR_STEPS));
    static const char *const tick[] = {"0", "0.25", "0.5", "0.75", "1"};
    for (int i = 0; i < 5; i++) {  /* the last tick on the bar's last pixel */
        tpl_scene_rect(sc, x + i * BAR_W / 4 - (i == 4), y + CAP_H, 1, 4, INK);
        tpl_scene_text(sc, x + i * BAR_W / 4, y + CAP_H + 6, TPL_ANCHOR_MIDDLE, MUTED, tick[i]);
    }
    tpl_scene_text(sc, MARGIN, y + CAP_H + 6 + LINE_H + 8, TPL_ANCHOR_START, MUTED,
                   "a cell: one bar per template, 0 at the left");
}

static int layout(const tpl_heatmap *hm, tpl_scene *sc) {
    tpl_scene_init(sc, BG, TEXT_SCALE);
    int label_w = tpl_text_width("weight", TEXT_SCALE); /* the widest fixed label */
    for (int r = 0; r < hm->rows; r++) {
        const int w = tpl_text_width(hm->row_labels[r], TEXT_SCALE);
        if (w > label_w) label_w = w;
    }
    const int x0 = MARGIN + label_w + LABEL_GAP, y_label = MARGIN + LINE_H + 8;
    const int y_cells = y_label + 2 * LINE_H + 2;
    tpl_scene_text(sc, MARGIN, MARGIN, TPL_ANCHOR_START, INK, hm->title);
    tpl_scene_text(sc, x0 - LABEL_GAP, y_label + LINE_H, TPL_ANCHOR_END, MUTED, "block");
    for (int r = 0; r < hm->rows; r++)
        tpl_scene_text(sc, x0 - LABEL_GAP,
                       y_cells + r * (CELL_H + ROW_GAP) + (CELL_H - CAP_H) / 2, TPL_ANCHOR_END,
                       INK, hm->row_labels[r]);
    for (int g = 0, x = x0; g < hm->n_groups; g++)
        x += layout_group(sc, hm, &hm->group[g], x, y_label, y_cells) + GROUP_GAP;
    layout_legend(sc, x0, y_cells + hm->rows * (CELL_H + ROW_GAP) + 12);
    sc->w += MARGIN, sc->h += MARGIN;
    return sc->oom ? -1 : 0;
}

int tpl_heatmap_write_png(const tpl_heatmap *hm, const char *path, int *w, int *h,
                          tpl_err *err) {
    tpl_scene sc;
    layout(hm, &sc);
    const int rc = tpl_scene_write(&sc, path, NULL, err);
    if (!rc && w) *w = sc.w;
    if (!rc && h) *h = sc.h;
    tpl_scene_free(&sc);
    return rc;
}

int tpl_heatmap_write_svg(const tpl_heatmap *hm, const char *path, tpl_err *err) {
    tpl_scene sc;
    layout(hm, &sc);
    const int rc = tpl_scene_write(&sc, NULL, path, err);
    tpl_scene_free(&sc);
    return rc;
}
