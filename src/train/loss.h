/* Losses of training: supervised, unsupervised and regularisers, each
 * forward beside its backward (the gradient written with the value). */
#ifndef TPL_LOSS_H
#define TPL_LOSS_H
#include "model.h"

/* ---- softmax cross-entropy, mean over the batch -------------------------
 * Returns the mean loss; writes dlogits = (softmax - onehot) / n when
 * dlogits is non-NULL; counts correct arg-max predictions into *correct. */
double tpl_xent_forward_backward(int n, int classes, const float *logits,
                                const int *labels, float *dlogits,
                                int *correct);
/* The same for n images of a batch of total (the rest elsewhere): returns
 * the sum of their losses; dlogits = (softmax - onehot) / total, their
 * share of the gradient of the batch's mean loss. */
double tpl_xent_part_backward(int n, int total, int classes, const float *logits,
                              const int *labels, float *dlogits, int *correct);

/* Adds x[0..n) up over the processes a batch is spread over (collective). */
typedef void (*tpl_sum_fn)(void *user, double *x, int n);

/* ---- information maximisation: the unsupervised loss of adaptation -------
 * L = mean_i H(p_i) - diversity * H(mean_i p_i), p_i = softmax(logits_i):
 * confident predictions, spread over the classes.  Returns L; writes dL/dz
 * when dlogits is non-NULL.  scratch holds TPL_INFOMAX_SCRATCH(n, classes)
 * doubles. */
#define TPL_INFOMAX_SCRATCH(n, classes) ((size_t)(n) * (classes) + (classes) + 1)
double tpl_infomax_forward_backward(int n, int classes, const float *logits, float diversity,
                                    float *dlogits, double *scratch);
/* The same for n images of a batch of total spread over processes: sum
 * (NULL: alone) adds the mean prediction's parts up; returns the whole
 * batch's L; dlogits is these images' share of its gradient. */
double tpl_infomax_part_backward(int n, int total, int classes, const float *logits,
                                 float diversity, float *dlogits, double *scratch,
                                 tpl_sum_fn sum, void *user);

/* ---- self-training on pseudo-labels (SHOT) ----------------------------------
 * L = infomax + weight * cross-entropy against labels[n] (the pseudo-labels
 * of the batch's images); dlogits the sum of both gradients.  scratch as
 * infomax's, plus n x classes floats in fscratch. */
double tpl_pseudo_forward_backward(int n, int classes, const float *logits, const int *labels,
                                   float weight, float diversity, float *dlogits,
                                   double *scratch, float *fscratch);
/* Pseudo-labels of n images from their pooled features f[n][dim] and
 * predictions p[n][classes]: each image takes the class whose centroid is
 * nearest in cosine, the centroids first weighted by the predictions, then
 * once more from those labels (SHOT's clustering); a class no image takes
 * keeps its weighted centroid.  Returns 0, or -1 when out of memory. */
int tpl_centroid_labels(int n, int dim, int classes, const float *f, const float *p,
                        int *labels);

/* ---- moment matching (M3SDA's, source-free) ------------------------------
 * L = mean_c (mean_i f_ic - target[c])^2 + (mean_i f_ic^2 - target[dim + c])^2
 * over the pooled features f[n][dim] of a batch, against the first and
 * second moments of features a source recorded (target[2][dim]).  Returns
 * L; writes df = dL/df when df is non-NULL. */
double tpl_moments_forward_backward(int n, int dim, const float *f, const float *target,
                                    float *df);

/* Entropy H = -sum_k a_k log a_k of a mixture (nats); da[k] = dH/da_k
 * (may be NULL).  Zero weights count as 0 log 0 = 0. */
double tpl_entropy_forward_backward(int k, const float *a, float *da);


/* Mean entropy of task t's mixtures (every block's, or every unit's of finer
 * granularities); with weight != 0 adds
 * weight * its gradient into the logits' gradients (after the backward). */
double tpl_mixture_entropy(tpl_model *m, int task, float weight);

#endif
