/* Prometheus counters (see metrics.h): fixed arrays under one mutex. */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>

/* Latency buckets, seconds; batch-size buckets. */
static const double lat_bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                    0.1,    0.2,   0.5,   1.0,   2.0,  5.0};
#define N_LAT (int)(sizeof lat_bounds / sizeof *lat_bounds)
static const int batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_BATCH (int)(sizeof batch_bounds / sizeof *batch_bounds)

/* Statuses by class: 2xx, 4xx and 5xx counted apart, exact codes listed. */
static const int codes[] = {200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503};
#define N_CODES (int)(sizeof codes / sizeof *codes)

struct serve_metrics {
    pthread_mutex_t mu;
    unsigned long requests[SERVE_ROUTES + 1][N_CODES + 1]; /* last: any other code */
    unsigned long lat[SERVE_ROUTES + 1][N_LAT + 1];         /* last: +Inf */
    double lat_sum[SERVE_ROUTES + 1];
    unsigned long batches[N_BATCH + 1], batch_images;
    unsigned long hits, misses;
};

serve_metrics *serve_metrics_create(void) {
    serve_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void serve_metrics_free(serve_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int code_index(int status) {
    for (int i = 0; i < N_CODES; i++)
        if (codes[i] == status) return i;
    return N_CODES;
}

void serve_metrics_request(serve_metrics *m, serve_route_id route, int status, double seconds) {
    if ((int)route < 0 || route > SERVE_UNROUTED) route = SERVE_UNROUTED;
    int b = 0;
    while (b < N_LAT && seconds > lat_bounds[b]) b++;
    pthread_mutex_lock(&m->mu);
    m->requests[route][code_index(status)]++;
    m->lat[route][b]++;
    m->lat_sum[route] += seconds;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_batch(serve_metrics *m, int n) {
    int b = 0;
    while (b < N_BATCH && n > batch_bounds[b]) b++;
    pthread_mutex_lock(&m->mu);
    m->batches[b]++;
    m->batch_images += (unsigned long)n;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_cache(serve_metrics *m, int hit) {
    pthread_mutex_lock(&m->mu);
    if (hit) m->hits++;
    else m->misses++;
    pthread_mutex_unlock(&m->mu);
}

static void render_requests(const serve_metrics *m, tpl_buf *o) {
    tpl_buf_puts(o, "# HELP templar_requests_total Requests answered, by route and status.\n"
                    "# TYPE templar_requests_total counter\n");
    unsigned long errors[SERVE_ROUTES + 1] = {0};
    for (int r = 0; r <= SERVE_UNROUTED; r++)
        for (int c = 0; c <= N_CODES; c++) {
            const unsigned long n = m->requests[r][c];
            if (!n) continue;
            if (c == N_CODES || codes[c] >= 400) errors[r] += n;
            if (c == N_CODES)
                tpl_buf_printf(o, "templar_requests_total{route=\"%s\",code=\"other\"} %lu\n",
                               serve_route_name((serve_route_id)r), n);
            else
                tpl_buf_printf(o, "templar_requests_total{route=\"%s\",code=\"%d\"} %lu\n",
                               serve_route_name((serve_route_id)r), codes[c], n);
        }
    tpl_buf_puts(o, "# HELP templar_request_errors_total Requests answered 4xx or 5xx, by route.\n"
                    "# TYPE templar_request_errors_total counter\n");
    for (int r = 0; r <= SERVE_UNROUTED; r++)
        tpl_buf_printf(o, "templar_request_errors_total{route=\"%s\"} %lu\n",
                       serve_route_name((serve_route_id)r), errors[r]);
}

static void render_latency(const serve_metrics *m, tpl_buf *o) {
    tpl_buf_puts(o, "# HELP templar_request_duration_seconds Time from a request's arrival to its answer.\n"
                    "# TYPE templar_request_duration_seconds histogram\n");
    for (int r = 0; r <= SERVE_UNROUTED; r++) {
        const char *name = serve_route_name((serve_route_id)r);
        unsigned long cum = 0;
        for (int b = 0; b <= N_LAT; b++) {
            cum += m->lat[r][b];
            if (b < N_LAT)
                tpl_buf_printf(o, "templar_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
                               name, lat_bounds[b], cum);
            else
                tpl_buf_printf(o, "templar_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
                               name, cum);
        }
        tpl_buf_printf(o, "templar_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                       m->lat_sum[r]);
        tpl_buf_printf(o, "templar_request_duration_seconds_count{route=\"%s\"} %lu\n", name, cum);
    }
}

static void render_batches(const serve_metrics *m, tpl_buf *o) {
    tpl_buf_puts(o, "# HELP templar_batch_size Images per forward pass (one task each).\n"
                    "# TYPE templar_batch_size histogram\n");
    unsigned long cum = 0;
    for (int b = 0; b <= N_BATCH; b++) {
        cum += m->batches[b];
        if (b < N_BATCH)
            tpl_buf_printf(o, "templar_batch_size_bucket{le=\"%d\"} %lu\n", batch_bounds[b], cum);
        else
            tpl_buf_printf(o, "templar_batch_size_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    tpl_buf_printf(o, "templar_batch_size_sum %lu\ntemplar_batch_size_count %lu\n",
                   m->batch_images, cum);
}

void serve_metrics_render(serve_metrics *m, const serve_gauges *g, tpl_buf *o) {
    pthread_mutex_lock(&m->mu);
    render_requests(m, o);
    render_latency(m, o);
    render_batches(m, o);
    tpl_buf_printf(o,
                   "# HELP templar_cache_lookups_total Mixed-weight cache lookups, by result.\n"
                   "# TYPE templar_cache_lookups_total counter\n"
                   "templar_cache_lookups_total{result=\"hit\"} %lu\n"
                   "templar_cache_lookups_total{result=\"miss\"} %lu\n",
                   m->hits, m->misses);
    pthread_mutex_unlock(&m->mu);
    tpl_buf_printf(o,
                   "# HELP templar_queue_depth Images waiting for the batcher.\n"
                   "# TYPE templar_queue_depth gauge\ntemplar_queue_depth %d\n"
                   "# HELP templar_queue_capacity Images the queue holds before answering 503.\n"
                   "# TYPE templar_queue_capacity gauge\ntemplar_queue_capacity %d\n"
                   "# HELP templar_tasks_loaded Tasks the server answers for.\n"
                   "# TYPE templar_tasks_loaded gauge\ntemplar_tasks_loaded %d\n"
                   "# HELP templar_cache_entries Tasks whose mixed weights the cache can hold.\n"
                   "# TYPE templar_cache_entries gauge\ntemplar_cache_entries %d\n"
                   "# HELP templar_draining 1 once SIGTERM asked the server to finish.\n"
                   "# TYPE templar_draining gauge\ntemplar_draining %d\n",
                   g->queue_depth, g->queue_capacity, g->tasks, g->cache_entries, g->draining);
}
