/* Data sources: labelled image sets held as bytes, turned into float batches.
 *
 * A dataset keeps images as uint8 in NHWC order (n, h, w, c) and one label per
 * image.  Batches are produced in the activation layout the model wants
 * (see ops.h: [N][C/B][H*W][B]; for images B = C, i.e. NHWC). */
#ifndef TPL_DATA_H
#define TPL_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "templar.h"

typedef struct tpl_dataset {
    int n, h, w, c;     /* images, height, width, channels */
    int classes;        /* 1 + largest label */
    uint8_t *pixels;    /* n*h*w*c, NHWC */
    uint8_t *labels;    /* n */
} tpl_dataset;

void tpl_dataset_free(tpl_dataset *d);

/* Loads an IDX image file and its IDX label file (each gzip or plain; gzip is
 * detected by its magic bytes, not the file name).  Headers are validated
 * before any allocation: magic, dtype 0x08 (unsigned byte), rank (3 for
 * images, 1 for labels), dimensions > 0 and <= 1<<20 per axis and the total
 * size against what the file can hold; counts must agree; labels < 256.
 * Errors read "PATH: problem". Returns 0 on success. */
int tpl_idx_load(const char *images_path, const char *labels_path,
                 tpl_dataset *out, tpl_err *err);

/* Loads the train (split = "train") or test (split = "test") half of an IDX
 * directory laid out as the MNIST/Fashion-MNIST distributions are:
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
int tpl_idx_load_dir(const char *dir, const char *split, tpl_dataset *out,
                     tpl_err *err);

/* Per-channel mean and std of the pixels scaled to [0, 1]. */
void tpl_dataset_stats(const tpl_dataset *d, float *mean, float *std);
/* The same over the union of several datasets (all with sets[0]'s channels). */
void tpl_dataset_stats_union(const tpl_dataset *const *sets, int n_sets, float *mean,
                             float *std);

typedef struct tpl_augment {
    int pad;   /* random crop: pad by this many zero pixels, crop back (0 = off) */
    int flip;  /* random horizontal flip with probability 1/2 */
} tpl_augment;

/* Writes images idx[0..n) as floats ((p/255 - mean[c]) / std[c]) into x,
 * laid out NHWC (n, h, w, c), and their labels into y.  aug may be NULL; rng
 * is only used when aug asks for randomness.  Out-of-image pixels produced by
 * the crop are zero before normalisation (i.e. black). */
void tpl_batch_fill(const tpl_dataset *d, const int *idx, int n,
                    const float *mean, const float *std,
                    const tpl_augment *aug, tpl_rng *rng, float *x, int *y);

/* Fisher-Yates shuffle of perm[0..n) with rng. */
void tpl_shuffle(int *perm, int n, tpl_rng *rng);
#endif
