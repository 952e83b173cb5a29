/* The shared training loop; see trainer.h. */
#include "trainer.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "progress.h"

static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

void trainer_defaults(trainer_opts *o) {
    *o = (trainer_opts){.optim = "sgd", .schedule = "onecycle", .batch = 64, .epochs = 5,
                        .seed = 1, .flip = 1, .eval_batch = 250, .lr = 0.1f, .logit_lr = 1.0f,
                        .momentum = 0.9f, .wd = 5e-4f, .warmup = 0.15f};
}

void trainer_specs(trainer_opts *o, arg_spec *specs) {
    const arg_spec s[TRAINER_N_SPECS] = {
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
    };
    memcpy(specs, s, sizeof s);
}

static int optim_config(const trainer_opts *f, long total, tpl_optim_config *o, tpl_err *err) {
    tpl_optim_config_default(o);
    o->lr = f->lr;
    o->logit_lr_mult = f->logit_lr;
    o->momentum = f->momentum;
    o->weight_decay = f->wd;
    o->warmup = f->warmup;
    o->total_steps = total;
    if (!strcmp(f->optim, "sgd")) o->kind = TPL_OPT_SGD;
    else if (!strcmp(f->optim, "adamw")) o->kind = TPL_OPT_ADAMW;
    else {
        tpl_err_set(err, "--optim: '%s' is not sgd or adamw", f->optim);
        return -1;
    }
    if (!strcmp(f->schedule, "onecycle")) o->sched = TPL_SCHED_ONECYCLE;
    else if (!strcmp(f->schedule, "cosine")) o->sched = TPL_SCHED_COSINE;
    else if (!strcmp(f->schedule, "const")) o->sched = TPL_SCHED_CONST;
    else {
        tpl_err_set(err, "--schedule: '%s' is not onecycle, cosine or const", f->schedule);
        return -1;
    }
    return 0;
}

int trainer_command(const char *cmd, const trainer_opts *o, int multi, trainer_body body,
                    void *flags) {
    cli_set_threads(o->threads);
    if (cli_check_writable(o->out)) return 1;
    trainer r = {.o = o, .multi = multi};
    tpl_err err = {{0}};
    int rc = trainer_begin(&r, &err) || body(flags, &r, &err);
    if (rc) fprintf(stderr, "templar %s: %s\n", cmd, err.msg);
    trainer_free(&r);
    return rc ? 1 : 0;
}

int trainer_begin(trainer *r, tpl_err *err) {
    if (r->o->log && !(r->log = fopen(r->o->log, "w"))) {
        tpl_err_set(err, "%s: cannot write the log: %s", r->o->log, strerror(errno));
        return -1;
    }
    signal(SIGINT, on_interrupt);
    return 0;
}

/* Checks every task's data against the model; sets the steps of an epoch
 * and each task's augmentation. */
static int check_tasks(trainer *r, tpl_err *err) {
    long rounds = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        trainer_task *k = &r->task[t];
        if (tpl_dataset_check(r->m, k->model_task, &k->d.train, k->d.where, err) ||
            tpl_dataset_check(r->m, k->model_task, &k->d.test, k->d.where, err))
            return -1;
        int batches = k->d.train.n / r->o->batch;
        if (batches < 1) {
            tpl_err_set(err, "%s: %d training images is less than one batch of %d", k->d.where,
                        k->d.train.n, r->o->batch);
            return -1;
        }
        if (batches > rounds) rounds = batches;
        k->aug = (tpl_augment){.pad = r->o->crop_pad, .flip = r->o->flip && k->d.flip_ok};
    }
    r->per_epoch = rounds * r->n_tasks;
    return 0;
}

static int alloc_run(trainer *r, const tpl_optim_config *oc, tpl_err *err) {
    const trainer_opts *f = r->o;
    int ok = 1;
    for (int t = 0; t < r->n_tasks; t++) {
        trainer_task *k = &r->task[t];
        if (!(k->perm = malloc(sizeof(int) * k->d.train.n))) ok = 0;
        for (int i = 0; k->perm && i < k->d.train.n; i++) k->perm[i] = i;
        k->pos = k->d.train.n; /* used up: the first batch shuffles */
    }
    if (!ok || tpl_optim_init(&r->opt, oc, r->m->params.numel) ||
        tpl_batch_init(&r->batch, r->m, f->batch > f->eval_batch ? f->batch : f->eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    return 0;
}

static void print_header(const trainer *r) {
    size_t params = tpl_params_trainable(&r->m->params);
    const tpl_task_data *d = &r->task[0].d;
    if (r->n_tasks == 1) {
        fprintf(stderr, "templar: %s, %d train / %d test images, %zu trained parameters, %ld steps\n",
                d->name, d->train.n, d->test.n, params, r->total);
        return;
    }
    fprintf(stderr, "templar: %d tasks on one bank, one batch of each in turn:", r->n_tasks);
    for (int t = 0; t < r->n_tasks; t++) {
        d = &r->task[t].d;
        fprintf(stderr, " %s (%d train / %d test images),", d->name, d->train.n, d->test.n);
    }
    fprintf(stderr, " %zu trained parameters, %ld steps, %ld an epoch\n", params, r->total,
            r->per_epoch);
}

static double mean_loss(const tpl_step_result *s) { return s->loss / (s->n ? s->n : 1); }
static double accuracy(const tpl_step_result *s) { return (double)s->correct / (s->n ? s->n : 1); }

static long images_seen(const trainer *r) {
    long n = 0;
    for (int t = 0; t < r->n_tasks; t++) n += r->task[t].sum.n;
    return n;
}

#define STATUS_LEN 1024

/* Progress text: the one-task format, or "NAME loss/acc[ test loss/acc]"
 * for each task; with tested, after the epoch's evaluation. */
static void format_status(const trainer *r, int tested, double img_s, char *buf, size_t cap) {
    const tpl_step_result *s = &r->task[0].sum, *te = &r->task[0].test;
    size_t k = 0;
    if (!r->multi) {
        k = snprintf(buf, cap, "loss %.4f acc %.4f %.0f img/s", mean_loss(s), accuracy(s), img_s);
        if (tested && k < cap)
            snprintf(buf + k, cap - k, " | test loss %.4f acc %.4f", te->loss, accuracy(te));
        return;
    }
    for (int t = 0; t < r->n_tasks && k < cap; t++) {
        s = &r->task[t].sum, te = &r->task[t].test;
        k += snprintf(buf + k, cap - k, "%s%s %.4f/%.4f", t ? (tested ? ", " : " ") : "",
                      r->task[t].d.name, mean_loss(s), accuracy(s));
        if (tested && k < cap)
            k += snprintf(buf + k, cap - k, " test %.4f/%.4f", te->loss, accuracy(te));
    }
    if (k < cap) snprintf(buf + k, cap - k, " (loss/acc) %.0f img/s", img_s);
}

static void log_epoch(trainer *r, int epoch, double img_s) {
    if (!r->log) return;
    tpl_step_result tr = {0};
    double te_loss = 0.0, te_acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        tr.loss += k->sum.loss, tr.correct += k->sum.correct, tr.n += k->sum.n;
        te_loss += k->test.loss;
        te_acc += accuracy(&k->test);
    }
    fprintf(r->log,
            "{\"epoch\":%d,\"step\":%ld,\"lr\":%.6g,\"train_loss\":%.6f,\"train_acc\":%.6f,"
            "\"test_loss\":%.6f,\"test_acc\":%.6f,\"img_s\":%.1f,\"elapsed_s\":%.1f",
            epoch, r->step, tpl_optim_lr(&r->opt), mean_loss(&tr), accuracy(&tr),
            te_loss / r->n_tasks, te_acc / r->n_tasks, img_s, progress_now() - r->start);
    for (int t = 0; r->multi && t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        fprintf(r->log,
                "%s\"%s\":{\"train_loss\":%.6f,\"train_acc\":%.6f,\"test_loss\":%.6f,"
                "\"test_acc\":%.6f}",
                t ? "," : ",\"tasks\":{", k->d.name, mean_loss(&k->sum), accuracy(&k->sum),
                k->test.loss, accuracy(&k->test));
    }
    fputs(r->multi ? "}}\n" : "}\n", r->log);
    fflush(r->log);
}

/* One optimiser step on the next batch of task t. */
static int train_batch(trainer *r, int t, tpl_rng *rng, tpl_err *err) {
    trainer_task *k = &r->task[t];
    const tpl_dataset *d = &k->d.train;
    const int n = r->o->batch;
    if (k->pos + n > d->n) {
        tpl_shuffle(k->perm, d->n, rng);
        k->pos = 0;
    }
    if (r->o->tau_end > 0.0f) /* geometric annealing; the last step ends at tau_end */
        tpl_model_set_tau(r->m, r->tau_start * powf(r->o->tau_end / r->tau_start,
                                                    (float)r->step /
                                                        (float)(r->total > 1 ? r->total - 1 : 1)));
    tpl_step_result s;
    const tpl_step_opts so = {.aug = &k->aug, .entropy = r->o->entropy,
                              .unsupervised = r->unsupervised, .diversity = r->diversity};
    if (tpl_train_step(r->m, &r->opt, k->model_task, d, k->perm + k->pos, n, &so, rng, &r->batch,
                       &s, err))
        return -1;
    k->pos += n;
    k->sum.loss += s.loss * s.n;
    k->sum.correct += s.correct;
    k->sum.n += s.n;
    return 0;
}

static int evaluate_all(trainer *r, tpl_err *err) {
    for (int t = 0; t < r->n_tasks; t++) {
        trainer_task *k = &r->task[t];
        if (tpl_evaluate(r->m, k->model_task, &k->d.test, &r->batch, &k->test, err)) return -1;
    }
    return 0;
}

/* One epoch: per_epoch steps (fewer at the end of --steps), then the tests. */
static int run_epoch(trainer *r, int epoch, int epochs, tpl_rng *rng, tpl_err *err) {
    long left = r->total - r->step;
    long steps = r->per_epoch < left ? r->per_epoch : left;
    char label[64], status[STATUS_LEN];
    snprintf(label, sizeof label, "epoch %d/%d", epoch, epochs);
    progress bar;
    progress_start(&bar, label, steps);
    for (int t = 0; t < r->n_tasks; t++) r->task[t].sum = (tpl_step_result){0};
    for (long b = 0; b < steps && !interrupted; b++) {
        if (train_batch(r, (int)(r->step % r->n_tasks), rng, err)) return -1;
        r->step++;
        double el = progress_now() - bar.start;
        format_status(r, 0, images_seen(r) / (el > 0 ? el : 1), status, sizeof status);
        progress_update(&bar, b + 1, status);
    }
    double img_s = images_seen(r) / (progress_now() - bar.start);
    if (evaluate_all(r, err)) return -1;
    format_status(r, 1, img_s, status, sizeof status);
    progress_finish(&bar, status);
    log_epoch(r, epoch, img_s);
    return 0;
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
    snprintf(steps, sizeof steps, "%ld", r->step);
    tpl_st_kv extra[] = {{"trained_steps", steps}, {"data", data ? data : r->data_meta}};
    int rc = tpl_model_save(r->m, r->o->out, extra, 2, err);
    free(data);
    return rc;
}

int trainer_run(trainer *r, tpl_err *err) {
    const trainer_opts *f = r->o;
    if (check_tasks(r, err)) return -1;
    r->total = f->steps > 0 ? f->steps : (long)f->epochs * r->per_epoch;
    int epochs = (int)((r->total + r->per_epoch - 1) / r->per_epoch);
    tpl_optim_config oc;
    if (optim_config(f, r->total, &oc, err) || alloc_run(r, &oc, err)) return -1;
    print_header(r);
    r->tau_start = r->m->cfg.tau;
    tpl_rng rng;
    tpl_rng_seed(&rng, (uint64_t)f->seed * 7919u + 1u);
    r->start = progress_now();
    for (int e = 1; e <= epochs && !interrupted; e++)
        if (run_epoch(r, e, epochs, &rng, err)) return -1;
    if (interrupted) fprintf(stderr, "templar: interrupted, saving what was trained\n");
    return trainer_save(r, err);
}

int trainer_report(trainer *r, tpl_err *err) {
    if (!r->batch.x && tpl_batch_init(&r->batch, r->m, r->o->eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    if (evaluate_all(r, err)) return -1;
    const tpl_step_result *te = &r->task[0].test;
    if (!r->multi) {
        printf("model=%s steps=%ld test_loss=%.4f test_acc=%.4f\n", r->o->out, r->step, te->loss,
               accuracy(te));
        return 0;
    }
    double loss = 0.0, acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        te = &r->task[t].test;
        printf("task=%s test_loss=%.4f test_acc=%.4f\n", r->task[t].d.name, te->loss,
               accuracy(te));
        loss += te->loss;
        acc += accuracy(te);
    }
    loss /= r->n_tasks, acc /= r->n_tasks;
    printf("model=%s steps=%ld mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n",
           r->o->out, r->step, loss, acc, acc);
    return 0;
}

void trainer_free(trainer *r) {
    if (r->log) fclose(r->log);
    for (int t = 0; t < r->n_tasks; t++) {
        free(r->task[t].perm);
        tpl_task_free(&r->task[t].d);
    }
    tpl_batch_free(&r->batch);
    tpl_optim_free(&r->opt);
    tpl_model_free(r->m);
    memset(r, 0, sizeof *r);
}
