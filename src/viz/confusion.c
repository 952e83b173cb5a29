/* The confusion matrix figure's layout (see confusion.h). */
#include "confusion.h"

#include "scene.h"

#include <stdio.h>
#include <string.h>

#define TEXT_SCALE 2
#define LINE_H (TPL_GLYPH_H * TEXT_SCALE)
#define MARGIN 16
#define GAP 8
#define MATRIX_SIDE 768 /* cells shrink to keep the matrix about this wide */
#define CELL_MAX 80
#define CELL_MIN 3
#define GRID_MIN 8      /* smaller cells go without grid lines */
#define NAME_MAX 16     /* characters of a label */
#define BAR_W 240
#define BAR_STEPS 60
#define FAINT 0.03      /* the least shade of a non-empty cell, so no error vanishes */

static const tpl_rgb BG = {255, 255, 255}, INK = {34, 34, 34}, MUTED = {110, 110, 110},
                     GRID = {215, 215, 215};

typedef struct matrix {
    int classes;
    const long *counts;
    const char *const *names;
    int cell;          /* side of a cell, grid line included */
    int label_scale;   /* font scale of the class labels */
    int every;         /* every k-th class is labelled */
    int x0, y0;        /* the matrix's top-left corner */
} matrix;

/* Label of class i: its name, cut to NAME_MAX characters ending in "..",
 * or its number.  out holds TPL_SCENE_TEXT_MAX bytes: 16 characters of up
 * to 4 bytes fit. */
static void class_label(const matrix *m, int i, char *out) {
    const char *name = m->names && m->names[i] && *m->names[i] ? m->names[i] : NULL;
    if (!name) {
        snprintf(out, TPL_SCENE_TEXT_MAX, "%d", i);
        return;
    }
    const int cut = tpl_text_chars(name) > NAME_MAX;
    size_t n = 0;
    for (int k = 0, len; k < (cut ? NAME_MAX - 2 : NAME_MAX) && (len = tpl_utf8_char_len(name + n));
         k++)
        n += len;
    memcpy(out, name, n);
    strcpy(out + n, cut ? ".." : "");
}

/* Cell size, label scale and spacing for the class count. */
static void size_cells(matrix *m) {
    int cell = MATRIX_SIDE / m->classes;
    m->cell = cell > CELL_MAX ? CELL_MAX : cell < CELL_MIN ? CELL_MIN : cell;
    m->label_scale = m->cell >= 20 ? 2 : 1;
    const int line = TPL_GLYPH_H * m->label_scale + 1; /* a label's height and a pixel apart */
    m->every = (line + m->cell - 1) / m->cell;
}

/* Widest label drawn, in pixels. */
static int label_extent(const matrix *m) {
    char label[TPL_SCENE_TEXT_MAX];
    int w = 0;
    for (int i = 0; i < m->classes; i += m->every) {
        class_label(m, i, label);
        const int lw = tpl_text_width(label, m->label_scale);
        if (lw > w) w = lw;
    }
    return w;
}

static long row_total(const matrix *m, int r) {
    long sum = 0;
    for (int c = 0; c < m->classes; c++) sum += m->counts[(size_t)r * m->classes + c];
    return sum;
}

/* Font scale of the counts: the largest at which the widest fits every
 * cell, so all are alike; 0 when none fits. */
static int count_scale(const matrix *m) {
    long most = 0;
    for (size_t i = 0; i < (size_t)m->classes * m->classes; i++)
        if (m->counts[i] > most) most = m->counts[i];
    char num[24];
    snprintf(num, sizeof num, "%ld", most);
    const int room = m->cell - 5;
    for (int s = 2; s >= 1; s--)
        if (tpl_text_width(num, s) <= room && 7 * s <= room) return s;
    return 0;
}

/* A non-zero count, in the middle of its cell of colour bg. */
static void cell_count(tpl_scene *sc, const matrix *m, int scale, int x, int y, long count,
                       tpl_rgb bg) {
    char num[24];
    snprintf(num, sizeof num, "%ld", count);
    tpl_scene_text_scaled(sc, x + (m->cell - 1) / 2, y + (m->cell - 1 - 7 * scale) / 2, scale,
                          TPL_ANCHOR_MIDDLE, tpl_dark(bg) ? BG : INK, num);
}

static void layout_cells(tpl_scene *sc, const matrix *m) {
    const int side = m->classes * m->cell, grid = m->cell >= GRID_MIN, scale = count_scale(m);
    /* grid lines are the background showing between cells a pixel smaller;
     * small cells fill their square and only the frame is drawn */
    tpl_scene_rect(sc, m->x0 - 1, m->y0 - 1, side + 1 + !grid, side + 1 + !grid, GRID);
    if (!grid) tpl_scene_rect(sc, m->x0, m->y0, side, side, BG);
    for (int r = 0; r < m->classes; r++) {
        const long total = row_total(m, r);
        for (int c = 0; c < m->classes; c++) {
            const long n = m->counts[(size_t)r * m->classes + c];
            const double share = total > 0 ? (double)n / total : 0.0;
            const tpl_rgb col = tpl_colormap_blues(n > 0 && share < FAINT ? FAINT : share);
            const int x = m->x0 + c * m->cell, y = m->y0 + r * m->cell;
            if (grid || n > 0) tpl_scene_rect(sc, x, y, m->cell - grid, m->cell - grid, col);
            if (scale && n > 0) cell_count(sc, m, scale, x, y, n, col);
        }
    }
}

/* Class labels left of the rows and below the columns (reading upwards,
 * ending at the matrix); ticks where not every class is named. */
static void layout_labels(tpl_scene *sc, const matrix *m) {
    const int side = m->classes * m->cell, s = m->label_scale, cap = 7 * s;
    const int off = m->every > 1 ? 6 : 4; /* room for the ticks */
    char label[TPL_SCENE_TEXT_MAX];
    for (int i = 0; i < m->classes; i += m->every) {
        const int at = i * m->cell + (m->cell - 1) / 2; /* the middle of row or column i */
        class_label(m, i, label);
        tpl_scene_text_scaled(sc, m->x0 - off, m->y0 + at - cap / 2, s, TPL_ANCHOR_END, INK, label);
        tpl_scene_text_up(sc, m->x0 + at - cap / 2, m->y0 + side + off, s, TPL_ANCHOR_END, INK,
                          label);
        if (m->every > 1) {
            tpl_scene_rect(sc, m->x0 - 5, m->y0 + at, 4, 1, MUTED);
            tpl_scene_rect(sc, m->x0 + at, m->y0 + side + 1, 1, 4, MUTED);
        }
    }
}

/* The colour bar: share of the row from 0 to 100 %. */
static void layout_legend(tpl_scene *sc, int x, int y) {
    const int h = 7 * TEXT_SCALE;
    for (int i = 0; i < BAR_STEPS; i++)
        tpl_scene_rect(sc, x + i * BAR_W / BAR_STEPS, y, BAR_W / BAR_STEPS, h,
                       tpl_colormap_blues((i + 0.5) / BAR_STEPS));
    tpl_scene_rect(sc, x - 1, y - 1, BAR_W + 2, 1, GRID); /* white fades into the page: a frame */
    tpl_scene_rect(sc, x - 1, y + h, BAR_W + 2, 1, GRID);
    tpl_scene_rect(sc, x - 1, y, 1, h, GRID);
    tpl_scene_rect(sc, x + BAR_W, y, 1, h, GRID);
    static const char *const tick[] = {"0%", "50%", "100%"};
    for (int i = 0; i < 3; i++) {
        tpl_scene_rect(sc, x + i * BAR_W / 2 - (i == 2), y + h + 1, 1, 4, INK);
        tpl_scene_text(sc, x + i * BAR_W / 2, y + h + 7, TPL_ANCHOR_MIDDLE, MUTED, tick[i]);
    }
    tpl_scene_text(sc, x + BAR_W + 2 * GAP, y, TPL_ANCHOR_START, MUTED, "share of the true class");
}

static void layout(tpl_scene *sc, matrix *m, const char *title) {
    tpl_scene_init(sc, BG, TEXT_SCALE);
    size_cells(m);
    const int label_w = label_extent(m), side = m->classes * m->cell;
    const int off = m->every > 1 ? 6 : 4;
    m->x0 = MARGIN + LINE_H + GAP + label_w + off + 1;
    m->y0 = MARGIN + LINE_H + 2 * GAP;
    tpl_scene_text(sc, MARGIN, MARGIN, TPL_ANCHOR_START, INK, title ? title : "");
    tpl_scene_text_up(sc, MARGIN, m->y0 + side / 2, TEXT_SCALE, TPL_ANCHOR_MIDDLE, INK,
                      "true class");
    layout_cells(sc, m);
    layout_labels(sc, m);
    const int y_axis = m->y0 + side + off + label_w + GAP;
    tpl_scene_text(sc, m->x0 + side / 2, y_axis, TPL_ANCHOR_MIDDLE, INK, "predicted class");
    layout_legend(sc, m->x0, y_axis + LINE_H + 2 * GAP);
    sc->w += MARGIN, sc->h += MARGIN;
}

int tpl_confusion_write(const char *png, const char *svg, const char *title, int classes,
                        const long *counts, const char *const *names, tpl_err *err) {
    const char *path = png ? png : svg ? svg : "confusion matrix";
    if (classes < 1 || classes > TPL_CONFUSION_MAX || !counts) {
        tpl_err_set(err, "%s: %d classes, a confusion matrix takes 1 to %d", path, classes,
                    TPL_CONFUSION_MAX);
        return -1;
    }
    for (size_t i = 0; i < (size_t)classes * classes; i++)
        if (counts[i] < 0) {
            tpl_err_set(err, "%s: negative count %ld (true class %zu, predicted %zu)", path,
                        counts[i], i / classes, i % classes);
            return -1;
        }
    matrix m = {.classes = classes, .counts = counts, .names = names};
    tpl_scene sc;
    layout(&sc, &m, title);
    const int rc = tpl_scene_write(&sc, png, svg, err);
    tpl_scene_free(&sc);
    return rc;
}
