/* templar train: one task on an IDX data set, with progress, JSON log,
 * test evaluation each epoch and an atomically written model file. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "progress.h"
#include "train.h"

typedef struct train_flags {
    const char *data, *task, *out, *log, *widths, *optim, *schedule;
    int width, layers, templates, batch, epochs, steps, threads, seed, plain;
    int crop_pad, flip, eval_batch;
    float lr, logit_lr, momentum, wd, warmup, tau, logit_noise;
} train_flags;

static volatile sig_atomic_t interrupted = 0;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

static int parse_flags(int argc, char **argv, train_flags *f) {
    *f = (train_flags){.data = DEFAULT_DATA, .task = "fashion", .out = "fashion.safetensors",
                       .optim = "sgd", .schedule = "onecycle", .width = 64, .layers = 8,
                       .templates = 4, .batch = 64, .epochs = 5, .threads = 0, .seed = 1,
                       .crop_pad = 0, .flip = 1, .eval_batch = 250, .lr = 0.1f,
                       .logit_lr = 1.0f, .momentum = 0.9f, .wd = 5e-4f, .warmup = 0.15f,
                       .tau = 1.0f, .logit_noise = 0.1f};
    const arg_spec specs[] = {
        {"data", ARG_STR, &f->data, "IDX directory ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])", 0, 0},
        {"task", ARG_STR, &f->task, "name of the task", 0, 0},
        {"width", ARG_INT, &f->width, "channels of every block (isometric layout)", 1, 1024},
        {"layers", ARG_INT, &f->layers, "residual blocks L (per stage)", 1, 256},
        {"templates", ARG_INT, &f->templates, "templates K in the bank (per stage)", 1, 256},
        {"widths", ARG_STR, &f->widths, "staged layout: widths per stage, e.g. 32,64,128", 0, 0},
        {"plain", ARG_BOOL, &f->plain, "plain ResNet baseline: K = L, fixed one-hot mixtures", 0, 1},
        {"tau", ARG_FLOAT, &f->tau, "mixture softmax temperature", 1e-3, 1e3},
        {"logit-noise", ARG_FLOAT, &f->logit_noise, "std of the seeded noise on the uniform logits", 0, 10},
        {"batch", ARG_INT, &f->batch, "batch size", 1, 4096},
        {"epochs", ARG_INT, &f->epochs, "passes over the training set", 1, 10000},
        {"steps", ARG_INT, &f->steps, "optimiser steps (overrides --epochs when > 0)", 0, 100000000},
        {"optim", ARG_STR, &f->optim, "sgd (momentum, Nesterov) or adamw", 0, 0},
        {"lr", ARG_FLOAT, &f->lr, "peak learning rate", 1e-7, 100},
        {"logit-lr", ARG_FLOAT, &f->logit_lr, "learning rate multiplier of the mixture logits", 0, 1e4},
        {"momentum", ARG_FLOAT, &f->momentum, "SGD momentum", 0, 0.999},
        {"wd", ARG_FLOAT, &f->wd, "weight decay (conv, template and head weights)", 0, 1},
        {"schedule", ARG_STR, &f->schedule, "onecycle, cosine or const", 0, 0},
        {"warmup", ARG_FLOAT, &f->warmup, "fraction of steps spent warming up", 0, 1},
        {"crop-pad", ARG_INT, &f->crop_pad, "random-crop padding in pixels (0 = off)", 0, 16},
        {"flip", ARG_BOOL, &f->flip, "random horizontal flips (use --no-flip for digits)", 0, 1},
        {"threads", ARG_INT, &f->threads, "threads (0 = all cores)", 0, 1024},
        {"seed", ARG_INT, &f->seed, "seed of every random choice", 0, 2147483647},
        {"out", ARG_STR, &f->out, "model file to write (safetensors)", 0, 0},
        {"log", ARG_STR, &f->log, "JSON-lines log, one line per epoch", 0, 0},
        {"eval-batch", ARG_INT, &f->eval_batch, "batch size of evaluation", 1, 4096},
    };
    int npos;
    return args_parse("train", "[flags]", specs, sizeof specs / sizeof *specs, argc, argv, 2,
                      NULL, 0, &npos);
}

static int build_config(const train_flags *f, const tpl_dataset *train, tpl_config *c,
                        tpl_err *err) {
    tpl_config_default(c);
    c->in_channels = train->c;
    c->in_height = train->h;
    c->in_width = train->w;
    c->stem_stride = train->h >= 24 ? 2 : 1;
    snprintf(c->task[0].name, TPL_NAME_LEN, "%s", f->task);
    c->task[0].classes = train->classes;
    c->tau = f->tau;
    c->logit_noise = f->logit_noise;
    c->n_stages = 0;
    const char *s = f->widths ? f->widths : NULL;
    do {
        if (c->n_stages == TPL_MAX_STAGES) {
            tpl_err_set(err, "--widths: at most %d stages", TPL_MAX_STAGES);
            return -1;
        }
        char *end;
        long w = s ? strtol(s, &end, 10) : f->width;
        if (s && (end == s || (*end && *end != ',') || w < 1 || w > 1024)) {
            tpl_err_set(err, "--widths: '%s' is not a list of widths like 32,64,128", f->widths);
            return -1;
        }
        c->stage[c->n_stages++] = (tpl_stage_config){(int)w, f->layers,
                                                     f->plain ? f->layers : f->templates};
        s = s && *end ? end + 1 : NULL;
    } while (s);
    if (f->plain) c->routing = TPL_ROUTE_FIXED_ONEHOT;
    float mean[4], std[4];
    tpl_dataset_stats(train, mean, std);
    for (int i = 0; i < c->in_channels && i < 4; i++) {
        c->in_mean[i] = mean[i];
        c->in_std[i] = std[i] > 1e-6f ? std[i] : 1.0f;
    }
    return tpl_config_check(c, err);
}

static int optim_config(const train_flags *f, long total, tpl_optim_config *o, tpl_err *err) {
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

typedef struct run_state {
    const train_flags *f;
    tpl_model *m;
    tpl_optim opt;
    tpl_batch batch;
    tpl_dataset train, test;
    FILE *log;
    int *perm;
    long step, total;
    double start;
} run_state;

static void log_epoch(run_state *r, int epoch, const tpl_step_result *tr, const tpl_step_result *te,
                      double img_s) {
    if (!r->log) return;
    fprintf(r->log,
            "{\"epoch\":%d,\"step\":%ld,\"lr\":%.6g,\"train_loss\":%.6f,\"train_acc\":%.6f,"
            "\"test_loss\":%.6f,\"test_acc\":%.6f,\"img_s\":%.1f,\"elapsed_s\":%.1f}\n",
            epoch, r->step, tpl_optim_lr(&r->opt), tr->loss, (double)tr->correct / tr->n,
            te->loss, (double)te->correct / te->n, img_s, progress_now() - r->start);
    fflush(r->log);
}

/* One pass over the shuffled training set (whole batches only). */
static int run_epoch(run_state *r, int epoch, int epochs, tpl_rng *rng, tpl_err *err) {
    const train_flags *f = r->f;
    const tpl_augment aug = {.pad = f->crop_pad, .flip = f->flip};
    long left = r->total - r->step;
    int per_epoch = r->train.n / f->batch < left ? r->train.n / f->batch : (int)left;
    char label[64], status[160];
    snprintf(label, sizeof label, "epoch %d/%d", epoch, epochs);
    progress bar;
    progress_start(&bar, label, per_epoch);
    tpl_shuffle(r->perm, r->train.n, rng);
    tpl_step_result sum = {0}, s;
    int done = 0;
    for (int b = 0; b < per_epoch && r->step < r->total && !interrupted; b++, done++) {
        if (tpl_train_step(r->m, &r->opt, 0, &r->train, r->perm + (size_t)b * f->batch, f->batch,
                           &aug, rng, &r->batch, &s, err))
            return -1;
        r->step++;
        sum.loss += s.loss * s.n;
        sum.correct += s.correct;
        sum.n += s.n;
        double el = progress_now() - bar.start;
        snprintf(status, sizeof status, "loss %.4f acc %.4f %.0f img/s", sum.loss / sum.n,
                 (double)sum.correct / sum.n, sum.n / (el > 0 ? el : 1));
        progress_update(&bar, b + 1, status);
    }
    double img_s = sum.n / (progress_now() - bar.start);
    tpl_step_result te;
    if (tpl_evaluate(r->m, 0, &r->test, &r->batch, &te, err)) return -1;
    if (sum.n) sum.loss /= sum.n;
    else sum.n = 1;
    snprintf(status, sizeof status, "loss %.4f acc %.4f %.0f img/s | test loss %.4f acc %.4f",
             sum.loss, (double)sum.correct / sum.n, img_s, te.loss, (double)te.correct / te.n);
    progress_finish(&bar, status);
    log_epoch(r, epoch, &sum, &te, img_s);
    return done;
}

static int train_run(run_state *r, tpl_err *err) {
    const train_flags *f = r->f;
    tpl_config cfg;
    if (build_config(f, &r->train, &cfg, err)) return -1;
    if (!(r->m = tpl_model_create(&cfg, (uint64_t)f->seed, err))) return -1;
    if (tpl_dataset_check(r->m, 0, &r->test, f->data, err)) return -1;
    int per_epoch = r->train.n / f->batch;
    if (per_epoch < 1) {
        tpl_err_set(err, "%s: %d training images is less than one batch of %d", f->data,
                    r->train.n, f->batch);
        return -1;
    }
    r->total = f->steps > 0 ? f->steps : (long)f->epochs * per_epoch;
    int epochs = (int)((r->total + per_epoch - 1) / per_epoch);
    tpl_optim_config oc;
    if (optim_config(f, r->total, &oc, err)) return -1;
    r->perm = malloc(sizeof(int) * r->train.n);
    if (!r->perm || tpl_optim_init(&r->opt, &oc, r->m->params.numel) ||
        tpl_batch_init(&r->batch, r->m, f->batch > f->eval_batch ? f->batch : f->eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    for (int i = 0; i < r->train.n; i++) r->perm[i] = i;
    fprintf(stderr, "templar: %s, %d train / %d test images, %zu parameters, %ld steps\n",
            f->task, r->train.n, r->test.n, tpl_params_count(&r->m->params, -2, 0), r->total);
    tpl_rng rng;
    tpl_rng_seed(&rng, (uint64_t)f->seed * 7919u + 1u);
    r->start = progress_now();
    for (int e = 1; e <= epochs && !interrupted; e++)
        if (run_epoch(r, e, epochs, &rng, err) < 0) return -1;
    if (interrupted) fprintf(stderr, "templar: interrupted, saving what was trained\n");
    char steps[32];
    snprintf(steps, sizeof steps, "%ld", r->step);
    tpl_st_kv extra[] = {{"trained_steps", steps}, {"data", f->data}};
    return tpl_model_save(r->m, f->out, extra, 2, err);
}

int cmd_train(int argc, char **argv) {
    train_flags f;
    int rc = parse_flags(argc, argv, &f);
    if (rc) return rc > 0 ? 0 : 2;
    cli_set_threads(f.threads);
    if (cli_check_writable(f.out)) return 1;
    run_state r = {.f = &f};
    tpl_err err = {{0}};
    if (f.log && !(r.log = fopen(f.log, "w"))) {
        perror(f.log);
        return 1;
    }
    signal(SIGINT, on_interrupt);
    rc = tpl_idx_load_dir(f.data, "train", &r.train, &err) ||
         tpl_idx_load_dir(f.data, "test", &r.test, &err) || train_run(&r, &err);
    if (rc) fprintf(stderr, "templar train: %s\n", err.msg);
    else {
        tpl_step_result te;
        rc = tpl_evaluate(r.m, 0, &r.test, &r.batch, &te, &err);
        if (rc) fprintf(stderr, "templar train: %s\n", err.msg);
        else printf("model=%s steps=%ld test_loss=%.4f test_acc=%.4f\n", f.out, r.step, te.loss,
                    (double)te.correct / te.n);
    }
    if (r.log) fclose(r.log);
    free(r.perm);
    tpl_batch_free(&r.batch);
    tpl_optim_free(&r.opt);
    tpl_model_free(r.m);
    tpl_dataset_free(&r.train);
    tpl_dataset_free(&r.test);
    return rc ? 1 : 0;
}
