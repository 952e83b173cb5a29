/* Transfer: a new task over a trained model's templates.
 *
 * The new task gets its own mixture logits, BN and head, appended after the
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
#ifndef TPL_TRANSFER_H
#define TPL_TRANSFER_H
#include "data.h"
#include "model.h"

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

/* How well each of the first n_tasks tasks' features separate d's classes:
 * nearest-class-mean accuracy of the pooled features (eval mode, task u's
 * mixture and BN) on up to max_images of d, into score[u].  Returns the best
 * task, or -1 with err set. */
int tpl_closest_task(tpl_model *m, int n_tasks, const tpl_dataset *d, int max_images,
                     double *score, tpl_err *err);

/* Bytes of task t's views of the given kinds (a bit set of 1 << tpl_kind). */
size_t tpl_task_bytes(const tpl_params *p, int task, unsigned kinds);
#define TPL_KINDS(a) (1u << (a))
#endif
