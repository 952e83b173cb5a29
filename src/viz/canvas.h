/* An RGB canvas in memory: filled rectangles, anti-aliased lines and discs,
 * text in a built-in bitmap font (font.c), saved as PNG through libpng.
 * Pixel (i, j) covers [i, i+1) x [j, j+1), so a line through y = j + 0.5
 * one pixel wide lands exactly on row j. */
#ifndef TPL_CANVAS_H
#define TPL_CANVAS_H
#include "colormap.h"
#include "templar.h"

typedef struct tpl_canvas {
    int w, h;
    unsigned char *px; /* [h][w][3] RGB */
} tpl_canvas;

int tpl_canvas_init(tpl_canvas *c, int w, int h, tpl_rgb bg); /* -1: no memory */
void tpl_canvas_free(tpl_canvas *c);
/* Fills a rectangle, clipped to the canvas. */
void tpl_canvas_fill(tpl_canvas *c, int x, int y, int w, int h, tpl_rgb col);
/* Mixes col into pixel (x, y) with weight alpha in [0, 1]; outside: nothing. */
void tpl_canvas_blend(tpl_canvas *c, int x, int y, tpl_rgb col, float alpha);
/* A polyline through n points xy[2i], xy[2i+1], width px wide with round
 * joins and ends, anti-aliased; dash > 0 draws dash px on, dash px off along
 * its length.  Every pixel is covered once however the segments overlap.
 * -1 if out of memory (nothing drawn). */
int tpl_canvas_polyline(tpl_canvas *c, const float *xy, int n, float width, float dash,
                        tpl_rgb col);
/* A filled disc, anti-aliased. */
void tpl_canvas_disc(tpl_canvas *c, float cx, float cy, float r, tpl_rgb col);
/* Writes the canvas as an 8-bit RGB PNG, atomically (see fileio.h). */
int tpl_canvas_write_png(const tpl_canvas *c, const char *path, tpl_err *err);

/* ---- text (font.c) ----------------------------------------------------------
 * Glyphs are 5x7 (plus a descender row) in a 6x9 cell, times scale.  Text is
 * UTF-8: a character outside printable ASCII (a whole UTF-8 sequence, or a
 * byte that is not one) shows as '?' and takes one cell. */
#define TPL_GLYPH_W 6
#define TPL_GLYPH_H 9

/* Bytes of the character that starts at s: a whole UTF-8 sequence (no
 * overlongs, surrogates or code points past U+10FFFF), or 1 for a byte that
 * starts none; 0 at the terminating NUL. */
int tpl_utf8_char_len(const char *s);
/* Characters of s as the font counts them. */
int tpl_text_chars(const char *s);
/* Width in pixels of s at scale: no gap after the last character. */
int tpl_text_width(const char *s, int scale);
/* Draws text with its cell's top-left corner at (x, y).  Returns the width. */
int tpl_canvas_text(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col);
/* Draws text turned a quarter left, reading upwards: the first character's
 * cell has its bottom-left corner at (x, y), the glyphs' tops face left (the
 * text occupies x .. x + TPL_GLYPH_H * scale, y - width .. y).  Returns the
 * width. */
int tpl_canvas_text_up(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col);
#endif
