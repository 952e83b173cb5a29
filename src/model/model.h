/* The template-bank residual network: parameters (views into one buffer),
 * convolution plans, and the forward/backward passes for one task.
 *
 *   stem conv (stride s) -> BN -> ReLU
 *   for each stage: [stride-2 transition conv -> BN -> ReLU]  (stages > 0)
 *                   L blocks of the stage's block kind (block.h), each
 *                   branch(h; W[t,l]) -> BN -> + h -> ReLU,
 *                   W[t,l] = mix(bank, route(z[t,l]))
 *   global average pool -> linear head of task t
 *
 * Shared: stem, transitions, template banks.  Per task (tpl_task_params):
 * mixture logits, every BN (scale, shift, running stats), the head.
 *
 * Caches have one owner each: the model's parameter version (bumped only by
 * tpl_model_params_changed, which every writer of parameters calls), the
 * mixing cache (mixing.c: routed mixtures and mixed weights, keyed by one
 * tpl_mix_key), and the convolution slots and a block kind's derived
 * weights, keyed by the version of what they were made from.
 *
 * A task slot may also hold a task bound from outside (binding.h: serving
 * thousands of tasks over one bank): the binding's id versions the slot's
 * task tensors, and the mixing key carries it, so binding another task
 * re-mixes that slot without touching the shared tensors' caches. */
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

/* Every tensor a task owns (or shares, when the config shares mixtures or
 * heads: the views are then the same for every task). */
typedef struct tpl_task_params {
    tpl_bn_views stem_bn;           /* [C0] */
    struct {
        int logits;                 /* [L][K] mixture logits */
        tpl_bn_views bn;            /* [L][bn_per_block][C]; scale and shift -1 (none) where
                                     * the block kind mixes them (block.h: affine_at) */
        tpl_bn_views trans_bn;      /* [C], stages > 0 */
    } stage[TPL_MAX_STAGES];
    int head_w, head_b;             /* [classes][C_last], [classes] */
    int moments;                    /* [2][C_last]: the mean and the mean square of the
                                     * task's eval-mode pooled features on its training
                                     * images (tpl_record_moments); zeros: not recorded */
} tpl_task_params;

/* Bytes of one task's own tensors, by part. */
typedef struct tpl_task_size {
    size_t logits, bn, bn_stats, head, moments;
} tpl_task_size;

struct tpl_block_kind;
struct tpl_aggregation_impl;

#define TPL_BLOCK_MAX_CONVS 4

typedef struct tpl_stage {
    int width, layers, templates, h, w;
    const struct tpl_block_kind *kind;
    size_t per_template;     /* floats in one template (the kind's weights) */
    int expand;              /* the config's, for kinds that expand (inverted) */
    tpl_granularity mix;     /* the config's: what one mixture covers */
    int mix_group;
    int units;               /* mixtures a block has (granularity.c): its logits are [L][units][K] */
    int bank;                /* view [K][per_template] in the kind's shape */
    int trans_w;             /* view of the transition conv, -1 in stage 0 */
    tpl_conv_plan *plan[TPL_BLOCK_MAX_CONVS]; /* the kind's convolutions */
    tpl_conv_plan *trans_plan;
    int bn_per_block;        /* BNs a block owns (the aggregation's count) */
    tpl_conv_slot *slots;    /* [units][kind convs]: blocks, or templates when mixing outputs */
    int n_slots;
    tpl_conv_slot trans_slot;
    size_t mixed_offset;     /* into the mixing cache's weights */
    size_t mix_offset;       /* into its mixtures, L*units*K floats */
    void *kind_shared;       /* the kind's cache of the shared tensors (block.h) */
    int bf16;                /* convolutions in bf16 (the model's precision): the sizes of
                              * saved tensors and which eval path runs follow it */
    int out_bf16;            /* the blocks' convolutions write bf16 too (bf16 runs that mix
                              * parameters: their BNs read it, half the bytes) */
} tpl_stage;

/* What the mixing cache holds is valid for one key: a parameter version, a
 * task, the binding of its slot (0: the model's own tensors), and a noise
 * draw (0: none; every Gumbel training forward draws anew). */
typedef struct tpl_mix_key {
    unsigned long version;
    int task;
    uint64_t binding;
    unsigned long noise;
} tpl_mix_key;

typedef struct tpl_mix_cache {
    tpl_mix_key key;         /* of the contents; task -1: empty */
    unsigned long gen;       /* bumped at every rebuild: the version of `mixed` */
    unsigned long draws;     /* noise draws so far */
    float *mix;              /* routed mixture weights a, per block */
    float *soft;             /* the soft weights the routing's backward differentiates */
    float *mixed;            /* mixed block weights W */
    size_t mixed_numel, mix_numel;
    void *kind_state[TPL_MAX_STAGES]; /* what each stage's block kind derives from `mixed` */
    tpl_rng noise_rng;
} tpl_mix_cache;

typedef struct tpl_model tpl_model;
struct tpl_model {
    tpl_config cfg;
    tpl_params params;
    tpl_engine *engine;
    const struct tpl_aggregation_impl *agg;
    int stem_w;
    tpl_task_params task[TPL_MAX_TASKS];
    tpl_stage stage[TPL_MAX_STAGES];
    tpl_conv_plan *stem_plan;
    tpl_conv_slot stem_slot;
    tpl_mix_cache mixing;
    unsigned long mix_gens;  /* generations handed out: unique over every cache (mixing.h) */
    uint64_t binding[TPL_MAX_TASKS]; /* of each task slot: 0, or a bound task's id (binding.h) */
    float bn_momentum;       /* of the running statistics; 1/(i+1) averages batches exactly */
    unsigned long version;   /* of the parameters: see tpl_model_params_changed */
    int winograd;            /* small-batch eval may use winograd.c: AVX-512 builds, unless
                              * TEMPLAR_NO_WINOGRAD is set (to anything) at creation */
    struct tpl_workspace *ws;
    char **class_names[TPL_MAX_TASKS]; /* [classes] per task, or NULL (classnames.c) */
    /* Set while one batch is spread over several processes (tpl_fit with a
     * communicator), NULL otherwise: the training BNs' synchronisation, and
     * what the backward calls as each part's gradients become final (see
     * tpl_model_grad_part; -1 after every block, a moment to let sums move
     * on), so that summing them across processes overlaps the rest of the
     * backward. */
    const tpl_bn_sync *bn_sync;
    void (*grad_ready)(void *user, int part);
    void *grad_user;
};

/* Fresh model with seeded initial weights. */
tpl_model *tpl_model_create(const tpl_config *cfg, uint64_t seed, tpl_err *err);
/* m zeroed, then cfg (checked; a precision the CPU lacks becomes fp32), its aggregation and the stages' geometry and
 * kinds: what the layout and the memory estimate read; nothing allocated. */
void tpl_model_geometry(tpl_model *m, const tpl_config *cfg);
/* Whether the convolutions run in bf16 (m->cfg.precision, the one in use). */
static inline int tpl_model_bf16(const tpl_model *m) {
    return m->cfg.precision == TPL_PRECISION_BF16;
}
/* The channel block of a c-channel activation (ops.h): oneDNN's 16 in
 * fp32 runs (its winograd kernels want it), NHWC in bf16 runs (its AMX
 * kernels do). */
static inline int tpl_model_act_block(const tpl_model *m, int c) {
    return tpl_model_bf16(m) || c % 16 ? c : 16;
}
void tpl_model_free(tpl_model *m);
/* Every write of parameters (optimiser, load, copies, settings) ends with
 * this: it bumps the one version every cache is keyed by. */
void tpl_model_params_changed(tpl_model *m);
/* The mixtures' softmax temperature (annealing), a parameter like any other. */
void tpl_model_set_tau(tpl_model *m, float tau);
/* Fixed mixture weights for every task: a[L][K] per stage, in order, each
 * >= 0 (FIXED routing normalises them); a block's every mixture unit
 * (granularity.c) gets its block's weights.  Returns 0, or -1 with err naming
 * the first bad number (what says where they came from). */
int tpl_model_set_mixtures(tpl_model *m, const float *weights, size_t n, const char *what,
                           tpl_err *err);

/* Forward pass of n images (NCHW floats, normalised: tpl_batch_fill) for task t; writes
 * logits [n][classes].  Training mode keeps what the backward needs and uses
 * batch statistics.  Returns 0 or -1 with err set. */
int tpl_model_forward(tpl_model *m, int task, const float *x, int n,
                      int training, float *logits, tpl_err *err);
/* Backward of the last forward, which must have been a training forward of
 * task t at the current parameter version: adds parameter gradients into
 * m->params.grad from dlogits [n][classes].  Returns 0 or -1 with err set. */
int tpl_model_backward(tpl_model *m, int task, const float *dlogits, tpl_err *err);
/* The same with a loss on the pooled features too: dfeatures [n][C_last]
 * (NULL: none) adds to their gradient (tpl_model_features). */
int tpl_model_backward_features(tpl_model *m, int task, const float *dlogits,
                                const float *dfeatures, tpl_err *err);

/* The backward of a task finishes its gradients in parts, in this order:
 * part 0 the head; then the stages from the last to the first (part 1 +
 * n_stages - 1 - s: the stage's bank, mixture logits, BNs and transition);
 * last the stem (part 1 + n_stages).  A stage's bank is final only after
 * its first block, since every block of the stage adds into it. */
static inline int tpl_model_grad_parts(const tpl_model *m) { return m->cfg.n_stages + 2; }
/* The part in which task t's backward makes view v's gradient final, or -1
 * when the backward does not touch it (another task's, running statistics). */
int tpl_model_grad_part(const tpl_model *m, int task, int v);
/* Consumes the random draws a training forward takes from the model's own
 * stream (Gumbel noise): what a process does for a forward another runs. */
void tpl_model_skip_noise(tpl_model *m);

/* Block l of stage s as task t runs it: the mixed weights (the kind's
 * template layout; valid until the parameters or the task change). */
const float *tpl_model_block_weights(tpl_model *m, int task, int s, int l);

/* Pooled features [n][last width] of the last forward, valid until the next. */
const float *tpl_model_features(const tpl_model *m);

/* Mixture weights a[L][K] of stage s for task t (after routing): of a
 * block with several mixtures (granularity.c), their mean. */
void tpl_model_mixture(tpl_model *m, int task, int stage, float *a);

/* The routing rule of the model's config. */
tpl_route tpl_model_route(const tpl_model *m);

/* ---- tasks as units ---------------------------------------------------------
 * A new task gets its own mixture logits, BN and head, appended after the
 * model's tasks; every existing tensor is copied bit for bit, and freezing
 * everything but the new task's part keeps the old tasks' predictions
 * exactly as they were.  Which parts train is the experiment (transfer's
 * modes): the new task's logits, BN scale/shift and head (mixture, the
 * default, or a subset of them that includes the head); its head alone over a
 * frozen copy of another task's mixture and BN (a linear probe; BN running
 * statistics still follow the new data, as in every training-mode forward);
 * or everything, templates and old tasks included (a fine-tune: the old
 * tasks change).  From scratch is a fresh model, not a transfer. */
typedef enum {
    TPL_PART_LOGITS,   /* the task's mixture logits */
    TPL_PART_BN,       /* its BN scale/shift (where its blocks keep their own) */
    TPL_PART_HEAD,     /* its head */
    TPL_PART_COUNT
} tpl_train_part;
/* Sets of parts, as flags (1 << part); TPL_TRAIN_REST is every view that is
 * not one of the task's parts (templates, shared convs, other tasks), and
 * TPL_TRAIN_ALL the whole network. */
enum {
    TPL_TRAIN_LOGITS = 1 << TPL_PART_LOGITS,
    TPL_TRAIN_BN = 1 << TPL_PART_BN,
    TPL_TRAIN_HEAD = 1 << TPL_PART_HEAD,
    TPL_TRAIN_MIXTURE = TPL_TRAIN_LOGITS | TPL_TRAIN_BN | TPL_TRAIN_HEAD,
    TPL_TRAIN_REST = 1 << TPL_PART_COUNT,
    TPL_TRAIN_ALL = TPL_TRAIN_REST | TPL_TRAIN_MIXTURE,
};
/* The flags of "logits+bn+head" or any '+'-joined subset of those names;
 * -1 when a name is none of them or the list is empty. */
int tpl_train_parts_parse(const char *s);

/* A copy of src with one more task (fresh, seeded init for its own tensors). */
tpl_model *tpl_model_add_task(const tpl_model *src, const tpl_task_config *task, uint64_t seed,
                              tpl_err *err);
/* Copies task from's mixture logits and BN (scale, shift, running statistics)
 * onto task to; heads differ in classes and are left alone. */
void tpl_model_copy_task(tpl_model *m, int from, int to);
/* Task to's mixture logits and BN (scale, shift, running statistics)
 * become the mean of those of tasks from[0..n): where a new domain starts. */
void tpl_model_average_tasks(tpl_model *m, const int *from, int n, int to);
/* The same weighted: sum_j w[j] * task from[j]'s (w[0..n) sums to 1). */
void tpl_model_blend_tasks(tpl_model *m, const int *from, const float *w, int n, int to);
/* The gradient of a loss with respect to those weights, from the gradient
 * of task to's blended views (m->params.grad): dw[j] = sum over those views
 * of grad(to) . value(from[j]).  Running statistics carry no gradient. */
void tpl_model_blend_grad(const tpl_model *m, const int *from, int n, int to, double *dw);
/* How far apart the BN running statistics of tasks a and b are: the
 * symmetric KL divergence of the Gaussians they describe, averaged over
 * every BN channel (0 for equal statistics). */
double tpl_model_bn_divergence(const tpl_model *m, int a, int b);
/* Marks which views train: those in parts (TPL_TRAIN_* flags) for task;
 * running state never trains. */
void tpl_model_train_only(tpl_model *m, int task, unsigned parts);

/* Task t's class names dropped; and those of task f of from copied onto
 * task t of to (none when it has none). */
/* Task t's class names as a JSON array of strings (malloc'd), or NULL when
 * it has none or memory ran out. */
char *tpl_model_class_names_json(const tpl_model *m, int t);
void tpl_model_clear_class_names(tpl_model *m, int task);
int tpl_model_copy_class_names(tpl_model *to, int t, const tpl_model *from, int f, tpl_err *err);

/* Task t's feature moments (tpl_task_params.moments) := mq[2][C_last], or
 * whether any were recorded (a file from before them holds zeros). */
void tpl_model_set_moments(tpl_model *m, int task, const float *mq);
int tpl_model_has_moments(const tpl_model *m, int task);

/* What task t's own tensors cost (shared ones count for no task). */
tpl_task_size tpl_task_bytes(const tpl_model *m, int task);
static inline size_t tpl_task_size_total(tpl_task_size s) {
    return s.logits + s.bn + s.head;
}
#endif
