/* A confusion matrix as a figure, for templar eval --plot: rows are the true
 * classes, columns the predicted ones; a cell's colour is its share of the
 * row (white: none, dark blue: all), its count printed in it when the cell
 * is big enough.  From 1 to TPL_CONFUSION_MAX classes: cells shrink with
 * the class count, and when the labels would touch only every k-th class is
 * named (with a tick). */
#ifndef TPL_CONFUSION_H
#define TPL_CONFUSION_H
#include "templar.h"

#define TPL_CONFUSION_MAX 255

/* Writes the figure as PNG and/or SVG (either path NULL: not written; one
 * layout), each atomically.  counts is [classes][classes], row = true
 * class; names[classes] may be NULL (or hold NULLs): classes are then
 * numbered.  Names longer than 16 characters are cut.  On failure, err
 * says why in one line that names the file. */
int tpl_confusion_write(const char *png, const char *svg, const char *title, int classes,
                        const long *counts, const char *const *names, tpl_err *err);
#endif
