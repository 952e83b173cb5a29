/* templar serve's start and stop (see serve.h): load the bank and the
 * tasks, start the batcher and the listener, wait for SIGTERM or SIGINT,
 * drain. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "clock.h"
#include "server.h"

void tpl_serve_defaults(tpl_serve_options *o) {
    memset(o, 0, sizeof *o);
    o->listen = "127.0.0.1:8080";
    o->max_batch = 32;
    o->max_wait_ms = 0;
    o->queue = 256;
    o->cache_mb = 512;
    o->threads = 1;
    o->max_body_kb = 4096;
    o->max_side = 2048;
    o->timeout_s = 10;
    o->max_connections = 256;
    o->drain_s = 30;
    o->top = 5;
}

static void teardown(serve_server *s) {
    serve_batcher_stop(s->batcher);
    serve_infer_free(s->infer);
    serve_cache_free(s->cache);
    serve_store_free(s->store);
    serve_metrics_free(s->metrics);
    tpl_model_free(s->model);
    free(s->token);
}

static int start(serve_server *s, tpl_err *err) {
    const tpl_serve_options *o = &s->o;
    if (o->token_file && !(s->token = serve_token_load(o->token_file, err))) return -1;
    if (!(s->model = tpl_model_load(o->model, err))) return -1;
    const tpl_config *c = tpl_model_config(s->model);
    s->input = (serve_input){.h = c->in_height, .w = c->in_width, .c = c->in_channels,
                             .max_side = o->max_side};
    if (!(s->metrics = serve_metrics_create())) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    if (!(s->store = serve_store_create(s->model, o->tasks_dir, err)) ||
        !(s->cache = serve_cache_create(s->model, (size_t)o->cache_mb << 20, err)) ||
        !(s->infer = serve_infer_create(s->model, s->cache, err)))
        return -1;
    const serve_batcher_options bo = {.max_batch = o->max_batch, .max_wait_ms = o->max_wait_ms,
                                      .queue = o->queue, .threads = o->threads};
    return (s->batcher = serve_batcher_start(s->infer, s->metrics, &bo, err)) ? 0 : -1;
}

/* Waits for SIGTERM or SIGINT (blocked in every thread, taken here). */
static int wait_signal(const sigset_t *set) {
    int sig = 0;
    while (sigwait(set, &sig)) {
    }
    return sig;
}

/* Requests under way finish (at most drain_s); new ones are refused. */
static void drain(serve_server *s, serve_http *h) {
    atomic_store(&s->draining, 1);
    serve_http_quiesce(h);
    const double until = tpl_now() + s->o.drain_s;
    while (atomic_load(&s->inflight) > 0 && tpl_now() < until)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

int tpl_serve_run(const tpl_serve_options *o, tpl_err *err) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old); /* every thread started from here inherits it */
    signal(SIGPIPE, SIG_IGN);
    serve_server s = {.o = *o};
    serve_http *h = NULL;
    if (start(&s, err) || !(h = serve_http_start(&s, err))) {
        teardown(&s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    const char *colon = strrchr(o->listen, ':');
    printf("templar serve: listening on http://%.*s:%d (%d tasks, bank %s; the cache holds %d "
           "tasks' mixed weights, %.1f MiB each)\n",
           (int)(colon - o->listen), o->listen, serve_http_port(h), serve_store_count(s.store),
           serve_store_bank(s.store), serve_cache_capacity(s.cache),
           serve_cache_entry_bytes(s.cache) / 1048576.0);
    fflush(stdout);
    const int sig = wait_signal(&set);
    drain(&s, h);
    const int left = atomic_load(&s.inflight);
    serve_http_stop(h);
    teardown(&s);
    printf("templar serve: %s: stopped%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
           left ? " (some requests were still under way)" : ", every request answered");
    fflush(stdout);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
