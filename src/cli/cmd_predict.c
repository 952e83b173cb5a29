/* templar predict: classify image files (PNG, JPEG) with a task of a model.
 *
 *   templar predict MODEL IMAGE|DIR... [--task T|all] [--top K] [--format text|json|csv]
 *
 * Each image is prepared as training prepares folder images (resized to the
 * model's input, grey or colour converted: tpl_image_load), with a warning
 * when that changed it; a directory stands for its image files (recursively,
 * sorted).  A model of several tasks needs --task: a task's name, or all.
 * Every answer gives the class index, its name when the model has class
 * names, and its probability; --top K the K most likely. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "json.h"
#include "names.h"
#include "paths.h"
#include "precision.h"
#include "templar_image.h"

enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV, FORMAT_COUNT };
static const char *const format_names[] = {
    [FORMAT_TEXT] = "text", [FORMAT_JSON] = "json", [FORMAT_CSV] = "csv"};
static_assert(sizeof format_names / sizeof *format_names == FORMAT_COUNT, "a format without a name");

typedef struct predict_run {
    tpl_model *m;
    const tpl_config *c;
    int first, n_tasks, top, format;
    uint8_t *pixels;
    float *probs;
} predict_run;

/* "dir/name" (malloc'd), without doubling a slash dir ends in. */
static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    char *full = malloc(n + strlen(name) + 2);
    if (full) sprintf(full, "%.*s/%s", (int)n, dir, name);
    return full;
}

/* Image files under path (itself when a file), sorted, into list. */
static int gather(const char *path, tpl_paths *list, tpl_err *err) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg", NULL};
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return tpl_paths_push(list, path);
    tpl_paths files = {0}, dirs = {0};
    int rc = tpl_paths_files(&files, path, exts, err) || tpl_paths_subdirs(&dirs, path, err);
    for (int i = 0; !rc && i < files.n; i++) {
        char *full = join(path, files.path[i]);
        rc = !full || tpl_paths_push(list, full);
        free(full);
    }
    for (int i = 0; !rc && i < dirs.n; i++) {
        char *full = join(path, dirs.path[i]);
        rc = !full || gather(full, list, err);
        free(full);
    }
    tpl_paths_free(&files);
    tpl_paths_free(&dirs);
    return rc ? -1 : 0;
}

/* The k most likely classes of probs, best first, into order. */
static void rank(const float *probs, int classes, int k, int *order) {
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int j = 0; j < classes; j++) {
            int taken = 0;
            for (int q = 0; q < i; q++) taken |= order[q] == j;
            if (!taken && (best < 0 || probs[j] > probs[best])) best = j;
        }
        order[i] = best;
    }
}

/* A CSV field: as it is, or quoted (quotes doubled) when it holds a comma,
 * a quote or a line break. */
static void csv_field(const char *s) {
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* A class as text: "class=K", then " name=NAME" (quoted when it has spaces). */
static void print_class(const predict_run *p, int t, int cls) {
    const char *name = tpl_model_class_name(p->m, t, cls);
    printf("class=%d", cls);
    if (name) printf(strchr(name, ' ') ? " name=\"%s\"" : " name=%s", name);
    printf(" prob=%.4f", p->probs[cls]);
}

static void print_json(const predict_run *p, const char *image, int t, const int *order, int k) {
    tpl_buf j = {0};
    tpl_buf_puts(&j, "{\"image\":");
    tpl_buf_json_string(&j, image);
    tpl_buf_puts(&j, ",\"task\":");
    tpl_buf_json_string(&j, p->c->task[t].name);
    tpl_buf_puts(&j, ",\"top\":[");
    for (int i = 0; i < k; i++) {
        const char *name = tpl_model_class_name(p->m, t, order[i]);
        tpl_buf_printf(&j, "%s{\"class\":%d,\"name\":", i ? "," : "", order[i]);
        if (name) tpl_buf_json_string(&j, name);
        else tpl_buf_puts(&j, "null");
        tpl_buf_printf(&j, ",\"prob\":%.6f}", p->probs[order[i]]);
    }
    tpl_buf_put(&j, "]}", 3);
    if (!j.failed) puts(j.p);
    tpl_buf_free(&j);
}

/* One image's answer for task t: text (the best class on the image's line,
 * the next ones indented below it), a JSON line, or CSV rows. */
static void print_answer(const predict_run *p, const char *image, int t) {
    const int classes = p->c->task[t].classes, k = p->top < classes ? p->top : classes;
    int order[k];
    rank(p->probs, classes, k, order);
    if (p->format == FORMAT_JSON) {
        print_json(p, image, t, order, k);
        return;
    }
    for (int i = 0; i < k; i++) {
        if (p->format == FORMAT_CSV) {
            csv_field(image);
            printf(",%s,%d,%d,", p->c->task[t].name, i + 1, order[i]);
            csv_field(tpl_model_class_name(p->m, t, order[i]));
            printf(",%.6f\n", p->probs[order[i]]);
            continue;
        }
        if (i == 0) printf("%s task=%s ", image, p->c->task[t].name);
        else printf("  rank=%d ", i + 1);
        print_class(p, t, order[i]);
        putchar('\n');
    }
}

static int predict_image(predict_run *p, const char *image, tpl_err *err) {
    int changes;
    if (tpl_image_load(image, p->c, p->pixels, &changes, err)) return -1;
    if (changes)
        fprintf(stderr, "templar predict: %s: %s%s%s to the model's %dx%dx%d input\n", image,
                changes & TPL_IMAGE_RESIZED ? "resized" : "",
                changes == (TPL_IMAGE_RESIZED | TPL_IMAGE_CONVERTED) ? " and " : "",
                changes & TPL_IMAGE_CONVERTED ? (p->c->in_channels == 1 ? "made grey" : "made colour") : "",
                p->c->in_channels, p->c->in_height, p->c->in_width);
    for (int t = p->first; t < p->first + p->n_tasks; t++) {
        if (tpl_model_classify(p->m, t, p->pixels, 1, p->probs, err)) return -1;
        print_answer(p, image, t);
    }
    return 0;
}

/* The tasks to answer: --task's, all of them, or the only one. */
static int pick_tasks(predict_run *p, const char *path, const char *task, tpl_err *err) {
    p->first = 0;
    p->n_tasks = 1;
    if (task && !strcmp(task, "all")) p->n_tasks = p->c->n_tasks;
    else if (task && (p->first = tpl_model_find_task(p->m, task)) < 0)
        tpl_err_set(err, "%s: no task '%s' in the model", path, task);
    else if (!task && p->c->n_tasks > 1)
        tpl_err_set(err, "%s: the model has %d tasks: name one with --task (or --task all)", path,
                    p->c->n_tasks), p->first = -1;
    return p->first < 0 ? -1 : 0;
}

static int predict(const char *const *pos, int npos, const char *task, int top, int format,
                   const char *precision, tpl_err *err) {
    predict_run p = {.top = top, .format = format};
    tpl_paths images = {0};
    int rc = -1, classes = 0;
    if (!(p.m = tpl_model_load(pos[0], err))) return -1;
    if (cli_precision_apply(p.m, precision, 1, err)) {
        tpl_model_free(p.m);
        return -1;
    }
    p.c = tpl_model_config(p.m);
    for (int t = 0; t < p.c->n_tasks; t++)
        if (p.c->task[t].classes > classes) classes = p.c->task[t].classes;
    p.pixels = malloc((size_t)p.c->in_height * p.c->in_width * p.c->in_channels);
    p.probs = malloc(sizeof(float) * classes);
    if (!p.pixels || !p.probs) tpl_err_set(err, "out of memory");
    else if (!pick_tasks(&p, pos[0], task, err)) {
        rc = 0;
        for (int i = 1; !rc && i < npos; i++) rc = gather(pos[i], &images, err);
        if (!rc && !images.n) tpl_err_set(err, "no PNG or JPEG images in %s", pos[1]), rc = -1;
    }
    if (!rc && format == FORMAT_CSV) printf("image,task,rank,class,name,prob\n");
    for (int i = 0; !rc && i < images.n; i++) rc = predict_image(&p, images.path[i], err);
    tpl_paths_free(&images);
    free(p.pixels), free(p.probs);
    tpl_model_free(p.m);
    return rc;
}

static int run(int argc, char **argv) {
    enum { MAX_ARGS = 4096 };
    const char *task = NULL, *format = "text", *precision = NULL,
               **pos = malloc(sizeof(char *) * MAX_ARGS);
    int npos, threads = 0, top = 1;
    const arg_spec specs[] = {
        {"task", ARG_STR, &task, "the task to answer, or all (needed when the model has several)", 0, 0},
        {"top", ARG_INT, &top, "the K most likely classes of each image", 1, 1000},
        {"format", ARG_STR, &format, "text, json (a line each) or csv", 0, 0},
        {"threads", ARG_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {"precision", ARG_STR, &precision, "convolutions in fp32, bf16 or auto (the model's own)", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    const char *usage = "MODEL IMAGE|DIR... [--task T|all] [--top K] [--format text|json|csv]";
    int rc = pos ? args_parse("predict", usage, (const arg_spec *const[]){specs, NULL}, argc, argv,
                              2, pos, MAX_ARGS, &npos)
                 : -1;
    const int fmt = rc ? 0 : tpl_name_find(format_names, FORMAT_COUNT, format);
    if (!rc && (npos < 2 || fmt < 0)) {
        fprintf(stderr, "templar predict: %s (usage: templar predict %s)\n",
                fmt < 0 ? "--format is not text, json or csv" : "a model and at least one image, please",
                usage);
        rc = -1;
    }
    if (!rc && cli_precision_usage("predict", precision)) rc = -1;
    if (rc) {
        free(pos);
        return rc > 0 ? 0 : 2;
    }
    cli_set_threads(threads);
    tpl_err err = {{0}};
    rc = predict(pos, npos, task, top, fmt, precision, &err);
    if (rc) fprintf(stderr, "templar predict: %s\n", err.msg);
    free(pos);
    return rc ? 1 : 0;
}

const cli_command cli_command_predict = {"predict", 60, "classify PNG and JPEG images with a task of a model", run};
