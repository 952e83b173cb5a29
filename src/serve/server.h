/* The server's parts and how a request is answered (routes.c), shared by
 * the HTTP glue (http.c) and the start and stop (server.c). */
#ifndef TPL_SERVE_SERVER_H
#define TPL_SERVE_SERVER_H
#include <stdatomic.h>

#include "batcher.h"
#include "serve.h"

typedef struct serve_server {
    tpl_serve_options o;
    tpl_model *model;
    serve_store *store;
    serve_cache *cache;
    serve_infer *infer;
    serve_batcher *batcher;
    serve_metrics *metrics;
    serve_input input;
    char *token;             /* NULL: no --token-file */
    atomic_int draining;
    atomic_int inflight;     /* requests begun and not yet answered */
} serve_server;

/* A request as the routes see it (HTTP already parsed). */
typedef struct serve_request {
    serve_route route;
    const char *top;          /* ?top, or NULL */
    const char *content_type; /* or NULL */
    const char *body;
    size_t len;
} serve_request;

typedef struct serve_response {
    int status;
    const char *content_type;
    int retry_after;          /* seconds (503), 0: none */
    tpl_buf body;
} serve_response;

/* Answers a routed request (the token already checked). */
void serve_handle(serve_server *s, const serve_request *r, serve_response *out);
/* {"error": msg, "status": status} */
void serve_error(serve_response *out, int status, const char *msg);

typedef struct serve_http serve_http;
/* Listens on o.listen; requests go to serve_handle. */
serve_http *serve_http_start(serve_server *s, tpl_err *err);
int serve_http_port(const serve_http *h);
/* Stops accepting connections (those open are still answered). */
void serve_http_quiesce(serve_http *h);
void serve_http_stop(serve_http *h);
#endif
