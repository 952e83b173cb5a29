/* Data sources: IDX files (MNIST layout) into byte datasets, byte datasets
 * into normalised, optionally augmented float batches. */
#include "data.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Per-axis and total limits.  Each axis alone can look harmless while the
 * product is absurd (1e6 x 1e3 x 1e3), so the total is checked as well. */
#define IDX_MAX_DIM (1u << 20)
#define IDX_MAX_BYTES ((uint64_t)1 << 32)
/* gzread takes an unsigned length and returns an int: read in bounded pieces. */
#define IDX_CHUNK (1u << 24)

/* One IDX file, opened and with its header validated but its body unread. */
typedef struct idx_file {
    gzFile f;
    const char *path;
    const char *kind;   /* "image" or "label", for messages */
    int rank;
    uint32_t dims[3];
    uint64_t bytes;     /* product of dims: the body's size */
} idx_file;

void tpl_dataset_free(tpl_dataset *d) {
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* Reads up to len bytes and returns how many arrived.  Loops because gzread
 * may return short counts mid-stream; a zlib error just ends the read early
 * (gzerror keeps it, for gz_reason to report). */
static long gz_read_some(gzFile f, void *buf, unsigned len) {
    unsigned got = 0;
    while (got < len) {
        int r = gzread(f, (uint8_t *)buf + got, len - got);
        if (r <= 0) break;
        got += (unsigned)r;
    }
    return (long)got;
}

/* zlib's own explanation of the last failure, or "" when there is none.
 * A gzip stream cut short reports Z_BUF_ERROR, which is worth showing. */
static const char *gz_reason(gzFile f) {
    int errnum = Z_OK;
    const char *msg = gzerror(f, &errnum);
    return (errnum == Z_OK || !msg) ? "" : msg;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Checks the 4-byte magic: two zero bytes, dtype 0x08 (ubyte), rank. */
static int idx_check_magic(const idx_file *x, const uint8_t m[4], tpl_err *err) {
    if (m[0] != 0 || m[1] != 0) {
        tpl_err_set(err, "%s: not an IDX file (magic %02x %02x %02x %02x)",
                    x->path, m[0], m[1], m[2], m[3]);
        return -1;
    }
    if (m[2] != 0x08) {
        tpl_err_set(err, "%s: unsupported IDX dtype 0x%02x (expected 0x08, unsigned byte)",
                    x->path, m[2]);
        return -1;
    }
    if (m[3] != x->rank) {
        tpl_err_set(err, "%s: IDX rank %d, expected %d for %s data", x->path,
                    m[3], x->rank, x->kind);
        return -1;
    }
    return 0;
}

/* Reads and validates the header.  Nothing is allocated from header values
 * until every dimension and their product have passed. */
static int idx_read_header(idx_file *x, tpl_err *err) {
    uint8_t h[4 + 4 * 3];
    unsigned len = 4 + 4 * (unsigned)x->rank;
    long got = gz_read_some(x->f, h, 4);
    if (got == 4 && idx_check_magic(x, h, err)) return -1;
    if (got == 4) got += gz_read_some(x->f, h + 4, len - 4);
    if (got != (long)len) {
        const char *why = gz_reason(x->f);
        tpl_err_set(err, "%s: truncated: IDX header is %u bytes, got %ld%s%s%s", x->path,
                    len, got, *why ? " (" : "", why, *why ? ")" : "");
        return -1;
    }
    x->bytes = 1;
    for (int i = 0; i < x->rank; i++) {
        x->dims[i] = be32(h + 4 + 4 * i);
        if (x->dims[i] < 1 || x->dims[i] > IDX_MAX_DIM) {
            tpl_err_set(err, "%s: IDX dimension %d is %" PRIu32 ", outside [1, %u]",
                        x->path, i, x->dims[i], IDX_MAX_DIM);
            return -1;
        }
        x->bytes *= x->dims[i]; /* <= 2^60 after three axes: cannot overflow */
    }
    if (x->bytes > IDX_MAX_BYTES) {
        tpl_err_set(err, "%s: header claims %" PRIu64 " bytes of %s data, more than the %" PRIu64
                    " limit", x->path, x->bytes, x->kind, IDX_MAX_BYTES);
        return -1;
    }
    return 0;
}

/* Opens path and validates its header; x->f is NULL on failure. */
static int idx_open(idx_file *x, const char *path, int rank, const char *kind,
                    tpl_err *err) {
    memset(x, 0, sizeof *x);
    x->path = path;
    x->kind = kind;
    x->rank = rank;
    errno = 0;
    x->f = gzopen(path, "rb");
    if (!x->f) {
        /* gzopen leaves errno from open(); 0 means zlib itself ran out of memory */
        tpl_err_set(err, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return -1;
    }
    if (idx_read_header(x, err)) {
        gzclose(x->f);
        x->f = NULL;
        return -1;
    }
    return 0;
}

static void idx_close(idx_file *x) {
    if (x->f) gzclose(x->f);
    x->f = NULL;
}

/* Grows *buf to hold at least need bytes (doubling, capped at max). */
static int grow(uint8_t **buf, uint64_t *cap, uint64_t need, uint64_t max) {
    if (need <= *cap) return 0;
    uint64_t c = *cap ? *cap : ((uint64_t)1 << 20);
    while (c < need) c *= 2;
    if (c > max) c = max;
    uint8_t *p = realloc(*buf, (size_t)c);
    if (!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

/* Reads the body.  The buffer grows as data actually arrives, rather than
 * being sized from the header, so a small file with a large (but legal)
 * header fails as truncated without first reserving gigabytes. */
static int idx_read_body(idx_file *x, uint8_t **out, tpl_err *err) {
    uint8_t *buf = NULL;
    uint64_t cap = 0, got = 0;
    while (got < x->bytes) {
        uint64_t want = x->bytes - got;
        if (want > IDX_CHUNK) want = IDX_CHUNK;
        if (grow(&buf, &cap, got + want, x->bytes)) {
            tpl_err_set(err, "%s: out of memory reading %" PRIu64 " bytes", x->path,
                        x->bytes);
            free(buf);
            return -1;
        }
        long r = gz_read_some(x->f, buf + got, (unsigned)want);
        got += (uint64_t)r;
        if (r < (long)want) break; /* end of data, or a zlib error */
    }
    if (got < x->bytes) {
        const char *why = gz_reason(x->f);
        tpl_err_set(err, "%s: truncated: expected %" PRIu64 " bytes of %s data, got %" PRIu64
                    "%s%s%s", x->path, x->bytes, x->kind, got, *why ? " (" : "", why,
                    *why ? ")" : "");
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* Reads both bodies once both headers have passed and agree on the count. */
static int idx_read_pair(idx_file *im, idx_file *lb, tpl_dataset *d, tpl_err *err) {
    if (lb->dims[0] != im->dims[0]) {
        tpl_err_set(err, "%s: %" PRIu32 " labels but %s has %" PRIu32 " images",
                    lb->path, lb->dims[0], im->path, im->dims[0]);
        return -1;
    }
    if (idx_read_body(im, &d->pixels, err)) return -1;
    if (idx_read_body(lb, &d->labels, err)) return -1;
    d->n = (int)im->dims[0];
    d->h = (int)im->dims[1];
    d->w = (int)im->dims[2];
    d->c = 1; /* IDX rank-3 images are greyscale */
    int top = 0;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] > top) top = d->labels[i];
    d->classes = top + 1;
    return 0;
}

int tpl_idx_load(const char *images_path, const char *labels_path,
                 tpl_dataset *out, tpl_err *err) {
    tpl_dataset d = {0};
    idx_file im, lb;
    memset(out, 0, sizeof *out);
    if (idx_open(&im, images_path, 3, "image", err)) return -1;
    if (idx_open(&lb, labels_path, 1, "label", err)) {
        idx_close(&im);
        return -1;
    }
    int rc = idx_read_pair(&im, &lb, &d, err);
    idx_close(&im);
    idx_close(&lb);
    if (rc) {
        tpl_dataset_free(&d);
        return -1;
    }
    *out = d;
    return 0;
}

/* Picks "{dir}/{stem}.gz" if it exists, else "{dir}/{stem}"; when neither
 * exists the .gz name is kept, so the error names the usual download. */
static int idx_pick_path(char *buf, size_t size, const char *dir, const char *stem,
                         tpl_err *err) {
    int len = snprintf(buf, size, "%s/%s.gz", dir, stem);
    if (len < 0 || (size_t)len >= size) {
        tpl_err_set(err, "%s: path too long", dir);
        return -1;
    }
    if (access(buf, F_OK) == 0) return 0;
    buf[len - 3] = '\0';
    if (access(buf, F_OK) == 0) return 0;
    buf[len - 3] = '.';
    return 0;
}

int tpl_idx_load_dir(const char *dir, const char *split, tpl_dataset *out,
                     tpl_err *err) {
    const char *prefix;
    memset(out, 0, sizeof *out);
    if (strcmp(split, "train") == 0) {
        prefix = "train";
    } else if (strcmp(split, "test") == 0) {
        prefix = "t10k";
    } else {
        tpl_err_set(err, "%s: unknown split \"%s\" (expected \"train\" or \"test\")",
                    dir, split);
        return -1;
    }
    char stem[64], images[4096], labels[4096];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    if (idx_pick_path(images, sizeof images, dir, stem, err)) return -1;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    if (idx_pick_path(labels, sizeof labels, dir, stem, err)) return -1;
    return tpl_idx_load(images, labels, out, err);
}

void tpl_dataset_stats_union(const tpl_dataset *const *sets, int n_sets, float *mean,
                             float *std) {
    for (int c = 0; c < sets[0]->c; c++) {
        /* Integer sums are exact (255^2 * 2^32 < 2^64), so the variance is
         * not lost to cancellation; doubles only for the final division. */
        uint64_t s = 0, s2 = 0, count = 0;
        for (int k = 0; k < n_sets; k++) {
            const tpl_dataset *d = sets[k];
            size_t pixels = (size_t)d->n * (size_t)d->h * (size_t)d->w;
            for (size_t i = 0; i < pixels; i++) {
                uint64_t p = d->pixels[i * (size_t)d->c + (size_t)c];
                s += p;
                s2 += p * p;
            }
            count += pixels;
        }
        double m = count ? (double)s / (double)count : 0.0;
        double var = count ? (double)s2 / (double)count - m * m : 0.0;
        mean[c] = (float)(m / 255.0);
        std[c] = (float)(sqrt(var > 0.0 ? var : 0.0) / 255.0);
    }
}

void tpl_dataset_stats(const tpl_dataset *d, float *mean, float *std) {
    tpl_dataset_stats_union(&d, 1, mean, std);
}

/* One image's random choices, drawn in a fixed order: dy, dx, flip. */
typedef struct aug_draw {
    int dy, dx, flip;
} aug_draw;

static aug_draw draw_aug(const tpl_augment *aug, tpl_rng *rng) {
    aug_draw a = {0, 0, 0};
    if (!aug) return a;
    if (aug->pad > 0) {
        uint32_t span = 2u * (uint32_t)aug->pad + 1u;
        a.dy = (int)tpl_rng_below(rng, span) - aug->pad;
        a.dx = (int)tpl_rng_below(rng, span) - aug->pad;
    }
    if (aug->flip) a.flip = (int)tpl_rng_below(rng, 2);
    return a;
}

/* Writes one image: crop (shift by dy, dx with zero fill), then mirror the
 * crop if flip, then normalise.  out(y, x) = in(y + dy, x' + dx) with
 * x' = flip ? w-1-x : x. */
static void fill_one(const tpl_dataset *d, const uint8_t *src, aug_draw a,
                     const float *mean, const float *std, float *dst) {
    const int h = d->h, w = d->w, C = d->c;
    for (int y = 0; y < h; y++) {
        int sy = y + a.dy;
        for (int x = 0; x < w; x++) {
            int sx = (a.flip ? w - 1 - x : x) + a.dx;
            int inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            const uint8_t *p = inside ? src + ((size_t)sy * w + sx) * C : NULL;
            float *o = dst + ((size_t)y * w + x) * C;
            for (int c = 0; c < C; c++) {
                float v = p ? (float)p[c] / 255.0f : 0.0f;
                o[c] = (v - mean[c]) / std[c];
            }
        }
    }
}

void tpl_batch_fill(const tpl_dataset *d, const int *idx, int n,
                    const float *mean, const float *std,
                    const tpl_augment *aug, tpl_rng *rng, float *x, int *y) {
    const size_t per = (size_t)d->h * (size_t)d->w * (size_t)d->c;
    for (int i = 0; i < n; i++) {
        aug_draw a = draw_aug(aug, rng);
        fill_one(d, d->pixels + (size_t)idx[i] * per, a, mean, std, x + (size_t)i * per);
        if (y) y[i] = d->labels[idx[i]];
    }
}

void tpl_shuffle(int *perm, int n, tpl_rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tpl_rng_below(rng, (uint32_t)i + 1u);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
