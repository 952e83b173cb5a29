/* Pictures of mixtures: colour map, canvas and bitmap font, PNG and SVG
 * writers, and the heatmap layout both writers render (see plot.h). */
#include "image.h"
#include "plot.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- comparing mixtures -------------------------------------------------- */

double tpl_js_similarity(const float *p, const float *q, int k) {
    double js = 0.0;
    for (int i = 0; i < k; i++) {
        const double m = 0.5 * ((double)p[i] + q[i]);
        /* 0 log 0 = 0; where p or q is positive, so is m */
        if (p[i] > 0) js += 0.5 * p[i] * log2(p[i] / m);
        if (q[i] > 0) js += 0.5 * q[i] * log2(q[i] / m);
    }
    /* rounding can step just outside [0, 1] */
    return js < 0.0 ? 1.0 : js > 1.0 ? 0.0 : 1.0 - js;
}

tpl_sharing tpl_sharing_of(double mean_similarity) {
    if (mean_similarity >= TPL_SHARED_MIN) return TPL_SHARED;
    if (mean_similarity < TPL_SPECIALISED_BELOW) return TPL_SPECIALISED;
    return TPL_PARTLY_SHARED;
}

const char *tpl_sharing_name(tpl_sharing v) {
    static const char *const name[TPL_N_SHARING] = {"shared", "partly shared", "specialised"};
    return (unsigned)v < TPL_N_SHARING ? name[v] : "?";
}

/* ---- colour -------------------------------------------------------------- */

tpl_rgb tpl_colormap(double v) {
    /* viridis sampled at 0, 0.1, ..., 1; linear in between is close enough
     * at this spacing */
    static const tpl_rgb anchor[] = {
        {0x44, 0x01, 0x54}, {0x48, 0x24, 0x75}, {0x41, 0x44, 0x87}, {0x35, 0x5f, 0x8d},
        {0x2a, 0x78, 0x8e}, {0x21, 0x91, 0x8c}, {0x22, 0xa8, 0x84}, {0x44, 0xbf, 0x70},
        {0x7a, 0xd1, 0x51}, {0xbd, 0xdf, 0x26}, {0xfd, 0xe7, 0x25},
    };
    const int last = (int)(sizeof anchor / sizeof *anchor) - 1;
    double x = (isnan(v) ? 0.0 : v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v) * last;
    int i = x >= last ? last - 1 : (int)x;
    double f = x - i;
    const tpl_rgb a = anchor[i], b = anchor[i + 1];
    return (tpl_rgb){(unsigned char)lround(a.r + f * (b.r - a.r)),
                     (unsigned char)lround(a.g + f * (b.g - a.g)),
                     (unsigned char)lround(a.b + f * (b.b - a.b))};
}

/* ---- canvas and font ----------------------------------------------------- */

/* Printable ASCII from ' ' to '~', a glyph per 64 bits: eight rows of five
 * pixels, the top row in the high byte, the left column in bit 4 of a row.
 * Rows 0-6 are the 5x7 body; row 7 holds only descenders (g j p q y ,). */
static const uint64_t font[95] = {
    0x0000000000000000, 0x0404040404000400, 0x0A0A000000000000, 0x0A0A1F0A1F0A0A00,  /*   ! " # */
    0x040F140E051E0400, 0x1819020408130300, 0x0C12140815120D00, 0x0404080000000000,  /* $ % & ' */
    0x0204080808040200, 0x0804020202040800, 0x0004150E15040000, 0x0004041F04040000,  /* ( ) * + */
    0x00000000000C0408, 0x0000001F00000000, 0x00000000000C0C00, 0x0001020408100000,  /* , - . / */
    0x0E11131519110E00, 0x040C040404040E00, 0x0E11010204081F00, 0x1F02040201110E00,  /* 0 1 2 3 */
    0x02060A121F020200, 0x1F101E0101110E00, 0x0608101E11110E00, 0x1F01020408080800,  /* 4 5 6 7 */
    0x0E11110E11110E00, 0x0E11110F01020C00, 0x000C0C000C0C0000, 0x000C0C000C040800,  /* 8 9 : ; */
    0x0204081008040200, 0x00001F001F000000, 0x0804020102040800, 0x0E11010204000400,  /* < = > ? */
    0x0E11010D15150E00, 0x0E11111F11111100, 0x1E11111E11111E00, 0x0E11101010110E00,  /* @ A B C */
    0x1C12111111121C00, 0x1F10101E10101F00, 0x1F10101E10101000, 0x0E11101711110F00,  /* D E F G */
    0x1111111F11111100, 0x0E04040404040E00, 0x0702020202120C00, 0x1112141814121100,  /* H I J K */
    0x1010101010101F00, 0x111B151511111100, 0x1111191513111100, 0x0E11111111110E00,  /* L M N O */
    0x1E11111E10101000, 0x0E11111115120D00, 0x1E11111E14121100, 0x0F10100E01011E00,  /* P Q R S */
    0x1F04040404040400, 0x1111111111110E00, 0x11111111110A0400, 0x1111111515150A00,  /* T U V W */
    0x11110A040A111100, 0x11110A0404040400, 0x1F01020408101F00, 0x0E08080808080E00,  /* X Y Z [ */
    0x0010080402010000, 0x0E02020202020E00, 0x040A110000000000, 0x0000000000001F00,  /* \ ] ^ _ */
    0x0804000000000000, 0x00000E010F110F00, 0x1010161911111E00, 0x00000E1010110E00,  /* ` a b c */
    0x01010D1311110F00, 0x00000E111F100E00, 0x0609081C08080800, 0x00000F11110F010E,  /* d e f g */
    0x1010161911111100, 0x04000C0404040E00, 0x020006020202120C, 0x1010121418141200,  /* h i j k */
    0x0C04040404040E00, 0x00001A1515151500, 0x0000161911111100, 0x00000E1111110E00,  /* l m n o */
    0x00001E11111E1010, 0x00000F11110F0101, 0x0000161910101000, 0x00000F100E011E00,  /* p q r s */
    0x08081C0808090600, 0x0000111111130D00, 0x00001111110A0400, 0x0000111115150A00,  /* t u v w */
    0x0000110A040A1100, 0x00001111110F010E, 0x00001F0204081F00, 0x0204040804040200,  /* x y z { */
    0x0404040404040400, 0x0804040204040800, 0x0000081502000000,  /* | } ~ */
};

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

int tpl_text_width(const char *s, int scale) {
    const int n = (int)strlen(s);
    return n ? (n * TPL_GLYPH_W - 1) * scale : 0; /* no gap after the last */
}

static uint64_t glyph(unsigned char ch) { return font[(ch < ' ' || ch > '~' ? '?' : ch) - ' ']; }

int tpl_canvas_text(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col) {
    for (int n = 0; s[n]; n++) {
        const uint64_t g = glyph((unsigned char)s[n]);
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < 5; b++)
                if (g >> (8 * (7 - r)) & (0x10u >> b))
                    tpl_canvas_fill(c, x + (n * TPL_GLYPH_W + b) * scale, y + r * scale, scale,
                                    scale, col);
    }
    return tpl_text_width(s, scale);
}

/* ---- files --------------------------------------------------------------- */

int tpl_canvas_write_png(const tpl_canvas *c, const char *path, tpl_err *err) {
    return tpl_png_write(path, c->px, c->w, c->h, 3, err);
}

/* ---- heatmap layout -------------------------------------------------------- */

/* The heatmap is laid out once as a list of rectangles and texts in pixels;
 * the PNG and SVG writers only render that list. */
typedef enum { ITEM_RECT, ITEM_TEXT } item_kind;
typedef enum { ANCHOR_START, ANCHOR_MIDDLE, ANCHOR_END } text_anchor;

typedef struct item {
    item_kind kind;
    int x, y, w, h;       /* text: x of the anchor, y of the top; w from the font */
    text_anchor anchor;
    tpl_rgb col;
    char text[80];
} item;

typedef struct scene {
    int w, h;             /* extent so far (right and bottom edges) */
    item *items;
    int n, cap, oom;
} scene;

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

static item *scene_add(scene *sc, item_kind kind, int x, int y, int w, int h) {
    if (sc->n == sc->cap) {
        int cap = sc->cap ? 2 * sc->cap : 256;
        item *p = realloc(sc->items, (size_t)cap * sizeof *p);
        if (!p) return sc->oom = 1, NULL;
        sc->items = p, sc->cap = cap;
    }
    item *it = &sc->items[sc->n++];
    *it = (item){.kind = kind, .x = x, .y = y, .w = w, .h = h};
    if (x + w > sc->w) sc->w = x + w;
    if (y + h > sc->h) sc->h = y + h;
    return it;
}

static void scene_rect(scene *sc, int x, int y, int w, int h, tpl_rgb col) {
    item *it = scene_add(sc, ITEM_RECT, x, y, w, h);
    if (it) it->col = col;
}

/* Left edge of a text w wide whose anchor sits at x. */
static int text_left(int x, text_anchor anchor, int w) { return x - (int)anchor * w / 2; }

/* Text whose anchor (start, middle or end of the line) sits at x. */
static void scene_text(scene *sc, int x, int y, text_anchor anchor, tpl_rgb col, const char *s) {
    char buf[sizeof ((item *)0)->text];
    snprintf(buf, sizeof buf, "%s", s);
    const int w = tpl_text_width(buf, TEXT_SCALE);
    item *it = scene_add(sc, ITEM_TEXT, text_left(x, anchor, w), y, w, LINE_H);
    if (!it) return;
    memcpy(it->text, buf, sizeof buf);
    it->x = x, it->anchor = anchor, it->col = col;
}

/* Bar width of a template: a cell is CELL_W wide while that leaves 4 px a bar. */
static int bar_width(int cells) { return cells * 4 > CELL_W ? 4 : CELL_W / cells; }

/* One group's label, block numbers and cells from x; returns its width. */
static int layout_group(scene *sc, const tpl_heatmap *hm, const tpl_heatmap_group *g, int x,
                        int y_label, int y_cells) {
    const int bw = bar_width(g->cells), cw = g->cells * bw;
    char num[16];
    scene_text(sc, x, y_label, ANCHOR_START, INK, g->label);
    for (int c = 0; c < g->cols; c++) {
        const int cx = x + c * (cw + CELL_GAP);
        snprintf(num, sizeof num, "%d", c);
        scene_text(sc, cx + cw / 2, y_label + LINE_H, ANCHOR_MIDDLE, MUTED, num);
        for (int r = 0; r < hm->rows; r++)
            for (int k = 0; k < g->cells; k++)  /* a 1 px gap keeps the bars apart */
                scene_rect(sc, cx + k * bw, y_cells + r * (CELL_H + ROW_GAP), bw - 1, CELL_H,
                           tpl_colormap(g->w[((size_t)r * g->cols + c) * g->cells + k]));
    }
    const int w = g->cols * (cw + CELL_GAP) - CELL_GAP, lw = tpl_text_width(g->label, TEXT_SCALE);
    return w > lw ? w : lw;
}

/* The colour bar from 0 to 1 with its ticks, and how to read a cell. */
static void layout_legend(scene *sc, int x, int y) {
    scene_text(sc, x - LABEL_GAP, y, ANCHOR_END, INK, "weight");
    for (int i = 0; i < BAR_STEPS; i++)
        scene_rect(sc, x + i * BAR_W / BAR_STEPS, y, BAR_W / BAR_STEPS, CAP_H,
                   tpl_colormap((i + 0.5) / BAR_STEPS));
    static const char *const tick[] = {"0", "0.25", "0.5", "0.75", "1"};
    for (int i = 0; i < 5; i++) {  /* the last tick on the bar's last pixel */
        scene_rect(sc, x + i * BAR_W / 4 - (i == 4), y + CAP_H, 1, 4, INK);
        scene_text(sc, x + i * BAR_W / 4, y + CAP_H + 6, ANCHOR_MIDDLE, MUTED, tick[i]);
    }
    scene_text(sc, MARGIN, y + CAP_H + 6 + LINE_H + 8, ANCHOR_START, MUTED,
               "a cell: one bar per template, 0 at the left");
}

static int heatmap_layout(const tpl_heatmap *hm, scene *sc) {
    *sc = (scene){0};
    int label_w = tpl_text_width("weight", TEXT_SCALE); /* the widest fixed label */
    for (int r = 0; r < hm->rows; r++) {
        const int w = tpl_text_width(hm->row_labels[r], TEXT_SCALE);
        if (w > label_w) label_w = w;
    }
    const int x0 = MARGIN + label_w + LABEL_GAP, y_label = MARGIN + LINE_H + 8;
    const int y_cells = y_label + 2 * LINE_H + 2;
    scene_text(sc, MARGIN, MARGIN, ANCHOR_START, INK, hm->title);
    scene_text(sc, x0 - LABEL_GAP, y_label + LINE_H, ANCHOR_END, MUTED, "block");
    for (int r = 0; r < hm->rows; r++)
        scene_text(sc, x0 - LABEL_GAP, y_cells + r * (CELL_H + ROW_GAP) + (CELL_H - CAP_H) / 2,
                   ANCHOR_END, INK, hm->row_labels[r]);
    for (int g = 0, x = x0; g < hm->n_groups; g++)
        x += layout_group(sc, hm, &hm->group[g], x, y_label, y_cells) + GROUP_GAP;
    layout_legend(sc, x0, y_cells + hm->rows * (CELL_H + ROW_GAP) + 12);
    sc->w += MARGIN, sc->h += MARGIN;
    return sc->oom ? -1 : 0;
}

/* ---- heatmap writers ------------------------------------------------------- */

static int scene_draw(const scene *sc, tpl_canvas *c) {
    if (tpl_canvas_init(c, sc->w, sc->h, BG)) return -1;
    for (int i = 0; i < sc->n; i++) {
        const item *it = &sc->items[i];
        if (it->kind == ITEM_RECT)
            tpl_canvas_fill(c, it->x, it->y, it->w, it->h, it->col);
        else
            tpl_canvas_text(c, text_left(it->x, it->anchor, it->w), it->y, TEXT_SCALE, it->text,
                            it->col);
    }
    return 0;
}

int tpl_heatmap_write_png(const tpl_heatmap *hm, const char *path, int *w, int *h,
                          tpl_err *err) {
    scene sc;
    tpl_canvas c = {0};
    int rc = heatmap_layout(hm, &sc) || scene_draw(&sc, &c);
    if (rc) tpl_err_set(err, "%s: out of memory", path);
    else rc = tpl_canvas_write_png(&c, path, err);
    if (!rc && w) *w = c.w;
    if (!rc && h) *h = c.h;
    tpl_canvas_free(&c);
    free(sc.items);
    return rc ? -1 : 0;
}

/* Text content, with XML's special characters escaped and control
 * characters (not allowed in XML) shown as '?', as the PNG shows them. */
static void svg_escaped(FILE *fp, const char *s) {
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '&') fputs("&amp;", fp);
        else if (ch == '<') fputs("&lt;", fp);
        else if (ch == '>') fputs("&gt;", fp);
        else fputc(ch < ' ' || ch == 0x7f ? '?' : ch, fp);
    }
}

static void svg_fill(FILE *fp, tpl_rgb c) {
    fprintf(fp, "fill=\"#%02x%02x%02x\"", c.r, c.g, c.b);
}

static int svg_write(FILE *fp, const void *ctx) {
    static const char *const anchor[] = {"start", "middle", "end"};
    const scene *sc = ctx;
    /* monospace at 10 px per scale step advances about 6 px a character and
     * has capitals about 7 px tall: the bitmap font's metrics, so the layout
     * fits both */
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"%d\">\n",
            sc->w, sc->h, sc->w, sc->h, 10 * TEXT_SCALE);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" ");
    svg_fill(fp, BG);
    fputs("/>\n", fp);
    for (int i = 0; i < sc->n; i++) {
        const item *it = &sc->items[i];
        if (it->kind == ITEM_RECT) {
            fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" ", it->x, it->y,
                    it->w, it->h);
            svg_fill(fp, it->col);
            fputs("/>\n", fp);
            continue;
        }
        fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" ", it->x, it->y + CAP_H,
                anchor[it->anchor]);
        svg_fill(fp, it->col);
        fputc('>', fp);
        svg_escaped(fp, it->text);
        fputs("</text>\n", fp);
    }
    fputs("</svg>\n", fp);
    return ferror(fp) ? -1 : 0;
}

int tpl_heatmap_write_svg(const tpl_heatmap *hm, const char *path, tpl_err *err) {
    scene sc;
    int rc = heatmap_layout(hm, &sc);
    if (rc) tpl_err_set(err, "%s: out of memory", path);
    else rc = tpl_write_atomic(path, svg_write, &sc, err);
    free(sc.items);
    return rc ? -1 : 0;
}
