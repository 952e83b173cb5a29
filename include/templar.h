/* templar: compositional (template-bank) neural networks in C.
 *
 * A network is a bank of K template blocks plus, for every task, mixture logits
 * per block: block l of task t uses W = sum_k softmax(z[t,l] / tau)_k * T_k.
 * Templates (and the stem) are shared; each task owns its logits, its batch
 * norms and its head.  See README.md for the tour. */
#ifndef TEMPLAR_H
#define TEMPLAR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPL_MAX_STAGES 4
#define TPL_MAX_TASKS 16
#define TPL_NAME_LEN 32
#define TPL_MAX_TEMPLATES 256

/* Errors travel as one line of text: "WHERE: what went wrong". */
typedef struct tpl_err {
    char msg[512];
} tpl_err;
void tpl_err_set(tpl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- architecture ------------------------------------------------------ */
/* How a block's mixture weights a come from its logits z:
 *   SOFT          a = softmax(z / tau)
 *   FIXED_ONEHOT  a = one-hot(block % K): with K = L a plain ResNet
 *   TOPK          the top-k of softmax(z / tau), renormalised; the backward
 *                 is the soft one (straight-through); k = 1 reads one
 *                 template per block
 *   GUMBEL        TOPK of z plus Gumbel noise in training (none in eval):
 *                 straight-through Gumbel-softmax
 *   FIXED         a = z / sum(z), given by the user and never trained */
typedef enum {
    TPL_ROUTE_SOFT = 0,
    TPL_ROUTE_FIXED_ONEHOT = 1,
    TPL_ROUTE_TOPK = 2,
    TPL_ROUTE_GUMBEL = 3,
    TPL_ROUTE_FIXED = 4,
    TPL_ROUTE_COUNT
} tpl_routing;

/* Where a block combines its templates:
 *   PARAMS   W = sum_k a_k T_k, one conv pair per block (the template bank)
 *   OUTPUTS  each template with a_k != 0 runs its own branch (conv, BN, ReLU,
 *            conv) and the branches' outputs are mixed: a mixture of experts,
 *            with a BN per expert; K times the convolutions */
typedef enum { TPL_AGG_PARAMS = 0, TPL_AGG_OUTPUTS = 1, TPL_AGG_COUNT } tpl_aggregation;

typedef struct tpl_stage_config {
    int width;     /* channels of every block in the stage */
    int layers;    /* residual blocks L */
    int templates; /* templates K in the stage's bank */
} tpl_stage_config;

typedef struct tpl_task_config {
    char name[TPL_NAME_LEN];
    int classes;
} tpl_task_config;

typedef struct tpl_config {
    int in_channels, in_height, in_width;
    int stem_stride;              /* 2 for 28x28 input */
    int n_stages;                 /* 1 = isometric; >1 = staged (stride-2 between) */
    tpl_stage_config stage[TPL_MAX_STAGES];
    int n_tasks;
    tpl_task_config task[TPL_MAX_TASKS];
    tpl_routing routing;          /* see tpl_routing */
    int topk;                     /* templates kept by TOPK and GUMBEL routing */
    tpl_aggregation aggregate;    /* mix parameters or outputs */
    int shared_mixture;           /* 1: one mixture for every task (a hard-shared trunk) */
    int shared_head;              /* 1: one head for every task (domains of one label set) */
    float tau;                    /* softmax temperature */
    float logit_noise;            /* std of the uniform logits' seeded noise */
    float in_mean[4], in_std[4];  /* input normalisation per channel */
} tpl_config;

/* "soft", "fixed-onehot", "topk", "gumbel", "fixed"; parse gives -1 for others. */
const char *tpl_routing_name(tpl_routing r);
int tpl_routing_parse(const char *name);
/* "params", "outputs"; parse gives -1 for others. */
const char *tpl_aggregation_name(tpl_aggregation a);
int tpl_aggregation_parse(const char *name);

/* Fills the defaults: isometric, width 64, 8 layers, 4 templates, 1x28x28, one task. */
void tpl_config_default(tpl_config *cfg);
/* Checks ranges and consistency; on failure names the bad field. */
int tpl_config_check(const tpl_config *cfg, tpl_err *err);

/* ---- inference ---------------------------------------------------------
 * A model file (safetensors, written by templar train/transfer/adapt/export)
 * rebuilds its own network.  Images are uint8, NHWC (height, width,
 * channels), of the model's input size (tpl_model_config: in_height,
 * in_width, in_channels); the model normalises them itself.  A model is not
 * for use from two threads at once. */
typedef struct tpl_model tpl_model;

tpl_model *tpl_model_load(const char *path, tpl_err *err);
void tpl_model_free(tpl_model *m);
const tpl_config *tpl_model_config(const tpl_model *m);
/* Index of the task called name, or -1. */
int tpl_model_find_task(const tpl_model *m, const char *name);
/* Class probabilities [n][classes of task] of n images.  Returns 0, or -1
 * with err set. */
int tpl_model_classify(tpl_model *m, int task, const uint8_t *pixels, int n, float *probs,
                       tpl_err *err);

#ifdef __cplusplus
}
#endif
#endif
