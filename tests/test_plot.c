/* plot: mixture similarity and verdicts, the colour maps, the bitmap font
 * (across, upwards, UTF-8), anti-aliased lines and discs, PNG round trips,
 * atomic writes that fail cleanly, the scene's PNG and SVG renderers, the
 * heatmap's PNG and SVG coming from one layout (and unchanged, pixel for
 * pixel, since the scene was split out of it), the confusion matrix figure,
 * the training log reader and the curves figure. */
#include <dirent.h>
#include <stdint.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "json.h"
#include "plot.h"
#include "rng.h"
#include "testfiles.h"

static const tpl_rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0};

/* ---- similarity and verdicts ------------------------------------------------ */

static void random_mixture(tpl_rng *r, float *p, int k) {
    float sum = 0.0f;
    for (int i = 0; i < k; i++) sum += p[i] = tpl_rng_uniform(r) * tpl_rng_uniform(r);
    for (int i = 0; i < k; i++) p[i] /= sum;
}

static void test_similarity(void) {
    const float u[4] = {0.25f, 0.25f, 0.25f, 0.25f}, p[4] = {0.7f, 0.1f, 0.15f, 0.05f};
    const float e0[4] = {1, 0, 0, 0}, e1[4] = {0, 1, 0, 0}, half[2] = {0.5f, 0.5f};
    CHECK(fabs(tpl_js_similarity(u, u, 4) - 1.0) < 1e-12);
    CHECK(fabs(tpl_js_similarity(p, p, 4) - 1.0) < 1e-12);
    CHECK(fabs(tpl_js_similarity(e0, e0, 4) - 1.0) < 1e-12);
    CHECK(fabs(tpl_js_similarity(e0, e1, 4)) < 1e-12); /* disjoint: exactly 1 bit apart */
    /* (1, 0) against (1/2, 1/2): JS = 3/4 log2(4/3) + 1/4 log2 2 ... by hand */
    const double js = 0.5 * log2(1 / 0.75) + 0.25 * log2(0.5 / 0.75) + 0.25 * log2(0.5 / 0.25);
    CHECK_MSG(fabs(tpl_js_similarity(e0, half, 2) - (1.0 - js)) < 1e-9, "%.9f vs %.9f",
              tpl_js_similarity(e0, half, 2), 1.0 - js);
    tpl_rng r;
    tpl_rng_seed(&r, 7);
    for (int i = 0; i < 200; i++) {
        float a[5], b[5];
        random_mixture(&r, a, 5);
        random_mixture(&r, b, 5);
        const double s = tpl_js_similarity(a, b, 5);
        CHECK(s >= 0.0 && s <= 1.0);
        CHECK(fabs(s - tpl_js_similarity(b, a, 5)) < 1e-12);
    }
}

static void test_verdict(void) {
    CHECK(tpl_sharing_of(1.0) == TPL_SHARED);
    /* the documented thresholds, written out: shared >= 0.9 > partly >= 0.6 */
    CHECK(tpl_sharing_of(0.9) == TPL_SHARED);
    CHECK(tpl_sharing_of(0.9 - 1e-6) == TPL_PARTLY_SHARED);
    CHECK(tpl_sharing_of(0.75) == TPL_PARTLY_SHARED);
    CHECK(tpl_sharing_of(0.6) == TPL_PARTLY_SHARED);
    CHECK(tpl_sharing_of(0.6 - 1e-6) == TPL_SPECIALISED);
    CHECK(tpl_sharing_of(0.0) == TPL_SPECIALISED);
    CHECK(!strcmp(tpl_sharing_name(TPL_SHARED), "shared"));
    CHECK(!strcmp(tpl_sharing_name(TPL_PARTLY_SHARED), "partly shared"));
    CHECK(!strcmp(tpl_sharing_name(TPL_SPECIALISED), "specialised"));
}

/* ---- colour map ------------------------------------------------------------ */

static int same_rgb(tpl_rgb a, tpl_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
static double luma(tpl_rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

static void test_colormap(void) {
    const tpl_rgb lo = {0x44, 0x01, 0x54}, hi = {0xfd, 0xe7, 0x25};
    CHECK(same_rgb(tpl_colormap(0.0), lo));
    CHECK(same_rgb(tpl_colormap(1.0), hi));
    CHECK(same_rgb(tpl_colormap(-3.0), lo));
    CHECK(same_rgb(tpl_colormap(7.0), hi));
    CHECK(same_rgb(tpl_colormap(NAN), lo));
    /* sequential: brighter with every step up */
    for (int i = 1; i <= 100; i++)
        CHECK_MSG(luma(tpl_colormap(i / 100.0)) > luma(tpl_colormap((i - 1) / 100.0)), "at %d", i);
}

/* ---- canvas and font ------------------------------------------------------- */

static int ink(const tpl_canvas *c, int x, int y, int w, int h) {
    int n = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) n += c->px[3 * ((size_t)j * c->w + i)] == 0;
    return n;
}

static void test_canvas(void) {
    tpl_canvas c;
    CHECK(tpl_canvas_init(&c, 10, 6, WHITE) == 0);
    tpl_canvas_fill(&c, -5, -5, 7, 8, BLACK); /* clipped to x 0..1, y 0..2 */
    tpl_canvas_fill(&c, 8, 4, 100, 100, BLACK); /* clipped to x 8..9, y 4..5 */
    tpl_canvas_fill(&c, 20, 20, 3, 3, BLACK);   /* wholly outside */
    CHECK(ink(&c, 0, 0, 10, 6) == 6 + 4);
    CHECK(ink(&c, 0, 0, 2, 3) == 6 && ink(&c, 8, 4, 2, 2) == 4);
    tpl_canvas_free(&c);
    CHECK(c.px == NULL);
}

/* Pixels of one character drawn at scale 1, as a bit string. */
static void glyph_bits(char ch, char out[TPL_GLYPH_W * TPL_GLYPH_H + 1]) {
    tpl_canvas c;
    char s[2] = {ch, 0};
    tpl_canvas_init(&c, TPL_GLYPH_W, TPL_GLYPH_H, WHITE);
    tpl_canvas_text(&c, 0, 0, 1, s, BLACK);
    for (int i = 0; i < TPL_GLYPH_W * TPL_GLYPH_H; i++) out[i] = c.px[3 * i] ? '.' : '#';
    out[TPL_GLYPH_W * TPL_GLYPH_H] = 0;
    tpl_canvas_free(&c);
}

static void test_font(void) {
    static char bits[95][TPL_GLYPH_W * TPL_GLYPH_H + 1];
    for (int ch = ' '; ch <= '~'; ch++) glyph_bits((char)ch, bits[ch - ' ']);
    CHECK(!strchr(bits[0], '#'));               /* space is blank */
    for (int i = 1; i < 95; i++) {
        CHECK_MSG(strchr(bits[i], '#'), "'%c' draws nothing", i + ' ');
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(bits[i], bits[j]), "'%c' looks like '%c'", i + ' ', j + ' ');
        /* the spacing column stays clear, so letters never touch */
        for (int r = 0; r < TPL_GLYPH_H; r++) CHECK(bits[i][r * TPL_GLYPH_W + 5] == '.');
    }
    char other[TPL_GLYPH_W * TPL_GLYPH_H + 1];
    glyph_bits('\x01', other);
    CHECK(!strcmp(other, bits['?' - ' ']));
    glyph_bits((char)0xe9, other);
    CHECK(!strcmp(other, bits['?' - ' ']));
    CHECK(tpl_text_width("", 2) == 0);
    CHECK(tpl_text_width("ab", 1) == 2 * TPL_GLYPH_W - 1);
    CHECK(tpl_text_width("ab", 3) == 3 * (2 * TPL_GLYPH_W - 1));
    /* scale 2 is scale 1 with every pixel doubled */
    tpl_canvas c1, c2;
    tpl_canvas_init(&c1, 40, 10, WHITE);
    tpl_canvas_init(&c2, 80, 20, WHITE);
    CHECK(tpl_canvas_text(&c1, 1, 1, 1, "g1", BLACK) == tpl_text_width("g1", 1));
    tpl_canvas_text(&c2, 2, 2, 2, "g1", BLACK);
    CHECK(ink(&c2, 0, 0, 80, 20) == 4 * ink(&c1, 0, 0, 40, 10));
    tpl_canvas_free(&c1);
    tpl_canvas_free(&c2);
}

/* ---- files ------------------------------------------------------------------ */


/* Entries of the scratch directory whose name holds ".tmp": temporary
 * files left behind. */
static int leftovers(void) {
    DIR *d = opendir(scratch_root);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_png_round_trip(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/c.png", scratch_root);
    tpl_canvas c;
    tpl_canvas_init(&c, 13, 7, WHITE);
    for (int i = 0; i < 13; i++) tpl_canvas_fill(&c, i, i % 7, 1, 1, tpl_colormap(i / 12.0));
    tpl_err err = {{0}};
    CHECK_MSG(tpl_canvas_write_png(&c, path, &err) == 0, "%s", err.msg);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_file(&img, path));
    CHECK(img.width == 13 && img.height == 7);
    img.format = PNG_FORMAT_RGB;
    unsigned char *back = malloc(PNG_IMAGE_SIZE(img));
    CHECK(back && png_image_finish_read(&img, NULL, back, 0, NULL));
    CHECK(back && !memcmp(back, c.px, 13 * 7 * 3));
    png_image_free(&img);
    free(back);
    tpl_canvas_free(&c);
    CHECK(leftovers() == 0);
}

static void test_write_failures(void) {
    tpl_canvas c;
    tpl_canvas_init(&c, 4, 4, WHITE);
    tpl_err err = {{0}};
    /* cannot create the temporary file */
    CHECK(tpl_canvas_write_png(&c, "/nonexistent-dir/x.png", &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.png") && !strchr(err.msg, '\n'));
    /* the temporary file is written, but cannot replace a directory: removed */
    char path[256];
    snprintf(path, sizeof path, "%s/adir", scratch_root);
    CHECK(mkdir(path, 0755) == 0);
    err.msg[0] = 0;
    CHECK(tpl_canvas_write_png(&c, path, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "rename"), "%s", err.msg);
    CHECK(leftovers() == 0);
    CHECK(rmdir(path) == 0);
    tpl_canvas_free(&c);
}

/* ---- the heatmap ------------------------------------------------------------ */

/* FNV-1a, 64 bits: a fingerprint of a picture. */
static uint64_t fnv1a(const void *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return h;
}

/* A PNG file's pixels as RGB, malloc'd; NULL if it does not read. */
static unsigned char *read_png(const char *path, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) return NULL;
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        png_image_free(&img);
        free(px);
        return NULL;
    }
    *w = (int)img.width, *h = (int)img.height;
    return px;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

static void test_heatmap(void) {
    /* 2 tasks; stage 0: 3 blocks x 2 templates, stage 1: 2 blocks x 4 */
    const float w0[2 * 3 * 2] = {1, 0, 0.5f, 0.5f, 0, 1, 0.2f, 0.8f, 0.9f, 0.1f, 0.3f, 0.7f};
    float w1[2 * 2 * 4];
    for (int i = 0; i < 16; i++) w1[i] = (i % 4 == i / 4 % 4) ? 1.0f : 0.0f;
    const char *labels[] = {"plain", "a<&b"};
    const tpl_heatmap hm = {.title = "test \"heatmap\"", .rows = 2, .row_labels = labels,
                            .n_groups = 2,
                            .group = {{"stage 0", 3, 2, w0}, {"stage 1", 2, 4, w1}}};
    char png[256], svg[256], want[64];
    snprintf(png, sizeof png, "%s/h.png", scratch_root);
    snprintf(svg, sizeof svg, "%s/h.svg", scratch_root);
    tpl_err err = {{0}};
    int w = 0, h = 0;
    CHECK_MSG(tpl_heatmap_write_png(&hm, png, &w, &h, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_heatmap_write_svg(&hm, svg, &err) == 0, "%s", err.msg);
    CHECK(w > 100 && w < 2000 && h > 100 && h < 2000);
    char *s = read_text(svg);
    CHECK(s != NULL);
    if (!s) return;
    /* one layout: the SVG has the PNG's size */
    snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", w, h);
    CHECK_MSG(strstr(s, want), "SVG lacks %s", want);
    CHECK(!strncmp(s, "<?xml", 5) && strstr(s, "<svg") && strstr(s, "</svg>\n"));
    CHECK(count(s, "<rect") >= 2 * (3 * 2 + 2 * 4) + 1);
    CHECK(count(s, "<text") == count(s, "</text>"));
    CHECK(strstr(s, ">plain</text>") && strstr(s, ">a&lt;&amp;b</text>") && !strstr(s, "a<&b"));
    CHECK(strstr(s, ">stage 1</text>"));
    CHECK(strstr(s, "fill=\"#fde725\"") && strstr(s, "fill=\"#440154\"")); /* weights 1 and 0 */
    /* the same picture as before the scene was split out of the heatmap:
     * hashes of the SVG's bytes and of the PNG's decoded pixels (not of the
     * PNG file, whose compression may differ between libpng versions) */
    CHECK_MSG(fnv1a(s, strlen(s)) == 0x8a1b0a203f5edaccull && strlen(s) == 7156,
              "SVG changed: %zu bytes, hash %016llx", strlen(s),
              (unsigned long long)fnv1a(s, strlen(s)));
    int pw, ph;
    unsigned char *px = read_png(png, &pw, &ph);
    CHECK(px && pw == 546 && ph == 252);
    CHECK_MSG(px && fnv1a(px, (size_t)pw * ph * 3) == 0xe3601833c2dab1c5ull,
              "PNG pixels changed: hash %016llx",
              px ? (unsigned long long)fnv1a(px, (size_t)pw * ph * 3) : 0ull);
    free(px);
    free(s);
    CHECK(leftovers() == 0);
    unlink(png);
    unlink(svg);
}

/* ---- lines, discs, text upwards, UTF-8 ------------------------------------- */

/* Darkness of a pixel on a white canvas drawn in black: 0 untouched, 255 full. */
static int dark(const tpl_canvas *c, int x, int y) { return 255 - c->px[3 * ((size_t)y * c->w + x)]; }

static int pixels_equal(const tpl_canvas *a, const tpl_canvas *b) {
    return a->w == b->w && a->h == b->h && !memcmp(a->px, b->px, (size_t)a->w * a->h * 3);
}

static void test_lines(void) {
    tpl_canvas c;
    /* one pixel wide along the middle of row 5: exactly that row, with
     * half-covered round ends */
    tpl_canvas_init(&c, 20, 10, WHITE);
    const float h[4] = {2, 5.5f, 18, 5.5f};
    CHECK(tpl_canvas_polyline(&c, h, 2, 1.0f, 0.0f, BLACK) == 0);
    for (int x = 2; x < 18; x++) CHECK_MSG(dark(&c, x, 5) == 255, "x %d", x);
    CHECK(dark(&c, 1, 5) > 100 && dark(&c, 1, 5) < 155 && dark(&c, 18, 5) > 100 &&
          dark(&c, 18, 5) < 155);
    CHECK(dark(&c, 0, 5) == 0 && dark(&c, 19, 5) == 0);
    for (int x = 0; x < 20; x++) CHECK(dark(&c, x, 4) == 0 && dark(&c, x, 6) == 0);
    tpl_canvas_free(&c);
    /* three wide down the middle of column 10: columns 9-11, nothing beside */
    tpl_canvas_init(&c, 20, 12, WHITE);
    const float v[4] = {10.5f, 1, 10.5f, 11};
    tpl_canvas_polyline(&c, v, 2, 3.0f, 0.0f, BLACK);
    for (int y = 1; y < 11; y++)
        CHECK_MSG(dark(&c, 9, y) == 255 && dark(&c, 10, y) == 255 && dark(&c, 11, y) == 255 &&
                      dark(&c, 8, y) == 0 && dark(&c, 12, y) == 0, "row %d", y);
    tpl_canvas_free(&c);
    /* a diagonal: through the centres of (i, i), away from (i, i + 3) */
    tpl_canvas_init(&c, 20, 20, WHITE);
    const float d[4] = {0, 0, 20, 20};
    tpl_canvas_polyline(&c, d, 2, 2.0f, 0.0f, BLACK);
    for (int i = 1; i < 17; i++)
        CHECK_MSG(dark(&c, i, i) == 255 && dark(&c, i, i + 3) == 0 && dark(&c, i + 3, i) == 0 &&
                      dark(&c, i, i + 1) == dark(&c, i + 1, i), "at %d", i);
    tpl_canvas_free(&c);
    /* dashes of 4: pixels 0-3 on, 4-7 off, 8-11 on */
    tpl_canvas_init(&c, 20, 10, WHITE);
    const float dd[4] = {0, 5.5f, 20, 5.5f};
    tpl_canvas_polyline(&c, dd, 2, 1.0f, 4.0f, BLACK);
    for (int x = 0; x < 16; x++)
        CHECK_MSG(dark(&c, x, 5) == (x / 4 % 2 ? 0 : 255), "dash at %d: %d", x, dark(&c, x, 5));
    tpl_canvas_free(&c);
    /* a polyline over itself is no darker than once: coverage is blended once */
    tpl_canvas a, b;
    tpl_canvas_init(&a, 20, 20, WHITE);
    tpl_canvas_init(&b, 20, 20, WHITE);
    const float once[4] = {2, 3.2f, 17, 15.7f}, twice[6] = {2, 3.2f, 17, 15.7f, 2, 3.2f};
    const tpl_rgb grey = {128, 128, 128};
    tpl_canvas_polyline(&a, once, 2, 1.5f, 0.0f, grey);
    tpl_canvas_polyline(&b, twice, 3, 1.5f, 0.0f, grey);
    CHECK(pixels_equal(&a, &b));
    /* nothing drawn for points off the canvas, not numbers, or no points */
    const float off[6] = {-1e30f, 5, 1e30f, 7, NAN, NAN};
    tpl_canvas_init(&c, 20, 20, WHITE);
    CHECK(tpl_canvas_polyline(&c, off, 3, 2.0f, 0.0f, BLACK) == 0);
    CHECK(tpl_canvas_polyline(&c, off, 0, 2.0f, 0.0f, BLACK) == 0);
    const float far[4] = {100, 100, 200, 300};
    CHECK(tpl_canvas_polyline(&c, far, 2, 2.0f, 0.0f, BLACK) == 0);
    tpl_canvas_disc(&c, NAN, 3, 2, BLACK);
    tpl_canvas_disc(&c, 1e30f, 3, 2, BLACK);
    tpl_canvas_free(&b);
    tpl_canvas_init(&b, 20, 20, WHITE);
    CHECK(pixels_equal(&c, &b));
    /* a disc of radius 3 about (10, 10) */
    tpl_canvas_disc(&c, 10, 10, 3, BLACK);
    CHECK(dark(&c, 10, 10) == 255 && dark(&c, 9, 9) == 255 && dark(&c, 11, 8) == 255);
    CHECK(dark(&c, 10, 14) == 0 && dark(&c, 14, 10) == 0 && dark(&c, 6, 6) == 0);
    tpl_canvas_free(&a);
    tpl_canvas_free(&b);
    tpl_canvas_free(&c);
}

static void test_text_up(void) {
    /* upwards is across turned a quarter left: pixel (u, v) of the text
     * across lands at (v, bottom - 1 - u) */
    const char *s = "Ag{7";
    const int w = tpl_text_width(s, 2), hh = TPL_GLYPH_H * 2;
    tpl_canvas across, up;
    tpl_canvas_init(&across, w, hh, WHITE);
    tpl_canvas_init(&up, hh, w, WHITE);
    CHECK(tpl_canvas_text(&across, 0, 0, 2, s, BLACK) == w);
    CHECK(tpl_canvas_text_up(&up, 0, w, 2, s, BLACK) == w);
    int same = 1, inked = 0;
    for (int v = 0; v < hh; v++)
        for (int u = 0; u < w; u++) {
            same &= dark(&across, u, v) == dark(&up, v, w - 1 - u);
            inked += dark(&across, u, v) > 0;
        }
    CHECK(same && inked > 50);
    tpl_canvas_free(&across);
    tpl_canvas_free(&up);
}

static void test_utf8(void) {
    CHECK(tpl_text_chars("") == 0 && tpl_text_chars("abc") == 3);
    CHECK(tpl_text_chars("caf\xc3\xa9") == 4);               /* é: two bytes, one character */
    CHECK(tpl_text_chars("\xe2\x82\xac" "1") == 2);           /* the euro sign */
    CHECK(tpl_text_chars("\xf0\x9f\x98\x80") == 1);           /* four bytes */
    CHECK(tpl_text_chars("a\xff" "b") == 3);                  /* a stray byte counts alone */
    CHECK(tpl_text_chars("\xe2\x82") == 2);                   /* a torn sequence: bytes */
    CHECK(tpl_text_chars("\xc0\xaf") == 2);                   /* overlong */
    CHECK(tpl_text_chars("\xed\xa0\x80") == 3);               /* a surrogate */
    CHECK(tpl_text_chars("\xf4\x90\x80\x80") == 4);           /* past U+10FFFF */
    CHECK(tpl_text_width("\xc3\xa9t\xc3\xa9", 1) == 3 * TPL_GLYPH_W - 1);
    /* a character the font lacks is drawn as '?', once */
    char q[TPL_GLYPH_W * TPL_GLYPH_H + 1], e[TPL_GLYPH_W * TPL_GLYPH_H + 1];
    glyph_bits('?', q);
    tpl_canvas c;
    tpl_canvas_init(&c, TPL_GLYPH_W, TPL_GLYPH_H, WHITE);
    tpl_canvas_text(&c, 0, 0, 1, "\xc3\xa9", BLACK);
    for (int i = 0; i < TPL_GLYPH_W * TPL_GLYPH_H; i++) e[i] = c.px[3 * i] ? '.' : '#';
    e[TPL_GLYPH_W * TPL_GLYPH_H] = 0;
    CHECK(!strcmp(q, e));
    tpl_canvas_free(&c);
}

/* ---- the scene ---------------------------------------------------------------- */

/* The SVG of a scene, as a string (malloc'd). */
static char *scene_svg(const tpl_scene *sc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return NULL;
    const int rc = tpl_scene_svg(sc, fp);
    fclose(fp);
    if (rc) free(buf);
    return rc ? NULL : buf;
}

/* Every element is closed: <svg> and <text> by their end tags, the rest by
 * "/>", and no '<' or '&' stands in text unescaped. */
static int svg_balanced(const char *s) {
    int open = 0, self = 0, text = count(s, "<text"), shapes = 0;
    for (const char *p = s; (p = strchr(p, '<')); p++) {
        if (p[1] == '/' || p[1] == '?') continue;
        open++;
        const char *end = strchr(p, '>');
        if (!end) return 0;
        if (end[-1] == '/') self++;
        else if (strncmp(p, "<svg", 4) && strncmp(p, "<text", 5)) return 0;
        shapes += !strncmp(p, "<rect", 5) || !strncmp(p, "<polyline", 9) || !strncmp(p, "<circle", 7);
    }
    for (const char *p = s; (p = strchr(p, '&')); p++)
        if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4)) return 0;
    return count(s, "<svg") == 1 && count(s, "</svg>") == 1 && count(s, "</text>") == text &&
           self == shapes && open == 1 + text + shapes;
}

static void test_scene(void) {
    tpl_scene sc;
    tpl_scene_init(&sc, WHITE, 2);
    tpl_scene_rect(&sc, 4, 4, 10, 6, BLACK);
    tpl_scene_text(&sc, 50, 20, TPL_ANCHOR_MIDDLE, BLACK, "a<b & c>d");
    tpl_scene_text_scaled(&sc, 0, 40, 1, TPL_ANCHOR_START, BLACK, "small \x01 caf\xc3\xa9 \xff");
    tpl_scene_text_up(&sc, 100, 80, 2, TPL_ANCHOR_END, BLACK, "up");
    const float line[6] = {10, 60.5f, 40.5f, 60.5f, 40.5f, 90}, dots[2] = {70, 70};
    const float dashed[4] = {10, 50, 40, 50};
    tpl_scene_line(&sc, line, 3, 1.0f, 0.0f, BLACK);
    tpl_scene_line(&sc, dashed, 2, 2.0f, 3.0f, BLACK);
    tpl_scene_line(&sc, dots, 1, 4.0f, 0.0f, BLACK);
    tpl_scene_disc(&sc, 60, 30, 3, BLACK);
    CHECK(!sc.oom && sc.n == 8);
    /* the extent takes in everything: the upward text ends at y 80 and hangs
     * below it by its length */
    CHECK_MSG(sc.w == 100 + TPL_GLYPH_H * 2 && sc.h == 80 + tpl_text_width("up", 2), "%dx%d",
              sc.w, sc.h);
    tpl_canvas c;
    CHECK(tpl_scene_render(&sc, &c) == 0);
    CHECK(c.w == sc.w && c.h == sc.h);
    CHECK(dark(&c, 4, 4) == 255 && dark(&c, 13, 9) == 255 && dark(&c, 14, 9) == 0);
    CHECK(dark(&c, 20, 60) == 255 && dark(&c, 20, 61) == 0 && dark(&c, 40, 75) == 255 &&
          dark(&c, 41, 75) == 0);
    CHECK(dark(&c, 11, 49) == 255 && dark(&c, 11, 50) == 255 && dark(&c, 14, 49) == 0); /* dashes */
    CHECK(dark(&c, 60, 30) == 255 && dark(&c, 70, 70) == 255);
    tpl_canvas_free(&c);
    char *s = scene_svg(&sc);
    CHECK(s != NULL);
    if (s) {
        CHECK_MSG(svg_balanced(s), "%s", s);
        CHECK(strstr(s, ">a&lt;b &amp; c&gt;d</text>"));
        CHECK(strstr(s, ">small ? caf\xc3\xa9 ?</text>")); /* as the PNG shows it */
        CHECK(strstr(s, "font-size=\"10\" text-anchor=\"start\"")); /* scale 1 of a scale-2 scene */
        CHECK(strstr(s, "transform=\"rotate(-90 114 80)\" text-anchor=\"end\""));
        CHECK(strstr(s, "<polyline points=\"10,60.5 40.5,60.5 40.5,90\""));
        CHECK(strstr(s, "stroke-dasharray=\"3\""));
        CHECK(strstr(s, "<polyline points=\"70,70 70,70\"")); /* a dot */
        CHECK(strstr(s, "<circle cx=\"60\" cy=\"30\" r=\"3\""));
        free(s);
    }
    /* a long text is cut at a character boundary */
    tpl_scene_free(&sc);
    CHECK(sc.n == 0 && sc.items == NULL && sc.text_scale == 2);
    char longer[200] = "";
    for (int i = 0; i < 50; i++) strcat(longer, "\xc3\xa9");
    tpl_scene_text(&sc, 0, 0, TPL_ANCHOR_START, BLACK, longer);
    CHECK(strlen(sc.items[0].text) == TPL_SCENE_TEXT_MAX - 2 &&
          tpl_text_chars(sc.items[0].text) == (TPL_SCENE_TEXT_MAX - 2) / 2);
    tpl_scene_free(&sc);
}

/* ---- the confusion matrix --------------------------------------------------- */

/* A k-class matrix, mostly right: n on the diagonal, a few errors. */
static long *confusion_counts(int k, long n) {
    long *m = calloc((size_t)k * k, sizeof *m);
    for (int r = 0; m && r < k; r++) {
        m[(size_t)r * k + r] = n;
        m[(size_t)r * k + (r + 1) % k] += r % 3 == 0 ? 3 : 0;
        m[(size_t)r * k + (r + 7) % k] += r % 5 == 1 ? 40 : 0;
    }
    return m;
}

static int png_size_of(const char *path, int *w, int *h) {
    unsigned char *px = read_png(path, w, h);
    free(px);
    return px ? 0 : -1;
}

/* A figure written as png and svg: checks that the PNG's size lies within
 * (w_min, w_max) x (h_min, h_max) and that the SVG is balanced and of the
 * same size; the SVG's text (malloc'd), or NULL when it does not read. */
static char *check_twins(const char *png, const char *svg, int w_min, int w_max, int h_min,
                         int h_max) {
    int w = 0, h = 0;
    char want[64];
    CHECK_MSG(png_size_of(png, &w, &h) == 0 && w > w_min && w < w_max && h > h_min && h < h_max,
              "%s: %dx%d", png, w, h);
    char *s = read_text(svg);
    CHECK_MSG(s != NULL, "%s unread", svg);
    if (!s) return NULL;
    snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", w, h);
    CHECK_MSG(strstr(s, want), "SVG is not %dx%d", w, h);
    CHECK(svg_balanced(s));
    return s;
}

static void test_confusion(void) {
    char png[256], svg[256];
    snprintf(png, sizeof png, "%s/cm.png", scratch_root);
    snprintf(svg, sizeof svg, "%s/cm.svg", scratch_root);
    tpl_err err = {{0}};
    /* two classes, named, one name too long and one that needs escaping */
    const long two[4] = {90, 10, 0, 100};
    const char *names2[] = {"a-name-of-twenty-chars", "<cat>"};
    CHECK_MSG(tpl_confusion_write(png, svg, "two classes", 2, two, names2, &err) == 0, "%s", err.msg);
    char *s = check_twins(png, svg, 300, 1200, 300, 1200);
    if (s) {
        CHECK(strstr(s, ">two classes</text>") && strstr(s, ">true class</text>") &&
              strstr(s, ">predicted class</text>"));
        CHECK(strstr(s, ">a-name-of-twen..</text>") && !strstr(s, "twenty")); /* 16 characters */
        CHECK(count(s, ">&lt;cat&gt;</text>") == 2); /* row and column */
        CHECK(strstr(s, ">90</text>") && strstr(s, ">10</text>") && strstr(s, ">100</text>"));
        CHECK(!strstr(s, ">0</text>")); /* an empty cell stays empty */
        /* row shares: 100 % dark blue, 0 % white */
        const tpl_rgb full = tpl_colormap_blues(1.0);
        char fill[32];
        snprintf(fill, sizeof fill, "fill=\"#%02x%02x%02x\"", full.r, full.g, full.b);
        CHECK(strstr(s, fill));
        free(s);
    }
    /* 100 classes, no names: numbered, cells without counts, labels thinned */
    long *m = confusion_counts(100, 50);
    CHECK_MSG(tpl_confusion_write(png, svg, "100 classes", 100, m, NULL, &err) == 0, "%s", err.msg);
    s = check_twins(png, svg, 600, 1400, 600, 1400);
    if (s) {
        CHECK(strstr(s, ">0</text>") && strstr(s, ">98</text>")); /* every other class */
        CHECK(!strstr(s, ">99</text>") && !strstr(s, ">51</text>"));
        free(s);
    }
    free(m);
    /* 255 classes fit, and a 10-class matrix with big counts prints them all */
    m = confusion_counts(255, 1000);
    CHECK_MSG(tpl_confusion_write(png, NULL, "255 classes", 255, m, NULL, &err) == 0, "%s", err.msg);
    int w = 0, h = 0;
    CHECK(png_size_of(png, &w, &h) == 0 && w < 1600 && h < 1600);
    free(m);
    m = confusion_counts(10, 123456);
    CHECK(tpl_confusion_write(NULL, svg, NULL, 10, m, NULL, &err) == 0);
    s = read_text(svg);
    CHECK(s && count(s, ">123456</text>") == 10);
    free(s);
    /* refused: no classes, too many, a negative count; nothing written */
    unlink(png);
    unlink(svg);
    CHECK(tpl_confusion_write(png, svg, "t", 0, m, NULL, &err) == -1 && strstr(err.msg, png));
    CHECK(tpl_confusion_write(png, svg, "t", 256, m, NULL, &err) == -1 && strstr(err.msg, "255"));
    m[3] = -1;
    CHECK(tpl_confusion_write(NULL, svg, "t", 10, m, NULL, &err) == -1 &&
          strstr(err.msg, "negative") && strstr(err.msg, svg) && !strchr(err.msg, '\n'));
    CHECK(access(png, F_OK) != 0 && access(svg, F_OK) != 0);
    free(m);
    CHECK(tpl_confusion_write("/nonexistent-dir/c.png", NULL, "t", 2, two, NULL, &err) == -1 &&
          strstr(err.msg, "/nonexistent-dir/c.png"));
    CHECK(leftovers() == 0);
}

/* ---- the training log --------------------------------------------------------- */

static int parse(tpl_trainlog *log, const char *text, tpl_err *err) {
    return tpl_trainlog_parse(log, text, strlen(text), "log", err);
}

static const tpl_log_task *task_named(const tpl_trainlog *log, const char *name) {
    for (int t = 0; t < log->n_tasks; t++)
        if (name ? log->task[t].name && !strcmp(log->task[t].name, name) : !log->task[t].name)
            return &log->task[t];
    return NULL;
}

static void test_trainlog_old(void) {
    tpl_trainlog log;
    tpl_err err = {{0}};
    /* single task, as docs/logs has them */
    const char *single =
        "{\"epoch\":1,\"step\":937,\"lr\":0.02,\"train_loss\":1.01,\"train_acc\":0.648,"
        "\"test_loss\":0.571,\"test_acc\":0.7962,\"img_s\":92.8,\"elapsed_s\":656.0}\n"
        "{\"epoch\":2,\"step\":1874,\"lr\":0.04,\"train_loss\":0.44,\"train_acc\":0.837,"
        "\"test_loss\":0.378,\"test_acc\":0.8613,\"img_s\":225.2,\"elapsed_s\":932.1}\n";
    CHECK_MSG(parse(&log, single, &err) == 0, "%s", err.msg);
    CHECK(log.n_tasks == 1 && log.lines == 2 && !log.skipped && !log.command);
    const tpl_log_task *t = task_named(&log, NULL);
    CHECK(t && t->s[TPL_LOG_TRAIN_LOSS].n == 2 && t->s[TPL_LOG_TEST_ACC].n == 2 &&
          t->s[TPL_LOG_STEP_LOSS].n == 0);
    CHECK(t && t->s[TPL_LOG_TEST_ACC].x[1] == 1874 && t->s[TPL_LOG_TEST_ACC].y[1] == 0.8613 &&
          t->s[TPL_LOG_TRAIN_LOSS].y[0] == 1.01);
    tpl_trainlog_free(&log);
    CHECK(log.task == NULL && log.n_tasks == 0);
    /* multi-task: the tasks' own values, not the means beside them */
    const char *multi =
        "{\"epoch\":1,\"step\":10,\"train_loss\":9,\"train_acc\":0.9,\"test_loss\":9,\"test_acc\":0.9,"
        "\"tasks\":{\"a\":{\"train_loss\":1.5,\"train_acc\":0.5,\"test_loss\":1.25,\"test_acc\":0.5},"
        "\"b\":{\"train_loss\":2.5,\"train_acc\":0.25,\"test_loss\":2.25,\"test_acc\":0.25}}}\r\n"
        "{\"epoch\":2,\"step\":20,\"train_loss\":9,\"train_acc\":0.9,\"test_loss\":9,\"test_acc\":0.9,"
        "\"tasks\":{\"a\":{\"train_loss\":1,\"train_acc\":0.75,\"test_loss\":1,\"test_acc\":0.75},"
        "\"b\":{\"train_loss\":2,\"train_acc\":0.5,\"test_loss\":2,\"test_acc\":0.5}}}\r\n";
    CHECK_MSG(parse(&log, multi, &err) == 0, "%s", err.msg);
    CHECK(log.n_tasks == 2 && log.lines == 2 && !task_named(&log, NULL));
    const tpl_log_task *a = task_named(&log, "a"), *b = task_named(&log, "b");
    CHECK(a && b && a == &log.task[0]);
    CHECK(a && a->s[TPL_LOG_TEST_LOSS].n == 2 && a->s[TPL_LOG_TEST_LOSS].y[0] == 1.25);
    CHECK(b && b->s[TPL_LOG_TRAIN_ACC].n == 2 && b->s[TPL_LOG_TRAIN_ACC].y[1] == 0.5);
    tpl_trainlog_free(&log);
}

static void test_trainlog_new(void) {
    tpl_trainlog log;
    tpl_err err = {{0}};
    /* a single-task run: step lines name the task, epoch lines do not;
     * unknown keys, kinds and nested values are passed over; null and
     * missing values leave their point out; the last line is torn */
    const char *text =
        "{\"kind\":\"run\",\"templar\":\"0.2.0\",\"command\":[\"templar\",\"train\",\"--epochs\",\"2\"],"
        "\"hyper\":{\"lr\":[0.1,{\"x\":null}],\"seed\":1}}\n"
        "\n"
        "{\"kind\":\"step\",\"step\":5,\"epoch\":1,\"lr\":0.1,\"elapsed_s\":1.5,"
        "\"tasks\":{\"fashion\":{\"loss\":2.0,\"acc\":0.25,\"extra\":[1,2]}}}\n"
        "{\"kind\":\"step\",\"step\":10,\"epoch\":1,\"tasks\":{\"fashion\":{\"loss\":1.5e0,\"acc\":null}}}\n"
        "{\"kind\":\"eval\",\"step\":10,\"tasks\":{\"ghost\":{\"loss\":1}}}\n"
        "{\"kind\":\"epoch\",\"epoch\":1,\"step\":10,\"train_loss\":1.75,\"train_acc\":0.3,"
        "\"test_loss\":1.6,\"test_acc\":null,\"img_s\":100}\n"
        "{\"kind\":\"step\",\"step\":15,\"epoch\":2,\"tasks\":{\"fashion\":{\"loss\":1.2,\"acc\":0.5}}}\n"
        "{\"kind\":\"step\",\"step\":20,\"epoch\":2,\"tasks\":{\"fash";
    CHECK_MSG(parse(&log, text, &err) == 0, "%s", err.msg);
    CHECK(log.command && !strcmp(log.command, "templar train --epochs 2"));
    CHECK_MSG(log.n_tasks == 1 && log.lines == 4, "%d tasks, %d lines", log.n_tasks, log.lines);
    CHECK_MSG(log.skipped == 1 && log.first_skipped == 8 && strstr(log.why, "byte"),
              "%d skipped, first %d: %s", log.skipped, log.first_skipped, log.why);
    const tpl_log_task *t = task_named(&log, "fashion");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->s[TPL_LOG_STEP_LOSS].n == 3 && t->s[TPL_LOG_STEP_LOSS].y[1] == 1.5);
        CHECK(t->s[TPL_LOG_STEP_ACC].n == 2 && t->s[TPL_LOG_STEP_ACC].x[1] == 15);
        CHECK(t->s[TPL_LOG_TRAIN_LOSS].n == 1 && t->s[TPL_LOG_TEST_LOSS].n == 1 &&
              t->s[TPL_LOG_TEST_ACC].n == 0);
    }
    tpl_trainlog_free(&log);
    /* a resumed run logs on from its checkpoint: later points replace */
    const char *resumed =
        "{\"kind\":\"run\",\"command\":\"templar train\"}\n"
        "{\"kind\":\"step\",\"step\":10,\"tasks\":{\"a\":{\"loss\":3}}}\n"
        "{\"kind\":\"step\",\"step\":20,\"tasks\":{\"a\":{\"loss\":2}}}\n"
        "{\"kind\":\"step\",\"step\":30,\"tasks\":{\"a\":{\"loss\":1}}}\n"
        "{\"kind\":\"run\",\"command\":\"templar train --resume\"}\n"
        "{\"kind\":\"step\",\"step\":20,\"tasks\":{\"a\":{\"loss\":2.5}}}\n"
        "{\"kind\":\"step\",\"step\":30,\"tasks\":{\"a\":{\"loss\":1.5}}}\n"
        "{\"kind\":\"step\",\"step\":40,\"tasks\":{\"a\":{\"loss\":0.5}}}\n";
    CHECK(parse(&log, resumed, &err) == 0);
    const tpl_series *s = log.n_tasks == 1 ? &log.task[0].s[TPL_LOG_STEP_LOSS] : NULL;
    CHECK(s && s->n == 4 && s->x[0] == 10 && s->x[3] == 40 && s->y[1] == 2.5 && s->y[2] == 1.5);
    CHECK(log.command && !strcmp(log.command, "templar train"));
    tpl_trainlog_free(&log);
    /* lines without a step are counted as skipped */
    CHECK(parse(&log, "{\"epoch\":1,\"test_loss\":1}\n{\"epoch\":2,\"step\":4,\"test_loss\":1}\n",
                &err) == 0);
    CHECK(log.lines == 1 && log.skipped == 1 && log.first_skipped == 1 && strstr(log.why, "step"));
    tpl_trainlog_free(&log);
}

static void test_trainlog_errors(void) {
    tpl_trainlog log;
    tpl_err err = {{0}};
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"", "empty"},
        {"\n\n  \n", "no training records"},
        {"hello\nworld\n", "not a JSON object"},
        {"[1,2,3]\n", "line 1"},
        {"{\"kind\":\"run\",\"command\":\"templar train\"}\n", "no training records"},
        {"{\"a\":1}\n{\"b\":{\"c\":[]}}\n", "no training records"},
        {"{\"epoch\":1,\"step\":3}\n", "no training records"},  /* no values */
        {"{\"epoch\":1,\"step\":-3,\"test_loss\":1}\n", "step"}, /* no step to place it */
        {"{\"epoch\":1,\"step\":3,\"test_loss\":1} x\n", "line 1"},
        {"\x89PNG\r\n\x1a\n\x01\x02\x03", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.msg[0] = 0;
        CHECK_MSG(parse(&log, bad[i].text, &err) == -1 && strstr(err.msg, bad[i].says) &&
                      !strncmp(err.msg, "log: ", 5) && !strchr(err.msg, '\n'),
                  "case %zu: %s", i, err.msg);
        tpl_trainlog_free(&log);
    }
    CHECK(tpl_trainlog_read(&log, "/nonexistent-dir/run.jsonl", &err) == -1 &&
          strstr(err.msg, "/nonexistent-dir/run.jsonl") && strstr(err.msg, "cannot open"));
    tpl_trainlog_free(&log);
    CHECK(tpl_trainlog_read(&log, scratch_root, &err) == -1 && strstr(err.msg, scratch_root));
    tpl_trainlog_free(&log);
    /* whatever is cut or garbled, the reader answers and frees cleanly */
    const char *good =
        "{\"kind\":\"run\",\"command\":[\"templar\",\"train\"]}\n"
        "{\"kind\":\"step\",\"step\":5,\"tasks\":{\"a\":{\"loss\":2.0,\"acc\":0.25},\"b\":{\"loss\":1}}}\n"
        "{\"kind\":\"epoch\",\"epoch\":1,\"step\":10,\"train_loss\":1.75,\"tasks\":{\"a\":"
        "{\"train_loss\":1,\"test_acc\":0.5}}}\n"
        "{\"epoch\":1,\"step\":10,\"test_loss\":1.6,\"test_acc\":0.5}\n";
    const size_t n = strlen(good);
    char *buf = malloc(n);
    tpl_rng r;
    tpl_rng_seed(&r, 11);
    static const char noise[] = "{}[]\":,\\0123456789-+.eEnul \n\xff\xc3";
    for (int i = 0; buf && i < 3000; i++) {
        memcpy(buf, good, n);
        for (int k = 0, edits = 1 + i % 4; k < edits; k++)
            buf[(size_t)(tpl_rng_uniform(&r) * n)] = noise[(int)(tpl_rng_uniform(&r) * (sizeof noise - 1))];
        const size_t len = i % 3 ? n : (size_t)(tpl_rng_uniform(&r) * n);
        const int rc = tpl_trainlog_parse(&log, buf, len, "fuzz", &err);
        CHECK(rc == 0 ? log.lines > 0 && tpl_trainlog_points(&log) > 0 : log.lines == 0);
        tpl_trainlog_free(&log);
    }
    free(buf);
}

/* ---- the curves -------------------------------------------------------------- */

static void test_curves(void) {
    char png[256], svg[256];
    snprintf(png, sizeof png, "%s/curves.png", scratch_root);
    snprintf(svg, sizeof svg, "%s/curves.svg", scratch_root);
    tpl_trainlog log;
    tpl_err err = {{0}};
    char text[16384] = "{\"kind\":\"run\",\"command\":\"templar train --tasks a,b<c\"}\n";
    for (int step = 50; step <= 1000; step += 50) {
        char line[512];
        snprintf(line, sizeof line,
                 "{\"kind\":\"step\",\"step\":%d,\"tasks\":{\"a\":{\"loss\":%g,\"acc\":%g},"
                 "\"b<c\":{\"loss\":%g,\"acc\":%g}}}\n",
                 step, 2.0 / (1 + step / 100.0), 1 - 0.8 / (1 + step / 100.0),
                 2.5 / (1 + step / 200.0), 1 - 0.9 / (1 + step / 200.0));
        strcat(text, line);
        if (step % 250 == 0) {
            snprintf(line, sizeof line,
                     "{\"kind\":\"epoch\",\"epoch\":%d,\"step\":%d,\"tasks\":{\"a\":{\"test_loss\":%g,"
                     "\"test_acc\":%g},\"b<c\":{\"test_loss\":%g,\"test_acc\":%g}}}\n",
                     step / 250, step, 2.2 / (1 + step / 100.0), 0.9 - 0.8 / (1 + step / 100.0),
                     2.7 / (1 + step / 200.0), 0.9 - 0.9 / (1 + step / 200.0));
            strcat(text, line);
        }
    }
    CHECK_MSG(parse(&log, text, &err) == 0, "%s", err.msg);
    CHECK(log.n_tasks == 2 && log.lines == 24);
    CHECK_MSG(tpl_curves_write(&log, TPL_CURVES_BOTH, "curves of <a&b>", png, svg, &err) == 0, "%s",
              err.msg);
    char *s = check_twins(png, svg, 600, 1400, 500, 1000);
    if (s) {
        CHECK(strstr(s, ">curves of &lt;a&amp;b&gt;</text>"));
        CHECK(strstr(s, ">templar train --tasks a,b&lt;c</text>"));
        CHECK(strstr(s, ">loss</text>") && strstr(s, ">accuracy</text>") && strstr(s, ">step</text>"));
        CHECK(strstr(s, ">a</text>") && strstr(s, ">b&lt;c</text>")); /* the legend */
        CHECK(strstr(s, ">train</text>") && strstr(s, ">test</text>"));
        CHECK(strstr(s, ">1000</text>") && strstr(s, ">100%</text>")); /* ticks */
        /* per task: a training line, a dashed test line; and the legend's two samples */
        CHECK_MSG(count(s, "<polyline") == 2 * 2 * 2 + 2, "%d polylines", count(s, "<polyline"));
        CHECK(count(s, "stroke-dasharray") == 2 * 2 + 1);
        free(s);
    }
    /* loss only; a log without accuracy (adapt, unlabelled) says so */
    tpl_trainlog_free(&log);
    CHECK(parse(&log, "{\"kind\":\"step\",\"step\":1,\"tasks\":{\"t\":{\"loss\":1}}}\n"
                      "{\"kind\":\"step\",\"step\":2,\"tasks\":{\"t\":{\"loss\":0.5}}}\n", &err) == 0);
    CHECK(tpl_curves_write(&log, TPL_CURVES_LOSS, NULL, NULL, svg, &err) == 0);
    s = read_text(svg);
    CHECK(s && strstr(s, ">loss</text>") && !strstr(s, "accuracy"));
    free(s);
    CHECK(tpl_curves_write(&log, TPL_CURVES_BOTH, "t", png, svg, &err) == 0);
    s = read_text(svg);
    CHECK(s && strstr(s, ">no accuracy in this log</text>"));
    free(s);
    CHECK(tpl_curves_write(&log, 0, "t", png, svg, &err) == -1);
    tpl_trainlog_free(&log);
    /* more points than pixels across: a point per pixel column */
    tpl_buf b = {0};
    for (int step = 1; step <= 5000; step++)
        tpl_buf_printf(&b, "{\"kind\":\"step\",\"step\":%d,\"tasks\":{\"t\":{\"loss\":%g}}}\n",
                       step, 1.0 + (step % 2));
    CHECK(!b.failed && tpl_trainlog_parse(&log, b.p, b.len, "big", &err) == 0);
    tpl_buf_free(&b);
    CHECK(log.n_tasks == 1 && log.task[0].s[TPL_LOG_STEP_LOSS].n == 5000);
    CHECK(tpl_curves_write(&log, TPL_CURVES_LOSS, "t", NULL, svg, &err) == 0);
    s = read_text(svg);
    const char *pts = s ? strstr(s, "<polyline points=\"") : NULL;
    if (pts) {
        int n = 1;
        for (const char *q = pts + 18; *q && *q != '"'; q++) n += *q == ' ';
        CHECK_MSG(n >= 600 && n <= 700, "%d points drawn", n);
    }
    CHECK(pts != NULL);
    free(s);
    tpl_trainlog_free(&log);
    unlink(png);
    unlink(svg);
    CHECK(leftovers() == 0);
}

int main(void) {
    scratch_begin("plot");
    test_similarity();
    test_verdict();
    test_colormap();
    test_canvas();
    test_font();
    test_png_round_trip();
    test_write_failures();
    test_heatmap();
    test_lines();
    test_text_up();
    test_utf8();
    test_scene();
    test_confusion();
    test_trainlog_old();
    test_trainlog_new();
    test_trainlog_errors();
    test_curves();
    scratch_end();
    return check_summary("test_plot");
}
