/* The FreeType printer (see printer.h). */
#include "printer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#define PI_F 3.14159265358979f

struct tpl_printer {
    FT_Library lib;
    int n;
    FT_Face *face;
    char **path; /* for messages */
};

static const uint32_t digit_chars[10] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
static const tpl_charset digits = {digit_chars, 10};

/* Scalable, and with a glyph for every character in its (Unicode) charmap. */
static int has_chars(FT_Face f, const tpl_charset *cs) {
    if (!FT_IS_SCALABLE(f)) return 0;
    for (int i = 0; i < cs->n; i++)
        if (!FT_Get_Char_Index(f, cs->ch[i])) return 0;
    return 1;
}

void tpl_printer_close(tpl_printer *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        FT_Done_Face(p->face[i]);
        free(p->path[i]);
    }
    if (p->lib) FT_Done_FreeType(p->lib);
    free(p->face);
    free(p->path);
    free(p);
}

static int open_face(FT_Library lib, const char *path, FT_Face *f, tpl_err *err) {
    FT_Error e = FT_New_Face(lib, path, 0, f);
    if (!e) return 0;
    tpl_err_set(err, "%s: FreeType cannot open this font (error 0x%02x)", path, e);
    return -1;
}

/* Opens one font into p, or skips it when it lacks a character. */
static int printer_add(tpl_printer *p, const char *path, const tpl_charset *cs, tpl_err *err) {
    FT_Face f;
    if (open_face(p->lib, path, &f, err)) return -1;
    if (!has_chars(f, cs)) {
        FT_Done_Face(f);
        return 0;
    }
    if (!(p->path[p->n] = strdup(path))) {
        FT_Done_Face(f);
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    p->face[p->n++] = f;
    return 0;
}

static int start_freetype(FT_Library *lib, tpl_err *err) {
    if (!FT_Init_FreeType(lib)) return 0;
    *lib = NULL;
    tpl_err_set(err, "fonts: FreeType failed to start");
    return -1;
}

/* what names the characters in the message when no font has them all. */
static tpl_printer *open_fonts(const tpl_paths *fonts, const tpl_charset *cs, const char *what,
                               tpl_err *err) {
    size_t cap = (size_t)(fonts->n > 0 ? fonts->n : 1);
    tpl_printer *p = calloc(1, sizeof *p);
    if (!p || !(p->face = calloc(cap, sizeof *p->face)) ||
        !(p->path = calloc(cap, sizeof *p->path))) {
        tpl_printer_close(p);
        tpl_err_set(err, "fonts: out of memory");
        return NULL;
    }
    if (start_freetype(&p->lib, err)) {
        tpl_printer_close(p);
        return NULL;
    }
    for (int i = 0; i < fonts->n; i++)
        if (printer_add(p, fonts->path[i], cs, err)) {
            tpl_printer_close(p);
            return NULL;
        }
    if (p->n == 0) {
        tpl_err_set(err, "fonts: none of the %d font files has %s", fonts->n, what);
        tpl_printer_close(p);
        return NULL;
    }
    return p;
}

tpl_printer *tpl_printer_open(const tpl_paths *fonts, tpl_err *err) {
    return open_fonts(fonts, &digits, "the digits 0-9", err);
}

tpl_printer *tpl_printer_open_chars(const tpl_paths *fonts, const tpl_charset *chars,
                                    tpl_err *err) {
    char what[64];
    snprintf(what, sizeof what, "all %d characters (U+%04X ...)", chars->n,
             chars->n ? (unsigned)chars->ch[0] : 0u);
    return open_fonts(fonts, chars, what, err);
}

int tpl_printer_fonts(const tpl_printer *p) { return p->n; }

const char *tpl_printer_path(const tpl_printer *p, int font) {
    return font >= 0 && font < p->n ? p->path[font] : NULL;
}

int tpl_fonts_cover(const tpl_paths *fonts, const tpl_charset *sets, int n_sets, uint8_t *has,
                    tpl_err *err) {
    FT_Library lib;
    if (start_freetype(&lib, err)) return -1;
    int rc = 0;
    for (int i = 0; i < fonts->n && !rc; i++) {
        FT_Face f;
        rc = open_face(lib, fonts->path[i], &f, err);
        if (rc) break;
        for (int s = 0; s < n_sets; s++) has[(size_t)i * n_sets + s] = (uint8_t)has_chars(f, &sets[s]);
        FT_Done_Face(f);
    }
    FT_Done_FreeType(lib);
    return rc;
}

static int luma(const uint8_t *c) { return (299 * c[0] + 587 * c[1] + 114 * c[2] + 500) / 1000; }

static void random_rgb(tpl_rng *rng, uint8_t *c) {
    for (int k = 0; k < 3; k++) c[k] = (uint8_t)tpl_rng_below(rng, 256);
}

void tpl_print_style_draw(tpl_rng *rng, int n_fonts, tpl_print_style *s) {
    s->font = (int)tpl_rng_below(rng, (uint32_t)n_fonts);
    s->size = TPL_PRINT_SIZE_MIN +
              (int)tpl_rng_below(rng, TPL_PRINT_SIZE_MAX - TPL_PRINT_SIZE_MIN + 1);
    s->angle = (2.0f * tpl_rng_uniform(rng) - 1.0f) * TPL_PRINT_ANGLE_DEG * (PI_F / 180.0f);
    s->stroke = tpl_rng_uniform(rng) * TPL_PRINT_STROKE_MAX;
    s->dx = (int)tpl_rng_below(rng, 2 * TPL_PRINT_SHIFT + 1) - TPL_PRINT_SHIFT;
    s->dy = (int)tpl_rng_below(rng, 2 * TPL_PRINT_SHIFT + 1) - TPL_PRINT_SHIFT;
    random_rgb(rng, s->bg);
    for (int tries = 0;; tries++) {
        random_rgb(rng, s->fg);
        if (abs(luma(s->fg) - luma(s->bg)) >= TPL_PRINT_MIN_CONTRAST) return;
        if (tries == 63) break;
    }
    memset(s->fg, luma(s->bg) < 128 ? 255 : 0, 3); /* white on dark, black on light */
}

/* Paper everywhere, then the glyph's coverage blends in the ink, the glyph
 * box centred and shifted by (dx, dy); what falls outside is cut. */
static void paint(const FT_Bitmap *b, const tpl_print_style *s, int side, int ch, uint8_t *px) {
    const size_t C = (size_t)ch;
    for (int i = 0; i < side * side; i++) memcpy(px + C * i, s->bg, C);
    const int x0 = (side - (int)b->width) / 2 + s->dx, y0 = (side - (int)b->rows) / 2 + s->dy;
    for (int r = 0; r < (int)b->rows; r++) {
        const int y = y0 + r;
        if (y < 0 || y >= side) continue;
        const uint8_t *row = b->buffer + (size_t)r * (size_t)b->pitch;
        for (int c = 0; c < (int)b->width; c++) {
            const int x = x0 + c;
            const unsigned a = row[c];
            if (x < 0 || x >= side || !a) continue;
            uint8_t *o = px + C * ((size_t)y * side + x);
            for (size_t k = 0; k < C; k++)
                o[k] = (uint8_t)((s->bg[k] * (255u - a) + s->fg[k] * a + 127u) / 255u);
        }
    }
}

/* Loads ch as an outline rotated by the style's angle, thickens it and
 * renders 256-level coverage into the face's glyph slot. */
static FT_Error render_glyph(FT_Face f, uint32_t ch, const tpl_print_style *s) {
    const FT_Fixed c = (FT_Fixed)lroundf(cosf(s->angle) * 65536.0f);
    const FT_Fixed sn = (FT_Fixed)lroundf(sinf(s->angle) * 65536.0f);
    FT_Matrix m = {c, -sn, sn, c};
    FT_Error e = FT_Set_Pixel_Sizes(f, 0, (FT_UInt)s->size);
    if (e) return e;
    FT_Set_Transform(f, &m, NULL);
    e = FT_Load_Char(f, (FT_ULong)ch, FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING);
    if (e) return e;
    if (f->glyph->format != FT_GLYPH_FORMAT_OUTLINE) return FT_Err_Invalid_Glyph_Format;
    e = FT_Outline_Embolden(&f->glyph->outline, (FT_Pos)lroundf(s->stroke * 64.0f));
    if (e) return e;
    e = FT_Render_Glyph(f->glyph, FT_RENDER_MODE_NORMAL);
    if (e) return e;
    const FT_Bitmap *b = &f->glyph->bitmap;
    if (b->rows && (b->pixel_mode != FT_PIXEL_MODE_GRAY || b->pitch < (int)b->width))
        return FT_Err_Invalid_Glyph_Format; /* not the 8-bit coverage asked for */
    return 0;
}

/* Renders after the caller checked the arguments; what names ch in errors. */
static int render(tpl_printer *p, uint32_t ch, const char *what, const tpl_print_style *s,
                  int side, int channels, uint8_t *px, tpl_err *err) {
    FT_Error e = render_glyph(p->face[s->font], ch, s);
    if (e) {
        tpl_err_set(err, "%s: FreeType cannot render %s at %d px (error 0x%02x)",
                    p->path[s->font], what, s->size, e);
        return -1;
    }
    paint(&p->face[s->font]->glyph->bitmap, s, side, channels, px);
    return 0;
}

int tpl_printer_render(tpl_printer *p, int digit, const tpl_print_style *s, int side,
                       uint8_t *rgb, tpl_err *err) {
    if (digit < 0 || digit > 9 || s->font < 0 || s->font >= p->n || side < 1 || s->size < 1) {
        tpl_err_set(err, "printed: cannot render digit %d in font %d of %d at %d px", digit,
                    s->font, p->n, s->size);
        return -1;
    }
    char what[8];
    snprintf(what, sizeof what, "'%d'", digit);
    return render(p, (uint32_t)('0' + digit), what, s, side, 3, rgb, err);
}

int tpl_printer_render_char(tpl_printer *p, uint32_t ch, const tpl_print_style *s, int side,
                            int channels, uint8_t *px, tpl_err *err) {
    if (s->font < 0 || s->font >= p->n || side < 1 || s->size < 1 ||
        (channels != 1 && channels != 3)) {
        tpl_err_set(err, "printer: cannot render U+%04X in font %d of %d at %d px, %d channels",
                    (unsigned)ch, s->font, p->n, s->size, channels);
        return -1;
    }
    char what[16];
    snprintf(what, sizeof what, "U+%04X", (unsigned)ch);
    return render(p, ch, what, s, side, channels, px, err);
}

int tpl_printer_extent(tpl_printer *p, int font, uint32_t ch, float *w_em, float *h_em,
                       tpl_err *err) {
    if (font < 0 || font >= p->n) {
        tpl_err_set(err, "printer: no font %d of %d", font, p->n);
        return -1;
    }
    FT_Face f = p->face[font];
    FT_Set_Transform(f, NULL, NULL);
    FT_Error e = FT_Load_Char(f, (FT_ULong)ch, FT_LOAD_NO_SCALE | FT_LOAD_NO_BITMAP);
    if (!e && f->glyph->format != FT_GLYPH_FORMAT_OUTLINE) e = FT_Err_Invalid_Glyph_Format;
    if (e) {
        tpl_err_set(err, "%s: FreeType cannot load U+%04X (error 0x%02x)", p->path[font],
                    (unsigned)ch, e);
        return -1;
    }
    FT_BBox box;
    FT_Outline_Get_CBox(&f->glyph->outline, &box);
    const float em = (float)f->units_per_EM;
    *w_em = (float)(box.xMax - box.xMin) / em;
    *h_em = (float)(box.yMax - box.yMin) / em;
    return 0;
}
