/* The digits domains (see domains.h): sources, printed digits (printer.h), JPEG
 * photos and the MNIST-M blend, the build with its splits, and what writing
 * IDX directories (outdir.h) replaces. */
#include "domains.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digits.h"
#include "image.h"
#include "outdir.h"
#include "tasks.h"

#define SIDE TPL_DOMAIN_SIDE
/* How the published sets are laid out: OpenCV's sheet has 20x20 cells, 5
 * rows of each digit; scikit-learn's CSV has 8x8 digits valued 0..16. */
#define SHEET_CELL 20
#define SHEET_ROWS_PER_CLASS 5
#define CSV_SIDE 8
#define CSV_MAX_VALUE 16
/* Largest JPEG side decoded: the photos are a few hundred pixels. */
#define JPEG_MAX_SIDE 16384

const char *const tpl_domain_names[TPL_N_DOMAINS] = {"handwritten", "optical", "printed",
                                                      "blended"};

/* ---- sources --------------------------------------------------------------- */

void tpl_digits_opts_default(tpl_digits_opts *o) {
    static const tpl_source src[TPL_N_SOURCES] = {
        [TPL_SRC_HANDWRITTEN] = {TPL_HANDWRITTEN_PNG, "opencv-doc"},
        [TPL_SRC_OPTICAL] = {TPL_OPTICAL_CSV, "python3-sklearn"},
        [TPL_SRC_DEJAVU] = {TPL_FONT_DIR_DEJAVU, "fonts-dejavu-core"},
        [TPL_SRC_LIBERATION] = {TPL_FONT_DIR_LIBERATION, "fonts-liberation"},
        [TPL_SRC_FREEFONT] = {TPL_FONT_DIR_FREEFONT, "fonts-freefont-ttf"},
        [TPL_SRC_PHOTOS] = {TPL_PHOTO_DIR, "opencv-doc"},
    };
    *o = (tpl_digits_opts){.seed = TPL_TASK_SPLIT_SEED,
                           .printed_per_class = TPL_PRINTED_PER_CLASS,
                           .blended_per_class = TPL_BLENDED_MAX_PER_CLASS,
                           .blended_copies = TPL_BLENDED_COPIES};
    memcpy(o->src, src, sizeof src);
}

/* "PATH: problem (it comes with the Debian package PKG: apt-get install PKG)" */
static void source_error(const tpl_source *s, const char *problem, tpl_err *err) {
    tpl_err_set(err, "%s: %s (it comes with the Debian package %s: apt-get install %s)",
                s->path, problem, s->package, s->package);
}

int tpl_digits_check_sources(const tpl_digits_opts *o, tpl_err *err) {
    for (int i = 0; i < TPL_N_SOURCES; i++)
        if (access(o->src[i].path, R_OK)) {
            source_error(&o->src[i], strerror(errno), err);
            return -1;
        }
    return 0;
}

/* ---- printed: FreeType ------------------------------------------------------- */

int tpl_printed_build(tpl_printer *p, int per_class, uint64_t seed, tpl_dataset *out,
                      tpl_err *err) {
    if (per_class < 1 || per_class > TPL_PRINTED_MAX_PER_CLASS) {
        memset(out, 0, sizeof *out);
        tpl_err_set(err, "printed: %d per class outside [1, %d]", per_class,
                    TPL_PRINTED_MAX_PER_CLASS);
        return -1;
    }
    const int n = TPL_DOMAIN_CLASSES * per_class;
    if (tpl_dataset_alloc(out, n, SIDE, SIDE, 3, TPL_DOMAIN_CLASSES)) {
        tpl_err_set(err, "printed: out of memory for %d images", n);
        return -1;
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        tpl_print_style s;
        tpl_print_style_draw(&rng, tpl_printer_fonts(p), &s);
        out->labels[i] = (uint8_t)(i % TPL_DOMAIN_CLASSES);
        if (tpl_printer_render(p, i % TPL_DOMAIN_CLASSES, &s, SIDE,
                               out->pixels + (size_t)i * SIDE * SIDE * 3, err)) {
            tpl_dataset_free(out);
            return -1;
        }
    }
    return 0;
}

/* ---- blended: libjpeg and MNIST-M ---------------------------------------- */

void tpl_photos_free(tpl_photos *ph) {
    for (int i = 0; i < ph->n; i++) tpl_image_free(&ph->photo[i]);
    free(ph->photo);
    ph->n = 0;
    ph->photo = NULL;
}

int tpl_photos_load(const tpl_paths *files, int side, tpl_photos *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (!(out->photo = calloc((size_t)(files->n > 0 ? files->n : 1), sizeof *out->photo))) {
        tpl_err_set(err, "photos: out of memory");
        return -1;
    }
    for (int i = 0; i < files->n; i++) {
        tpl_image ph;
        if (tpl_jpeg_read(files->path[i], 3, JPEG_MAX_SIDE, &ph, err)) {
            tpl_photos_free(out);
            return -1;
        }
        if (ph.file_c == 1 || ph.w < side || ph.h < side) tpl_image_free(&ph);
        else out->photo[out->n++] = ph;
    }
    if (out->n == 0) {
        tpl_err_set(err, "photos: none of the %d JPEG files is a colour photo of at least %dx%d",
                    files->n, side, side);
        tpl_photos_free(out);
        return -1;
    }
    return 0;
}

void tpl_mnistm_blend(const uint8_t *digit, int side, const uint8_t *patch, size_t stride,
                      uint8_t *out) {
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            const int d = digit[y * side + x];
            const uint8_t *p = patch + (size_t)y * stride + 3 * (size_t)x;
            uint8_t *o = out + 3 * ((size_t)y * side + x);
            for (int c = 0; c < 3; c++) o[c] = (uint8_t)abs(p[c] - d);
        }
}

int tpl_blended_build(const tpl_dataset *grey, const tpl_photos *ph, int copies, uint64_t seed,
                      tpl_dataset *out, tpl_err *err) {
    memset(out, 0, sizeof *out);
    const int side = grey->h;
    int ok = grey->c == 1 && grey->h == grey->w && side > 0 && ph->n > 0 && copies >= 1 &&
             copies <= INT_MAX / (grey->n > 0 ? grey->n : 1);
    for (int i = 0; ok && i < ph->n; i++) ok = ph->photo[i].w >= side && ph->photo[i].h >= side;
    if (!ok) {
        tpl_err_set(err, "blend: needs square grey digits, photos at least as large and "
                    "copies >= 1 (%d digits of %dx%dx%d, %d photos, %d copies)", grey->n,
                    grey->c, grey->h, grey->w, ph->n, copies);
        return -1;
    }
    const int n = grey->n * copies;
    if (tpl_dataset_alloc(out, n, side, side, 3, grey->classes)) {
        tpl_err_set(err, "blend: out of memory for %d images", n);
        return -1;
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    for (int j = 0; j < n; j++) {
        const int i = j % grey->n; /* the digit; j / grey->n is the copy */
        const tpl_image *p = &ph->photo[tpl_rng_below(&rng, (uint32_t)ph->n)];
        const int x = (int)tpl_rng_below(&rng, (uint32_t)(p->w - side + 1));
        const int y = (int)tpl_rng_below(&rng, (uint32_t)(p->h - side + 1));
        tpl_mnistm_blend(grey->pixels + (size_t)i * side * side, side,
                         p->px + ((size_t)y * p->w + x) * 3, (size_t)p->w * 3,
                         out->pixels + (size_t)j * side * side * 3);
        out->labels[j] = grey->labels[i];
    }
    return 0;
}

/* ---- the four domains ---------------------------------------------------- */

void tpl_domains_free(tpl_domain *dom, int n) {
    for (int i = 0; i < n; i++) {
        tpl_dataset_free(&dom[i].train);
        tpl_dataset_free(&dom[i].test);
    }
}

/* Domain d's own stream of random draws. */
static uint64_t draw_seed(uint64_t seed, int d) {
    uint64_t x = seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(d + 1));
    return tpl_splitmix64(&x);
}

/* "NAME: N images FROM -> TRAIN train / TEST test" on the progress stream. */
static void report(const tpl_digits_opts *o, const tpl_domain *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(const tpl_digits_opts *o, const tpl_domain *d, const char *fmt, ...) {
    if (!o->progress) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(o->progress, "%s: %d images ", d->name, d->train.n + d->test.n);
    vfprintf(o->progress, fmt, ap);
    fprintf(o->progress, " -> %d train / %d test\n", d->train.n, d->test.n);
    fflush(o->progress);
    va_end(ap);
}

/* all, in 3 channels, split into dom's halves by the seed. */
static int split_rgb(const tpl_digits_opts *o, const tpl_dataset *all, tpl_domain *dom,
                     tpl_err *err) {
    tpl_dataset rgb = {0};
    if (all->c != TPL_DOMAIN_CHANNELS &&
        tpl_dataset_to_channels(all, TPL_DOMAIN_CHANNELS, &rgb, err))
        return -1;
    const tpl_dataset *src = all->c == TPL_DOMAIN_CHANNELS ? all : &rgb;
    int rc = tpl_dataset_split(src, TPL_DOMAIN_TEST_FRACTION, o->seed, &dom->train, &dom->test,
                               err);
    tpl_dataset_free(&rgb);
    return rc;
}

/* A published digit set (the sheet or the CSV), resized to SIDE x SIDE. */
static int load_grey(const tpl_source *s, int sheet, tpl_dataset *out, tpl_err *err) {
    tpl_dataset raw;
    int rc = sheet ? tpl_digits_png_load(s->path, SHEET_CELL, SHEET_ROWS_PER_CLASS, &raw, err)
                   : tpl_digits_csv_load(s->path, CSV_SIDE, CSV_MAX_VALUE, &raw, err);
    if (rc) {
        if (access(s->path, F_OK)) source_error(s, strerror(errno), err);
        return -1;
    }
    rc = tpl_dataset_resize(&raw, SIDE, SIDE, out, err);
    tpl_dataset_free(&raw);
    return rc;
}

/* handwritten and optical; *grey keeps the whole set for blended. */
static int build_scanned(const tpl_digits_opts *o, int src, tpl_domain *dom,
                         tpl_dataset *grey, tpl_err *err) {
    if (load_grey(&o->src[src], src == TPL_SRC_HANDWRITTEN, grey, err)) return -1;
    if (split_rgb(o, grey, dom, err)) return -1;
    report(o, dom, "from %s", o->src[src].path);
    return 0;
}

/* The .ttf files of the three font directories, each sorted, in turn. */
static int list_fonts(const tpl_digits_opts *o, tpl_paths *fonts, tpl_err *err) {
    for (int s = TPL_FIRST_FONT_SRC; s < TPL_FIRST_FONT_SRC + TPL_N_FONT_SRCS; s++) {
        int before = fonts->n;
        if (tpl_paths_list(fonts, o->src[s].path, ".ttf", err)) {
            if (access(o->src[s].path, F_OK)) source_error(&o->src[s], strerror(errno), err);
            return -1;
        }
        if (fonts->n == before) {
            source_error(&o->src[s], "no .ttf fonts there", err);
            return -1;
        }
    }
    return 0;
}

static int build_printed(const tpl_digits_opts *o, tpl_domain *dom, tpl_err *err) {
    tpl_paths fonts = {0};
    int rc = list_fonts(o, &fonts, err);
    tpl_printer *p = rc ? NULL : tpl_printer_open(&fonts, err);
    tpl_paths_free(&fonts);
    if (!p) return -1;
    tpl_dataset all;
    rc = tpl_printed_build(p, o->printed_per_class, draw_seed(o->seed, TPL_DOM_PRINTED), &all,
                           err);
    if (!rc) rc = split_rgb(o, &all, dom, err);
    if (!rc) report(o, dom, "rendered from %d fonts", tpl_printer_fonts(p));
    tpl_printer_close(p);
    tpl_dataset_free(&all);
    return rc;
}

/* Cuts both halves to per_class images of each class in the split's
 * proportions (round(0.2 per_class) test), so they stay within
 * handwritten's halves. */
static int keep_per_class(const tpl_digits_opts *o, int per_class, tpl_domain *dom,
                          tpl_err *err) {
    const int test = (int)round(TPL_DOMAIN_TEST_FRACTION * per_class);
    const uint64_t seed = draw_seed(o->seed, TPL_N_DOMAINS);
    tpl_dataset a, b;
    if (tpl_dataset_per_class(&dom->train, per_class - test, seed, &a, err)) return -1;
    if (tpl_dataset_per_class(&dom->test, test, seed, &b, err)) {
        tpl_dataset_free(&a);
        return -1;
    }
    tpl_dataset_free(&dom->train);
    tpl_dataset_free(&dom->test);
    dom->train = a;
    dom->test = b;
    return 0;
}

/* sets[0..n) one after another, into out. */
static int join_sets(const tpl_dataset *sets, int n, tpl_dataset *out, tpl_err *err) {
    const tpl_dataset *s0 = &sets[0];
    const size_t per = (size_t)s0->h * s0->w * s0->c;
    int total = 0;
    for (int k = 0; k < n; k++) total += sets[k].n;
    if (tpl_dataset_alloc(out, total, s0->h, s0->w, s0->c, s0->classes)) {
        tpl_err_set(err, "blend: out of memory for %d images", total);
        return -1;
    }
    for (int k = 0, at = 0; k < n; at += sets[k].n, k++) {
        if (!sets[k].n) continue;
        memcpy(out->pixels + per * at, sets[k].pixels, per * sets[k].n);
        memcpy(out->labels + at, sets[k].labels, (size_t)sets[k].n);
    }
    return 0;
}

/* The copies blocks of all (tpl_blended_build) each split like grey (same
 * labels, same seed: handwritten's partition) and cut to blended_per_class
 * (the same digits in every block), then joined half by half, block after
 * block: every copy of a digit is in the half handwritten has it in, and
 * one copy is what a single blend gives. */
static int split_blocks(const tpl_digits_opts *o, const tpl_dataset *all, int copies,
                        tpl_domain *dom, tpl_err *err) {
    tpl_domain part[TPL_BLENDED_MAX_COPIES] = {{0}};
    tpl_dataset train[TPL_BLENDED_MAX_COPIES], test[TPL_BLENDED_MAX_COPIES];
    const int n = all->n / copies;
    const size_t per = (size_t)all->h * all->w * all->c;
    int rc = 0;
    for (int k = 0; !rc && k < copies; k++) {
        tpl_dataset block = *all;
        block.n = n;
        block.pixels = all->pixels + per * n * k;
        block.labels = all->labels + (size_t)n * k;
        rc = split_rgb(o, &block, &part[k], err);
        if (!rc && o->blended_per_class < TPL_BLENDED_MAX_PER_CLASS)
            rc = keep_per_class(o, o->blended_per_class, &part[k], err);
        train[k] = part[k].train;
        test[k] = part[k].test;
    }
    if (!rc) rc = join_sets(train, copies, &dom->train, err);
    if (!rc && join_sets(test, copies, &dom->test, err)) {
        tpl_dataset_free(&dom->train);
        rc = -1;
    }
    tpl_domains_free(part, copies);
    return rc;
}

/* Each handwritten digit over blended_copies patches, split with it. */
static int build_blended(const tpl_digits_opts *o, const tpl_dataset *grey, tpl_domain *dom,
                         tpl_err *err) {
    const tpl_source *s = &o->src[TPL_SRC_PHOTOS];
    tpl_paths files = {0};
    tpl_photos ph = {0};
    tpl_dataset all = {0};
    int rc = tpl_paths_list(&files, s->path, ".jpg", err);
    if (!rc && files.n == 0) {
        source_error(s, "no .jpg photos there", err);
        rc = -1;
    }
    if (!rc) rc = tpl_photos_load(&files, SIDE, &ph, err);
    if (!rc)
        rc = tpl_blended_build(grey, &ph, o->blended_copies, draw_seed(o->seed, TPL_DOM_BLENDED),
                               &all, err);
    if (!rc) rc = split_blocks(o, &all, o->blended_copies, dom, err);
    if (!rc)
        report(o, dom, "over %d patches each of %d colour photos in %s", o->blended_copies, ph.n,
               s->path);
    tpl_paths_free(&files);
    tpl_photos_free(&ph);
    tpl_dataset_free(&all);
    return rc;
}

static int check_opts(const tpl_digits_opts *o, tpl_err *err) {
    if (o->printed_per_class < TPL_DOMAIN_MIN_PER_CLASS ||
        o->printed_per_class > TPL_PRINTED_MAX_PER_CLASS ||
        o->blended_per_class < TPL_DOMAIN_MIN_PER_CLASS ||
        o->blended_per_class > TPL_BLENDED_MAX_PER_CLASS) {
        tpl_err_set(err, "digits: per class: printed %d (want %d..%d), blended %d (want %d..%d)",
                    o->printed_per_class, TPL_DOMAIN_MIN_PER_CLASS, TPL_PRINTED_MAX_PER_CLASS,
                    o->blended_per_class, TPL_DOMAIN_MIN_PER_CLASS, TPL_BLENDED_MAX_PER_CLASS);
        return -1;
    }
    if (o->blended_copies < 1 || o->blended_copies > TPL_BLENDED_MAX_COPIES) {
        tpl_err_set(err, "digits: blended copies %d (want 1..%d)", o->blended_copies,
                    TPL_BLENDED_MAX_COPIES);
        return -1;
    }
    return 0;
}

int tpl_digits_build(const tpl_digits_opts *o, tpl_domain dom[TPL_N_DOMAINS], tpl_err *err) {
    memset(dom, 0, sizeof *dom * TPL_N_DOMAINS);
    for (int i = 0; i < TPL_N_DOMAINS; i++) dom[i].name = tpl_domain_names[i];
    if (check_opts(o, err)) return -1;
    tpl_dataset hand = {0}, optical = {0};
    int rc = build_scanned(o, TPL_SRC_HANDWRITTEN, &dom[TPL_DOM_HANDWRITTEN], &hand, err) ||
             build_scanned(o, TPL_SRC_OPTICAL, &dom[TPL_DOM_OPTICAL], &optical, err) ||
             build_printed(o, &dom[TPL_DOM_PRINTED], err) ||
             build_blended(o, &hand, &dom[TPL_DOM_BLENDED], err);
    tpl_dataset_free(&hand);
    tpl_dataset_free(&optical);
    if (rc) tpl_domains_free(dom, TPL_N_DOMAINS);
    return rc ? -1 : 0;
}

/* ---- writing ------------------------------------------------------------- */

/* The files of an IDX directory: what may be replaced or removed. */
static const char *const idx_stems[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
#define N_STEMS ((int)(sizeof idx_stems / sizeof *idx_stems))

static int is_idx_name(const char *name) {
    for (int i = 0; i < N_STEMS; i++) {
        size_t n = strlen(idx_stems[i]);
        if (!strncmp(name, idx_stems[i], n) && (!name[n] || !strcmp(name + n, ".gz")))
            return 1;
    }
    return 0;
}

/* Removes a directory of IDX files: those names only, so anything else in
 * it makes the rmdir fail rather than vanish. */
static void remove_idx_dir(const char *path) {
    char f[4096];
    for (int i = 0; i < N_STEMS; i++)
        for (int gz = 0; gz < 2; gz++) {
            int len = snprintf(f, sizeof f, "%s/%s%s", path, idx_stems[i], gz ? ".gz" : "");
            if (len > 0 && (size_t)len < sizeof f) unlink(f);
        }
    rmdir(path);
}

/* An earlier run's domain: a directory of IDX files only. */
static int holds_idx_only(const char *path, tpl_err *err) {
    DIR *d = opendir(path);
    if (!d) {
        tpl_err_set(err, "%s: exists and is not a directory of IDX files; move it away or "
                    "write elsewhere", path);
        return -1;
    }
    char odd[256] = "";
    for (struct dirent *e; !*odd && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !is_idx_name(e->d_name))
            snprintf(odd, sizeof odd, "%s", e->d_name);
    closedir(d);
    return *odd ? tpl_outdir_foreign(path, odd, err) : 0;
}

static const tpl_outdir_kind idx_dirs = {
    .what = "directory of IDX files",
    .check = holds_idx_only,
    .remove = remove_idx_dir,
};

int tpl_domains_prepare(const char *dir, const char *const *names, int n, int *created,
                        tpl_err *err) {
    return tpl_outdir_prepare(dir, &idx_dirs, names, n, created, err);
}

/* Both halves of domain i (of ctx, the domains) into tmp. */
static int write_domain(const char *tmp, int i, const void *ctx, tpl_err *err) {
    const tpl_domain *dom = (const tpl_domain *)ctx + i;
    return tpl_idx_write_dir(tmp, "train", &dom->train, err) ||
                   tpl_idx_write_dir(tmp, "test", &dom->test, err)
               ? -1
               : 0;
}

int tpl_domains_save(const char *dir, const tpl_domain *dom, int n, tpl_err *err) {
    const char *names[TPL_N_DOMAINS];
    if (n < 0 || n > TPL_N_DOMAINS) {
        tpl_err_set(err, "%s: %d domains to write, at most %d", dir, n, TPL_N_DOMAINS);
        return -1;
    }
    for (int i = 0; i < n; i++) names[i] = dom[i].name;
    return tpl_outdir_write(dir, &idx_dirs, names, n, write_domain, dom, err);
}
