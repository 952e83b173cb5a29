/* The FreeType printer: any character of a set of fonts rendered into a
 * small grey or RGB image, at a chosen size, rotation, stroke width, shift
 * and ink/paper colour.  It prints the digits of the "printed" domain
 * (domains.h) and the letters of the script suite (scripts.h).
 *
 * Conventions as in data.h: one-line errors "WHERE: problem", 0 on success. */
#ifndef TPL_PRINTER_H
#define TPL_PRINTER_H
#include <stdint.h>

#include "paths.h"
#include "rng.h"
#include "templar.h"

/* The random choices behind one printed character. */
typedef struct tpl_print_style {
    int font;       /* index into the printer's fonts */
    int size;       /* pixels per em */
    float angle;    /* rotation in radians, counter-clockwise */
    float stroke;   /* pixels added to the stroke width (FT_Outline_Embolden) */
    int dx, dy;     /* shift of the glyph box's centre from the image's */
    uint8_t fg[3], bg[3]; /* ink and paper; a grey image uses [0] */
} tpl_print_style;

/* Ranges of the digits' draws (uniform): size in pixels per em, angle in
 * degrees, stroke in pixels, shift in pixels, and the least luma difference
 * between ink and paper (so every digit stays legible). */
#define TPL_PRINT_SIZE_MIN 18
#define TPL_PRINT_SIZE_MAX 28
#define TPL_PRINT_ANGLE_DEG 15.0f
#define TPL_PRINT_STROKE_MAX 2.0f
#define TPL_PRINT_SHIFT 3
#define TPL_PRINT_MIN_CONTRAST 96

/* The characters a font must have, as Unicode code points. */
typedef struct tpl_charset {
    const uint32_t *ch;
    int n;
} tpl_charset;

typedef struct tpl_printer tpl_printer; /* FreeType and the open fonts */

/* Opens the fonts (face 0 of each file, so one face of a .ttc collection);
 * fonts that are not scalable or lack any character of chars are skipped,
 * a font FreeType cannot open is an error, and so is having none left.
 * NULL on failure. */
tpl_printer *tpl_printer_open_chars(const tpl_paths *fonts, const tpl_charset *chars,
                                    tpl_err *err);
/* The same for the digits 0-9. */
tpl_printer *tpl_printer_open(const tpl_paths *fonts, tpl_err *err);
void tpl_printer_close(tpl_printer *p);
int tpl_printer_fonts(const tpl_printer *p);
const char *tpl_printer_path(const tpl_printer *p, int font);

/* For every font of fonts (face 0) and every set of sets[0..n_sets): has[f *
 * n_sets + s] = 1 when font f is scalable and has every character of set s.
 * A font FreeType cannot open is an error. */
int tpl_fonts_cover(const tpl_paths *fonts, const tpl_charset *sets, int n_sets, uint8_t *has,
                    tpl_err *err);

/* The digits' draws, in a fixed order: font, size, angle, stroke, dx, dy,
 * paper, then ink until it differs from paper by TPL_PRINT_MIN_CONTRAST in
 * luma (after 64 tries, the paper's complement). */
void tpl_print_style_draw(tpl_rng *rng, int n_fonts, tpl_print_style *s);

/* The size of ch's outline box in font f, in ems (unscaled, unrotated), so
 * a caller can choose a size that makes it fit. */
int tpl_printer_extent(tpl_printer *p, int font, uint32_t ch, float *w_em, float *h_em,
                       tpl_err *err);
/* Renders the code point ch as side x side pixels of channels (1 or 3):
 * paper colour, with the glyph's anti-aliased coverage blending in the ink,
 * the glyph's box centred and shifted by (dx, dy); parts outside are cut.
 * Hinting is off (it would fight the rotation and differs between FreeType
 * versions), so a style gives the same pixels everywhere. */
int tpl_printer_render_char(tpl_printer *p, uint32_t ch, const tpl_print_style *s, int side,
                            int channels, uint8_t *px, tpl_err *err);
/* The digit (0-9) in RGB. */
int tpl_printer_render(tpl_printer *p, int digit, const tpl_print_style *s, int side,
                       uint8_t *rgb, tpl_err *err);
#endif
