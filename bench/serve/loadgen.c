/* A small HTTP/1.1 load generator for bench/serve/run.sh: C keep-alive
 * connections, one thread each, POST the same body to
 * /v1/tasks/<task>/classify for a task drawn at random per request from
 * t00000 .. t<N-1> (prefix and count given), for a fixed time.
 *
 *   closed loop (--rate 0): each connection sends its next request when
 *     the last is answered: throughput at that concurrency
 *   open loop (--rate R): requests are due at R a second in all, spread
 *     over the connections; a request's latency counts from when it was
 *     due, so a server that falls behind pays for it (no coordinated
 *     omission)
 *
 * Prints one JSON line: requests, errors (any status but 200, and broken
 * connections), throughput, latency p50/p90/p99/max in ms.
 *
 *   bench_serve_loadgen --port P --body FILE --tasks N [--prefix t]
 *       [--connections C] [--seconds S] [--rate R] [--type image/png] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct cfg {
    int port, tasks, connections;
    double seconds, rate;
    const char *prefix, *type;
    char *body;
    size_t body_len;
} cfg;

typedef struct worker {
    const cfg *c;
    int id;
    double start;
    double *lat;          /* ms */
    size_t n, cap;
    long errors;
    uint64_t rng;
} worker;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
    double d = t - now();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Reads one response: its status, or -1 when the connection broke. */
static int read_response(int fd, char *buf, size_t cap) {
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == cap - 1) return -1;
        ssize_t k = recv(fd, buf + have, cap - 1 - have, 0);
        if (k <= 0) return -1;
        have += (size_t)k;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return -1;
    long length = 0;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (!strncasecmp(h + 2, "content-length:", 15)) length = atol(h + 17);
    size_t body = have - (size_t)(end + 4 - buf);
    while ((long)body < length) {
        ssize_t k = recv(fd, buf, cap - 1, 0);
        if (k <= 0) return -1;
        body += (size_t)k;
    }
    return status;
}

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void record(worker *w, double ms) {
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4096;
        w->lat = realloc(w->lat, sizeof(double) * w->cap);
    }
    w->lat[w->n++] = ms;
}

static void *run(void *arg) {
    worker *w = arg;
    const cfg *c = w->c;
    char *req = malloc(512 + c->body_len), *buf = malloc(1 << 16);
    int fd = -1;
    const double end = w->start + c->seconds;
    const double every = c->rate > 0 ? c->connections / c->rate : 0;
    for (long k = 0;; k++) {
        double due = c->rate > 0 ? w->start + (k + (double)w->id / c->connections) * every : now();
        if (due >= end || now() >= end) break;
        sleep_until(due);
        if (fd < 0 && (fd = connect_to(c->port)) < 0) {
            w->errors++;
            sleep_until(now() + 0.01);
            continue;
        }
        const int task = (int)(next_rand(&w->rng) % (uint64_t)c->tasks);
        /* head and body in one write, as a client library sends them */
        int n = snprintf(req, 512,
                         "POST /v1/tasks/%s%05d/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                         c->prefix, task, c->type, c->body_len);
        memcpy(req + n, c->body, c->body_len);
        int status = send_all(fd, req, (size_t)n + c->body_len) ? -1 : read_response(fd, buf, 1 << 16);
        if (c->rate <= 0 || now() < end) record(w, (now() - due) * 1e3);
        if (status != 200) w->errors++;
        if (status < 0) close(fd), fd = -1;
    }
    if (fd >= 0) close(fd);
    free(buf), free(req);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
    return n ? v[(size_t)(p * (n - 1) + 0.5)] : 0;
}

int main(int argc, char **argv) {
    cfg c = {.connections = 1, .seconds = 10, .prefix = "t", .type = "image/png", .tasks = 1};
    const char *body = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) c.port = atoi(v);
        else if (!strcmp(k, "--body")) body = v;
        else if (!strcmp(k, "--tasks")) c.tasks = atoi(v);
        else if (!strcmp(k, "--prefix")) c.prefix = v;
        else if (!strcmp(k, "--connections")) c.connections = atoi(v);
        else if (!strcmp(k, "--seconds")) c.seconds = atof(v);
        else if (!strcmp(k, "--rate")) c.rate = atof(v);
        else if (!strcmp(k, "--type")) c.type = v;
        else {
            fprintf(stderr, "loadgen: unknown flag %s\n", k);
            return 2;
        }
    }
    FILE *f = body ? fopen(body, "rb") : NULL;
    if (!f || !c.port || c.tasks < 1 || c.connections < 1) {
        fprintf(stderr, "usage: bench_serve_loadgen --port P --body FILE --tasks N [--connections C] "
                        "[--seconds S] [--rate R] [--prefix t] [--type image/png]\n");
        return 2;
    }
    c.body = malloc(1 << 20);
    c.body_len = fread(c.body, 1, 1 << 20, f);
    fclose(f);
    worker *w = calloc((size_t)c.connections, sizeof *w);
    pthread_t *th = calloc((size_t)c.connections, sizeof *th);
    const double start = now() + 0.05;
    for (int i = 0; i < c.connections; i++) {
        w[i] = (worker){.c = &c, .id = i, .start = start, .rng = 0x9e3779b97f4a7c15ull * (i + 1)};
        pthread_create(&th[i], NULL, run, &w[i]);
    }
    size_t total = 0;
    long errors = 0;
    for (int i = 0; i < c.connections; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double *all = malloc(sizeof(double) * (total ? total : 1));
    size_t at = 0;
    for (int i = 0; i < c.connections; i++) {
        memcpy(all + at, w[i].lat, sizeof(double) * w[i].n);
        at += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof *all, cmp);
    printf("{\"connections\": %d, \"rate\": %.1f, \"tasks\": %d, \"seconds\": %.1f, \"requests\": %zu, "
           "\"errors\": %ld, \"throughput\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
           c.connections, c.rate, c.tasks, c.seconds, total, errors, total / c.seconds,
           pct(all, total, 0.5), pct(all, total, 0.9), pct(all, total, 0.99),
           total ? all[total - 1] : 0.0);
    free(all), free(w), free(th), free(c.body);
    return 0;
}
