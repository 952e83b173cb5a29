/* Writes the seed corpora of the fuzzing harnesses: small valid files of
 * every format (and a few near misses), laid out as each harness takes its
 * input (see fuzz_*.c).  Model files come from `templar train`, which
 * make-corpus.sh runs on the IDX directories written here.
 *
 *   make_seeds OUT    writes OUT/{safetensors,json,idx,image,csv,request}/ and
 *                     OUT/data-{grey,grey2,rgb}/ (IDX directories)
 *
 * Everything is deterministic: the same files on every run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "data.h"
#include "safetensors.h"
#include "testfiles.h" /* tests/: the PNG and JPEG encoders */

static const char *out_dir;

static void die(const char *what) {
    fprintf(stderr, "make_seeds: %s\n", what);
    exit(1);
}

static void make_dir(const char *sub) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, sub);
    if (mkdir(path, 0777) && errno != EEXIST) die(path);
}

static const char *path_of(const char *sub, const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
    return path;
}

/* OUT/sub/name holding head[0..nh) then body[0..nb). */
static void put(const char *sub, const char *name, const void *head, size_t nh,
                const void *body, size_t nb) {
    FILE *f = fopen(path_of(sub, name), "wb");
    if (!f || fwrite(head, 1, nh, f) != nh || fwrite(body, 1, nb, f) != nb || fclose(f))
        die(path_of(sub, name));
}

/* A growable byte string. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void add(bytes *b, const void *s, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        if (!(b->p = realloc(b->p, b->cap))) die("out of memory");
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void add_be32(bytes *b, uint32_t v) {
    unsigned char x[4] = {v >> 24, v >> 16, v >> 8, v};
    add(b, x, 4);
}

/* src as a gzip stream. */
static bytes gzip(const bytes *src) {
    bytes out = {0};
    z_stream z = {0};
    out.cap = compressBound(src->n) + 64;
    if (!(out.p = malloc(out.cap))) die("out of memory");
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("zlib");
    z.next_in = src->p;
    z.avail_in = (uInt)src->n;
    z.next_out = out.p;
    z.avail_out = (uInt)out.cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) die("zlib");
    out.n = z.total_out;
    deflateEnd(&z);
    return out;
}

/* A pseudo-random byte (an LCG, so every run writes the same files). */
static unsigned char noise(void) {
    static uint32_t x = 12345;
    x = x * 1103515245u + 12345u;
    return (unsigned char)(x >> 16);
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_seeds(void) {
    static const char *const texts[] = {
        ("{\"__metadata__\":{\"format\":\"templar-1\",\"widths\":\"4,8\"},"
         "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}"),
        "[0, 1, 9007199254740992, -1, 1.5e-3, 0.25, 1E+2, true, false, null]",
        "{\"a\": [[], {}, [[[]]]], \"b\": \"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\"}",
        "\"\\u00e9\\u20ac\\ud83d\\ude00 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "  {\"nested\": {\"deeper\": {\"deepest\": [1, 2, {\"k\": \"v\"}]}}}  \n",
        "12345678901234567890",
        "{\"dup\": 1, \"dup\": 2}",
    };
    char name[32];
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        snprintf(name, sizeof name, "json-%zu", i);
        put("json", name, "", 0, texts[i], strlen(texts[i]));
    }
}

/* ---- safetensors --------------------------------------------------------- */

static void st_write(const char *name, const tpl_st_tensor *t, int n, const tpl_st_kv *kv,
                     int nkv) {
    tpl_err err;
    if (tpl_st_write(path_of("safetensors", name), t, n, kv, nkv, &err)) die(err.msg);
}

/* A file in the given header, its data n zero-to-255 bytes. */
static void st_raw(const char *name, const char *header, size_t data) {
    bytes b = {0};
    uint64_t hl = strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hl >> (8 * i));
    add(&b, len8, 8);
    add(&b, header, hl);
    for (size_t i = 0; i < data; i++) add(&b, &(unsigned char){(unsigned char)i}, 1);
    put("safetensors", name, "", 0, b.p, b.n);
    free(b.p);
}

static void safetensors_seeds(void) {
    float a[12], one = 1.5f;
    for (int i = 0; i < 12; i++) a[i] = (float)i - 5.5f;
    const tpl_st_kv kv[] = {{"format", "templar-1"}, {"tasks", "digits:10"},
                            {"input", "1x8x8"}};
    const tpl_st_tensor two[] = {{"weight", 2, {3, 4}, a}, {"bias", 1, {3}, a}};
    st_write("two-tensors", two, 2, kv, 3);
    const tpl_st_tensor odd[] = {{"scalar", 0, {0}, &one},
                                 {"empty", 3, {2, 0, 5}, NULL},
                                 {"rank8", 8, {1, 1, 1, 1, 1, 1, 1, 2}, a}};
    st_write("scalar-empty-rank8", odd, 3, NULL, 0);
    st_write("metadata-only", NULL, 0, kv, 3);
    st_raw("dtypes",
           "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
           "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]},"
           "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2,2],\"data_offsets\":[12,16]},"
           "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
           20);
    st_raw("unicode", "{\"__metadata__\":{\"k\\u00e9\":\"v\\n\"},\"caf\xc3\xa9\":"
           "{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}  ", 3);
}

/* ---- IDX ----------------------------------------------------------------- */

/* n images h x w x c (rank 3 when c is 0) and their labels < classes. */
static void idx_pair(int n, int h, int w, int c, int classes, bytes *im, bytes *lb) {
    memset(im, 0, sizeof *im);
    memset(lb, 0, sizeof *lb);
    add(im, (unsigned char[]){0, 0, 8, c ? 4 : 3}, 4);
    add_be32(im, (uint32_t)n);
    add_be32(im, (uint32_t)h);
    add_be32(im, (uint32_t)w);
    if (c) add_be32(im, (uint32_t)c);
    for (int i = 0; i < n * h * w * (c ? c : 1); i++) add(im, &(unsigned char){noise()}, 1);
    add(lb, (unsigned char[]){0, 0, 8, 1}, 4);
    add_be32(lb, (uint32_t)n);
    for (int i = 0; i < n; i++) add(lb, &(unsigned char){(unsigned char)(i % classes)}, 1);
}

/* fuzz_idx's input: 2-byte little-endian image length, images, labels. */
static void idx_put(const char *name, const bytes *im, const bytes *lb) {
    bytes b = {0};
    add(&b, (unsigned char[]){im->n & 255, im->n >> 8}, 2);
    add(&b, im->p, im->n);
    add(&b, lb->p, lb->n);
    put("idx", name, "", 0, b.p, b.n);
    free(b.p);
}

static void idx_seeds(void) {
    bytes im, lb;
    idx_pair(3, 4, 5, 0, 3, &im, &lb);
    idx_put("grey", &im, &lb);
    bytes gi = gzip(&im), gl = gzip(&lb);
    idx_put("grey-gzip", &gi, &gl);
    free(gi.p), free(gl.p), free(im.p), free(lb.p);
    idx_pair(2, 3, 3, 3, 2, &im, &lb);
    idx_put("rgb", &im, &lb);
    free(im.p), free(lb.p);
    idx_pair(1, 2, 2, 1, 1, &im, &lb);
    idx_put("rank4-grey", &im, &lb);
    lb.n -= 1; /* a label short */
    idx_put("labels-truncated", &im, &lb);
    free(im.p), free(lb.p);
}

/* The IDX directories make-corpus.sh trains models on. */
static void idx_dir(const char *sub, int side, int c, int classes) {
    make_dir(sub);
    for (int half = 0; half < 2; half++) {
        tpl_dataset d;
        const int n = half ? 4 : 8;
        if (tpl_dataset_alloc(&d, n, side, side, c, classes)) die("out of memory");
        for (size_t i = 0; i < (size_t)n * side * side * c; i++) d.pixels[i] = noise();
        for (int i = 0; i < n; i++) d.labels[i] = (uint8_t)(i % classes);
        char dir[4096];
        tpl_err err;
        snprintf(dir, sizeof dir, "%s/%s", out_dir, sub);
        if (tpl_idx_write_dir(dir, half ? "test" : "train", &d, &err)) die(err.msg);
        tpl_dataset_free(&d);
    }
}

/* ---- PNG and JPEG -------------------------------------------------------- */

/* w x h pixels of the given libpng format (channels per pixel from it). */
static void png_seed(const char *name, int w, int h, png_uint_32 format) {
    const size_t n = PNG_IMAGE_PIXEL_SIZE(format) * (size_t)w * h;
    unsigned char *px = malloc(n), cmap[256 * 4];
    if (!px) die("out of memory");
    for (size_t i = 0; i < n; i++) px[i] = (unsigned char)(noise() & 0xf0);
    for (size_t i = 0; i < sizeof cmap; i++) cmap[i] = (unsigned char)(i * 7);
    const int colormap = (format & PNG_FORMAT_FLAG_COLORMAP) != 0;
    if (colormap)
        for (size_t i = 0; i < n; i++) px[i] &= 15;
    size_t len;
    unsigned char *mem = encode_png(px, w, h, format, cmap, colormap ? 16 : 0, &len);
    put("image", name, "", 0, mem, len);
    free(mem);
    free(px);
}

static void jpeg_seed(const char *name, int w, int h, int c, int progressive, int restart) {
    unsigned char *px = malloc((size_t)w * h * c), *mem;
    if (!px) die("out of memory");
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w * c; i++) px[(size_t)y * w * c + i] = (unsigned char)(i * 16 + y * 8);
    unsigned long len;
    mem = encode_jpeg(px, w, h, c, (jpeg_style){75, progressive, (unsigned)restart}, &len);
    put("image", name, "", 0, mem, len);
    free(px);
    free(mem);
}

static void image_seeds(void) {
    png_seed("grey.png", 5, 4, PNG_FORMAT_GRAY);
    png_seed("rgb.png", 4, 3, PNG_FORMAT_RGB);
    png_seed("rgba.png", 3, 3, PNG_FORMAT_RGBA);
    png_seed("grey-alpha.png", 3, 2, PNG_FORMAT_GA);
    png_seed("grey16.png", 2, 3, PNG_FORMAT_LINEAR_Y);
    png_seed("palette.png", 4, 4, PNG_FORMAT_RGB_COLORMAP);
    png_seed("digit-sheet.png", 8, 20, PNG_FORMAT_GRAY); /* 10 rows of 2x2 cells */
    jpeg_seed("grey.jpg", 8, 8, 1, 0, 0);
    jpeg_seed("rgb.jpg", 16, 9, 3, 0, 0);
    jpeg_seed("progressive.jpg", 9, 16, 3, 1, 0);
    jpeg_seed("restarts.jpg", 24, 8, 3, 0, 1);
}

/* ---- requests (fuzz_request.c) -------------------------------------------- */

static void request_put(const char *name, int op, int type, const void *body, size_t n) {
    const unsigned char head[2] = {(unsigned char)op, (unsigned char)type};
    put("request", name, head, 2, body, n);
}

/* An image seed written above, as a classify body. */
static void request_image(const char *name, const char *image, int type) {
    FILE *f = fopen(path_of("image", image), "rb");
    unsigned char buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || !n) die(path_of("image", image));
    fclose(f);
    request_put(name, 2, type, buf, n);
}

static void request_seeds(void) {
    static const char *const routes[] = {
        "GET /v1/tasks", "POST /v1/tasks/shirts/classify", "POST /v1/classify",
        "PUT /v1/tasks/new-task_2", "DELETE /v1/tasks/x", "GET /healthz", "GET /metrics",
        "GET /v1/tasks/../etc/classify", "PATCH /v1/tasks/a",
    };
    char name[32];
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        snprintf(name, sizeof name, "route-%zu", i);
        request_put(name, 0, 0, routes[i], strlen(routes[i]));
    }
    request_put("top-3", 1, 0, "3", 1);
    request_put("top-bad", 1, 0, "12x", 3);
    request_image("grey-png", "grey.png", 1);
    request_image("rgb-png-sniffed", "rgb.png", 0x80);
    request_image("grey-jpeg", "grey.jpg", 2);
    static const char pixels[] = "{\"width\": 2, \"height\": 2, \"channels\": 1, \"pixels\": [0, 64, 128, 255]}";
    request_put("pixels", 2, 3, pixels, strlen(pixels));
    static const char batch[] =
        "{\"items\": [{\"task\": \"a\", \"width\": 1, \"height\": 1, \"channels\": 1, \"pixels\": [7]},"
        " {\"task\": \"b-2\", \"width\": 2, \"height\": 1, \"channels\": 1, \"pixels\": [1, 2]}], \"top\": 2}";
    request_put("batch", 3, 0, batch, strlen(batch));
}

/* ---- CSV ----------------------------------------------------------------- */

/* n lines of side*side values <= max and a label, as fuzz_csv takes them
 * (the two parameter bytes first). */
static bytes csv_text(int side, int max, int n, const char *pad, const char *eol) {
    bytes b = {0};
    char field[32];
    add(&b, (unsigned char[]){(unsigned char)(side - 1), max == 65535 ? 0xff : max - 1}, 2);
    for (int l = 0; l < n; l++) {
        for (int i = 0; i <= side * side; i++) {
            int v = i < side * side ? (l * 31 + i * 7) % (max + 1) : l % 10;
            int k = snprintf(field, sizeof field, "%s%s%d%s", i ? "," : "", pad, v, pad);
            add(&b, field, (size_t)k);
        }
        add(&b, eol, strlen(eol));
    }
    return b;
}

static void csv_seeds(void) {
    bytes b = csv_text(8, 16, 3, "", "\n");
    put("csv", "digits", "", 0, b.p, b.n);
    bytes body = {b.p + 2, b.n - 2, 0}, g = gzip(&body);
    put("csv", "digits-gzip", b.p, 2, g.p, g.n);
    free(g.p), free(b.p);
    b = csv_text(2, 255, 4, " ", "\r\n");
    add(&b, "\n  \n", 4); /* blank lines at the end are allowed */
    put("csv", "padded-crlf", "", 0, b.p, b.n);
    free(b.p);
    b = csv_text(1, 65535, 2, "", "\n");
    b.n--; /* no newline after the last line */
    put("csv", "no-final-newline", "", 0, b.p, b.n);
    free(b.p);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds OUT\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0777) && errno != EEXIST) die(out_dir);
    const char *subs[] = {"safetensors", "json", "idx", "image", "csv", "request"};
    for (int i = 0; i < 6; i++) make_dir(subs[i]);
    json_seeds();
    safetensors_seeds();
    idx_seeds();
    idx_dir("data-grey", 8, 1, 2);
    idx_dir("data-grey2", 8, 1, 3);
    idx_dir("data-rgb", 8, 3, 2);
    image_seeds();
    request_seeds();
    csv_seeds();
    return 0;
}
