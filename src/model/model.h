/* The template-bank residual network: parameters (views into one buffer),
 * convolution plans, and the forward/backward passes for one task.
 *
 *   stem conv (stride s) -> BN -> ReLU
 *   for each stage: [stride-2 transition conv -> BN -> ReLU]  (stages > 0)
 *                   L blocks: h -> conv(W1) -> BN -> ReLU -> conv(W2) -> BN
 *                             -> + h -> ReLU,   (W1, W2) = mix(bank, a[t,l])
 *   global average pool -> linear head of task t
 *
 * Shared: stem, transitions, template banks.  Per task: mixture logits, every
 * BN (scale, shift, running stats), the head. */
#ifndef TPL_MODEL_H
#define TPL_MODEL_H
#include "conv.h"
#include "params.h"
#include "rng.h"
#include "route.h"
#include "templar.h"

#define TPL_BN_EPS 1e-5f

/* View indices of one BN: scale, shift, running mean, running var. */
typedef struct tpl_bn_views {
    int scale, shift, mean, var;
} tpl_bn_views;

typedef struct tpl_stage {
    int width, layers, templates, h, w;
    size_t per_template;     /* floats in one template (both convs) */
    int bank;                /* view [K][2][C][C][3][3] */
    int trans_w;             /* view of the transition conv, -1 in stage 0 */
    int logits[TPL_MAX_TASKS];           /* views [L][K] */
    tpl_bn_views bn[TPL_MAX_TASKS];      /* views [L][2][C] */
    tpl_bn_views trans_bn[TPL_MAX_TASKS];
    tpl_conv_plan *plan, *trans_plan;
    int bn_per_block;        /* BNs a block owns: 2, or K + 1 (an expert's each, then the sum's) */
    tpl_conv_slot *slots;    /* [L][2] mixed weights, or [K][2] templates (outputs aggregation) */
    int n_slots;
    tpl_conv_slot trans_slot;
    size_t mixed_offset;     /* into model->mixed */
    size_t mix_offset;       /* into model->mix (a values), L*K floats */
    float *wino_u;           /* small-batch eval: [L][2] winograd-transformed mixed weights */
    unsigned long wino_gen;  /* version of the mixed weights in wino_u, + 1 (0: none yet) */
} tpl_stage;

typedef struct tpl_model tpl_model;
struct tpl_model {
    tpl_config cfg;
    tpl_params params;
    tpl_engine *engine;
    int stem_w;
    tpl_bn_views stem_bn[TPL_MAX_TASKS];
    int head_w[TPL_MAX_TASKS], head_b[TPL_MAX_TASKS];
    tpl_stage stage[TPL_MAX_STAGES];
    tpl_conv_plan *stem_plan;
    tpl_conv_slot stem_slot;
    float *mix;      /* routed mixture weights a of the current task, per block */
    float *soft;     /* the soft weights the routing's backward differentiates */
    int mixed_noisy; /* the mixed weights carry Gumbel noise (a training forward) */
    tpl_rng noise_rng;
    float *mixed;    /* mixed block weights W of the current task */
    size_t mixed_numel, mix_numel;
    int mixed_task;  /* task the mixed weights belong to, -1 = stale */
    float bn_momentum;       /* of the running statistics; 1/(i+1) averages batches exactly */
    unsigned long version;   /* bumped whenever parameters change */
    unsigned long mixed_version;
    int winograd;            /* small-batch eval may use winograd.c: AVX-512 builds, unless
                              * TEMPLAR_NO_WINOGRAD is set (to anything) at creation */
    struct tpl_workspace *ws;
};

/* Fresh model with seeded initial weights. */
tpl_model *tpl_model_create(const tpl_config *cfg, uint64_t seed, tpl_err *err);
void tpl_model_free(tpl_model *m);
/* Call after changing parameters from outside (optimiser, load). */
static inline void tpl_model_touch(tpl_model *m) { m->version++; }

/* Forward pass of n images (NCHW floats, normalised: tpl_batch_fill) for task t; writes
 * logits [n][classes].  Training mode keeps what the backward needs and uses
 * batch statistics.  Returns 0 or -1 with err set. */
int tpl_model_forward(tpl_model *m, int task, const float *x, int n,
                      int training, float *logits, tpl_err *err);
/* Backward of the last training forward: adds parameter gradients into
 * m->params.grad from dlogits [n][classes]. */
void tpl_model_backward(tpl_model *m, int task, const float *dlogits);

/* Block l of stage s as task t runs it: the mixed weights [2][C][C][3][3]
 * (valid until the parameters or the task change). */
const float *tpl_model_block_weights(tpl_model *m, int task, int s, int l);

/* Pooled features [n][last width] of the last forward, valid until the next. */
const float *tpl_model_features(const tpl_model *m);

/* Mixture weights a[L][K] of stage s for task t (after routing). */
void tpl_model_mixture(tpl_model *m, int task, int stage, float *a);

/* ---- tasks as units ---------------------------------------------------------
 * A new task gets its own mixture logits, BN and head, appended after the
 * model's tasks; every existing tensor is copied bit for bit, and freezing
 * everything but the new task's part keeps the old tasks' predictions
 * exactly as they were.  Which part trains is the experiment:
 *
 *   mixture  the new task's logits, BN scale/shift and head (the default)
 *   head     its head only, over a frozen copy of another task's mixture
 *            and BN (a linear probe; BN running statistics still follow the
 *            new data, as they do in every training-mode forward)
 *   full     everything, templates and old tasks included (a fine-tune: the
 *            old tasks change)
 *
 * (From scratch is a fresh model, not a transfer.) */
typedef enum {
    TPL_PART_MIXTURE,  /* the task's logits, BN scale/shift and head */
    TPL_PART_HEAD,     /* its head */
    TPL_PART_FULL,     /* everything */
    TPL_PART_LOGITS,   /* its mixture logits alone (domain adaptation) */
} tpl_train_part;

/* A copy of src with one more task (fresh, seeded init for its own tensors). */
tpl_model *tpl_model_add_task(const tpl_model *src, const tpl_task_config *task, uint64_t seed,
                              tpl_err *err);
/* Copies task from's mixture logits and BN (scale, shift, running statistics)
 * onto task to; heads differ in classes and are left alone. */
void tpl_model_copy_task(tpl_model *m, int from, int to);
/* Task to's mixture logits and BN (scale, shift, running statistics)
 * become the mean of those of tasks from[0..n): where a new domain starts. */
void tpl_model_average_tasks(tpl_model *m, const int *from, int n, int to);
/* Marks which views train: those part names for task. */
void tpl_model_train_only(tpl_model *m, int task, tpl_train_part part);

/* Bytes of task t's views of the given kinds (a bit set of 1 << tpl_kind). */
size_t tpl_task_bytes(const tpl_params *p, int task, unsigned kinds);
#define TPL_KINDS(a) (1u << (a))

/* The routing rule of the model's config. */
tpl_route tpl_model_route(const tpl_model *m);
#endif
