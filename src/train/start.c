/* Where an unlabelled target task starts (see train.h): a blind mean of
 * the sources' mixtures and BN can make a path no source ever trained, so
 * each source is tried as the start on the target's own images, with no
 * label, and the rule keeps the one the evidence points to. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "names.h"
#include "train.h"

static const char *const rule_names[] = {
    [TPL_START_MEAN] = "mean", [TPL_START_CONFIDENT] = "confident", [TPL_START_CLOSEST] = "closest",
    [TPL_START_BOTH] = "both"};
static_assert(sizeof rule_names / sizeof *rule_names == TPL_START_COUNT, "a rule without a name");

int tpl_start_rule_find(const char *name) { return tpl_name_find(rule_names, TPL_START_COUNT, name); }
const char *tpl_start_rule_name(tpl_start_rule r) { return rule_names[r]; }

/* Mean entropy (nats) of task t's predictions on up to max_images of d
 * (eval mode). */
static int prediction_entropy(tpl_model *m, int t, const tpl_dataset *d, int max_images,
                              tpl_batch *b, double *out, tpl_err *err) {
    const int n = d->n < max_images ? d->n : max_images, classes = m->cfg.task[t].classes;
    double sum = 0.0;
    for (int i0 = 0; i0 < n; i0 += b->cap) {
        const int k = tpl_batch_range(b, m, d, i0, n);
        if (tpl_model_forward(m, t, b->x, k, 0, b->logits, err)) return -1;
        for (int i = 0; i < k; i++) {
            const float *z = b->logits + (size_t)i * classes;
            double top = z[0], total = 0.0, weighted = 0.0;
            for (int c = 1; c < classes; c++) top = fmax(top, z[c]);
            for (int c = 0; c < classes; c++) {
                const double e = exp(z[c] - top);
                total += e, weighted += e * (z[c] - top);
            }
            sum += log(total) - weighted / total; /* -sum p log p */
        }
    }
    *out = n ? sum / n : 0.0;
    return 0;
}

/* Task `to` starts at source s: its mixture and BN, statistics re-estimated
 * on d (AdaBN); *score is the rule's figure for it, lower is better. */
static int try_source(tpl_model *m, int s, int to, tpl_start_rule rule, const tpl_dataset *d,
                      int bn_images, tpl_batch *b, double *score, tpl_err *err) {
    tpl_model_copy_task(m, s, to);
    if (tpl_bn_recalibrate(m, to, d, bn_images, b, err)) return -1;
    const double divergence = tpl_model_bn_divergence(m, s, to);
    if (rule == TPL_START_CLOSEST) {
        *score = divergence;
        return 0;
    }
    if (prediction_entropy(m, to, d, bn_images, b, score, err)) return -1;
    /* both: a product, so that neither figure's scale decides */
    if (rule == TPL_START_BOTH) *score *= divergence;
    return 0;
}

int tpl_start_pick(tpl_model *m, const int *sources, int n, int to, tpl_start_rule rule,
                   const tpl_dataset *d, int bn_images, tpl_batch *b, double *score,
                   tpl_err *err) {
    if (rule == TPL_START_MEAN) {
        tpl_model_average_tasks(m, sources, n, to);
        return n;
    }
    int best = -1;
    for (int j = 0; j < n; j++) {
        if (try_source(m, sources[j], to, rule, d, bn_images, b, &score[j], err)) return -1;
        if (best < 0 || score[j] < score[best]) best = j;
    }
    tpl_model_copy_task(m, sources[best], to); /* as the source left it */
    return best;
}
