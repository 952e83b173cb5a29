/* make_imagefolder: small image folders for the CLI tests, as users have
 * them: DIR/<class>/<n>.png|.jpg, or DIR/{train,test}/<class>/..., or with
 * no class folders at all (unlabelled); images of mixed sizes, grey and
 * colour, PNG and JPEG.  Class k draws a bright bar whose place and angle
 * depend on k over noise, so a small network can learn the classes.
 *
 *   make_imagefolder DIR CLASSES PER_CLASS SEED [split|flat|unlabelled]
 *
 * Class names are words with a space in one ("red fox") to exercise names.
 * Exits 2 when a file cannot be written (testfiles.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testfiles.h"

static const char *const names[] = {"cat", "dog", "red fox", "owl", "bee", "elk", "yak", "ant"};

static unsigned lcg(unsigned *s) { return *s = *s * 1103515245u + 12345u, (*s >> 16) & 0x7fff; }

/* An h x w x c picture of class k. */
static unsigned char *draw(int k, int h, int w, int c, unsigned *seed) {
    unsigned char *px = malloc((size_t)h * w * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* a bar: horizontal, vertical or diagonal, at a class's offset */
            const int u = k % 3 == 0 ? y : k % 3 == 1 ? x : (x + y) / 2;
            const int at = (k / 3 + 1) * (k % 3 == 2 ? (h + w) / 2 : h) / 4;
            const int on = abs(u - at) < (h > 24 ? 3 : 2);
            for (int ch = 0; ch < c; ch++) {
                int v = (int)(lcg(seed) % 60) + (on ? 170 : 0) + (ch == 1 ? 10 : 0);
                px[((size_t)y * w + x) * c + ch] = (unsigned char)(v > 255 ? 255 : v);
            }
        }
    return px;
}

/* per images of class k into dir (made), every third a JPEG, sizes and
 * channels varying. */
static void write_class(const char *dir, const char *prefix, int k, int per, unsigned *seed) {
    char path[4096];
    mkdir(dir, 0755);
    for (int i = 0; i < per; i++) {
        const int h = 20 + (int)(lcg(seed) % 17), w = 20 + (int)(lcg(seed) % 17);
        const int c = i % 4 == 3 ? 1 : 3, jpeg = i % 3 == 2;
        unsigned char *px = draw(k, h, w, c, seed);
        snprintf(path, sizeof path, "%s/%s%03d.%s", dir, prefix, i, jpeg ? "jpg" : "png");
        if (jpeg)
            write_jpeg(path, px, w, h, c, 95);
        else
            write_png(path, px, w, h, c);
        free(px);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: make_imagefolder DIR CLASSES PER_CLASS SEED [split|flat|unlabelled]\n");
        return 2;
    }
    const char *dir = argv[1], *mode = argc > 5 ? argv[5] : "flat";
    const int classes = atoi(argv[2]), per = atoi(argv[3]);
    unsigned seed = (unsigned)atoi(argv[4]);
    char path[4096];
    if (classes < 1 || classes > 8 || per < 1) return 2;
    mkdir(dir, 0755);
    for (int k = 0; k < classes; k++) {
        if (!strcmp(mode, "split")) {
            for (int half = 0; half < 2; half++) {
                snprintf(path, sizeof path, "%s/%s", dir, half ? "test" : "train");
                mkdir(path, 0755);
                snprintf(path, sizeof path, "%s/%s/%s", dir, half ? "test" : "train", names[k]);
                write_class(path, "", k, half ? per / 3 + 1 : per, &seed);
            }
        } else if (!strcmp(mode, "unlabelled")) {
            char prefix[16];
            snprintf(prefix, sizeof prefix, "%d-", k);
            write_class(dir, prefix, k, per, &seed); /* straight into dir */
        } else {
            snprintf(path, sizeof path, "%s/%s", dir, names[k]);
            write_class(path, "", k, per, &seed);
        }
    }
    return 0;
}
