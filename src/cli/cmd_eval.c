/* templar eval: test accuracy of a model's tasks, per class, with a
 * confusion matrix (printed; pictured with --plot).  The file carries its
 * config.
 *
 * A task's test images come from, in order: --images DIR (a class-folder
 * directory, for the one task --task names), --data (NAME=SPEC elements
 * overriding tasks by name, or a bare IDX directory for --task), the source
 * the file records for the task (train, transfer and adapt write the tasks'
 * sources, with absolute paths, into the "data" metadata), the built-in task
 * of that name.  They are loaded in the model's input shape.  A task whose
 * data cannot be loaded is skipped with a warning naming the override (the
 * others are still evaluated, and the exit code is 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "confusion.h"
#include "precision.h"
#include "trainer.h"

typedef struct eval_flags {
    const char *data, *task, *images, *precision;
    int batch, threads, plot;
} eval_flags;

/* The spec of task name's test images (malloc'd), per the order above. */
static char *test_spec(const eval_flags *f, const char *recorded, const char *name) {
    size_t len;
    const char *spec = NULL;
    char buf[4096];
    if (f->images) {
        snprintf(buf, sizeof buf, "%s=folder:%s", name, f->images);
        return strdup(buf);
    }
    if (f->data && !strchr(f->data, '=')) {
        snprintf(buf, sizeof buf, "%s=idx:%s", name, f->data);
        return strdup(buf);
    }
    if (f->data && (spec = tpl_task_spec_find(f->data, name, &len))) return strndup(spec, len);
    if (recorded && (spec = tpl_task_spec_find(recorded, name, &len))) return strndup(spec, len);
    return strdup(name);
}

/* Prints each class's accuracy and the confusion matrix (counts, rows: the
 * true class). */
static void print_classes(const tpl_model *m, int t, const long *conf) {
    const int classes = m->cfg.task[t].classes;
    for (int k = 0; k < classes; k++) {
        long n = 0;
        for (int j = 0; j < classes; j++) n += conf[(size_t)k * classes + j];
        const char *name = tpl_model_class_name(m, t, k);
        printf("  class=%d%s%s images=%ld acc=%.4f\n", k, name ? " name=" : "", name ? name : "",
               n, n ? (double)conf[(size_t)k * classes + k] / n : 0.0);
    }
    printf("  confusion (rows: true class, columns: predicted):\n");
    for (int k = 0; k < classes; k++) {
        printf("  %4d |", k);
        for (int j = 0; j < classes; j++) printf(" %5ld", conf[(size_t)k * classes + j]);
        putchar('\n');
    }
}

/* --plot: MODEL's name without .safetensors, then .TASK.confusion.{png,svg}. */
static int plot(const char *path, const tpl_model *m, int t, const long *conf, tpl_err *err) {
    const int classes = m->cfg.task[t].classes;
    const char *names[TPL_CONFUSION_MAX];
    char png[4096], svg[4096], title[128];
    size_t stem = strlen(path);
    if (stem > 12 && !strcmp(path + stem - 12, ".safetensors")) stem -= 12;
    snprintf(png, sizeof png, "%.*s.%s.confusion.png", (int)stem, path, m->cfg.task[t].name);
    snprintf(svg, sizeof svg, "%.*s.%s.confusion.svg", (int)stem, path, m->cfg.task[t].name);
    snprintf(title, sizeof title, "task %s: confusion matrix", m->cfg.task[t].name);
    if (classes > TPL_CONFUSION_MAX) {
        tpl_err_set(err, "--plot: %d classes are more than a figure shows", classes);
        return -1;
    }
    for (int k = 0; k < classes; k++) names[k] = tpl_model_class_name(m, t, k);
    if (tpl_confusion_write(png, svg, title, classes, conf, names, err)) return -1;
    printf("  plot=%s,%s\n", png, svg);
    return 0;
}

/* Task t: loads, evaluates, prints.  Returns 0, 1 when skipped (warned), -1
 * on failure. */
static int eval_task(const eval_flags *f, const char *path, const char *recorded, tpl_model *m,
                     int t, int single, double *loss, double *acc, tpl_err *err) {
    const char *name = m->cfg.task[t].name;
    char *spec = test_spec(f, recorded, name);
    tpl_task_opts o;
    trainer_task_opts(m, NULL, &o);
    o.halves = TPL_TASK_TEST;
    tpl_task_data d;
    if (!spec || tpl_task_load_with(spec, strlen(spec), &o, &d, err)) {
        fprintf(stderr, "templar eval: task '%s' skipped: %s (give its test data with --data "
                "%s=idx:DIR, %s=folder:DIR or %s=csv:FILE)\n", name, spec ? err->msg : "no memory",
                name, name, name);
        free(spec);
        return 1;
    }
    free(spec);
    const int classes = m->cfg.task[t].classes;
    long *conf = calloc((size_t)classes * classes, sizeof *conf);
    tpl_batch b = {0};
    tpl_step_result r;
    int rc = !conf || tpl_batch_init(&b, m, f->batch) ? (tpl_err_set(err, "out of memory"), -1)
           : tpl_dataset_check(m, t, &d.test, d.where, err) ? -1
           : tpl_evaluate(m, t, &d.test, &b, &r, conf, err);
    if (!rc) {
        *loss = r.loss;
        *acc = r.n ? (double)r.correct / r.n : 0.0;
        if (single) printf("model=%s task=%s images=%d test_loss=%.4f test_acc=%.4f\n", path, name,
                           r.n, *loss, *acc);
        else printf("task=%s images=%d test_loss=%.4f test_acc=%.4f\n", name, r.n, *loss, *acc);
        if (d.converted)
            fprintf(stderr, "templar eval: task '%s': %d images resized or converted to the "
                    "model's input\n", name, d.converted);
        print_classes(m, t, conf);
        if (f->plot) rc = plot(path, m, t, conf, err);
    }
    free(conf);
    tpl_batch_free(&b);
    tpl_task_free(&d);
    return rc;
}

static int evaluate(const eval_flags *f, const char *path, tpl_err *err) {
    tpl_model *m = tpl_model_load(path, err);
    if (!m) return -1;
    if (cli_precision_apply(m, f->precision, 1, err)) {
        tpl_model_free(m);
        return -1;
    }
    int first = f->task ? tpl_model_find_task(m, f->task) : 0;
    const int n = f->task ? 1 : m->cfg.n_tasks;
    int rc = 0, skipped = 0, done = 0;
    if (first < 0) tpl_err_set(err, "%s: no task '%s' in the model", path, f->task), rc = -1;
    else if (n > 1 && (f->images || (f->data && !strchr(f->data, '='))))
        tpl_err_set(err, "--%s is the data of one task: name it with --task (the model has %d)",
                    f->images ? "images" : "data", n), rc = -2;
    char *recorded = rc ? NULL : cli_recorded_sources(path);
    double loss = 0.0, acc = 0.0;
    for (int i = 0; !rc && i < n; i++) {
        double l, a;
        int r = eval_task(f, path, recorded, m, first + i, n == 1, &l, &a, err);
        if (r < 0) rc = -1;
        else if (r > 0) skipped++;
        else loss += l, acc += a, done++;
    }
    if (!rc && n > 1 && done)
        printf("model=%s tasks=%d mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n", path,
               done, loss / done, acc / done, acc / done);
    if (!rc && skipped) {
        tpl_err_set(err, "%d of %d tasks skipped: their data could not be loaded", skipped, n);
        rc = -1;
    }
    free(recorded);
    tpl_model_free(m);
    return rc;
}


static int run(int argc, char **argv) {
    eval_flags f = {.batch = 250};
    const char *pos[1];
    int npos;
    const arg_spec specs[] = {
        {"task", ARG_STR, &f.task, "task to evaluate (default: every task of the model)", 0, 0},
        {"data", ARG_STR, &f.data, "test data: NAME=SPEC elements as train's --tasks, overriding the recorded sources by name; or an IDX directory for --task", 0, 0},
        {"images", ARG_STR, &f.images, "a folder of class folders (DIR/CLASS/IMAGE) to test --task on", 0, 0},
        {"plot", ARG_BOOL, &f.plot, "also draw each task's confusion matrix: MODEL.TASK.confusion.png and .svg", 0, 1},
        {"batch", ARG_INT, &f.batch, "batch size", 1, 4096},
        {"threads", ARG_INT, &f.threads, "threads (0 = all cores)", 0, 1024},
        {"precision", ARG_STR, &f.precision, "convolutions in fp32, bf16 or auto (the model's own)", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("eval", "MODEL [flags]", (const arg_spec *const[]){specs, NULL}, argc,
                        argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar eval: which model? (usage: templar eval MODEL [flags])\n");
        return 2;
    }
    if (cli_precision_usage("eval", f.precision)) return 2;
    cli_set_threads(f.threads);
    tpl_err err = {{0}};
    if (!(rc = evaluate(&f, pos[0], &err))) return 0;
    fprintf(stderr, "templar eval: %s\n", err.msg[0] ? err.msg : "out of memory");
    return rc == -2 ? 2 : 1;
}

const cli_command cli_command_eval = {"eval", 20, "test accuracy of a model's tasks: per class, a confusion matrix", run};
