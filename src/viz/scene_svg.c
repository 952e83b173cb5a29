/* A scene as SVG (see scene.h): the same items, as vector shapes and text. */
#include "scene.h"

static const char *const anchor_name[] = {"start", "middle", "end"};

/* Text content: XML's special characters escaped; what the PNG shows as '?'
 * (control characters, which XML does not allow, and bytes that are not
 * UTF-8) shown as '?' too; other characters as they are. */
static void escaped(FILE *fp, const char *s) {
    for (int len; (len = tpl_utf8_char_len(s)); s += len) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '&') fputs("&amp;", fp);
        else if (ch == '<') fputs("&lt;", fp);
        else if (ch == '>') fputs("&gt;", fp);
        else if (len > 1) fwrite(s, 1, (size_t)len, fp);
        else fputc(ch < ' ' || ch >= 0x7f ? '?' : ch, fp);
    }
}

static void colour(FILE *fp, const char *attr, tpl_rgb c) {
    fprintf(fp, "%s=\"#%02x%02x%02x\"", attr, c.r, c.g, c.b);
}

static void rect(FILE *fp, const tpl_scene_item *it) {
    fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" ", it->x, it->y, it->w, it->h);
    colour(fp, "fill", it->col);
    fputs("/>\n", fp);
}

/* The baseline lies a capital's height (7 px a scale step) below the top of
 * the line; read upwards, that far right of its left edge. */
static void text(FILE *fp, const tpl_scene *sc, const tpl_scene_item *it) {
    const int cap = 7 * it->scale;
    if (it->up)
        fprintf(fp, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" ", it->x + cap, it->y,
                it->x + cap, it->y);
    else
        fprintf(fp, "<text x=\"%d\" y=\"%d\" ", it->x, it->y + cap);
    if (it->scale != sc->text_scale) fprintf(fp, "font-size=\"%d\" ", 10 * it->scale);
    fprintf(fp, "text-anchor=\"%s\" ", anchor_name[it->anchor]);
    colour(fp, "fill", it->col);
    fputc('>', fp);
    escaped(fp, it->text);
    fputs("</text>\n", fp);
}

static void line(FILE *fp, const tpl_scene *sc, const tpl_scene_item *it) {
    const float *p = sc->pts + 2 * (size_t)it->first;
    fputs("<polyline points=\"", fp);
    /* a single point is a segment of length 0: its round ends make a dot */
    for (int i = 0; i < (it->n > 1 ? it->n : 2); i++) {
        const int k = it->n > 1 ? i : 0;
        fprintf(fp, "%s%.6g,%.6g", i ? " " : "", p[2 * k], p[2 * k + 1]);
    }
    fputs("\" fill=\"none\" ", fp);
    colour(fp, "stroke", it->col);
    fprintf(fp, " stroke-width=\"%.6g\" stroke-linejoin=\"round\"", it->width);
    if (it->dash > 0) /* the PNG's dashes end square */
        fprintf(fp, " stroke-linecap=\"butt\" stroke-dasharray=\"%.6g\"", it->dash);
    else
        fputs(" stroke-linecap=\"round\"", fp);
    fputs("/>\n", fp);
}

static void disc(FILE *fp, const tpl_scene_item *it) {
    fprintf(fp, "<circle cx=\"%.6g\" cy=\"%.6g\" r=\"%.6g\" ", it->cx, it->cy, it->r);
    colour(fp, "fill", it->col);
    fputs("/>\n", fp);
}

int tpl_scene_svg(const tpl_scene *sc, FILE *fp) {
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"%d\">\n",
            sc->w, sc->h, sc->w, sc->h, 10 * sc->text_scale);
    fputs("<rect width=\"100%\" height=\"100%\" ", fp);
    colour(fp, "fill", sc->bg);
    fputs("/>\n", fp);
    for (int i = 0; i < sc->n; i++) {
        const tpl_scene_item *it = &sc->items[i];
        switch (it->kind) {
        case TPL_ITEM_RECT: rect(fp, it); break;
        case TPL_ITEM_TEXT: text(fp, sc, it); break;
        case TPL_ITEM_LINE: line(fp, sc, it); break;
        case TPL_ITEM_DISC: disc(fp, it); break;
        }
    }
    fputs("</svg>\n", fp);
    return ferror(fp) ? -1 : 0;
}
