/* IDX files (the MNIST layout) read into byte datasets and written back. */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"

/* Per-axis and total limits.  Each axis alone can look harmless while the
 * product is absurd (1e6 x 1e3 x 1e3), so the total is checked as well. */
#define IDX_MAX_DIM (1u << 20)
#define IDX_MAX_BYTES ((uint64_t)1 << 32)
/* gzread takes an unsigned length and returns an int: read in bounded pieces. */
#define IDX_CHUNK (1u << 24)

/* Ranks an IDX file may have: images are (n, h, w) or (n, h, w, c). */
#define IDX_MAX_RANK 4

/* One IDX file, opened and with its header validated but its body unread. */
typedef struct idx_file {
    gzFile f;
    const char *path;
    const char *kind;   /* "image" or "label", for messages */
    int min_rank, max_rank; /* accepted */
    int rank;           /* found */
    uint32_t dims[IDX_MAX_RANK];
    uint64_t bytes;     /* product of dims: the body's size */
} idx_file;

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
    if (m[3] < x->min_rank || m[3] > x->max_rank) {
        if (x->min_rank == x->max_rank)
            tpl_err_set(err, "%s: IDX rank %d, expected %d for %s data", x->path, m[3],
                        x->min_rank, x->kind);
        else
            tpl_err_set(err, "%s: IDX rank %d, expected %d or %d for %s data", x->path, m[3],
                        x->min_rank, x->max_rank, x->kind);
        return -1;
    }
    return 0;
}

/* Checks axis i of the header: every axis in [1, IDX_MAX_DIM], and the
 * fourth (channels, images only) 1 (grey) or 3 (RGB). */
static int idx_check_dim(const idx_file *x, int i, tpl_err *err) {
    if (x->dims[i] < 1 || x->dims[i] > IDX_MAX_DIM) {
        tpl_err_set(err, "%s: IDX dimension %d is %" PRIu32 ", outside [1, %u]", x->path, i,
                    x->dims[i], IDX_MAX_DIM);
        return -1;
    }
    if (i == 3 && x->dims[3] != 1 && x->dims[3] != 3) {
        tpl_err_set(err, "%s: IDX image has %" PRIu32 " channels, expected 1 or 3", x->path,
                    x->dims[3]);
        return -1;
    }
    return 0;
}

/* Reads and validates the header.  Nothing is allocated from header values
 * until every dimension and their product have passed.  The rank comes from
 * the magic, so until it has passed the header's length is unknown: a short
 * file reports the length the smallest accepted rank needs. */
static int idx_read_header(idx_file *x, tpl_err *err) {
    uint8_t h[4 + 4 * IDX_MAX_RANK];
    unsigned len = 4 + 4 * (unsigned)x->min_rank;
    long got = gz_read_some(x->f, h, 4);
    if (got == 4) {
        if (idx_check_magic(x, h, err)) return -1;
        x->rank = h[3];
        len = 4 + 4 * (unsigned)x->rank;
        got += gz_read_some(x->f, h + 4, len - 4);
    }
    if (got != (long)len) {
        const char *why = gz_reason(x->f);
        tpl_err_set(err, "%s: truncated: IDX header is %u bytes, got %ld%s%s%s", x->path,
                    len, got, *why ? " (" : "", why, *why ? ")" : "");
        return -1;
    }
    x->bytes = 1;
    for (int i = 0; i < x->rank; i++) {
        x->dims[i] = be32(h + 4 + 4 * i);
        if (idx_check_dim(x, i, err)) return -1;
        /* <= 2^60 after three axes, and the fourth is at most 3: no overflow */
        x->bytes *= x->dims[i];
    }
    if (x->bytes > IDX_MAX_BYTES) {
        tpl_err_set(err, "%s: header claims %" PRIu64 " bytes of %s data, more than the %" PRIu64
                    " limit", x->path, x->bytes, x->kind, IDX_MAX_BYTES);
        return -1;
    }
    return 0;
}

/* Opens path and validates its header (a rank in [min_rank, max_rank]);
 * x->f is NULL on failure. */
static int idx_open(idx_file *x, const char *path, int min_rank, int max_rank,
                    const char *kind, tpl_err *err) {
    memset(x, 0, sizeof *x);
    x->path = path;
    x->kind = kind;
    x->min_rank = min_rank;
    x->max_rank = max_rank;
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
    d->c = im->rank == 4 ? (int)im->dims[3] : 1; /* rank 3 is greyscale */
    int top = 0;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] > top) top = d->labels[i];
    d->classes = top + 1;
    return 0;
}

/* The images alone: labels all 0, one class. */
static int idx_read_images(idx_file *im, tpl_dataset *d, tpl_err *err) {
    if (idx_read_body(im, &d->pixels, err)) return -1;
    d->n = (int)im->dims[0];
    d->h = (int)im->dims[1];
    d->w = (int)im->dims[2];
    d->c = im->rank == 4 ? (int)im->dims[3] : 1;
    d->classes = 1;
    if (!(d->labels = calloc((size_t)d->n, 1))) {
        tpl_err_set(err, "%s: out of memory", im->path);
        return -1;
    }
    return 0;
}

int tpl_idx_load(const char *images_path, const char *labels_path,
                 tpl_dataset *out, tpl_err *err) {
    tpl_dataset d = {0};
    idx_file im, lb;
    memset(out, 0, sizeof *out);
    if (idx_open(&im, images_path, 3, 4, "image", err)) return -1;
    if (!labels_path) {
        int rc = idx_read_images(&im, &d, err);
        idx_close(&im);
        if (rc) tpl_dataset_free(&d);
        else *out = d;
        return rc;
    }
    if (idx_open(&lb, labels_path, 1, 1, "label", err)) {
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

/* The file-name prefix of a split: "train" or "t10k" (for "test"). */
static const char *split_prefix(const char *dir, const char *split, tpl_err *err) {
    if (strcmp(split, "train") == 0) return "train";
    if (strcmp(split, "test") == 0) return "t10k";
    tpl_err_set(err, "%s: unknown split \"%s\" (expected \"train\" or \"test\")", dir,
                split);
    return NULL;
}

int tpl_idx_load_dir_opt(const char *dir, const char *split, int labels_needed,
                         tpl_dataset *out, int *labelled, tpl_err *err) {
    memset(out, 0, sizeof *out);
    *labelled = 1;
    const char *prefix = split_prefix(dir, split, err);
    if (!prefix) return -1;
    char stem[64], images[4096], labels[4096];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    if (idx_pick_path(images, sizeof images, dir, stem, err)) return -1;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    if (idx_pick_path(labels, sizeof labels, dir, stem, err)) return -1;
    if (!labels_needed && access(labels, F_OK) != 0) {
        *labelled = 0;
        return tpl_idx_load(images, NULL, out, err);
    }
    return tpl_idx_load(images, labels, out, err);
}

int tpl_idx_load_dir(const char *dir, const char *split, tpl_dataset *out,
                     tpl_err *err) {
    int labelled;
    return tpl_idx_load_dir_opt(dir, split, 1, out, &labelled, err);
}

/* ---- writing IDX files ---------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes len bytes in pieces gzwrite can take (an unsigned length). */
static int gz_write_all(gzFile f, const uint8_t *p, uint64_t len) {
    while (len) {
        unsigned n = len > IDX_CHUNK ? IDX_CHUNK : (unsigned)len;
        if (gzwrite(f, p, n) != (int)n) return -1;
        p += n;
        len -= n;
    }
    return 0;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Header (magic, rank, dims) and body into gz; NULL or the step that failed. */
static const char *idx_write_stream(gzFile gz, int rank, const uint32_t *dims,
                                    const uint8_t *body, uint64_t bytes) {
    uint8_t h[4 + 4 * IDX_MAX_RANK] = {0, 0, 0x08, (uint8_t)rank};
    for (int i = 0; i < rank; i++) put_be32(h + 4 + 4 * i, dims[i]);
    if (gz_write_all(gz, h, 4 + 4 * (uint64_t)rank) || gz_write_all(gz, body, bytes))
        return "write";
    return NULL;
}

/* Writes an IDX file of path into the new file tmp, gzip when path ends in
 * ".gz" (zlib's "T" mode writes plain bytes through the same calls), and
 * fsyncs it.  On failure tmp is removed and err names path and the step. */
static int idx_write_tmp(const char *path, const char *tmp, int rank, const uint32_t *dims,
                         const uint8_t *body, uint64_t bytes, tpl_err *err) {
    char why[128] = "";
    const char *what = NULL;
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        tpl_err_set(err, "%s: cannot create temporary file %s (%s)", path, tmp, strerror(errno));
        return -1;
    }
    /* gzclose closes its descriptor: it gets a copy, so fsync can follow */
    int fd2 = dup(fd);
    gzFile gz = fd2 < 0 ? NULL : gzdopen(fd2, ends_with(path, ".gz") ? "wb" : "wbT");
    if (!gz) {
        what = "open", e = errno;
        if (fd2 >= 0) close(fd2);
    } else {
        if ((what = idx_write_stream(gz, rank, dims, body, bytes)))
            e = errno, snprintf(why, sizeof why, "%s", gz_reason(gz));
        if (gzclose(gz) != Z_OK && !what) what = "write", e = errno; /* the last block */
    }
    if (!what && fsync(fd)) what = "sync", e = errno;
    if (close(fd) && !what) what = "close", e = errno;
    if (!what) return 0;
    unlink(tmp);
    tpl_err_set(err, "%s: cannot %s temporary file %s (%s)", path, what, tmp,
                *why ? why : e ? strerror(e) : "failed");
    return -1;
}

/* What the loader would accept back: 1..IDX_MAX_DIM per axis, 1 or 3
 * channels, at most IDX_MAX_BYTES. */
static int idx_check_writable(const tpl_dataset *d, const char *path, tpl_err *err) {
    if (d->n < 1 || (uint32_t)d->n > IDX_MAX_DIM || d->h < 1 || (uint32_t)d->h > IDX_MAX_DIM ||
        d->w < 1 || (uint32_t)d->w > IDX_MAX_DIM || (d->c != 1 && d->c != 3) || !d->pixels ||
        !d->labels) {
        tpl_err_set(err, "%s: cannot write %d images of %dx%dx%d as IDX (1..%u images and "
                    "sides, 1 or 3 channels)", path, d->n, d->c, d->h, d->w, IDX_MAX_DIM);
        return -1;
    }
    uint64_t bytes = (uint64_t)d->n * (uint64_t)d->h * (uint64_t)d->w * (uint64_t)d->c;
    if (bytes > IDX_MAX_BYTES) {
        tpl_err_set(err, "%s: %" PRIu64 " bytes of images, more than the %" PRIu64 " limit",
                    path, bytes, IDX_MAX_BYTES);
        return -1;
    }
    return 0;
}

int tpl_idx_write(const char *images_path, const char *labels_path, const tpl_dataset *d,
                  tpl_err *err) {
    if (idx_check_writable(d, images_path, err)) return -1;
    uint32_t di[4] = {(uint32_t)d->n, (uint32_t)d->h, (uint32_t)d->w, (uint32_t)d->c};
    uint32_t dl[1] = {(uint32_t)d->n};
    uint64_t bytes = (uint64_t)d->n * di[1] * di[2] * di[3];
    char ti[4096 + 32], tl[4096 + 32];
    snprintf(ti, sizeof ti, "%s.tmp.%ld", images_path, (long)getpid());
    snprintf(tl, sizeof tl, "%s.tmp.%ld", labels_path, (long)getpid());
    /* grey stays rank 3, the MNIST layout every reader knows */
    if (idx_write_tmp(images_path, ti, d->c == 1 ? 3 : 4, di, d->pixels, bytes, err))
        return -1;
    if (idx_write_tmp(labels_path, tl, 1, dl, d->labels, (uint64_t)d->n, err)) {
        unlink(ti);
        return -1;
    }
    const char *bad = rename(ti, images_path) ? images_path
                    : rename(tl, labels_path) ? labels_path : NULL;
    if (bad) {
        tpl_err_set(err, "%s: cannot rename temporary file into place (%s)", bad,
                    strerror(errno));
        unlink(ti);
        unlink(tl);
        return -1;
    }
    tpl_sync_parent(images_path);
    if (strcmp(images_path, labels_path)) tpl_sync_parent(labels_path);
    return 0;
}

int tpl_idx_write_dir(const char *dir, const char *split, const tpl_dataset *d,
                      tpl_err *err) {
    const char *prefix = split_prefix(dir, split, err);
    if (!prefix) return -1;
    char images[4096], labels[4096];
    int a = snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    int b = snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (a < 0 || b < 0 || (size_t)a >= sizeof images || (size_t)b >= sizeof labels) {
        tpl_err_set(err, "%s: path too long", dir);
        return -1;
    }
    return tpl_idx_write(images, labels, d, err);
}
