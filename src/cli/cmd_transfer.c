/* templar transfer: a new task learned over a trained model's templates.
 *
 *   templar transfer --from MODEL --task SPEC [--mode mixture|head|full|scratch]
 *
 * mixture (default) trains only the new task's mixture logits, BN and head
 * (--train: a subset of them with the head), so the output file is the input
 * plus a few KB, and every old task predicts exactly as before.  head trains
 * the head alone over a copy of another task's mixture and BN (a linear
 * probe); full fine-tunes everything; scratch
 * trains a fresh model of the same architecture on the new task alone.  The
 * new task starts from the closest task of the model (best nearest-class-
 * mean accuracy of its features on the new training images) unless --init
 * says otherwise.  --per-class N keeps N training images of each class. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "digits.h"
#include "trainer.h"
#include "model.h"
#include "names.h"

enum { N_FLAGS = 7 }; /* transfer's own, besides the training flags */

typedef struct transfer_flags {
    const char *from, *task, *mode, *init, *data, *train;
    int per_class, mode_index, parts;
    arg_spec specs[N_FLAGS + 1];
    trainer_opts o;
} transfer_flags;

/* The modes: the parts of a model that train (tpl_model_train_only), or a
 * fresh model (scratch). */
enum { MODE_MIXTURE, MODE_HEAD, MODE_FULL, MODE_SCRATCH, MODE_COUNT };
static const char *const mode_names[] = {
    [MODE_MIXTURE] = "mixture", [MODE_HEAD] = "head", [MODE_FULL] = "full", [MODE_SCRATCH] = "scratch"};
static_assert(sizeof mode_names / sizeof *mode_names == MODE_COUNT, "a mode without a name");

#define MIXTURE_PARTS "logits+bn+head"

static void defaults(transfer_flags *f) {
    *f = (transfer_flags){.mode = "mixture", .init = "closest", .train = MIXTURE_PARTS};
    trainer_defaults(&f->o);
    f->o.steps = 500;
    f->o.batch = 32;
    const arg_spec specs[] = {
        {"from", ARG_STR, &f->from, "the trained model whose templates are reused", 0, 0},
        {"task", ARG_STR, &f->task, "the new task: fashion, handwritten, optical, NAME=idx:DIR, NAME=folder:DIR or NAME=csv:FILE[,flip]", 0, 0},
        {"mode", ARG_STR, &f->mode, "what trains: mixture (logits, BN, head), head, full or scratch", 0, 0},
        {"train", ARG_STR, &f->train, "what mixture mode trains: logits, bn and head joined by +, the head among them (docs/RESULTS.md Table 6 compares them)", 0, 0},
        {"init", ARG_STR, &f->init, "start the new task from: closest, uniform or a task's name", 0, 0},
        {"per-class", ARG_INT, &f->per_class, "training images kept per class (0 = all)", 0, 1000000},
        {"data", ARG_STR, &f->data, "IDX directory of the built-in task fashion", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static_assert(sizeof specs / sizeof *specs == N_FLAGS + 1, "N_FLAGS is not the table's size");
    memcpy(f->specs, specs, sizeof specs);
}

/* The new task's data in the model's input shape, its training half cut to
 * --per-class. */
static int load_new_task(const transfer_flags *f, const tpl_model *src, trainer *r,
                         tpl_err *err) {
    tpl_task_opts o;
    trainer_task_opts(src, f->data, &o);
    if (trainer_load_task(r, 0, f->task, strlen(f->task), &o, err)) return -1;
    tpl_task_data *d = &r->task[0].d;
    if (!f->per_class) return 0;
    tpl_dataset few;
    if (tpl_dataset_per_class(&d->train, f->per_class, (uint64_t)f->o.seed, &few, err)) return -1;
    tpl_dataset_free(&d->train);
    d->train = few;
    return 0;
}

/* The "data" metadata of the result: the old tasks' recorded sources (or
 * their built-in names), then the new task's. */
static char *sources_after(const char *path, const tpl_model *src, const char *added) {
    char *rec = cli_recorded_sources(path);
    size_t cap = strlen(added) + 2 + (rec ? strlen(rec) : 0) + 64 * (size_t)src->cfg.n_tasks;
    char *out = malloc(cap);
    size_t k = 0;
    for (int t = 0; out && t < src->cfg.n_tasks; t++) {
        const char *name = src->cfg.task[t].name;
        size_t len;
        const char *spec = rec ? tpl_task_spec_find(rec, name, &len) : NULL;
        if (spec) k += snprintf(out + k, cap - k, "%.*s,", (int)len, spec);
        else if (tpl_task_known(name)) k += snprintf(out + k, cap - k, "%s,", name);
    }
    if (out) snprintf(out + k, cap - k, "%s", added);
    free(rec);
    return out;
}

/* Which task the new one starts from: -1 for none. */
static int pick_init(const transfer_flags *f, tpl_model *src, const tpl_dataset *train,
                     tpl_err *err) {
    if (!strcmp(f->init, "uniform")) return -1;
    if (strcmp(f->init, "closest")) {
        int t = tpl_model_find_task(src, f->init);
        if (t < 0) tpl_err_set(err, "--init: the model has no task '%s'", f->init);
        return t < 0 ? -2 : t;
    }
    double score[TPL_MAX_TASKS];
    int best = tpl_closest_task(src, src->cfg.n_tasks, train, 2000, score, err);
    if (best < 0) return -2;
    fprintf(stderr, "templar: nearest-class-mean accuracy of each task's features:");
    for (int t = 0; t < src->cfg.n_tasks; t++)
        fprintf(stderr, " %s %.3f", src->cfg.task[t].name, score[t]);
    fprintf(stderr, "; starting from '%s'\n", src->cfg.task[best].name);
    return best;
}

/* A fresh model of src's architecture holding only the new task. */
static tpl_model *scratch_model(const tpl_model *src, const tpl_task_config *task,
                                const tpl_dataset *train, uint64_t seed, tpl_err *err) {
    tpl_config cfg = src->cfg;
    cfg.n_tasks = 1;
    cfg.task[0] = *task;
    const tpl_dataset *sets[1] = {train};
    tpl_dataset_stats_union(sets, 1, cfg.in_mean, cfg.in_std);
    for (int i = 0; i < cfg.in_channels; i++)
        if (!(cfg.in_std[i] > 1e-6f)) cfg.in_std[i] = 1.0f;
    return tpl_config_check(&cfg, err) ? NULL : tpl_model_create(&cfg, seed, err);
}

/* The bytes the new task costs: its own tensors for mixture and head; the
 * whole model apart from the head for full and scratch (a model each). */
static void report_bytes(const tpl_model *m, int t, int mode, size_t trained) {
    const tpl_params *p = &m->params;
    const tpl_task_size z = tpl_task_bytes(m, t);
    const size_t logits = z.logits, bn = z.bn, st = z.bn_stats, hb = z.head;
    size_t added = logits + bn + st;
    if (mode == MODE_FULL || mode == MODE_SCRATCH)
        added = tpl_params_count(p, -1, 1) * sizeof(float) + added;
    printf("task=%s mode=%s trained_params=%zu new_task_bytes=%zu head_bytes=%zu "
           "(logits %zu, BN %zu, BN statistics %zu%s)\n",
           m->cfg.task[t].name, mode_names[mode],
           trained, added, hb, logits, bn, st,
           mode == MODE_FULL || mode == MODE_SCRATCH ? ", plus a whole network" : "");
}

static int transfer(void *flags, trainer *r, tpl_err *err) {
    const transfer_flags *f = flags;
    const int mode = f->mode_index;
    tpl_model *src = tpl_model_load(f->from, err);
    if (!src) return -1;
    char *data = NULL;
    int rc = -1;
    trainer_task *k = &r->task[0];
    r->n_tasks = 1;
    if (load_new_task(f, src, r, err)) goto done;
    tpl_task_config task = {.classes = k->d.train.classes > k->d.test.classes
                                           ? k->d.train.classes : k->d.test.classes};
    snprintf(task.name, TPL_NAME_LEN, "%s", k->d.name);
    if (k->d.train.n < f->o.batch) { /* before any work: a few labels, a big batch */
        tpl_err_set(err, "%s: %d training images (--per-class %d) is less than one batch of %d",
                    k->d.where, k->d.train.n, f->per_class, f->o.batch);
        goto done;
    }
    if (mode != MODE_SCRATCH && tpl_model_find_task(src, task.name) >= 0) {
        tpl_err_set(err, "%s: the model already has a task '%s'", f->from, task.name);
        goto done;
    }
    if (mode == MODE_SCRATCH) {
        if (!(r->m = scratch_model(src, &task, &k->d.train, (uint64_t)f->o.seed, err))) goto done;
        k->model_task = 0;
        r->data_meta = NULL;
    } else {
        int init = pick_init(f, src, &k->d.train, err);
        if (init == -2 || !(r->m = tpl_model_add_task(src, &task, (uint64_t)f->o.seed, err)))
            goto done;
        k->model_task = src->cfg.n_tasks;
        if (init >= 0) tpl_model_copy_task(r->m, init, k->model_task);
        tpl_model_train_only(r->m, k->model_task, (unsigned)f->parts);
        if (!(data = sources_after(f->from, src, k->d.source))) {
            tpl_err_set(err, "out of memory");
            goto done;
        }
        r->data_meta = data;
    }
    rc = trainer_name_classes(r, err) || trainer_run(r, err);
    if (!rc) report_bytes(r->m, k->model_task, mode, tpl_params_trainable(&r->m->params));
    rc = rc || trainer_report(r, err);
done:
    tpl_model_free(src);
    free(data);
    r->data_meta = NULL;
    return rc ? -1 : 0;
}

static int prepare(void *flags, trainer_opts *o, int *multi) {
    transfer_flags *f = flags;
    const int mode = tpl_name_find(mode_names, MODE_COUNT, f->mode);
    const int parts = tpl_train_parts_parse(f->train);
    const char *usage = !f->from ? "--from MODEL is missing" : !f->task ? "--task SPEC is missing"
                      : mode < 0 ? "--mode is not mixture, head, full or scratch"
                      : parts < 0 || !(parts & TPL_TRAIN_HEAD)
                          ? "--train is not logits, bn and head joined by + with the head among them"
                      : mode != MODE_MIXTURE && strcmp(f->train, MIXTURE_PARTS)
                          ? "--train is for --mode mixture"
                      : (mode == MODE_MIXTURE || mode == MODE_HEAD) && o->tau_end > 0
                          ? "--tau-end would anneal the old tasks' mixtures too: it is for --mode full or scratch"
                          : NULL;
    if (usage) {
        fprintf(stderr, "templar transfer: %s (see templar transfer --help)\n", usage);
        return 2;
    }
    f->mode_index = mode;
    f->parts = mode == MODE_MIXTURE ? parts : mode == MODE_HEAD ? TPL_TRAIN_HEAD : TPL_TRAIN_ALL;
    *multi = 0;
    o->protect = f->from;
    trainer_default_out(o, f->from, f->task);
    return 0;
}

static int run(int argc, char **argv) {
    transfer_flags f;
    defaults(&f);
    return trainer_main("transfer", "--from MODEL --task SPEC [flags]  (--steps 0 to count --epochs)",
                        argc, argv, f.specs, &f.o, prepare, transfer, &f);
}

const cli_command cli_command_transfer = {"transfer", 30, "learn a new task over a model's frozen templates (mixture, BN, head)", run};
