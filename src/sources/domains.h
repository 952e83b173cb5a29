/* The "digits" domains: one task (the ten digits) seen in four styles, built
 * from files Debian ships, deterministically from a seed.
 *
 *   handwritten  OpenCV's digits.png (opencv-doc): 5000 20x20 cells, resized
 *   optical      scikit-learn's digits.csv.gz (python3-sklearn): 1797 8x8
 *                digits, resized
 *   printed      0-9 rendered with FreeType from the TrueType fonts of
 *                fonts-dejavu-core, fonts-liberation and fonts-freefont-ttf,
 *                each with a random font, size, shift, rotation, stroke
 *                width and foreground/background colour
 *   blended      the handwritten digits over random 28x28 patches of the
 *                colour photos beside digits.png (opencv-doc), the way
 *                MNIST-M is made from MNIST: out = |patch - digit| per channel;
 *                each digit over TPL_BLENDED_COPIES different random patches
 *                by default (12000 train / 3000 test images)
 *
 * Every domain comes out 28x28 with 3 channels (the grey ones replicated), so
 * any subset trains on one model, and 10 classes.  Each is split 80/20 with
 * tpl_dataset_split(TPL_DOMAIN_TEST_FRACTION, seed).  handwritten and blended
 * share their partition (every copy of blended image i is handwritten image
 * i blended, and all copies of a digit go to its half), so no handwritten
 * test digit trains under a coloured background; with the
 * default seed, TPL_TASK_SPLIT_SEED, the handwritten and optical halves are
 * the built-in tasks' (tasks.h).  Random draws come from per-domain streams
 * derived from the seed, so one domain's size does not change another's.
 *
 * Conventions as in data.h: one-line errors "WHERE: problem", 0 on success,
 * outputs zeroed (and nothing leaked) on failure. */
#ifndef TPL_DOMAINS_H
#define TPL_DOMAINS_H
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "image.h"
#include "paths.h"
#include "printer.h"
#include "rng.h"
#include "templar.h"

#define TPL_DOMAIN_SIDE 28
#define TPL_DOMAIN_CHANNELS 3
#define TPL_DOMAIN_CLASSES 10
#define TPL_DOMAIN_TEST_FRACTION 0.2
#define TPL_PRINTED_PER_CLASS 2000
#define TPL_PRINTED_MAX_PER_CLASS 20000
#define TPL_BLENDED_MAX_PER_CLASS 500 /* digits.png has 500 of each digit */
/* Patches per handwritten digit in blended: 3 makes 500 x 10 x 3 x 0.8 =
 * 12000 training images, as many as a source domain has elsewhere. */
#define TPL_BLENDED_COPIES 3
#define TPL_BLENDED_MAX_COPIES 10
/* The fewest per class that still leaves one test and two train images. */
#define TPL_DOMAIN_MIN_PER_CLASS 3

#ifndef TPL_FONT_DIR_DEJAVU
#define TPL_FONT_DIR_DEJAVU "/usr/share/fonts/truetype/dejavu"
#endif
#ifndef TPL_FONT_DIR_LIBERATION
#define TPL_FONT_DIR_LIBERATION "/usr/share/fonts/truetype/liberation"
#endif
#ifndef TPL_FONT_DIR_FREEFONT
#define TPL_FONT_DIR_FREEFONT "/usr/share/fonts/truetype/freefont"
#endif
#ifndef TPL_PHOTO_DIR
#define TPL_PHOTO_DIR "/usr/share/doc/opencv-doc/examples/data"
#endif

enum { TPL_DOM_HANDWRITTEN, TPL_DOM_OPTICAL, TPL_DOM_PRINTED, TPL_DOM_BLENDED, TPL_N_DOMAINS };
extern const char *const tpl_domain_names[TPL_N_DOMAINS];

/* ---- sources ------------------------------------------------------------- */

enum {
    TPL_SRC_HANDWRITTEN, /* digits.png */
    TPL_SRC_OPTICAL,     /* digits.csv.gz */
    TPL_SRC_DEJAVU,      /* font directories, read in this order */
    TPL_SRC_LIBERATION,
    TPL_SRC_FREEFONT,
    TPL_SRC_PHOTOS,      /* directory of *.jpg */
    TPL_N_SOURCES
};
#define TPL_FIRST_FONT_SRC TPL_SRC_DEJAVU
#define TPL_N_FONT_SRCS 3

typedef struct tpl_source {
    const char *path;
    const char *package; /* the Debian package that installs it */
} tpl_source;

typedef struct tpl_digits_opts {
    uint64_t seed;
    int printed_per_class; /* TPL_DOMAIN_MIN_PER_CLASS..TPL_PRINTED_MAX_PER_CLASS */
    int blended_per_class; /* TPL_DOMAIN_MIN_PER_CLASS..TPL_BLENDED_MAX_PER_CLASS
                            * handwritten digits of each class blended */
    int blended_copies;    /* 1..TPL_BLENDED_MAX_COPIES: images (patches) per digit */
    tpl_source src[TPL_N_SOURCES];
    FILE *progress;        /* a line per domain as it is built, or NULL */
} tpl_digits_opts;

/* Seed TPL_TASK_SPLIT_SEED, TPL_PRINTED_PER_CLASS, all of digits.png for
 * blended in TPL_BLENDED_COPIES copies, Debian's paths, no progress. */
void tpl_digits_opts_default(tpl_digits_opts *o);
/* Checks that every source is there before any work starts; a missing one
 * reads "PATH: No such file or directory (it comes with the Debian package
 * PKG: apt-get install PKG)". */
int tpl_digits_check_sources(const tpl_digits_opts *o, tpl_err *err);

/* ---- printed: FreeType (printer.h) --------------------------------------- */

/* per_class images of each digit, label i % 10 for image i. */
int tpl_printed_build(tpl_printer *p, int per_class, uint64_t seed, tpl_dataset *out,
                      tpl_err *err);

/* ---- blended: libjpeg and MNIST-M ---------------------------------------- */

typedef struct tpl_photos {
    int n;
    tpl_image *photo; /* RGB, decoded with libjpeg's exact integer IDCT, so a file
                       * gives the same pixels on every run */
} tpl_photos;

/* The colour photos among files that are at least side x side; grey ones
 * (chessboards) are skipped.  Having none is an error. */
int tpl_photos_load(const tpl_paths *files, int side, tpl_photos *out, tpl_err *err);
void tpl_photos_free(tpl_photos *ph);

/* MNIST-M's blend of one grey side x side digit over an RGB patch whose rows
 * are stride bytes apart: out[p][c] = |patch[p][c] - digit[p]|. */
void tpl_mnistm_blend(const uint8_t *digit, int side, const uint8_t *patch, size_t stride,
                      uint8_t *out);
/* Every image of grey (1 channel, square) blended over copies (1 or more)
 * patches, each cut from a random photo at a random place: copies blocks of
 * grey->n images, image k * grey->n + i being digit i over its k-th patch.
 * The draws, photo, x, y of each image, go block after block, so block 0
 * is the whole one-copy set whatever copies is. */
int tpl_blended_build(const tpl_dataset *grey, const tpl_photos *ph, int copies, uint64_t seed,
                      tpl_dataset *out, tpl_err *err);

/* ---- the four domains ---------------------------------------------------- */

typedef struct tpl_domain {
    const char *name;
    tpl_dataset train, test;
} tpl_domain;

/* Builds all four in memory (about 100 MB at the defaults). */
int tpl_digits_build(const tpl_digits_opts *o, tpl_domain dom[TPL_N_DOMAINS], tpl_err *err);
void tpl_domains_free(tpl_domain *dom, int n);

/* Makes dir unless it exists (its parent must) and checks that it can be
 * written and that each DIR/NAME of names[0..n) is absent or a directory of
 * IDX files only, as an earlier run wrote it (nothing else gets replaced).
 * Cheap, so a command can fail on a bad output before the work.  *created =
 * 1 when dir was made here: the caller removes it (rmdir) if a later step
 * fails; prepare's own failure leaves nothing. */
int tpl_domains_prepare(const char *dir, const char *const *names, int n, int *created,
                        tpl_err *err);
/* Writes each domain (n <= TPL_N_DOMAINS) as an IDX directory DIR/NAME: all
 * of them into temporary directories DIR/.NAME.tmp.PID first, then each
 * renamed into place, replacing an earlier run's.  When writing fails the
 * temporary directories are removed and dir is as it was. */
int tpl_domains_save(const char *dir, const tpl_domain *dom, int n, tpl_err *err);
#endif
