/* Colour maps and the series palette (see colormap.h). */
#include "colormap.h"

#include <math.h>

static double clamp01(double v) { return isnan(v) ? 0.0 : v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* v in [0, 1] through n anchors evenly spaced, linear in between. */
static tpl_rgb interpolate(const tpl_rgb *anchor, int n, double v) {
    const int last = n - 1;
    const double x = clamp01(v) * last;
    const int i = x >= last ? last - 1 : (int)x;
    const double f = x - i;
    const tpl_rgb a = anchor[i], b = anchor[i + 1];
    return (tpl_rgb){(unsigned char)lround(a.r + f * (b.r - a.r)),
                     (unsigned char)lround(a.g + f * (b.g - a.g)),
                     (unsigned char)lround(a.b + f * (b.b - a.b))};
}

tpl_rgb tpl_colormap(double v) {
    /* viridis sampled at 0, 0.1, ..., 1; linear in between is close enough
     * at this spacing */
    static const tpl_rgb anchor[] = {
        {0x44, 0x01, 0x54}, {0x48, 0x24, 0x75}, {0x41, 0x44, 0x87}, {0x35, 0x5f, 0x8d},
        {0x2a, 0x78, 0x8e}, {0x21, 0x91, 0x8c}, {0x22, 0xa8, 0x84}, {0x44, 0xbf, 0x70},
        {0x7a, 0xd1, 0x51}, {0xbd, 0xdf, 0x26}, {0xfd, 0xe7, 0x25},
    };
    return interpolate(anchor, (int)(sizeof anchor / sizeof *anchor), v);
}

tpl_rgb tpl_colormap_blues(double v) {
    /* lightness falling about evenly from white; the hue turns from a pale
     * sky to navy so the dark end stays blue rather than grey */
    static const tpl_rgb anchor[] = {
        {255, 255, 255}, {220, 233, 246}, {176, 208, 234}, {116, 170, 216},
        {60, 128, 190},  {24, 88, 160},   {8, 50, 110},
    };
    return interpolate(anchor, (int)(sizeof anchor / sizeof *anchor), v);
}

tpl_rgb tpl_palette(int i) {
    /* saturated but not garish, each dark enough for a 2 px line on white */
    static const tpl_rgb colour[TPL_PALETTE_SIZE] = {
        {31, 110, 180},  {236, 120, 20}, {40, 150, 60},  {205, 40, 45},  {140, 95, 185},
        {135, 85, 70},   {220, 110, 180}, {100, 100, 100}, {170, 165, 30}, {20, 170, 190},
    };
    const int k = i % TPL_PALETTE_SIZE;
    return colour[k < 0 ? k + TPL_PALETTE_SIZE : k];
}

int tpl_dark(tpl_rgb bg) { return 0.2126 * bg.r + 0.7152 * bg.g + 0.0722 * bg.b < 140.0; }
