/* Feature moments and moment matching (adapt --objective moments): tpl_fit
 * records every task's moments when it ends, as the mean and mean square
 * of its eval-mode pooled features; an unlabelled task trained on the
 * moment loss alone moves its features' moments towards a source's,
 * source-free (the source's record) or joint (the source training beside
 * it); a source with no record and no labels in the run is refused, and so
 * is a spread run.  The loss's gradient is checked in test_grad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loss.h"
#include "stripes.h"
#include "train.h"

enum { SIDE = 12, BATCH = 16 };

/* The source's stripes, and the target: the same stripes, darker and with
 * less contrast (a domain shift the labels survive). */
static void domains(tpl_dataset *src, tpl_dataset *dst) {
    stripes_dataset(src, 96, SIDE, 4, 11);
    stripes_dataset(dst, 96, SIDE, 4, 12);
    for (size_t i = 0; i < (size_t)dst->n * SIDE * SIDE; i++)
        dst->pixels[i] = (uint8_t)(20 + dst->pixels[i] / 3);
}

static tpl_model *two_tasks(const tpl_dataset *src, tpl_err *err) {
    tpl_config c;
    tpl_config_default(&c);
    c.in_height = c.in_width = SIDE;
    c.stem_stride = 1;
    c.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 2};
    c.n_tasks = 2, c.shared_head = 1;
    c.task[0] = (tpl_task_config){.name = "source", .classes = 4};
    c.task[1] = (tpl_task_config){.name = "target", .classes = 4};
    tpl_dataset_stats(src, c.in_mean, c.in_std);
    return tpl_model_create(&c, 3, err);
}

/* The moment loss of task t's eval-mode features on d against task u's
 * record; with adabn, t's BN statistics first re-estimated on d (so that
 * what AdaBN alone does is not counted). */
static double distance(tpl_model *m, int t, const tpl_dataset *d, int u, int adabn) {
    tpl_batch b;
    tpl_err err;
    const int dim = 16;
    float *f = malloc(sizeof(float) * (size_t)d->n * dim);
    CHECK(tpl_batch_init(&b, m, BATCH) == 0 && f);
    CHECK_MSG(!adabn || tpl_bn_recalibrate(m, t, d, d->n, &b, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_features(m, t, d, d->n, &b, f, NULL, &err) == 0, "%s", err.msg);
    const double l = tpl_moments_forward_backward(d->n, dim, f, tpl_model_moments(m, u), NULL);
    tpl_batch_free(&b);
    free(f);
    return l;
}

/* The record is the features' own mean and mean square. */
static void check_record(tpl_model *m, const tpl_dataset *d) {
    CHECK(tpl_model_has_moments(m, 0));
    const double l = distance(m, 0, d, 0, 0);
    /* matching moments leave only the variance of the mean square's estimate: none */
    CHECK_MSG(l < 1e-9, "the recorded moments are not the features' own: loss %g", l);
}

static void options(tpl_fit_options *o, int steps) {
    tpl_fit_options_default(o);
    o->batch = BATCH, o->eval_batch = BATCH, o->steps = steps, o->lr = 0.05f;
}

int main(void) {
    tpl_dataset src, dst;
    domains(&src, &dst);
    tpl_err err = {{0}};
    tpl_model *m = two_tasks(&src, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return check_summary("test_moments");
    tpl_fit_options o;
    options(&o, 40);
    tpl_fit_task source = {.task = 0, .train = &src};
    CHECK(!tpl_model_has_moments(m, 0) && !tpl_model_has_moments(m, 1));
    CHECK_MSG(tpl_fit(m, &source, 1, &o, NULL, &err) == 0, "supervised: %s", err.msg);
    check_record(m, &src);
    CHECK(!tpl_model_has_moments(m, 1));

    /* source-free: the target's logits and BN learn to match the record */
    tpl_model_copy_task(m, 0, 1);
    tpl_model_train_only(m, 1, TPL_TRAIN_LOGITS | TPL_TRAIN_BN);
    tpl_fit_task target = {.task = 1, .train = &dst, .unlabelled = 1};
    const int from_source = 0, from_target = 1;
    options(&o, 30);
    o.infomax = 0, o.moments = 1.0f, o.moments_from = &from_target, o.n_moments_from = 1;
    CHECK(tpl_fit(m, &target, 1, &o, NULL, &err) != 0 &&
          strstr(err.msg, "no feature moments recorded"));
    o.moments_from = &from_source;
    const double before = distance(m, 1, &dst, 0, 1);
    CHECK_MSG(tpl_fit(m, &target, 1, &o, NULL, &err) == 0, "source-free: %s", err.msg);
    const double after = distance(m, 1, &dst, 0, 1);
    CHECK_MSG(after < 0.5 * before, "moment matching: the loss went from %g to %g", before, after);
    CHECK(tpl_model_has_moments(m, 1)); /* recorded at the end too */

    /* joint: the source trains beside it and its record follows */
    tpl_model_train_only(m, 1, TPL_TRAIN_ALL);
    const tpl_fit_task both[2] = {source, target};
    CHECK_MSG(tpl_fit(m, both, 2, &o, NULL, &err) == 0, "joint: %s", err.msg);
    check_record(m, &src);
    o.task_parallel = 1;
    CHECK(tpl_fit(m, both, 2, &o, NULL, &err) != 0 && strstr(err.msg, "moment matching"));
    tpl_model_free(m);
    tpl_dataset_free(&src), tpl_dataset_free(&dst);
    return check_summary("test_moments");
}
