/* Loss and accuracy curves of a training log (trainlog.h), for templar
 * plot: a panel per metric, one above the other, step along x; each task in
 * its colour, training as a solid line (per logging interval where the log
 * has step lines, per epoch otherwise), test as a dashed line with a dot per
 * evaluation; a legend names the tasks.  A curve with more points than
 * twice the plot's width in pixels is drawn through the means of each pixel
 * column's points. */
#ifndef TPL_CURVES_H
#define TPL_CURVES_H
#include "trainlog.h"

typedef enum { TPL_CURVES_LOSS = 1, TPL_CURVES_ACC = 2, TPL_CURVES_BOTH = 3 } tpl_curves_metric;

/* Writes the figure as PNG and/or SVG (a path NULL: not written), each
 * atomically; title on top (NULL: none), the run's command under it.  A
 * panel whose metric the log lacks says so. */
int tpl_curves_write(const tpl_trainlog *log, tpl_curves_metric metrics, const char *title,
                     const char *png, const char *svg, tpl_err *err);
#endif
