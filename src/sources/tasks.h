/* Task sources: a task name and where its images come from.
 *
 * A task is named by a spec, as in `templar train --tasks SPEC,SPEC,...`:
 *
 *   fashion          Fashion-MNIST: the IDX directory TPL_FASHION_DIR (Debian
 *                    package dataset-fashion-mnist), or another one given;
 *                    60000 train / 10000 test images, 1x28x28
 *   handwritten      OpenCV's digits.png (opencv-doc): 5000 20x20 digits cut
 *                    from the sheet, resized to 28x28
 *   optical          scikit-learn's digits.csv.gz (python3-sklearn): 1797 8x8
 *                    digits, resized to 28x28
 *   NAME=idx:DIR     any IDX directory in the MNIST layout (see data.h)
 *   NAME=folder:DIR  an image folder: DIR/<class>/<image> (.png, .jpg, .jpeg,
 *                    any case); with DIR/train and DIR/test, those two
 *   NAME=csv:FILE    lines "path,label[,split]" (source_csv.c)
 *
 * Each kind of source is a file source_KIND.c, registered in tasks.c's
 * table (task_source.h says what one provides).
 *
 * Options.  A spec may be followed by option words, each its own element of
 * the comma-separated list, applying to the task before it:
 *
 *   --tasks fashion,noflip,mine=folder:/data/mine,flip,digits=idx:/data/d
 *
 *   flip     random horizontal flips in training (mirrored images keep
 *            their class); the default for the built-in fashion only
 *   noflip   none (the default for every other source: a mirrored letter
 *            or digit is another picture, or another class)
 *
 * An element is an option when it has no '=' and is an option word; option
 * words and built-in task names never coincide (tests check it), and a
 * path cannot hold a ',' anyway (it separates elements), so a list reads
 * one way only.  tpl_task_spec_len finds where an element and its options
 * end.
 *
 * Splits.  Sources without a test half of their own (the digit sets, a
 * folder without train/ and test/, a CSV without a split column) are split
 * with tpl_dataset_split(TPL_TASK_TEST_FRACTION, TPL_TASK_SPLIT_SEED), so
 * the same images are held out in every run (and by templar eval).
 *
 * Shape.  tpl_task_opts asks for one input shape (h, w, channels; 0 keeps
 * the source's), and every image is converted at load: box-filtered when
 * shrinking, bilinear when growing (tpl_dataset_resize_area), grey <-> RGB
 * as tpl_dataset_to_channels; tpl_task_data.converted counts the images
 * changed.  With no shape asked, built-in and IDX sources give their files'
 * bytes unchanged; a folder or CSV takes its first image's size (in load
 * order: the train half's first class, first file) and 3 channels when any
 * of its images is in colour, else 1.
 *
 * Labels.  A source without labels (an IDX directory without label files, a
 * folder of images without class folders, a CSV without a label column)
 * loads only when the caller says labels are not needed (adapting to an
 * unlabelled domain); its labels are then 0, classes 1 and labelled 0.
 *
 * Cache.  Folder and CSV images are decoded once: the converted pixels of
 * both halves go into a cache file DIR/.templar-cache/<key>.cache beside the
 * data (DIR: the folder, or the CSV's directory), or under
 * $XDG_CACHE_HOME/templar (~/.cache/templar) when DIR cannot be written.
 * It is found again by the source and the shape asked for, and used only
 * when its recorded list of files (path, size, modification time, label,
 * half) matches the files now there, so an added, removed or changed image
 * means one new decode.  A cache is memory-mapped and copied in; a
 * truncated, foreign or stale one is ignored and rewritten (atomically).
 * Decoding shows a progress line every few seconds when it takes long.
 *
 * Errors are one line.  An unknown name lists the known ones; a built-in
 * source whose file or directory is missing names the Debian package that
 * provides it; an image that cannot be decoded is named.  Files that are
 * not images (by their extension) are skipped. */
#ifndef TPL_TASKS_H
#define TPL_TASKS_H
#include <stddef.h>
#include <stdio.h>

#include "data.h"
#include "templar.h"

/* Where Debian installs them; each can be changed at build time (-D). */
#ifndef TPL_FASHION_DIR
#define TPL_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#endif
#ifndef TPL_HANDWRITTEN_PNG
#define TPL_HANDWRITTEN_PNG "/usr/share/doc/opencv-doc/examples/data/digits.png"
#endif
#ifndef TPL_OPTICAL_CSV
#define TPL_OPTICAL_CSV "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#endif
#define TPL_TASK_SIDE 28
#define TPL_TASK_TEST_FRACTION 0.2
#define TPL_TASK_SPLIT_SEED 2026
#define TPL_TASK_MAX_CLASSES 255 /* labels are bytes */

/* Which halves to load (a bit set); eval needs only the test half. */
enum { TPL_TASK_TRAIN = 1, TPL_TASK_TEST = 2, TPL_TASK_BOTH = 3 };
/* Whether folder and CSV sources use the cache. */
enum { TPL_CACHE_ON = 0, TPL_CACHE_OFF = 1 };

typedef struct tpl_task_opts {
    const char *fashion_dir; /* where "fashion" is read; NULL: TPL_FASHION_DIR */
    int halves;              /* TPL_TASK_TRAIN | TPL_TASK_TEST */
    int h, w, c;             /* the shape every image gets; 0 keeps the source's */
    int unlabelled_ok;       /* a source without labels loads (see Labels) */
    int cache;               /* TPL_CACHE_ON or TPL_CACHE_OFF */
    FILE *progress;          /* progress while decoding takes long, or NULL */
} tpl_task_opts;

/* Both halves, the source's shape, labels needed, cache on, no progress. */
void tpl_task_opts_default(tpl_task_opts *o);

typedef struct tpl_task_data {
    char name[TPL_NAME_LEN];
    char *source;            /* spec that loads it again, options included:
                              * "NAME=folder:DIR,flip" or a built-in name */
    char *where;             /* the directory or file read, for messages */
    tpl_dataset train, test; /* the halves asked for; the others stay empty */
    int flip_ok;             /* random flips allowed: see Options */
    int labelled;            /* 0: the source has no labels (all 0, classes 1) */
    int n_class_names;       /* 0 when the source names no classes (IDX) */
    char **class_names;      /* [n_class_names]: class k's name */
    int converted;           /* images resized or given other channels */
    int decoded;             /* image files decoded by this load (0: all cached) */
    char *cache;             /* the cache file read or written, or NULL */
} tpl_task_data;

/* Loads the task that spec[0..len) names, with its options (spec need not
 * end there).  On failure *out is empty and err holds one line.  Returns 0
 * on success. */
int tpl_task_load_with(const char *spec, size_t len, const tpl_task_opts *o,
                       tpl_task_data *out, tpl_err *err);
/* The same with tpl_task_opts_default but for fashion_dir, halves and
 * progress on stderr. */
int tpl_task_load(const char *spec, size_t len, const char *fashion_dir, int halves,
                  tpl_task_data *out, tpl_err *err);
/* Checks spec[0..len) (a task and its options) without reading any data: a
 * name of 1-31 characters, a built-in one or followed by =KIND:ARG with a
 * known kind and a non-empty ARG, and known options.  tpl_task_load does it
 * first. */
int tpl_task_spec_check(const char *spec, size_t len, tpl_err *err);
/* Loads an IDX directory as task name, as "NAME=idx:DIR" does (flips on
 * only for a task named "fashion": the built-in set from elsewhere). */
int tpl_task_load_idx(const char *name, const char *dir, int halves, tpl_task_data *out,
                      tpl_err *err);
void tpl_task_free(tpl_task_data *t);

/* 1 when name is a built-in task. */
int tpl_task_known(const char *name);
/* 1 when word[0..len) is an option word. */
int tpl_task_option(const char *word, size_t len);
/* Length of the first element of list (up to its ',' or end) together with
 * the option elements that follow it; 0 for an empty list.  The next
 * element starts after list[len] (a ',' or the end). */
size_t tpl_task_spec_len(const char *list);
/* Length of the name part of spec[0..len): up to its '=' or ',', or all
 * of it. */
size_t tpl_task_spec_name(const char *spec, size_t len);
/* The element (with its options) of a comma-separated spec list whose name
 * is name: returns its start and sets *len, or returns NULL. */
const char *tpl_task_spec_find(const char *list, const char *name, size_t *len);
#endif
