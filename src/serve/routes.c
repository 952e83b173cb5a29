/* What each route answers (see server.h and serve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void serve_error(serve_response *out, int status, const char *msg) {
    out->status = status;
    out->content_type = "application/json";
    out->body.len = 0;
    tpl_buf_puts(&out->body, "{\"error\":");
    tpl_buf_json_string(&out->body, msg);
    tpl_buf_printf(&out->body, ",\"status\":%d}\n", status);
}

static void ok_json(serve_response *out, int status) {
    out->status = status;
    out->content_type = "application/json";
}

static void queue_full(serve_response *out) {
    serve_error(out, 503, "the queue is full: retry shortly");
    out->retry_after = 1;
}

/* The top classes of one result, best first. */
static void top_json(const serve_task *t, const float *probs, int top, tpl_buf *b) {
    const int k = top < t->classes ? top : t->classes;
    int best[k];
    for (int i = 0; i < k; i++) best[i] = -1;
    for (int c = 0; c < t->classes; c++) /* insertion into the k best: k is small */
        for (int i = 0; i < k; i++)
            if (best[i] < 0 || probs[c] > probs[best[i]]) {
                memmove(best + i + 1, best + i, sizeof(int) * (size_t)(k - i - 1));
                best[i] = c;
                break;
            }
    tpl_buf_puts(b, "{\"task\":");
    tpl_buf_json_string(b, t->name);
    tpl_buf_puts(b, ",\"classes\":[");
    for (int i = 0; i < k; i++) {
        tpl_buf_printf(b, "%s{\"class\":%d,\"name\":", i ? "," : "", best[i]);
        if (t->class_names) tpl_buf_json_string(b, t->class_names[best[i]]);
        else tpl_buf_puts(b, "null");
        tpl_buf_printf(b, ",\"prob\":%.9g}", probs[best[i]]);
    }
    tpl_buf_puts(b, "]}");
}

static size_t input_bytes(const serve_server *s) {
    return (size_t)s->input.h * s->input.w * s->input.c;
}

static void classify(serve_server *s, const serve_request *r, serve_response *out) {
    char msg[SERVE_MSG];
    int top, status = serve_parse_top(r->top, s->o.top, &top, msg);
    if (status != 200) return serve_error(out, status, msg);
    serve_task *t = serve_store_get(s->store, r->route.task);
    if (!t) {
        snprintf(msg, sizeof msg, "no task '%s'", r->route.task);
        return serve_error(out, 404, msg);
    }
    uint8_t *px = malloc(input_bytes(s));
    float *probs = malloc(sizeof(float) * (size_t)t->classes);
    if (!px || !probs) status = 503, snprintf(msg, sizeof msg, "out of memory");
    else status = serve_parse_image(&s->input, r->content_type, r->body, r->len, px, msg);
    serve_job job = {.task = t, .pixels = px, .probs = probs};
    if (status != 200) serve_error(out, status, msg);
    else if (serve_batcher_run(s->batcher, &job, 1)) queue_full(out);
    else if (job.status != 200) serve_error(out, job.status, job.error);
    else {
        ok_json(out, 200);
        top_json(t, probs, top, &out->body);
        tpl_buf_puts(&out->body, "\n");
    }
    free(px), free(probs);
    serve_store_release(s->store, t);
}

/* The batch's tasks, probabilities and jobs; 200 or an error in out. */
static void batch(serve_server *s, const serve_request *r, serve_response *out) {
    char msg[SERVE_MSG];
    serve_item *items;
    int n, top;
    int status = serve_parse_batch(&s->input, r->body, r->len, serve_batcher_capacity(s->batcher),
                                   s->o.top, &items, &n, &top, msg);
    if (status != 200) return serve_error(out, status, msg);
    serve_job *jobs = calloc((size_t)n, sizeof *jobs);
    int got = 0;
    for (; jobs && got < n; got++) {
        serve_task *t = serve_store_get(s->store, items[got].task);
        if (!t) {
            snprintf(msg, sizeof msg, "item %d: no task '%s'", got, items[got].task);
            status = 404;
            break;
        }
        jobs[got] = (serve_job){.task = t, .pixels = items[got].pixels,
                                .probs = malloc(sizeof(float) * (size_t)t->classes)};
        if (!jobs[got].probs) {
            serve_store_release(s->store, t), status = 503, snprintf(msg, sizeof msg, "out of memory");
            break;
        }
    }
    if (!jobs) status = 503, snprintf(msg, sizeof msg, "out of memory");
    if (status != 200) serve_error(out, status, msg);
    else if (serve_batcher_run(s->batcher, jobs, n)) queue_full(out);
    else {
        ok_json(out, 200);
        tpl_buf_puts(&out->body, "{\"results\":[");
        for (int i = 0; i < n; i++) {
            if (i) tpl_buf_puts(&out->body, ",");
            if (jobs[i].status == 200) top_json(jobs[i].task, jobs[i].probs, top, &out->body);
            else {
                tpl_buf_puts(&out->body, "{\"error\":");
                tpl_buf_json_string(&out->body, jobs[i].error);
                tpl_buf_puts(&out->body, "}");
            }
        }
        tpl_buf_puts(&out->body, "]}\n");
    }
    for (int i = 0; jobs && i < got; i++) {
        free(jobs[i].probs);
        serve_store_release(s->store, (serve_task *)jobs[i].task);
    }
    free(jobs);
    serve_items_free(items, n);
}

static void put_task(serve_server *s, const serve_request *r, serve_response *out) {
    tpl_err err = {{0}};
    const int status = serve_store_put(s->store, r->route.task, r->body, r->len, &err);
    if (status >= 300) return serve_error(out, status, err.msg);
    serve_task *t = serve_store_get(s->store, r->route.task);
    ok_json(out, status);
    if (t) serve_task_json(t, &out->body);
    else tpl_buf_puts(&out->body, "{}"); /* removed again meanwhile */
    tpl_buf_puts(&out->body, "\n");
    serve_store_release(s->store, t);
}

static void delete_task(serve_server *s, const serve_request *r, serve_response *out) {
    tpl_err err = {{0}};
    const int status = serve_store_delete(s->store, r->route.task, &err);
    if (status >= 300) return serve_error(out, status, err.msg);
    ok_json(out, 200);
    tpl_buf_puts(&out->body, "{\"deleted\":");
    tpl_buf_json_string(&out->body, r->route.task);
    tpl_buf_puts(&out->body, "}\n");
}

static void health(serve_server *s, serve_response *out) {
    const int draining = atomic_load(&s->draining);
    ok_json(out, draining ? 503 : 200);
    tpl_buf_printf(&out->body, "{\"status\":\"%s\",\"tasks\":%d,\"bank\":\"%s\"}\n",
                   draining ? "draining" : "ok", serve_store_count(s->store),
                   serve_store_bank(s->store));
}

static void metrics(serve_server *s, serve_response *out) {
    const serve_gauges g = {.queue_depth = serve_batcher_depth(s->batcher),
                            .queue_capacity = serve_batcher_capacity(s->batcher),
                            .tasks = serve_store_count(s->store),
                            .cache_entries = serve_cache_capacity(s->cache),
                            .draining = atomic_load(&s->draining)};
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4";
    serve_metrics_render(s->metrics, &g, &out->body);
}

void serve_handle(serve_server *s, const serve_request *r, serve_response *out) {
    switch (r->route.id) {
    case SERVE_TASKS:
        ok_json(out, 200);
        serve_store_json(s->store, &out->body);
        break;
    case SERVE_CLASSIFY: classify(s, r, out); break;
    case SERVE_BATCH: batch(s, r, out); break;
    case SERVE_TASK_PUT: put_task(s, r, out); break;
    case SERVE_TASK_DELETE: delete_task(s, r, out); break;
    case SERVE_HEALTH: health(s, out); break;
    case SERVE_METRICS: metrics(s, out); break;
    default: serve_error(out, 404, "no such path");
    }
    if (out->body.failed) {
        tpl_buf_free(&out->body);
        out->body = (tpl_buf){0};
        serve_error(out, 503, "out of memory for the answer");
    }
}
