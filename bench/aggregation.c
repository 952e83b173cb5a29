/* Cost of mixing parameters against mixing outputs (a mixture of experts):
 * one training step (forward + backward) and one inference forward of the
 * same network, K = 2, 4, 8 templates, soft routing (every template read),
 * and top-1 routing for the inference of the mixture of experts.
 *
 *   bench_aggregation [--width 32 --layers 8 --batch 64 --threads 2 --reps 10]
 *
 * Random (seeded) inputs; the median of --reps timed repetitions after two
 * warm-up runs. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "model.h"
#include "loss.h"
#include "train.h"
#include "ops.h"
#include "rng.h"

typedef struct run {
    int width, layers, batch, reps;
} run;

/* Median seconds of a training step (training) or an inference forward. */
static double time_model(const run *r, int k, tpl_aggregation agg, tpl_routing routing,
                         int training) {
    tpl_config c;
    tpl_config_default(&c);
    c.stage[0] = (tpl_stage_config){r->width, r->layers, k};
    c.aggregate = agg;
    c.routing = routing;
    c.topk = 1;
    tpl_err err;
    tpl_model *m = tpl_model_create(&c, 1, &err);
    if (!m) {
        fprintf(stderr, "bench_aggregation: %s\n", err.msg);
        exit(1);
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, 7);
    const size_t in = (size_t)r->batch * 28 * 28;
    float *x = malloc(sizeof(float) * in), *logits = malloc(sizeof(float) * r->batch * 10);
    float *dl = malloc(sizeof(float) * r->batch * 10);
    int *y = malloc(sizeof(int) * r->batch);
    for (size_t i = 0; i < in; i++) x[i] = tpl_rng_normal(&rng);
    for (int i = 0; i < r->batch; i++) y[i] = i % 10;
    double t[64];
    for (int rep = -2; rep < r->reps; rep++) {
        tpl_model_params_changed(m); /* every step mixes anew, as after an update */
        double t0 = bench_now();
        tpl_model_forward(m, 0, x, r->batch, training, logits, &err);
        if (training) {
            tpl_xent_forward_backward(r->batch, 10, logits, y, dl, NULL);
            memset(m->params.grad, 0, sizeof(float) * m->params.numel);
            tpl_model_backward(m, 0, dl, &err);
        }
        if (rep >= 0) t[rep] = bench_now() - t0;
    }
    free(x), free(logits), free(dl), free(y);
    tpl_model_free(m);
    return bench_median(t, r->reps);
}

int main(int argc, char **argv) {
    run r = {32, 8, 64, 10};
    int threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--width")) r.width = v;
        else if (!strcmp(argv[i], "--layers")) r.layers = v;
        else if (!strcmp(argv[i], "--batch")) r.batch = v;
        else if (!strcmp(argv[i], "--threads")) threads = v;
        else if (!strcmp(argv[i], "--reps")) r.reps = v;
        else {
            fprintf(stderr, "bench_aggregation: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (r.reps < 1 || r.reps > 64 || r.width < 1 || r.layers < 1 || r.batch < 1) {
        fprintf(stderr, "bench_aggregation: --reps 1..64, positive sizes\n");
        return 2;
    }
    omp_set_num_threads(threads);
    printf("width %d, %d blocks, batch %d, %d threads; median of %d\n", r.width, r.layers,
           r.batch, threads, r.reps);
    printf("%2s | %-24s | %-24s | %-24s\n", "K", "train step: params/outputs",
           "inference: params/outputs", "inference, top-1 routing");
    for (int k = 2; k <= 8; k *= 2) {
        double tp = time_model(&r, k, TPL_AGG_PARAMS, TPL_ROUTE_SOFT, 1);
        double to = time_model(&r, k, TPL_AGG_OUTPUTS, TPL_ROUTE_SOFT, 1);
        double ip = time_model(&r, k, TPL_AGG_PARAMS, TPL_ROUTE_SOFT, 0);
        double io = time_model(&r, k, TPL_AGG_OUTPUTS, TPL_ROUTE_SOFT, 0);
        double i1 = time_model(&r, k, TPL_AGG_OUTPUTS, TPL_ROUTE_TOPK, 0);
        double p1 = time_model(&r, k, TPL_AGG_PARAMS, TPL_ROUTE_TOPK, 0);
        printf("%2d | %6.1f / %6.1f ms %5.2fx | %6.1f / %6.1f ms %5.2fx | %6.1f / %6.1f ms %5.2fx\n", k,
               tp * 1e3, to * 1e3, to / tp, ip * 1e3, io * 1e3, io / ip, p1 * 1e3, i1 * 1e3, i1 / p1);
    }
    return 0;
}
