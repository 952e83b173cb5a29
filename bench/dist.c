/* Training on several processes: what a step costs and what it sends
 * (docs/DISTRIBUTED.md).  Run under mpirun, the same flags on every rank:
 *
 *   mpirun -np 2 bench_dist --threads 1             2 ranks x 1 thread, data parallel
 *   mpirun -np 1 bench_dist --threads 2             1 rank x 2 threads, for comparison
 *   mpirun -np 2 bench_dist --tasks 2 --task-parallel
 *
 *   [--width 64 --layers 8 --templates 4 --batch 64 --steps 20 --warmup 3
 *    --threads 1 --tasks 1 --task-parallel --sync-bn --widths W1,W2,...]
 *
 * tpl_fit trains the reference model of bench_speed (isometric 64 x 8,
 * K = 4, 28x28 grey images; random, seeded: the network is timed, not the
 * data) with --batch the global batch.  Rank 0 prints, per step: images/s,
 * the gradient bytes summed (and which parameters they are), the seconds
 * spent waiting for the slowest rank to end its backward (skew: a barrier
 * just before the wait for the sums), waiting for the sums after it (the
 * communication the backward did not hide), in the other collectives
 * (agreements, losses, BN moments), the compute (the rest), and the
 * overlap: how much of the time the same sums take alone (measured after
 * training, started and waited for as in a step) the backward hid.  The
 * blocking MPI_Allreduce of the same bytes is printed beside it: MPI's
 * blocking sums may take other (faster) paths than its started ones. */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "comm.h"
#include "model.h"
#include "templar_mpi.h"

typedef struct opts {
    int width, layers, templates, batch, steps, warmup, threads, tasks, task_parallel, sync_bn;
    const char *widths;
} opts;

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){64, 8, 4, 64, 20, 3, 1, 1, 0, 0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *dst = !strcmp(a, "--width") ? &o->width : !strcmp(a, "--layers") ? &o->layers
                 : !strcmp(a, "--templates") ? &o->templates : !strcmp(a, "--batch") ? &o->batch
                 : !strcmp(a, "--steps") ? &o->steps : !strcmp(a, "--warmup") ? &o->warmup
                 : !strcmp(a, "--threads") ? &o->threads : !strcmp(a, "--tasks") ? &o->tasks
                 : NULL;
        if (!strcmp(a, "--task-parallel")) o->task_parallel = 1;
        else if (!strcmp(a, "--sync-bn")) o->sync_bn = 1;
        else if (!strcmp(a, "--widths") && i + 1 < argc) o->widths = argv[++i];
        else if (dst && i + 1 < argc && atoi(argv[i + 1]) > 0) *dst = atoi(argv[++i]);
        else {
            fprintf(stderr, "bench_dist: bad argument '%s'\n", a);
            return -1;
        }
    }
    return o->tasks > TPL_MAX_TASKS ? -1 : 0;
}

static tpl_model *make_model(const opts *o, tpl_err *err) {
    tpl_config c;
    tpl_config_default(&c);
    c.n_stages = 0;
    for (const char *s = o->widths; s || !c.n_stages; s = s ? strchr(s, ',') : NULL) {
        if (s && *s == ',') s++;
        c.stage[c.n_stages++] = (tpl_stage_config){s ? atoi(s) : o->width, o->layers, o->templates};
        if (!s || c.n_stages == TPL_MAX_STAGES) break;
    }
    c.n_tasks = o->tasks;
    for (int t = 0; t < o->tasks; t++) {
        snprintf(c.task[t].name, TPL_NAME_LEN, "t%d", t);
        c.task[t].classes = 10;
    }
    return tpl_model_create(&c, 1, err);
}

/* Enough random images that the whole bench is one epoch. */
static int make_data(const opts *o, tpl_dataset *d) {
    const int n = o->batch * (o->warmup + o->steps + 1);
    if (tpl_dataset_alloc(d, n, 28, 28, 1, 10)) return -1;
    tpl_rng rng;
    tpl_rng_seed(&rng, 5);
    for (size_t i = 0; i < (size_t)n * 28 * 28; i++) d->pixels[i] = (uint8_t)tpl_rng_below(&rng, 256);
    for (int i = 0; i < n; i++) d->labels[i] = (uint8_t)tpl_rng_below(&rng, 10);
    return 0;
}

/* What rank 0 sees of the run: the time and the group's counts when the
 * warm-up ends and when the last step does. */
typedef struct watch {
    const opts *o;
    tpl_comm *c;
    double t0, t1, skew0, skew1;
    tpl_comm_stats s0, s1;
} watch;

/* The transport's operations, but for the wait for the sums: a barrier
 * first, timed apart, so that the wait after it is communication alone,
 * not a rank's lag behind the others (two ranks sharing two cores with
 * other work are seldom even). */
static const tpl_comm_ops *transport;
static tpl_comm_ops with_barrier;
static double skew_s;

static void barrier_then_wait(tpl_comm *c) {
    const double t = MPI_Wtime();
    MPI_Barrier(MPI_COMM_WORLD);
    skew_s += MPI_Wtime() - t;
    transport->wait_sums(c);
}

static void on_step(const tpl_fit_report *r, void *user) {
    watch *w = user;
    if (r->step == w->o->warmup) w->t0 = bench_now(), w->s0 = w->c->stats, w->skew0 = skew_s;
    if (r->step == r->total) w->t1 = bench_now(), w->s1 = w->c->stats, w->skew1 = skew_s;
}

/* Seconds a sum of floats takes across the ranks with nothing else to do
 * (median of 15): blocking, or started then waited for as a step does. */
static double sum_alone(MPI_Comm comm, size_t floats, int started) {
    float *x = calloc(floats ? floats : 1, sizeof(float));
    double t[15];
    for (int i = 0; i < 18; i++) {
        MPI_Barrier(comm);
        const double t0 = MPI_Wtime();
        if (started) {
            MPI_Request req;
            MPI_Iallreduce(MPI_IN_PLACE, x, (int)floats, MPI_FLOAT, MPI_SUM, comm, &req);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        } else {
            MPI_Allreduce(MPI_IN_PLACE, x, (int)floats, MPI_FLOAT, MPI_SUM, comm);
        }
        if (i >= 3) t[i - 3] = MPI_Wtime() - t0;
    }
    free(x);
    return bench_median(t, 15);
}

/* Trainable bytes of the shared views and of the tasks' own. */
static void trainable_bytes(const tpl_model *m, double *shared, double *owned) {
    *shared = *owned = 0.0;
    for (int i = 0; i < m->params.n_views; i++) {
        const tpl_view *v = &m->params.views[i];
        if (v->trainable) *(v->task < 0 ? shared : owned) += sizeof(float) * (double)v->numel;
    }
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    opts o;
    tpl_err err;
    if (parse(argc, argv, &o)) MPI_Abort(MPI_COMM_WORLD, 2);
    omp_set_num_threads(o.threads);
    tpl_comm *c = tpl_comm_mpi(MPI_COMM_WORLD, &err);
    tpl_model *m = c ? make_model(&o, &err) : NULL;
    tpl_dataset d = {0};
    if (!m || make_data(&o, &d)) {
        fprintf(stderr, "bench_dist: %s\n", m ? "out of memory" : err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    tpl_fit_task tasks[TPL_MAX_TASKS];
    for (int t = 0; t < o.tasks; t++) tasks[t] = (tpl_fit_task){.task = t, .train = &d};
    transport = c->ops;
    with_barrier = *c->ops;
    with_barrier.wait_sums = barrier_then_wait;
    c->ops = &with_barrier;
    watch w = {.o = &o, .c = c};
    tpl_fit_options fo;
    tpl_fit_options_default(&fo);
    fo.batch = o.batch;
    fo.steps = o.warmup + o.steps;
    fo.schedule = TPL_SCHED_CONST;
    fo.lr = 0.02f;
    fo.comm = c;
    fo.task_parallel = o.task_parallel;
    fo.sync_bn = o.sync_bn;
    fo.on_step = on_step;
    fo.user = &w;
    if (tpl_fit(m, tasks, o.tasks, &fo, NULL, &err)) {
        fprintf(stderr, "bench_dist: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double per_step[2] = {(w.s1.grad_bytes - w.s0.grad_bytes) / o.steps, 0.0};
    MPI_Bcast(per_step, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    const size_t floats = (size_t)(per_step[0] / sizeof(float));
    const double alone = c->size > 1 ? sum_alone(MPI_COMM_WORLD, floats, 1) : 0.0;
    const double blocking = c->size > 1 ? sum_alone(MPI_COMM_WORLD, floats, 0) : 0.0;
    if (c->rank == 0) {
        const double step = (w.t1 - w.t0) / o.steps, n = o.steps;
        const double wait = (w.s1.wait_s - w.s0.wait_s) / n;
        const double prog = (w.s1.start_s - w.s0.start_s) / n;
        const double other = (w.s1.blocking_s - w.s0.blocking_s) / n;
        const double skew = (w.skew1 - w.skew0) / n;
        const double images = (double)o.batch * (o.task_parallel ? o.tasks : 1);
        double shared, owned;
        trainable_bytes(m, &shared, &owned);
        char widths[64];
        snprintf(widths, sizeof widths, "%s", o.widths ? o.widths : "");
        if (!o.widths) snprintf(widths, sizeof widths, "%d", o.width);
        printf("bench_dist: %d rank%s x %d thread%s, %s%s, %d task%s, widths %s x %d layers, K=%d, "
               "global batch %d, %d steps\n",
               c->size, c->size > 1 ? "s" : "", o.threads, o.threads > 1 ? "s" : "", o.task_parallel ? "task parallel" : "data parallel",
               o.sync_bn ? " + sync BN" : "", o.tasks, o.tasks > 1 ? "s" : "", widths, o.layers,
               o.templates, o.batch, o.steps);
        printf("step_s=%.4f img_s=%.1f\n", step, images / step);
        printf("grad_bytes_per_step=%.0f sums_per_step=%.1f shared_param_bytes=%.0f "
               "task_param_bytes=%.0f\n", per_step[0],
               (double)(w.s1.grad_sums - w.s0.grad_sums) / n, shared, owned);
        if (o.task_parallel && c->size > 1)
            printf("task parallel: reduces %s the shared parameters' bytes (%.0f of %.0f "
                   "trainable)\n", per_step[0] == shared ? "only" : "NOT only", per_step[0],
                   shared + owned);
        printf("skew_s=%.6f sum_wait_s=%.6f sum_progress_s=%.6f other_collectives_s=%.6f "
               "(%.1f a step) compute_s=%.4f\n", skew, wait, prog, other,
               (double)(w.s1.blocking - w.s0.blocking) / n, step - skew - wait - prog - other);
        if (c->size > 1)
            printf("sum_alone_s=%.6f overlap=%.2f (1 - sum_wait / sum_alone) "
                   "sum_blocking_s=%.6f\n", alone,
                   alone > 0 ? 1.0 - (wait < alone ? wait : alone) / alone : 0.0, blocking);
    }
    tpl_dataset_free(&d);
    tpl_model_free(m);
    tpl_comm_free(c);
    MPI_Finalize();
    return 0;
}
