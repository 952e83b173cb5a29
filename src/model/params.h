/* Parameters, gradients and optimiser state live in contiguous buffers; a
 * table of named views cuts them into tensors.  Saving, loading, zeroing and
 * optimising are then single loops over the table. */
#ifndef TPL_PARAMS_H
#define TPL_PARAMS_H
#include <stddef.h>
#include <stdint.h>

#include "templar.h"

typedef enum tpl_kind {
    TPL_KIND_TEMPLATE,  /* template bank of a stage (shared) */
    TPL_KIND_CONV,      /* plain conv weights: stem, transitions (shared) */
    TPL_KIND_LOGITS,    /* mixture logits (per task) */
    TPL_KIND_BN_SCALE,  /* per task */
    TPL_KIND_BN_SHIFT,  /* per task */
    TPL_KIND_HEAD_W,    /* per task */
    TPL_KIND_HEAD_B,    /* per task */
    TPL_KIND_BN_MEAN,   /* running statistics: state, not trained */
    TPL_KIND_BN_VAR,
    TPL_KIND_FEAT_MOMENTS, /* a task's pooled features' mean and mean square: state */
} tpl_kind;

#define TPL_VIEW_NAME 96
#define TPL_VIEW_DIMS 6

typedef struct tpl_view {
    char name[TPL_VIEW_NAME];
    int ndim;
    int64_t shape[TPL_VIEW_DIMS];
    size_t offset, numel; /* in floats, into params->data / grad */
    tpl_kind kind;
    int task;             /* owning task, or -1 when shared */
    int trainable;        /* cleared to freeze (e.g. templates in transfer) */
} tpl_view;

typedef struct tpl_params {
    float *data, *grad;
    size_t numel;
    tpl_view *views;
    int n_views, cap;
} tpl_params;

/* Running statistics are saved but never trained. */
static inline int tpl_kind_is_state(tpl_kind k) {
    return k == TPL_KIND_BN_MEAN || k == TPL_KIND_BN_VAR || k == TPL_KIND_FEAT_MOMENTS;
}

/* Views a file may lack (files written before they existed): they load as
 * zeros, which their readers take for "not recorded". */
static inline int tpl_kind_is_optional(tpl_kind k) { return k == TPL_KIND_FEAT_MOMENTS; }

/* Floats a view of numel takes in the buffers: offsets are 64-byte aligned. */
static inline size_t tpl_params_padded(size_t numel) { return (numel + 15) / 16 * 16; }

/* Declares a view (before tpl_params_alloc); returns its index, or -1 when out
 * of memory.  Offsets are 64-byte aligned. */
int tpl_params_add(tpl_params *p, const char *name, tpl_kind kind, int task,
                   int ndim, const int64_t *shape);
/* Allocates data and grad (zeroed) for the declared views. */
int tpl_params_alloc(tpl_params *p);
void tpl_params_free(tpl_params *p);
int tpl_params_find(const tpl_params *p, const char *name);
static inline float *tpl_params_data(const tpl_params *p, int view) {
    return p->data + p->views[view].offset;
}
static inline float *tpl_params_grad(const tpl_params *p, int view) {
    return p->grad + p->views[view].offset;
}
/* Sum of numel over the views that satisfy task (-2 = all, -1 = shared). */
size_t tpl_params_count(const tpl_params *p, int task, int include_state);
/* Sum of numel over the views that train. */
size_t tpl_params_trainable(const tpl_params *p);
#endif
