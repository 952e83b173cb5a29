/* The frame around tpl_fit that the training commands share; see trainer.h. */
#include "trainer.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"

static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

void trainer_defaults(trainer_opts *o) {
    *o = (trainer_opts){.optim = "sgd", .schedule = "onecycle", .batch = 64, .epochs = 5,
                        .seed = 1, .flip = 1, .eval_batch = 250, .lr = 0.1f, .logit_lr = 1.0f,
                        .momentum = 0.9f, .wd = 5e-4f, .warmup = 0.15f};
    const arg_spec s[] = {
        {"batch", ARG_INT, &o->batch, "batch size", 1, 4096},
        {"epochs", ARG_INT, &o->epochs, "passes over the training set", 1, 10000},
        {"steps", ARG_INT, &o->steps, "optimiser steps (overrides --epochs when > 0)", 0, 100000000},
        {"optim", ARG_STR, &o->optim, "sgd (momentum, Nesterov) or adamw", 0, 0},
        {"lr", ARG_FLOAT, &o->lr, "peak learning rate", 1e-7, 100},
        {"logit-lr", ARG_FLOAT, &o->logit_lr, "learning rate multiplier of the mixture logits", 0, 1e4},
        {"tau-end", ARG_FLOAT, &o->tau_end, "anneal the mixtures' temperature to this, geometrically (0 = no annealing)", 0, 1e3},
        {"entropy", ARG_FLOAT, &o->entropy, "weight of the mixtures' entropy in the loss (> 0: sharper choices)", -10, 10},
        {"momentum", ARG_FLOAT, &o->momentum, "SGD momentum", 0, 0.999},
        {"wd", ARG_FLOAT, &o->wd, "weight decay (conv, template and head weights)", 0, 1},
        {"schedule", ARG_STR, &o->schedule, "onecycle, cosine or const", 0, 0},
        {"warmup", ARG_FLOAT, &o->warmup, "fraction of steps spent warming up", 0, 1},
        {"crop-pad", ARG_INT, &o->crop_pad, "random-crop padding in pixels (0 = off)", 0, 16},
        {"flip", ARG_BOOL, &o->flip, "random horizontal flips, for tasks whose images allow them (never digits)", 0, 1},
        {"threads", ARG_INT, &o->threads, "threads (0 = all cores)", 0, 1024},
        {"seed", ARG_INT, &o->seed, "seed of every random choice", 0, 2147483647},
        {"out", ARG_STR, &o->out, "model file to write (safetensors)", 0, 0},
        {"log", ARG_STR, &o->log, "JSON-lines log, one line per epoch", 0, 0},
        {"eval-batch", ARG_INT, &o->eval_batch, "batch size of evaluation", 1, 4096},
        {"max-memory", ARG_INT, &o->max_memory, "the most memory the model may take, in MiB (0 = what is available)", 0, 1 << 30},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static_assert(sizeof s / sizeof *s == TRAINER_SPECS, "TRAINER_N_FLAGS is not the table's size");
    memcpy(o->specs, s, sizeof s);
}

/* The flags as tpl_fit's options. */
static int fit_options(const trainer *r, tpl_fit_options *o, tpl_err *err) {
    const trainer_opts *f = r->o;
    tpl_fit_options_default(o);
    int optim = tpl_opt_parse(f->optim), sched = tpl_sched_parse(f->schedule);
    if (optim < 0) {
        tpl_err_set(err, "--optim: '%s' is not sgd or adamw", f->optim);
        return -1;
    }
    if (sched < 0) {
        tpl_err_set(err, "--schedule: '%s' is not onecycle, cosine or const", f->schedule);
        return -1;
    }
    o->optim = (tpl_opt_kind)optim;
    o->schedule = (tpl_sched_kind)sched;
    o->batch = f->batch;
    o->epochs = f->epochs;
    o->steps = f->steps;
    o->eval_batch = f->eval_batch;
    o->seed = (uint64_t)f->seed;
    o->lr = f->lr;
    o->logit_lr = f->logit_lr;
    o->momentum = f->momentum;
    o->weight_decay = f->wd;
    o->warmup = f->warmup;
    o->tau_end = f->tau_end;
    o->entropy = f->entropy;
    o->unsupervised = r->unsupervised;
    o->diversity = r->diversity;
    return 0;
}

int trainer_command(const char *cmd, const trainer_opts *o, int multi, trainer_body body,
                    void *flags) {
    cli_set_threads(o->threads);
    tpl_set_memory_limit((size_t)o->max_memory << 20);
    if (cli_check_writable(o->out)) return 1;
    trainer r = {.o = o, .multi = multi};
    tpl_err err = {{0}};
    int rc = 0;
    if (o->log && !(r.log = fopen(o->log, "w"))) {
        tpl_err_set(&err, "%s: cannot write the log: %s", o->log, strerror(errno));
        rc = -1;
    }
    signal(SIGINT, on_interrupt);
    rc = rc || body(flags, &r, &err);
    if (rc) fprintf(stderr, "templar %s: %s\n", cmd, err.msg);
    trainer_free(&r);
    return rc ? 1 : 0;
}

/* Every task's data against the model, naming the files read. */
static int check_tasks(const trainer *r, tpl_err *err) {
    for (int t = 0; t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        if (tpl_dataset_check(r->m, k->model_task, &k->d.train, k->d.where, err) ||
            tpl_dataset_check(r->m, k->model_task, &k->d.test, k->d.where, err))
            return -1;
        if (k->d.train.n < r->o->batch) {
            tpl_err_set(err, "%s: %d training images is less than one batch of %d", k->d.where,
                        k->d.train.n, r->o->batch);
            return -1;
        }
    }
    return 0;
}

static void print_header(const trainer *r, long total, long per_epoch) {
    size_t params = tpl_params_trainable(&r->m->params);
    const tpl_task_data *d = &r->task[0].d;
    if (r->n_tasks == 1) {
        fprintf(stderr, "templar: %s, %d train / %d test images, %zu trained parameters, %ld steps\n",
                d->name, d->train.n, d->test.n, params, total);
        return;
    }
    fprintf(stderr, "templar: %d tasks on one bank, one batch of each in turn:", r->n_tasks);
    for (int t = 0; t < r->n_tasks; t++) {
        d = &r->task[t].d;
        fprintf(stderr, " %s (%d train / %d test images),", d->name, d->train.n, d->test.n);
    }
    fprintf(stderr, " %zu trained parameters, %ld steps, %ld an epoch\n", params, total,
            per_epoch);
}

#define STATUS_LEN 1024

/* Progress text: the one-task format, or "NAME loss/acc[ test loss/acc]"
 * for each task; with tested, after the epoch's tests. */
static void format_status(const trainer *r, const tpl_fit_report *p, int tested, char *buf,
                          size_t cap) {
    const tpl_fit_task_report *k = &p->task[0];
    size_t n = 0;
    if (!r->multi) {
        n = snprintf(buf, cap, "loss %.4f acc %.4f %.0f img/s", k->train_loss, k->train_acc,
                     p->epoch_img_s);
        if (tested && n < cap)
            snprintf(buf + n, cap - n, " | test loss %.4f acc %.4f", k->test_loss, k->test_acc);
        return;
    }
    for (int t = 0; t < r->n_tasks && n < cap; t++) {
        k = &p->task[t];
        n += snprintf(buf + n, cap - n, "%s%s %.4f/%.4f", t ? (tested ? ", " : " ") : "",
                      r->task[t].d.name, k->train_loss, k->train_acc);
        if (tested && n < cap)
            n += snprintf(buf + n, cap - n, " test %.4f/%.4f", k->test_loss, k->test_acc);
    }
    if (n < cap) snprintf(buf + n, cap - n, " (loss/acc) %.0f img/s", p->epoch_img_s);
}

static void log_epoch(trainer *r, const tpl_fit_report *p) {
    if (!r->log) return;
    double te_loss = 0.0, te_acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        te_loss += p->task[t].test_loss;
        te_acc += p->task[t].test_acc;
    }
    fprintf(r->log,
            "{\"epoch\":%d,\"step\":%ld,\"lr\":%.6g,\"train_loss\":%.6f,\"train_acc\":%.6f,"
            "\"test_loss\":%.6f,\"test_acc\":%.6f,\"img_s\":%.1f,\"elapsed_s\":%.1f",
            p->epoch, p->step, p->lr, p->train_loss, p->train_acc, te_loss / r->n_tasks,
            te_acc / r->n_tasks, p->epoch_img_s, p->elapsed_s);
    for (int t = 0; r->multi && t < r->n_tasks; t++) {
        const tpl_fit_task_report *k = &p->task[t];
        fprintf(r->log,
                "%s\"%s\":{\"train_loss\":%.6f,\"train_acc\":%.6f,\"test_loss\":%.6f,"
                "\"test_acc\":%.6f}",
                t ? "," : ",\"tasks\":{", r->task[t].d.name, k->train_loss, k->train_acc,
                k->test_loss, k->test_acc);
    }
    fputs(r->multi ? "}}\n" : "}\n", r->log);
    fflush(r->log);
}

/* ---- tpl_fit's callbacks ------------------------------------------------ */

static void on_step(const tpl_fit_report *p, void *user) {
    trainer *r = user;
    const long first = (long)(p->epoch - 1) * p->per_epoch; /* the epoch's first step */
    if (p->step == first + 1) {
        long left = p->total - first;
        snprintf(r->label, sizeof r->label, "epoch %d/%d", p->epoch, p->epochs);
        progress_start(&r->bar, r->label, p->per_epoch < left ? p->per_epoch : left);
    }
    char status[STATUS_LEN];
    format_status(r, p, 0, status, sizeof status);
    progress_update(&r->bar, p->step - first, status);
    r->steps = p->step;
}

static void on_epoch(const tpl_fit_report *p, void *user) {
    trainer *r = user;
    char status[STATUS_LEN];
    format_status(r, p, 1, status, sizeof status);
    progress_finish(&r->bar, status);
    log_epoch(r, p);
}

static int should_stop(void *user) {
    (void)user;
    return interrupted;
}

char *trainer_sources(const trainer *r) {
    size_t len = 1;
    for (int t = 0; t < r->n_tasks; t++) len += strlen(r->task[t].d.source) + 1;
    char *data = malloc(len);
    size_t k = 0;
    for (int t = 0; data && t < r->n_tasks; t++)
        k += snprintf(data + k, len - k, "%s%s", t ? "," : "", r->task[t].d.source);
    if (data && !r->n_tasks) data[0] = 0;
    return data;
}

int trainer_save(const trainer *r, tpl_err *err) {
    char steps[32], *data = r->data_meta ? NULL : trainer_sources(r);
    if (!r->data_meta && !data) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    snprintf(steps, sizeof steps, "%ld", r->steps);
    tpl_st_kv extra[] = {{"trained_steps", steps}, {"data", data ? data : r->data_meta}};
    int rc = tpl_model_save_with(r->m, r->o->out, extra, 2, err);
    free(data);
    return rc;
}

int trainer_name_classes(trainer *r, tpl_err *err) {
    for (int t = 0; t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        if (k->d.n_class_names &&
            tpl_model_set_class_names(r->m, k->model_task, (const char *const *)k->d.class_names,
                                      k->d.n_class_names, err))
            return -1;
    }
    return 0;
}

int trainer_run(trainer *r, tpl_err *err) {
    tpl_fit_options o;
    tpl_fit_task tasks[TPL_MAX_TASKS];
    if (check_tasks(r, err) || fit_options(r, &o, err)) return -1;
    long per_epoch = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        tasks[t] = (tpl_fit_task){.task = k->model_task, .train = &k->d.train,
                                  .test = &k->d.test, .crop_pad = r->o->crop_pad,
                                  .flip = r->o->flip && k->d.flip_ok};
        long batches = k->d.train.n / r->o->batch;
        if (batches > per_epoch) per_epoch = batches;
    }
    per_epoch *= r->n_tasks;
    print_header(r, r->o->steps > 0 ? r->o->steps : (long)r->o->epochs * per_epoch, per_epoch);
    o.on_step = on_step;
    o.on_epoch = on_epoch;
    o.should_stop = should_stop;
    o.user = r;
    if (tpl_fit(r->m, tasks, r->n_tasks, &o, NULL, err)) return -1;
    if (interrupted) fprintf(stderr, "templar: interrupted, saving what was trained\n");
    return trainer_save(r, err);
}

int trainer_report(trainer *r, tpl_err *err) {
    const int batch = r->o->batch > r->o->eval_batch ? r->o->batch : r->o->eval_batch;
    double loss[TPL_MAX_TASKS], acc[TPL_MAX_TASKS], mean_loss = 0.0, mean_acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        if (tpl_model_evaluate(r->m, r->task[t].model_task, &r->task[t].d.test, batch, &loss[t],
                               &acc[t], err))
            return -1;
        mean_loss += loss[t];
        mean_acc += acc[t];
    }
    mean_loss /= r->n_tasks, mean_acc /= r->n_tasks;
    if (!r->multi) {
        printf("model=%s steps=%ld test_loss=%.4f test_acc=%.4f\n", r->o->out, r->steps, loss[0],
               acc[0]);
        return 0;
    }
    for (int t = 0; t < r->n_tasks; t++)
        printf("task=%s test_loss=%.4f test_acc=%.4f\n", r->task[t].d.name, loss[t], acc[t]);
    printf("model=%s steps=%ld mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n",
           r->o->out, r->steps, mean_loss, mean_acc, mean_acc);
    return 0;
}

void trainer_free(trainer *r) {
    if (r->log) fclose(r->log);
    for (int t = 0; t < r->n_tasks; t++) tpl_task_free(&r->task[t].d);
    tpl_model_free(r->m);
    memset(r, 0, sizeof *r);
}
