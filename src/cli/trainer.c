/* The frame around tpl_fit that the training commands share; see trainer.h. */
#include "trainer.h"

#include <assert.h>
#include <errno.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "cli.h"
#include "ranks.h"
#include "precision.h"
#include "resume.h"

/* The signal that stopped the training (SIGINT or SIGTERM), 0 while none. */
static volatile sig_atomic_t stop_signal = 0;
static void on_stop_signal(int sig) { stop_signal = sig; }

void trainer_defaults(trainer_opts *o) {
    *o = (trainer_opts){.optim = "sgd", .schedule = "onecycle", .batch = 64, .epochs = 5,
                        .seed = 1, .flip = 1, .eval_batch = 250, .lr = 0.1f, .logit_lr = 1.0f,
                        .momentum = 0.9f, .wd = 5e-4f, .warmup = 0.15f, .precision = "auto"};
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
        {"flip", ARG_BOOL, &o->flip, "random horizontal flips, for tasks whose images allow them (',flip' after a task)", 0, 1},
        {"rotate", ARG_FLOAT, &o->rotate, "random rotations about the centre, up to this many degrees either way (0 = off)", 0, 45},
        {"scale", ARG_FLOAT, &o->scale, "random zooms about the centre by a factor in [1 - X, 1 + X] (0 = off)", 0, 0.5},
        {"jitter", ARG_FLOAT, &o->jitter, "random brightness, contrast and saturation of colour images, each times a factor in [1 - X, 1 + X] (0 = off; grey images unchanged)", 0, 1},
        {"threads", ARG_INT, &o->threads, "threads (0 = all cores)", 0, 1024},
        {"seed", ARG_INT, &o->seed, "seed of every random choice", 0, 2147483647},
        {"out", ARG_STR, &o->out, "model file to write (safetensors; default: named after the tasks)", 0, 0},
        {"force", ARG_BOOL, &o->force, "replace an existing --out", 0, 1},
        {"log", ARG_STR, &o->log, "JSON-lines log: the run's record, then a line per epoch", 0, 0},
        {"log-every", ARG_INT, &o->log_every, "also a log line every N steps (0 = per epoch only)", 0, 100000000},
        {"save-every", ARG_INT, &o->save_every, "write --out, resumable, every N steps (0 = at the end only)", 0, 100000000},
        {"resume", ARG_STR, &o->resume, "continue the run a --save-every or interrupted --out holds, bit for bit (its flags are the recorded ones; flags given now override them)", 0, 0},
        {"eval-batch", ARG_INT, &o->eval_batch, "batch size of evaluation", 1, 4096},
        {"precision", ARG_STR, &o->precision, "convolutions in fp32, bf16 (CPUs with AVX-512 BF16; fp32 sums) or auto (bf16 where the CPU has AMX, fp32 elsewhere)", 0, 0},
        {"max-memory", ARG_INT, &o->max_memory, "the most memory the model may take, in MiB (0 = what is available)", 0, 1 << 30},
        /* several processes (ranks.h, docs/DISTRIBUTED.md) */
        {"task-parallel", ARG_BOOL, &o->task_parallel, "every step trains a batch of every task, gradients summed; under mpirun, task i on rank i % ranks, only shared parameters' gradients exchanged", 0, 1},
        {"sync-bn", ARG_BOOL, &o->sync_bn, "under mpirun (data parallel): BN statistics of the whole batch, not each rank's share", 0, 1},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static_assert(sizeof s / sizeof *s == TRAINER_SPECS, "TRAINER_N_FLAGS is not the table's size");
    memcpy(o->specs, s, sizeof s);
}

void trainer_default_out(trainer_opts *o, const char *from, const char *tasks) {
    size_t n = 0, cap = sizeof o->default_out - sizeof ".safetensors";
    char *b = o->default_out;
    if (from) {
        const char *base = strrchr(from, '/') ? strrchr(from, '/') + 1 : from;
        size_t len = strcspn(base, ".");
        n += snprintf(b, cap, "%.*s", (int)len, base);
    }
    for (const char *s = tasks; s && *s && n < cap;) {
        size_t len = tpl_task_spec_len(s);
        n += snprintf(b + n, cap - n, "%s%.*s", n ? "+" : "", (int)tpl_task_spec_name(s, len), s);
        if (!s[len]) break;
        s += len + 1;
    }
    snprintf(b + (n < cap ? n : cap), sizeof o->default_out - (n < cap ? n : cap), ".safetensors");
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
    o->infomax = !r->no_infomax;
    o->diversity = r->diversity;
    o->pseudo = r->pseudo;
    o->moments = r->moments;
    o->moments_from = r->moments_from;
    o->n_moments_from = r->n_moments_from;
    o->save_every = f->save_every;
    o->task_parallel = f->task_parallel; /* several processes: ranks.h */
    o->sync_bn = f->sync_bn;
    o->comm = cli_comm();
    return 0;
}

/* ---- the output file ----------------------------------------------------- */

int trainer_command(const char *cmd, int argc, char **argv, const arg_spec *const *tables,
                    const trainer_opts *o, int multi, trainer_body body, void *flags) {
    cli_set_threads(o->threads);
    tpl_set_memory_limit((size_t)o->max_memory << 20);
    trainer r = {.o = o, .cmd = cmd, .out = o->out ? o->out : o->default_out, .multi = multi,
                 .tables = tables, .argc = argc, .argv = argv};
    tpl_err err = {{0}};
    const char *resumed = o->resume && cli_same_file(r.out, o->resume) ? r.out : NULL;
    /* under mpirun, rank 0 alone writes --out (ranks.h) */
    int rc = (cli_rank() == 0 && cli_check_out(r.out, o->force || resumed, o->protect, &err)) ||
             body(flags, &r, &err);
    if (rc) fprintf(stderr, "templar %s: %s\n", cmd, err.msg);
    trainer_free(&r);
    if (stop_signal) return 128 + stop_signal;
    return rc ? 1 : 0;
}

int trainer_main(const char *cmd, const char *usage, int argc, char **argv, const arg_spec *own,
                 trainer_opts *o, trainer_prepare prepare, trainer_body body, void *flags) {
    int n;
    char **args;
    tpl_err err = {{0}};
    if (record_resume_argv(argc, argv, &n, &args, &err)) {
        fprintf(stderr, "templar %s: %s\n", cmd, err.msg);
        return 1;
    }
    const arg_spec *const tables[] = {own, o->specs, NULL};
    int npos, multi = 0;
    int rc = args_parse(cmd, usage, tables, n, args, 2, NULL, 0, &npos);
    if (rc) rc = rc > 0 ? 0 : 2;
    else if (!(rc = cli_precision_usage(cmd, o->precision)) && !(rc = prepare(flags, o, &multi)))
        rc = trainer_command(cmd, n, args, tables, o, multi, body, flags);
    record_free_argv(n, args, argv);
    return rc;
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
    const char *prec = tpl_precision_name(tpl_model_config(r->m)->precision);
    if (r->n_tasks == 1) {
        fprintf(stderr, "templar: %s, %d train / %d test images, %zu trained parameters, %ld steps, "
                "%s convolutions\n", d->name, d->train.n, d->test.n, params, total, prec);
        return;
    }
    fprintf(stderr, "templar: %d tasks on one bank, one batch of each in turn:", r->n_tasks);
    for (int t = 0; t < r->n_tasks; t++) {
        d = &r->task[t].d;
        fprintf(stderr, " %s (%d train / %d test images),", d->name, d->train.n, d->test.n);
    }
    fprintf(stderr, " %zu trained parameters, %ld steps, %ld an epoch, %s convolutions\n", params,
            total, per_epoch, prec);
}

#define STATUS_LEN 1024

/* Progress text: the one-task format, or "NAME loss/acc[ test loss/acc]"
 * for each task; with tested, after the epoch's tests; then the whole
 * run's ETA. */
static void format_status(const trainer *r, const tpl_fit_report *p, int tested, char *buf,
                          size_t cap) {
    const tpl_fit_task_report *k = &p->task[0];
    size_t n = 0;
    if (!r->multi) {
        n = snprintf(buf, cap, "loss %.4f acc %.4f %.0f img/s", k->train_loss, k->train_acc,
                     p->epoch_img_s);
        if (tested && n < cap)
            n += snprintf(buf + n, cap - n, " | test loss %.4f acc %.4f", k->test_loss,
                          k->test_acc);
    } else {
        for (int t = 0; t < r->n_tasks && n < cap; t++) {
            k = &p->task[t];
            n += snprintf(buf + n, cap - n, "%s%s %.4f/%.4f", t ? (tested ? ", " : " ") : "",
                          r->task[t].d.name, k->train_loss, k->train_acc);
            if (tested && n < cap)
                n += snprintf(buf + n, cap - n, " test %.4f/%.4f", k->test_loss, k->test_acc);
        }
        if (n < cap) n += snprintf(buf + n, cap - n, " (loss/acc) %.0f img/s", p->epoch_img_s);
    }
    if (n < cap && p->step < p->total && p->step > 0) {
        int left = (int)(p->elapsed_s / p->step * (p->total - p->step) + 0.5);
        snprintf(buf + n, cap - n, " | run eta %d:%02d:%02d", left / 3600, left / 60 % 60,
                 left % 60);
    }
}

/* ---- tpl_fit's callbacks ------------------------------------------------ */

static void on_step(const tpl_fit_report *p, void *user) {
    trainer *r = user;
    const long first = (long)(p->epoch - 1) * p->per_epoch; /* the epoch's first step */
    if (!r->bar_on) { /* an epoch's first step here (midway when resumed) */
        long left = p->total - first;
        snprintf(r->label, sizeof r->label, "epoch %d/%d", p->epoch, p->epochs);
        progress_start(&r->bar, r->label, p->per_epoch < left ? p->per_epoch : left);
        r->bar_on = 1;
    }
    char status[STATUS_LEN];
    format_status(r, p, 0, status, sizeof status);
    progress_update(&r->bar, p->step - first, status);
    r->steps = p->step;
    runlog_step(&r->log, p);
}

static void on_epoch(const tpl_fit_report *p, void *user) {
    trainer *r = user;
    char status[STATUS_LEN];
    format_status(r, p, 1, status, sizeof status);
    progress_finish(&r->bar, status);
    r->bar_on = 0;
    runlog_epoch(&r->log, p);
}

/* A signal, a log that cannot be written, a checkpoint that could not be:
 * the run stops (and saves where it stands). */
static int should_stop(void *user) {
    const trainer *r = user;
    return stop_signal || r->log.error || r->save_failed;
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

/* The run's record (record.h), made once its tasks are known. */
static int make_record(trainer *r, tpl_err *err) {
    if (r->record.json) return 0;
    char *data = r->data_meta ? NULL : trainer_sources(r);
    int rc = record_make(&r->record, r->argc, r->argv, r->tables, data ? data : r->data_meta,
                         omp_get_max_threads());
    free(data);
    if (rc) tpl_err_set(err, "out of memory");
    return rc;
}

/* The metadata every file of the run holds: steps, data sources, record. */
static int save_file(trainer *r, const tpl_fit_state *state, tpl_err *err) {
    if (cli_rank() != 0) return 0; /* under mpirun, rank 0 writes (ranks.h) */
    if (make_record(r, err)) return -1;
    char steps[32], *data = r->data_meta ? NULL : trainer_sources(r);
    if (!r->data_meta && !data) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    snprintf(steps, sizeof steps, "%ld", state ? state->step : r->steps);
    tpl_st_kv extra[] = {{"trained_steps", steps},
                         {"data", data ? data : r->data_meta},
                         {"command", r->record.argv_json}, {"record", r->record.json}};
    int rc = state ? tpl_checkpoint_save(r->m, r->out, extra, 4, state, err)
                   : tpl_model_save_with(r->m, r->out, extra, 4, err);
    free(data);
    return rc;
}

int trainer_save(trainer *r, tpl_err *err) { return save_file(r, NULL, err); }

static int on_save(const tpl_fit_state *s, void *user, tpl_err *err) {
    trainer *r = user;
    if (!save_file(r, s, err)) return 0;
    r->save_failed = 1;
    return -1;
}

int trainer_load_task(trainer *r, int t, const char *spec, size_t len, const tpl_task_opts *o,
                      tpl_err *err) {
    tpl_task_data *d = &r->task[t].d;
    if (tpl_task_load_with(spec, len, o, d, err)) return -1;
    const tpl_dataset *x = d->train.n ? &d->train : &d->test;
    if (d->converted)
        fprintf(stderr, "templar: task '%s': %d images resized or converted to %dx%dx%d\n", d->name,
                d->converted, x->c, x->h, x->w);
    return 0;
}

void trainer_task_opts(const tpl_model *m, const char *fashion_dir, tpl_task_opts *o) {
    tpl_task_opts_default(o);
    o->fashion_dir = fashion_dir;
    o->progress = stderr;
    o->h = m->cfg.in_height, o->w = m->cfg.in_width, o->c = m->cfg.in_channels;
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

/* The record, and the log opened with it (appended to when resuming). */
static int begin_records(trainer *r, tpl_err *err) {
    for (int t = 0; t < r->n_tasks; t++) r->names[t] = r->task[t].d.name;
    if (make_record(r, err)) return -1;
    const char *log = cli_rank() == 0 ? r->o->log : NULL; /* rank 0 writes (ranks.h) */
    return runlog_open(&r->log, log, r->o->resume != NULL, r->record.json, r->o->log_every,
                       r->multi, r->n_tasks, r->names, err);
}

/* SIGINT and SIGTERM stop the run after the step under way (and it saves):
 * only while training, so a signal while data loads ends the process at
 * once, with no file touched.  A signal the process was started ignoring
 * (a background job's SIGINT, nohup) stays ignored. */
static void catch_stop_signals(int on) {
    static struct sigaction before[2];
    const int sig[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        if (!on) {
            sigaction(sig[i], &before[i], NULL);
            continue;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sig[i], NULL, &before[i]);
        if (before[i].sa_handler != SIG_IGN) sigaction(sig[i], &sa, NULL);
    }
}

/* After a stop: why, and how to go on. */
static int stopped(const trainer *r, const tpl_fit_report *done, tpl_err *err) {
    if (r->save_failed) return -1; /* err says why */
    if (r->log.error) {
        tpl_err_set(err, "%s: cannot write the log: %s (the run so far is in %s: --resume %s "
                    "continues it)", r->o->log, strerror(r->log.error), r->out, r->out);
        return -1;
    }
    tpl_err_set(err, "%s at step %ld of %ld: the run so far is in %s (templar %s --resume %s "
                "continues it)", stop_signal == SIGTERM ? "terminated" : "interrupted",
                done->step, done->total, r->out, r->cmd, r->out);
    return -1;
}

int trainer_run(trainer *r, tpl_err *err) {
    tpl_fit_options o;
    tpl_fit_task tasks[TPL_MAX_TASKS];
    tpl_fit_state resume = {0};
    if (check_tasks(r, err) || fit_options(r, &o, err) ||
        cli_precision_apply(r->m, r->o->precision, 0, err))
        return -1;
    long per_epoch = 0;
    for (int t = 0; t < r->n_tasks; t++) {
        const trainer_task *k = &r->task[t];
        tasks[t] = (tpl_fit_task){.task = k->model_task, .train = &k->d.train,
                                  .test = k->d.labelled ? &k->d.test : NULL,
                                  .crop_pad = r->o->crop_pad,
                                  .flip = r->o->flip && k->d.flip_ok,
                                  .rotate_deg = r->o->rotate, .scale = r->o->scale,
                                  .jitter = r->o->jitter, .unlabelled = k->unlabelled};
        long batches = k->d.train.n / r->o->batch;
        if (batches > per_epoch) per_epoch = batches;
    }
    if (!r->o->task_parallel) per_epoch *= r->n_tasks; /* task parallel: all a step */
    if (r->o->resume) {
        if (tpl_checkpoint_resume(r->o->resume, r->m, o.optim == TPL_OPT_ADAMW, &resume, err))
            return -1;
        o.resume = &resume;
        fprintf(stderr, "templar: resuming %s at step %ld\n", r->o->resume, resume.step);
    }
    if (begin_records(r, err)) {
        tpl_fit_state_free(&resume);
        return -1;
    }
    print_header(r, r->o->steps > 0 ? r->o->steps : (long)r->o->epochs * per_epoch, per_epoch);
    o.on_step = on_step;
    o.on_epoch = on_epoch;
    o.should_stop = should_stop;
    o.on_save = on_save;
    o.user = r;
    tpl_fit_report done;
    catch_stop_signals(1);
    int rc = tpl_fit(r->m, tasks, r->n_tasks, &o, &done, err);
    catch_stop_signals(0);
    tpl_fit_state_free(&resume);
    if (!rc && done.stopped) return stopped(r, &done, err);
    r->steps = done.step;
    if (rc || runlog_close(&r->log, err)) return -1;
    return trainer_save(r, err);
}

int trainer_report(trainer *r, tpl_err *err) {
    if (cli_rank() != 0) return 0; /* under mpirun, rank 0 reports (ranks.h) */
    const int batch = r->o->batch > r->o->eval_batch ? r->o->batch : r->o->eval_batch;
    double loss[TPL_MAX_TASKS], acc[TPL_MAX_TASKS], mean_loss = 0.0, mean_acc = 0.0;
    for (int t = 0; t < r->n_tasks; t++) {
        if (!r->task[t].d.labelled) {
            printf("task=%s unlabelled: no test accuracy to show\n", r->task[t].d.name);
            return 0;
        }
        if (tpl_model_evaluate(r->m, r->task[t].model_task, &r->task[t].d.test, batch, &loss[t],
                               &acc[t], err))
            return -1;
        mean_loss += loss[t];
        mean_acc += acc[t];
    }
    mean_loss /= r->n_tasks, mean_acc /= r->n_tasks;
    if (!r->multi) {
        printf("model=%s steps=%ld test_loss=%.4f test_acc=%.4f\n", r->out, r->steps, loss[0],
               acc[0]);
        return 0;
    }
    for (int t = 0; t < r->n_tasks; t++)
        printf("task=%s test_loss=%.4f test_acc=%.4f\n", r->task[t].d.name, loss[t], acc[t]);
    printf("model=%s steps=%ld mean_test_loss=%.4f mean_test_acc=%.4f test_acc=%.4f\n", r->out,
           r->steps, mean_loss, mean_acc, mean_acc);
    return 0;
}

void trainer_free(trainer *r) {
    tpl_err ignored;
    runlog_close(&r->log, &ignored);
    record_free(&r->record);
    for (int t = 0; t < r->n_tasks; t++) tpl_task_free(&r->task[t].d);
    tpl_model_free(r->m);
    memset(r, 0, sizeof *r);
}
