/* Training and evaluation steps over datasets: the one-way flow
 * data -> model(bank, mixtures) -> loss -> backward -> optimiser. */
#ifndef TPL_TRAIN_H
#define TPL_TRAIN_H
#include "data.h"
#include "model.h"
#include "loss.h"
#include "optim.h"

typedef struct tpl_step_result {
    double loss;
    int correct, n;
} tpl_step_result;

/* Scratch for batches: inputs, labels, logits, their gradient. */
typedef struct tpl_batch {
    int cap, classes;
    float *x, *logits, *dlogits;
    int *y, *idx;
    double *loss_scratch;  /* the unsupervised loss's (loss.h) */
    float *fscratch;       /* cap x classes: the pseudo-label loss's */
    float *dfeatures;      /* cap x last width: the moment loss's gradient */
} tpl_batch;

int tpl_batch_init(tpl_batch *b, const tpl_model *m, int cap);
void tpl_batch_free(tpl_batch *b);
/* Loads images [i0, min(i0 + b->cap, end)) of d into b, normalised and not
 * augmented (evaluation and statistics passes); returns how many. */
int tpl_batch_range(tpl_batch *b, const tpl_model *m, const tpl_dataset *d, int i0, int end);

/* What a step adds to plain training: augmentation (NULL: none) and the
 * weight of the mixtures' mean entropy in the loss (0: none). */
typedef struct tpl_step_opts {
    const tpl_augment *aug;
    float entropy;
    int unsupervised;  /* labels unused: the terms below (loss.h) make the loss */
    int infomax;       /* unsupervised: information maximisation (else no loss on the logits) */
    float diversity;   /* its weight of the mean prediction's entropy */
    const int *pseudo; /* unsupervised: pseudo-labels of the data set's images, or NULL */
    float pseudo_weight; /* their cross-entropy's weight beside information maximisation */
    const float *moments; /* unsupervised: [2][last width] the pooled features' moments
                           * should match (tpl_moments_forward_backward), or NULL */
    float moments_weight;
} tpl_step_opts;

/* The state tpl_fit hands out (templar.h): borrowed from the running loop
 * in on_save; owned (tpl_fit_state_free) when read back from a file. */
struct tpl_fit_state {
    long step;
    tpl_rng rng, noise;       /* the loop's stream; the model's Gumbel stream */
    float tau_start;          /* tau before annealing */
    double elapsed_s;
    long opt_step;
    size_t numel;             /* of the optimiser's buffers: the parameters' */
    float *opt_m, *opt_v;     /* first and second moments (v: AdamW only, else NULL) */
    int n_tasks;
    struct {
        int n, pos;           /* training images; next unused place in perm */
        int *perm;            /* [n]: the task's shuffled order */
        tpl_step_result sum;  /* this epoch's training so far */
    } task[TPL_MAX_TASKS];
};
void tpl_fit_state_free(tpl_fit_state *s);

/* One update of every trainable parameter of m from its gradients: the
 * optimiser's step, then the model's new parameter version. */
void tpl_optim_update(tpl_optim *o, tpl_model *m);

/* One optimisation step on images idx[0..n) of d for task t.  r->loss is
 * the cross-entropy alone. */
int tpl_train_step(tpl_model *m, tpl_optim *o, int task, const tpl_dataset *d,
                   const int *idx, int n, const tpl_step_opts *so, tpl_rng *rng,
                   tpl_batch *b, tpl_step_result *r, tpl_err *err);

/* Eval-mode pooled features of d's first n images under task t, into
 * f[n][last width], and, when p is not NULL, their predictions (softmax)
 * into p[n][classes]; in batches of b->cap. */
int tpl_features(tpl_model *m, int task, const tpl_dataset *d, int n, tpl_batch *b, float *f,
                 float *p, tpl_err *err);
/* Task t's feature moments (model.h: tpl_task_params.moments) recorded
 * from its eval-mode pooled features on every image of d. */
int tpl_record_moments(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b,
                       tpl_err *err);
/* Moments mq[2][dim] of n rows f[n][dim] folded into a running record:
 * mq = (1 - rate) * mq + rate * those of f (rate 1: replaced). */
void tpl_moments_update(int n, int dim, const float *f, float rate, float *mq);
/* The mean of tasks[0..n)'s recorded moments, into mq[2][last width]. */
void tpl_moments_mean(const tpl_model *m, const int *tasks, int n, float *mq);
/* Task t's record itself, for a running update (state: no version bump,
 * as BN running statistics take none: the forward does not read it). */
float *tpl_model_moments(tpl_model *m, int task);

/* Pseudo-labels of every image of d under task t (tpl_centroid_labels on
 * eval-mode features and predictions), into labels[d->n]. */
int tpl_pseudo_labels(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b, int *labels,
                      tpl_err *err);

/* Re-estimates task t's BN running statistics on up to max_images of d
 * (training-mode forwards, the batches' statistics averaged exactly). */
int tpl_bn_recalibrate(tpl_model *m, int task, const tpl_dataset *d, int max_images,
                       tpl_batch *b, tpl_err *err);

/* Loss and accuracy of task t on all of d, in batches of b->cap; with
 * confusion ([classes][classes], row = true class, column = predicted)
 * non-NULL, the predictions are counted into it too. */
int tpl_evaluate(tpl_model *m, int task, const tpl_dataset *d, tpl_batch *b,
                 tpl_step_result *r, long *confusion, tpl_err *err);

/* Checks that a dataset's images have the model's input shape. */
int tpl_dataset_check_shape(const tpl_model *m, const tpl_dataset *d, const char *what,
                            tpl_err *err);
/* Checks that a dataset fits a task of the model (shape, labels). */
int tpl_dataset_check(const tpl_model *m, int task, const tpl_dataset *d,
                      const char *what, tpl_err *err);
/* How well each of the first n_tasks tasks' features separate d's classes:
 * nearest-class-mean accuracy of the pooled features (eval mode, task u's
 * mixture and BN) on up to max_images of d, into score[u].  Returns the best
 * task, or -1 with err set. */
int tpl_closest_task(tpl_model *m, int n_tasks, const tpl_dataset *d, int max_images,
                     double *score, tpl_err *err);

/* Where an unlabelled target task starts (templar adapt --init): the mean
 * of the sources' mixtures and BN, or the one source that, started from
 * and with its BN statistics re-estimated on the target's images, makes
 * the most confident predictions there (lowest mean entropy), keeps its
 * BN statistics closest to the source's own (tpl_model_bn_divergence), or
 * has the lowest product of the two (both: a source can be confidently
 * wrong on a far domain, or close in statistics and unsure); or a convex
 * blend of every source's (combine: weights learned on the target's
 * images by information maximisation, from the both rule's pick). */
typedef enum {
    TPL_START_MEAN,
    TPL_START_CONFIDENT,
    TPL_START_CLOSEST,
    TPL_START_BOTH,
    TPL_START_COMBINE,
    TPL_START_COUNT
} tpl_start_rule;
int tpl_start_rule_find(const char *name); /* -1 when no rule has the name */
const char *tpl_start_rule_name(tpl_start_rule r);
/* Starts task `to` of m by rule over tasks sources[0..n) on up to
 * bn_images of the target's images d (each source scored with its BN
 * statistics re-estimated on them); score[j] is source j's figure (lower
 * is better; not set by mean; combine: its weight).  Task `to` is left as
 * the chosen source's copy (or the mean, or the blend), statistics
 * included.  Returns the source index chosen (n for the mean and the
 * blend), or -1 with err set. */
int tpl_start_pick(tpl_model *m, const int *sources, int n, int to, tpl_start_rule rule,
                   const tpl_dataset *d, int bn_images, tpl_batch *b, double *score,
                   tpl_err *err);

#endif
