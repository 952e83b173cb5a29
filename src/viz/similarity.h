/* The numbers templar inspect prints about mixtures: how similar two tasks'
 * mixtures of one block are, and what that says about the block. */
#ifndef TPL_SIMILARITY_H
#define TPL_SIMILARITY_H

/* 1 - Jensen-Shannon divergence, in bits, of two distributions over k items:
 * the divergence with log2 lies in [0, 1], so the similarity does too (1 =
 * the same mixture, 0 = mixtures on disjoint templates).  Unlike KL it is
 * symmetric and finite when one task gives a template zero weight. */
double tpl_js_similarity(const float *p, const float *q, int k);

/* Verdict on a block from its tasks' mean similarity. */
#define TPL_SHARED_MIN 0.9        /* at least this: the tasks use one mixture */
#define TPL_SPECIALISED_BELOW 0.6 /* under this: each task has its own */
typedef enum { TPL_SHARED, TPL_PARTLY_SHARED, TPL_SPECIALISED, TPL_N_SHARING } tpl_sharing;
tpl_sharing tpl_sharing_of(double mean_similarity);
const char *tpl_sharing_name(tpl_sharing v); /* "shared", "partly shared", "specialised" */
#endif
