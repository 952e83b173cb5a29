/* Tests for data.c: IDX loading (plain and gzip, and the ways a file can be
 * wrong), batch normalisation and augmentation, stats and shuffling.  Every
 * test writes its own small files into a fresh mkdtemp directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "testfiles.h"
#include "data.h"

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes an IDX file of the given rank and dims, with body_len body bytes
 * (which may be fewer or more than the dims call for). */
static void write_idx(const char *path, int rank, const uint32_t *dims,
                      const uint8_t *body, size_t body_len, int gz) {
    size_t hlen = 4 + 4 * (size_t)rank;
    uint8_t *b = calloc(hlen + body_len + 1, 1);
    b[2] = 0x08;
    b[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++) put32(b + 4 + 4 * i, dims[i]);
    if (body_len) memcpy(b + hlen, body, body_len);
    write_file(path, b, hlen + body_len, gz);
    free(b);
}

/* A tiny set: 3 images of 2x4, labels 0, 2, 1. */
enum { TN = 3, TH = 2, TW = 4 };
static uint8_t tiny_pixels[TN * TH * TW];
static const uint8_t tiny_labels[TN] = {0, 2, 1};

static void write_tiny(const char *images, const char *labels, int gz_im, int gz_lb) {
    for (int i = 0; i < TN * TH * TW; i++) tiny_pixels[i] = (uint8_t)(i * 11 + 3);
    uint32_t di[3] = {TN, TH, TW}, dl[1] = {TN};
    write_idx(images, 3, di, tiny_pixels, sizeof tiny_pixels, gz_im);
    write_idx(labels, 1, dl, tiny_labels, TN, gz_lb);
}

static int is_zeroed(const tpl_dataset *d) {
    return d->n == 0 && d->h == 0 && d->w == 0 && d->c == 0 && d->classes == 0 &&
           !d->pixels && !d->labels;
}

/* Expects tpl_idx_load to fail with a message containing want (and path). */
static void expect_load_error(const char *im, const char *lb, const char *path,
                              const char *want) {
    tpl_dataset d;
    tpl_err err = {{0}};
    int rc = tpl_idx_load(im, lb, &d, &err);
    CHECK(rc != 0);
    CHECK(is_zeroed(&d));
    CHECK_MSG(strstr(err.msg, path) == err.msg, "msg '%s' should start with %s", err.msg,
              path);
    CHECK_MSG(strstr(err.msg, want) != NULL, "msg '%s' should mention '%s'", err.msg, want);
    CHECK(strchr(err.msg, '\n') == NULL);
}

/* ---- loading ------------------------------------------------------------- */

static void check_tiny(const tpl_dataset *d) {
    CHECK(d->n == TN && d->h == TH && d->w == TW && d->c == 1);
    CHECK(d->classes == 3);
    CHECK(d->pixels && memcmp(d->pixels, tiny_pixels, sizeof tiny_pixels) == 0);
    CHECK(d->labels && memcmp(d->labels, tiny_labels, TN) == 0);
}

static void test_roundtrip(void) {
    scratch_begin("data");
    /* plain, gzip, and each mixed: gzip is found by magic, not by name */
    for (int mode = 0; mode < 4; mode++) {
        const char *im = at("im"), *lb = at("lb");
        write_tiny(im, lb, mode & 1, mode >> 1);
        tpl_dataset d;
        tpl_err err = {{0}};
        CHECK_MSG(tpl_idx_load(im, lb, &d, &err) == 0, "mode %d: %s", mode, err.msg);
        check_tiny(&d);
        tpl_dataset_free(&d);
        CHECK(is_zeroed(&d));
        tpl_dataset_free(&d); /* twice is harmless */
    }
    scratch_end();
}

static void test_load_dir(void) {
    scratch_begin("data");
    tpl_dataset d;
    tpl_err err = {{0}};
    /* nothing there: the error names the .gz path */
    CHECK(tpl_idx_load_dir(scratch_root, "train", &d, &err) != 0);
    CHECK_MSG(strstr(err.msg, "train-images-idx3-ubyte.gz") && strstr(err.msg, scratch_root),
              "%s", err.msg);
    CHECK(strstr(err.msg, "No such file") != NULL);
    /* train split gzipped, test split plain */
    write_tiny(at("train-images-idx3-ubyte.gz"), at("train-labels-idx1-ubyte.gz"),
               1, 1);
    CHECK_MSG(tpl_idx_load_dir(scratch_root, "train", &d, &err) == 0, "%s", err.msg);
    check_tiny(&d);
    tpl_dataset_free(&d);
    write_tiny(at("t10k-images-idx3-ubyte"), at("t10k-labels-idx1-ubyte"), 0, 0);
    CHECK_MSG(tpl_idx_load_dir(scratch_root, "test", &d, &err) == 0, "%s", err.msg);
    check_tiny(&d);
    tpl_dataset_free(&d);
    CHECK(tpl_idx_load_dir(scratch_root, "valid", &d, &err) != 0);
    CHECK(strstr(err.msg, "valid") != NULL);
    scratch_end();
}

static void test_bad_headers(void) {
    scratch_begin("data");
    const char *im = at("im"), *lb = at("lb");
    write_tiny(im, lb, 0, 0);
    const char *bad = at("bad");

    uint8_t magic[16] = {0x12, 0x34, 0x08, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    write_file(bad, magic, sizeof magic, 0);
    expect_load_error(bad, lb, bad, "magic");
    magic[0] = magic[1] = 0;
    magic[2] = 0x0D; /* float data */
    write_file(bad, magic, sizeof magic, 1);
    expect_load_error(bad, lb, bad, "dtype");
    /* labels where images belong, and the other way round */
    expect_load_error(lb, lb, lb, "rank");
    expect_load_error(im, im, im, "rank");

    uint32_t zero[3] = {3, 0, 4}, wide[3] = {3, (1u << 20) + 1, 1};
    write_idx(bad, 3, zero, NULL, 0, 0);
    expect_load_error(bad, lb, bad, "dimension");
    write_idx(bad, 3, wide, NULL, 0, 0);
    expect_load_error(bad, lb, bad, "dimension");

    /* 10^12 elements: every axis is legal, only the product check catches it */
    uint32_t huge[3] = {1000000, 1000, 1000};
    write_idx(bad, 3, huge, tiny_pixels, sizeof tiny_pixels, 1);
    expect_load_error(bad, lb, bad, "1000000000000");

    magic[2] = 0x08;
    write_file(bad, magic, 6, 0); /* header cut short */
    expect_load_error(bad, lb, bad, "truncated");
    write_file(bad, magic, 0, 0); /* empty file */
    expect_load_error(bad, lb, bad, "truncated");
    scratch_end();
}

static void test_truncated(void) {
    scratch_begin("data");
    const char *im = at("im"), *lb = at("lb");
    write_tiny(im, lb, 0, 0);
    uint32_t di[3] = {TN, TH, TW}, dl[1] = {TN};
    for (int gz = 0; gz < 2; gz++) {
        write_idx(im, 3, di, tiny_pixels, sizeof tiny_pixels - 5, gz);
        expect_load_error(im, lb, im, "truncated: expected 24 bytes of image data, got 19");
    }
    write_tiny(im, lb, 0, 0);
    write_idx(lb, 1, dl, tiny_labels, TN - 1, 1);
    expect_load_error(im, lb, lb, "truncated");

    /* a legal-looking 4 GiB header on a tiny file: fails without the 4 GiB */
    uint8_t zeros[4096] = {0};
    uint32_t big[3] = {4096, 1024, 1024}, dbig[1] = {4096};
    write_idx(im, 3, big, tiny_pixels, sizeof tiny_pixels, 0);
    write_idx(lb, 1, dbig, zeros, sizeof zeros, 0);
    expect_load_error(im, lb, im, "truncated");

    /* a gzip stream cut in the middle */
    uint8_t body[4096];
    for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)(i * 7919 >> 3);
    uint32_t dg[3] = {1, 64, 64}, d1[1] = {1};
    write_idx(im, 3, dg, body, sizeof body, 1);
    write_idx(lb, 1, d1, tiny_labels, 1, 0);
    FILE *f = fopen(im, "rb");
    uint8_t gzb[8192];
    size_t glen = fread(gzb, 1, sizeof gzb, f);
    fclose(f);
    write_file(im, gzb, glen / 2, 0);
    expect_load_error(im, lb, im, "truncated");

    /* trailing bytes after the data are ignored */
    write_tiny(im, lb, 0, 0);
    uint8_t extra[TN * TH * TW + 10];
    memcpy(extra, tiny_pixels, sizeof tiny_pixels);
    memset(extra + sizeof tiny_pixels, 0xEE, 10);
    write_idx(im, 3, di, extra, sizeof extra, 0);
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_idx_load(im, lb, &d, &err) == 0, "%s", err.msg);
    check_tiny(&d);
    tpl_dataset_free(&d);
    scratch_end();
}

/* Rank-4 images, (n, h, w, c): RGB (and c = 1) load with their channels;
 * a bad channel count, a cut header or body, and absurd sizes fail before
 * any allocation, naming the problem. */
static void test_rank4(void) {
    scratch_begin("data");
    const char *im = at("im"), *lb = at("lb");
    uint8_t rgb[TN * TH * TW * 3];
    for (int i = 0; i < (int)sizeof rgb; i++) rgb[i] = (uint8_t)(i * 7 + 1);
    uint32_t d3[4] = {TN, TH, TW, 3}, d1[4] = {TN, TH, TW, 1}, dl[1] = {TN};
    write_idx(lb, 1, dl, tiny_labels, TN, 0);
    for (int gz = 0; gz < 2; gz++) {
        write_idx(im, 4, d3, rgb, sizeof rgb, gz);
        tpl_dataset d;
        tpl_err err = {{0}};
        CHECK_MSG(tpl_idx_load(im, lb, &d, &err) == 0, "gz %d: %s", gz, err.msg);
        CHECK(d.n == TN && d.h == TH && d.w == TW && d.c == 3 && d.classes == 3);
        CHECK(d.pixels && memcmp(d.pixels, rgb, sizeof rgb) == 0);
        tpl_dataset_free(&d);
    }
    write_idx(im, 4, d1, rgb, TN * TH * TW, 1);
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_idx_load(im, lb, &d, &err) == 0, "%s", err.msg);
    CHECK(d.c == 1 && d.pixels && memcmp(d.pixels, rgb, TN * TH * TW) == 0);
    tpl_dataset_free(&d);

    uint32_t two[4] = {TN, TH, TW, 2}, four[4] = {TN, TH, TW, 4}, zero[4] = {TN, TH, TW, 0};
    write_idx(im, 4, two, rgb, sizeof rgb, 1);
    expect_load_error(im, lb, im, "2 channels, expected 1 or 3");
    write_idx(im, 4, four, rgb, sizeof rgb, 0);
    expect_load_error(im, lb, im, "4 channels");
    write_idx(im, 4, zero, rgb, sizeof rgb, 0);
    expect_load_error(im, lb, im, "dimension 3 is 0");
    /* every axis legal, 3 * 10^12 bytes in all */
    uint32_t huge[4] = {1000000, 1000, 1000, 3};
    write_idx(im, 4, huge, rgb, sizeof rgb, 1);
    expect_load_error(im, lb, im, "3000000000000");
    /* a rank-5 file, and a rank-4 one where labels belong */
    uint32_t five[5] = {TN, TH, TW, 3, 1};
    write_idx(im, 5, five, rgb, sizeof rgb, 0);
    expect_load_error(im, lb, im, "IDX rank 5, expected 3 or 4 for image data");
    write_idx(im, 4, d3, rgb, sizeof rgb, 0);
    expect_load_error(im, im, im, "IDX rank 4, expected 1 for label data");

    /* the header cut after three of its four dims: 16 of 20 bytes */
    uint8_t head[20] = {0, 0, 0x08, 4};
    for (int i = 0; i < 4; i++) put32(head + 4 + 4 * i, d3[i]);
    for (int gz = 0; gz < 2; gz++) {
        write_file(im, head, 16, gz);
        expect_load_error(im, lb, im, "truncated: IDX header is 20 bytes, got 16");
    }
    /* the body cut short */
    write_idx(im, 4, d3, rgb, sizeof rgb - 5, 1);
    expect_load_error(im, lb, im, "truncated: expected 72 bytes of image data, got 67");
    scratch_end();
}

static void test_count_mismatch_and_missing(void) {
    scratch_begin("data");
    const char *im = at("im"), *lb = at("lb");
    write_tiny(im, lb, 0, 0);
    uint32_t dl[1] = {TN + 1};
    uint8_t four[TN + 1] = {0, 1, 2, 3};
    write_idx(lb, 1, dl, four, sizeof four, 0);
    expect_load_error(im, lb, lb, "4 labels but");

    const char *gone = at("no-such-file.gz");
    expect_load_error(gone, lb, gone, "No such file or directory");
    write_tiny(im, lb, 0, 0);
    expect_load_error(im, gone, gone, "No such file or directory");
    scratch_end();
}

/* ---- batches ------------------------------------------------------------- */

/* A 4x4 greyscale image with distinct pixels 10..160, so a shift or mirror
 * can be recognised exactly. */
static uint8_t img4[16];
static tpl_dataset one_image(void) {
    static uint8_t label = 7;
    for (int i = 0; i < 16; i++) img4[i] = (uint8_t)(10 * (i + 1));
    tpl_dataset d = {1, 4, 4, 1, 8, img4, &label};
    return d;
}

static float norm(int p, float mean, float std) {
    return ((float)p / 255.0f - mean) / std;
}

/* Does out equal img4 shifted by (dy, dx) (after a mirror if flip)? */
static int matches(const float *out, int dy, int dx, int flip, float mean, float std) {
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            int sy = y + dy, sx = (flip ? 3 - x : x) + dx;
            int p = (sy >= 0 && sy < 4 && sx >= 0 && sx < 4) ? img4[sy * 4 + sx] : 0;
            if (out[y * 4 + x] != norm(p, mean, std)) return 0;
        }
    return 1;
}

static void test_batch_plain(void) {
    tpl_dataset d = one_image();
    float mean = 0.25f, std = 0.5f, x[3 * 16];
    int idx[3] = {0, 0, 0}, y[3] = {-1, -1, -1};
    tpl_rng rng, before;
    tpl_rng_seed(&rng, 42);
    before = rng;
    tpl_augment off = {.pad = 0};
    tpl_batch_fill(&d, idx, 2, &mean, &std, NULL, &rng, x, y);
    tpl_batch_fill(&d, idx + 2, 1, &mean, &std, &off, &rng, x + 32, y + 2);
    for (int i = 0; i < 3 * 16; i++) {
        float want = ((float)img4[i % 16] / 255.0f - 0.25f) / 0.5f;
        CHECK_MSG(fabsf(x[i] - want) < 1e-6f, "x[%d]=%g want %g", i, x[i], want);
    }
    CHECK(y[0] == 7 && y[1] == 7 && y[2] == 7);
    CHECK(memcmp(&rng, &before, sizeof rng) == 0); /* no randomness asked for */
}

/* Over many draws: each output is exactly some shift in [-pad, pad]^2, maybe
 * mirrored; every shift and both flips turn up; a seed repeats exactly. */
static void test_batch_augment(void) {
    tpl_dataset d = one_image();
    const int pad = 1, draws = 400;
    float mean = 0.1f, std = 0.3f;
    tpl_augment aug = {.pad = pad, .flip = 1};
    int seen[3][3][2] = {{{0}}}, idx[1] = {0}, yv;
    tpl_rng rng;
    tpl_rng_seed(&rng, 7);
    float x[16];
    for (int t = 0; t < draws; t++) {
        tpl_batch_fill(&d, idx, 1, &mean, &std, &aug, &rng, x, &yv);
        int found = 0;
        for (int dy = -pad; dy <= pad && !found; dy++)
            for (int dx = -pad; dx <= pad && !found; dx++)
                for (int f = 0; f < 2 && !found; f++)
                    if (matches(x, dy, dx, f, mean, std)) {
                        seen[dy + pad][dx + pad][f]++;
                        found = 1;
                    }
        CHECK_MSG(found, "draw %d is no shift/mirror of the input", t);
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int f = 0; f < 2; f++) CHECK_MSG(seen[a][b][f] > 0, "never %d %d %d", a, b, f);

    /* the documented order of draws: dy, then dx, then flip */
    tpl_rng r1, r2;
    tpl_rng_seed(&r1, 99);
    r2 = r1;
    tpl_batch_fill(&d, idx, 1, &mean, &std, &aug, &r1, x, &yv);
    int dy = (int)tpl_rng_below(&r2, 3) - 1, dx = (int)tpl_rng_below(&r2, 3) - 1;
    int f = (int)tpl_rng_below(&r2, 2);
    CHECK(matches(x, dy, dx, f, mean, std));
    CHECK(memcmp(&r1, &r2, sizeof r1) == 0);

    /* a known shift checked by hand: find a seed whose draws are dy=1,
     * dx=-1, no flip; then out(y, x) = in(y+1, x-1), black outside */
    uint64_t seed = 0;
    for (;; seed++) {
        tpl_rng_seed(&r2, seed);
        int sy = (int)tpl_rng_below(&r2, 3) - 1, sx = (int)tpl_rng_below(&r2, 3) - 1;
        if (sy == 1 && sx == -1 && tpl_rng_below(&r2, 2) == 0) break;
    }
    tpl_rng_seed(&r1, seed);
    tpl_batch_fill(&d, idx, 1, &mean, &std, &aug, &r1, x, &yv);
    float z = norm(0, mean, std);
    CHECK(x[0 * 4 + 0] == z);                           /* column -1 */
    CHECK(x[0 * 4 + 1] == norm(img4[1 * 4 + 0], mean, std));
    CHECK(x[2 * 4 + 3] == norm(img4[3 * 4 + 2], mean, std));
    for (int i = 0; i < 4; i++) CHECK(x[3 * 4 + i] == z); /* row 4 */
    for (int i = 1; i < 4; i++) CHECK(x[1 * 4 + i] == norm(img4[2 * 4 + i - 1], mean, std));

    /* flip only: output is the input or its exact mirror */
    tpl_augment flip = {.flip = 1};
    int mirrored = 0, same = 0;
    for (int t = 0; t < 64; t++) {
        tpl_batch_fill(&d, idx, 1, &mean, &std, &flip, &rng, x, &yv);
        int m = 1;
        for (int i = 0; i < 16; i++) m &= x[i] == norm(img4[(i / 4) * 4 + 3 - i % 4], mean, std);
        mirrored += m;
        same += matches(x, 0, 0, 0, mean, std);
    }
    CHECK(mirrored > 0 && same > 0 && mirrored + same == 64);

    /* determinism: the same seed gives the same batch */
    float a[8 * 16], b[8 * 16];
    int many[8] = {0, 0, 0, 0, 0, 0, 0, 0}, ys[8];
    tpl_rng_seed(&r1, 5);
    tpl_rng_seed(&r2, 5);
    tpl_batch_fill(&d, many, 8, &mean, &std, &aug, &r1, a, ys);
    tpl_batch_fill(&d, many, 8, &mean, &std, &aug, &r2, b, ys);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

/* Multi-channel, multi-image batch: NCHW layout and per-channel constants. */
static void test_batch_channels(void) {
    uint8_t px[2 * 2 * 2 * 3], lb[2] = {1, 0};
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 9);
    tpl_dataset d = {2, 2, 2, 3, 2, px, lb};
    float mean[3] = {0.1f, 0.2f, 0.3f}, std[3] = {0.5f, 1.0f, 2.0f}, x[24];
    int idx[2] = {1, 0}, y[2];
    tpl_batch_fill(&d, idx, 2, mean, std, NULL, NULL, x, y);
    CHECK(y[0] == 0 && y[1] == 1);
    for (int i = 0; i < 24; i++) { /* x[n][c][p] from px[idx[n]][p][c], 4 pixels */
        int n = i / 12, c = i / 4 % 3, q = i % 4, src = (1 - n) * 12 + q * 3 + c;
        CHECK(fabsf(x[i] - norm(px[src], mean[c], std[c])) < 1e-6f);
    }
}

static void test_stats(void) {
    /* channel 0: 0, 255, 255, 0 -> mean 0.5, std 0.5;  channel 1: all 51 -> 0.2, 0 */
    uint8_t px[8] = {0, 51, 255, 51, 255, 51, 0, 51}, lb[2] = {0, 1};
    tpl_dataset d = {2, 1, 2, 2, 2, px, lb};
    float mean[2], std[2];
    tpl_dataset_stats(&d, mean, std);
    CHECK(fabsf(mean[0] - 0.5f) < 1e-6f && fabsf(std[0] - 0.5f) < 1e-6f);
    CHECK(fabsf(mean[1] - 0.2f) < 1e-6f && fabsf(std[1]) < 1e-6f);

    /* 1, 2, 3, 4 (/255): mean 2.5/255, population std sqrt(1.25)/255 */
    uint8_t q[4] = {1, 2, 3, 4};
    tpl_dataset e = {1, 2, 2, 1, 1, q, lb};
    tpl_dataset_stats(&e, mean, std);
    CHECK(fabsf(mean[0] - 2.5f / 255.0f) < 1e-7f);
    CHECK(fabsf(std[0] - sqrtf(1.25f) / 255.0f) < 1e-7f);
}

static void test_shuffle(void) {
    enum { N = 100 };
    int a[N], b[N], count[N] = {0};
    for (int i = 0; i < N; i++) a[i] = b[i] = i;
    tpl_rng r1, r2;
    tpl_rng_seed(&r1, 123);
    tpl_rng_seed(&r2, 123);
    tpl_shuffle(a, N, &r1);
    tpl_shuffle(b, N, &r2);
    CHECK(memcmp(a, b, sizeof a) == 0);
    int moved = 0;
    for (int i = 0; i < N; i++) {
        CHECK(a[i] >= 0 && a[i] < N);
        if (a[i] >= 0 && a[i] < N) count[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < N; i++) CHECK(count[i] == 1);
    CHECK(moved > N / 2);
    tpl_rng_seed(&r2, 124);
    for (int i = 0; i < N; i++) b[i] = i;
    tpl_shuffle(b, N, &r2);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int one = 5;
    tpl_shuffle(&one, 1, &r1);
    tpl_shuffle(NULL, 0, &r1);
    CHECK(one == 5);
}

static void test_free_zeroed(void) {
    tpl_dataset d = {0};
    tpl_dataset_free(&d);
    tpl_dataset_free(NULL);
    CHECK(is_zeroed(&d));
}

/* The real data, when this machine has it; the test ends as skipped
 * otherwise. */
static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        check_skip("Fashion-MNIST", dir, "dataset-fashion-mnist");
        return;
    }
    tpl_dataset d;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_idx_load_dir(dir, "test", &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == 10000 && d.h == 28 && d.w == 28 && d.c == 1 && d.classes == 10);
    tpl_dataset_free(&d);
}

int main(void) {
    test_roundtrip();
    test_load_dir();
    test_bad_headers();
    test_truncated();
    test_rank4();
    test_count_mismatch_and_missing();
    test_batch_plain();
    test_batch_augment();
    test_batch_channels();
    test_stats();
    test_shuffle();
    test_free_zeroed();
    test_fashion_mnist();
    return check_summary("test_data");
}
