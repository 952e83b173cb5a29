/* More data sources for the digits tasks, and dataset transforms.
 *
 * Two small handwritten-digit sets, each loaded into a tpl_dataset (uint8
 * NHWC, one label per image, see data.h):
 *   - OpenCV's samples/data/digits.png: a 2000x1000 sheet of 20x20 cells,
 *     50 rows x 100 columns, 5 rows per digit 0..9 (500 images per class);
 *   - scikit-learn's datasets/data/digits.csv.gz: 1797 8x8 images, one per
 *     line as 64 values 0..16 and then the label.
 * (the transforms that make them usable beside (Fashion-)MNIST, resizing
 * and splitting, are data.h's).
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

#endif
