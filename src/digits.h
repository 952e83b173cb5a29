/* More data sources for the digits tasks, and dataset transforms.
 *
 * Two small handwritten-digit sets, each loaded into a tpl_dataset (uint8
 * NHWC, one label per image, see data.h):
 *   - OpenCV's samples/data/digits.png: a 2000x1000 sheet of 20x20 cells,
 *     50 rows x 100 columns, 5 rows per digit 0..9 (500 images per class);
 *   - scikit-learn's datasets/data/digits.csv.gz: 1797 8x8 images, one per
 *     line as 64 values 0..16 and then the label.
 * and the transforms that make them usable beside (Fashion-)MNIST: bilinear
 * resize (to 28x28) and a seeded, stratified train/test split.
 *
 * Conventions as in data.h: on failure *out is zeroed, nothing is leaked and
 * err holds one line, "PATH: problem" (or "PATH:LINE: problem" for a CSV
 * line).  Returns 0 on success. */
#ifndef TPL_DIGITS_H
#define TPL_DIGITS_H
#include <stdint.h>

#include "data.h"
#include "templar.h"

/* Loads a PNG sheet of cell x cell digit images laid out in rows, with
 * rows_per_class consecutive rows for each of the digits 0..9 in order (for
 * OpenCV's digits.png: cell 20, rows_per_class 5).  Colour, palette and
 * alpha images are converted to 8-bit grey by libpng (alpha composited on
 * black).  The sheet must be a whole number of cells each way and have
 * exactly 10 * rows_per_class rows of cells; this is checked from the PNG
 * header, before the pixels are decoded.  Images come out in row-major cell
 * order (sheet row, then column), 1 channel, label = row / rows_per_class,
 * classes = 10. */
int tpl_digits_png_load(const char *path, int cell, int rows_per_class,
                        tpl_dataset *out, tpl_err *err);

/* Loads a CSV (plain or gzip, found by its magic bytes) of side*side
 * integer pixel values in [0, max_value] followed by an integer label in
 * [0, 255], one image per line, row-major pixels (for scikit-learn's
 * digits.csv.gz: side 8, max_value 16).  Fields may be padded with spaces;
 * lines may end in "\n" or "\r\n", and blank lines are allowed only at the
 * end of the file.  Pixels are scaled to 0..255 as round(v * 255 /
 * max_value) (halves up).  Errors name the line: "PATH:LINE: problem" (wrong
 * field count, a field that is not an integer, a value or label out of
 * range).  1 channel; classes = 1 + largest label. */
int tpl_digits_csv_load(const char *path, int side, int max_value,
                        tpl_dataset *out, tpl_err *err);

/* Bilinear resize of every image, each channel separately, to out_h x out_w,
 * with pixel centres aligned as OpenCV's INTER_LINEAR does: output pixel x
 * samples the input at (x + 0.5) * in_w / out_w - 0.5, clamped to the edge
 * pixels; results are rounded to the nearest integer.  (OpenCV uses 11-bit
 * fixed-point weights, so its uint8 results can differ by 1.)  Labels and
 * classes are copied.  out must not be in.  Errors read "resize: problem". */
int tpl_dataset_resize(const tpl_dataset *in, int out_h, int out_w,
                       tpl_dataset *out, tpl_err *err);

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
/* Any PNG as one image of the given channels (1 grey, 3 RGB; transparency
 * composed over black), label 0, at its own size.  Errors read
 * "PATH: problem". */
int tpl_image_png_load(const char *path, int channels, tpl_dataset *out, tpl_err *err);

/* The first n images of every class in a seeded shuffle (a few-label
 * training set); a class with fewer keeps all of its images.  Errors read
 * "per-class: problem". */
int tpl_dataset_per_class(const tpl_dataset *in, int n, uint64_t seed, tpl_dataset *out,
                          tpl_err *err);
#endif
