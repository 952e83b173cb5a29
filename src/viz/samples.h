/* A preview of a few samples of each of several datasets, for templar data. */
#ifndef TPL_SAMPLES_H
#define TPL_SAMPLES_H
#include "data.h"
#include "templar.h"

/* A PNG of per_row training samples of each of n datasets, a row each with
 * its name, samples 2x upscaled; with k = min(classes, per_row), sample j
 * is the (j / k)-th image of class j % k.  Written atomically. */
int tpl_samples_preview(const char *path, const char *const *names,
                        const tpl_dataset *const *sets, int n, int per_row, tpl_err *err);
#endif
