/* The bitmap font: printable ASCII in 5x7 glyphs, drawn on a canvas across
 * or upwards (see canvas.h). */
#include "canvas.h"

#include <stdint.h>

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

static int continuation(unsigned char b, unsigned char lo, unsigned char hi) {
    return b >= lo && b <= hi;
}

int tpl_utf8_char_len(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    if (!p[0]) return 0;
    if (p[0] < 0x80) return 1;
    /* the second byte's range excludes overlongs (E0, F0), surrogates (ED)
     * and code points past U+10FFFF (F4); a NUL is never a continuation, so
     * nothing is read past the end */
    if (p[0] >= 0xC2 && p[0] <= 0xDF) return continuation(p[1], 0x80, 0xBF) ? 2 : 1;
    if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        const unsigned char lo = p[0] == 0xE0 ? 0xA0 : 0x80, hi = p[0] == 0xED ? 0x9F : 0xBF;
        return continuation(p[1], lo, hi) && continuation(p[2], 0x80, 0xBF) ? 3 : 1;
    }
    if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        const unsigned char lo = p[0] == 0xF0 ? 0x90 : 0x80, hi = p[0] == 0xF4 ? 0x8F : 0xBF;
        return continuation(p[1], lo, hi) && continuation(p[2], 0x80, 0xBF) &&
                       continuation(p[3], 0x80, 0xBF) ? 4 : 1;
    }
    return 1;
}

int tpl_text_chars(const char *s) {
    int n = 0;
    for (int len; (len = tpl_utf8_char_len(s)); s += len) n++;
    return n;
}

int tpl_text_width(const char *s, int scale) {
    const int n = tpl_text_chars(s);
    return n ? (n * TPL_GLYPH_W - 1) * scale : 0; /* no gap after the last */
}

/* The glyph of the character at *s, which moves past it. */
static uint64_t next_glyph(const char **s) {
    const unsigned char ch = (unsigned char)**s;
    const int len = tpl_utf8_char_len(*s);
    *s += len;
    return font[(len > 1 || ch < ' ' || ch > '~' ? '?' : ch) - ' '];
}

static int glyph_pixel(uint64_t g, int row, int col) {
    return g >> (8 * (7 - row)) & (0x10u >> col);
}

/* Draws s from (x, y), across, or with up rotated a quarter turn
 * anticlockwise: a glyph's row r becomes a column r to the right of x, its
 * column b a row that far above y. */
static int draw_text(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col,
                     int up) {
    const int width = tpl_text_width(s, scale);
    for (int n = 0; *s; n++) {
        const uint64_t g = next_glyph(&s);
        for (int r = 0; r < 8; r++)
            for (int b = 0; b < 5; b++) {
                if (!glyph_pixel(g, r, b)) continue;
                const int along = (n * TPL_GLYPH_W + b) * scale, across = r * scale;
                if (up)
                    tpl_canvas_fill(c, x + across, y - along - scale, scale, scale, col);
                else
                    tpl_canvas_fill(c, x + along, y + across, scale, scale, col);
            }
    }
    return width;
}

int tpl_canvas_text(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col) {
    return draw_text(c, x, y, scale, s, col, 0);
}

int tpl_canvas_text_up(tpl_canvas *c, int x, int y, int scale, const char *s, tpl_rgb col) {
    return draw_text(c, x, y, scale, s, col, 1);
}
