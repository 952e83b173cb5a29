/* The HTTP glue on libmicrohttpd (see server.h): one thread per
 * connection (a request blocks while the batcher runs its images), the
 * body gathered up to its limit, the token checked before any body is
 * read, then serve_handle.  libmicrohttpd parses HTTP; nothing here does. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "server.h"

struct serve_http {
    struct MHD_Daemon *d;
    serve_server *s;
    int port;
};

/* One request's state between libmicrohttpd's calls. */
typedef struct conn_req {
    serve_route route;
    double start;
    tpl_buf body;
    size_t limit;
} conn_req;

static enum MHD_Result send_response(struct MHD_Connection *c, serve_server *s, conn_req *r,
                                     serve_response *out) {
    if (out->body.failed) serve_error(out, 503, "out of memory for the answer");
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        out->body.len, out->body.p ? out->body.p : (char *)"", MHD_RESPMEM_MUST_COPY);
    tpl_buf_free(&out->body);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            out->content_type ? out->content_type : "application/json");
    if (out->retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%d", out->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (out->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (atomic_load(&s->draining)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)out->status, resp);
    MHD_destroy_response(resp);
    serve_metrics_request(s->metrics, r->route.id, out->status, tpl_now() - r->start);
    return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, serve_server *s, conn_req *r,
                                  int status, const char *msg) {
    serve_response out = {0};
    serve_error(&out, status, msg);
    if (status == 503) out.retry_after = 1;
    return send_response(c, s, r, &out);
}

/* The checks a request's headers allow: route, draining, token, length.
 * 0 when it may go on, else the status (msg set). */
static int first_look(struct MHD_Connection *c, serve_server *s, conn_req *r, const char *method,
                      const char *url, char *msg) {
    int status = serve_route_match(method, url, &r->route, msg);
    if (status != 200) return status;
    if (atomic_load(&s->draining) && r->route.id != SERVE_HEALTH && r->route.id != SERVE_METRICS) {
        snprintf(msg, SERVE_MSG, "the server is shutting down");
        return 503;
    }
    if (r->route.id == SERVE_TASK_PUT || r->route.id == SERVE_TASK_DELETE) {
        if (!s->token) {
            snprintf(msg, SERVE_MSG, "the server was started without --token-file: tasks cannot change");
            return 403;
        }
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!serve_token_matches(s->token, auth)) {
            snprintf(msg, SERVE_MSG, "%s", auth ? "wrong token" : "a bearer token is needed (Authorization: Bearer TOKEN)");
            return 401;
        }
    }
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > r->limit) {
        snprintf(msg, SERVE_MSG, "the body is larger than %zu bytes", r->limit);
        return 413;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state) {
    (void)version;
    serve_server *s = cls;
    conn_req *r = *state;
    char msg[SERVE_MSG];
    if (!r) { /* headers only, first call */
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        *state = r;
        atomic_fetch_add(&s->inflight, 1);
        r->start = tpl_now();
        r->limit = (size_t)s->o.max_body_kb * 1024;
        const int status = first_look(c, s, r, method, url, msg);
        return status ? send_error(c, s, r, status, msg) : MHD_YES;
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > r->limit)
            return MHD_NO; /* a chunked body past the limit: the connection is closed */
        tpl_buf_put(&r->body, upload, *upload_size);
        *upload_size = 0;
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    serve_request req = {
        .route = r->route,
        .top = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "top"),
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .body = r->body.p ? r->body.p : "", .len = r->body.len};
    serve_response out = {0};
    serve_handle(s, &req, &out);
    return send_response(c, s, r, &out);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why) {
    (void)c, (void)why;
    serve_server *s = cls;
    conn_req *r = *state;
    if (!r) return;
    tpl_buf_free(&r->body);
    free(r);
    *state = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

static void quiet_log(void *cls, const char *fmt, va_list ap) { (void)cls, (void)fmt, (void)ap; }

/* "ADDRESS:PORT" or "[IPv6]:PORT" into addr. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, int *v6, tpl_err *err) {
    char host[128];
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : 0;
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !colon[1] || *end || port < 0 || port > 65535 || n == 0 || n >= sizeof host) {
        tpl_err_set(err, "--listen '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)", listen);
        return -1;
    }
    memcpy(host, listen, n);
    host[n] = 0;
    memset(addr, 0, sizeof *addr);
    *v6 = host[0] == '[';
    if (*v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;
        if (n < 3 || host[n - 1] != ']') goto bad;
        host[n - 1] = 0;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) goto bad;
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) == 1) return 0;
bad:
    tpl_err_set(err, "--listen '%s': '%s' is not an IP address", listen, host);
    return -1;
}

serve_http *serve_http_start(serve_server *s, tpl_err *err) {
    struct sockaddr_storage addr;
    int v6;
    if (parse_listen(s->o.listen, &addr, &v6, err)) return NULL;
    serve_http *h = calloc(1, sizeof *h);
    if (!h) {
        tpl_err_set(err, "out of memory");
        return NULL;
    }
    h->s = s;
    const unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                           MHD_USE_ITC | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->o.max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
                            MHD_OPTION_END);
    if (!h->d) {
        tpl_err_set(err, "cannot listen on %s (in use, or not an address of this machine?)",
                    s->o.listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return h;
}

int serve_http_port(const serve_http *h) { return h->port; }

void serve_http_quiesce(serve_http *h) {
    const MHD_socket fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void serve_http_stop(serve_http *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    free(h);
}
