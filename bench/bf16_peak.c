/* The machine's bf16 peak, against which docs/PERFORMANCE.md sets the
 * convolutions' achieved TFLOP/s: oneDNN's bf16 matmul on large square
 * matrices (the ceiling), its fp32 sgemm beside it, and the 3x3
 * convolutions of the reference models alone through templar's own conv
 * plans (the same oneDNN kernels a training step runs, without BN, mixing
 * or anything else), in bf16 (NHWC) and in fp32 (blocked layouts), each
 * pass (forward, backward-data, backward-weights) timed apart.
 *
 *   bench_bf16_peak [--threads 2] [--n 2048] [--json]
 *
 * Figures are GFLOP/s of multiply-adds x 2, direct-equivalent for the
 * convolutions (oneDNN's fp32 winograd does fewer multiplies), from the
 * median call. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "conv.h"
#include "peak.h"

typedef struct conv_case {
    const char *name;
    int c, hw, batch;
} conv_case;

/* The reference model's block conv, the small model's, and a wide one
 * that shows what the conv kernels reach when the shape is generous. */
static const conv_case cases[] = {
    {"reference 64ch 14x14 b64", 64, 14, 64},
    {"small 32ch 14x14 b64", 32, 14, 64},
    {"wide 256ch 28x28 b32", 256, 28, 32},
};

typedef struct conv_result {
    double gflops[3]; /* forward, backward-data, backward-weights */
    char impl[3][64];
} conv_result;

/* Median seconds of one call of pass `pass`: calls for about 0.3 s (at
 * least 5) after WARMUP untimed ones (oneDNN's first calls of a primitive
 * on several threads can be slow).  The median, because a machine shared
 * with other work stalls now and then a call whose threads wait for each
 * other. */
#define WARMUP 10
static double time_pass(tpl_conv_plan *p, tpl_conv_slot *s, int pass, void *x, void *dy,
                        float *y, float *dx, float *dw, tpl_err *err) {
    enum { MAX_CALLS = 4096 };
    static double t[MAX_CALLS];
    const int bf16 = tpl_conv_precision(p) == TPL_PRECISION_BF16;
    int calls = -WARMUP, rc = 0;
    double start = bench_now();
    while (!rc && calls < MAX_CALLS && (calls < 5 || bench_now() - start < 0.3)) {
        const double t0 = bench_now();
        if (pass == 0)
            rc = bf16 ? tpl_conv_forward_bf16(p, s, x, y, err) : tpl_conv_forward(p, s, x, y, err);
        else if (pass == 1)
            rc = bf16 ? tpl_conv_backward_data_bf16(p, s, dy, dx, err)
                      : tpl_conv_backward_data(p, s, dy, dx, err);
        else
            rc = bf16 ? tpl_conv_backward_weights_bf16(p, x, dy, dw, err)
                      : tpl_conv_backward_weights(p, x, dy, dw, err);
        if (calls >= 0) t[calls] = bench_now() - t0;
        else start = bench_now();
        calls++;
    }
    return rc ? -1 : bench_median(t, calls);
}

static int bench_conv(tpl_engine *e, const conv_case *k, tpl_precision prec, conv_result *r,
                      tpl_err *err) {
    const int bf16 = prec == TPL_PRECISION_BF16, block = bf16 ? k->c : 16;
    tpl_conv_plan *p = tpl_conv_plan_create_as(e, prec, k->c, k->c, 3, 1, k->hw, k->hw, block, block);
    const size_t act = (size_t)k->batch * k->c * k->hw * k->hw, wc = (size_t)k->c * k->c * 9;
    float *w = malloc(sizeof(float) * wc), *y = malloc(sizeof(float) * act),
          *dx = malloc(sizeof(float) * act), *dw = malloc(sizeof(float) * wc),
          *xf = malloc(sizeof(float) * act), *dyf = malloc(sizeof(float) * act);
    tpl_bf16 *xb = malloc(sizeof(tpl_bf16) * act), *dyb = malloc(sizeof(tpl_bf16) * act);
    tpl_conv_slot slot = {0};
    int rc = -1;
    if (!p || !w || !y || !dx || !dw || !xf || !dyf || !xb || !dyb) {
        tpl_err_set(err, "out of memory or no conv plan for %s", k->name);
        goto done;
    }
    for (size_t i = 0; i < wc; i++) w[i] = 0.01f * (float)((int)(i % 17) - 8);
    for (size_t i = 0; i < act; i++) xf[i] = dyf[i] = 0.1f * (float)((int)(i % 13) - 6);
    tpl_bf16_from_f32(xf, xb, act);
    tpl_bf16_from_f32(dyf, dyb, act);
    if (tpl_conv_plan_prepare(p, k->batch, 1, err) || tpl_conv_set_weights(p, &slot, w, 1, err))
        goto done;
    const double flops = 2.0 * act * k->c * 9;
    for (int pass = 0; pass < 3; pass++) {
        double s = time_pass(p, &slot, pass, bf16 ? (void *)xb : (void *)xf,
                             bf16 ? (void *)dyb : (void *)dyf, y, dx, dw, err);
        if (s < 0) goto done;
        r->gflops[pass] = flops / s * 1e-9;
        snprintf(r->impl[pass], sizeof r->impl[pass], "%s", tpl_conv_impl_of(p, pass));
    }
    rc = 0;
done:
    tpl_conv_slot_free(&slot);
    tpl_conv_plan_free(p);
    free(w), free(y), free(dx), free(dw), free(xf), free(dyf), free(xb), free(dyb);
    return rc;
}

int main(int argc, char **argv) {
    int threads = 2, n = 2048, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc && atoi(argv[i + 1]) >= 64)
            n = atoi(argv[++i]);
        else {
            fprintf(stderr, "bench_bf16_peak: bad argument '%s' (usage: bench_bf16_peak "
                    "[--threads N] [--n SIZE] [--json])\n", argv[i]);
            return 2;
        }
    }
    printf("templar bf16 peak  oneDNN %d.%d isa=%s  bf16 %s\n", dnnl_version()->major,
           dnnl_version()->minor, tpl_engine_isa(),
           tpl_precision_supported(TPL_PRECISION_BF16) ? "native" : "not native (emulated: slow)");
    double sgemm[2], mm[2];
    char impl[64];
    const int th[2] = {1, threads};
    for (int i = 0; i < 2; i++) {
        omp_set_num_threads(th[i]);
        sgemm[i] = bench_sgemm_gflops(n);
        mm[i] = bench_bf16_matmul_gflops(n, impl, sizeof impl);
        printf("%d thread%s: fp32 sgemm %dx%dx%d %.1f GFLOP/s; bf16 matmul %.1f GFLOP/s "
               "(%.2f TFLOP/s, %s), %.1fx fp32\n", th[i], th[i] == 1 ? "" : "s", n, n, n, sgemm[i],
               mm[i], mm[i] * 1e-3, impl, sgemm[i] > 0 ? mm[i] / sgemm[i] : 0);
    }
    omp_set_num_threads(threads);
    tpl_err err = {{0}};
    tpl_engine *e = tpl_engine_create(&err);
    if (!e) {
        fprintf(stderr, "bench_bf16_peak: %s\n", err.msg);
        return 1;
    }
    const int n_cases = (int)(sizeof cases / sizeof *cases);
    conv_result res[sizeof cases / sizeof *cases][2];
    memset(res, 0, sizeof res);
    static const char *const pass_names[3] = {"forward", "backward-data", "backward-weights"};
    for (int c = 0; c < n_cases; c++)
        for (int pr = 0; pr < 2; pr++) {
            const tpl_precision prec = pr ? TPL_PRECISION_BF16 : TPL_PRECISION_FP32;
            if (prec == TPL_PRECISION_BF16 && !tpl_precision_supported(prec)) continue;
            if (bench_conv(e, &cases[c], prec, &res[c][pr], &err)) {
                fprintf(stderr, "bench_bf16_peak: %s\n", err.msg);
                tpl_engine_free(e);
                return 1;
            }
            for (int pass = 0; pass < 3; pass++)
                printf("conv 3x3 %s %s %-16s %7.1f GFLOP/s  (%.0f%% of the bf16 matmul)  %s\n",
                       cases[c].name, tpl_precision_name(prec), pass_names[pass],
                       res[c][pr].gflops[pass], mm[1] > 0 ? 100 * res[c][pr].gflops[pass] / mm[1] : 0,
                       res[c][pr].impl[pass]);
        }
    tpl_engine_free(e);
    if (json) {
        printf("{\"impl\":\"templar\",\"threads\":%d,\"n\":%d,\"sgemm_gflops_1t\":%.1f,"
               "\"sgemm_gflops\":%.1f,\"bf16_matmul_gflops_1t\":%.1f,\"bf16_matmul_gflops\":%.1f",
               threads, n, sgemm[0], sgemm[1], mm[0], mm[1]);
        for (int c = 0; c < n_cases; c++)
            for (int pr = 0; pr < 2; pr++)
                printf(",\"conv_%d_%s_gflops\":[%.1f,%.1f,%.1f]", cases[c].c,
                       pr ? "bf16" : "fp32", res[c][pr].gflops[0], res[c][pr].gflops[1],
                       res[c][pr].gflops[2]);
        printf("}\n");
    }
    return 0;
}
