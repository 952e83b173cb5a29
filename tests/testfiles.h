/* Files for tests and the programs that make test data: a scratch
 * directory, whole files in and out, directory listings, and PNG and JPEG
 * images from pixels (libpng's simplified API and libjpeg, not templar's
 * own writer, so a reader is tested against files it did not write).
 *
 * Header only, every function static inline, so a program includes it and
 * uses what it needs.  Setting up a test is not what it tests: a helper
 * that fails says why on stderr and exits 2. */
#ifndef TPL_TESTFILES_H
#define TPL_TESTFILES_H
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <png.h>
#include <zlib.h>

static inline void testfiles_fail(const char *what, const char *path) {
    fprintf(stderr, "testfiles: %s %s: %s\n", what, path, errno ? strerror(errno) : "failed");
    exit(2);
}

/* ---- the scratch directory ------------------------------------------------ */

/* The directory of scratch_begin, "" before. */
static char scratch_root[64] __attribute__((unused));

/* rm -rf, without following links. */
static inline void rm_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st)) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (n > 0 && (size_t)n < sizeof sub) rm_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A new, empty /tmp/templar_TAG_XXXXXX (mkdtemp) as scratch_root. */
static inline const char *scratch_begin(const char *tag) {
    snprintf(scratch_root, sizeof scratch_root, "/tmp/templar_%s_XXXXXX", tag);
    if (!mkdtemp(scratch_root)) testfiles_fail("mkdtemp", scratch_root);
    return scratch_root;
}

/* Removes the scratch directory and all in it. */
static inline void scratch_end(void) { rm_tree(scratch_root); }

/* "SCRATCH/name", in one of 16 buffers used in turn: keep a copy of a path
 * needed after 16 more calls. */
static inline const char *at(const char *name) {
    static char buf[16][512];
    static int next = 0;
    char *b = buf[next++ % 16];
    snprintf(b, sizeof buf[0], "%s/%s", scratch_root, name);
    return b;
}

/* mkdir -p path (mode 0777). */
static inline void make_dirs(const char *path) {
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) && errno != EEXIST) testfiles_fail("mkdir", p);
            *s = '/';
        }
    if (mkdir(p, 0777) && errno != EEXIST) testfiles_fail("mkdir", p);
}

/* ---- whole files ----------------------------------------------------------- */

/* path holding b[0..len), gzip-compressed when gz. */
static inline void write_file(const char *path, const void *b, size_t len, int gz) {
    errno = 0;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || (len && gzwrite(f, b, (unsigned)len) != (int)len)) testfiles_fail("write", path);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || (len && fwrite(b, 1, len, f) != len)) testfiles_fail("write", path);
        fclose(f);
    }
}

static inline void write_text(const char *path, const char *text, int gz) {
    write_file(path, text, strlen(text), gz);
}

/* The whole file (gunzipped when gunzip and it is gzip), malloc'd with a
 * NUL after it; *len its size.  NULL (and *len 0) when it cannot be read. */
static inline uint8_t *read_file(const char *path, size_t *len, int gunzip) {
    FILE *f = gunzip ? NULL : fopen(path, "rb");
    gzFile z = gunzip ? gzopen(path, "rb") : NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = f || z ? malloc(cap + 1) : NULL;
    *len = 0;
    for (int r = 1; b && r > 0;) {
        r = z ? gzread(z, b + n, (unsigned)(cap - n)) : (int)fread(b + n, 1, cap - n, f);
        if (r > 0 && (n += (size_t)r) == cap) {
            uint8_t *grown = realloc(b, 2 * cap + 1);
            if (!grown) free(b);
            b = grown, cap *= 2;
        }
    }
    if (f) fclose(f);
    if (z) gzclose(z);
    if (b) b[n] = 0, *len = n;
    return b;
}

/* A text file, malloc'd and NUL-terminated; NULL when it cannot be read. */
static inline char *read_text(const char *path) {
    size_t len;
    return (char *)read_file(path, &len, 0);
}

/* a and b hold the same bytes, at least one. */
static inline int same_file(const char *a, const char *b) {
    size_t la, lb;
    uint8_t *x = read_file(a, &la, 0), *y = read_file(b, &lb, 0);
    int same = la > 0 && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* ---- directories ----------------------------------------------------------- */

static inline int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Entries of dir (not . and ..), or -1 when it cannot be read. */
static inline int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static inline int testfiles_cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* Entries of dir other than "." and "..", names joined by spaces, sorted
 * (the first 32). */
static inline void listing(const char *dir, char *out, size_t size) {
    char names[32][256];
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) && n < 32;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], testfiles_cmp_name);
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", names[i]);
}

/* ---- images ------------------------------------------------------------------ */

/* A w x h PNG of libpng's simplified format (PNG_FORMAT_*; px rows packed),
 * in memory (malloc'd, *len bytes).  colormap: the palette of a COLORMAP
 * format, entries long; else NULL. */
static inline unsigned char *encode_png(const void *px, int w, int h, png_uint_32 format,
                                        const void *colormap, int entries, size_t *len) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = format;
    img.colormap_entries = (png_uint_32)entries;
    png_alloc_size_t n = 0;
    unsigned char *mem = NULL;
    errno = 0;
    if (!png_image_write_to_memory(&img, NULL, &n, 0, px, 0, colormap) || !(mem = malloc(n)) ||
        !png_image_write_to_memory(&img, mem, &n, 0, px, 0, colormap))
        testfiles_fail("encoding a PNG:", img.message);
    *len = n;
    return mem;
}

/* A w x h PNG of c channels (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) from
 * packed 8-bit pixels. */
static inline void write_png(const char *path, const uint8_t *px, int w, int h, int c) {
    static const png_uint_32 format[5] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                          PNG_FORMAT_RGBA};
    size_t len;
    unsigned char *mem = encode_png(px, w, h, format[c], NULL, 0, &len);
    write_file(path, mem, len, 0);
    free(mem);
}

/* How a JPEG is encoded: quality 1..100; progressive or baseline; a
 * restart marker every restart_interval MCUs (0: none). */
typedef struct jpeg_style {
    int quality, progressive;
    unsigned restart_interval;
} jpeg_style;

/* A w x h JPEG of c channels (1 grey, 3 RGB) from packed pixels, in memory
 * (malloc'd, *len bytes). */
static inline unsigned char *encode_jpeg(const uint8_t *px, int w, int h, int c, jpeg_style s,
                                         unsigned long *len) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    *len = 0;
    ci.err = jpeg_std_error(&jerr); /* its errors exit */
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &mem, len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, s.quality, TRUE);
    if (s.progressive) jpeg_simple_progression(&ci);
    ci.restart_interval = s.restart_interval;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return mem;
}

/* A baseline JPEG of the given quality (see encode_jpeg). */
static inline void write_jpeg(const char *path, const uint8_t *px, int w, int h, int c,
                              int quality) {
    unsigned long len;
    unsigned char *mem = encode_jpeg(px, w, h, c, (jpeg_style){quality, 0, 0}, &len);
    write_file(path, mem, len, 0);
    free(mem);
}
#endif
