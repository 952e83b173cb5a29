/* plot: mixture similarity and verdicts, the colour map, the bitmap font,
 * PNG round trips, atomic writes that fail cleanly, and the heatmap's PNG
 * and SVG coming from one layout. */
#include <dirent.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "plot.h"
#include "rng.h"

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

static char dir[] = "/tmp/test_plot.XXXXXX";

/* Entries of dir whose name holds ".tmp": temporary files left behind. */
static int leftovers(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_png_round_trip(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/c.png", dir);
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
    snprintf(path, sizeof path, "%s/adir", dir);
    CHECK(mkdir(path, 0755) == 0);
    err.msg[0] = 0;
    CHECK(tpl_canvas_write_png(&c, path, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "rename"), "%s", err.msg);
    CHECK(leftovers() == 0);
    CHECK(rmdir(path) == 0);
    tpl_canvas_free(&c);
}

/* ---- the heatmap ------------------------------------------------------------ */

static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = calloc(1, 1 << 20);
    if (buf) buf[fread(buf, 1, (1 << 20) - 1, fp)] = 0;
    fclose(fp);
    return buf;
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
    snprintf(png, sizeof png, "%s/h.png", dir);
    snprintf(svg, sizeof svg, "%s/h.svg", dir);
    tpl_err err = {{0}};
    int w = 0, h = 0;
    CHECK_MSG(tpl_heatmap_write_png(&hm, png, &w, &h, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_heatmap_write_svg(&hm, svg, &err) == 0, "%s", err.msg);
    CHECK(w > 100 && w < 2000 && h > 100 && h < 2000);
    char *s = slurp(svg);
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
    free(s);
    CHECK(leftovers() == 0);
    unlink(png);
    unlink(svg);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_similarity();
    test_verdict();
    test_colormap();
    test_canvas();
    test_font();
    test_png_round_trip();
    test_write_failures();
    test_heatmap();
    rmdir(dir);
    return check_summary("test_plot");
}
