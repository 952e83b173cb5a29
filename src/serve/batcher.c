/* The batcher (see batcher.h): a ring of queued jobs under one mutex; each
 * request waits on its own condition variable. */
#include "batcher.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

typedef struct serve_call {
    pthread_cond_t done;
    int pending;
} serve_call;

struct serve_batcher {
    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_t thread;
    serve_job **ring;
    int cap, head, count, stop;
    serve_batcher_options o;
    serve_infer *infer;
    serve_metrics *metrics;
    serve_job **taken;       /* the batch being run (batcher thread) */
    const uint8_t **px;
    float **probs;
};

static void deadline_after(struct timespec *ts, double seconds) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    long ns = ts->tv_nsec + (long)(seconds * 1e9);
    ts->tv_sec += ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

/* Under mu: wait for a first job, then (max_wait_ms) for a full batch. */
static int wait_for_batch(serve_batcher *b) {
    while (!b->count && !b->stop) pthread_cond_wait(&b->work, &b->mu);
    if (!b->count) return 0;
    if (b->o.max_wait_ms > 0 && !b->stop) {
        const double left = b->ring[b->head]->queued + b->o.max_wait_ms / 1000.0 - tpl_now();
        struct timespec until;
        deadline_after(&until, left > 0 ? left : 0);
        while (b->count < b->o.max_batch && !b->stop &&
               pthread_cond_timedwait(&b->work, &b->mu, &until) == 0) {
        }
    }
    return 1;
}

/* Runs taken[0..n) grouped by task, in order of first arrival. */
static void run_groups(serve_batcher *b, int n) {
    serve_job **t = b->taken;
    for (int i = 0; i < n; i++) {
        if (!t[i]) continue;
        const serve_task *task = t[i]->task;
        serve_job *group[n];
        int g = 0;
        for (int j = i; j < n; j++)
            if (t[j] && t[j]->task == task) {
                group[g] = t[j];
                b->px[g] = t[j]->pixels, b->probs[g] = t[j]->probs;
                g++;
                if (j > i) t[j] = NULL;
            }
        tpl_err err = {{0}};
        int hit = 0;
        const int rc = serve_infer_run(b->infer, task, b->px, g, b->probs, &hit, &err);
        serve_metrics_batch(b->metrics, g);
        serve_metrics_cache(b->metrics, hit);
        for (int k = 0; k < g; k++) {
            group[k]->status = rc ? 500 : 200;
            if (rc) snprintf(group[k]->error, sizeof group[k]->error, "%s", err.msg);
        }
    }
}

static void *batcher_main(void *arg) {
    serve_batcher *b = arg;
    if (b->o.threads > 0) omp_set_num_threads(b->o.threads);
    pthread_mutex_lock(&b->mu);
    while (wait_for_batch(b)) {
        int n = b->count < b->o.max_batch ? b->count : b->o.max_batch;
        serve_job *all[n];
        for (int i = 0; i < n; i++) {
            all[i] = b->taken[i] = b->ring[b->head];
            b->head = (b->head + 1) % b->cap;
        }
        b->count -= n;
        pthread_mutex_unlock(&b->mu);
        run_groups(b, n);
        pthread_mutex_lock(&b->mu);
        for (int i = 0; i < n; i++)
            if (--all[i]->call->pending == 0) pthread_cond_signal(&all[i]->call->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

serve_batcher *serve_batcher_start(serve_infer *in, serve_metrics *metrics,
                                   const serve_batcher_options *o, tpl_err *err) {
    serve_batcher *b = calloc(1, sizeof *b);
    if (!b) goto oom;
    b->o = *o;
    b->cap = o->queue;
    b->infer = in, b->metrics = metrics;
    b->ring = calloc((size_t)b->cap, sizeof *b->ring);
    b->taken = calloc((size_t)o->max_batch, sizeof *b->taken);
    b->px = calloc((size_t)o->max_batch, sizeof *b->px);
    b->probs = calloc((size_t)o->max_batch, sizeof *b->probs);
    if (!b->ring || !b->taken || !b->px || !b->probs) goto oom;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->work, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&b->thread, NULL, batcher_main, b)) {
        pthread_cond_destroy(&b->work);
        pthread_mutex_destroy(&b->mu);
        tpl_err_set(err, "cannot start the batcher thread");
        goto fail;
    }
    return b;
oom:
    tpl_err_set(err, "out of memory for the batcher");
fail:
    if (b) free(b->ring), free(b->taken), free(b->px), free(b->probs);
    free(b);
    return NULL;
}

int serve_batcher_run(serve_batcher *b, serve_job *jobs, int n) {
    serve_call call = {.pending = n};
    pthread_cond_init(&call.done, NULL);
    const double now = tpl_now();
    pthread_mutex_lock(&b->mu);
    const int room = !b->stop && b->cap - b->count >= n;
    for (int i = 0; room && i < n; i++) {
        jobs[i].call = &call;
        jobs[i].queued = now;
        jobs[i].status = 0;
        b->ring[(b->head + b->count++) % b->cap] = &jobs[i];
    }
    if (room) {
        pthread_cond_signal(&b->work);
        while (call.pending) pthread_cond_wait(&call.done, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&call.done);
    return room ? 0 : -1;
}

int serve_batcher_depth(serve_batcher *b) {
    pthread_mutex_lock(&b->mu);
    int n = b->count;
    pthread_mutex_unlock(&b->mu);
    return n;
}

int serve_batcher_capacity(const serve_batcher *b) { return b->cap; }

void serve_batcher_stop(serve_batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    free(b->ring), free(b->taken), free(b->px), free(b->probs);
    free(b);
}
