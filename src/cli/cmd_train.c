/* templar train: one template bank on one task (an IDX data set) or on
 * several tasks at once (--tasks); the loop is trainer.c's.  Inputs are
 * normalised with the mean and std of the union of the tasks' training
 * images.  --shared-mixture gives every task one mixture (a hard-shared
 * trunk, the baseline of per-task mixtures). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "trainer.h"

enum { N_FLAGS = 22 }; /* train's own, besides the training flags */

typedef struct train_flags {
    const char *data, *task, *tasks, *widths, *routing, *mixtures, *aggregate, *mix, *block, *size;
    int width, layers, templates, stem_stride, plain, shared, shared_head, topk, channels, expand;
    float tau, logit_noise;
    arg_spec specs[N_FLAGS + 1];
    trainer_opts o;
} train_flags;

static void defaults(train_flags *f) {
    *f = (train_flags){.data = DEFAULT_DATA, .width = 64, .layers = 8, .templates = 4,
                       .routing = "soft", .aggregate = "params", .mix = "block", .block = "basic", .expand = 6, .topk = 1, .tau = 1.0f, .logit_noise = 0.1f};
    trainer_defaults(&f->o);
    const arg_spec specs[] = {
        {"data", ARG_STR, &f->data, "IDX directory ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]); with --tasks: task fashion's", 0, 0},
        {"task", ARG_STR, &f->task, "name of the one task trained on --data (default fashion)", 0, 0},
        {"tasks", ARG_STR, &f->tasks, "several tasks on one bank, comma-separated: fashion, handwritten, optical, NAME=idx:DIR, NAME=folder:DIR or NAME=csv:FILE, each optionally followed by ,flip", 0, 0},
        {"size", ARG_STR, &f->size, "HxW every task's images are resized to (default: the first task's)", 0, 0},
        {"channels", ARG_INT, &f->channels, "1 (grey) or 3 (RGB) channels for every task (0: the first task's)", 0, 3},
        {"width", ARG_INT, &f->width, "channels of every block (isometric layout)", 1, 1024},
        {"layers", ARG_INT, &f->layers, "residual blocks L (per stage)", 1, 256},
        {"templates", ARG_INT, &f->templates, "templates K in the bank (per stage)", 1, 256},
        {"widths", ARG_STR, &f->widths, "staged layout: widths per stage, e.g. 32,64,128", 0, 0},
        {"stem-stride", ARG_INT, &f->stem_stride, "stride of the stem conv (0 = 2 for images of 24 pixels or more, else 1)", 0, 4},
        {"plain", ARG_BOOL, &f->plain, "plain ResNet baseline: K = L, fixed one-hot mixtures", 0, 1},
        {"shared-mixture", ARG_BOOL, &f->shared, "one mixture for every task: a hard-shared trunk (baseline)", 0, 1},
        {"shared-head", ARG_BOOL, &f->shared_head, "one head for every task (domains with one label set)", 0, 1},
        {"routing", ARG_STR, &f->routing, "how blocks pick templates: soft, topk (straight-through), gumbel (straight-through Gumbel-softmax) or fixed (--mixtures)", 0, 0},
        {"topk", ARG_INT, &f->topk, "templates kept per block by topk and gumbel routing", 1, 256},
        {"mixtures", ARG_STR, &f->mixtures, "file of fixed mixture weights: L x K numbers per stage, for every task (sets --routing fixed)", 0, 0},
        {"block", ARG_STR, &f->block, "the blocks: basic (two 3x3 convs, ResNet's) or inverted (MobileNetV2's inverted bottleneck: 1x1 expansion, 3x3 depthwise, 1x1 projection; its BNs' scale and shift mixed from the templates too)", 0, 0},
        {"expand", ARG_INT, &f->expand, "inverted blocks' expansion: hidden channels = expand x width", 1, 16},
        {"mix", ARG_STR, &f->mix, "how finely blocks mix their templates: block (one mixture a block), conv (one a convolution) or group:G (one per G output channels of each convolution: more freedom per task for K logits a group)", 0, 0},
        {"aggregate", ARG_STR, &f->aggregate, "params (mix the templates: one conv pair a block) or outputs (run each template, mix the results: a mixture of experts)", 0, 0},
        {"tau", ARG_FLOAT, &f->tau, "mixture softmax temperature (the start, with --tau-end)", 1e-3, 1e3},
        {"logit-noise", ARG_FLOAT, &f->logit_noise, "std of the seeded noise on the uniform logits", 0, 10},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static_assert(sizeof specs / sizeof *specs == N_FLAGS + 1, "N_FLAGS is not the table's size");
    memcpy(f->specs, specs, sizeof specs);
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
    int routing = tpl_routing_parse(f->mixtures ? "fixed" : f->routing);
    if (routing < 0 || routing == TPL_ROUTE_FIXED_ONEHOT || (routing == TPL_ROUTE_FIXED && !f->mixtures)) {
        tpl_err_set(err, "--routing: '%s' is not soft, topk, gumbel or fixed (with --mixtures)",
                    f->routing);
        return -1;
    }
    c->routing = f->plain ? TPL_ROUTE_FIXED_ONEHOT : (tpl_routing)routing;
    c->topk = f->topk;
    int agg = tpl_aggregation_parse(f->aggregate);
    if (agg < 0) {
        tpl_err_set(err, "--aggregate: '%s' is not params or outputs", f->aggregate);
        return -1;
    }
    c->aggregate = (tpl_aggregation)agg;
    int block = tpl_block_parse(f->block);
    if (block < 0) {
        tpl_err_set(err, "--block: '%s' is not basic or inverted", f->block);
        return -1;
    }
    c->block = (tpl_block_type)block;
    c->expand = f->expand;
    if (tpl_granularity_parse(f->mix, &c->mix, &c->mix_group)) {
        tpl_err_set(err, "--mix: '%s' is not block, conv or group:G (G channels, 1 to 1024)",
                    f->mix);
        return -1;
    }
    return 0;
}

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

/* --size HxW and --channels into the shape every task's images get (0:
 * the first task's). */
static int asked_shape(const train_flags *f, tpl_task_opts *o, tpl_err *err) {
    o->c = f->channels;
    if (o->c == 2) {
        tpl_err_set(err, "--channels: 2 is not 1 (grey) or 3 (RGB)");
        return -1;
    }
    if (!f->size) return 0;
    char tail;
    if (sscanf(f->size, "%dx%d%c", &o->h, &o->w, &tail) != 2 || o->h < 4 || o->w < 4 ||
        o->h > 1024 || o->w > 1024) {
        tpl_err_set(err, "--size: '%s' is not HxW with sides from 4 to 1024, e.g. 28x28", f->size);
        return -1;
    }
    return 0;
}

/* The tasks' data: --tasks (every element checked before any is read), or
 * the one task --task on --data.  Every task gets one shape: the one asked
 * for, or the first task's. */
static int load_tasks(const train_flags *f, trainer *r, tpl_err *err) {
    tpl_task_opts o;
    tpl_task_opts_default(&o);
    o.fashion_dir = f->data;
    o.progress = stderr;
    if (asked_shape(f, &o, err)) return -1;
    if (!f->tasks) {
        char spec[4096];
        snprintf(spec, sizeof spec, "%s=idx:%s", f->task ? f->task : "fashion", f->data);
        r->n_tasks = 1;
        return trainer_load_task(r, 0, spec, strlen(spec), &o, err);
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *s = f->tasks;
        for (int t = 0;; t++) {
            size_t len = tpl_task_spec_len(s);
            if (pass == 0 && bad_element(f->tasks, s, len, t, err)) return -1;
            if (pass == 1 && trainer_load_task(r, t, s, len, &o, err)) return -1;
            r->n_tasks = pass ? t + 1 : 0;
            if (pass == 1 && t == 0) { /* the others follow the first */
                const tpl_dataset *d = &r->task[0].d.train;
                o.h = d->h, o.w = d->w, o.c = d->c;
            }
            if (!s[len]) break;
            s += len + 1;
        }
    }
    return 0;
}

static int build_config(const train_flags *f, const trainer *r, tpl_config *c, tpl_err *err) {
    const tpl_dataset *train = &r->task[0].d.train, *sets[TPL_MAX_TASKS];
    tpl_config_default(c);
    c->in_channels = train->c;
    c->in_height = train->h;
    c->in_width = train->w;
    c->stem_stride = f->stem_stride ? f->stem_stride : train->h >= 24 ? 2 : 1;
    c->n_tasks = r->n_tasks;
    for (int t = 0; t < r->n_tasks; t++) {
        snprintf(c->task[t].name, TPL_NAME_LEN, "%s", r->task[t].d.name);
        c->task[t].classes = r->task[t].d.train.classes;
        sets[t] = &r->task[t].d.train;
    }
    c->tau = f->tau;
    c->shared_mixture = f->shared;
    c->shared_head = f->shared_head;
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

/* --mixtures: L x K weights per stage, in order, given to every task. */
static int load_mixtures(const char *path, tpl_model *m, tpl_err *err) {
    FILE *in = fopen(path, "r");
    if (!in) {
        tpl_err_set(err, "%s: cannot open the mixtures file", path);
        return -1;
    }
    size_t n = 0, cap = 0;
    float *w = NULL, v;
    int rc = 0;
    while (!rc && fscanf(in, "%f", &v) == 1) {
        if (n == cap && !(w = realloc(w, sizeof *w * (cap = cap ? 2 * cap : 256)))) rc = -1;
        if (!rc) w[n++] = v;
    }
    char extra;
    if (rc) tpl_err_set(err, "%s: out of memory", path);
    else if (fscanf(in, " %c", &extra) == 1) tpl_err_set(err, "%s: '%c' is not a number", path, extra), rc = -1;
    else rc = tpl_model_set_mixtures(m, w, n, path, err);
    fclose(in);
    free(w);
    return rc;
}

static int train(void *flags, trainer *r, tpl_err *err) {
    const train_flags *f = flags;
    tpl_config cfg;
    if (load_tasks(f, r, err) || build_config(f, r, &cfg, err)) return -1;
    if (!(r->m = tpl_model_create(&cfg, (uint64_t)f->o.seed, err))) return -1;
    if (f->mixtures && load_mixtures(f->mixtures, r->m, err)) return -1;
    for (int t = 0; t < r->n_tasks; t++) r->task[t].model_task = t;
    if (trainer_name_classes(r, err)) return -1;
    return trainer_run(r, err) || trainer_report(r, err) ? -1 : 0;
}

static int prepare(void *flags, trainer_opts *o, int *multi) {
    const train_flags *f = flags;
    if (f->task && f->tasks) {
        fprintf(stderr, "templar train: --task and --tasks: give one or the other\n");
        return 2;
    }
    *multi = f->tasks != NULL;
    trainer_default_out(o, NULL, f->tasks ? f->tasks : f->task ? f->task : "fashion");
    return 0;
}

static int run(int argc, char **argv) {
    train_flags f;
    defaults(&f);
    return trainer_main("train", "[flags]", argc, argv, f.specs, &f.o, prepare, train, &f);
}

const cli_command cli_command_train = {"train", 10, "train a template bank on one task or several (default: Fashion-MNIST)", run};
