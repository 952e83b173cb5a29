/* templar serve's request parsing (src/serve/request.c): what the server
 * reads itself beyond libmicrohttpd, on arbitrary bytes.
 *
 * Input: byte 0 picks the parser (% 4: route, top, image body, batch body);
 * byte 1 the content type of an image body (% 6) and the model's channels
 * (bit 7: 3, else 1); the rest is the method and path (split at the first
 * space), the ?top value, or the body.  The model takes 8x8 images, 64 a
 * side at most.  Each answer must be 200 or a 4xx (a 503 only when out of
 * memory) with a one-line message; a 200 must hold what it promises: a
 * valid task name for the routes that name one, top in 1..1000, every
 * pixel of the model's input written, each batch item's task named. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"
#include "taskfile.h"

enum { SIDE = 8, MAX_SIDE = 64 };

static void check_status(int status, const char *msg) {
    if (status == 200) return;
    if (status != 400 && status != 404 && status != 405 && status != 413 && status != 415 &&
        status != 503)
        fuzz_fail("status %d (%s)", status, msg);
    fuzz_check_error(msg);
}

static void route(const char *text) {
    const char *space = strchr(text, ' ');
    char method[16] = "";
    const char *path = space ? space + 1 : text;
    if (space && (size_t)(space - text) < sizeof method) memcpy(method, text, (size_t)(space - text));
    serve_route r;
    char msg[SERVE_MSG];
    const int status = serve_route_match(method, path, &r, msg);
    check_status(status, msg);
    if (status != 200) return;
    if (r.id < 0 || r.id >= SERVE_ROUTES) fuzz_fail("route %d", r.id);
    const int named = r.id == SERVE_CLASSIFY || r.id == SERVE_TASK_PUT || r.id == SERVE_TASK_DELETE;
    if (named && !tpl_task_name_valid(r.task)) fuzz_fail("route with task name '%s'", r.task);
}

static void top(const char *text) {
    int k;
    char msg[SERVE_MSG];
    const int status = serve_parse_top(text, 5, &k, msg);
    check_status(status, msg);
    if (status == 200 && (k < 1 || k > 1000)) fuzz_fail("top %d", k);
}

static void image(const uint8_t *body, size_t len, int type, int channels) {
    static const char *const types[] = {NULL, "image/png", "image/jpeg", "application/json",
                                        "application/octet-stream", "text/plain"};
    const serve_input in = {.h = SIDE, .w = SIDE, .c = channels, .max_side = MAX_SIDE};
    const size_t n = (size_t)SIDE * SIDE * channels;
    uint8_t *px = malloc(n);
    char msg[SERVE_MSG];
    const int status = serve_parse_image(&in, types[type % 6], body, len, px, msg);
    check_status(status, msg);
    if (status == 200) fuzz_touch(px, n);
    free(px);
}

static void batch(const char *body, size_t len, int channels) {
    const serve_input in = {.h = SIDE, .w = SIDE, .c = channels, .max_side = MAX_SIDE};
    serve_item *items;
    int n, k;
    char msg[SERVE_MSG];
    const int status = serve_parse_batch(&in, body, len, 16, 5, &items, &n, &k, msg);
    check_status(status, msg);
    if (status == 200 && (n < 1 || n > 16 || k < 1 || k > 1000)) fuzz_fail("%d items, top %d", n, k);
    for (int i = 0; status == 200 && i < n; i++) {
        if (!tpl_task_name_valid(items[i].task)) fuzz_fail("item %d names task '%s'", i, items[i].task);
        fuzz_touch(items[i].pixels, (size_t)SIDE * SIDE * channels);
    }
    if (status != 200 && (items || n)) fuzz_fail("a refused batch left %d items", n);
    serve_items_free(items, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const size_t len = size - 2;
    char *text = malloc(len + 1); /* exactly the payload: reads past it are caught */
    memcpy(text, data + 2, len);
    text[len] = 0;
    const int channels = data[1] & 0x80 ? 3 : 1;
    switch (data[0] % 4) {
    case 0: route(text); break;
    case 1: top(text); break;
    case 2: {
        uint8_t *body = malloc(len ? len : 1);
        memcpy(body, data + 2, len);
        image(body, len, data[1] & 0x7f, channels);
        free(body);
        break;
    }
    default: batch(text, len, channels);
    }
    free(text);
    return 0;
}
