/* The training curves figure's layout (see curves.h). */
#include "curves.h"

#include "scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_SCALE 2
#define LINE_H (TPL_GLYPH_H * TEXT_SCALE)
#define CAP_H (7 * TEXT_SCALE)
#define MARGIN 16
#define GAP 8
#define PLOT_W 640
#define PLOT_H 260
#define PANEL_GAP 24
#define TICK 5
#define SAMPLE_W 32 /* a legend's line sample */
#define DASH 6.0f
#define MAX_DOTS 200 /* more evaluations than this: the dots would merge into the line */

static const tpl_rgb BG = {255, 255, 255}, INK = {34, 34, 34}, MUTED = {110, 110, 110},
                     FRAME = {190, 190, 190}, GRIDLINE = {236, 236, 236};

typedef struct axis {
    double lo, hi, step; /* range and tick spacing */
    int percent;         /* ticks as percentages of 1 */
    int thousands;       /* ticks in thousands ("2k") */
} axis;

typedef struct panel {
    int x, y;             /* the plot area's top-left corner */
    tpl_log_series train_step, train_epoch, test;
    const char *label;
    axis ax, ay;
} panel;

/* ---- axes ------------------------------------------------------------------- */

/* A tick spacing of 1, 2 or 5 times a power of ten giving about n ticks. */
static double nice_step(double span, int n) {
    const double raw = span / n, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

/* [lo, hi] widened to whole ticks; an empty range opened up first. */
static axis make_axis(double lo, double hi, double floor_at, double ceil_at) {
    if (!(hi > lo)) {
        const double pad = lo == 0.0 ? 1.0 : fabs(lo) * 0.1;
        lo -= pad, hi += pad;
    }
    if (lo < floor_at) lo = floor_at;
    if (hi > ceil_at) hi = ceil_at;
    axis a = {.step = nice_step(hi - lo, 5)};
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    return a;
}

/* Decimals that tell ticks step apart. */
static int decimals(double step) {
    const int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static void tick_label(const axis *a, double v, char *out, size_t size) {
    if (fabs(v) < a->step * 1e-6) v = 0.0; /* no "-0" */
    if (a->percent)
        snprintf(out, size, "%.*f%%", decimals(a->step * 100), v * 100);
    else if (a->thousands && v != 0.0)
        snprintf(out, size, "%.*fk", decimals(a->step / 1000), v / 1000);
    else
        snprintf(out, size, "%.*f", decimals(a->step), v);
}

/* Ticks of an axis: the first at or above lo, then every step. */
static int n_ticks(const axis *a) { return (int)floor((a->hi - a->lo) / a->step + 1e-6) + 1; }
static double tick(const axis *a, int i) { return a->lo + i * a->step; }

/* ---- which series, what range ----------------------------------------------- */

/* The series drawn for a task's training: per logging interval if any. */
static const tpl_series *train_series(const tpl_log_task *t, const panel *p) {
    return t->s[p->train_step].n ? &t->s[p->train_step] : &t->s[p->train_epoch];
}

static void range_of(const tpl_series *s, double *lo, double *hi) {
    for (int i = 0; i < s->n; i++) {
        if (s->y[i] < *lo) *lo = s->y[i];
        if (s->y[i] > *hi) *hi = s->y[i];
    }
}

/* Whether the log has any point for the panel. */
static int panel_has_data(const tpl_trainlog *log, const panel *p) {
    for (int t = 0; t < log->n_tasks; t++)
        if (train_series(&log->task[t], p)->n || log->task[t].s[p->test].n) return 1;
    return 0;
}

static void y_axis(const tpl_trainlog *log, panel *p, int percent) {
    double lo = INFINITY, hi = -INFINITY;
    for (int t = 0; t < log->n_tasks; t++) {
        range_of(train_series(&log->task[t], p), &lo, &hi);
        range_of(&log->task[t].s[p->test], &lo, &hi);
    }
    if (lo > hi) lo = 0.0, hi = 1.0;
    /* losses from 0; accuracies within [0, 1] */
    p->ay = percent ? make_axis(lo, hi, 0.0, 1.0) : make_axis(lo < 0.0 ? lo : 0.0, hi, -INFINITY,
                                                                 INFINITY);
    p->ay.percent = percent;
}

static axis x_axis(const tpl_trainlog *log) {
    double hi = 1.0;
    for (int t = 0; t < log->n_tasks; t++)
        for (int k = 0; k < TPL_LOG_N_SERIES; k++) {
            const tpl_series *s = &log->task[t].s[k];
            if (s->n && s->x[s->n - 1] > hi) hi = s->x[s->n - 1];
        }
    axis a = make_axis(0.0, hi, 0.0, INFINITY);
    if (a.step < 1.0) { /* steps are whole */
        a.step = 1.0;
        a.hi = ceil(a.hi);
    }
    a.thousands = a.step >= 1000.0;
    return a;
}

/* ---- drawing -------------------------------------------------------------------- */

static float px_x(const panel *p, double x) {
    return (float)(p->x + (x - p->ax.lo) / (p->ax.hi - p->ax.lo) * PLOT_W);
}

/* y on the plot area, clamped to it (a value off the axis stays at its edge). */
static float px_y(const panel *p, double y) {
    double f = (y - p->ay.lo) / (p->ay.hi - p->ay.lo);
    f = f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
    return (float)(p->y + PLOT_H - f * PLOT_H);
}

/* The series as points on the plot; with more points than pixels across,
 * the means of the points in each pixel's column (the raw line would be a
 * smear, and the SVG huge).  Returns the points written to xy (room for
 * s->n). */
static int plot_points(const panel *p, const tpl_series *s, float *xy) {
    int n = 0;
    if (s->n <= 2 * PLOT_W) {
        for (int i = 0; i < s->n; i++, n++)
            xy[2 * n] = px_x(p, s->x[i]), xy[2 * n + 1] = px_y(p, s->y[i]);
        return n;
    }
    for (int i = 0; i < s->n;) {
        const int column = (int)floorf(px_x(p, s->x[i]));
        double sx = 0.0, sy = 0.0;
        int k = 0;
        for (; i < s->n && (int)floorf(px_x(p, s->x[i])) == column; i++, k++)
            sx += s->x[i], sy += s->y[i];
        xy[2 * n] = px_x(p, sx / k), xy[2 * n + 1] = px_y(p, sy / k), n++;
    }
    return n;
}

static void series_line(tpl_scene *sc, const panel *p, const tpl_series *s, tpl_rgb col,
                        float width, float dash, float dot) {
    if (!s->n) return;
    float *xy = calloc((size_t)s->n * 2, sizeof *xy);
    if (!xy) {
        sc->oom = 1;
        return;
    }
    const int n = plot_points(p, s, xy);
    tpl_scene_line(sc, xy, n, width, dash, col);
    if (dot > 0.0f && n <= MAX_DOTS)
        for (int i = 0; i < n; i++) tpl_scene_disc(sc, xy[2 * i], xy[2 * i + 1], dot, col);
    free(xy);
}

/* Colour of a task's training and test curves: a colour a task; a
 * single-task log's training and test get one each. */
static tpl_rgb colour_of(const tpl_trainlog *log, int t, int test) {
    return tpl_palette(log->n_tasks == 1 ? test : t);
}

static void layout_axes(tpl_scene *sc, const panel *p) {
    char label[32];
    for (int i = 0; i < n_ticks(&p->ay); i++) {
        const int y = (int)lrintf(px_y(p, tick(&p->ay, i)) - 0.5f);
        tpl_scene_rect(sc, p->x, y, PLOT_W, 1, GRIDLINE);
        tpl_scene_rect(sc, p->x - TICK, y, TICK, 1, INK);
        tick_label(&p->ay, tick(&p->ay, i), label, sizeof label);
        tpl_scene_text(sc, p->x - TICK - 4, y - CAP_H / 2, TPL_ANCHOR_END, MUTED, label);
    }
    for (int i = 0; i < n_ticks(&p->ax); i++) {
        const int x = (int)lrintf(px_x(p, tick(&p->ax, i)) - 0.5f);
        tpl_scene_rect(sc, x, p->y, 1, PLOT_H, GRIDLINE);
        tpl_scene_rect(sc, x, p->y + PLOT_H, 1, TICK, INK);
        tick_label(&p->ax, tick(&p->ax, i), label, sizeof label);
        tpl_scene_text(sc, x, p->y + PLOT_H + TICK + 4, TPL_ANCHOR_MIDDLE, MUTED, label);
    }
    /* the frame, over the grid */
    tpl_scene_rect(sc, p->x - 1, p->y - 1, PLOT_W + 2, 1, FRAME);
    tpl_scene_rect(sc, p->x - 1, p->y + PLOT_H, PLOT_W + 2, 1, INK);
    tpl_scene_rect(sc, p->x - 1, p->y, 1, PLOT_H, INK);
    tpl_scene_rect(sc, p->x + PLOT_W, p->y, 1, PLOT_H, FRAME);
}

static void layout_panel(tpl_scene *sc, const tpl_trainlog *log, const panel *p) {
    tpl_scene_text_up(sc, MARGIN, p->y + PLOT_H / 2, TEXT_SCALE, TPL_ANCHOR_MIDDLE, INK, p->label);
    if (!panel_has_data(log, p)) {
        char note[64];
        snprintf(note, sizeof note, "no %s in this log", p->label);
        tpl_scene_rect(sc, p->x - 1, p->y - 1, PLOT_W + 2, PLOT_H + 2, FRAME);
        tpl_scene_rect(sc, p->x, p->y, PLOT_W, PLOT_H, BG);
        tpl_scene_text(sc, p->x + PLOT_W / 2, p->y + (PLOT_H - CAP_H) / 2, TPL_ANCHOR_MIDDLE, MUTED,
                       note);
        return;
    }
    layout_axes(sc, p);
    for (int t = 0; t < log->n_tasks; t++) {
        const tpl_log_task *k = &log->task[t];
        const tpl_series *tr = train_series(k, p);
        /* per-epoch training points are few: dots mark them */
        const float dot = tr == &k->s[p->train_epoch] ? 2.5f : 0.0f;
        series_line(sc, p, tr, colour_of(log, t, 0), 2.0f, 0.0f, dot);
        series_line(sc, p, &k->s[p->test], colour_of(log, t, 1), 2.0f, DASH, 3.0f);
    }
}

/* ---- the legend -------------------------------------------------------------------- */

static int has_series(const tpl_trainlog *log, int test) {
    for (int t = 0; t < log->n_tasks; t++)
        for (int k = 0; k < TPL_LOG_N_SERIES; k++)
            if (log->task[t].s[k].n &&
                (k == TPL_LOG_TEST_LOSS || k == TPL_LOG_TEST_ACC) == test) return 1;
    return 0;
}

/* A line sample and its text, the line's middle at y's text middle. */
static void legend_entry(tpl_scene *sc, int x, int y, tpl_rgb col, int test, const char *text) {
    const float ym = y + CAP_H / 2.0f, xy[4] = {(float)x, ym, (float)(x + SAMPLE_W), ym};
    tpl_scene_line(sc, xy, 2, 2.0f, test ? DASH : 0.0f, col);
    if (test) tpl_scene_disc(sc, x + SAMPLE_W / 2.0f, ym, 3.0f, col);
    tpl_scene_text(sc, x + SAMPLE_W + GAP, y, TPL_ANCHOR_START, INK, text);
}

static void layout_legend(tpl_scene *sc, const tpl_trainlog *log, int x, int y) {
    const int row = LINE_H + 6, train = has_series(log, 0), test = has_series(log, 1);
    if (log->n_tasks == 1) {
        const char *name = log->task[0].name;
        if (name) tpl_scene_text(sc, x, y, TPL_ANCHOR_START, INK, name), y += row;
        if (train) legend_entry(sc, x, y, colour_of(log, 0, 0), 0, "train"), y += row;
        if (test) legend_entry(sc, x, y, colour_of(log, 0, 1), 1, "test");
        return;
    }
    for (int t = 0; t < log->n_tasks; t++, y += row) {
        const tpl_rgb col = colour_of(log, t, 0);
        tpl_scene_rect(sc, x, y, SAMPLE_W, CAP_H, col);
        tpl_scene_text(sc, x + SAMPLE_W + GAP, y, TPL_ANCHOR_START, INK,
                       log->task[t].name ? log->task[t].name : "(unnamed)");
    }
    y += GAP;
    if (train) legend_entry(sc, x, y, MUTED, 0, "train"), y += row;
    if (test) legend_entry(sc, x, y, MUTED, 1, "test");
}

/* ---- the figure ------------------------------------------------------------------------ */

/* s cut to at most chars characters, ending in "..." when cut. */
static void cut_text(char *out, size_t size, const char *s, int chars) {
    size_t n = 0;
    const int cut = tpl_text_chars(s) > chars;
    for (int k = 0, len; k < (cut ? chars - 3 : chars) && (len = tpl_utf8_char_len(s + n)) &&
                         n + len + 4 <= size;
         k++)
        n += len;
    memcpy(out, s, n);
    strcpy(out + n, cut ? "..." : "");
}

/* Widest y tick label of the panels. */
static int tick_width(const panel *p, int n) {
    int w = 0;
    char label[32];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n_ticks(&p[i].ay); k++) {
            tick_label(&p[i].ay, tick(&p[i].ay, k), label, sizeof label);
            const int lw = tpl_text_width(label, TEXT_SCALE);
            if (lw > w) w = lw;
        }
    return w;
}

static void layout(tpl_scene *sc, const tpl_trainlog *log, tpl_curves_metric metrics,
                   const char *title) {
    tpl_scene_init(sc, BG, TEXT_SCALE);
    panel p[2];
    int n = 0;
    if (metrics & TPL_CURVES_LOSS)
        p[n++] = (panel){.train_step = TPL_LOG_STEP_LOSS, .train_epoch = TPL_LOG_TRAIN_LOSS,
                         .test = TPL_LOG_TEST_LOSS, .label = "loss"};
    if (metrics & TPL_CURVES_ACC)
        p[n++] = (panel){.train_step = TPL_LOG_STEP_ACC, .train_epoch = TPL_LOG_TRAIN_ACC,
                         .test = TPL_LOG_TEST_ACC, .label = "accuracy"};
    const axis ax = x_axis(log);
    for (int i = 0; i < n; i++) {
        p[i].ax = ax;
        y_axis(log, &p[i], p[i].train_step == TPL_LOG_STEP_ACC);
    }
    int y = MARGIN;
    if (title && *title) {
        tpl_scene_text(sc, MARGIN, y, TPL_ANCHOR_START, INK, title);
        y += LINE_H + 4;
    }
    const int x0 = MARGIN + LINE_H + GAP + tick_width(p, n) + TICK + 4;
    if (log->command) { /* under the title, as wide as the plots */
        char cmd[TPL_SCENE_TEXT_MAX];
        cut_text(cmd, sizeof cmd, log->command, (x0 + PLOT_W - MARGIN) / TPL_GLYPH_W);
        tpl_scene_text_scaled(sc, MARGIN, y, 1, TPL_ANCHOR_START, MUTED, cmd);
        y += TPL_GLYPH_H + 4;
    }
    y += GAP + CAP_H / 2; /* room for the top tick's label */
    for (int i = 0; i < n; i++) {
        p[i].x = x0, p[i].y = y;
        layout_panel(sc, log, &p[i]);
        y += PLOT_H + TICK + 4 + LINE_H + PANEL_GAP;
    }
    tpl_scene_text(sc, x0 + PLOT_W / 2, y - PANEL_GAP + 4, TPL_ANCHOR_MIDDLE, INK, "step");
    layout_legend(sc, log, x0 + PLOT_W + 3 * GAP, p[0].y);
    sc->w += MARGIN, sc->h += MARGIN;
}

int tpl_curves_write(const tpl_trainlog *log, tpl_curves_metric metrics, const char *title,
                     const char *png, const char *svg, tpl_err *err) {
    if (!(metrics & TPL_CURVES_BOTH) || (metrics & ~TPL_CURVES_BOTH)) {
        tpl_err_set(err, "%s: no metric to plot", png ? png : svg ? svg : "curves");
        return -1;
    }
    tpl_scene sc;
    layout(&sc, log, metrics, title);
    const int rc = tpl_scene_write(&sc, png, svg, err);
    tpl_scene_free(&sc);
    return rc;
}
