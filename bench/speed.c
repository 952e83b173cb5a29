/* Training throughput, batch-1 latency and peak memory of templar's
 * reference models: the C side of bench/compare.sh (bench/torch_ref.py is
 * the PyTorch side, same model, same batch, same optimiser).
 *
 *   bench_speed [--width 64 --layers 8 --templates 4 --batch 64 --threads 2
 *                --steps 30 --warmup 5 --latency-iters 1000 --mode all|train|latency
 *                --precision fp32|bf16 --json]
 *
 * Data are random (seeded) like the PyTorch side, so both time the network
 * alone.  Achieved GFLOP/s count the convolutions' multiply-adds (forward,
 * backward-data, backward-weights) and are set against the machine's
 * measured peak in the precision the convolutions run in: oneDNN's sgemm,
 * or its bf16 matmul, on 2048x2048 matrices with the same threads (one
 * thread for the latency); bench_bf16_peak has the details. */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "peak.h"
#include "model.h"
#include "loss.h"
#include "train.h"
#include "ops.h"
#include "optim.h"
#include "rng.h"

typedef struct opts {
    int width, layers, templates, batch, threads, steps, warmup, latency_iters, json, expand;
    const char *mode;
    tpl_precision precision;
    tpl_block_type block;
} opts;

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){64, 8, 4, 64, 2, 30, 5, 1000, 0, 6, "all", TPL_PRECISION_FP32, TPL_BLOCK_BASIC};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *dst = !strcmp(a, "--width") ? &o->width : !strcmp(a, "--layers") ? &o->layers
                 : !strcmp(a, "--templates") ? &o->templates : !strcmp(a, "--batch") ? &o->batch
                 : !strcmp(a, "--threads") ? &o->threads : !strcmp(a, "--steps") ? &o->steps
                 : !strcmp(a, "--warmup") ? &o->warmup : !strcmp(a, "--expand") ? &o->expand
                 : !strcmp(a, "--latency-iters") ? &o->latency_iters : NULL;
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--mode") && v) o->mode = argv[++i];
        else if (!strcmp(a, "--block") && v && tpl_block_parse(v) >= 0)
            o->block = (tpl_block_type)tpl_block_parse(argv[++i]);
        else if (!strcmp(a, "--precision") && v && tpl_precision_parse(v) >= 0)
            o->precision = (tpl_precision)tpl_precision_parse(argv[++i]);
        else if (dst && v && atoi(v) > 0) *dst = atoi(argv[++i]);
        else {
            fprintf(stderr, "bench_speed: bad argument '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

static tpl_model *make_model(const opts *o) {
    tpl_config c;
    tpl_config_default(&c);
    c.stage[0] = (tpl_stage_config){o->width, o->layers, o->templates};
    c.block = o->block, c.expand = o->expand;
    tpl_err err;
    tpl_model *m = tpl_model_create(&c, 1, &err);
    if (m && tpl_model_set_precision(m, o->precision, &err)) {
        tpl_model_free(m);
        m = NULL;
    }
    if (!m) fprintf(stderr, "bench_speed: %s\n", err.msg);
    return m;
}

/* Direct-convolution FLOPs of one image's forward: the stem (1 channel in)
 * and a block's convs: two 3x3 C -> C, or the inverted block's 1x1 C -> EC,
 * depthwise 3x3 and 1x1 EC -> C. */
static double stem_flops(const opts *o) { return 2.0 * 14 * 14 * o->width * 9; }
static double block_flops(const opts *o) {
    const double c = o->width, h = (double)o->expand * o->width;
    return 2.0 * 14 * 14 * (o->block == TPL_BLOCK_INVERTED ? 2 * c * h + 9 * h : 2 * c * c * 9);
}

static double forward_flops(const opts *o) { return stem_flops(o) + block_flops(o) * o->layers; }

/* ... and of one training image: stem (no input gradient) and every block
 * conv (forward, backward-data, backward-weights). */
static double train_flops(const opts *o) {
    return 2.0 * stem_flops(o) + 3.0 * block_flops(o) * o->layers;
}

/* The measured peak of the precision the convolutions run in: oneDNN's
 * sgemm, or its bf16 matmul (peak.h), with the given threads. */
static double measured_peak(int threads, tpl_precision prec) {
    omp_set_num_threads(threads);
    char impl[64];
    return prec == TPL_PRECISION_BF16 ? bench_bf16_matmul_gflops(2048, impl, sizeof impl)
                                      : bench_sgemm_gflops(2048);
}

static double bench_train(const opts *o, double *gflops) {
    omp_set_num_threads(o->threads);
    tpl_model *m = make_model(o);
    if (!m) return 0;
    tpl_rng rng;
    tpl_rng_seed(&rng, 3);
    size_t img = 28 * 28;
    float *x = malloc(sizeof(float) * img * o->batch), *logits = malloc(40 * o->batch),
          *dl = malloc(40 * o->batch);
    int *y = malloc(sizeof(int) * o->batch);
    for (size_t i = 0; i < img * o->batch; i++) x[i] = tpl_rng_normal(&rng);
    for (int i = 0; i < o->batch; i++) y[i] = (int)tpl_rng_below(&rng, 10);
    tpl_optim_config oc;
    tpl_optim_config_default(&oc);
    oc.lr = 0.05f;
    oc.sched = TPL_SCHED_CONST;
    tpl_optim opt;
    tpl_optim_init(&opt, &oc, m->params.numel);
    tpl_err err;
    double t0 = 0;
    for (int s = 0; s < o->warmup + o->steps; s++) {
        if (s == o->warmup) t0 = bench_now();
        tpl_model_forward(m, 0, x, o->batch, 1, logits, &err);
        tpl_xent_forward_backward(o->batch, 10, logits, y, dl, NULL);
        memset(m->params.grad, 0, sizeof(float) * m->params.numel);
        tpl_model_backward(m, 0, dl, &err);
        tpl_optim_update(&opt, m);
    }
    double img_s = o->steps * (double)o->batch / (bench_now() - t0);
    *gflops = img_s * train_flops(o) * 1e-9;
    tpl_optim_free(&opt);
    tpl_model_free(m);
    free(x), free(logits), free(dl), free(y);
    return img_s;
}

/* Batch-1 eval forward on one thread; the mixed weights are prepared once
 * (the model serves many requests with unchanged parameters). */
static void bench_latency(const opts *o, double *median, double *mean) {
    omp_set_num_threads(1);
    tpl_model *m = make_model(o);
    if (!m) return;
    float x[28 * 28], logits[10];
    tpl_rng rng;
    tpl_rng_seed(&rng, 4);
    for (int i = 0; i < 28 * 28; i++) x[i] = tpl_rng_normal(&rng);
    tpl_err err;
    for (int i = 0; i < 10; i++) tpl_model_forward(m, 0, x, 1, 0, logits, &err);
    double *t = malloc(sizeof(double) * o->latency_iters), sum = 0;
    for (int i = 0; i < o->latency_iters; i++) {
        double t0 = bench_now();
        tpl_model_forward(m, 0, x, 1, 0, logits, &err);
        t[i] = (bench_now() - t0) * 1e3;
        sum += t[i];
    }
    *median = bench_median(t, o->latency_iters);
    *mean = sum / o->latency_iters;
    free(t);
    tpl_model_free(m);
}

int main(int argc, char **argv) {
    opts o;
    if (parse(argc, argv, &o)) return 2;
    const char *core = getenv("OPENBLAS_CORETYPE");
    int train = strcmp(o.mode, "latency") != 0, lat = strcmp(o.mode, "train") != 0;
    printf("templar  threads=%d  oneDNN %d.%d isa=%s  OPENBLAS_CORETYPE=%s (not used: oneDNN "
           "dispatches itself)\n", o.threads, dnnl_version()->major, dnnl_version()->minor,
           tpl_engine_isa(), core ? core : "unset");
    printf("model isometric width=%d layers=%d templates=%d block=%s expand=%d\n", o.width,
           o.layers, o.templates, tpl_block_name(o.block), o.expand);
    double img_s = 0, gf = 0, med = 0, mean = 0, peak = 0;
    if (train) {
        img_s = bench_train(&o, &gf);
        peak = measured_peak(o.threads, o.precision);
        printf("train: %.1f img/s (batch %d, %d steps, %d threads)\n", img_s, o.batch, o.steps,
               o.threads);
        printf("conv GFLOP/s: %.1f achieved, %.1f measured %s peak (%.0f%%)\n", gf, peak,
               o.precision == TPL_PRECISION_BF16 ? "bf16 matmul" : "sgemm", 100 * gf / peak);
    }
    if (lat) {
        bench_latency(&o, &med, &mean);
        printf("latency: median %.3f ms, mean %.3f ms (batch 1, 1 thread, eval)\n", med, mean);
        /* Above the peak means fewer multiplies than direct (winograd). */
        printf("latency forward: %.1f direct-equivalent GFLOP/s, %.1f measured 1-thread %s "
               "peak\n", forward_flops(&o) / med * 1e-6, measured_peak(1, o.precision),
               o.precision == TPL_PRECISION_BF16 ? "bf16 matmul" : "sgemm");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mib: %.1f\n", ru.ru_maxrss / 1024.0);
    if (o.json)
        printf("{\"impl\":\"templar\",\"block\":\"%s\",\"precision\":\"%s\",\"width\":%d,\"layers\":%d,\"templates\":%d,\"batch\":%d,"
               "\"threads\":%d,\"train_img_s\":%.2f,\"conv_gflops\":%.1f,\"peak_gflops\":%.1f,"
               "\"latency_ms_median\":%.4f,\"latency_ms_mean\":%.4f,\"peak_rss_mib\":%.1f}\n",
               tpl_block_name(o.block), tpl_precision_name(o.precision), o.width, o.layers, o.templates, o.batch, o.threads, img_s, gf, peak, med, mean,
               ru.ru_maxrss / 1024.0);
    return 0;
}
