/* The script suite: a many-task set of character images, one task per
 * writing system, rendered with FreeType (printer.h) from Debian's Noto
 * fonts, deterministically from a seed.
 *
 * Tasks and classes.  Each script has a fixed list of letters, each a class
 * (tpl_scripts[] below: TPL_N_SCRIPTS = 14 scripts, 22 to 46 letters, no Latin).  Where a
 * script has upper and lower case, only the lower case is used, and Hebrew
 * leaves out its final forms: a letter and its other form drawn at a random
 * size would often be the same picture.  A class is named by the slug of its
 * Unicode name with the script's prefix dropped ("GREEK SMALL LETTER ALPHA"
 * -> "alpha"), lower case ASCII, so it serves as a folder name.
 *
 * Fonts.  A script uses only the fonts of its Debian package (fonts-noto-core
 * under TPL_NOTO_CORE_DIR, fonts-noto-cjk under TPL_NOTO_CJK_DIR; face 0 of
 * a .ttc collection) that have every one of its letters.  They are split
 * into disjoint train and test fonts: the usable fonts, sorted by path, are
 * shuffled with a stream drawn from (seed, script), and the first
 * round(n / 4) (at least 1) are the test fonts, the others the train fonts;
 * a script with fewer than 2 usable fonts is an error.  So every test image
 * is drawn in a font (a design or a weight) that no training image uses.
 *
 * Images.  Grey, TPL_SCRIPT_SIDE x TPL_SCRIPT_SIDE.  32 rather than MNIST's
 * 28: letters of Devanagari, Bengali, Ethiopic or Thai differ by small
 * marks (a dot, a hook, a loop) that lose their shape at 28 once the letter
 * is rotated and thickened.  Per image: a font of the half, a size (the
 * font's reference letter of the script (nine tenths of the way up its
 * sizes) spans TPL_SCRIPT_EXTENT_MIN..MAX pixels, so letters keep their
 * relative sizes, but none spans more than TPL_SCRIPT_FIT), a
 * rotation, a stroke width, a shift, a paper grey and an ink grey (light on
 * dark, as MNIST).  Image i of a half has class i % classes; train and test
 * draw from their own streams, so changing one count leaves the other half's
 * images as they were, and a script's images do not depend on which other
 * scripts are built.
 *
 * Output (tpl_scripts_save): the ImageFolder layout that a task source
 * "NAME=folder:DIR/NAME" reads (tasks.h),
 *   DIR/<script>/train/<class>/<nnnn>.png, DIR/<script>/test/<class>/...
 *   DIR/<script>/classes.txt   "<folder>\t<character>\tU+XXXX" per class,
 *                              in folder (strcmp) order, the order a folder
 *                              source numbers the classes in
 *   DIR/<script>/fonts.txt     "train PATH" / "test PATH" per font
 * each script written whole into a temporary directory and renamed into
 * place (an earlier suite's is replaced, anything else refused: outdir.h).
 *
 * Conventions as in data.h: one-line errors "WHERE: problem", 0 on success,
 * outputs zeroed (and nothing leaked) on failure. */
#ifndef TPL_SCRIPTS_H
#define TPL_SCRIPTS_H
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "paths.h"
#include "printer.h"
#include "templar.h"

#ifndef TPL_NOTO_CORE_DIR
#define TPL_NOTO_CORE_DIR "/usr/share/fonts/truetype/noto"
#endif
#ifndef TPL_NOTO_CJK_DIR
#define TPL_NOTO_CJK_DIR "/usr/share/fonts/opentype/noto"
#endif

#define TPL_SCRIPT_SIDE 32
#define TPL_SCRIPT_TRAIN_PER_CLASS 200
#define TPL_SCRIPT_TEST_PER_CLASS 50
#define TPL_SCRIPT_MAX_PER_CLASS 9999 /* file names have four digits */
/* Ranges of the draws (uniform): the reference letter's span in pixels,
 * rotation in degrees, stroke in pixels, shift in pixels, paper and ink
 * greys. */
#define TPL_SCRIPT_EXTENT_MIN 18
#define TPL_SCRIPT_EXTENT_MAX 26
#define TPL_SCRIPT_FIT 28 /* rotated and shifted, it loses a corner pixel at most */
#define TPL_SCRIPT_ANGLE_DEG 10.0f
#define TPL_SCRIPT_STROKE_MAX 1.0f
#define TPL_SCRIPT_SHIFT 2
#define TPL_SCRIPT_PAPER_MAX 63
#define TPL_SCRIPT_INK_MIN 192

/* Where a script's fonts come from. */
enum { TPL_NOTO_CORE, TPL_NOTO_CJK, TPL_N_NOTO };

typedef struct tpl_letter {
    uint32_t ch;      /* Unicode code point */
    const char *name; /* its class (and folder) name */
} tpl_letter;

typedef struct tpl_script {
    const char *name;
    int fonts;        /* TPL_NOTO_CORE or TPL_NOTO_CJK */
    int n;            /* letters */
    const tpl_letter *letter;
} tpl_script;

#define TPL_N_SCRIPTS 14
extern const tpl_script tpl_scripts[]; /* TPL_N_SCRIPTS of them */

typedef struct tpl_scripts_opts {
    uint64_t seed;
    int train_per_class, test_per_class; /* 1..TPL_SCRIPT_MAX_PER_CLASS */
    const char *font_dir[TPL_N_NOTO];    /* defaults: Debian's */
    const char *package[TPL_N_NOTO];     /* named when a directory is missing */
    FILE *progress;                      /* a line per script, or NULL */
} tpl_scripts_opts;

/* Seed TPL_TASK_SPLIT_SEED, the default counts, Debian's directories, no
 * progress. */
void tpl_scripts_opts_default(tpl_scripts_opts *o);

/* The scripts a comma-separated list names (NULL or "all": every one), as
 * indices into tpl_scripts in list order; an unknown or repeated name is an
 * error that lists the known ones.  *n is the count. */
int tpl_scripts_select(const char *list, int which[], int *n, tpl_err *err);

/* The fonts usable for each of the scripts which[0..n): every font of the
 * script's directory (*.ttf, *.otf, *.ttc) that has all its letters, sorted.
 * A missing directory reads "DIR: No such file or directory (it comes with
 * the Debian package PKG: apt-get install PKG)". */
int tpl_scripts_fonts(const tpl_scripts_opts *o, const int which[], int n, tpl_paths usable[],
                      tpl_err *err);

/* One script, built. */
typedef struct tpl_script_set {
    const tpl_script *script;
    tpl_paths train_fonts, test_fonts;
    tpl_dataset train, test; /* 1 x SIDE x SIDE; label = index into script->letter */
} tpl_script_set;

/* Splits usable (the script's fonts, sorted) into train and test fonts and
 * renders both halves. */
int tpl_script_build(const tpl_scripts_opts *o, int script, const tpl_paths *usable,
                     tpl_script_set *out, tpl_err *err);
void tpl_script_set_free(tpl_script_set *s);

/* Makes dir unless it exists (its parent must) and checks that it can be
 * written, that each DIR/<script> of which[0..n) is absent or a script
 * directory an earlier run wrote (nothing else gets replaced), and that
 * DIR/preview.png is absent or a file.  *created =
 * 1 when dir was made here.  Cheap: a command calls it before the work. */
int tpl_scripts_prepare(const char *dir, const int which[], int n, int *created, tpl_err *err);

/* Builds the scripts which[0..n) and writes them into dir (prepared) as
 * described above: all into temporary directories DIR/.NAME.tmp.PID first,
 * then each renamed into place.  When a step fails the temporary
 * directories are removed and dir is as it was.  preview (or NULL) gets, for each script, the first
 * preview_n images of its train and of its test half (an array of 2n
 * datasets the caller frees), for a picture of the suite. */
int tpl_scripts_save(const char *dir, const tpl_scripts_opts *o, const int which[], int n,
                     tpl_dataset *preview, int preview_n, tpl_err *err);
#endif
