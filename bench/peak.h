/* The machine's measured peaks, which the benchmarks set their achieved
 * figures against: oneDNN's fp32 sgemm and its bf16 matmul (bf16 inputs,
 * fp32 sums and output: the AMX or AVX-512 BF16 kernels it picks) on large
 * square matrices, with the threads the caller set.  Each runs for about a
 * second after one untimed call. */
#ifndef TPL_BENCH_PEAK_H
#define TPL_BENCH_PEAK_H
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* GFLOP/s of an n x n x n sgemm. */
static inline double bench_sgemm_gflops(int n) {
    float *a = calloc((size_t)n * n, 4), *b = calloc((size_t)n * n, 4), *c = calloc((size_t)n * n, 4);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    int reps = 0;
    double t0 = bench_now(), t;
    do {
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        reps++;
    } while ((t = bench_now() - t0) < 1.0);
    free(a), free(b), free(c);
    return 2.0 * n * n * (double)n * reps / t * 1e-9;
}

/* Fills a bf16 memory object with small values (1/8 .. 1, rounded). */
static inline void bench_fill_bf16(dnnl_memory_t m, size_t count) {
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    uint16_t *p = h;
    for (size_t i = 0; i < count; i++) p[i] = (uint16_t)(0x3e00 + (i * 37 % 128)); /* 0.125 .. 0.99 */
}

/* GFLOP/s of an n x n x n bf16 matmul through oneDNN's matmul primitive
 * (the weights in the format it asks for, as a model keeps them); impl
 * gets the kernel's name.  0 when oneDNN fails. */
static inline double bench_bf16_matmul_gflops(int n, char *impl, size_t cap) {
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t a = NULL, b = NULL, c = NULL;
    dnnl_memory_desc_t a_md, b_any, c_md;
    const dnnl_dims_t dims = {n, n};
    dnnl_matmul_desc_t desc;
    double gflops = 0;
    snprintf(impl, cap, "none");
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&stream, eng, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_tag(&a_md, 2, dims, dnnl_bf16, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&b_any, 2, dims, dnnl_bf16, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&c_md, 2, dims, dnnl_f32, dnnl_ab) ||
        dnnl_matmul_desc_init(&desc, &a_md, &b_any, NULL, &c_md) ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL))
        goto done;
    const dnnl_memory_desc_t *b_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (dnnl_memory_create(&a, &a_md, eng, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&b, b_md, eng, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&c, &c_md, eng, DNNL_MEMORY_ALLOCATE) || dnnl_primitive_create(&prim, pd))
        goto done;
    const char *name = NULL;
    if (!dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) && name)
        snprintf(impl, cap, "%s", name);
    bench_fill_bf16(a, (size_t)n * n);
    bench_fill_bf16(b, dnnl_memory_desc_get_size(b_md) / 2);
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    if (dnnl_primitive_execute(prim, stream, 3, args) || dnnl_stream_wait(stream)) goto done;
    int reps = 0;
    double t0 = bench_now(), t;
    do {
        dnnl_primitive_execute(prim, stream, 3, args);
        dnnl_stream_wait(stream);
        reps++;
    } while ((t = bench_now() - t0) < 1.0);
    gflops = 2.0 * n * n * (double)n * reps / t * 1e-9;
done:
    if (prim) dnnl_primitive_destroy(prim);
    if (a) dnnl_memory_destroy(a);
    if (b) dnnl_memory_destroy(b);
    if (c) dnnl_memory_destroy(c);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (stream) dnnl_stream_destroy(stream);
    if (eng) dnnl_engine_destroy(eng);
    return gflops;
}
#endif
