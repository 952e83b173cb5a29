/* templar train: one template bank on one task (an IDX data set) or on
 * several tasks at once (--tasks), with progress, JSON log, test evaluation
 * of every task each epoch and an atomically written model file.
 *
 * Several tasks share one loop with the single task: every optimiser step
 * takes one batch of one task, the tasks in turn (round robin, in --tasks
 * order).  An epoch is R rounds of one batch per task, R being the largest
 * task's whole batches (its training images / --batch); each task walks its
 * own shuffled order and reshuffles when less than a batch is left, so a
 * smaller task is seen several times an epoch.  --steps counts steps over all
 * tasks.  Inputs are normalised with the mean and std of the union of the
 * tasks' training images.  One task is the case R = its batches an epoch. */
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
    const char *data, *task, *tasks, *out, *log, *widths, *optim, *schedule;
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
    *f = (train_flags){.data = DEFAULT_DATA, .out = "fashion.safetensors",
                       .optim = "sgd", .schedule = "onecycle", .width = 64, .layers = 8,
                       .templates = 4, .batch = 64, .epochs = 5, .threads = 0, .seed = 1,
                       .crop_pad = 0, .flip = 1, .eval_batch = 250, .lr = 0.1f,
                       .logit_lr = 1.0f, .momentum = 0.9f, .wd = 5e-4f, .warmup = 0.15f,
                       .tau = 1.0f, .logit_noise = 0.1f};
    const arg_spec specs[] = {
        {"data", ARG_STR, &f->data, "IDX directory ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]); with --tasks: task fashion's", 0, 0},
        {"task", ARG_STR, &f->task, "name of the one task trained on --data (default fashion)", 0, 0},
        {"tasks", ARG_STR, &f->tasks, "several tasks on one bank, comma-separated: fashion, handwritten, optical or NAME=idx:DIR", 0, 0},
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

/* The stages from --width/--layers/--templates or --widths. */
static int build_stages(const train_flags *f, tpl_config *c, tpl_err *err) {
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
    return 0;
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

typedef struct task_run {
    tpl_task_data d;
    int *perm;                  /* the task's shuffled order of training images */
    int pos;                    /* next unused place in perm */
    tpl_step_result sum, test;  /* this epoch's training (loss summed over images), last test */
} task_run;

typedef struct run_state {
    const train_flags *f;
    int multi;                  /* --tasks given: results per task */
    int n_tasks;
    task_run task[TPL_MAX_TASKS];
    tpl_model *m;
    tpl_optim opt;
    tpl_batch batch;
    FILE *log;
    long step, total, per_epoch;
    double start;
} run_state;

#define STATUS_LEN 1024

/* An element of --tasks that cannot be loaded: empty, one too many, a
 * repeat of an earlier one's name, or not a task spec. */
static int bad_element(const char *list, const char *spec, size_t len, int index,
                       tpl_err *err) {
    char name[TPL_NAME_LEN];
    size_t n = tpl_task_spec_name(spec, len);
    snprintf(name, sizeof name, "%.*s", (int)(n < TPL_NAME_LEN ? n : 0), spec);
    size_t first_len;
    if (!len) tpl_err_set(err, "--tasks: '%s' has an empty element", list);
    else if (index == TPL_MAX_TASKS) tpl_err_set(err, "--tasks: at most %d tasks", TPL_MAX_TASKS);
    else if (tpl_task_spec_check(spec, len, err)) return 1;
    else if (tpl_task_spec_find(list, name, &first_len) != spec)
        tpl_err_set(err, "--tasks: task '%s' is named twice", name);
    else return 0;
    return 1;
}

/* The tasks' data: --tasks (every element checked before any is read), or
 * the one task --task on --data. */
static int load_tasks(run_state *r, tpl_err *err) {
    const train_flags *f = r->f;
    if (!f->tasks) {
        r->n_tasks = 1;
        return tpl_task_load_idx(f->task ? f->task : "fashion", f->data, TPL_TASK_BOTH,
                                 &r->task[0].d, err);
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *s = f->tasks;
        for (int t = 0;; t++) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (pass == 0 && bad_element(f->tasks, s, len, t, err)) return -1;
            if (pass == 1 && tpl_task_load(s, len, f->data, TPL_TASK_BOTH, &r->task[t].d, err))
                return -1;
            r->n_tasks = pass ? t + 1 : 0;
            if (!comma) break;
            s = comma + 1;
        }
    }
    return 0;
}

/* Every task's training images must have the first task's shape. */
static int check_shapes(const run_state *r, tpl_err *err) {
    const tpl_dataset *a = &r->task[0].d.train;
    for (int t = 1; t < r->n_tasks; t++) {
        const tpl_dataset *d = &r->task[t].d.train;
        if (d->c != a->c || d->h != a->h || d->w != a->w) {
            tpl_err_set(err, "%s: images are %dx%dx%d but task '%s' has %dx%dx%d",
                        r->task[t].d.where, d->c, d->h, d->w, r->task[0].d.name, a->c, a->h,
                        a->w);
            return -1;
        }
    }
    return 0;
}

static int build_config(const run_state *r, tpl_config *c, tpl_err *err) {
    const train_flags *f = r->f;
    const tpl_dataset *train = &r->task[0].d.train, *sets[TPL_MAX_TASKS];
    tpl_config_default(c);
    c->in_channels = train->c;
    c->in_height = train->h;
    c->in_width = train->w;
    c->stem_stride = train->h >= 24 ? 2 : 1;
    c->n_tasks = r->n_tasks;
    for (int t = 0; t < r->n_tasks; t++) {
        snprintf(c->task[t].name, TPL_NAME_LEN, "%s", r->task[t].d.name);
        c->task[t].classes = r->task[t].d.train.classes;
        sets[t] = &r->task[t].d.train;
    }
    c->tau = f->tau;
    c->logit_noise = f->logit_noise;
    if (build_stages(f, c, err)) return -1;
    float mean[4], std[4];
    tpl_dataset_stats_union(sets, r->n_tasks, mean, std);
    for (int i = 0; i < c->in_channels && i < 4; i++) {
        c->in_mean[i] = mean[i];
        c->in_std[i] = std[i] > 1e-6f ? std[i] : 1.0f;
    }
    return tpl_config_check(c, err);
}

/* Checks every task's data against the model; sets the steps of an epoch. */
static int check_tasks(run_state *r, tpl_err *err) {
    long rounds = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const tpl_task_data *d = &r->task[t].d;
        if (tpl_dataset_check(r->m, t, &d->train, d->where, err) ||
            tpl_dataset_check(r->m, t, &d->test, d->where, err))
            return -1;
        int batches = d->train.n / r->f->batch;
        if (batches < 1) {
            tpl_err_set(err, "%s: %d training images is less than one batch of %d", d->where,
                        d->train.n, r->f->batch);
            return -1;
        }
        if (batches > rounds) rounds = batches;
    }
    r->per_epoch = rounds * r->n_tasks;
    return 0;
}

static int alloc_run(run_state *r, const tpl_optim_config *oc, tpl_err *err) {
    const train_flags *f = r->f;
    int ok = 1;
    for (int t = 0; t < r->n_tasks; t++) {
        task_run *k = &r->task[t];
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

static void print_header(const run_state *r) {
    size_t params = tpl_params_count(&r->m->params, -2, 0);
    const tpl_task_data *d = &r->task[0].d;
    if (!r->multi) {
        fprintf(stderr, "templar: %s, %d train / %d test images, %zu parameters, %ld steps\n",
                d->name, d->train.n, d->test.n, params, r->total);
        return;
    }
    fprintf(stderr, "templar: %d tasks on one bank, one batch of each in turn:", r->n_tasks);
    for (int t = 0; t < r->n_tasks; t++) {
        d = &r->task[t].d;
        fprintf(stderr, " %s (%d train / %d test images),", d->name, d->train.n, d->test.n);
    }
    fprintf(stderr, " %zu parameters, %ld steps, %ld an epoch\n", params, r->total,
            r->per_epoch);
}

static double mean_loss(const tpl_step_result *s) { return s->loss / (s->n ? s->n : 1); }
static double accuracy(const tpl_step_result *s) { return (double)s->correct / (s->n ? s->n : 1); }

static long images_seen(const run_state *r) {
    long n = 0;
    for (int t = 0; t < r->n_tasks; t++) n += r->task[t].sum.n;
    return n;
}

/* Progress text: the one-task format, or "NAME loss/acc[ test loss/acc]"
 * for each task; with tested, after the epoch's evaluation. */
static void format_status(const run_state *r, int tested, double img_s, char *buf, size_t cap) {
    const tpl_step_result *s = &r->task[0].sum, *te = &r->task[0].test;
    size_t k = 0;
    if (!r->multi) {
        k = snprintf(buf, cap, "loss %.4f acc %.4f %.0f img/s", mean_loss(s), accuracy(s), img_s);
        if (tested && k < cap)
            snprintf(buf + k, cap - k, " | test loss %.4f acc %.4f", te->loss,
                     (double)te->correct / te->n);
        return;
    }
    for (int t = 0; t < r->n_tasks && k < cap; t++) {
        s = &r->task[t].sum, te = &r->task[t].test;
        k += snprintf(buf + k, cap - k, "%s%s %.4f/%.4f", t ? (tested ? ", " : " ") : "",
                      r->task[t].d.name, mean_loss(s), accuracy(s));
        if (tested && k < cap)
            k += snprintf(buf + k, cap - k, " test %.4f/%.4f", te->loss,
                          (double)te->correct / te->n);
    }
    if (k < cap) snprintf(buf + k, cap - k, " (loss/acc) %.0f img/s", img_s);
}

static void log_epoch(run_state *r, int epoch, double img_s) {
    if (!r->log) return;
    tpl_step_result tr = {0};
    double te_loss = 0.0, te_acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        const task_run *k = &r->task[t];
        tr.loss += k->sum.loss, tr.correct += k->sum.correct, tr.n += k->sum.n;
        te_loss += k->test.loss;
        te_acc += (double)k->test.correct / k->test.n;
    }
    fprintf(r->log,
            "{\"epoch\":%d,\"step\":%ld,\"lr\":%.6g,\"train_loss\":%.6f,\"train_acc\":%.6f,"
            "\"test_loss\":%.6f,\"test_acc\":%.6f,\"img_s\":%.1f,\"elapsed_s\":%.1f",
            epoch, r->step, tpl_optim_lr(&r->opt), mean_loss(&tr), accuracy(&tr),
            te_loss / r->n_tasks, te_acc / r->n_tasks, img_s, progress_now() - r->start);
    for (int t = 0; r->multi && t < r->n_tasks; t++) {
        const task_run *k = &r->task[t];
        fprintf(r->log,
                "%s\"%s\":{\"train_loss\":%.6f,\"train_acc\":%.6f,\"test_loss\":%.6f,"
                "\"test_acc\":%.6f}",
                t ? "," : ",\"tasks\":{", k->d.name, mean_loss(&k->sum), accuracy(&k->sum),
                k->test.loss, (double)k->test.correct / k->test.n);
    }
    fputs(r->multi ? "}}\n" : "}\n", r->log);
    fflush(r->log);
}

/* One optimiser step on the next batch of task t. */
static int train_batch(run_state *r, int t, const tpl_augment *aug, tpl_rng *rng,
                       tpl_err *err) {
    task_run *k = &r->task[t];
    const tpl_dataset *d = &k->d.train;
    const int n = r->f->batch;
    if (k->pos + n > d->n) {
        tpl_shuffle(k->perm, d->n, rng);
        k->pos = 0;
    }
    tpl_step_result s;
    if (tpl_train_step(r->m, &r->opt, t, d, k->perm + k->pos, n, aug, rng, &r->batch, &s, err))
        return -1;
    k->pos += n;
    k->sum.loss += s.loss * s.n;
    k->sum.correct += s.correct;
    k->sum.n += s.n;
    return 0;
}

static int evaluate_all(run_state *r, tpl_err *err) {
    for (int t = 0; t < r->n_tasks; t++)
        if (tpl_evaluate(r->m, t, &r->task[t].d.test, &r->batch, &r->task[t].test, err))
            return -1;
    return 0;
}

/* One epoch: per_epoch steps (fewer at the end of --steps), then the tests. */
static int run_epoch(run_state *r, int epoch, int epochs, tpl_rng *rng, tpl_err *err) {
    const tpl_augment aug = {.pad = r->f->crop_pad, .flip = r->f->flip};
    long left = r->total - r->step;
    long steps = r->per_epoch < left ? r->per_epoch : left;
    char label[64], status[STATUS_LEN];
    snprintf(label, sizeof label, "epoch %d/%d", epoch, epochs);
    progress bar;
    progress_start(&bar, label, steps);
    for (int t = 0; t < r->n_tasks; t++) r->task[t].sum = (tpl_step_result){0};
    for (long b = 0; b < steps && !interrupted; b++) {
        if (train_batch(r, (int)(r->step % r->n_tasks), &aug, rng, err)) return -1;
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

/* The "data" metadata: --data for one task, else the tasks' sources. */
static int save_model(const run_state *r, tpl_err *err) {
    char steps[32], *data = NULL;
    snprintf(steps, sizeof steps, "%ld", r->step);
    size_t len = 1;
    for (int t = 0; r->multi && t < r->n_tasks; t++) len += strlen(r->task[t].d.source) + 1;
    if (r->multi && !(data = malloc(len))) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (int t = 0; data && t < r->n_tasks; t++)
        k += snprintf(data + k, len - k, "%s%s", t ? "," : "", r->task[t].d.source);
    tpl_st_kv extra[] = {{"trained_steps", steps}, {"data", data ? data : r->f->data}};
    int rc = tpl_model_save(r->m, r->f->out, extra, 2, err);
    free(data);
    return rc;
}

static int train_run(run_state *r, tpl_err *err) {
    const train_flags *f = r->f;
    tpl_config cfg;
    if (check_shapes(r, err) || build_config(r, &cfg, err)) return -1;
    if (!(r->m = tpl_model_create(&cfg, (uint64_t)f->seed, err))) return -1;
    if (check_tasks(r, err)) return -1;
    r->total = f->steps > 0 ? f->steps : (long)f->epochs * r->per_epoch;
    int epochs = (int)((r->total + r->per_epoch - 1) / r->per_epoch);
    tpl_optim_config oc;
    if (optim_config(f, r->total, &oc, err) || alloc_run(r, &oc, err)) return -1;
    print_header(r);
    tpl_rng rng;
    tpl_rng_seed(&rng, (uint64_t)f->seed * 7919u + 1u);
    r->start = progress_now();
    for (int e = 1; e <= epochs && !interrupted; e++)
        if (run_epoch(r, e, epochs, &rng, err)) return -1;
    if (interrupted) fprintf(stderr, "templar: interrupted, saving what was trained\n");
    return save_model(r, err);
}

/* The final test results: one line, or one per task and their mean. */
static int report(run_state *r, tpl_err *err) {
    if (evaluate_all(r, err)) return -1;
    const tpl_step_result *te = &r->task[0].test;
    if (!r->multi) {
        printf("model=%s steps=%ld test_loss=%.4f test_acc=%.4f\n", r->f->out, r->step, te->loss,
               (double)te->correct / te->n);
        return 0;
    }
    double loss = 0.0, acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        te = &r->task[t].test;
        printf("task=%s test_loss=%.4f test_acc=%.4f\n", r->task[t].d.name, te->loss,
               (double)te->correct / te->n);
        loss += te->loss;
        acc += (double)te->correct / te->n;
    }
    loss /= r->n_tasks, acc /= r->n_tasks;
    printf("model=%s steps=%ld mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n",
           r->f->out, r->step, loss, acc, acc);
    return 0;
}

static void run_free(run_state *r) {
    if (r->log) fclose(r->log);
    for (int t = 0; t < r->n_tasks; t++) {
        free(r->task[t].perm);
        tpl_task_free(&r->task[t].d);
    }
    tpl_batch_free(&r->batch);
    tpl_optim_free(&r->opt);
    tpl_model_free(r->m);
}

int cmd_train(int argc, char **argv) {
    train_flags f;
    int rc = parse_flags(argc, argv, &f);
    if (rc) return rc > 0 ? 0 : 2;
    if (f.task && f.tasks) {
        fprintf(stderr, "templar train: --task and --tasks: give one or the other\n");
        return 2;
    }
    cli_set_threads(f.threads);
    if (cli_check_writable(f.out)) return 1;
    run_state r = {.f = &f, .multi = f.tasks != NULL};
    tpl_err err = {{0}};
    if (f.log && !(r.log = fopen(f.log, "w"))) {
        perror(f.log);
        return 1;
    }
    signal(SIGINT, on_interrupt);
    rc = load_tasks(&r, &err) || train_run(&r, &err) || report(&r, &err);
    if (rc) fprintf(stderr, "templar train: %s\n", err.msg);
    run_free(&r);
    return rc ? 1 : 0;
}
