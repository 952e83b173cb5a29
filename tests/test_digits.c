/* Tests for digits.c: the PNG sheet and CSV loaders (good files and the ways
 * a file can be wrong), bilinear resize and the stratified split.  Every
 * test writes its own small files into a fresh mkdtemp directory; the real
 * OpenCV / scikit-learn files are only checked when installed. */
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "testfiles.h"
#include "digits.h"

static int is_zeroed(const tpl_dataset *d) {
    return d->n == 0 && d->h == 0 && d->w == 0 && d->c == 0 && d->classes == 0 &&
           !d->pixels && !d->labels;
}

/* Checks a failed call's message: one line, starting with start, mentioning want. */
static void check_msg(const tpl_err *err, const char *start, const char *want) {
    CHECK_MSG(strncmp(err->msg, start, strlen(start)) == 0, "msg '%s' should start with '%s'",
              err->msg, start);
    CHECK_MSG(strstr(err->msg, want) != NULL, "msg '%s' should mention '%s'", err->msg, want);
    CHECK(strchr(err->msg, '\n') == NULL);
}

/* ---- digits.png ---------------------------------------------------------- */

/* A sheet of 3 x 20 cells of 4x4 px: 10 digits x 2 rows each. */
enum { CELL = 4, COLS = 3, RPC = 2, ROWS = 10 * RPC, SW = COLS * CELL, SH = ROWS * CELL };
static uint8_t sheet[SH * SW];

static uint8_t sheet_px(int x, int y) { return (uint8_t)(x * 7 + y * 3 + (x * y) % 5); }

static void make_sheet(void) {
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++) sheet[y * SW + x] = sheet_px(x, y);
}

static void expect_png_error(const char *path, int cell, int rpc, const char *want) {
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK(tpl_digits_png_load(path, cell, rpc, &d, &err) != 0);
    CHECK(is_zeroed(&d));
    check_msg(&err, path, want);
}

/* Checks d is the cut-up sheet, pixel by pixel within tol. */
static void check_sheet(const tpl_dataset *d, int tol) {
    CHECK(d->n == COLS * ROWS && d->h == CELL && d->w == CELL && d->c == 1);
    CHECK(d->classes == 10);
    if (d->n != COLS * ROWS) return;
    int bad = 0, per_class[10] = {0};
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < COLS; q++) {
            int i = r * COLS + q;
            CHECK(d->labels[i] == r / RPC);
            per_class[d->labels[i] % 10]++;
            for (int y = 0; y < CELL; y++)
                for (int x = 0; x < CELL; x++) {
                    int got = d->pixels[(size_t)i * CELL * CELL + y * CELL + x];
                    int want = sheet_px(q * CELL + x, r * CELL + y);
                    bad += abs(got - want) > tol;
                }
        }
    CHECK_MSG(bad == 0, "%d pixels differ", bad);
    for (int k = 0; k < 10; k++) CHECK(per_class[k] == COLS * RPC);
}

static void test_png_load(void) {
    scratch_begin("digits");
    make_sheet();
    const char *grey = at("grey.png"), *rgb = at("rgb.png");
    write_png(grey, sheet, SW, SH, 1);
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_digits_png_load(grey, CELL, RPC, &d, &err) == 0, "%s", err.msg);
    check_sheet(&d, 0);
    tpl_dataset_free(&d);

    /* colour input with r = g = b comes back as (about) the same grey */
    uint8_t *px = malloc(3 * sizeof sheet);
    for (size_t i = 0; i < sizeof sheet; i++) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = sheet[i];
    write_png(rgb, px, SW, SH, 3);
    free(px);
    CHECK_MSG(tpl_digits_png_load(rgb, CELL, RPC, &d, &err) == 0, "%s", err.msg);
    check_sheet(&d, 1);
    tpl_dataset_free(&d);

    /* the same sheet read as 2x2 cells, 4 rows per class */
    CHECK_MSG(tpl_digits_png_load(grey, 2, 4, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == (SW / 2) * (SH / 2) && d.h == 2 && d.w == 2 && d.classes == 10);
    if (d.n == (SW / 2) * (SH / 2)) {
        CHECK(d.labels[0] == 0 && d.labels[d.n - 1] == 9);
        CHECK(d.labels[4 * (SW / 2) - 1] == 0 && d.labels[4 * (SW / 2)] == 1);
        /* image 1 is the cell at column 1 of row 0: pixels (2..3, 0..1) */
        CHECK(d.pixels[4] == sheet_px(2, 0) && d.pixels[7] == sheet_px(3, 1));
    }
    tpl_dataset_free(&d);
    scratch_end();
}

static void test_png_errors(void) {
    scratch_begin("digits");
    make_sheet();
    const char *bad = at("bad.png"), *gone = at("no-such.png");
    expect_png_error(gone, CELL, RPC, "No such file or directory");

    write_text(bad, "P5 12 80 255\n not a png at all", 0);
    expect_png_error(bad, CELL, RPC, "not a PNG file");
    write_text(bad, "", 0);
    expect_png_error(bad, CELL, RPC, "not a PNG file");

    /* width not a whole number of cells */
    uint8_t *wide = calloc(1, (SW + 1) * SH);
    write_png(bad, wide, SW + 1, SH, 1);
    free(wide);
    expect_png_error(bad, CELL, RPC, "not a whole number of 4x4 cells");
    /* whole cells, but 19 rows instead of 20 */
    write_png(bad, sheet, SW, SH - CELL, 1);
    expect_png_error(bad, CELL, RPC, "19 rows");
    /* right image, wrong layout asked for */
    write_png(bad, sheet, SW, SH, 1);
    expect_png_error(bad, CELL, 3, "20 rows");
    expect_png_error(bad, 0, RPC, "must be in");
    expect_png_error(bad, CELL, 0, "must be in");

    /* a PNG cut short: the header is fine, the pixel data is not */
    FILE *f = fopen(bad, "rb");
    uint8_t buf[8192];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(bad, buf, len / 2, 0);
    expect_png_error(bad, CELL, RPC, "PNG");
    write_file(bad, buf, 20, 0); /* inside the IHDR chunk */
    expect_png_error(bad, CELL, RPC, "PNG");
    /* after the IHDR, a text chunk that claims 2 GB: refused from its
     * header (libpng would allocate and clear the 2 GB first) */
    memcpy(buf + 33, "\x7f\xff\xff\xffzTXtkey", 11);
    write_file(bad, buf, 44, 0);
    expect_png_error(bad, CELL, RPC, "PNG chunk 'zTXt' claims 2147483647 bytes");
    scratch_end();
}

/* ---- digits.csv ---------------------------------------------------------- */

static void expect_csv_error(const char *path, int side, int maxv, const char *line,
                             const char *want) {
    tpl_dataset d;
    tpl_err err = {{0}};
    char start[600];
    CHECK(tpl_digits_csv_load(path, side, maxv, &d, &err) != 0);
    CHECK(is_zeroed(&d));
    snprintf(start, sizeof start, "%s%s", path, line);
    check_msg(&err, start, want);
}

static void test_csv_load(void) {
    scratch_begin("digits");
    /* side 2, max 16: v -> round(v * 255 / 16) */
    const char *text = "0,16,8,4,3\n1, 2 ,3,+4,0\r\n16,16,16,16,9\n";
    const uint8_t want_px[12] = {0, 255, 128, 64, 16, 32, 48, 64, 255, 255, 255, 255};
    const uint8_t want_lb[3] = {3, 0, 9};
    const char *names[4] = {"a.csv", "a.csv.gz", "b.csv", "c.csv"};
    for (int t = 0; t < 4; t++) {
        const char *p = at(names[t]);
        if (t < 2) write_text(p, text, t == 1);
        if (t == 2) write_text(p, "0,16,8,4,3\n1,2,3,4,0\n16,16,16,16,9", 0); /* no final \n */
        if (t == 3) write_text(p, "0,16,8,4,3\n1,2,3,4,0\n16,16,16,16,9\n\n  \n", 1);
        tpl_dataset d;
        tpl_err err = {{0}};
        CHECK_MSG(tpl_digits_csv_load(p, 2, 16, &d, &err) == 0, "%s: %s", names[t], err.msg);
        CHECK(d.n == 3 && d.h == 2 && d.w == 2 && d.c == 1 && d.classes == 10);
        if (d.n == 3) {
            CHECK_MSG(memcmp(d.pixels, want_px, 12) == 0, "%s pixels", names[t]);
            CHECK(memcmp(d.labels, want_lb, 3) == 0);
        }
        tpl_dataset_free(&d);
    }

    /* max_value 255 keeps values as they are; side 1 */
    const char *p = at("ident.csv");
    write_text(p, "0,0\n255,1\n17,1\n", 0);
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_digits_csv_load(p, 1, 255, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == 3 && d.classes == 2);
    if (d.n == 3) CHECK(d.pixels[0] == 0 && d.pixels[1] == 255 && d.pixels[2] == 17);
    tpl_dataset_free(&d);

    /* many lines: the buffers grow past their first size */
    enum { MANY = 700 };
    char *big = malloc(MANY * 32), *q = big;
    for (int i = 0; i < MANY; i++) q += sprintf(q, "%d,%d,%d,%d,%d\n", i % 17, 16 - i % 17, 0, 16, i % 10);
    write_text(p, big, 1);
    free(big);
    CHECK_MSG(tpl_digits_csv_load(p, 2, 16, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == MANY && d.classes == 10);
    if (d.n == MANY)
        CHECK(d.labels[MANY - 1] == (MANY - 1) % 10 && d.pixels[4 * (MANY - 1) + 3] == 255 &&
              d.pixels[4 * 16] == 255 && d.pixels[4 * 16 + 1] == 0);
    tpl_dataset_free(&d);
    scratch_end();
}

static void test_csv_errors(void) {
    scratch_begin("digits");
    const char *p = at("bad.csv"), *gz = at("bad.csv.gz");
    const char *good = "0,1,2,3,4\n";
    char text[256];
    struct {
        const char *line, *where, *want;
    } cases[] = {
        {"0,1,2,3\n", ":2:", "expected 5 fields (4 pixels and a label), got 4"},
        {"0,1,2,3,4,5\n", ":2:", "got 6"},
        {"0,1,17,3,4\n", ":2:", "field 3: value 17 outside [0, 16]"},
        {"0,1,-1,3,4\n", ":2:", "value -1"},
        {"0,x,2,3,4\n", ":2:", "field 2 is not an integer: \"x\""},
        {"0,1.5,2,3,4\n", ":2:", "not an integer"},
        {"0,,2,3,4\n", ":2:", "field 2 is not an integer"},
        {"0,1 2,2,3,4\n", ":2:", "not an integer"},
        {"0,1,2,3,256\n", ":2:", "label 256 outside [0, 255]"},
        {"0,1,2,3,\n", ":2:", "field 5 is not an integer"},
        {"\n0,1,2,3,4\n", ":2:", "blank line before more data"},
        {"0,1,2,3,99999999999999999999\n", ":2:", "label 99999999999999999999 outside [0, 255]"},
        {"0,-99999999999999999999,2,3,4\n", ":2:", "value -99999999999999999999 outside"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int z = 0; z < 2; z++) {
            snprintf(text, sizeof text, "%s%s%s", good, cases[i].line, good);
            write_text(z ? gz : p, text, z);
            expect_csv_error(z ? gz : p, 2, 16, cases[i].where, cases[i].want);
        }
    /* the line number counts every line */
    write_text(p, "0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,17,1\n", 0);
    expect_csv_error(p, 2, 16, ":5:", "fields");
    write_text(p, "0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,4\n0,1,2,3,x", 0);
    expect_csv_error(p, 2, 16, ":5:", "not an integer");

    write_text(p, "", 0);
    expect_csv_error(p, 2, 16, "", "no images");
    write_text(p, "\n\n", 1);
    expect_csv_error(p, 2, 16, "", "no images");
    const char *gone = at("no-such.csv.gz");
    expect_csv_error(gone, 2, 16, "", "No such file or directory");
    expect_csv_error(p, 0, 16, "", "side 0");
    expect_csv_error(p, 2, 0, "", "max_value 0");

    /* a line far longer than any valid one */
    char *longl = malloc(20000);
    memset(longl, ' ', 19999);
    longl[19999] = '\0';
    write_text(p, longl, 0);
    free(longl);
    expect_csv_error(p, 2, 16, ":1:", "line longer than");

    /* a NUL in the middle of a line, and in a last line without a newline
     * (plain and gzip) */
    write_file(p, "0,1,2,3,4\n0,1\0002,3,4\n0,1,2,3,4\n", 30, 0);
    expect_csv_error(p, 2, 16, ":2:", "NUL");
    for (int z = 0; z < 2; z++) {
        write_file(z ? gz : p, "0,1,2,3,4\n0,1,2,3,4\0junk", 25, z);
        expect_csv_error(z ? gz : p, 2, 16, ":2:", "NUL");
    }
    /* control bytes of a bad field are not copied into the message */
    write_text(p, "0,1,2,3,4\n0,1\r\0333,2,3,4\n", 0);
    expect_csv_error(p, 2, 16, ":2:", "field 2 is not an integer: \"1??3\"");

    /* a gzip stream cut in the middle */
    enum { LINES = 400 };
    char *big = malloc(LINES * 32), *q = big;
    for (int i = 0; i < LINES; i++) q += sprintf(q, "%d,%d,%d,%d,%d\n", (i * 7) % 17, (i * 3) % 17, i % 13, (i * 11) % 17, i % 10);
    write_text(gz, big, 1);
    free(big);
    FILE *f = fopen(gz, "rb");
    uint8_t buf[16384];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(gz, buf, len / 2, 0);
    expect_csv_error(gz, 2, 16, ":", "");
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK(tpl_digits_csv_load(gz, 2, 16, &d, &err) != 0);
    CHECK_MSG(strstr(err.msg, "unexpected end of file") || strstr(err.msg, "fields"), "%s",
              err.msg);
    scratch_end();
}

/* ---- resize -------------------------------------------------------------- */

static void test_resize(void) {
    tpl_err err = {{0}};
    tpl_dataset out;

    /* constant images (per channel) stay constant, at any size */
    enum { N = 2, H = 3, W = 5, C = 2 };
    uint8_t px[N * H * W * C], lb[N] = {4, 1};
    for (int i = 0; i < N * H * W; i++) {
        px[2 * i] = i < H * W ? 77 : 3;
        px[2 * i + 1] = i < H * W ? 200 : 255;
    }
    tpl_dataset in = {N, H, W, C, 5, px, lb};
    int sizes[3][2] = {{28, 28}, {2, 9}, {1, 1}};
    for (int s = 0; s < 3; s++) {
        int oh = sizes[s][0], ow = sizes[s][1];
        CHECK_MSG(tpl_dataset_resize(&in, oh, ow, &out, &err) == 0, "%s", err.msg);
        CHECK(out.n == N && out.h == oh && out.w == ow && out.c == C && out.classes == 5);
        CHECK(out.labels && out.labels != lb && out.labels[0] == 4 && out.labels[1] == 1);
        int bad = 0;
        for (int i = 0; i < oh * ow; i++) {
            bad += out.pixels[2 * i] != 77 || out.pixels[2 * i + 1] != 200;
            size_t j = (size_t)(oh * ow + i) * 2;
            bad += out.pixels[j] != 3 || out.pixels[j + 1] != 255;
        }
        CHECK_MSG(bad == 0, "%dx%d: %d pixels not constant", oh, ow, bad);
        tpl_dataset_free(&out);
    }

    /* 2x2 -> 4x4 by hand: taps at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped),
     * i.e. weights 0, 1/4, 3/4, 1 on the second pixel of each axis */
    uint8_t two[4] = {0, 100, 200, 40}, l1 = 0;
    const uint8_t want4[16] = {0,   25,  75,  100, /* 0, 25, 75, 100 */
                               50,  59,  76,  85,  /* 50, 58.75, 76.25, 85 */
                               150, 126, 79,  55,  /* 150, 126.25, 78.75, 55 */
                               200, 160, 80,  40}; /* 200, 160, 80, 40 */
    tpl_dataset t = {1, 2, 2, 1, 1, two, &l1};
    CHECK_MSG(tpl_dataset_resize(&t, 4, 4, &out, &err) == 0, "%s", err.msg);
    CHECK(out.n == 1 && out.h == 4 && out.w == 4 && out.c == 1);
    if (out.pixels)
        for (int i = 0; i < 16; i++)
            CHECK_MSG(out.pixels[i] == want4[i], "pixel %d: %d, want %d", i, out.pixels[i], want4[i]);
    tpl_dataset_free(&out);

    /* 4x4 -> 2x2 samples at 0.5 and 2.5: the mean of each 2x2 block;
     * the same size is the identity */
    uint8_t four[16];
    for (int i = 0; i < 16; i++) four[i] = (uint8_t)(i * 16);
    tpl_dataset f4 = {1, 4, 4, 1, 1, four, &l1};
    CHECK(tpl_dataset_resize(&f4, 2, 2, &out, &err) == 0);
    if (out.pixels) {
        CHECK(out.pixels[0] == 40 && out.pixels[1] == 72); /* (0+16+64+80)/4, +32 */
        CHECK(out.pixels[2] == 168 && out.pixels[3] == 200);
    }
    tpl_dataset_free(&out);
    CHECK(tpl_dataset_resize(&f4, 4, 4, &out, &err) == 0);
    CHECK(out.pixels && memcmp(out.pixels, four, 16) == 0);
    tpl_dataset_free(&out);

    /* errors */
    CHECK(tpl_dataset_resize(&t, 0, 4, &out, &err) != 0);
    CHECK(is_zeroed(&out));
    check_msg(&err, "resize: ", "0x4");
    tpl_dataset broken = {1, 0, 2, 1, 1, two, &l1};
    CHECK(tpl_dataset_resize(&broken, 4, 4, &out, &err) != 0);
    check_msg(&err, "resize: ", "invalid");
    CHECK(is_zeroed(&out));
}

/* ---- split --------------------------------------------------------------- */

/* 40 images, 1x1 px, pixel = index; labels: 20 of class 0, 13 of class 2,
 * 7 of class 3, none of class 1, interleaved. */
enum { SN = 40 };
static uint8_t s_px[SN], s_lb[SN];
static tpl_dataset split_input(void) {
    for (int i = 0; i < SN; i++) {
        s_px[i] = (uint8_t)i;
        s_lb[i] = i % 2 == 0 ? 0 : i % 3 == 0 ? 3 : 2;
    }
    tpl_dataset d = {SN, 1, 1, 1, 4, s_px, s_lb};
    return d;
}

/* Checks train and test partition in (by pixel id), keep its order and
 * have want[k] test images of class k; fills side[i] = 1 for test. */
static void check_partition(const tpl_dataset *in, const tpl_dataset *tr,
                            const tpl_dataset *te, const int *want, int *side) {
    int count[4] = {0}, seen[SN] = {0};
    CHECK(tr->n + te->n == in->n);
    CHECK(tr->classes == in->classes && te->classes == in->classes);
    CHECK(tr->h == 1 && te->w == 1 && tr->c == 1);
    for (int h = 0; h < 2; h++) {
        const tpl_dataset *d = h ? te : tr;
        for (int j = 0; j < d->n; j++) {
            int id = d->pixels[j];
            CHECK(id < SN && d->labels[j] == in->labels[id]);
            if (id < SN) {
                seen[id]++;
                side[id] = h;
            }
            if (j) CHECK(d->pixels[j - 1] < id); /* original order */
            if (h) count[d->labels[j] & 3]++;
        }
    }
    for (int i = 0; i < SN; i++) CHECK(seen[i] == 1);
    for (int k = 0; k < 4; k++) CHECK_MSG(count[k] == want[k], "class %d: %d test, want %d", k, count[k], want[k]);
}

static void test_split(void) {
    tpl_dataset in = split_input(), tr, te, tr2, te2;
    tpl_err err = {{0}};
    int side[SN], side2[SN];

    /* 0.3 of 20, 0, 13, 7: 6, 0, round(3.9) = 4, round(2.1) = 2 */
    const int want[4] = {6, 0, 4, 2};
    CHECK_MSG(tpl_dataset_split(&in, 0.3, 42, &tr, &te, &err) == 0, "%s", err.msg);
    check_partition(&in, &tr, &te, want, side);

    /* the documented rule, replayed */
    tpl_rng rng;
    tpl_rng_seed(&rng, 42);
    int rule[SN] = {0};
    for (int k = 0; k < 4; k++) {
        int idx[SN], m = 0;
        for (int i = 0; i < SN; i++)
            if (s_lb[i] == k) idx[m++] = i;
        tpl_shuffle(idx, m, &rng);
        for (int j = 0; j < (int)round(0.3 * m); j++) rule[idx[j]] = 1;
    }
    CHECK(memcmp(rule, side, sizeof side) == 0);

    /* same seed, same split; another seed, another split */
    CHECK(tpl_dataset_split(&in, 0.3, 42, &tr2, &te2, &err) == 0);
    check_partition(&in, &tr2, &te2, want, side2);
    CHECK(memcmp(side, side2, sizeof side) == 0);
    CHECK(te.n == te2.n && memcmp(te.pixels, te2.pixels, (size_t)te.n) == 0);
    tpl_dataset_free(&tr2);
    tpl_dataset_free(&te2);
    CHECK(tpl_dataset_split(&in, 0.3, 43, &tr2, &te2, &err) == 0);
    check_partition(&in, &tr2, &te2, want, side2);
    CHECK(memcmp(side, side2, sizeof side) != 0);
    tpl_dataset_free(&tr2);
    tpl_dataset_free(&te2);
    tpl_dataset_free(&tr);
    tpl_dataset_free(&te);

    /* the ends: nothing or everything to test */
    const int none[4] = {0, 0, 0, 0}, all[4] = {20, 0, 13, 7};
    CHECK(tpl_dataset_split(&in, 0.0, 1, &tr, &te, &err) == 0);
    check_partition(&in, &tr, &te, none, side);
    CHECK(te.n == 0 && !te.pixels && !te.labels && te.classes == 4);
    tpl_dataset_free(&tr);
    tpl_dataset_free(&te);
    CHECK(tpl_dataset_split(&in, 1.0, 1, &tr, &te, &err) == 0);
    check_partition(&in, &tr, &te, all, side);
    CHECK(tr.n == 0 && !tr.pixels);
    tpl_dataset_free(&tr);
    tpl_dataset_free(&te);

    /* errors */
    double bad[3] = {-0.1, 1.5, NAN};
    for (int i = 0; i < 3; i++) {
        CHECK(tpl_dataset_split(&in, bad[i], 1, &tr, &te, &err) != 0);
        check_msg(&err, "split: ", "outside [0, 1]");
        CHECK(is_zeroed(&tr) && is_zeroed(&te));
    }
    in.classes = 3; /* label 3 is not below 3 */
    CHECK(tpl_dataset_split(&in, 0.5, 1, &tr, &te, &err) != 0);
    check_msg(&err, "split: ", "label 3");
    CHECK(is_zeroed(&tr) && is_zeroed(&te));
    CHECK(tpl_dataset_split(&in, 0.5, 1, &tr, &tr, &err) != 0);
    check_msg(&err, "split: ", "distinct");
}

/* ---- the real files, when installed -------------------------------------- */

static void test_real_files(void) {
    const char *png = "/usr/share/doc/opencv-doc/examples/data/digits.png";
    const char *csv = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
    struct stat st;
    tpl_dataset d, r;
    tpl_err err = {{0}};
    if (stat(png, &st) != 0) check_skip("OpenCV's digits", png, "opencv-doc");
    if (stat(png, &st) == 0) {
        CHECK_MSG(tpl_digits_png_load(png, 20, 5, &d, &err) == 0, "%s", err.msg);
        CHECK(d.n == 5000 && d.h == 20 && d.w == 20 && d.c == 1 && d.classes == 10);
        int count[10] = {0};
        for (int i = 0; i < d.n; i++) count[d.labels[i] % 10]++;
        for (int k = 0; k < 10; k++) CHECK(count[k] == 500);
        tpl_dataset_free(&d);
    }
    if (stat(csv, &st) != 0) check_skip("scikit-learn's digits", csv, "python3-sklearn");
    if (stat(csv, &st) == 0) {
        CHECK_MSG(tpl_digits_csv_load(csv, 8, 16, &d, &err) == 0, "%s", err.msg);
        CHECK(d.n == 1797 && d.h == 8 && d.w == 8 && d.c == 1 && d.classes == 10);
        CHECK_MSG(tpl_dataset_resize(&d, 28, 28, &r, &err) == 0, "%s", err.msg);
        CHECK(r.n == 1797 && r.h == 28 && r.w == 28);
        tpl_dataset_free(&r);
        tpl_dataset_free(&d);
    }
}

int main(void) {
    test_png_load();
    test_png_errors();
    test_csv_load();
    test_csv_errors();
    test_resize();
    test_split();
    test_real_files();
    return check_summary("test_digits");
}
