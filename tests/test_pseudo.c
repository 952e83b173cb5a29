/* Pseudo-labels (SHOT's self-training, adapt --objective pseudo): class
 * centroids of the features recover clusters that the predictions get
 * partly wrong; tpl_fit makes them for an unsupervised task and trains on
 * them; spread over processes or tasks it refuses.  The loss's gradient
 * is checked in test_grad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loss.h"
#include "rng.h"
#include "stripes.h"
#include "train.h"

/* Three clusters around orthogonal directions in 8 dimensions, scaled
 * freely (cosine ignores the scale); the predictions favour the true class
 * for two images in three and a wrong one for the third. */
static void test_centroids(void) {
    enum { N = 300, DIM = 8, K = 3 };
    static float f[N * DIM], p[N * K];
    int truth[N], labels[N];
    tpl_rng r;
    tpl_rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        truth[i] = i % K;
        const float scale = 0.5f + 3.0f * tpl_rng_uniform(&r);
        for (int d = 0; d < DIM; d++)
            f[i * DIM + d] = scale * ((d == truth[i]) + 0.2f * tpl_rng_normal(&r));
        const int said = i / K % 3 == 2 ? (truth[i] + 1) % K : truth[i];
        for (int k = 0; k < K; k++) p[i * K + k] = k == said ? 0.6f : 0.2f;
    }
    CHECK(tpl_centroid_labels(N, DIM, K, f, p, labels) == 0);
    int right = 0;
    for (int i = 0; i < N; i++) right += labels[i] == truth[i];
    CHECK_MSG(right >= N * 98 / 100, "centroid labels: %d of %d right (the predictions: %d)", right,
              N, N * 2 / 3);
    /* a class no prediction favours and no image is nearest to: no label */
    for (int i = 0; i < N; i++) p[i * K + 2] = 0.0f, p[i * K] = 0.5f, p[i * K + 1] = 0.5f;
    CHECK(tpl_centroid_labels(N, DIM, K, f, p, labels) == 0);
    int twos = 0;
    for (int i = 0; i < N; i++) twos += labels[i] == 2;
    CHECK_MSG(twos == 0, "%d images labelled with a class of no weight", twos);
}

static void config(tpl_config *c, const tpl_dataset *d) {
    tpl_config_default(c);
    c->in_height = c->in_width = 12;
    c->stem_stride = 1;
    c->stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 2};
    c->task[0].classes = 4;
    tpl_dataset_stats(d, c->in_mean, c->in_std);
}

/* A model trained with labels, then self-trained without them: tpl_fit
 * runs, and the pseudo-labels it trains on are the centroids'. */
static void test_fit(const tpl_dataset *d) {
    tpl_config c;
    config(&c, d);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&c, 3, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    tpl_fit_task t = {.task = 0, .train = d, .test = d};
    tpl_fit_options o;
    tpl_fit_options_default(&o);
    o.batch = 16, o.eval_batch = 16, o.steps = 30, o.lr = 0.05f;
    tpl_fit_report rep;
    CHECK_MSG(tpl_fit(m, &t, 1, &o, &rep, &err) == 0, "supervised: %s", err.msg);
    o.unsupervised = 1, o.pseudo = 0.3f, o.steps = 8;
    CHECK_MSG(tpl_fit(m, &t, 1, &o, &rep, &err) == 0, "pseudo: %s", err.msg);
    tpl_batch b;
    int *labels = malloc(sizeof(int) * d->n);
    CHECK(tpl_batch_init(&b, m, 16) == 0);
    CHECK_MSG(tpl_pseudo_labels(m, 0, d, &b, labels, &err) == 0, "%s", err.msg);
    int agree = 0;
    for (int i = 0; i < d->n; i++) agree += labels[i] == d->labels[i];
    CHECK_MSG(agree > d->n / 2, "pseudo-labels agree with the truth on %d of %d", agree, d->n);
    o.task_parallel = 1;
    CHECK(tpl_fit(m, &t, 1, &o, &rep, &err) != 0 && strstr(err.msg, "pseudo-labels"));
    tpl_batch_free(&b);
    free(labels);
    tpl_model_free(m);
}

int main(void) {
    test_centroids();
    tpl_dataset d;
    stripes_dataset(&d, 96, 12, 4, 11);
    test_fit(&d);
    tpl_dataset_free(&d);
    return check_summary("test_pseudo");
}
