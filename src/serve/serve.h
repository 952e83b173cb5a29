/* templar serve: one bank, many tasks, one process (README.md, "Serving").
 *
 * An HTTP/1.1 server on libmicrohttpd over one model file and a directory
 * of task files:
 *   GET    /v1/tasks                  every task: name, classes, class names, bytes
 *   POST   /v1/tasks/{task}/classify  one image (PNG, JPEG, JSON pixels), ?top=K
 *   POST   /v1/classify               a JSON batch whose items name their tasks
 *   PUT    /v1/tasks/{task}           add or replace a task (a task file; token)
 *   DELETE /v1/tasks/{task}           remove one (token)
 *   GET    /healthz, /metrics         liveness; Prometheus text
 * Images from every request queue for one batcher (batcher.h), which runs
 * them by task over mixed weights kept in a bounded cache (cache.h).
 * SIGTERM or SIGINT: stop accepting, answer what is under way, exit 0. */
#ifndef TPL_SERVE_H
#define TPL_SERVE_H
#include "templar.h"

typedef struct tpl_serve_options {
    const char *model;       /* the bank's model file */
    const char *tasks_dir;   /* task files (NAME.safetensors); NULL: the model's tasks only */
    const char *listen;      /* ADDRESS:PORT, [IPv6]:PORT; port 0 picks a free one */
    const char *token_file;  /* bearer token for PUT and DELETE; NULL: they answer 403 */
    int max_batch;           /* images a forward takes at most */
    int max_wait_ms;         /* how long the batcher waits for a fuller batch */
    int queue;               /* images waiting at most before 503 */
    int cache_mb;            /* mixed weights kept, MiB */
    int threads;             /* of each forward (0: OpenMP's default; default 1) */
    int max_body_kb;         /* request bodies */
    int max_side;            /* pixels a side of an image, decoded or sent */
    int timeout_s;           /* idle connections are closed after this */
    int max_connections;
    int drain_s;             /* after SIGTERM, how long requests under way may take */
    int top;                 /* classes answered when ?top is not given */
} tpl_serve_options;

void tpl_serve_defaults(tpl_serve_options *o);
/* Serves until SIGTERM or SIGINT: 0 after a clean drain, -1 with err when
 * it cannot start (the model, a task file, the address, the token). */
int tpl_serve_run(const tpl_serve_options *o, tpl_err *err);
#endif
