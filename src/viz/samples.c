/* A picture of a few samples of each of several datasets (see samples.h). */
#include "samples.h"

#include "canvas.h"

#define PREVIEW_ZOOM 2
#define PREVIEW_GAP 4
#define PREVIEW_MARGIN 8
#define PREVIEW_TEXT 2 /* font scale */

/* Index of the k-th image of class cls in d, or -1. */
static int nth_of_class(const tpl_dataset *d, int cls, int k) {
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] == cls && k-- == 0) return i;
    return -1;
}

/* Image i of d, PREVIEW_ZOOM times larger, with its top-left at (x, y). */
static void blit(tpl_canvas *c, const tpl_dataset *d, int i, int x, int y) {
    const size_t per = (size_t)d->h * d->w * d->c;
    for (int r = 0; r < d->h; r++)
        for (int q = 0; q < d->w; q++) {
            const uint8_t *p = d->pixels + per * i + ((size_t)r * d->w + q) * d->c;
            tpl_rgb col = {p[0], p[d->c == 3 ? 1 : 0], p[d->c == 3 ? 2 : 0]};
            tpl_canvas_fill(c, x + q * PREVIEW_ZOOM, y + r * PREVIEW_ZOOM, PREVIEW_ZOOM,
                            PREVIEW_ZOOM, col);
        }
}

int tpl_samples_preview(const char *path, const char *const *names,
                        const tpl_dataset *const *sets, int n, int per_row, tpl_err *err) {
    int cell = 0, label = 0;
    for (int r = 0; r < n; r++) {
        const tpl_dataset *d = sets[r];
        if (d->h * PREVIEW_ZOOM > cell) cell = d->h * PREVIEW_ZOOM;
        if (d->w * PREVIEW_ZOOM > cell) cell = d->w * PREVIEW_ZOOM;
        if (tpl_text_width(names[r], PREVIEW_TEXT) > label)
            label = tpl_text_width(names[r], PREVIEW_TEXT);
    }
    const int left = PREVIEW_MARGIN + label + 2 * PREVIEW_GAP;
    const int w = left + per_row * (cell + PREVIEW_GAP) - PREVIEW_GAP + PREVIEW_MARGIN;
    const int h = 2 * PREVIEW_MARGIN + n * (cell + PREVIEW_GAP) - PREVIEW_GAP;
    const tpl_rgb white = {255, 255, 255}, ink = {32, 32, 32};
    tpl_canvas c;
    if (n < 1 || per_row < 1 || cell < 1 || tpl_canvas_init(&c, w, h, white)) {
        tpl_err_set(err, "%s: cannot make a %dx%d preview of %d sets", path, w, h, n);
        return -1;
    }
    for (int r = 0; r < n; r++) {
        const int y = PREVIEW_MARGIN + r * (cell + PREVIEW_GAP);
        tpl_canvas_text(&c, PREVIEW_MARGIN, y + (cell - 7 * PREVIEW_TEXT) / 2, PREVIEW_TEXT,
                        names[r], ink);
        const int k = sets[r]->classes < per_row ? sets[r]->classes : per_row;
        for (int j = 0; k > 0 && j < per_row; j++) {
            const int i = nth_of_class(sets[r], j % k, j / k);
            if (i >= 0) blit(&c, sets[r], i, left + j * (cell + PREVIEW_GAP), y);
        }
    }
    int rc = tpl_canvas_write_png(&c, path, err);
    tpl_canvas_free(&c);
    return rc;
}
