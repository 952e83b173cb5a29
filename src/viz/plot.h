/* The figures of the templar tool, one header per concept; this one names
 * them all for the commands that draw several:
 *   colormap.h    colours: viridis, white-to-blue, a palette for series
 *   canvas.h      an RGB canvas with lines, discs and a bitmap font; PNG
 *   scene.h       a figure as a list of items, rendered to PNG and to SVG
 *   similarity.h  how similar two mixtures are, and the verdict on a block
 *   heatmap.h     the mixture heatmap (templar inspect)
 *   confusion.h   a confusion matrix figure (templar eval --plot)
 *   trainlog.h    the JSON-lines log of a training run, read
 *   curves.h      its loss and accuracy curves (templar plot)
 *   samples.h     a preview grid of data set samples (templar data) */
#ifndef TPL_PLOT_H
#define TPL_PLOT_H
#include "canvas.h"
#include "colormap.h"
#include "confusion.h"
#include "curves.h"
#include "heatmap.h"
#include "samples.h"
#include "scene.h"
#include "similarity.h"
#include "trainlog.h"
#endif
