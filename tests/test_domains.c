/* Tests for the digits domains (domains.c) and the IDX writer and channel
 * conversion they use (data.c): write/read round trips (grey rank 3, RGB
 * rank 4, gzip or plain), written files corrupted, grey <-> RGB, JPEG
 * decoding, the MNIST-M blend on synthetic photos, the FreeType printer on
 * one font, a whole build from small synthetic sources (determinism, the
 * shared handwritten/blended partition, missing sources), writing domains
 * without leaving half of one, and the preview.
 *
 * Nothing needs the network or a big package.  The printer and the build
 * need fonts-dejavu-core's DejaVuSans.ttf and say so when they skip; the
 * check against the built-in tasks runs only where opencv-doc,
 * python3-sklearn and the three font packages are all installed. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "domains.h"
#include "plot.h"
#include "tasks.h"
#include "testfiles.h"

static const char *dejavu_sans = TPL_FONT_DIR_DEJAVU "/DejaVuSans.ttf";

static int same_set(const tpl_dataset *a, const tpl_dataset *b) {
    size_t per = (size_t)a->h * a->w * a->c;
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c &&
           a->classes == b->classes && (a->n == 0 || (!memcmp(a->pixels, b->pixels, per * a->n) &&
                                                      !memcmp(a->labels, b->labels, a->n)));
}

/* n images of h x w x c with pixels from seed, labels i % classes. */
static tpl_dataset make_set(int n, int h, int w, int c, int classes, uint32_t seed) {
    tpl_dataset d;
    if (tpl_dataset_alloc(&d, n, h, w, c, classes)) exit(2);
    for (size_t i = 0; i < (size_t)n * h * w * c; i++)
        d.pixels[i] = (uint8_t)((i * 2654435761u + seed * 40503u) >> 13);
    for (int i = 0; i < n; i++) d.labels[i] = (uint8_t)(i % classes);
    return d;
}

/* ---- IDX writer ------------------------------------------------------------ */

/* Writes d to images/labels and loads it back; also checks the rank byte
 * and whether the file on disk is gzip. */
static void roundtrip(const tpl_dataset *d, const char *images, const char *labels, int rank,
                      int gz) {
    tpl_err err = {{0}};
    CHECK_MSG(tpl_idx_write(images, labels, d, &err) == 0, "%s", err.msg);
    size_t len;
    uint8_t *raw = read_file(images, &len, 0);
    CHECK_MSG(len >= 2 && (raw[0] == 0x1f && raw[1] == 0x8b) == gz, "%s: gzip %d", images, gz);
    free(raw);
    raw = read_file(images, &len, 1);
    CHECK(len == 4 + 4 * (size_t)rank + (size_t)d->n * d->h * d->w * d->c);
    CHECK(len > 4 && raw[0] == 0 && raw[1] == 0 && raw[2] == 0x08 && raw[3] == rank);
    free(raw);
    tpl_dataset back;
    CHECK_MSG(tpl_idx_load(images, labels, &back, &err) == 0, "%s", err.msg);
    CHECK(same_set(d, &back));
    tpl_dataset_free(&back);
}

static void test_idx_write(void) {
    scratch_begin("domains");
    tpl_dataset grey = make_set(7, 5, 6, 1, 4, 1), rgb = make_set(9, 4, 3, 3, 5, 2);
    roundtrip(&grey, at("g-images.gz"), at("g-labels.gz"), 3, 1);
    roundtrip(&rgb, at("c-images.gz"), at("c-labels.gz"), 4, 1);
    roundtrip(&rgb, at("p-images"), at("p-labels"), 4, 0);
    /* over an existing file, and a second write gives the same bytes */
    roundtrip(&grey, at("c-images.gz"), at("c-labels.gz"), 3, 1);
    tpl_err err = {{0}};
    CHECK(tpl_idx_write(at("g2-images.gz"), at("g2-labels.gz"), &grey, &err) == 0);
    CHECK(same_file(at("g-images.gz"), at("g2-images.gz")));

    /* the directory layout, both splits */
    make_dirs(at("dir"));
    tpl_dataset back;
    CHECK_MSG(tpl_idx_write_dir(at("dir"), "train", &rgb, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_idx_write_dir(at("dir"), "test", &grey, &err) == 0, "%s", err.msg);
    CHECK(tpl_idx_load_dir(at("dir"), "train", &back, &err) == 0 && same_set(&rgb, &back));
    tpl_dataset_free(&back);
    CHECK(tpl_idx_load_dir(at("dir"), "test", &back, &err) == 0 && same_set(&grey, &back));
    tpl_dataset_free(&back);
    char names[1024];
    listing(at("dir"), names, sizeof names);
    CHECK_MSG(!strcmp(names, "t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz "
                             "train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz"),
              "left: %s", names);
    CHECK(tpl_idx_write_dir(at("dir"), "valid", &rgb, &err) != 0 && strstr(err.msg, "valid"));

    /* what the loader could not read back is refused, and nothing is left */
    tpl_dataset empty = {0, 5, 5, 1, 1, NULL, NULL}, two = rgb;
    two.c = 2;
    CHECK(tpl_idx_write(at("e-im"), at("e-lb"), &empty, &err) != 0);
    CHECK_MSG(strstr(err.msg, at("e-im")) == err.msg && strstr(err.msg, "cannot write"), "%s",
              err.msg);
    CHECK(tpl_idx_write(at("e-im"), at("e-lb"), &two, &err) != 0 && strstr(err.msg, "1 or 3"));
    CHECK(access(at("e-im"), F_OK) != 0 && access(at("e-lb"), F_OK) != 0);
    CHECK(tpl_idx_write(at("nodir/im.gz"), at("nodir/lb.gz"), &grey, &err) != 0);
    CHECK_MSG(strstr(err.msg, "nodir/im.gz") && strstr(err.msg, "No such file"), "%s", err.msg);
    /* labels failing leaves no images file either */
    CHECK(tpl_idx_write(at("lonely-im.gz"), at("nodir/lb.gz"), &grey, &err) != 0);
    CHECK(access(at("lonely-im.gz"), F_OK) != 0);
    listing(scratch_root, names, sizeof names);
    CHECK_MSG(!strstr(names, ".tmp"), "temporary files left: %s", names);

    tpl_dataset_free(&grey);
    tpl_dataset_free(&rgb);
    scratch_end();
}

/* A written RGB file, then corrupted: the loader names each problem. */
static void test_idx_corrupt(void) {
    scratch_begin("domains");
    tpl_dataset rgb = make_set(4, 3, 3, 3, 2, 9);
    const char *im = at("im"), *lb = at("lb.gz"), *bad = at("bad");
    tpl_err err = {{0}};
    CHECK(tpl_idx_write(im, lb, &rgb, &err) == 0); /* plain: easy to edit */
    size_t len;
    uint8_t *b = read_file(im, &len, 0);
    CHECK(len == 20 + 4 * 27);
    struct {
        size_t keep;  /* bytes kept */
        int at;       /* byte to change (-1: none) */
        uint8_t to;
        const char *want;
    } cases[] = {
        {len, 19, 2, "2 channels, expected 1 or 3"},
        {len, 19, 0, "dimension 3 is 0"},
        {len, 3, 5, "IDX rank 5, expected 3 or 4"},
        {len, 2, 0x0B, "dtype"},
        {18, -1, 0, "truncated: IDX header is 20 bytes, got 18"},
        {len - 1, -1, 0, "truncated: expected 108 bytes of image data, got 107"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t c = 0;
        if (cases[i].at >= 0) c = b[cases[i].at], b[cases[i].at] = cases[i].to;
        write_file(bad, b, cases[i].keep, 0);
        if (cases[i].at >= 0) b[cases[i].at] = c;
        tpl_dataset d;
        CHECK(tpl_idx_load(bad, lb, &d, &err) != 0);
        CHECK_MSG(strstr(err.msg, bad) == err.msg && strstr(err.msg, cases[i].want) &&
                      !strchr(err.msg, '\n'),
                  "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
        CHECK(d.n == 0 && !d.pixels);
    }
    free(b);
    tpl_dataset_free(&rgb);
    scratch_end();
}

/* ---- channels -------------------------------------------------------------- */

static void test_channels(void) {
    tpl_dataset grey = make_set(3, 2, 2, 1, 2, 4), rgb, back, copy;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_dataset_to_channels(&grey, 3, &rgb, &err) == 0, "%s", err.msg);
    CHECK(rgb.n == 3 && rgb.h == 2 && rgb.w == 2 && rgb.c == 3 && rgb.classes == 2);
    for (int i = 0; i < 12; i++)
        for (int k = 0; k < 3; k++) CHECK(rgb.pixels[3 * i + k] == grey.pixels[i]);
    CHECK(!memcmp(rgb.labels, grey.labels, 3));
    /* back to grey: luma of a replicated grey is the grey */
    CHECK(tpl_dataset_to_channels(&rgb, 1, &back, &err) == 0 && same_set(&back, &grey));
    CHECK(tpl_dataset_to_channels(&rgb, 3, &copy, &err) == 0 && same_set(&copy, &rgb));
    CHECK(copy.pixels != rgb.pixels);
    tpl_dataset_free(&back);
    tpl_dataset_free(&copy);

    /* Rec. 601 luma, rounded: red 76.2, green 149.7, blue 29.1, mixes */
    uint8_t px[5 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 20, 30};
    uint8_t lb[5] = {0, 1, 2, 3, 4};
    tpl_dataset c5 = {5, 1, 1, 3, 5, px, lb};
    CHECK(tpl_dataset_to_channels(&c5, 1, &back, &err) == 0);
    CHECK(back.pixels[0] == 76 && back.pixels[1] == 150 && back.pixels[2] == 29);
    CHECK(back.pixels[3] == 255 && back.pixels[4] == 18); /* 2.99 + 11.74 + 3.42 */
    tpl_dataset_free(&back);

    CHECK(tpl_dataset_to_channels(&grey, 2, &back, &err) != 0 && strstr(err.msg, "channels:"));
    CHECK(back.n == 0 && !back.pixels);
    CHECK(tpl_dataset_to_channels(&grey, 3, &grey, &err) != 0);
    tpl_dataset none = {0, 4, 4, 1, 10, NULL, NULL};
    CHECK(tpl_dataset_to_channels(&none, 3, &back, &err) == 0 && back.n == 0 && back.c == 3);
    tpl_dataset_free(&grey);
    tpl_dataset_free(&rgb);
}

/* ---- JPEG and the MNIST-M blend -------------------------------------------- */

static void test_jpeg(void) {
    scratch_begin("domains");
    enum { W = 40, H = 30 };
    uint8_t rgb[W * H * 3], grey[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + 3 * (y * W + x);
            p[0] = (uint8_t)(6 * x), p[1] = (uint8_t)(8 * y), p[2] = 200;
            grey[y * W + x] = (uint8_t)(3 * x + 2 * y);
        }
    write_jpeg(at("c.jpg"), rgb, W, H, 3, 100);
    write_jpeg(at("g.jpg"), grey, W, H, 1, 100);
    write_jpeg(at("small.jpg"), rgb, 20, 20, 3, 100);
    tpl_image ph;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_jpeg_read(at("c.jpg"), 3, 16384, &ph, &err) == 0, "%s", err.msg);
    CHECK(ph.w == W && ph.h == H && ph.file_c == 3 && ph.px);
    int worst = 0; /* quality 100 on a smooth picture: within a few levels */
    for (int i = 0; i < W * H * 3; i++)
        if (abs(ph.px[i] - rgb[i]) > worst) worst = abs(ph.px[i] - rgb[i]);
    CHECK_MSG(worst <= 8, "JPEG off by %d", worst);
    free(ph.px);
    CHECK(tpl_jpeg_read(at("g.jpg"), 3, 16384, &ph, &err) == 0 && ph.file_c == 1 && ph.w == W);
    for (int i = 0; i < W * H; i++) CHECK(ph.px[3 * i] == ph.px[3 * i + 1]);
    free(ph.px);

    /* not a JPEG, cut short, missing: one line naming the file */
    write_file(at("bad.jpg"), "not a jpeg at all", 17, 0);
    CHECK(tpl_jpeg_read(at("bad.jpg"), 3, 16384, &ph, &err) != 0 && !ph.px);
    CHECK_MSG(strstr(err.msg, "bad.jpg: cannot decode JPEG") && !strchr(err.msg, '\n'), "%s",
              err.msg);
    size_t len;
    uint8_t *b = read_file(at("c.jpg"), &len, 0);
    write_file(at("cut.jpg"), b, 200, 0);
    free(b);
    /* libjpeg pads a stream cut inside the scans (a warning), so only ask for
     * no crash and no leak; cut inside the header it must fail */
    if (tpl_jpeg_read(at("cut.jpg"), 3, 16384, &ph, &err) == 0) free(ph.px);
    write_file(at("cut.jpg"), "\xff\xd8\xff\xe0\x00\x10JFIF", 10, 0);
    CHECK(tpl_jpeg_read(at("cut.jpg"), 3, 16384, &ph, &err) != 0 && strstr(err.msg, "cut.jpg: cannot decode"));
    CHECK(tpl_jpeg_read(at("none.jpg"), 3, 16384, &ph, &err) != 0 && strstr(err.msg, "No such file"));

    /* a directory of them: sorted; grey and small photos skipped */
    tpl_paths files = {0};
    tpl_photos photos;
    CHECK(tpl_paths_list(&files, scratch_root, ".jpg", &err) == 0 && files.n == 5);
    for (int i = 1; i < files.n; i++) CHECK(strcmp(files.path[i - 1], files.path[i]) < 0);
    tpl_paths_free(&files);
    unlink(at("bad.jpg"));
    unlink(at("cut.jpg"));
    CHECK(tpl_paths_list(&files, scratch_root, ".jpg", &err) == 0 && files.n == 3);
    CHECK_MSG(tpl_photos_load(&files, 28, &photos, &err) == 0, "%s", err.msg);
    CHECK(photos.n == 1 && photos.photo[0].w == W);
    tpl_photos_free(&photos);
    CHECK(tpl_photos_load(&files, 31, &photos, &err) != 0 && strstr(err.msg, "31x31"));
    tpl_paths_free(&files);
    CHECK(tpl_paths_list(&files, at("nodir"), ".jpg", &err) != 0 && strstr(err.msg, "nodir"));
    scratch_end();
}

/* out = |patch - digit| per channel, exactly, with the patch inside a wider
 * picture (rows stride bytes apart). */
static void test_blend(void) {
    enum { S = 4, PW = 7 };
    uint8_t digit[S * S], photo[S * PW * 3], out[S * S * 3];
    for (int i = 0; i < S * S; i++) digit[i] = (uint8_t)(i * 17);
    for (int i = 0; i < S * PW * 3; i++) photo[i] = (uint8_t)(i * 29 + 5);
    const int x0 = 2;
    tpl_mnistm_blend(digit, S, photo + 3 * x0, PW * 3, out);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                int p = photo[(y * PW + x + x0) * 3 + c], d = digit[y * S + x];
                CHECK(out[(y * S + x) * 3 + c] == abs(p - d));
            }
    /* white digit on a black patch is the digit; any digit on white, its negative */
    uint8_t black[S * S * 3] = {0}, white[S * S * 3];
    memset(white, 255, sizeof white);
    tpl_mnistm_blend(digit, S, black, S * 3, out);
    for (int i = 0; i < S * S * 3; i++) CHECK(out[i] == digit[i / 3]);
    tpl_mnistm_blend(digit, S, white, S * 3, out);
    for (int i = 0; i < S * S * 3; i++) CHECK(out[i] == 255 - digit[i / 3]);
}

/* Is image j of out |crop - digit j % grey->n| for some photo and place? */
static int is_blend_of_crop(const tpl_dataset *grey, const tpl_dataset *out, int j,
                            const tpl_photos *ph, int *which) {
    const int i = j % grey->n;
    const int s = grey->h;
    uint8_t want[8 * 8 * 3];
    for (int p = 0; p < ph->n; p++)
        for (int y = 0; y + s <= ph->photo[p].h; y++)
            for (int x = 0; x + s <= ph->photo[p].w; x++) {
                const tpl_image *f = &ph->photo[p];
                tpl_mnistm_blend(grey->pixels + (size_t)i * s * s, s,
                                 f->px + ((size_t)y * f->w + x) * 3, (size_t)f->w * 3, want);
                if (!memcmp(want, out->pixels + (size_t)j * s * s * 3, (size_t)s * s * 3)) {
                    *which = p;
                    return 1;
                }
            }
    return 0;
}

/* Three copies: blocks of every digit in order, the first block the
 * one-copy set (one), each image a blend of its digit, and the copies of a
 * digit over other patches. */
static void check_copies(const tpl_dataset *grey, const tpl_photos *ph, const tpl_dataset *one) {
    tpl_dataset c;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_blended_build(grey, ph, 3, 77, &c, &err) == 0, "%s", err.msg);
    if (c.n != 3 * grey->n) {
        CHECK_MSG(0, "3 copies of %d digits: %d images", grey->n, c.n);
        tpl_dataset_free(&c);
        return;
    }
    const size_t per = (size_t)c.h * c.w * c.c;
    tpl_dataset first = c;
    first.n = grey->n;
    CHECK(same_set(&first, one));
    int ok = 1, differ = 0, p;
    for (int j = 0; j < c.n; j++) {
        ok &= c.labels[j] == grey->labels[j % grey->n] && is_blend_of_crop(grey, &c, j, ph, &p);
        if (j >= grey->n)
            differ += memcmp(c.pixels + per * j, c.pixels + per * (j - grey->n), per) != 0;
    }
    CHECK_MSG(ok, "a copy is no blend of its digit");
    CHECK_MSG(differ > grey->n, "only %d of %d copies differ from the one before", differ,
              2 * grey->n);
    tpl_dataset_free(&c);
}

static void test_blended_build(void) {
    tpl_dataset grey = make_set(60, 8, 8, 1, 10, 3), a, b;
    tpl_dataset big = make_set(2, 12, 10, 3, 1, 5); /* two "photos" as pixel stores */
    tpl_image photo[2] = {{10, 12, 3, 3, big.pixels}, {8, 8, 3, 3, big.pixels + 12 * 10 * 3}};
    tpl_photos ph = {2, photo};
    tpl_err err = {{0}};
    CHECK_MSG(tpl_blended_build(&grey, &ph, 1, 77, &a, &err) == 0, "%s", err.msg);
    CHECK(a.n == 60 && a.h == 8 && a.w == 8 && a.c == 3 && a.classes == 10);
    CHECK(!memcmp(a.labels, grey.labels, 60));
    int used[2] = {0, 0}, ok = 1;
    for (int i = 0; i < a.n; i++) {
        int p = -1;
        ok &= is_blend_of_crop(&grey, &a, i, &ph, &p);
        if (p >= 0) used[p]++;
    }
    CHECK_MSG(ok, "an image is no blend of a crop");
    CHECK(used[0] > 0 && used[1] > 0);
    /* one seed, one result; another seed, other patches */
    CHECK(tpl_blended_build(&grey, &ph, 1, 77, &b, &err) == 0 && same_set(&a, &b));
    tpl_dataset_free(&b);
    CHECK(tpl_blended_build(&grey, &ph, 1, 78, &b, &err) == 0 && !same_set(&a, &b));
    tpl_dataset_free(&b);
    check_copies(&grey, &ph, &a);
    /* colour digits, photos smaller than the digits, no copies are refused */
    CHECK(tpl_blended_build(&big, &ph, 1, 1, &b, &err) != 0 && strstr(err.msg, "blend:"));
    CHECK(tpl_blended_build(&grey, &ph, 0, 1, &b, &err) != 0 && strstr(err.msg, "0 copies"));
    tpl_dataset large = make_set(2, 11, 11, 1, 2, 1);
    CHECK(tpl_blended_build(&large, &ph, 1, 1, &b, &err) != 0 && b.n == 0);
    tpl_dataset_free(&large);
    tpl_dataset_free(&a);
    tpl_dataset_free(&big);
    tpl_dataset_free(&grey);
}

/* ---- printed ---------------------------------------------------------------- */

static int have_dejavu(const char *what) {
    if (access(dejavu_sans, R_OK) == 0) return 1;
    check_skip(what, dejavu_sans, "fonts-dejavu-core");
    return 0;
}

enum { SD = TPL_DOMAIN_SIDE };

/* Sum of how far each pixel is from the paper, over channel 0. */
static long ink(const uint8_t *rgb, const tpl_print_style *s) {
    long sum = 0;
    for (int i = 0; i < SD * SD; i++) sum += abs(rgb[3 * i] - s->bg[0]);
    return sum;
}

static void render(tpl_printer *p, int digit, const tpl_print_style *s, uint8_t *out) {
    tpl_err err = {{0}};
    CHECK_MSG(tpl_printer_render(p, digit, s, SD, out, &err) == 0, "%s", err.msg);
}

/* Black on white, upright, centred: paper at the corners, full ink inside,
 * more ink for an 8 than a 1, the box centred. */
static void check_plain(tpl_printer *p, const tpl_print_style *s) {
    uint8_t one[SD * SD * 3], eight[SD * SD * 3];
    render(p, 1, s, one);
    render(p, 8, s, eight);
    CHECK(one[0] == 255 && eight[3 * (SD * SD - 1)] == 255);
    CHECK(ink(one, s) > 0 && ink(eight, s) > ink(one, s));
    int full = 0, x0 = SD, x1 = -1, y0 = SD, y1 = -1;
    for (int y = 0; y < SD; y++)
        for (int x = 0; x < SD; x++) {
            const uint8_t *px = eight + 3 * (y * SD + x);
            full += px[0] == 0 && px[1] == 0 && px[2] == 0;
            if (px[0] != 255) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
        }
    CHECK(full > 10);
    CHECK_MSG(abs(x0 + x1 - (SD - 1)) <= 2 && abs(y0 + y1 - (SD - 1)) <= 2,
              "box x %d..%d y %d..%d is not centred", x0, x1, y0, y1);
    CHECK(y1 - y0 >= 12 && y1 - y0 < SD); /* a 24 px em: digits ~17 px tall */
}

/* A shift moves the picture by exactly (dx, dy). */
static void check_shift(tpl_printer *p, const tpl_print_style *s) {
    tpl_print_style moved = *s;
    moved.dx = 3, moved.dy = -2;
    uint8_t a[SD * SD * 3], b[SD * SD * 3];
    render(p, 5, s, a);
    render(p, 5, &moved, b);
    int ok = 1;
    for (int y = 0; y < SD; y++)
        for (int x = 0; x < SD; x++) {
            int sy = y + 2, sx = x - 3;
            int want = sy < SD && sx >= 0 ? a[3 * (sy * SD + sx)] : 255;
            ok &= b[3 * (y * SD + x)] == want;
        }
    CHECK(ok);
}

/* Stroke thickens, rotation changes the picture but not its ink much, and
 * colours mix only along the paper-ink segment. */
static void check_variations(tpl_printer *p, const tpl_print_style *s) {
    uint8_t a[SD * SD * 3], b[SD * SD * 3];
    tpl_print_style v = *s;
    render(p, 8, s, a);
    v.stroke = 2.0f;
    render(p, 8, &v, b);
    CHECK(ink(b, &v) > ink(a, s) * 11 / 10);
    v = *s;
    v.angle = 15.0f * 3.14159265f / 180.0f;
    render(p, 8, &v, b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(labs(ink(b, &v) - ink(a, s)) < ink(a, s) / 5);
    v = *s;
    memcpy(v.fg, (uint8_t[3]){200, 30, 40}, 3);
    memcpy(v.bg, (uint8_t[3]){10, 220, 90}, 3);
    render(p, 3, &v, b);
    int on_segment = 1, inked = 0;
    for (int i = 0; i < SD * SD; i++) {
        const double t = (b[3 * i] - 10) / 190.0;
        inked += t > 0.5;
        for (int c = 1; c < 3; c++)
            on_segment &= fabs(b[3 * i + c] - (v.bg[c] + t * (v.fg[c] - v.bg[c]))) < 1.5;
    }
    CHECK(on_segment && inked > 10);
}

static void check_styles(int n_fonts) {
    tpl_rng r1, r2;
    tpl_rng_seed(&r1, 31);
    tpl_rng_seed(&r2, 31);
    int ok = 1, same = 1;
    for (int i = 0; i < 2000; i++) {
        tpl_print_style a, b;
        tpl_print_style_draw(&r1, n_fonts, &a);
        tpl_print_style_draw(&r2, n_fonts, &b);
        same &= a.font == b.font && a.size == b.size && a.angle == b.angle &&
                a.stroke == b.stroke && a.dx == b.dx && a.dy == b.dy &&
                !memcmp(a.fg, b.fg, 3) && !memcmp(a.bg, b.bg, 3);
        int luma_f = (299 * a.fg[0] + 587 * a.fg[1] + 114 * a.fg[2] + 500) / 1000;
        int luma_b = (299 * a.bg[0] + 587 * a.bg[1] + 114 * a.bg[2] + 500) / 1000;
        ok &= a.font >= 0 && a.font < n_fonts && a.size >= TPL_PRINT_SIZE_MIN &&
              a.size <= TPL_PRINT_SIZE_MAX && fabsf(a.angle) <= 15.0f * 3.1416f / 180.0f &&
              a.stroke >= 0.0f && a.stroke <= TPL_PRINT_STROKE_MAX &&
              abs(a.dx) <= TPL_PRINT_SHIFT && abs(a.dy) <= TPL_PRINT_SHIFT &&
              abs(luma_f - luma_b) >= TPL_PRINT_MIN_CONTRAST;
    }
    CHECK(ok);
    CHECK(same);
}

static void test_printed(void) {
    if (!have_dejavu("printed-renderer checks")) return;
    tpl_err err = {{0}};
    tpl_paths fonts = {0};
    CHECK(tpl_paths_list(&fonts, TPL_FONT_DIR_DEJAVU, ".ttf", &err) == 0 && fonts.n >= 1);
    int found = 0;
    for (int i = 0; i < fonts.n; i++) {
        found |= !strcmp(fonts.path[i], dejavu_sans);
        if (i) CHECK(strcmp(fonts.path[i - 1], fonts.path[i]) < 0);
    }
    CHECK(found);
    tpl_paths_free(&fonts);

    char *one_font[1] = {(char *)dejavu_sans};
    tpl_paths one = {1, one_font};
    tpl_printer *p = tpl_printer_open(&one, &err);
    CHECK_MSG(p && tpl_printer_fonts(p) == 1, "%s", err.msg);
    if (!p) return;
    const tpl_print_style plain = {0, 24, 0.0f, 0.0f, 0, 0, {0, 0, 0}, {255, 255, 255}};
    check_plain(p, &plain);
    check_shift(p, &plain);
    check_variations(p, &plain);
    uint8_t digits[10][SD * SD * 3];
    for (int d = 0; d < 10; d++) render(p, d, &plain, digits[d]);
    for (int a = 0; a < 10; a++)
        for (int b = a + 1; b < 10; b++) CHECK(memcmp(digits[a], digits[b], sizeof digits[0]));
    tpl_print_style wrong = plain;
    CHECK(tpl_printer_render(p, 10, &plain, SD, digits[0], &err) != 0);
    wrong.font = 1;
    CHECK(tpl_printer_render(p, 3, &wrong, SD, digits[0], &err) != 0 && strstr(err.msg, "font 1"));
    check_styles(3);

    tpl_dataset a, b;
    CHECK_MSG(tpl_printed_build(p, 3, 5, &a, &err) == 0, "%s", err.msg);
    CHECK(a.n == 30 && a.c == 3 && a.h == SD && a.classes == 10);
    for (int i = 0; i < a.n; i++) CHECK(a.labels[i] == i % 10);
    CHECK(tpl_printed_build(p, 3, 5, &b, &err) == 0 && same_set(&a, &b));
    tpl_dataset_free(&b);
    CHECK(tpl_printed_build(p, 3, 6, &b, &err) == 0 && !same_set(&a, &b));
    tpl_dataset_free(&b);
    CHECK(tpl_printed_build(p, 0, 5, &b, &err) != 0 && b.n == 0);
    tpl_dataset_free(&a);
    tpl_printer_close(p);

    char *gone[1] = {"/nonexistent/font.ttf"};
    tpl_paths missing = {1, gone};
    CHECK(!tpl_printer_open(&missing, &err) && strstr(err.msg, "/nonexistent/font.ttf"));
    tpl_paths none = {0, NULL};
    CHECK(!tpl_printer_open(&none, &err) && strstr(err.msg, "none of the 0"));
}

/* ---- a whole build from synthetic sources ---------------------------------- */

/* A 40x1000 sheet of 20x20 cells, 5 rows per digit: 10 of each, all
 * different; and a CSV of 3 8x8 digits per class. */
static void write_sources(void) {
    enum { W = 40, H = 1000 };
    static uint8_t sheet[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int cell = (y / 20) * 2 + x / 20;
            sheet[y * W + x] = (uint8_t)((cell * 37 + (y % 20) * 11 * (1 + cell % 3) + x * 7) % 256);
        }
    write_png(at("sheet.png"), sheet, W, H, 1);
    FILE *f = fopen(at("digits.csv"), "w");
    for (int i = 0; i < 30; i++) {
        for (int k = 0; k < 64; k++) fprintf(f, "%d,", (i * 5 + k * 3) % 17);
        fprintf(f, "%d\n", i % 10);
    }
    fclose(f);
    /* three font directories with one (linked) font each; photos: one black
     * colour photo (so blended images are their digits), a grey and a small
     * one that are skipped */
    const char *dirs[3] = {"f1", "f2", "f3"};
    for (int i = 0; i < 3; i++) {
        make_dirs(at(dirs[i]));
        char link[512];
        snprintf(link, sizeof link, "%s/%s/a.ttf", scratch_root, dirs[i]);
        if (symlink(dejavu_sans, link)) exit(2);
    }
    make_dirs(at("photos"));
    static uint8_t black[64 * 48 * 3], grey[64 * 48];
    write_jpeg(at("photos/black.jpg"), black, 64, 48, 3, 100);
    write_jpeg(at("photos/grey.jpg"), grey, 64, 48, 1, 100);
    write_jpeg(at("photos/small.jpg"), black, 16, 16, 3, 100);
}

/* The synthetic sources' paths, kept (at()'s buffers rotate). */
static void synthetic_opts(tpl_digits_opts *o) {
    static const char *const name[TPL_N_SOURCES] = {
        [TPL_SRC_HANDWRITTEN] = "sheet.png", [TPL_SRC_OPTICAL] = "digits.csv",
        [TPL_SRC_DEJAVU] = "f1", [TPL_SRC_LIBERATION] = "f2", [TPL_SRC_FREEFONT] = "f3",
        [TPL_SRC_PHOTOS] = "photos"};
    static char path[TPL_N_SOURCES][512];
    tpl_digits_opts_default(o);
    o->seed = 11;
    o->printed_per_class = 4;
    o->blended_per_class = 5;
    for (int i = 0; i < TPL_N_SOURCES; i++) {
        snprintf(path[i], sizeof path[i], "%s", at(name[i]));
        o->src[i].path = path[i];
    }
}

static int find_image(const tpl_dataset *d, const uint8_t *px, int label) {
    size_t per = (size_t)d->h * d->w * d->c;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] == label && !memcmp(d->pixels + per * i, px, per)) return i;
    return -1;
}

/* Every blended image (on a black photo: its digit) lies in the same half
 * of handwritten as it does in blended. */
static void check_partition(const tpl_domain *dom) {
    const tpl_domain *h = &dom[TPL_DOM_HANDWRITTEN], *b = &dom[TPL_DOM_BLENDED];
    size_t per = (size_t)SD * SD * 3;
    int same_half = 1;
    for (int i = 0; i < b->train.n; i++)
        same_half &= find_image(&h->train, b->train.pixels + per * i, b->train.labels[i]) >= 0;
    for (int i = 0; i < b->test.n; i++)
        same_half &= find_image(&h->test, b->test.pixels + per * i, b->test.labels[i]) >= 0;
    CHECK_MSG(same_half, "a blended image is in the other half of handwritten");
}

/* No blended test image is a blended training image (on a black photo an
 * image is its digit: each handwritten digit in one half only). */
static void check_disjoint(const tpl_domain *b) {
    size_t per = (size_t)SD * SD * 3;
    int shared = 0;
    for (int i = 0; i < b->test.n; i++)
        shared += find_image(&b->train, b->test.pixels + per * i, b->test.labels[i]) >= 0;
    CHECK_MSG(shared == 0, "%d blended test digits also train", shared);
}

/* The default copies, checked against one and two copies: blended is
 * copies blocks, each the one-copy set's halves (so --blended-copies 1 is
 * what one patch a digit always gave); the other domains do not change. */
static void check_copies_split(const tpl_digits_opts *o, const tpl_domain *three) {
    CHECK(o->blended_copies == TPL_BLENDED_COPIES && TPL_BLENDED_COPIES == 3);
    check_disjoint(&three[TPL_DOM_BLENDED]);
    tpl_digits_opts one_o = *o;
    one_o.progress = NULL;
    one_o.blended_copies = 1;
    tpl_domain one[TPL_N_DOMAINS];
    tpl_err err = {{0}};
    CHECK_MSG(tpl_digits_build(&one_o, one, &err) == 0, "%s", err.msg);
    const tpl_domain *b1 = &one[TPL_DOM_BLENDED], *b3 = &three[TPL_DOM_BLENDED];
    CHECK(b3->train.n == 3 * b1->train.n && b3->test.n == 3 * b1->test.n);
    const size_t per = (size_t)SD * SD * 3;
    for (int k = 0; k < 3 && b3->train.n == 3 * b1->train.n && b3->test.n == 3 * b1->test.n; k++) {
        tpl_dataset tr = b3->train, te = b3->test;
        tr.n = b1->train.n;
        tr.pixels += per * tr.n * k;
        tr.labels += (size_t)tr.n * k;
        te.n = b1->test.n;
        te.pixels += per * te.n * k;
        te.labels += (size_t)te.n * k;
        /* on the black photo every copy is the digit: each block the same */
        CHECK_MSG(same_set(&tr, &b1->train) && same_set(&te, &b1->test), "block %d", k);
    }
    for (int d = 0; d < TPL_DOM_BLENDED; d++)
        CHECK(same_set(&one[d].train, &three[d].train) && same_set(&one[d].test, &three[d].test));
    tpl_domains_free(one, TPL_N_DOMAINS);
}

static void check_counts(const tpl_domain *dom, int copies) {
    /* per class: 10 handwritten (2 test), 3 optical (1), 4 printed (1), 5
     * handwritten digits blended (1), each in copies images */
    const int train[4] = {80, 20, 30, 40 * copies}, test[4] = {20, 10, 10, 10 * copies};
    for (int d = 0; d < TPL_N_DOMAINS; d++) {
        const tpl_dataset *t = &dom[d].train;
        CHECK_MSG(t->n == train[d] && dom[d].test.n == test[d], "%s: %d/%d", dom[d].name, t->n,
                  dom[d].test.n);
        CHECK(t->h == SD && t->w == SD && t->c == 3 && t->classes == 10);
        CHECK(!strcmp(dom[d].name, tpl_domain_names[d]));
    }
    const tpl_dataset *h = &dom[TPL_DOM_HANDWRITTEN].train;
    int grey = 1;
    for (int i = 0; i < h->n * SD * SD; i++)
        grey &= h->pixels[3 * i] == h->pixels[3 * i + 1] && h->pixels[3 * i] == h->pixels[3 * i + 2];
    CHECK(grey);
}

static int same_domains(const tpl_domain *a, const tpl_domain *b) {
    int same = 1;
    for (int d = 0; d < TPL_N_DOMAINS; d++)
        same &= same_set(&a[d].train, &b[d].train) && same_set(&a[d].test, &b[d].test);
    return same;
}

static void check_missing_sources(tpl_digits_opts o) {
    tpl_domain dom[TPL_N_DOMAINS];
    tpl_err err = {{0}};
    o.src[TPL_SRC_OPTICAL].path = at("nope.csv");
    CHECK(tpl_digits_check_sources(&o, &err) != 0);
    CHECK_MSG(strstr(err.msg, "nope.csv: No such file") && strstr(err.msg, "python3-sklearn") &&
                  !strchr(err.msg, '\n'), "%s", err.msg);
    CHECK_MSG(tpl_digits_build(&o, dom, &err) != 0 &&
                  strstr(err.msg, "apt-get install python3-sklearn"), "%s", err.msg);
    CHECK(dom[0].train.n == 0 && !dom[0].train.pixels);
    synthetic_opts(&o);
    make_dirs(at("nofonts"));
    o.src[TPL_SRC_LIBERATION].path = at("nofonts");
    CHECK(tpl_digits_build(&o, dom, &err) != 0);
    CHECK_MSG(strstr(err.msg, "nofonts: no .ttf") && strstr(err.msg, "fonts-liberation"), "%s",
              err.msg);
    synthetic_opts(&o);
    o.blended_per_class = 501;
    CHECK(tpl_digits_build(&o, dom, &err) != 0 && strstr(err.msg, "blended 501"));
    synthetic_opts(&o);
    o.blended_copies = TPL_BLENDED_MAX_COPIES + 1;
    CHECK(tpl_digits_build(&o, dom, &err) != 0 && strstr(err.msg, "blended copies"));
    o.blended_copies = 0;
    CHECK(tpl_digits_build(&o, dom, &err) != 0 && strstr(err.msg, "blended copies 0"));
}

static void test_build(void) {
    if (!have_dejavu("the build from synthetic sources")) return;
    scratch_begin("domains");
    write_sources();
    tpl_digits_opts o;
    synthetic_opts(&o);
    FILE *log = tmpfile();
    o.progress = log;
    tpl_domain a[TPL_N_DOMAINS], b[TPL_N_DOMAINS];
    tpl_err err = {{0}};
    CHECK_MSG(tpl_digits_check_sources(&o, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_digits_build(&o, a, &err) == 0, "%s", err.msg);
    rewind(log);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, log)) lines++;
    fclose(log);
    CHECK(lines == TPL_N_DOMAINS);
    check_counts(a, o.blended_copies);
    check_partition(a);
    check_copies_split(&o, a);

    /* one seed: the same domains, and the same bytes on disk */
    o.progress = NULL;
    CHECK(tpl_digits_build(&o, b, &err) == 0 && same_domains(a, b));
    make_dirs(at("out1"));
    make_dirs(at("out2"));
    CHECK(tpl_domains_save(at("out1"), a, TPL_N_DOMAINS, &err) == 0);
    CHECK(tpl_domains_save(at("out2"), b, TPL_N_DOMAINS, &err) == 0);
    CHECK(same_file(at("out1/printed/train-images-idx3-ubyte.gz"),
                    at("out2/printed/train-images-idx3-ubyte.gz")));
    CHECK(same_file(at("out1/blended/t10k-labels-idx1-ubyte.gz"),
                    at("out2/blended/t10k-labels-idx1-ubyte.gz")));
    tpl_domains_free(b, TPL_N_DOMAINS);
    o.seed = 12;
    CHECK_MSG(tpl_digits_build(&o, b, &err) == 0, "%s", err.msg);
    CHECK(!same_set(&a[TPL_DOM_PRINTED].train, &b[TPL_DOM_PRINTED].train));
    CHECK(!same_set(&a[TPL_DOM_HANDWRITTEN].test, &b[TPL_DOM_HANDWRITTEN].test));
    tpl_domains_free(b, TPL_N_DOMAINS);
    tpl_domains_free(a, TPL_N_DOMAINS);
    check_missing_sources(o);
    scratch_end();
}

/* ---- writing domains and the preview -------------------------------------- */

static void small_domains(tpl_domain *dom, uint32_t seed) {
    for (int d = 0; d < TPL_N_DOMAINS; d++) {
        dom[d].name = tpl_domain_names[d];
        dom[d].train = make_set(12, 6, 6, 3, 10, seed + (uint32_t)d);
        dom[d].test = make_set(10, 6, 6, 3, 10, seed + 100u + (uint32_t)d);
    }
}

static int saved_as(const char *dir, const tpl_domain *dom) {
    char path[512];
    int same = 1;
    for (int d = 0; d < TPL_N_DOMAINS; d++) {
        tpl_dataset tr, te;
        tpl_err err = {{0}};
        snprintf(path, sizeof path, "%s/%s", dir, dom[d].name);
        same &= tpl_idx_load_dir(path, "train", &tr, &err) == 0 &&
                tpl_idx_load_dir(path, "test", &te, &err) == 0 && same_set(&tr, &dom[d].train) &&
                same_set(&te, &dom[d].test);
        tpl_dataset_free(&tr);
        tpl_dataset_free(&te);
    }
    return same;
}

/* The preview of the domains' training halves, 16 samples a row. */
static int preview(const char *path, const tpl_domain *dom, int n, tpl_err *err) {
    const tpl_dataset *sets[TPL_N_DOMAINS];
    for (int d = 0; d < n; d++) sets[d] = &dom[d].train;
    return tpl_samples_preview(path, tpl_domain_names, sets, n, 16, err);
}

static void test_save(void) {
    scratch_begin("domains");
    tpl_domain one[TPL_N_DOMAINS], two[TPL_N_DOMAINS];
    small_domains(one, 1);
    small_domains(two, 2);
    tpl_err err = {{0}};
    int created = 0;
    const char *out = at("out");
    char names[1024];
    CHECK(tpl_domains_prepare(out, tpl_domain_names, TPL_N_DOMAINS, &created, &err) == 0 && created);
    CHECK(tpl_domains_save(out, one, TPL_N_DOMAINS, &err) == 0 && saved_as(out, one));
    listing(out, names, sizeof names);
    CHECK_MSG(!strcmp(names, "blended handwritten optical printed"), "%s", names);
    /* a second run replaces the first, leaving nothing beside */
    CHECK(tpl_domains_prepare(out, tpl_domain_names, TPL_N_DOMAINS, &created, &err) == 0 && !created);
    CHECK(tpl_domains_save(out, two, TPL_N_DOMAINS, &err) == 0 && saved_as(out, two));
    listing(out, names, sizeof names);
    CHECK_MSG(!strcmp(names, "blended handwritten optical printed"), "%s", names);

    /* writing fails at the third domain: nothing changes, nothing is left */
    tpl_dataset keep = one[2].test;
    one[2].test.n = 0;
    CHECK(tpl_domains_save(out, one, TPL_N_DOMAINS, &err) != 0 && strstr(err.msg, "cannot write"));
    one[2].test = keep;
    CHECK(saved_as(out, two));
    listing(out, names, sizeof names);
    CHECK_MSG(!strcmp(names, "blended handwritten optical printed"), "%s", names);

    /* what an earlier run did not write is never replaced */
    write_file(at("out/printed/notes.txt"), "mine", 4, 0);
    CHECK(tpl_domains_prepare(out, tpl_domain_names, TPL_N_DOMAINS, &created, &err) != 0);
    CHECK_MSG(strstr(err.msg, "notes.txt") && strstr(err.msg, "out/printed"), "%s", err.msg);
    unlink(at("out/printed/notes.txt"));
    write_file(at("file"), "x", 1, 0);
    CHECK(tpl_domains_prepare(at("file"), tpl_domain_names, TPL_N_DOMAINS, &created, &err) != 0);
    CHECK(strstr(err.msg, "not a directory") != NULL);
    CHECK(tpl_domains_prepare(at("file/sub"), tpl_domain_names, TPL_N_DOMAINS, &created, &err) != 0);
    CHECK(strstr(err.msg, "cannot create directory") && !created);
    make_dirs(at("fresh"));
    write_file(at("fresh/optical"), "x", 1, 0);
    CHECK(tpl_domains_prepare(at("fresh"), tpl_domain_names, TPL_N_DOMAINS, &created, &err) != 0);
    CHECK(strstr(err.msg, "fresh/optical: exists") != NULL);
    CHECK(tpl_domains_prepare(at("new"), tpl_domain_names, TPL_N_DOMAINS, &created, &err) == 0 &&
          created && rmdir(at("new")) == 0);

    /* the preview: an RGB PNG, a row per domain */
    CHECK_MSG(preview(at("p.png"), two, TPL_N_DOMAINS, &err) == 0, "%s", err.msg);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_file(&img, at("p.png")));
    CHECK(img.width > 16 * 12 && img.height > 4 * 12 && img.height < img.width);
    png_image_free(&img);
    CHECK(preview(at("nodir/p.png"), two, TPL_N_DOMAINS, &err) != 0);
    CHECK(preview(at("q.png"), two, 0, &err) != 0 && access(at("q.png"), F_OK));
    listing(scratch_root, names, sizeof names);
    CHECK_MSG(!strstr(names, ".tmp"), "%s", names);
    tpl_domains_free(one, TPL_N_DOMAINS);
    tpl_domains_free(two, TPL_N_DOMAINS);
    scratch_end();
}

/* ---- the real sources, when installed -------------------------------------- */

/* With the default seed, handwritten and optical are the built-in tasks'
 * halves, replicated to RGB. */
static void test_real_sources(void) {
    tpl_digits_opts o;
    tpl_err err = {{0}};
    tpl_digits_opts_default(&o);
    if (tpl_digits_check_sources(&o, &err)) {
        check_skip("the real digit sources", err.msg, "opencv-doc, python3-sklearn and fonts");
        return;
    }
    o.printed_per_class = 3;
    o.blended_per_class = 3;
    tpl_domain dom[TPL_N_DOMAINS];
    CHECK_MSG(tpl_digits_build(&o, dom, &err) == 0, "%s", err.msg);
    const char *builtin[2] = {"handwritten", "optical"};
    for (int k = 0; k < 2; k++) {
        tpl_task_data t;
        tpl_dataset grey;
        CHECK(tpl_task_load(builtin[k], strlen(builtin[k]), NULL, TPL_TASK_BOTH, &t, &err) == 0);
        CHECK(tpl_dataset_to_channels(&dom[k].train, 1, &grey, &err) == 0);
        CHECK_MSG(same_set(&grey, &t.train), "%s train differs from the built-in task", builtin[k]);
        tpl_dataset_free(&grey);
        CHECK(tpl_dataset_to_channels(&dom[k].test, 1, &grey, &err) == 0);
        CHECK(same_set(&grey, &t.test));
        tpl_dataset_free(&grey);
        tpl_task_free(&t);
    }
    CHECK(dom[TPL_DOM_HANDWRITTEN].train.n == 4000 && dom[TPL_DOM_HANDWRITTEN].test.n == 1000);
    CHECK(dom[TPL_DOM_BLENDED].train.n == 20 * TPL_BLENDED_COPIES &&
          dom[TPL_DOM_BLENDED].test.n == 10 * TPL_BLENDED_COPIES);
    tpl_domains_free(dom, TPL_N_DOMAINS);
}

int main(void) {
    test_idx_write();
    test_idx_corrupt();
    test_channels();
    test_jpeg();
    test_blend();
    test_blended_build();
    test_printed();
    test_build();
    test_save();
    test_real_sources();
    return check_summary("test_domains");
}
