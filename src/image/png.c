/* PNG through libpng's simplified API (see image.h). */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "image.h"

/* libpng allocates, and clears, a buffer of the length a chunk claims
 * before it reads the chunk: an 80-byte file whose text chunk claims 2 GB
 * costs 2 GB.  So every chunk's length is checked against what the file
 * holds, from the headers alone (a seek per chunk), before libpng sees it.
 * The stream is left at its start. */
static int png_chunks_fit(FILE *f, const char *path, tpl_err *err) {
    struct stat st;
    if (fstat(fileno(f), &st)) {
        tpl_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    const uint64_t size = (uint64_t)st.st_size;
    uint64_t pos = 8; /* after the signature */
    uint8_t h[8];
    while (pos + 8 <= size && !fseeko(f, (off_t)pos, SEEK_SET) && fread(h, 1, 8, f) == 8) {
        const uint64_t len = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 | h[3];
        if (len > size - pos - 8) {
            char type[5];
            for (int i = 0; i < 4; i++) type[i] = h[4 + i] >= 0x20 && h[4 + i] < 0x7f ? (char)h[4 + i] : '?';
            type[4] = '\0';
            tpl_err_set(err, "%s: truncated: PNG chunk '%s' claims %llu bytes, the file holds %llu "
                        "after its header", path, type, (unsigned long long)len,
                        (unsigned long long)(size - pos - 8));
            return -1;
        }
        if (!memcmp(h + 4, "IEND", 4)) break;
        pos += 12 + len; /* length, type, data, CRC */
    }
    rewind(f);
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
    else if (png_chunks_fit(*f, path, err))
        ; /* err says which chunk */
    else if (!png_image_begin_read_from_stdio(img, *f))
        tpl_err_set(err, "%s: cannot read PNG header: %s", path, img->message);
    else
        return 0;
    png_image_free(img);
    fclose(*f);
    return -1;
}

static int file_channels(const png_image *img) {
    return img->format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
}

int tpl_png_probe(const char *path, int *w, int *h, int *file_c, tpl_err *err) {
    png_image img;
    FILE *f;
    if (png_open(path, &img, &f, err)) return -1;
    *w = (int)(img.width > 0x7fffffff ? 0x7fffffff : img.width);
    *h = (int)(img.height > 0x7fffffff ? 0x7fffffff : img.height);
    *file_c = file_channels(&img);
    png_image_free(&img);
    fclose(f);
    return 0;
}

/* The pixels of an image whose header img has read, as channels (1 or 3),
 * into out; img is freed.  what names the image in errors. */
static int finish_read(png_image *img, const char *what, int channels, int max_side,
                       tpl_image *out, tpl_err *err) {
    if (img->width > (png_uint_32)max_side || img->height > (png_uint_32)max_side) {
        tpl_err_set(err, "%s: %ux%u pixels is more than %d a side", what, (unsigned)img->width,
                    (unsigned)img->height, max_side);
        png_image_free(img);
        return -1;
    }
    const int file_c = file_channels(img);
    img->format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t bytes = (size_t)img->width * (size_t)img->height * (size_t)channels;
    uint8_t *px = malloc(bytes ? bytes : 1);
    png_color black = {0, 0, 0};
    int rc = -1;
    if (!px)
        tpl_err_set(err, "%s: out of memory for %zu bytes", what, bytes);
    else if (!png_image_finish_read(img, &black, px, (png_int_32)(img->width * channels), NULL))
        tpl_err_set(err, "%s: cannot decode PNG: %s", what, img->message);
    else
        rc = 0;
    png_image_free(img);
    if (rc) {
        free(px);
        return -1;
    }
    *out = (tpl_image){(int)img->width, (int)img->height, channels, file_c, px};
    return 0;
}

int tpl_png_read(const char *path, int channels, int max_side, tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    png_image img;
    FILE *f;
    if (png_open(path, &img, &f, err)) return -1;
    const int rc = finish_read(&img, path, channels, max_side, out, err);
    fclose(f);
    return rc;
}

/* png_chunks_fit over a buffer: every chunk's claimed length within it. */
static int png_mem_chunks_fit(const uint8_t *p, size_t size, const char *what, tpl_err *err) {
    size_t pos = 8;
    while (pos + 8 <= size) {
        const uint64_t len = (uint64_t)p[pos] << 24 | (uint64_t)p[pos + 1] << 16 |
                             (uint64_t)p[pos + 2] << 8 | p[pos + 3];
        if (len > size - pos - 8) {
            tpl_err_set(err, "%s: truncated: a PNG chunk claims %llu bytes, %zu remain", what,
                        (unsigned long long)len, size - pos - 8);
            return -1;
        }
        if (!memcmp(p + pos + 4, "IEND", 4)) break;
        pos += 12 + (size_t)len;
    }
    return 0;
}

int tpl_png_decode(const void *data, size_t len, const char *what, int channels, int max_side,
                   tpl_image *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (len < 8 || png_sig_cmp(data, 0, 8) != 0) {
        tpl_err_set(err, "%s: not a PNG", what);
        return -1;
    }
    if (png_mem_chunks_fit(data, len, what, err)) return -1;
    if (!png_image_begin_read_from_memory(&img, data, len)) {
        tpl_err_set(err, "%s: cannot read PNG header: %s", what, img.message);
        png_image_free(&img);
        return -1;
    }
    return finish_read(&img, what, channels, max_side, out, err);
}

typedef struct png_job {
    const uint8_t *px;
    int w, h, c;
} png_job;

static int png_write_stream(FILE *fp, const void *ctx) {
    const png_job *j = ctx;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)j->w;
    img.height = (png_uint_32)j->h;
    img.format = j->c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&img, fp, 0, j->px, j->w * j->c, NULL);
    png_image_free(&img);
    return ok ? 0 : -1;
}

int tpl_png_write(const char *path, const uint8_t *px, int w, int h, int c, tpl_err *err) {
    const png_job j = {px, w, h, c};
    return tpl_write_atomic(path, png_write_stream, &j, err);
}

int tpl_png_write_plain(const char *path, const uint8_t *px, int w, int h, int c, tpl_err *err) {
    const png_job j = {px, w, h, c};
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        tpl_err_set(err, "%s: cannot create (%s)", path, strerror(errno));
        return -1;
    }
    errno = 0;
    int rc = png_write_stream(fp, &j);
    if (fclose(fp) || rc) {
        tpl_err_set(err, "%s: cannot write the PNG (%s)", path, errno ? strerror(errno) : "libpng");
        unlink(path);
        return -1;
    }
    return 0;
}
