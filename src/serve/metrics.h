/* The server's counters, rendered as Prometheus text (GET /metrics):
 * requests by route and status, errors, a latency histogram per route,
 * batch sizes, cache hits and misses.  Gauges (queue depth, tasks loaded,
 * cache entries) are passed in at rendering.  Thread-safe. */
#ifndef TPL_SERVE_METRICS_H
#define TPL_SERVE_METRICS_H
#include "json.h"
#include "request.h"

typedef struct serve_metrics serve_metrics;

serve_metrics *serve_metrics_create(void);
void serve_metrics_free(serve_metrics *m);
/* One answered request: its route, status and seconds from first byte to answer. */
void serve_metrics_request(serve_metrics *m, serve_route_id route, int status, double seconds);
/* One forward of n images; and one cache lookup. */
void serve_metrics_batch(serve_metrics *m, int n);
void serve_metrics_cache(serve_metrics *m, int hit);

typedef struct serve_gauges {
    int queue_depth, queue_capacity, tasks, cache_entries, draining;
} serve_gauges;

void serve_metrics_render(serve_metrics *m, const serve_gauges *g, tpl_buf *out);
#endif
