/* tpl_fit on several "processes" without MPI: a group of threads in this
 * process, each with its own model, carries comm.h's operations through
 * shared memory and barriers.  So the training side of distribution
 * (dist.c: shares, sums, synchronised BN, agreements, gathering) is tested
 * in every build, sanitizers included, MPI or not (tests/cli_mpi.sh runs
 * the real thing):
 *   - a process's share of a batch is the lone process's images, draws
 *     included;
 *   - two ranks data parallel with sync BN make the one-process model, and
 *     both ranks hold the same model, even when one started a little off;
 *   - task parallel on two ranks makes the one-process task-parallel model;
 *   - a failure on one rank (outside tpl_fit) fails tpl_fit on the other,
 *     naming the rank. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stripes.h"
#include "comm.h"
#include "data.h"
#include "model.h"
#include "train.h"

#define RANKS 2
#define HW 12
#define CLASSES 4

/* ---- a group of threads ------------------------------------------------------ */

typedef struct group {
    pthread_barrier_t bar;
    int size;
    const void *buf[RANKS]; /* each rank's operand */
    int ints[RANKS];
} group;

static void sync_all(tpl_comm *c) { pthread_barrier_wait(&((group *)c->impl)->bar); }

/* x becomes the sum of every rank's x, added in rank order (so every rank
 * gets the same bits, as MPI's reductions give them). */
#define SUM_OF(T)                                                                \
    static void sum_##T(tpl_comm *c, T *x, size_t n) {                           \
        group *g = c->impl;                                                      \
        T *sum = calloc(n ? n : 1, sizeof(T));                                   \
        g->buf[c->rank] = x;                                                     \
        sync_all(c);                                                             \
        for (int r = 0; r < g->size; r++)                                        \
            for (size_t i = 0; i < n; i++) sum[i] += ((const T *)g->buf[r])[i];  \
        sync_all(c);                                                             \
        memcpy(x, sum, sizeof(T) * n);                                           \
        free(sum);                                                               \
    }
SUM_OF(double)
SUM_OF(float)

static void sum_doubles(tpl_comm *c, double *x, int n) { sum_double(c, x, (size_t)n); }
static void progress(tpl_comm *c) { (void)c; }

static void gather_doubles(tpl_comm *c, const double *x, int n, double *all) {
    group *g = c->impl;
    g->buf[c->rank] = x;
    sync_all(c);
    for (int r = 0; r < g->size; r++) memcpy(all + (size_t)r * n, g->buf[r], sizeof(double) * n);
    sync_all(c);
}

static void bcast(tpl_comm *c, void *x, size_t bytes, int root) {
    group *g = c->impl;
    if (c->rank == root) g->buf[root] = x;
    sync_all(c);
    if (c->rank != root) memcpy(x, g->buf[root], bytes);
    sync_all(c);
}

static int min_int(tpl_comm *c, int x) {
    group *g = c->impl;
    g->ints[c->rank] = x;
    sync_all(c);
    int m = g->ints[0];
    for (int r = 1; r < g->size; r++) m = g->ints[r] < m ? g->ints[r] : m;
    sync_all(c);
    return m;
}

static void abort_all(tpl_comm *c, const char *why) {
    fprintf(stderr, "test_dist: rank %d aborts: %s\n", c->rank, why);
    abort();
}

/* Sums "started" here are done at once: the order of operations, which is
 * what keeps ranks in step, is the same. */
static const tpl_comm_ops ops = {
    .sum_doubles = sum_doubles, .sum_floats = sum_float, .start_sum = sum_float,
    .progress = progress, .wait_sums = progress, .gather_doubles = gather_doubles,
    .bcast = bcast, .min_int = min_int, .abort = abort_all,
};

/* ---- data and models --------------------------------------------------------- */

static void make_dataset(tpl_dataset *d, int n, uint64_t seed) {
    stripes_dataset(d, n, HW, CLASSES, seed);
}

static tpl_dataset train_a, train_b, test_a;

static tpl_model *make_model(int tasks) {
    tpl_config c;
    tpl_config_default(&c);
    c.in_height = c.in_width = HW;
    c.stem_stride = 1;
    c.n_stages = 2;
    c.stage[0] = (tpl_stage_config){8, 2, 2};
    c.stage[1] = (tpl_stage_config){16, 2, 2};
    c.n_tasks = tasks;
    for (int t = 0; t < tasks; t++) {
        snprintf(c.task[t].name, TPL_NAME_LEN, "t%d", t);
        c.task[t].classes = CLASSES;
    }
    tpl_err err;
    tpl_model *m = tpl_model_create(&c, 7, &err);
    if (!m) fprintf(stderr, "test_dist: %s\n", err.msg);
    return m;
}

/* One run: the model it trained (or NULL and err), on rank `rank` of a
 * group (NULL: alone). */
typedef struct job {
    tpl_comm *comm;
    int tasks, task_parallel, sync_bn, fail_outside, nudged;
    tpl_model *m;
    int rc;
    tpl_err err;
} job;

static void fit(job *j) {
    j->m = make_model(j->tasks);
    if (j->nudged) { /* a start of its own: tpl_fit starts every rank at rank 0's */
        j->m->params.data[0] += 1e-2f;
        tpl_model_params_changed(j->m);
    }
    if (j->fail_outside) { /* what the tool's exit does when loading failed */
        tpl_err_set(&j->err, "no data here");
        j->rc = tpl_comm_agree(j->comm, 1, &j->err);
        return;
    }
    tpl_fit_task t[2] = {{.task = 0, .train = &train_a, .test = &test_a, .crop_pad = 1, .flip = 1},
                         {.task = 1, .train = &train_b, .crop_pad = 1}};
    tpl_fit_options o;
    tpl_fit_options_default(&o);
    o.batch = 32;
    o.steps = 24;
    o.eval_batch = 50;
    o.entropy = 0.05f;
    o.comm = j->comm;
    o.task_parallel = j->task_parallel;
    o.sync_bn = j->sync_bn;
    j->rc = tpl_fit(j->m, t, j->tasks, &o, NULL, &j->err);
}

static void *fit_thread(void *arg) {
    fit(arg);
    return NULL;
}

/* The same job on RANKS threads; jobs[r] is rank r's. */
static void fit_group(job *proto, job *jobs, int fail_rank, int nudged_rank) {
    group g = {.size = RANKS};
    tpl_comm comm[RANKS];
    pthread_t th[RANKS];
    pthread_barrier_init(&g.bar, NULL, RANKS);
    for (int r = 0; r < RANKS; r++) {
        comm[r] = (tpl_comm){.rank = r, .size = RANKS, .ops = &ops, .impl = &g};
        jobs[r] = *proto;
        jobs[r].comm = &comm[r];
        jobs[r].fail_outside = r == fail_rank;
        jobs[r].nudged = r == nudged_rank;
        pthread_create(&th[r], NULL, fit_thread, &jobs[r]);
    }
    for (int r = 0; r < RANKS; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g.bar);
    for (int r = 0; r < RANKS; r++) jobs[r].comm = NULL;
}

static double max_diff(const tpl_model *a, const tpl_model *b) {
    double most = 0.0;
    for (size_t i = 0; i < a->params.numel; i++) {
        double d = fabs((double)a->params.data[i] - b->params.data[i]);
        if (!(d <= most)) most = d;
    }
    return most;
}

/* ---- the checks ----------------------------------------------------------------- */

static void test_shares(void) {
    int idx[10];
    for (int i = 0; i < 10; i++) idx[i] = 9 - i;
    const tpl_augment aug = {.pad = 2, .flip = 1};
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    const size_t img = HW * HW;
    float whole[10 * HW * HW], part[10 * HW * HW];
    int y_whole[10], y_part[10];
    tpl_rng a, b;
    tpl_rng_seed(&a, 3);
    tpl_rng_seed(&b, 3);
    tpl_batch_fill(&train_a, idx, 10, mean, std, &aug, &a, whole, y_whole);
    for (int first = 0; first < 10; first += 4) { /* shares 4, 4 and 2 */
        const int count = first + 4 <= 10 ? 4 : 10 - first;
        tpl_rng r;
        tpl_rng_seed(&r, 3);
        tpl_batch_fill_part(&train_a, idx, 10, first, count, mean, std, &aug, &r, part + first * img,
                            y_part + first);
        b = r;
    }
    CHECK(memcmp(whole, part, sizeof whole) == 0 && memcmp(y_whole, y_part, sizeof y_whole) == 0);
    CHECK(a.s[0] == b.s[0] && a.s[1] == b.s[1]); /* every share draws the whole batch's */
}

static void test_data_parallel(void) {
    job alone = {.tasks = 1}, jobs[RANKS], proto = {.tasks = 1, .sync_bn = 1};
    fit(&alone);
    fit_group(&proto, jobs, -1, 1);
    CHECK_MSG(alone.rc == 0 && jobs[0].rc == 0 && jobs[1].rc == 0, "%s / %s", alone.err.msg,
              jobs[0].err.msg);
    if (alone.rc || jobs[0].rc || jobs[1].rc) return;
    double d = max_diff(alone.m, jobs[0].m);
    CHECK_MSG(d < 1e-4, "two ranks with sync BN against one process: %g", d);
    CHECK_MSG(max_diff(jobs[0].m, jobs[1].m) == 0.0, "the ranks' models differ");
    /* each rank's own BN statistics: another model, the same on both ranks */
    proto.sync_bn = 0;
    for (int r = 0; r < RANKS; r++) tpl_model_free(jobs[r].m);
    fit_group(&proto, jobs, -1, -1);
    CHECK(jobs[0].rc == 0 && max_diff(jobs[0].m, jobs[1].m) == 0.0);
    CHECK(max_diff(alone.m, jobs[0].m) > 1e-6);
    tpl_model_free(alone.m);
    for (int r = 0; r < RANKS; r++) tpl_model_free(jobs[r].m);
}

static void test_task_parallel(void) {
    job alone = {.tasks = 2, .task_parallel = 1}, jobs[RANKS], proto = alone;
    fit(&alone);
    fit_group(&proto, jobs, -1, -1);
    CHECK_MSG(alone.rc == 0 && jobs[0].rc == 0 && jobs[1].rc == 0, "%s / %s", alone.err.msg,
              jobs[0].err.msg);
    if (!alone.rc && !jobs[0].rc && !jobs[1].rc) {
        double d = max_diff(alone.m, jobs[0].m);
        CHECK_MSG(d < 1e-4, "task parallel on two ranks against one process: %g", d);
        CHECK_MSG(max_diff(jobs[0].m, jobs[1].m) == 0.0, "the ranks' gathered models differ");
    }
    tpl_model_free(alone.m);
    for (int r = 0; r < RANKS; r++) tpl_model_free(jobs[r].m);
}

static void test_failure(void) {
    job jobs[RANKS], proto = {.tasks = 1};
    fit_group(&proto, jobs, 1, -1);
    CHECK(jobs[0].rc == -1 && jobs[1].rc == -1);
    CHECK_MSG(strcmp(jobs[0].err.msg, "rank 1: no data here") == 0, "%s", jobs[0].err.msg);
    CHECK(strcmp(jobs[1].err.msg, "no data here") == 0);
    for (int r = 0; r < RANKS; r++) tpl_model_free(jobs[r].m);
}

int main(void) {
    make_dataset(&train_a, 160, 1);
    make_dataset(&train_b, 128, 2);
    make_dataset(&test_a, 50, 3);
    test_shares();
    test_data_parallel();
    test_task_parallel();
    test_failure();
    tpl_dataset_free(&train_a);
    tpl_dataset_free(&train_b);
    tpl_dataset_free(&test_a);
    return check_summary("test_dist");
}
