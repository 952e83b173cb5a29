/* Colours of the figures: an RGB triple, the sequential maps that turn a
 * number in [0, 1] into a colour, and a palette of distinct colours for
 * naming series. */
#ifndef TPL_COLORMAP_H
#define TPL_COLORMAP_H

typedef struct tpl_rgb {
    unsigned char r, g, b;
} tpl_rgb;

/* Viridis of v in [0, 1] (clamped, NaN as 0): dark violet to yellow,
 * brightness rising evenly, so equal steps in weight look like equal steps
 * in colour. */
tpl_rgb tpl_colormap(double v);

/* White to dark blue, v in [0, 1] (clamped, NaN as 0): for shares where 0
 * should vanish into the background (a confusion matrix's empty cells). */
tpl_rgb tpl_colormap_blues(double v);

/* Colour i of a palette of TPL_PALETTE_SIZE distinct, readable-on-white
 * colours; i wraps around. */
#define TPL_PALETTE_SIZE 10
tpl_rgb tpl_palette(int i);

/* 1 if text in col is better shown in white than in dark ink on bg. */
int tpl_dark(tpl_rgb bg);
#endif
