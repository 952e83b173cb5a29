/* Digit data sources (OpenCV's digits.png sheet, scikit-learn's digits CSV)
 * and dataset transforms (bilinear resize, stratified split). */
#include "digits.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Largest dataset (pixel bytes) any of these functions will build, and
 * largest image count (n is an int). */
#define DG_MAX_BYTES ((uint64_t)1 << 32)
#define DG_MAX_IMAGES ((uint64_t)INT32_MAX)
/* Limits on the CSV's image side and value range. */
#define DG_MAX_SIDE 1024
#define DG_MAX_VALUE 65535
/* Limit on resize output sides. */
#define DG_MAX_OUT_SIDE 32768
#define PNG_MAX_SIDE 8192 /* a photo to classify, not a sheet */

/* ---- digits.png ---------------------------------------------------------- */

/* Checks the sheet's size against the cell layout, from the header alone. */
static int png_check_layout(const char *path, uint32_t width, uint32_t height, int cell,
                            int rows_per_class, tpl_err *err) {
    if (width % (uint32_t)cell || height % (uint32_t)cell) {
        tpl_err_set(err, "%s: %" PRIu32 "x%" PRIu32 " image is not a whole number of %dx%d cells",
                    path, width, height, cell, cell);
        return -1;
    }
    uint32_t rows = height / (uint32_t)cell;
    if (rows != 10u * (uint32_t)rows_per_class) {
        tpl_err_set(err, "%s: %" PRIu32 " rows of %dx%d cells, expected 10 digits x %d rows = %d",
                    path, rows, cell, cell, rows_per_class, 10 * rows_per_class);
        return -1;
    }
    uint64_t bytes = (uint64_t)width * height;
    uint64_t n = (uint64_t)(width / (uint32_t)cell) * rows;
    if (bytes > DG_MAX_BYTES || n > DG_MAX_IMAGES) {
        tpl_err_set(err, "%s: %" PRIu32 "x%" PRIu32 " image is larger than the %" PRIu64
                    "-byte limit", path, width, height, DG_MAX_BYTES);
        return -1;
    }
    return 0;
}

/* Decodes the opened PNG (header already read into *img) as 8-bit grey
 * (channels 1) or RGB (3), composed over black. */
static int png_decode(const char *path, png_image *img, int channels, uint8_t **pixels,
                      tpl_err *err) {
    img->format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t bytes = (size_t)img->width * (size_t)img->height * (size_t)channels;
    *pixels = malloc(bytes);
    if (!*pixels) {
        png_image_free(img);
        tpl_err_set(err, "%s: out of memory for %zu bytes", path, bytes);
        return -1;
    }
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(img, &black, *pixels, (png_int_32)(img->width * channels), NULL)) {
        tpl_err_set(err, "%s: cannot decode PNG: %s", path, img->message);
        png_image_free(img);
        free(*pixels);
        *pixels = NULL;
        return -1;
    }
    return 0;
}

/* Opens path as a PNG and reads its header into *img; *f stays open. */
static int png_open(const char *path, png_image *img, FILE **f, tpl_err *err) {
    errno = 0;
    *f = fopen(path, "rb");
    if (!*f) {
        tpl_err_set(err, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    uint8_t sig[8];
    size_t got = fread(sig, 1, sizeof sig, *f);
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
        tpl_err_set(err, "%s: not a PNG file", path);
    else if (rewind(*f), !png_image_begin_read_from_stdio(img, *f))
        tpl_err_set(err, "%s: cannot read PNG header: %s", path, img->message);
    else
        return 0;
    png_image_free(img);
    fclose(*f);
    return -1;
}

int tpl_image_png_load(const char *path, int channels, tpl_dataset *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    png_image img;
    FILE *f;
    if (png_open(path, &img, &f, err)) return -1;
    if (img.width > PNG_MAX_SIDE || img.height > PNG_MAX_SIDE) {
        tpl_err_set(err, "%s: %" PRIu32 "x%" PRIu32 " pixels is more than %d a side", path,
                    img.width, img.height, PNG_MAX_SIDE);
        png_image_free(&img);
        fclose(f);
        return -1;
    }
    uint8_t *pixels;
    int rc = png_decode(path, &img, channels, &pixels, err);
    fclose(f);
    if (rc) return -1;
    if (tpl_dataset_alloc(out, 1, (int)img.height, (int)img.width, channels, 1)) {
        free(pixels);
        tpl_err_set(err, "%s: out of memory", path);
        return -1;
    }
    memcpy(out->pixels, pixels, (size_t)img.width * img.height * channels);
    out->labels[0] = 0;
    free(pixels);
    return 0;
}

/* Cuts the sheet into cells, row-major, labelling row r as r / rows_per_class. */
static int png_cut_cells(const uint8_t *sheet, uint32_t width, uint32_t height, int cell,
                         int rows_per_class, tpl_dataset *d) {
    int cols = (int)(width / (uint32_t)cell), rows = (int)(height / (uint32_t)cell);
    if (tpl_dataset_alloc(d, cols * rows, cell, cell, 1, 10)) return -1;
    uint8_t *dst = d->pixels;
    for (int r = 0; r < rows; r++)
        for (int q = 0; q < cols; q++) {
            d->labels[r * cols + q] = (uint8_t)(r / rows_per_class);
            for (int y = 0; y < cell; y++) {
                const uint8_t *src = sheet + ((size_t)r * cell + y) * width + (size_t)q * cell;
                memcpy(dst, src, (size_t)cell);
                dst += cell;
            }
        }
    return 0;
}

int tpl_digits_png_load(const char *path, int cell, int rows_per_class,
                        tpl_dataset *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (cell < 1 || cell > DG_MAX_OUT_SIDE || rows_per_class < 1 ||
        rows_per_class > DG_MAX_OUT_SIDE) {
        tpl_err_set(err, "%s: cell %d and rows_per_class %d must be in [1, %d]", path, cell,
                    rows_per_class, DG_MAX_OUT_SIDE);
        return -1;
    }
    png_image img;
    FILE *f;
    if (png_open(path, &img, &f, err)) return -1;
    uint32_t width = img.width, height = img.height;
    if (png_check_layout(path, width, height, cell, rows_per_class, err)) {
        png_image_free(&img);
        fclose(f);
        return -1;
    }
    uint8_t *sheet = NULL;
    int rc = png_decode(path, &img, 1, &sheet, err);
    fclose(f);
    if (rc) return -1;
    tpl_dataset d;
    rc = png_cut_cells(sheet, width, height, cell, rows_per_class, &d);
    free(sheet);
    if (rc) {
        tpl_err_set(err, "%s: out of memory cutting %" PRIu32 "x%" PRIu32 " sheet", path,
                    width, height);
        return -1;
    }
    *out = d;
    return 0;
}

/* ---- digits.csv(.gz) ----------------------------------------------------- */

typedef struct csv_reader {
    gzFile f;
    const char *path;
    long line;      /* number of the line last read (1-based) */
    char *buf;
    size_t cap, max; /* buffer size now, and the longest line allowed + 1 */
} csv_reader;

/* zlib's explanation of the last failure, or "" when there is none. */
static const char *gz_why(gzFile f) {
    int errnum = Z_OK;
    const char *msg = gzerror(f, &errnum);
    return (errnum == Z_OK || !msg) ? "" : msg;
}

/* Reads the next line into r->buf without its "\n" or "\r\n".  Returns 1
 * for a line, 0 at the end of the file, -1 on error (err set). */
static int csv_getline(csv_reader *r, tpl_err *err) {
    size_t len = 0;
    int newline = 0;
    r->line++;
    for (;;) {
        if (r->cap - len < 2) {
            size_t c = r->cap ? r->cap * 2 : 4096;
            if (r->cap >= r->max) {
                tpl_err_set(err, "%s:%ld: line longer than %zu bytes", r->path, r->line,
                            r->max - 1);
                return -1;
            }
            if (c > r->max) c = r->max;
            char *p = realloc(r->buf, c);
            if (!p) {
                tpl_err_set(err, "%s:%ld: out of memory", r->path, r->line);
                return -1;
            }
            r->buf = p;
            r->cap = c;
        }
        if (!gzgets(r->f, r->buf + len, (int)(r->cap - len))) break;
        size_t got = strlen(r->buf + len);
        len += got;
        if (len && r->buf[len - 1] == '\n') {
            newline = 1;
            break;
        }
        if (len + 1 < r->cap) { /* stopped short of the buffer's end: EOF or a NUL */
            if (!gzeof(r->f) && !*gz_why(r->f)) {
                tpl_err_set(err, "%s:%ld: NUL byte in line", r->path, r->line);
                return -1;
            }
            break;
        }
    }
    if (!newline && *gz_why(r->f)) {
        tpl_err_set(err, "%s:%ld: read error: %s", r->path, r->line, gz_why(r->f));
        return -1;
    }
    if (!newline && len == 0) return 0;
    while (len && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r')) len--;
    r->buf[len] = '\0';
    return 1;
}

static int is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

/* Parses one field s[0..len) as an optionally signed decimal integer with
 * optional surrounding spaces.  Magnitudes past 10^9 saturate (they are out
 * of range anyway, and messages quote the text).  Returns 0, *v and the
 * field without its spaces (*t, *tlen), or -1 if it is not an integer. */
static int parse_int(const char *s, size_t len, long *v, const char **t, int *tlen) {
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t first = i;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t start = i;
    long x = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        x = x < 100000000L ? x * 10 + (s[i] - '0') : 1000000000L;
        i++;
    }
    if (i == start) return -1;
    size_t last = i;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i != len) return -1;
    *v = neg ? -x : x;
    *t = s + first;
    *tlen = last - first > 32 ? 32 : (int)(last - first);
    return 0;
}

/* Parses a non-blank line of side*side pixels and a label into px, lb. */
static int csv_parse_line(const csv_reader *r, int pixels, int max_value, uint8_t *px,
                          uint8_t *lb, tpl_err *err) {
    const char *s = r->buf;
    int fields = 1;
    for (const char *p = s; *p; p++) fields += *p == ',';
    if (fields != pixels + 1) {
        tpl_err_set(err, "%s:%ld: expected %d fields (%d pixels and a label), got %d", r->path,
                    r->line, pixels + 1, pixels, fields);
        return -1;
    }
    for (int i = 0; i <= pixels; i++) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        long v;
        const char *t;
        int tlen;
        if (parse_int(s, len, &v, &t, &tlen)) {
            tpl_err_set(err, "%s:%ld: field %d is not an integer: \"%.*s\"", r->path, r->line,
                        i + 1, len > 32 ? 32 : (int)len, s);
            return -1;
        }
        if (i < pixels) {
            if (v < 0 || v > max_value) {
                tpl_err_set(err, "%s:%ld: field %d: value %.*s outside [0, %d]", r->path,
                            r->line, i + 1, tlen, t, max_value);
                return -1;
            }
            /* round(v * 255 / max_value), halves up, in integers */
            px[i] = (uint8_t)((2 * v * 255 + max_value) / (2 * (long)max_value));
        } else {
            if (v < 0 || v > 255) {
                tpl_err_set(err, "%s:%ld: label %.*s outside [0, 255]", r->path, r->line,
                            tlen, t);
                return -1;
            }
            *lb = (uint8_t)v;
        }
        s += len + 1;
    }
    return 0;
}

/* Makes room for one more image in d (pixels of per bytes each). */
static int csv_reserve(tpl_dataset *d, size_t *cap, size_t per) {
    if ((size_t)d->n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 256;
    uint8_t *p = realloc(d->pixels, c * per);
    if (!p) return -1;
    d->pixels = p;
    uint8_t *l = realloc(d->labels, c);
    if (!l) return -1;
    d->labels = l;
    *cap = c;
    return 0;
}

/* Reads every line of r into d. */
static int csv_read_all(csv_reader *r, int side, int max_value, tpl_dataset *d,
                        tpl_err *err) {
    const int pixels = side * side;
    const size_t per = (size_t)pixels;
    size_t cap = 0;
    long blank = 0; /* first blank line, if any: only more blank lines may follow */
    int rc, top = -1;
    while ((rc = csv_getline(r, err)) == 1) {
        if (is_blank(r->buf)) {
            if (!blank) blank = r->line;
            continue;
        }
        if (blank) {
            tpl_err_set(err, "%s:%ld: blank line before more data", r->path, blank);
            return -1;
        }
        if ((uint64_t)d->n + 1 > DG_MAX_IMAGES ||
            ((uint64_t)d->n + 1) * per > DG_MAX_BYTES) {
            tpl_err_set(err, "%s:%ld: more than the %" PRIu64 "-byte limit of pixels", r->path,
                        r->line, DG_MAX_BYTES);
            return -1;
        }
        if (csv_reserve(d, &cap, per)) {
            tpl_err_set(err, "%s:%ld: out of memory", r->path, r->line);
            return -1;
        }
        uint8_t *lb = d->labels + d->n;
        if (csv_parse_line(r, pixels, max_value, d->pixels + (size_t)d->n * per, lb, err))
            return -1;
        if (*lb > top) top = *lb;
        d->n++;
    }
    if (rc < 0) return -1;
    if (d->n == 0) {
        tpl_err_set(err, "%s: no images", r->path);
        return -1;
    }
    d->h = d->w = side;
    d->c = 1;
    d->classes = top + 1;
    return 0;
}

int tpl_digits_csv_load(const char *path, int side, int max_value, tpl_dataset *out,
                        tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (side < 1 || side > DG_MAX_SIDE || max_value < 1 || max_value > DG_MAX_VALUE) {
        tpl_err_set(err, "%s: side %d must be in [1, %d] and max_value %d in [1, %d]", path,
                    side, DG_MAX_SIDE, max_value, DG_MAX_VALUE);
        return -1;
    }
    csv_reader r = {0};
    r.path = path;
    /* room for every field padded to 32 characters, and then some */
    r.max = (size_t)(side * side + 1) * 33 + 256;
    errno = 0;
    r.f = gzopen(path, "rb");
    if (!r.f) {
        tpl_err_set(err, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    tpl_dataset d = {0};
    int rc = csv_read_all(&r, side, max_value, &d, err);
    gzclose(r.f);
    free(r.buf);
    if (rc) {
        tpl_dataset_free(&d);
        return -1;
    }
    *out = d;
    return 0;
}

/* ---- resize -------------------------------------------------------------- */

/* One axis of OpenCV-style INTER_LINEAR sampling: output o reads input
 * i0[o] (weight 1 - f[o]) and i1[o] (weight f[o]). */
static void linear_taps(int in, int out, int *i0, int *i1, double *f) {
    double scale = (double)in / (double)out;
    for (int o = 0; o < out; o++) {
        double s = ((double)o + 0.5) * scale - 0.5;
        int a = (int)floor(s);
        double t = s - a;
        if (a < 0) {
            a = 0;
            t = 0.0;
        }
        if (a >= in - 1) {
            a = in - 1;
            t = 0.0;
        }
        i0[o] = a;
        i1[o] = a + 1 < in ? a + 1 : a;
        f[o] = t;
    }
}

static int check_dataset(const tpl_dataset *d, const char *who, tpl_err *err) {
    if (!d || d->n < 0 || d->h < 1 || d->w < 1 || d->c < 1 ||
        (d->n > 0 && (!d->pixels || !d->labels))) {
        tpl_err_set(err, "%s: invalid input dataset (n %d, %dx%dx%d)", who, d ? d->n : 0,
                    d ? d->h : 0, d ? d->w : 0, d ? d->c : 0);
        return -1;
    }
    return 0;
}

static void resize_one(const uint8_t *src, int iw, int C, uint8_t *dst, int oh,
                       int ow, const int *y0, const int *y1, const double *fy,
                       const int *x0, const int *x1, const double *fx) {
    for (int y = 0; y < oh; y++) {
        const uint8_t *r0 = src + (size_t)y0[y] * iw * C, *r1 = src + (size_t)y1[y] * iw * C;
        for (int x = 0; x < ow; x++) {
            const uint8_t *a = r0 + (size_t)x0[x] * C, *b = r0 + (size_t)x1[x] * C;
            const uint8_t *c = r1 + (size_t)x0[x] * C, *d = r1 + (size_t)x1[x] * C;
            uint8_t *o = dst + ((size_t)y * ow + x) * C;
            for (int k = 0; k < C; k++) {
                double top = a[k] + fx[x] * (b[k] - a[k]);
                double bot = c[k] + fx[x] * (d[k] - c[k]);
                double v = top + fy[y] * (bot - top) + 0.5;
                o[k] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
            }
        }
    }
}

int tpl_dataset_resize(const tpl_dataset *in, int out_h, int out_w, tpl_dataset *out,
                       tpl_err *err) {
    if (out == in) {
        tpl_err_set(err, "resize: output must not be the input");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (check_dataset(in, "resize", err)) return -1;
    if (out_h < 1 || out_h > DG_MAX_OUT_SIDE || out_w < 1 || out_w > DG_MAX_OUT_SIDE) {
        tpl_err_set(err, "resize: output size %dx%d outside [1, %d]", out_h, out_w,
                    DG_MAX_OUT_SIDE);
        return -1;
    }
    uint64_t per = (uint64_t)out_h * (uint64_t)out_w * (uint64_t)in->c;
    if (per * (uint64_t)in->n > DG_MAX_BYTES) {
        tpl_err_set(err, "resize: %d images of %dx%dx%d exceed the %" PRIu64 "-byte limit",
                    in->n, out_h, out_w, in->c, DG_MAX_BYTES);
        return -1;
    }
    int *y0 = malloc(sizeof(int) * (size_t)out_h), *y1 = malloc(sizeof(int) * (size_t)out_h);
    int *x0 = malloc(sizeof(int) * (size_t)out_w), *x1 = malloc(sizeof(int) * (size_t)out_w);
    double *fy = malloc(sizeof(double) * (size_t)out_h);
    double *fx = malloc(sizeof(double) * (size_t)out_w);
    tpl_dataset d;
    int rc = -1;
    if (!y0 || !y1 || !x0 || !x1 || !fy || !fx ||
        tpl_dataset_alloc(&d, in->n, out_h, out_w, in->c, in->classes)) {
        tpl_err_set(err, "resize: out of memory");
        goto done;
    }
    linear_taps(in->h, out_h, y0, y1, fy);
    linear_taps(in->w, out_w, x0, x1, fx);
    size_t in_per = (size_t)in->h * (size_t)in->w * (size_t)in->c;
    for (int i = 0; i < in->n; i++)
        resize_one(in->pixels + (size_t)i * in_per, in->w, in->c,
                   d.pixels + (size_t)i * (size_t)per, out_h, out_w, y0, y1, fy, x0, x1, fx);
    if (in->n > 0) memcpy(d.labels, in->labels, (size_t)in->n);
    *out = d;
    rc = 0;
done:
    free(y0);
    free(y1);
    free(x0);
    free(x1);
    free(fy);
    free(fx);
    return rc;
}

/* ---- split --------------------------------------------------------------- */

/* Marks test[i] = 1 for the images the documented rule sends to test, and
 * counts them. */
static int split_mark(const tpl_dataset *in, double frac, uint64_t seed, uint8_t *test,
                      int *n_test, tpl_err *err) {
    int count[256] = {0}, start[257];
    for (int i = 0; i < in->n; i++) {
        if (in->labels[i] >= in->classes) {
            tpl_err_set(err, "split: image %d has label %d, not below classes %d", i,
                        in->labels[i], in->classes);
            return -1;
        }
        count[in->labels[i]]++;
    }
    start[0] = 0;
    for (int k = 0; k < 256; k++) start[k + 1] = start[k] + count[k];
    int *idx = malloc(sizeof(int) * (size_t)(in->n > 0 ? in->n : 1));
    if (!idx) {
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    int fill[256];
    memcpy(fill, start, sizeof fill);
    for (int i = 0; i < in->n; i++) idx[fill[in->labels[i]]++] = i; /* ascending per class */
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    *n_test = 0;
    for (int k = 0; k < in->classes; k++) {
        tpl_shuffle(idx + start[k], count[k], &rng);
        int take = (int)round(frac * (double)count[k]);
        for (int j = 0; j < take; j++) test[idx[start[k] + j]] = 1;
        *n_test += take;
    }
    free(idx);
    return 0;
}

/* A new dataset of the n images whose mark is value, in their order. */
static int gather(const tpl_dataset *in, const uint8_t *mark, uint8_t value, int n,
                  tpl_dataset *out) {
    if (tpl_dataset_alloc(out, n, in->h, in->w, in->c, in->classes)) return -1;
    size_t per = (size_t)in->h * (size_t)in->w * (size_t)in->c;
    for (int i = 0, j = 0; i < in->n; i++) {
        if (mark[i] != value) continue;
        memcpy(out->pixels + (size_t)j * per, in->pixels + (size_t)i * per, per);
        out->labels[j++] = in->labels[i];
    }
    return 0;
}

int tpl_dataset_split(const tpl_dataset *in, double test_fraction, uint64_t seed,
                      tpl_dataset *train, tpl_dataset *test, tpl_err *err) {
    if (train == test || (const tpl_dataset *)train == in || (const tpl_dataset *)test == in) {
        tpl_err_set(err, "split: input, train and test must be distinct datasets");
        return -1;
    }
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (check_dataset(in, "split", err)) return -1;
    if (in->classes < 1 || in->classes > 256) {
        tpl_err_set(err, "split: classes %d outside [1, 256]", in->classes);
        return -1;
    }
    if (!(test_fraction >= 0.0 && test_fraction <= 1.0)) {
        tpl_err_set(err, "split: test fraction %g outside [0, 1]", test_fraction);
        return -1;
    }
    uint8_t *is_test = calloc((size_t)(in->n > 0 ? in->n : 1), 1);
    if (!is_test) {
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    int n_test = 0;
    if (split_mark(in, test_fraction, seed, is_test, &n_test, err)) {
        free(is_test);
        return -1;
    }
    tpl_dataset tr, te;
    int rc = gather(in, is_test, 0, in->n - n_test, &tr);
    if (!rc && (rc = gather(in, is_test, 1, n_test, &te))) tpl_dataset_free(&tr);
    if (rc) {
        free(is_test);
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    free(is_test);
    *train = tr;
    *test = te;
    return 0;
}

int tpl_dataset_per_class(const tpl_dataset *in, int n, uint64_t seed, tpl_dataset *out,
                          tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (check_dataset(in, "per-class", err)) return -1;
    if (n < 1) {
        tpl_err_set(err, "per-class: %d images per class is less than 1", n);
        return -1;
    }
    int *order = malloc(sizeof(int) * (size_t)(in->n > 0 ? in->n : 1));
    uint8_t *keep = calloc((size_t)(in->n > 0 ? in->n : 1), 1);
    int taken[256] = {0}, kept = 0;
    if (!order || !keep) {
        free(order), free(keep);
        tpl_err_set(err, "per-class: out of memory");
        return -1;
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    for (int i = 0; i < in->n; i++) order[i] = i;
    tpl_shuffle(order, in->n, &rng);
    for (int i = 0; i < in->n; i++) {
        int j = order[i];
        if (taken[in->labels[j]] < n) taken[in->labels[j]]++, keep[j] = 1, kept++;
    }
    int rc = gather(in, keep, 1, kept, out);
    if (rc) tpl_err_set(err, "per-class: out of memory");
    free(order), free(keep);
    return rc;
}
