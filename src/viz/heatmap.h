/* The mixture heatmap of templar inspect: tasks x blocks x templates, a row
 * of cells per task, each block's cell split into its templates' weights,
 * laid out once as a scene and written as PNG and SVG. */
#ifndef TPL_HEATMAP_H
#define TPL_HEATMAP_H
#include "templar.h"

/* A group of columns: one stage's blocks, each cell split into its K
 * templates' weights. */
typedef struct tpl_heatmap_group {
    const char *label; /* above the group, e.g. "stage 0" */
    int cols, cells;   /* blocks L, templates K */
    const float *w;    /* [rows][cols][cells], each in [0, 1] */
} tpl_heatmap_group;

typedef struct tpl_heatmap {
    const char *title;
    int rows;                        /* tasks: a row of cells each */
    const char *const *row_labels;   /* [rows] */
    int n_groups;
    tpl_heatmap_group group[TPL_MAX_STAGES];
} tpl_heatmap;

/* Both write the same picture (one layout); atomically.  *w, *h (may be
 * NULL) get the size in pixels. */
int tpl_heatmap_write_png(const tpl_heatmap *hm, const char *path, int *w, int *h,
                          tpl_err *err);
int tpl_heatmap_write_svg(const tpl_heatmap *hm, const char *path, tpl_err *err);
#endif
