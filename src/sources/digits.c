/* Digit data sources: OpenCV's digits.png sheet, scikit-learn's digits CSV. */
#include "digits.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image.h"

/* Largest dataset (pixel bytes) these loaders will build, and largest image
 * count (n is an int). */
#define DG_MAX_BYTES ((uint64_t)1 << 32)
#define DG_MAX_IMAGES ((uint64_t)INT32_MAX)
/* Limits on the CSV's image side and value range. */
#define DG_MAX_SIDE 1024
#define DG_MAX_VALUE 65535
/* Limit on the sheet's cell side and rows per class. */
#define DG_MAX_CELL 32768
/* Largest sheet side decoded (it is checked against the layout first). */
#define DG_MAX_SHEET_SIDE 65536

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
    if (cell < 1 || cell > DG_MAX_CELL || rows_per_class < 1 ||
        rows_per_class > DG_MAX_CELL) {
        tpl_err_set(err, "%s: cell %d and rows_per_class %d must be in [1, %d]", path, cell,
                    rows_per_class, DG_MAX_CELL);
        return -1;
    }
    int w, h, file_c;
    if (tpl_png_probe(path, &w, &h, &file_c, err)) return -1;
    uint32_t width = (uint32_t)w, height = (uint32_t)h;
    if (png_check_layout(path, width, height, cell, rows_per_class, err)) return -1;
    tpl_image sheet;
    if (tpl_png_read(path, 1, DG_MAX_SHEET_SIDE, &sheet, err)) return -1;
    tpl_dataset d;
    int rc = png_cut_cells(sheet.px, width, height, cell, rows_per_class, &d);
    tpl_image_free(&sheet);
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
        /* gzgets copies a NUL like any byte, so a NUL shows as a string
         * shorter than what was read (on the last line too) */
        z_off_t before = gztell(r->f);
        if (!gzgets(r->f, r->buf + len, (int)(r->cap - len))) break;
        size_t got = strlen(r->buf + len);
        if (!*gz_why(r->f) && gztell(r->f) - before != (z_off_t)got) {
            tpl_err_set(err, "%s:%ld: NUL byte in line", r->path, r->line);
            return -1;
        }
        len += got;
        if (len && r->buf[len - 1] == '\n') {
            newline = 1;
            break;
        }
        if (len + 1 < r->cap) break; /* stopped short of the buffer's end: the end of the file */
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

/* The first 32 bytes of a field for a message, control bytes shown as '?'
 * (a '\r' or an escape sequence in the file must not break the line). */
static const char *printable(const char *s, size_t len, char out[33]) {
    size_t n = len > 32 ? 32 : len;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    out[n] = '\0';
    return out;
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
            char shown[33];
            tpl_err_set(err, "%s:%ld: field %d is not an integer: \"%s\"", r->path, r->line,
                        i + 1, printable(s, len, shown));
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
