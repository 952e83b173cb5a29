/* The training step when one step's work is spread over processes (a
 * communicator, comm.h) or over tasks (tpl_fit's task_parallel): who trains
 * what, gradient sums that overlap the backward, synchronised BN, the
 * agreement on failures and stops, and gathering the model back together.
 * Without a communicator it is the one-process step over several tasks. */
#ifndef TPL_DIST_H
#define TPL_DIST_H
#include "comm.h"
#include "train.h"

/* The gradients summed across processes in a backward of one model task:
 * the views (trainable, and shared or, data parallel, the task's own) in
 * the order their parts (tpl_model_grad_part) finish, each part packed into
 * its range of one buffer and summed as soon as that part of the step's
 * last backward is done. */
#define TPL_GRAD_PARTS (TPL_MAX_STAGES + 2)
typedef struct tpl_grad_plan {
    int task;                        /* model task of the backward */
    int *views;                      /* part by part */
    int first[TPL_GRAD_PARTS + 1];   /* part q: views[first[q]..first[q + 1]) */
    size_t at[TPL_GRAD_PARTS + 1];   /* and floats [at[q], at[q + 1]) of the buffer */
} tpl_grad_plan;

typedef struct tpl_dist {
    tpl_comm *comm;              /* NULL: one process */
    int rank, size;
    int task_parallel, sync_bn;
    tpl_model *m;
    tpl_bn_sync bn;              /* the model's bn_sync while training, with sync_bn */
    double *bn_scratch;          /* [size + 1][1 + 2 * widest BN] */
    tpl_grad_plan plan[TPL_MAX_TASKS]; /* a fit task's each (task parallel: one) */
    int n_plans;
    const tpl_grad_plan *cur;    /* of the step under way */
    float *pack;                 /* the largest plan's floats */
    int started[TPL_GRAD_PARTS]; /* parts whose sums are under way */
    int hooks_on;                /* the backward under way starts sums */
    int failed;                  /* this process's step failed */
} tpl_dist;

/* One batch of a task in a step: the model task and its data, its images
 * (batch of n, the whole step's batch on every process), its step options. */
typedef struct tpl_dist_work {
    int task;
    const tpl_dataset *d;
    const int *idx;
    int n;
    tpl_step_opts so;
} tpl_dist_work;

/* For training model tasks tasks[0..n) (the fit tasks, in order). */
int tpl_dist_init(tpl_dist *d, tpl_model *m, tpl_comm *comm, const int *tasks, int n,
                  int task_parallel, int sync_bn, tpl_err *err);
void tpl_dist_free(tpl_dist *d);

/* Whether this process trains fit task i (task parallel: i % size), and
 * its share [*first, *first + *count) of a batch of n images of it. */
int tpl_dist_owns(const tpl_dist *d, int i);
void tpl_dist_share(const tpl_dist *d, int i, int n, int *first, int *count);

/* Whether any process's flag is set; 0 or the flag alone without a group. */
int tpl_dist_any(tpl_dist *d, int flag);
/* tpl_comm_agree, or the failure itself without a group. */
int tpl_dist_agree(tpl_dist *d, int failed, tpl_err *err);

/* One optimiser step on w[0..n) (fit tasks first..first + n - 1): each
 * process's share of every batch, forward, loss (the mean over the whole
 * batch), backward, the gradients summed over the processes, each task's
 * mixture entropy, the update.  The rng draws every image's augmentation,
 * in order, on every process.  res[i] is task i's result over the whole
 * batch, on every process. */
int tpl_dist_step(tpl_dist *d, tpl_optim *o, const tpl_dist_work *w, int first, int n,
                  tpl_rng *rng, tpl_batch *b, tpl_step_result *res, tpl_err *err);

/* Fit task i's test: each process a share (task parallel: its owner
 * alone), the result over all of d on every process. */
int tpl_dist_evaluate(tpl_dist *d, int i, int task, const tpl_dataset *data, tpl_batch *b,
                      tpl_step_result *r, tpl_err *err);

/* Every process starts from process 0's parameters, running statistics
 * and optimiser state: processes that made their start on their own (a
 * rule over the data, threads of their own) may differ in the last bits. */
void tpl_dist_same_start(tpl_dist *d, tpl_optim *o);

/* Makes every process's model (and optimiser state) the whole one: the
 * fit tasks' parts from their processes (task parallel), the per-process
 * BN statistics of the tasks averaged (data parallel without sync_bn).
 * tasks[0..n) are the fit tasks' model tasks. */
void tpl_dist_gather(tpl_dist *d, tpl_optim *o, const int *tasks, int n);
#endif
