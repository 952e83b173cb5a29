/* Request parsing (see request.h). */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "json.h"
#include "taskfile.h"

static int fail(char *msg, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *msg, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, SERVE_MSG, fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++) /* one line, whatever a client sent */
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return status;
}

static const char *const route_names[SERVE_ROUTES + 1] = {
    [SERVE_TASKS] = "tasks", [SERVE_CLASSIFY] = "classify", [SERVE_BATCH] = "batch",
    [SERVE_TASK_PUT] = "task_put", [SERVE_TASK_DELETE] = "task_delete",
    [SERVE_HEALTH] = "healthz", [SERVE_METRICS] = "metrics", [SERVE_UNROUTED] = "other",
};

const char *serve_route_name(serve_route_id id) {
    return id >= 0 && id <= SERVE_UNROUTED ? route_names[id] : "other";
}

/* ---- routes ---------------------------------------------------------------- */

/* A path segment into r->task: 400 unless a valid task name. */
static int take_task(const char *seg, size_t len, serve_route *r, char *msg) {
    char name[TPL_NAME_LEN + 1];
    if (len >= TPL_NAME_LEN) return fail(msg, 400, "task name longer than %d characters", TPL_NAME_LEN - 1);
    memcpy(name, seg, len);
    name[len] = 0;
    if (!tpl_task_name_valid(name))
        return fail(msg, 400, "task name '%.40s' is not 1-%d letters, digits, '_' or '-'", name,
                    TPL_NAME_LEN - 1);
    memcpy(r->task, name, len + 1);
    return 200;
}

static int method_is(const char *method, const char *want) { return !strcmp(method, want); }

static int wrong_method(char *msg, const char *method, const char *allowed) {
    return fail(msg, 405, "method %.16s is not allowed here (allowed: %s)", method, allowed);
}

int serve_route_match(const char *method, const char *path, serve_route *r, char *msg) {
    memset(r, 0, sizeof *r);
    r->id = SERVE_UNROUTED;
    static const struct { const char *path, *method; serve_route_id id; } fixed[] = {
        {"/v1/tasks", "GET", SERVE_TASKS}, {"/v1/classify", "POST", SERVE_BATCH},
        {"/healthz", "GET", SERVE_HEALTH}, {"/metrics", "GET", SERVE_METRICS},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        if (strcmp(path, fixed[i].path)) continue;
        if (!method_is(method, fixed[i].method) && !(method_is(method, "HEAD") && fixed[i].method[0] == 'G'))
            return wrong_method(msg, method, fixed[i].method);
        r->id = fixed[i].id;
        return 200;
    }
    static const char prefix[] = "/v1/tasks/";
    if (strncmp(path, prefix, sizeof prefix - 1))
        return fail(msg, 404, "no such path: %.80s", path);
    const char *name = path + sizeof prefix - 1, *slash = strchr(name, '/');
    const size_t len = slash ? (size_t)(slash - name) : strlen(name);
    if (slash && strcmp(slash, "/classify"))
        return fail(msg, 404, "no such path: %.80s", path);
    int status = take_task(name, len, r, msg);
    if (status != 200) return status;
    if (slash) {
        if (!method_is(method, "POST")) return wrong_method(msg, method, "POST");
        r->id = SERVE_CLASSIFY;
    } else if (method_is(method, "PUT")) {
        r->id = SERVE_TASK_PUT;
    } else if (method_is(method, "DELETE")) {
        r->id = SERVE_TASK_DELETE;
    } else {
        return wrong_method(msg, method, "PUT, DELETE");
    }
    return 200;
}

int serve_parse_top(const char *value, int def, int *top, char *msg) {
    *top = def;
    if (!value) return 200;
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || value[0] == '-' || value[0] == '+' || value[0] == ' ' || v < 1 ||
        v > 1000)
        return fail(msg, 400, "top '%.20s' is not an integer from 1 to 1000", value);
    *top = (int)v;
    return 200;
}

/* ---- pixels ------------------------------------------------------------------ */

/* Pixels of w x h x c (c 1 or 3) fitted to the model's input as
 * templar predict fits an image file (tpl_image_load). */
static int to_input(const serve_input *in, const uint8_t *px, int w, int h, int c,
                    uint8_t *pixels, char *msg) {
    const tpl_image im = {.w = w, .h = h, .c = c, .file_c = c, .px = (uint8_t *)px};
    tpl_err err;
    return tpl_image_fit(&im, in->h, in->w, in->c, pixels, NULL, &err)
               ? fail(msg, 503, "%s", err.msg) /* out of memory */
               : 200;
}

/* A JSON error from the cursor, as a 400 naming where. */
static int json_fail(char *msg, const tpl_json *j, const char *what) {
    return fail(msg, 400, "%s: malformed JSON: %s", what, j->err);
}

static int json_int(tpl_json *j, const char *what, const char *key, long lo, long hi, int *out,
                    char *msg) {
    uint64_t v;
    if (tpl_json_uint(j, &v)) return json_fail(msg, j, what);
    if ((long)v < lo || v > (uint64_t)hi)
        return fail(msg, 400, "%s: '%s' must be from %ld to %ld", what, key, lo, hi);
    *out = (int)v;
    return 200;
}

/* What an image object holds so far. */
typedef struct pixel_obj {
    int w, h, c;
    uint8_t *px;
    size_t n, cap;
    int seen_pixels;
} pixel_obj;

/* The pixel array into o->px (grown as it comes), at most limit values. */
static int json_pixels(tpl_json *j, const char *what, pixel_obj *o, size_t limit, char *msg) {
    int count = 0, more;
    if (tpl_json_open(j, '[')) return json_fail(msg, j, what);
    o->n = 0;
    while ((more = tpl_json_more(j, ']', &count)) == 1) {
        uint64_t v;
        if (tpl_json_uint(j, &v)) return json_fail(msg, j, what);
        if (v > 255) return fail(msg, 400, "%s: pixel %zu is %llu, not 0-255", what, o->n, (unsigned long long)v);
        if (o->n == limit) return fail(msg, 413, "%s: more than %zu pixel values", what, limit);
        if (o->n == o->cap) {
            size_t cap = o->cap ? 2 * o->cap : 4096;
            uint8_t *px = realloc(o->px, cap);
            if (!px) return fail(msg, 503, "%s: out of memory for pixels", what);
            o->px = px, o->cap = cap;
        }
        o->px[o->n++] = (uint8_t)v;
    }
    return more < 0 ? json_fail(msg, j, what) : 200;
}

/* One member of an image object (key already read): width, height,
 * channels or pixels.  0 when key is none of them. */
static int pixel_member(const serve_input *in, tpl_json *j, const char *what, const char *key,
                        pixel_obj *o, char *msg, int *status) {
    const long side = in->max_side;
    if (!strcmp(key, "width")) *status = json_int(j, what, key, 1, side, &o->w, msg);
    else if (!strcmp(key, "height")) *status = json_int(j, what, key, 1, side, &o->h, msg);
    else if (!strcmp(key, "channels")) *status = json_int(j, what, key, 1, 4, &o->c, msg);
    else if (!strcmp(key, "pixels")) {
        o->seen_pixels = 1;
        *status = json_pixels(j, what, o, (size_t)side * side * 4, msg);
    } else
        return 0;
    return 1;
}

/* The object's pixels, checked against its size, into the model's input. */
static int pixel_finish(const serve_input *in, const char *what, pixel_obj *o, uint8_t *pixels,
                        char *msg) {
    if (!o->w || !o->h || !o->c || !o->seen_pixels)
        return fail(msg, 400, "%s: 'width', 'height', 'channels' and 'pixels' are all needed", what);
    if (o->c != in->c && o->c != 1 && o->c != 3)
        return fail(msg, 400, "%s: %d channels: send 1 (grey), 3 (RGB) or the model's %d", what,
                    o->c, in->c);
    const size_t want = (size_t)o->w * o->h * o->c;
    if (o->n != want)
        return fail(msg, 400, "%s: %zu pixel values, not width x height x channels = %zu", what,
                    o->n, want);
    if (o->c != in->c && (in->c != 1 && in->c != 3))
        return fail(msg, 400, "%s: the model takes %d channels: send those", what, in->c);
    return to_input(in, o->px, o->w, o->h, o->c, pixels, msg);
}

/* {"width":..,"height":..,"channels":..,"pixels":[..]} plus, with task,
 * "task": NAME. */
static int json_image(const serve_input *in, tpl_json *j, const char *what, char *task,
                      uint8_t *pixels, char *msg) {
    pixel_obj o = {0};
    int count = 0, more, status = 200;
    if (tpl_json_open(j, '{')) return json_fail(msg, j, what);
    while (status == 200 && (more = tpl_json_more(j, '}', &count)) == 1) {
        char *key = NULL;
        if (tpl_json_string(j, &key) || tpl_json_colon(j)) {
            free(key);
            status = json_fail(msg, j, what);
            break;
        }
        if (pixel_member(in, j, what, key, &o, msg, &status)) {
        } else if (task && !strcmp(key, "task")) {
            char *name = NULL;
            if (tpl_json_string(j, &name)) status = json_fail(msg, j, what);
            else if (!tpl_task_name_valid(name))
                status = fail(msg, 400, "%s: task name '%.40s' is not 1-%d letters, digits, '_' or '-'",
                              what, name, TPL_NAME_LEN - 1);
            else snprintf(task, TPL_NAME_LEN, "%s", name);
            free(name);
        } else {
            status = fail(msg, 400, "%s: unknown key '%.40s'", what, key);
        }
        free(key);
    }
    if (status == 200 && more < 0) status = json_fail(msg, j, what);
    if (status == 200 && task && !task[0]) status = fail(msg, 400, "%s: no 'task'", what);
    if (status == 200) status = pixel_finish(in, what, &o, pixels, msg);
    free(o.px);
    return status;
}

/* The media type alone: "image/png; q=1" -> "image/png". */
static int type_is(const char *content_type, const char *want) {
    const size_t n = strlen(want);
    return content_type && !strncasecmp(content_type, want, n) &&
           (content_type[n] == 0 || content_type[n] == ';' || content_type[n] == ' ');
}

static int decoded(const serve_input *in, const void *body, size_t len, uint8_t *pixels,
                   char *msg) {
    tpl_err err;
    if (in->c != 1 && in->c != 3)
        return fail(msg, 400, "the model takes %d channels: send JSON pixels", in->c);
    if (tpl_image_decode_as(body, len, "body", in->max_side, in->h, in->w, in->c, pixels, NULL,
                            &err))
        /* the decoders say "a side" or "is larger than" of an image past max_side */
        return fail(msg, strstr(err.msg, " a side") || strstr(err.msg, "is larger than") ? 413 : 400,
                    "%s", err.msg);
    return 200;
}

int serve_parse_image(const serve_input *in, const char *content_type, const void *body,
                      size_t len, uint8_t *pixels, char *msg) {
    const unsigned char *b = body;
    /* no type, a generic one, or the one curl sends unless told: look at the bytes */
    const int sniff = !content_type || !*content_type ||
                      type_is(content_type, "application/octet-stream") ||
                      type_is(content_type, "application/x-www-form-urlencoded");
    const int is_image = len >= 3 && (b[0] == 0x89 || b[0] == 0xff);
    if (type_is(content_type, "image/png") || type_is(content_type, "image/jpeg") ||
        (sniff && is_image))
        return decoded(in, body, len, pixels, msg);
    if (!type_is(content_type, "application/json") && !sniff)
        return fail(msg, 415, "content type '%.60s' is not image/png, image/jpeg or application/json",
                    content_type);
    if (!len) return fail(msg, 400, "an empty body: send a PNG, a JPEG or JSON pixels");
    tpl_json j;
    tpl_json_init(&j, body, len);
    int status = json_image(in, &j, "body", NULL, pixels, msg);
    if (status == 200 && tpl_json_end(&j)) status = json_fail(msg, &j, "body");
    return status;
}

/* ---- batches ------------------------------------------------------------------ */

void serve_items_free(serve_item *items, int n) {
    for (int i = 0; items && i < n; i++) free(items[i].pixels);
    free(items);
}

static int batch_items(const serve_input *in, tpl_json *j, int max_items, serve_item **items,
                       int *n, char *msg) {
    int count = 0, more, status = 200;
    const size_t img = (size_t)in->h * in->w * in->c;
    if (tpl_json_open(j, '[')) return json_fail(msg, j, "items");
    while (status == 200 && (more = tpl_json_more(j, ']', &count)) == 1) {
        if (*n == max_items) return fail(msg, 413, "more than %d items in one batch", max_items);
        serve_item *grown = realloc(*items, sizeof **items * (size_t)(*n + 1));
        if (!grown) return fail(msg, 503, "out of memory for the batch");
        *items = grown;
        serve_item *it = &grown[*n];
        memset(it, 0, sizeof *it);
        if (!(it->pixels = malloc(img))) return fail(msg, 503, "out of memory for the batch");
        ++*n;
        char what[32];
        snprintf(what, sizeof what, "item %d", *n - 1);
        status = json_image(in, j, what, it->task, it->pixels, msg);
    }
    if (status == 200 && more < 0) status = json_fail(msg, j, "items");
    return status;
}

int serve_parse_batch(const serve_input *in, const char *body, size_t len, int max_items,
                      int def_top, serve_item **items, int *n, int *top, char *msg) {
    *items = NULL, *n = 0, *top = def_top;
    tpl_json j;
    tpl_json_init(&j, body, len);
    int count = 0, more, status = 200, seen_items = 0;
    if (tpl_json_open(&j, '{')) return json_fail(msg, &j, "body");
    while (status == 200 && (more = tpl_json_more(&j, '}', &count)) == 1) {
        char *key = NULL;
        if (tpl_json_string(&j, &key) || tpl_json_colon(&j)) status = json_fail(msg, &j, "body");
        else if (!strcmp(key, "items") && !seen_items)
            seen_items = 1, status = batch_items(in, &j, max_items, items, n, msg);
        else if (!strcmp(key, "top")) status = json_int(&j, "body", "top", 1, 1000, top, msg);
        else status = fail(msg, 400, "body: unknown or repeated key '%.40s'", key);
        free(key);
    }
    if (status == 200 && (more < 0 || tpl_json_end(&j))) status = json_fail(msg, &j, "body");
    if (status == 200 && !*n) status = fail(msg, 400, "body: no 'items' to classify");
    if (status != 200) {
        serve_items_free(*items, *n);
        *items = NULL, *n = 0;
    }
    return status;
}
