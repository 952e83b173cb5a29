/* What a request asks, read from its method, path, query value and body:
 * everything templar serve parses itself (libmicrohttpd parses HTTP).
 * Pure functions, no server state: fuzz/fuzz_request.c runs them.
 *
 * Each returns an HTTP status: 200 when the request is well formed, else
 * the 4xx to answer with msg (one line) naming the problem. */
#ifndef TPL_SERVE_REQUEST_H
#define TPL_SERVE_REQUEST_H
#include <stddef.h>
#include <stdint.h>

#include "templar.h"

#define SERVE_MSG 256

typedef enum {
    SERVE_TASKS,      /* GET /v1/tasks */
    SERVE_CLASSIFY,   /* POST /v1/tasks/{task}/classify */
    SERVE_BATCH,      /* POST /v1/classify */
    SERVE_TASK_PUT,   /* PUT /v1/tasks/{task} */
    SERVE_TASK_DELETE,/* DELETE /v1/tasks/{task} */
    SERVE_HEALTH,     /* GET /healthz */
    SERVE_METRICS,    /* GET /metrics */
    SERVE_ROUTES,
    SERVE_UNROUTED = SERVE_ROUTES /* no route: 404, 405, or a bad task name */
} serve_route_id;

typedef struct serve_route {
    serve_route_id id;
    char task[TPL_NAME_LEN];
} serve_route;

/* The route's name, for metrics labels. */
const char *serve_route_name(serve_route_id id);
/* Method and path (no query) to a route: 404 for an unknown path, 405 for
 * a method the path does not take, 400 for a task name that is not 1-31
 * letters, digits, '_' or '-' (so no name leaves the tasks directory). */
int serve_route_match(const char *method, const char *path, serve_route *r, char *msg);
/* The value of ?top=K (NULL: absent, def): an integer from 1 to 1000. */
int serve_parse_top(const char *value, int def, int *top, char *msg);

/* The input images must become: the model's size and channels, and the
 * largest side accepted (decoded or sent as pixels). */
typedef struct serve_input {
    int h, w, c;
    int max_side;
} serve_input;

/* A classify body into pixels (h * w * c, the model's input): PNG or JPEG
 * (by content type, or sniffed when it is absent, application/octet-stream
 * or application/x-www-form-urlencoded, what curl -d sends), or JSON
 *   {"width": W, "height": H, "channels": C, "pixels": [W*H*C ints 0-255]}
 * (rows of pixels, channels interleaved; C 1, 3 or the model's).  Fitted
 * to the model's input as templar predict fits a file (tpl_image_load:
 * resized, grey or colour converted).  415 for another content type, 413
 * for an image larger than max_side, 400 for anything malformed. */
int serve_parse_image(const serve_input *in, const char *content_type, const void *body,
                      size_t len, uint8_t *pixels, char *msg);

/* One item of a batch: its task's name and pixels (the model's input). */
typedef struct serve_item {
    char task[TPL_NAME_LEN];
    uint8_t *pixels;
} serve_item;

/* A JSON batch
 *   {"items": [{"task": NAME, "width": W, "height": H, "channels": C,
 *               "pixels": [...]}, ...], "top": K}
 * ("top" optional, def) into *items (malloc'd, each item's pixels too:
 * serve_items_free), at most max_items of them (413 beyond). */
int serve_parse_batch(const serve_input *in, const char *body, size_t len, int max_items,
                      int def_top, serve_item **items, int *n, int *top, char *msg);
void serve_items_free(serve_item *items, int n);
#endif
