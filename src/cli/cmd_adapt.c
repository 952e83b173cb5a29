/* templar adapt: an unseen, unlabelled domain met by re-mixing the modules.
 *
 *   templar adapt --from MODEL --target SPEC [--mode mixture|adabn|source|full]
 *
 * The model was trained on source domains with one shared head (train
 * --shared-head); the target becomes a new task whose mixture logits and BN
 * start where --init says: one named source, the mean of the sources', the
 * source a label-free rule picks on the target's images, or a blend of them
 * all (train.h: both, the default, confident, closest, combine;
 * docs/RESULTS.md measures them).  source evaluates that as it is; adabn
 * re-estimates the target's BN statistics on its images; mixture does that,
 * then trains the target's mixture logits and BN scale/shift (--train
 * logits: the logits alone) to make confident, class-balanced predictions
 * (information maximisation: mean prediction entropy minus --diversity
 * times the entropy of the mean prediction), and re-estimates the
 * statistics again for the final mixture; --objective
 * pseudo adds SHOT's self-training on pseudo-labels (tpl_fit_options.pseudo),
 * moments matches the first and second moments of the target's pooled
 * features to the sources' (M3SDA's), alone or with either.  Source-free,
 * the sources' moments are those their training recorded in the model file;
 * with --with-sources the sources keep training on their labelled images in
 * the same run, the bank with them, and their moments follow.  --mode full
 * trains the whole network on the objective: a ceiling, not a few bytes.
 * No target label is used for anything but the accuracy shown. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "trainer.h"
#include "model.h"
#include "names.h"

typedef struct adapt_flags {
    const char *from, *target, *mode, *data, *init, *train, *objective, *with_sources;
    float diversity, pseudo, moments;
    int bn_images, mode_index, objective_index, parts;
    arg_spec specs[13];
    trainer_opts o;
} adapt_flags;

enum { MODE_SOURCE, MODE_ADABN, MODE_MIXTURE, MODE_FULL, MODE_COUNT };
static const char *const mode_names[] = {[MODE_SOURCE] = "source",
                                         [MODE_ADABN] = "adabn",
                                         [MODE_MIXTURE] = "mixture",
                                         [MODE_FULL] = "full"};
static_assert(sizeof mode_names / sizeof *mode_names == MODE_COUNT, "a mode without a name");

/* The objectives: which of the unsupervised terms (tpl_fit_options) each
 * turns on. */
enum { OBJ_INFOMAX, OBJ_PSEUDO, OBJ_MOMENTS, OBJ_MOMENTS_INFOMAX, OBJ_MOMENTS_PSEUDO, OBJ_COUNT };
static const struct {
    const char *name;
    int infomax, pseudo, moments;
} objectives[] = {
    [OBJ_INFOMAX] = {"infomax", 1, 0, 0},
    [OBJ_PSEUDO] = {"pseudo", 1, 1, 0},
    [OBJ_MOMENTS] = {"moments", 0, 0, 1},
    [OBJ_MOMENTS_INFOMAX] = {"moments+infomax", 1, 0, 1},
    [OBJ_MOMENTS_PSEUDO] = {"moments+pseudo", 1, 1, 1},
};
static_assert(sizeof objectives / sizeof *objectives == OBJ_COUNT, "an objective without a name");

static int objective_find(const char *name) {
    for (int i = 0; i < OBJ_COUNT; i++)
        if (!strcmp(objectives[i].name, name)) return i;
    return -1;
}

static void defaults(adapt_flags *f) {
    *f = (adapt_flags){.mode = "mixture", .init = "both", .train = "logits+bn", .diversity = 1.0f,
                       .objective = "infomax", .pseudo = 0.3f, .moments = 1.0f,
                       .bn_images = 5000};
    trainer_defaults(&f->o);
    f->o.steps = 300;
    f->o.lr = 0.05f;
    f->o.flip = 0;
    const arg_spec specs[] = {
        {"from", ARG_STR, &f->from, "model trained on the source domains (train --shared-head)", 0, 0},
        {"target", ARG_STR, &f->target, "the target domain: NAME=idx:DIR, NAME=folder:DIR, NAME=csv:FILE or a built-in task; labels are not needed", 0, 0},
        {"mode", ARG_STR, &f->mode, "mixture (logits + BN statistics), adabn (BN statistics), source (neither) or full (the whole network trains on the objective: a reference ceiling, not a few bytes)", 0, 0},
        {"init", ARG_STR, &f->init, "where the target starts: both (the source with the lowest product of the next two), confident (the source whose predictions on the target are surest), closest (whose BN statistics the target's are nearest), combine (a blend of every source's mixture and BN, its weights learned on the target's images from both's pick), mean (of the sources) or a source's name", 0, 0},
        {"train", ARG_STR, &f->train, "what the target trains in mixture mode: logits (its mixture), bn (its BN scale/shift) or logits+bn (docs/RESULTS.md Table 4 measures logits and logits+bn)", 0, 0},
        {"objective", ARG_STR, &f->objective, "what mixture mode minimises: infomax (confident, class-balanced predictions), pseudo (that, plus cross-entropy against pseudo-labels from the target features' class centroids, made afresh every epoch: SHOT's self-training), moments (the target's pooled features' mean and mean square matched to the sources', M3SDA's), moments+infomax or moments+pseudo", 0, 0},
        {"moments-weight", ARG_FLOAT, &f->moments, "weight of the moment matching (--objective moments...)", 0, 1000},
        {"with-sources", ARG_STR, &f->with_sources, "the sources' labelled data, NAME=SPEC,... with the model's source names: they keep training in the same run (the bank too) and moments match their features as they go; without it adaptation is source-free", 0, 0},
        {"diversity", ARG_FLOAT, &f->diversity, "weight of the entropy of the mean prediction", 0, 100},
        {"pseudo-weight", ARG_FLOAT, &f->pseudo, "weight of the pseudo-labels' cross-entropy (--objective pseudo)", 0, 100},
        {"bn-images", ARG_INT, &f->bn_images, "target images the BN statistics are estimated on", 2, 10000000},
        {"data", ARG_STR, &f->data, "IDX directory of the built-in task fashion", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static_assert(sizeof specs == sizeof f->specs, "the table's size");
    memcpy(f->specs, specs, sizeof specs);
}

/* The target joins the model as a new task (its start: pick_start). */
static int add_target(const adapt_flags *f, const tpl_model *src, trainer *r, tpl_err *err) {
    trainer_task *k = &r->task[0];
    const tpl_config *c = &src->cfg;
    if (!c->shared_head) {
        tpl_err_set(err, "%s: the sources have a head each; adaptation needs one shared head "
                    "(train with --shared-head)", f->from);
        return -1;
    }
    tpl_task_opts o;
    trainer_task_opts(src, f->data, &o);
    o.unlabelled_ok = 1; /* labels, where there are some, only score the result */
    if (trainer_load_task(r, 0, f->target, strlen(f->target), &o, err)) return -1;
    tpl_task_config task = {.classes = c->task[0].classes};
    snprintf(task.name, TPL_NAME_LEN, "%s", k->d.name);
    if (!(r->m = tpl_model_add_task(src, &task, (uint64_t)f->o.seed, err))) return -1;
    k->model_task = c->n_tasks;
    /* one label set: the target's classes are the sources' */
    if (tpl_model_copy_class_names(r->m, k->model_task, src, 0, err)) return -1;
    r->n_tasks = 1;
    k->unlabelled = 1;
    return 0;
}

/* --with-sources names only the model's sources (before any image is read). */
static int check_sources(const adapt_flags *f, const tpl_model *src, tpl_err *err) {
    for (const char *s = f->with_sources; s;) {
        const size_t len = tpl_task_spec_len(s);
        const char *eq = memchr(s, '=', len);
        char name[TPL_NAME_LEN];
        snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - s) : len), s);
        if (tpl_model_find_task(src, name) < 0) {
            tpl_err_set(err, "--with-sources: '%s' is not a source task of %s", name, f->from);
            return -1;
        }
        s = s[len] ? s + len + 1 : NULL;
    }
    return 0;
}

/* --with-sources: each source's labelled data joins the run as its task. */
static int add_sources(const adapt_flags *f, trainer *r, tpl_err *err) {
    if (!f->with_sources) return 0;
    tpl_task_opts o;
    trainer_task_opts(r->m, f->data, &o);
    for (const char *s = f->with_sources;; r->n_tasks++) {
        const size_t len = tpl_task_spec_len(s);
        trainer_task *k = &r->task[r->n_tasks];
        if (r->n_tasks == TPL_MAX_TASKS) {
            tpl_err_set(err, "--with-sources: more than %d tasks", TPL_MAX_TASKS - 1);
            return -1;
        }
        if (trainer_load_task(r, r->n_tasks, s, len, &o, err)) return -1;
        k->model_task = tpl_model_find_task(r->m, k->d.name);
        if (k->model_task < 0 || k->model_task >= r->task[0].model_task) {
            tpl_err_set(err, "--with-sources: '%s' is not a source task of %s", k->d.name,
                        f->from);
            return -1;
        }
        if (!k->d.labelled) {
            tpl_err_set(err, "--with-sources: %s has no labels", k->d.where);
            return -1;
        }
        if (!s[len]) break;
        s += len + 1;
    }
    r->n_tasks++;
    return 0;
}

/* What trains: the target's logits (and BN scale/shift), the whole network
 * (full), and with the sources in the run, the bank and their own too. */
static void choose_trained(const adapt_flags *f, trainer *r) {
    const int joint = r->n_tasks > 1;
    tpl_model_train_only(r->m, r->task[0].model_task,
                         f->mode_index == MODE_FULL ? TPL_TRAIN_ALL
                         : joint                    ? TPL_TRAIN_REST | (unsigned)f->parts
                                                    : (unsigned)f->parts);
}

/* The objective's terms; moments match every source's. */
static void set_objective(const adapt_flags *f, trainer *r) {
    const int o = f->objective_index;
    r->unsupervised = 0; /* the target alone: task[0].unlabelled */
    r->no_infomax = !objectives[o].infomax;
    r->diversity = f->diversity;
    r->pseudo = objectives[o].pseudo ? f->pseudo : 0.0f;
    r->moments = objectives[o].moments ? f->moments : 0.0f;
    r->n_moments_from = r->task[0].model_task;
    for (int t = 0; t < r->n_moments_from; t++) r->moments_from[t] = t;
}

static int recalibrate(const adapt_flags *f, trainer *r, tpl_err *err) {
    tpl_batch b;
    if (tpl_batch_init(&b, r->m, f->o.eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    const trainer_task *k = &r->task[0];
    int rc = tpl_bn_recalibrate(r->m, k->model_task, &k->d.train, f->bn_images, &b, err);
    tpl_batch_free(&b);
    return rc;
}

static void report_bytes(const adapt_flags *f, const trainer *r, int mode) {
    const int t = r->task[0].model_task;
    const tpl_task_size z = tpl_task_bytes(r->m, t);
    const size_t trained = (f->parts & TPL_TRAIN_LOGITS ? z.logits : 0) + (f->parts & TPL_TRAIN_BN ? z.bn : 0);
    const size_t stats = z.bn_stats;
    const size_t all = tpl_params_count(&r->m->params, -1, 0) * sizeof(float) + z.logits + z.bn;
    printf("target=%s mode=%s changed_param_bytes=%zu bn_statistics_bytes=%zu%s\n",
           r->task[0].d.name, mode_names[mode],
           mode == MODE_FULL ? all : mode == MODE_MIXTURE ? trained : 0,
           mode == MODE_SOURCE ? 0 : stats,
           r->n_tasks > 1 ? " (the bank retrained with the sources)" : "");
}

/* --init names a rule or one of the sources (before any image is read). */
static int check_init(const adapt_flags *f, const tpl_model *src, tpl_err *err) {
    if (tpl_start_rule_find(f->init) >= 0 || tpl_model_find_task(src, f->init) >= 0) return 0;
    tpl_err_set(err, "--init: '%s' is not both, confident, closest, combine, mean or a source task of %s",
                f->init, f->from);
    return -1;
}

/* The target's start: a named source, or --init's rule over every source
 * (the scores printed, lower is better). */
static int pick_start(const adapt_flags *f, trainer *r, tpl_err *err) {
    const int to = r->task[0].model_task, n = to; /* the sources are the tasks before it */
    const int named = tpl_model_find_task(r->m, f->init);
    if (named >= 0 && named < to) {
        tpl_model_copy_task(r->m, named, to);
        printf("start: %s\n", f->init);
        return 0;
    }
    int sources[TPL_MAX_TASKS];
    double score[TPL_MAX_TASKS];
    for (int t = 0; t < n; t++) sources[t] = t;
    tpl_batch b;
    if (tpl_batch_init(&b, r->m, f->o.eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    const tpl_start_rule rule = (tpl_start_rule)tpl_start_rule_find(f->init);
    const int best = tpl_start_pick(r->m, sources, n, to, rule, &r->task[0].d.train,
                                    f->bn_images, &b, score, err);
    tpl_batch_free(&b);
    if (best < 0) return -1;
    printf("start: %s", tpl_start_rule_name(rule));
    if (rule == TPL_START_COMBINE) printf(" weighs");
    else if (rule != TPL_START_MEAN) printf(" picks %s", r->m->cfg.task[best].name);
    for (int t = 0; rule != TPL_START_MEAN && t < n; t++)
        printf("%s%s %.4f", t ? ", " : " (", r->m->cfg.task[t].name, score[t]);
    if (rule != TPL_START_MEAN) printf(")");
    printf("\n");
    return 0;
}

/* The target's own feature moments, from its final BN statistics. */
static int record_target(const adapt_flags *f, trainer *r, tpl_err *err) {
    tpl_batch b;
    if (tpl_batch_init(&b, r->m, f->o.eval_batch)) {
        tpl_err_set(err, "out of memory");
        return -1;
    }
    int rc = tpl_record_moments(r->m, r->task[0].model_task, &r->task[0].d.train, &b, err);
    tpl_batch_free(&b);
    return rc;
}

static int adapt(void *flags, trainer *r, tpl_err *err) {
    const adapt_flags *f = flags;
    const int mode = f->mode_index;
    tpl_model *src = tpl_model_load(f->from, err);
    int rc = !src || check_init(f, src, err) || check_sources(f, src, err) ||
             add_target(f, src, r, err) || pick_start(f, r, err);
    tpl_model_free(src);
    if (rc) return -1;
    if (mode != MODE_SOURCE && recalibrate(f, r, err)) return -1;
    if (mode == MODE_MIXTURE || mode == MODE_FULL) {
        if (add_sources(f, r, err)) return -1;
        choose_trained(f, r);
        set_objective(f, r);
        if (trainer_run(r, err) || recalibrate(f, r, err) || record_target(f, r, err)) return -1;
    }
    if (trainer_save(r, err)) return -1;
    report_bytes(f, r, mode);
    return trainer_report(r, err);
}

static int prepare(void *flags, trainer_opts *o, int *multi) {
    adapt_flags *f = flags;
    int mode = tpl_name_find(mode_names, MODE_COUNT, f->mode);
    const int parts = tpl_train_parts_parse(f->train);
    const char *usage = !f->from ? "--from MODEL is missing" : !f->target ? "--target SPEC is missing"
                      : mode < 0 ? "--mode is not mixture, adabn, source or full"
                      : parts < 0 || (parts & TPL_TRAIN_HEAD)
                          ? "--train is not logits, bn or logits+bn (the head is the sources')"
                      : objective_find(f->objective) < 0
                          ? "--objective is not infomax, pseudo, moments, moments+infomax or "
                            "moments+pseudo"
                      : f->with_sources && mode != MODE_MIXTURE && mode != MODE_FULL
                          ? "--with-sources trains: it needs --mode mixture or full"
                          : NULL;
    if (usage) {
        fprintf(stderr, "templar adapt: %s (see templar adapt --help)\n", usage);
        return 2;
    }
    f->mode_index = mode;
    f->objective_index = objective_find(f->objective);
    f->parts = parts;
    *multi = 0;
    o->protect = f->from;
    trainer_default_out(o, f->from, f->target);
    return 0;
}

static int run(int argc, char **argv) {
    adapt_flags f;
    defaults(&f);
    return trainer_main("adapt", "--from MODEL --target SPEC [flags]", argc, argv, f.specs, &f.o,
                        prepare, adapt, &f);
}

const cli_command cli_command_adapt = {"adapt", 40, "meet an unlabelled domain by re-mixing the modules (no target labels)", run};
