/* Data sources: labelled image sets held as bytes (read from and written to
 * IDX files), turned into float batches.
 *
 * A dataset keeps images as uint8 in NHWC order (n, h, w, c) and one label per
 * image.  Batches are produced in the activation layout the model wants
 * (see ops.h: [N][C/B][H*W][B]; for images B = 1, i.e. NCHW). */
#ifndef TPL_DATA_H
#define TPL_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "templar.h"

/* tpl_dataset, tpl_dataset_alloc/free, tpl_idx_load_dir and
 * tpl_dataset_stats_union are public: templar.h. */

/* Loads an IDX image file and its IDX label file (each gzip or plain; gzip is
 * detected by its magic bytes, not the file name).  Images are rank 3, (n, h,
 * w), greyscale as MNIST's, or rank 4, (n, h, w, c) with c = 1 or 3 (RGB),
 * channels last as in the dataset; labels are rank 1.  Headers are validated
 * before any allocation: magic, dtype 0x08 (unsigned byte), rank, dimensions
 * > 0 and <= 1<<20 per axis, the channel count, and the total size (at most
 * 2^32 bytes) against what the file can hold; counts must agree; labels <
 * 256.  Errors read "PATH: problem". Returns 0 on success.  labels_path may
 * be NULL: the images alone, every label 0, classes 1. */
int tpl_idx_load(const char *images_path, const char *labels_path,
                 tpl_dataset *out, tpl_err *err);

/* tpl_idx_load_dir (templar.h), but when labels_needed is 0 and the split
 * has no labels file, loads the images alone (labels 0, classes 1) and sets
 * *labelled = 0 (else 1). */
int tpl_idx_load_dir_opt(const char *dir, const char *split, int labels_needed,
                         tpl_dataset *out, int *labelled, tpl_err *err);

/* Writes d as the IDX files tpl_idx_load reads back: images rank 3 when d
 * has 1 channel (the MNIST layout), rank 4 (n, h, w, 3) when it has 3;
 * labels rank 1.  A path ending in ".gz" is gzip-compressed, others plain.
 * Both files are written to temporary files beside them (PATH.tmp.PID),
 * fsync'd, and renamed into place only when both are complete, so neither
 * is ever half-written.  d needs 1..1<<20 images and sides and 1 or 3
 * channels (an empty set has no IDX form).  Errors read "PATH: problem". */
int tpl_idx_write(const char *images_path, const char *labels_path, const tpl_dataset *d,
                  tpl_err *err);
/* Writes split ("train" or "test") of an IDX directory that
 * tpl_idx_load_dir reads back: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
 * dir must exist. */
int tpl_idx_write_dir(const char *dir, const char *split, const tpl_dataset *d,
                      tpl_err *err);

/* A copy of in with c channels (1 or 3; in has 1 or 3): grey to RGB by
 * replication, RGB to grey by Rec. 601 luma, round(0.299 R + 0.587 G +
 * 0.114 B); the same count is a plain copy.  Lets one model, which takes
 * one input shape, serve grey and colour sets.  out must not be in; on
 * failure *out is zeroed.  Errors read "channels: problem". */
int tpl_dataset_to_channels(const tpl_dataset *in, int c, tpl_dataset *out, tpl_err *err);

/* Per-channel mean and std of the pixels scaled to [0, 1]. */
void tpl_dataset_stats(const tpl_dataset *d, float *mean, float *std);

/* Random changes to the training images.  Every field 0 is off, and an
 * option that is off draws nothing from the rng (so with the last three off
 * the draws are those of crop and flip alone, as they always were).
 *
 * What an image goes through, in this order:
 *   1. colour jitter (jitter > 0, 3-channel images only: a no-op that draws
 *      nothing on 1-channel ones).  Each pixel, as floats in [0, 1]: times a
 *      brightness b, then its distance from the image's mean grey (Rec. 601
 *      luma of the untouched image, times b) times a contrast k, then its
 *      distance from its own grey times a saturation s; clamped to [0, 1].
 *      b, k and s are each uniform in [1 - jitter, 1 + jitter].
 *   2. rotation and scaling (rotate_deg > 0 or scale > 0), one affine warp
 *      about the image centre ((h-1)/2, (w-1)/2), sampled bilinearly, zero
 *      (black) outside the image: an angle uniform in [-rotate_deg,
 *      rotate_deg] degrees and a zoom uniform in [1 - scale, 1 + scale]
 *      (above 1 the content grows).
 *   3. the random crop (pad), zero outside, then the mirror (flip).
 * The draws of one image, in order: dy, dx (pad), flip, angle (rotate_deg),
 * zoom (scale), b, k, s (jitter). */
typedef struct tpl_augment {
    int pad;          /* random crop: pad by this many zero pixels, crop back (0 = off) */
    int flip;         /* random horizontal flip with probability 1/2 */
    float rotate_deg; /* random rotation up to this many degrees either way (0 = off) */
    float scale;      /* random zoom in [1 - scale, 1 + scale] (0 = off; below 1) */
    float jitter;     /* brightness, contrast, saturation strength (0 = off; <= 1) */
} tpl_augment;

/* Writes images idx[0..n) as floats ((p/255 - mean[c]) / std[c]) into x,
 * laid out NCHW (n, c, h, w: the planar input oneDNN's first-layer kernels
 * take; with one channel the same as NHWC), and their labels into y.  aug
 * may be NULL; rng is only used when aug asks for randomness.  Out-of-image
 * pixels produced by the crop or the warp are zero before normalisation
 * (i.e. black). */
void tpl_batch_fill(const tpl_dataset *d, const int *idx, int n,
                    const float *mean, const float *std,
                    const tpl_augment *aug, tpl_rng *rng, float *x, int *y);

/* Images idx[first..first + count) of a batch of n, as tpl_batch_fill
 * writes them, into x and y from their start: the random choices of all n
 * are drawn, in order, so a process that fills its share of a batch makes
 * the images one process filling the whole batch would (count 0: the draws
 * alone). */
void tpl_batch_fill_part(const tpl_dataset *d, const int *idx, int n, int first, int count,
                         const float *mean, const float *std, const tpl_augment *aug,
                         tpl_rng *rng, float *x, int *y);

/* Fisher-Yates shuffle of perm[0..n) with rng. */
void tpl_shuffle(int *perm, int n, tpl_rng *rng);

/* ---- transforms ------------------------------------------------------------ */

/* Bilinear resize of every image, each channel separately, to out_h x out_w,
 * with pixel centres aligned as OpenCV's INTER_LINEAR does: output pixel x
 * samples the input at (x + 0.5) * in_w / out_w - 0.5, clamped to the edge
 * pixels; results are rounded to the nearest integer.  (OpenCV uses 11-bit
 * fixed-point weights, so its uint8 results can differ by 1.)  Labels and
 * classes are copied.  out must not be in.  Errors read "resize: problem". */
int tpl_dataset_resize(const tpl_dataset *in, int out_h, int out_w,
                       tpl_dataset *out, tpl_err *err);

/* The same size change by the rule that suits it: an axis that shrinks is
 * box-filtered (each output pixel the mean of the input area it covers,
 * partly covered pixels weighted by the part, as OpenCV's INTER_AREA), so
 * no input pixel is skipped; when no axis shrinks the result is exactly
 * tpl_dataset_resize's bilinear one (an axis that grows while the other
 * shrinks is bilinear too).  Results are rounded to the nearest integer.
 * Errors read "resize: problem". */
int tpl_dataset_resize_area(const tpl_dataset *in, int out_h, int out_w,
                            tpl_dataset *out, tpl_err *err);
/* One image's pixels by that rule: in is in_h x in_w x c, out out_h x
 * out_w x c.  -1 when out of memory (or a size is below 1). */
int tpl_pixels_resize(const uint8_t *in, int in_h, int in_w, int c, uint8_t *out,
                      int out_h, int out_w);

/* A copy of in as h x w x c (0 keeps in's value): resized by
 * tpl_dataset_resize_area's rule, then given c channels as
 * tpl_dataset_to_channels does.  A copy even when nothing changes.  out
 * must not be in. */
int tpl_dataset_convert(const tpl_dataset *in, int h, int w, int c, tpl_dataset *out,
                        tpl_err *err);

/* Stratified split, fixed by seed.  The rule: one tpl_rng is seeded with
 * seed; for each class k = 0, 1, ..., in->classes - 1 in turn, the indices
 * of the images labelled k (ascending) are shuffled with tpl_shuffle using
 * that rng, and the first round(test_fraction * count_k) of them (halves
 * away from zero) go to test, the rest to train.  Both halves keep the
 * original order of the images, and both keep in->classes as their classes
 * (so a class missing from a half still has its head slot).  test_fraction
 * must be in [0, 1]; a half may be empty (n = 0, NULL arrays).  train, test
 * and in must be distinct.  Errors read "split: problem". */
int tpl_dataset_split(const tpl_dataset *in, double test_fraction, uint64_t seed,
                      tpl_dataset *train, tpl_dataset *test, tpl_err *err);

/* The first n images of every class in a seeded shuffle (a few-label
 * training set); a class with fewer keeps all of its images.  Errors read
 * "per-class: problem". */
int tpl_dataset_per_class(const tpl_dataset *in, int n, uint64_t seed, tpl_dataset *out,
                          tpl_err *err);
#endif
