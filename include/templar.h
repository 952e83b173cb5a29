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

/* The block kinds (src/model/block_*.c):
 *   BASIC     conv3x3 -> BN -> ReLU -> conv3x3 -> BN, + skip, ReLU (ResNet's)
 *   INVERTED  MobileNetV2's inverted bottleneck: 1x1 expansion to E x C
 *             channels -> BN -> ReLU6 -> 3x3 depthwise -> BN -> ReLU -> 1x1
 *             projection -> BN, + skip; every weight and every BN's scale
 *             and shift mixed from the templates (a task keeps only their
 *             running statistics) */
typedef enum { TPL_BLOCK_BASIC = 0, TPL_BLOCK_INVERTED = 1, TPL_BLOCK_COUNT } tpl_block_type;

/* How finely a block's templates are mixed: one mixture (K logits) per
 *   BLOCK  block, for all its convolutions
 *   CONV   convolution of a block
 *   GROUP  group of mix_group output channels of each convolution
 * Finer mixtures give a task more freedom for a few more logits (a group's
 * K floats against its G x C_in x 3 x 3 shared ones). */
typedef enum { TPL_MIX_BLOCK = 0, TPL_MIX_CONV = 1, TPL_MIX_GROUP = 2, TPL_MIX_COUNT } tpl_granularity;

/* What the convolutions compute in:
 *   FP32  everything in fp32
 *   BF16  convolution inputs, weights and output gradients rounded to
 *         bfloat16, products summed in fp32 (oneDNN's AVX-512 BF16 and AMX
 *         kernels); the master weights, the template mixing, the batch
 *         norms, the loss and the optimiser stay fp32.  Needs a CPU with
 *         AVX-512 BF16 (tpl_precision_supported). */
typedef enum { TPL_PRECISION_FP32 = 0, TPL_PRECISION_BF16 = 1, TPL_PRECISION_COUNT } tpl_precision;

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
    tpl_block_type block;         /* the blocks' kind */
    int expand;                   /* INVERTED: the expansion E (hidden channels E x width) */
    tpl_granularity mix;          /* one mixture per block, conv or channel group */
    int mix_group;                /* channels of a group (GROUP only) */
    int shared_mixture;           /* 1: one mixture for every task (a hard-shared trunk) */
    int shared_head;              /* 1: one head for every task (domains of one label set) */
    float tau;                    /* softmax temperature */
    float logit_noise;            /* std of the uniform logits' seeded noise */
    float in_mean[4], in_std[4];  /* input normalisation per channel */
    tpl_precision precision;      /* of the convolutions; a model file records the one it was
                                   * trained in, and a bf16 one loads in bf16 where that is
                                   * tpl_precision_auto's pick, else in fp32
                                   * (tpl_model_set_precision changes it) */
} tpl_config;

/* "soft", "fixed-onehot", "topk", "gumbel", "fixed"; parse gives -1 for others. */
const char *tpl_routing_name(tpl_routing r);
int tpl_routing_parse(const char *name);
/* "params", "outputs"; parse gives -1 for others. */
const char *tpl_aggregation_name(tpl_aggregation a);
int tpl_aggregation_parse(const char *name);

/* "basic", "inverted"; parse gives -1 for others. */
const char *tpl_block_name(tpl_block_type b);
int tpl_block_parse(const char *name);

/* "block", "conv", "group:G" into buf (at least 24 bytes); parse reads them
 * back into *mix and *group (0 unless GROUP), returning 0, or -1 for any
 * other text (G must be a number from 1 to 1024). */
const char *tpl_granularity_format(tpl_granularity mix, int group, char *buf, size_t size);
int tpl_granularity_parse(const char *text, tpl_granularity *mix, int *group);

/* "fp32", "bf16"; parse gives -1 for others. */
const char *tpl_precision_name(tpl_precision p);
int tpl_precision_parse(const char *name);
/* 1 when this CPU runs precision p's convolutions natively (BF16: AVX-512
 * BF16 or AMX, as oneDNN sees the CPU, DNNL_MAX_CPU_ISA included). */
int tpl_precision_supported(tpl_precision p);
/* The precision "auto" means: BF16 where oneDNN has AMX kernels for it,
 * FP32 elsewhere, including CPUs with AVX-512 BF16 but no AMX, whose bf16
 * convolutions are slower than fp32's winograd ones (docs/PERFORMANCE.md). */
tpl_precision tpl_precision_auto(void);
/* The same for a network of config c: FP32 for inverted blocks, whose 1x1
 * and depthwise weight gradients oneDNN 2.6 runs four times slower in bf16
 * than in fp32 (docs/PERFORMANCE.md). */
tpl_precision tpl_precision_auto_for(const tpl_config *c);

/* Fills the defaults: isometric, width 64, 8 layers, 4 templates, 1x28x28, one task. */
void tpl_config_default(tpl_config *cfg);
/* Checks ranges and consistency; on failure names the bad field. */
int tpl_config_check(const tpl_config *cfg, tpl_err *err);

/* ---- models -------------------------------------------------------------
 * A model file (safetensors, written by templar train/transfer/adapt/export
 * or tpl_model_save) rebuilds its own network.  A model is not for use from
 * two threads at once. */
typedef struct tpl_model tpl_model;

/* A fresh model of cfg, its weights drawn from seed. */
tpl_model *tpl_model_create(const tpl_config *cfg, uint64_t seed, tpl_err *err);
tpl_model *tpl_model_load(const char *path, tpl_err *err);
/* Writes the model atomically: a reader never sees half a file, and a
 * failed write leaves an existing file as it was. */
int tpl_model_save(const tpl_model *m, const char *path, tpl_err *err);
void tpl_model_free(tpl_model *m);
const tpl_config *tpl_model_config(const tpl_model *m);
/* Runs m's convolutions in precision p from now on (its parameters stay as
 * they are; the config records p, and a saved file with it).  Returns 0, or
 * -1 with err set when the CPU cannot (tpl_precision_supported).  A model
 * created or loaded with a precision the CPU lacks runs in FP32. */
int tpl_model_set_precision(tpl_model *m, tpl_precision p, tpl_err *err);
/* Index of the task called name, or -1. */
int tpl_model_find_task(const tpl_model *m, const char *name);
/* Name of class k of task t (as its data named it: a folder, a CSV label),
 * or NULL when the task's classes have no names. */
const char *tpl_model_class_name(const tpl_model *m, int task, int k);
/* Gives task t's n classes names (copied; n = 0 drops them). */
int tpl_model_set_class_names(tpl_model *m, int task, const char *const *names, int n,
                              tpl_err *err);

/* ---- data -----------------------------------------------------------------
 * Images are uint8, NHWC (height, width, channels), of the model's input
 * size (tpl_model_config: in_height, in_width, in_channels); the model
 * normalises them itself (cfg.in_mean, cfg.in_std). */
typedef struct tpl_dataset {
    int n, h, w, c;     /* images, height, width, channels */
    int classes;        /* 1 + largest label */
    uint8_t *pixels;    /* n*h*w*c, NHWC */
    uint8_t *labels;    /* n */
} tpl_dataset;

/* n uninitialised images of h x w x c (none when n is 0); -1 when out of
 * memory (*d zeroed). */
int tpl_dataset_alloc(tpl_dataset *d, int n, int h, int w, int c, int classes);
void tpl_dataset_free(tpl_dataset *d);
/* The "train" or "test" half of an IDX directory in the MNIST layout,
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
int tpl_idx_load_dir(const char *dir, const char *split, tpl_dataset *out, tpl_err *err);
/* Per-channel mean and std over the union of sets' pixels scaled to [0, 1]:
 * what cfg.in_mean and cfg.in_std want. */
void tpl_dataset_stats_union(const tpl_dataset *const *sets, int n_sets, float *mean,
                             float *std);

/* ---- inference ------------------------------------------------------------ */

/* Class probabilities [n][classes of task] of n images.  Returns 0, or -1
 * with err set. */
int tpl_model_classify(tpl_model *m, int task, const uint8_t *pixels, int n, float *probs,
                       tpl_err *err);
/* Mean cross-entropy and accuracy of task t on all of d, in batches. */
int tpl_model_evaluate(tpl_model *m, int task, const tpl_dataset *d, int batch, double *loss,
                       double *accuracy, tpl_err *err);

/* ---- training -------------------------------------------------------------
 * tpl_fit trains a model on several tasks at once: every step trains one
 * batch of one task, the tasks in turn (round robin).  An epoch is R rounds,
 * R being the largest task's whole batches; each task walks its own
 * shuffled order and reshuffles when less than a batch is left, so a
 * smaller task is seen several times an epoch.  One task is the case R =
 * its batches.  A run is deterministic for a seed and a thread count. */
typedef enum { TPL_OPT_SGD, TPL_OPT_ADAMW, TPL_OPT_COUNT } tpl_opt_kind;
typedef enum { TPL_SCHED_CONST, TPL_SCHED_COSINE, TPL_SCHED_ONECYCLE, TPL_SCHED_COUNT } tpl_sched_kind;
/* "sgd", "adamw"; "const", "cosine", "onecycle"; parse gives -1 for others. */
const char *tpl_opt_name(tpl_opt_kind k);
int tpl_opt_parse(const char *name);
const char *tpl_sched_name(tpl_sched_kind k);
int tpl_sched_parse(const char *name);

typedef struct tpl_fit_task {
    int task;                   /* the model's task this trains */
    const tpl_dataset *train;   /* at least one batch of images */
    const tpl_dataset *test;    /* evaluated after every epoch; may be NULL */
    int crop_pad;               /* random crops: pad by this many pixels, crop back (0: off) */
    int flip;                   /* random horizontal flips */
    float rotate_deg;           /* random rotations up to this many degrees either way (0: off) */
    float scale;                /* random zooms in [1 - scale, 1 + scale] (0: off; below 1) */
    float jitter;               /* random brightness, contrast, saturation of RGB images,
                                 * each times a factor in [1 - jitter, 1 + jitter] (0: off) */
    int unlabelled;             /* labels unused: options.unsupervised's objective trains
                                 * this task (as it trains every task when set) */
} tpl_fit_task;

/* Where a run stands: handed to the callbacks. */
typedef struct tpl_fit_task_report {
    double train_loss, train_acc;  /* this epoch so far */
    long train_images;             /* this epoch so far */
    double test_loss, test_acc;    /* the last test; tested is 0 before the first */
    int tested;
} tpl_fit_task_report;

typedef struct tpl_fit_report {
    long step, total;           /* steps done, steps in all */
    long per_epoch;             /* steps an epoch */
    int epoch, epochs;          /* the epoch under way (1-based), and how many */
    float lr;                   /* of the next step */
    double loss, acc;           /* the last step's loss and accuracy, of task last_task */
    int last_task;              /* index into the tasks given to tpl_fit */
    double train_loss, train_acc; /* this epoch so far, over every task's images */
    double elapsed_s;           /* since tpl_fit began */
    double epoch_img_s;         /* images a second this epoch */
    int stopped;                /* should_stop ended the run early */
    int n_tasks;
    tpl_fit_task_report task[TPL_MAX_TASKS];
} tpl_fit_report;

/* Where a run stands, enough to continue it bit for bit: the step, the
 * optimiser's state, every random stream, each task's data order.  Held by
 * tpl_fit while it runs; on_save hands it out, and a state read back from a
 * checkpoint (templar's CLI writes them into the model file) resumes a run. */
typedef struct tpl_fit_state tpl_fit_state;

/* A group of processes that train one model together (templar_mpi.h makes
 * one on MPI). */
typedef struct tpl_comm tpl_comm;

typedef struct tpl_fit_options {
    int batch;                  /* images a step [64] */
    int epochs;                 /* [5] */
    long steps;                 /* > 0: this many steps, overriding epochs [0] */
    int eval_batch;             /* [250] */
    uint64_t seed;              /* of shuffles, augmentation and noise [1] */
    tpl_opt_kind optim;         /* [SGD, Nesterov momentum] */
    tpl_sched_kind schedule;    /* [ONECYCLE] */
    float lr, warmup;           /* peak learning rate [0.1], warm-up fraction [0.15] */
    float logit_lr;             /* mixture logits learn at lr * this [1] */
    float momentum, weight_decay; /* [0.9], [5e-4] (conv, template and head weights) */
    float tau_end;              /* > 0: anneal tau geometrically to this [0] */
    float entropy;              /* weight of the mixtures' mean entropy in the loss [0] */
    int unsupervised;           /* labels unused: information maximisation [0] */
    int infomax;                /* 0: no information maximisation without labels [1] */
    float diversity;            /* its weight of the mean prediction's entropy [1] */
    /* > 0: without labels, also match the first and second moments of the
     * pooled features to the mean of tasks moments_from[0..n_moments_from)'s
     * recorded ones (M3SDA's moment matching), with this weight [0].  Those
     * of them trained in the run with labels update their record as they
     * go; the others keep theirs (source-free).  tpl_fit records every
     * task's moments from its training images when it ends.  One process. */
    float moments;
    const int *moments_from;
    int n_moments_from;
    /* > 0 (with unsupervised): SHOT's self-training, cross-entropy against
     * pseudo-labels from class centroids of the features, made afresh at
     * every epoch's start, beside information maximisation with this
     * weight [0]; one process only */
    float pseudo;
    /* Divergence: tpl_fit fails ("training diverged at step S: ...") when a
     * task's loss is not finite; when its loss, smoothed over ~10 steps,
     * stays over diverge_factor times its best and over a uniform guess's
     * for diverge_steps of the task's steps in a row; or when, after
     * warm-up, its training accuracy over diverge_steps steps falls back to
     * chance after it had learned.  diverge_factor 0: only non-finite
     * losses; with unsupervised, so too. */
    float diverge_factor;       /* [10] */
    int diverge_steps;          /* [50] */
    /* Callbacks, each optional; user is handed back to them. */
    void (*on_step)(const tpl_fit_report *r, void *user);  /* after every step */
    void (*on_epoch)(const tpl_fit_report *r, void *user); /* after every epoch's tests */
    int (*should_stop)(void *user);  /* non-zero: stop before the next step */
    /* Every save_every steps (> 0), and when should_stop ends the run: the
     * state to keep; a non-zero return ends the run with that error. */
    int save_every;
    int (*on_save)(const tpl_fit_state *s, void *user, tpl_err *err);
    const tpl_fit_state *resume;     /* continue from this state (same tasks and options) */
    void *user;
    /* Every step trains one batch of every task, their gradients summed,
     * one optimiser update a step (an epoch is then R steps) [0] */
    int task_parallel;
    /* Several processes [NULL: this one alone].  Each calls tpl_fit with the
     * same model, tasks and options.  Without task_parallel (data
     * parallel), a step's batch of `batch` images is shared out among them
     * in order, each process making the images (shuffle, augmentation) the
     * lone process would, and the gradients are summed: the same run as
     * one process's, up to rounding and to the BN statistics, which are
     * each process's own share's unless sync_bn.  With task_parallel, task
     * i trains on process i % size, and only the shared parameters'
     * gradients travel.  on_step, on_epoch and on_save run on process 0
     * alone; should_stop on every process, and any one's stop stops all; a
     * failure on any process fails tpl_fit on every one.  On return every
     * process holds the whole model (each task's part from its process,
     * per-process BN statistics averaged). */
    tpl_comm *comm;
    int sync_bn;                /* BN statistics of the whole batch, not each process's share */
} tpl_fit_options;

void tpl_fit_options_default(tpl_fit_options *o);
/* Trains m on tasks[0..n): returns 0 (also when should_stop ended it
 * early: *final says how far it got), or -1 with err set (a task's data
 * that does not fit the model, divergence, out of memory).  final may be
 * NULL.  The model's trainable views are the ones that train. */
int tpl_fit(tpl_model *m, const tpl_fit_task *tasks, int n, const tpl_fit_options *o,
            tpl_fit_report *final, tpl_err *err);

/* ---- memory -------------------------------------------------------------
 * What a model of cfg takes, in bytes, estimated from the config alone
 * (nothing is allocated): for a batch of `batch` images, training (with the
 * state of optimiser optim) or not.  A floor: the libraries' own scratch is
 * not counted. */
typedef struct tpl_memory {
    size_t params;       /* parameters and their gradients */
    size_t optimiser;    /* training: momentum, and AdamW's second moments */
    size_t mixing;       /* the blocks' mixed weights and mixtures */
    size_t convs;        /* the convolutions' reordered weights, small-batch eval caches */
    size_t activations;  /* the batch: inputs, activations, gradients */
    size_t total;
} tpl_memory;
/* Returns 0, or -1 with err set when cfg fails tpl_config_check. */
int tpl_memory_estimate(const tpl_config *cfg, int batch, int training, tpl_opt_kind optim,
                        tpl_memory *out, tpl_err *err);
/* The most a model may take, in bytes, for the whole process (0, the
 * default: what the system has available, its MemAvailable or a smaller
 * cgroup limit, read when the check is made).  tpl_model_create (and so
 * tpl_model_load) checks the model with one image, tpl_fit its training
 * batch, tpl_model_evaluate its batch; each refuses with the figures
 * ("needs N MiB (...), M MiB available") before allocating. */
void tpl_set_memory_limit(size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
