/* Task sources: a task name and where its images come from.
 *
 * A task is named by a spec, as in `templar train --tasks SPEC,SPEC,...`:
 *
 *   fashion       Fashion-MNIST: the IDX directory TPL_FASHION_DIR (Debian
 *                 package dataset-fashion-mnist), or another one given;
 *                 60000 train / 10000 test images, 1x28x28
 *   handwritten   OpenCV's digits.png (opencv-doc): 5000 20x20 digits cut
 *                 from the sheet, resized to 28x28
 *   optical       scikit-learn's digits.csv.gz (python3-sklearn): 1797 8x8
 *                 digits, resized to 28x28
 *   NAME=idx:DIR  any IDX directory in the MNIST layout (see data.h), as
 *                 task NAME; its images are used as they are
 *
 * The two digit sets have no test half of their own: each is split with
 * tpl_dataset_split(TPL_TASK_TEST_FRACTION, TPL_TASK_SPLIT_SEED), so the
 * same images are held out in every run (and by templar eval).  Built-in
 * sources give 1-channel 28x28 images with 10 classes.
 *
 * Errors are one line.  An unknown name lists the known ones; a built-in
 * source whose file or directory is missing names the Debian package that
 * provides it. */
#ifndef TPL_TASKS_H
#define TPL_TASKS_H
#include <stddef.h>

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

/* Which halves to load (a bit set); eval needs only the test half. */
enum { TPL_TASK_TRAIN = 1, TPL_TASK_TEST = 2, TPL_TASK_BOTH = 3 };

typedef struct tpl_task_data {
    char name[TPL_NAME_LEN];
    char *source;            /* spec that loads it again: "NAME=idx:DIR" or a built-in name */
    char *where;             /* the directory or file read, for messages */
    tpl_dataset train, test; /* the halves asked for; the others stay empty */
    int flip_ok;             /* mirrored images stay in their class: not so for digits */
} tpl_task_data;

/* Loads the task that spec[0..len) names (spec need not end there).
 * fashion_dir is where "fashion" is read (NULL: TPL_FASHION_DIR).  On
 * failure *out is empty and err holds one line.  Returns 0 on success. */
int tpl_task_load(const char *spec, size_t len, const char *fashion_dir, int halves,
                  tpl_task_data *out, tpl_err *err);
/* Checks spec[0..len) without reading any data: a name of 1-31 characters,
 * a built-in one or followed by =idx:DIR.  tpl_task_load does it first. */
int tpl_task_spec_check(const char *spec, size_t len, tpl_err *err);
/* Loads an IDX directory as task name; errors are tpl_idx_load_dir's. */
int tpl_task_load_idx(const char *name, const char *dir, int halves, tpl_task_data *out,
                      tpl_err *err);
void tpl_task_free(tpl_task_data *t);

/* 1 when name is a built-in task. */
int tpl_task_known(const char *name);
/* Length of the name part of spec[0..len): up to its '=', or all of it. */
size_t tpl_task_spec_name(const char *spec, size_t len);
/* The element of a comma-separated spec list whose name is name: returns
 * its start and sets *len, or returns NULL. */
const char *tpl_task_spec_find(const char *list, const char *name, size_t *len);
#endif
