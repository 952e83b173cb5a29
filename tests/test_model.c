/* Whole-model behaviour on tiny networks: training lowers the loss, model
 * files round-trip bit-exactly and reject damaged copies, seeds reproduce
 * runs, the staged layout and fixed one-hot routing work, a failed save
 * leaves nothing behind, and adding a task leaves the old ones' predictions
 * bit-identical. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stripes.h"
#include "checkpoint.h"
#include "model.h"
#include "optim.h"
#include "params.h"
#include "rng.h"
#include "safetensors.h"
#include "train.h"
#include "digits.h"
#include "model.h"
#include "export.h"
#include <math.h>

#define HW 12
#define CLASSES 4
#define BATCH 16

static char tmpdir[256];

static void make_dataset(tpl_dataset *d, int n, uint64_t seed) {
    stripes_dataset(d, n, HW, CLASSES, seed);
}

static void base_config(tpl_config *cfg, const tpl_dataset *d) {
    tpl_config_default(cfg);
    cfg->in_height = cfg->in_width = HW;
    cfg->stem_stride = 1;
    cfg->n_stages = 1;
    cfg->stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 2};
    cfg->task[0].classes = CLASSES;
    snprintf(cfg->task[0].name, TPL_NAME_LEN, "quad");
    if (d) tpl_dataset_stats(d, cfg->in_mean, cfg->in_std);
}

static void sgd_config(tpl_optim_config *oc, float lr) {
    tpl_optim_config_default(oc);
    oc->kind = TPL_OPT_SGD;
    oc->lr = lr;
    oc->sched = TPL_SCHED_CONST;
    oc->weight_decay = 0.0f;
}

/* Trains `steps` steps over shuffled batches; losses[i] per step (may be NULL).
 * Returns 0, or -1 after reporting the error. */
static int train_task_steps(tpl_model *m, int task, const tpl_dataset *d, int steps, float lr,
                            uint64_t data_seed, double *losses) {
    tpl_optim_config oc;
    sgd_config(&oc, lr);
    oc.total_steps = steps;
    tpl_optim o;
    tpl_batch b;
    tpl_err err = {{0}};
    int rc = 0;
    if (tpl_optim_init(&o, &oc, m->params.numel) || tpl_batch_init(&b, m, BATCH)) {
        CHECK_MSG(0, "out of memory");
        return -1;
    }
    int *perm = malloc(sizeof(int) * d->n);
    for (int i = 0; i < d->n; i++) perm[i] = i;
    tpl_rng rng;
    tpl_rng_seed(&rng, data_seed);
    int per_epoch = d->n / BATCH, pos = per_epoch;
    tpl_augment aug = {.pad = 1, .flip = 0};
    for (int s = 0; s < steps; s++) {
        if (pos == per_epoch) {
            tpl_shuffle(perm, d->n, &rng);
            pos = 0;
        }
        tpl_step_result r;
        const tpl_step_opts so = {.aug = &aug};
        if (tpl_train_step(m, &o, task, d, perm + pos * BATCH, BATCH, &so, &rng, &b, &r, &err)) {
            CHECK_MSG(0, "train step %d: %s", s, err.msg);
            rc = -1;
            break;
        }
        pos++;
        if (losses) losses[s] = r.loss;
    }
    free(perm);
    tpl_batch_free(&b);
    tpl_optim_free(&o);
    return rc;
}

static int train_steps(tpl_model *m, const tpl_dataset *d, int steps, float lr,
                       uint64_t data_seed, double *losses) {
    return train_task_steps(m, 0, d, steps, lr, data_seed, losses);
}

static int views_equal(const tpl_params *a, const tpl_params *b) {
    return a->numel == b->numel && a->n_views == b->n_views &&
           memcmp(a->data, b->data, sizeof(float) * a->numel) == 0;
}

/* Eval-mode logits of task t on the first n images of d. */
static float *eval_task_logits(tpl_model *m, int t, const tpl_dataset *d, int n) {
    float *x = malloc(sizeof(float) * (size_t)n * HW * HW);
    float *logits = malloc(sizeof(float) * (size_t)n * m->cfg.task[t].classes);
    int *idx = malloc(sizeof(int) * n), *y = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) idx[i] = i;
    tpl_batch_fill(d, idx, n, m->cfg.in_mean, m->cfg.in_std, NULL, NULL, x, y);
    tpl_err err = {{0}};
    int rc = tpl_model_forward(m, t, x, n, 0, logits, &err);
    CHECK_MSG(rc == 0, "forward: %s", err.msg);
    free(x), free(idx), free(y);
    return logits;
}

static float *eval_logits(tpl_model *m, const tpl_dataset *d, int n) {
    return eval_task_logits(m, 0, d, n);
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* ---- 1. training lowers the loss ---------------------------------------- */
static void test_loss_falls(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 11, &err);
    CHECK_MSG(m != NULL, "create: %s", err.msg);
    if (!m) return;
    enum { STEPS = 60 };
    double loss[STEPS];
    if (train_steps(m, d, STEPS, 0.05f, 5, loss) == 0) {
        double first = 0.0, last = 0.0;
        for (int i = 0; i < 10; i++) first += loss[i] / 10, last += loss[STEPS - 10 + i] / 10;
        printf("  loss: first 10 steps %.4f, last 10 steps %.4f\n", first, last);
        CHECK_MSG(last < 0.6 * first, "loss did not fall: first 10 %.4f, last 10 %.4f", first,
                  last);
        CHECK_MSG(last < 0.7 * log((double)CLASSES),
                  "last-10 loss %.4f not below 0.7 ln(%d) = %.4f", last, CLASSES,
                  0.7 * log((double)CLASSES));
    }
    /* the trained model also classifies held-out-ish data well */
    tpl_dataset test;
    make_dataset(&test, 64, 999);
    tpl_batch b;
    tpl_step_result r;
    if (tpl_batch_init(&b, m, 32) == 0) {
        int rc = tpl_evaluate(m, 0, &test, &b, &r, NULL, &err);
        CHECK_MSG(rc == 0, "evaluate: %s", err.msg);
        if (rc == 0) printf("  held-out accuracy %d/%d\n", r.correct, r.n);
        if (rc == 0)
            CHECK_MSG(r.correct >= (int)(0.6 * r.n), "test accuracy %d/%d after training",
                      r.correct, r.n);
    }
    tpl_batch_free(&b);
    tpl_dataset_free(&test);
    tpl_model_free(m);
}

/* ---- 2. model files round-trip bit-exactly ------------------------------ */
static void test_roundtrip(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    cfg.tau = 0.7f;
    cfg.logit_noise = 0.3f;
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 21, &err);
    CHECK_MSG(m != NULL, "create: %s", err.msg);
    if (!m) return;
    train_steps(m, d, 4, 0.05f, 3, NULL); /* non-trivial running stats and logits */
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    tpl_st_kv extra[] = {{"note", "round trip"}};
    int rc = tpl_model_save_with(m, path, extra, 1, &err);
    CHECK_MSG(rc == 0, "save: %s", err.msg);
    tpl_model *l = tpl_model_load(path, &err);
    CHECK_MSG(l != NULL, "load: %s", err.msg);
    if (l) {
        const tpl_config *a = &m->cfg, *c = &l->cfg;
        CHECK(a->in_channels == c->in_channels && a->in_height == c->in_height &&
              a->in_width == c->in_width && a->stem_stride == c->stem_stride);
        CHECK(a->n_stages == c->n_stages);
        for (int s = 0; s < a->n_stages && s < c->n_stages; s++)
            CHECK(a->stage[s].width == c->stage[s].width &&
                  a->stage[s].layers == c->stage[s].layers &&
                  a->stage[s].templates == c->stage[s].templates);
        CHECK(a->n_tasks == c->n_tasks);
        for (int t = 0; t < a->n_tasks && t < c->n_tasks; t++)
            CHECK(!strcmp(a->task[t].name, c->task[t].name) &&
                  a->task[t].classes == c->task[t].classes);
        CHECK(a->routing == c->routing);
        CHECK(a->tau == c->tau && a->logit_noise == c->logit_noise);
        CHECK(memcmp(a->in_mean, c->in_mean, sizeof(float) * a->in_channels) == 0);
        CHECK(memcmp(a->in_std, c->in_std, sizeof(float) * a->in_channels) == 0);
        const tpl_params *p = &m->params, *q = &l->params;
        CHECK(p->n_views == q->n_views && p->numel == q->numel);
        int bad = 0;
        for (int i = 0; i < p->n_views && i < q->n_views; i++) {
            const tpl_view *u = &p->views[i];
            int j = tpl_params_find(q, u->name);
            if (j < 0) {
                CHECK_MSG(0, "view '%s' missing after load", u->name);
                continue;
            }
            const tpl_view *v = &q->views[j];
            int same = u->numel == v->numel && u->ndim == v->ndim &&
                       !memcmp(u->shape, v->shape, sizeof(int64_t) * u->ndim) &&
                       u->kind == v->kind && u->task == v->task && u->trainable == v->trainable &&
                       !memcmp(tpl_params_data(p, i), tpl_params_data(q, j),
                               sizeof(float) * u->numel);
            if (!same && bad++ < 3) fprintf(stderr, "  view '%s' differs after load\n", u->name);
        }
        CHECK_MSG(bad == 0, "%d views differ after load", bad);
        float *la = eval_logits(m, d, 24), *lb = eval_logits(l, d, 24);
        CHECK_MSG(memcmp(la, lb, sizeof(float) * 24 * CLASSES) == 0,
                  "eval logits differ after load");
        free(la), free(lb);
        /* a second save of the loaded model gives the same file */
        char path2[512];
        snprintf(path2, sizeof path2, "%s/rt2.safetensors", tmpdir);
        CHECK(tpl_model_save_with(l, path2, extra, 1, &err) == 0);
        size_t n1 = 0, n2 = 0;
        unsigned char *b1 = read_bytes(path, &n1), *b2 = read_bytes(path2, &n2);
        CHECK_MSG(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "re-saved file differs");
        free(b1), free(b2);
        unlink(path2);
        tpl_model_free(l);
    }
    unlink(path);
    tpl_model_free(m);
}

/* ---- 3. seeds reproduce runs -------------------------------------------- */
static void test_seeds(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    tpl_err err = {{0}};
    tpl_model *a = tpl_model_create(&cfg, 5, &err), *b = tpl_model_create(&cfg, 5, &err),
              *c = tpl_model_create(&cfg, 6, &err);
    CHECK_MSG(a && b && c, "create: %s", err.msg);
    if (a && b && c) {
        CHECK_MSG(views_equal(&a->params, &b->params), "same seed, different initial weights");
        CHECK_MSG(!views_equal(&a->params, &c->params), "different seeds, same initial weights");
        /* every kind of randomly initialised view differs between seeds */
        int bank = a->stage[0].bank;
        CHECK(memcmp(tpl_params_data(&a->params, bank), tpl_params_data(&c->params, bank),
                     sizeof(float) * a->params.views[bank].numel) != 0);
        train_steps(a, d, 8, 0.05f, 77, NULL);
        train_steps(b, d, 8, 0.05f, 77, NULL);
        CHECK_MSG(views_equal(&a->params, &b->params), "same seed and data order, different "
                  "weights after 8 steps");
        train_steps(c, d, 8, 0.05f, 77, NULL);
        CHECK(!views_equal(&a->params, &c->params));
    }
    tpl_model_free(a), tpl_model_free(b), tpl_model_free(c);
}

/* ---- 4. damaged model files fail cleanly -------------------------------- */
static void expect_load_fails(const char *path, const char *what, const char *must_contain) {
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(path, &err);
    CHECK_MSG(m == NULL, "%s: loaded", what);
    CHECK_MSG(err.msg[0] != 0, "%s: no error message", what);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s: message '%s' does not name the file", what,
              err.msg);
    if (must_contain)
        CHECK_MSG(strstr(err.msg, must_contain) != NULL, "%s: message '%s' lacks '%s'", what,
                  err.msg, must_contain);
    tpl_model_free(m);
}

static void test_damaged(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 31, &err);
    CHECK_MSG(m != NULL, "create: %s", err.msg);
    if (!m) return;
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/good.safetensors", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", tmpdir);
    CHECK(tpl_model_save(m, good, &err) == 0);
    size_t n = 0;
    unsigned char *bytes = read_bytes(good, &n);
    CHECK(bytes && n > 1000);
    if (!bytes || n <= 1000) {
        free(bytes);
        tpl_model_free(m);
        return;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | bytes[i];
    size_t cuts[] = {0, 7, 8, 100, (size_t)(8 + hl), (size_t)(8 + hl + 1), n / 2, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu", cuts[i], n);
        CHECK(write_bytes(bad, bytes, cuts[i]) == 0);
        expect_load_fails(bad, what, NULL);
    }
    /* trailing garbage after the data: tolerated or refused, but no crash,
     * and when refused the message names the file */
    {
        unsigned char *longer = malloc(n + 3);
        memcpy(longer, bytes, n);
        memcpy(longer + n, "xyz", 3);
        CHECK(write_bytes(bad, longer, n + 3) == 0);
        tpl_model *l = tpl_model_load(bad, &err);
        if (!l) CHECK_MSG(strstr(err.msg, bad) != NULL, "trailing bytes: '%s'", err.msg);
        tpl_model_free(l);
        free(longer);
    }

    /* NaN in a tensor: the last 4 bytes are the last float of the last tensor */
    unsigned char *nan = malloc(n);
    memcpy(nan, bytes, n);
    const unsigned char qnan[4] = {0x00, 0x00, 0xc0, 0x7f};
    memcpy(nan + n - 4, qnan, 4);
    CHECK(write_bytes(bad, nan, n) == 0);
    expect_load_fails(bad, "NaN in the last tensor", "NaN");
    /* NaN in the first tensor's data */
    memcpy(nan, bytes, n);
    memcpy(nan + 8 + hl, qnan, 4);
    CHECK(write_bytes(bad, nan, n) == 0);
    expect_load_fails(bad, "NaN in the first tensor", "NaN");
    /* infinity */
    const unsigned char inf[4] = {0x00, 0x00, 0x80, 0xff};
    memcpy(nan, bytes, n);
    memcpy(nan + n - 4, inf, 4);
    CHECK(write_bytes(bad, nan, n) == 0);
    expect_load_fails(bad, "-inf in a tensor", NULL);
    free(nan);

    /* valid safetensors without the templar metadata */
    float w[4] = {1, 2, 3, 4};
    tpl_st_tensor t = {.name = "x", .ndim = 1, .shape = {4}, .data = w};
    tpl_st_kv meta[] = {{"input", "1x12x12"}};
    CHECK(tpl_st_write(bad, &t, 1, meta, 1, &err) == 0);
    expect_load_fails(bad, "no 'format' metadata", "format");
    CHECK(tpl_st_write(bad, &t, 1, NULL, 0, &err) == 0);
    expect_load_fails(bad, "no metadata at all", "metadata");
    /* right metadata, wrong format value */
    {
        char *hdr = malloc(hl + 1);
        memcpy(hdr, bytes + 8, hl);
        hdr[hl] = 0;
        char *f = strstr(hdr, "templar-1");
        CHECK(f != NULL);
        if (f) {
            f[8] = '9'; /* templar-9: same length, so offsets still hold */
            unsigned char *copy = malloc(n);
            memcpy(copy, bytes, n);
            memcpy(copy + 8, hdr, hl);
            CHECK(write_bytes(bad, copy, n) == 0);
            expect_load_fails(bad, "format templar-9", "format");
            free(copy);
        }
        free(hdr);
    }
    /* a file that does not exist */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.safetensors", tmpdir);
    expect_load_fails(missing, "missing file", NULL);
    /* the good file still loads */
    tpl_model *l = tpl_model_load(good, &err);
    CHECK_MSG(l != NULL, "good file: %s", err.msg);
    tpl_model_free(l);
    unlink(good);
    unlink(bad);
    free(bytes);
    tpl_model_free(m);
}

/* ---- 5. staged layout; fixed one-hot routing ---------------------------- */
static void test_staged_and_onehot(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    cfg.n_stages = 2;
    cfg.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 2};
    cfg.stage[1] = (tpl_stage_config){.width = 32, .layers = 2, .templates = 2};
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 41, &err);
    CHECK_MSG(m != NULL, "staged create: %s", err.msg);
    if (m) {
        CHECK(m->stage[1].h == HW / 2 && m->stage[1].w == HW / 2);
        CHECK(m->stage[1].trans_w >= 0 && m->stage[0].trans_w == -1);
        double loss[6];
        if (train_steps(m, d, 6, 0.05f, 9, loss) == 0) {
            int finite = 1;
            for (int i = 0; i < 6; i++) finite &= isfinite(loss[i]) && loss[i] > 0;
            CHECK_MSG(finite, "staged: non-finite loss");
        }
        int all_finite = 1;
        for (size_t i = 0; i < m->params.numel; i++) all_finite &= isfinite(m->params.data[i]);
        CHECK_MSG(all_finite, "staged: non-finite weights after training");
        float *lg = eval_logits(m, d, 8);
        int ok = 1;
        for (int i = 0; i < 8 * CLASSES; i++) ok &= isfinite(lg[i]);
        CHECK_MSG(ok, "staged: non-finite eval logits");
        free(lg);
        /* staged files round-trip too */
        char path[512];
        snprintf(path, sizeof path, "%s/staged.safetensors", tmpdir);
        CHECK(tpl_model_save(m, path, &err) == 0);
        tpl_model *l = tpl_model_load(path, &err);
        CHECK_MSG(l != NULL, "staged load: %s", err.msg);
        if (l) {
            CHECK(l->cfg.n_stages == 2 && l->cfg.stage[1].width == 32);
            CHECK(views_equal(&m->params, &l->params));
        }
        tpl_model_free(l);
        unlink(path);
        tpl_model_free(m);
    }

    /* fixed one-hot: templates == layers gives block l template l */
    base_config(&cfg, d);
    cfg.routing = TPL_ROUTE_FIXED_ONEHOT;
    cfg.stage[0] = (tpl_stage_config){.width = 16, .layers = 3, .templates = 3};
    m = tpl_model_create(&cfg, 43, &err);
    CHECK_MSG(m != NULL, "one-hot create: %s", err.msg);
    if (!m) return;
    float a[9];
    tpl_model_mixture(m, 0, 0, a);
    int onehot = 1;
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 3; k++) onehot &= a[l * 3 + k] == (l == k ? 1.0f : 0.0f);
    CHECK_MSG(onehot, "fixed one-hot mixture is not the identity");
    int logits_views = 0, frozen = 1;
    for (int i = 0; i < m->params.n_views; i++)
        if (m->params.views[i].kind == TPL_KIND_LOGITS) {
            logits_views++;
            frozen &= !m->params.views[i].trainable;
        }
    CHECK(logits_views == 1);
    CHECK_MSG(frozen, "fixed one-hot: mixture logits are trainable");
    int lv = m->task[0].stage[0].logits;
    size_t ln = m->params.views[lv].numel;
    float *before = malloc(sizeof(float) * ln);
    memcpy(before, tpl_params_data(&m->params, lv), sizeof(float) * ln);
    train_steps(m, d, 3, 0.05f, 1, NULL);
    CHECK_MSG(!memcmp(before, tpl_params_data(&m->params, lv), sizeof(float) * ln),
              "fixed one-hot: training changed the mixture logits");
    tpl_model_mixture(m, 0, 0, a);
    onehot = 1;
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 3; k++) onehot &= a[l * 3 + k] == (l == k ? 1.0f : 0.0f);
    CHECK_MSG(onehot, "fixed one-hot mixture changed after training");
    free(before);
    /* routing survives a round trip */
    char path[512];
    snprintf(path, sizeof path, "%s/onehot.safetensors", tmpdir);
    CHECK(tpl_model_save(m, path, &err) == 0);
    tpl_model *l = tpl_model_load(path, &err);
    CHECK_MSG(l != NULL, "one-hot load: %s", err.msg);
    if (l) {
        CHECK(l->cfg.routing == TPL_ROUTE_FIXED_ONEHOT);
        CHECK(!l->params.views[l->task[0].stage[0].logits].trainable);
    }
    tpl_model_free(l);
    unlink(path);
    tpl_model_free(m);

    /* one-hot with fewer templates than layers is rejected */
    cfg.stage[0].templates = 2;
    m = tpl_model_create(&cfg, 43, &err);
    CHECK(m == NULL && err.msg[0]);
    tpl_model_free(m);
}

/* ---- 6. a failed save leaves nothing ------------------------------------ */
static void test_failed_save(void) {
    tpl_config cfg;
    base_config(&cfg, NULL);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 51, &err);
    CHECK_MSG(m != NULL, "create: %s", err.msg);
    if (!m) return;
    int before = dir_entries(tmpdir);
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/no-such-dir", tmpdir);
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    err.msg[0] = 0;
    CHECK(tpl_model_save(m, path, &err) != 0);
    CHECK_MSG(err.msg[0] && strstr(err.msg, path), "save error '%s' does not name the path",
              err.msg);
    CHECK(!file_exists(path) && !file_exists(dir));
    CHECK(dir_entries(tmpdir) == before);
    /* saving over a directory fails and leaves no temporary file */
    snprintf(dir, sizeof dir, "%s/a-dir", tmpdir);
    CHECK(mkdir(dir, 0755) == 0);
    err.msg[0] = 0;
    CHECK(tpl_model_save(m, dir, &err) != 0);
    CHECK(err.msg[0] != 0);
    CHECK_MSG(dir_entries(tmpdir) == before + 1, "a temporary file was left in %s", tmpdir);
    CHECK(dir_entries(dir) == 0);
    rmdir(dir);
    tpl_model_free(m);
}

/* ---- transfer: a new task never changes an old one ---------------------- */
static void test_transfer(const tpl_dataset *d) {
    tpl_config cfg;
    base_config(&cfg, d);
    cfg.n_tasks = 2;
    cfg.task[1] = (tpl_task_config){.name = "second", .classes = CLASSES};
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&cfg, 5, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m || train_task_steps(m, 0, d, 12, 0.05f, 1, NULL) ||
        train_task_steps(m, 1, d, 8, 0.05f, 2, NULL)) {
        tpl_model_free(m);
        return;
    }
    float *before[2] = {eval_task_logits(m, 0, d, 32), eval_task_logits(m, 1, d, 32)};
    const tpl_task_config added = {.name = "new", .classes = CLASSES};
    tpl_model *t = tpl_model_add_task(m, &added, 9, &err);
    CHECK_MSG(t != NULL, "add task: %s", err.msg);
    if (t) {
        CHECK(t->cfg.n_tasks == 3 && !strcmp(t->cfg.task[2].name, "new"));
        int copied = 1; /* every old tensor, bit for bit */
        for (int i = 0; i < m->params.n_views; i++) {
            int j = tpl_params_find(&t->params, m->params.views[i].name);
            copied &= j >= 0 && !memcmp(tpl_params_data(&m->params, i),
                                        tpl_params_data(&t->params, j),
                                        m->params.views[i].numel * sizeof(float));
        }
        CHECK(copied);
        tpl_model_copy_task(t, 0, 2);
        const tpl_task_params *t0 = &t->task[0], *t2 = &t->task[2];
        CHECK(!memcmp(tpl_params_data(&t->params, t0->stage[0].bn.var),
                      tpl_params_data(&t->params, t2->stage[0].bn.var),
                      t->params.views[t0->stage[0].bn.var].numel * sizeof(float)));
        tpl_model_train_only(t, 2, TPL_TRAIN_MIXTURE);
        int flags_ok = 1;
        for (int i = 0; i < t->params.n_views; i++) {
            const tpl_view *v = &t->params.views[i];
            flags_ok &= v->trainable == (v->task == 2 && !tpl_kind_is_state(v->kind));
        }
        CHECK(flags_ok);
        /* a subset: logits and head, the BN scale/shift frozen */
        tpl_model_train_only(t, 2, (unsigned)tpl_train_parts_parse("logits+head"));
        for (int i = 0; i < t->params.n_views; i++) {
            const tpl_view *v = &t->params.views[i];
            const int bn = v->kind == TPL_KIND_BN_SCALE || v->kind == TPL_KIND_BN_SHIFT;
            flags_ok &= v->trainable == (v->task == 2 && !tpl_kind_is_state(v->kind) && !bn);
        }
        CHECK(flags_ok);
        CHECK(tpl_train_parts_parse("bn") == TPL_TRAIN_BN &&
              tpl_train_parts_parse("head+logits+bn") == TPL_TRAIN_MIXTURE);
        CHECK(tpl_train_parts_parse("") < 0 && tpl_train_parts_parse("logits+") < 0 &&
              tpl_train_parts_parse("logits++bn") < 0 && tpl_train_parts_parse("log") < 0 &&
              tpl_train_parts_parse("logitsx") < 0);
        tpl_model_train_only(t, 2, TPL_TRAIN_MIXTURE);
        float *logits0 = malloc(t->params.views[t2->stage[0].logits].numel * sizeof(float));
        memcpy(logits0, tpl_params_data(&t->params, t2->stage[0].logits),
               t->params.views[t2->stage[0].logits].numel * sizeof(float));
        train_task_steps(t, 2, d, 10, 0.05f, 3, NULL);
        CHECK_MSG(memcmp(logits0, tpl_params_data(&t->params, t2->stage[0].logits),
                         t->params.views[t2->stage[0].logits].numel * sizeof(float)) != 0,
                  "the new task's mixture did not train");
        for (int k = 0; k < 2; k++) {
            float *after = eval_task_logits(t, k, d, 32);
            CHECK_MSG(!memcmp(before[k], after, sizeof(float) * 32 * CLASSES),
                      "task %d predicts differently after a task was added", k);
            free(after);
        }
        double score[3];
        int best = tpl_closest_task(t, 2, d, 64, score, &err);
        CHECK_MSG(best == 0 || best == 1, "closest task: %d (%s)", best, err.msg);
        CHECK(score[0] >= 0.0 && score[0] <= 1.0 && score[1] >= 0.0 && score[1] <= 1.0);
        free(logits0);
    }
    free(before[0]), free(before[1]);
    tpl_model_free(t);
    tpl_model_free(m);
}

/* ---- export: one task baked and BN folded, the same logits ------------- */
static void check_export(tpl_model *m, int task, const tpl_dataset *d, const char *what) {
    tpl_err err = {{0}};
    tpl_model *e = tpl_model_export(m, task, &err);
    CHECK_MSG(e != NULL, "%s: export: %s", what, err.msg);
    if (!e) return;
    CHECK(e->cfg.n_tasks == 1 && e->cfg.routing == TPL_ROUTE_FIXED_ONEHOT &&
          e->cfg.stage[0].templates == e->cfg.stage[0].layers);
    float *a = eval_task_logits(m, task, d, 32), *b = eval_task_logits(e, 0, d, 32);
    double worst = 0.0;
    for (int i = 0; i < 32 * CLASSES; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    CHECK_MSG(worst <= 1e-5, "%s: exported logits differ by %g", what, worst);
    /* the plain file: ordinary convolutions and biases, read back the same */
    char path[512];
    snprintf(path, sizeof path, "%s/plain.safetensors", tmpdir);
    CHECK_MSG(tpl_model_save_plain(e, path, NULL, 0, &err) == 0, "%s: plain save: %s", what, err.msg);
    tpl_model *back = tpl_model_load(path, &err);
    CHECK_MSG(back != NULL, "%s: plain load: %s", what, err.msg);
    if (back) {
        float *c = eval_task_logits(back, 0, d, 32);
        CHECK_MSG(!memcmp(b, c, sizeof(float) * 32 * CLASSES), "%s: the plain file's logits differ",
                  what);
        free(c);
        tpl_model_free(back);
    }
    unlink(path);
    free(a), free(b);
    tpl_model_free(e);
}

/* Two tasks on the base network (isometric), or on it plus a second stage
 * of width 32 (staged). */
static void two_task_config(tpl_config *cfg, const tpl_dataset *d, int staged) {
    base_config(cfg, d);
    cfg->n_tasks = 2;
    cfg->task[1] = (tpl_task_config){.name = "second", .classes = CLASSES};
    cfg->n_stages = 1 + staged;
    cfg->stage[1] = (tpl_stage_config){.width = 32, .layers = 2, .templates = 3};
}

static void test_export(const tpl_dataset *d) {
    for (int kind = 0; kind < TPL_BLOCK_COUNT; kind++)
        for (int staged = 0; staged < 2; staged++) {
            tpl_config cfg;
            two_task_config(&cfg, d, staged);
            cfg.block = (tpl_block_type)kind, cfg.expand = 3;
            tpl_err err = {{0}};
            tpl_model *m = tpl_model_create(&cfg, 13, &err);
            CHECK_MSG(m != NULL, "%s", err.msg);
            char what[48];
            snprintf(what, sizeof what, "%s, %s", staged ? "staged" : "isometric",
                     tpl_block_name(cfg.block));
            /* trained, so BN statistics and mixtures are far from their start */
            if (m && !train_task_steps(m, 1, d, 10, 0.05f, 4, NULL)) check_export(m, 1, d, what);
            tpl_model_free(m);
        }
}

/* ---- small-batch eval through winograd.c ----------------------------------
 * Batches under 16 run the blocks' convs as winograd.c's F(4x4, 3x3) with the
 * BNs fused; their logits must match the oneDNN path's, for both layouts,
 * for each task, and again after the parameters change (the transformed
 * weights are cached per parameter version and task: round r checks task r
 * first, whose weights the cache holds from the round before). */
static void check_winograd_logits(tpl_model *m, const tpl_dataset *d, int first,
                                  const char *what) {
    for (int i = 0; i < m->cfg.n_tasks; i++) {
        const int t = (first + i) % m->cfg.n_tasks;
        m->winograd = 0;
        float *ref = eval_task_logits(m, t, d, 5);
        m->winograd = 1;
        float *got = eval_task_logits(m, t, d, 5);
        double worst = 0.0;
        for (int j = 0; j < 5 * CLASSES; j++)
            worst = fmax(worst, fabs(ref[j] - got[j]) / fmax(1.0, fabs(ref[j])));
        CHECK_MSG(worst <= 1e-5, "%s, task %d: winograd logits differ by %g", what, t, worst);
        free(ref), free(got);
    }
    for (int s = 0; s < m->cfg.n_stages; s++)
        CHECK_MSG(m->mixing.kind_state[s] != NULL, "%s: stage %d did not use winograd", what, s);
}

/* Every BN far from identity (a short training leaves the blocks' last BN
 * scales near their zero start, which would hide the branches' convs). */
static void randomise_bns(tpl_model *m, uint64_t seed) {
    tpl_rng r;
    tpl_rng_seed(&r, seed);
    for (int v = 0; v < m->params.n_views; v++) {
        const tpl_kind k = m->params.views[v].kind;
        float *x = tpl_params_data(&m->params, v);
        for (size_t i = 0; i < m->params.views[v].numel; i++) {
            if (k == TPL_KIND_BN_SCALE || k == TPL_KIND_BN_VAR)
                x[i] = 0.5f + tpl_rng_uniform(&r);
            else if (k == TPL_KIND_BN_SHIFT || k == TPL_KIND_BN_MEAN)
                x[i] = 0.2f * tpl_rng_normal(&r);
        }
    }
    tpl_model_params_changed(m);
}

static void test_winograd_eval(const tpl_dataset *d) {
    for (int staged = 0; staged < 2; staged++) {
        const char *what = staged ? "staged" : "isometric";
        tpl_config cfg;
        two_task_config(&cfg, d, staged);
        tpl_err err = {{0}};
        tpl_model *m = tpl_model_create(&cfg, 17, &err);
        CHECK_MSG(m != NULL, "%s", err.msg);
        if (!m) continue;
        for (int round = 0; round < 2; round++) { /* trained, then trained further */
            if (train_task_steps(m, round, d, 5, 0.05f, 6, NULL)) break;
            randomise_bns(m, 40 + round);
            check_winograd_logits(m, d, round, what);
        }
        tpl_model_free(m);
    }
}

/* ---- a few labels per class ----------------------------------------------- */
static void test_per_class(const tpl_dataset *d) {
    tpl_dataset a, b;
    tpl_err err = {{0}};
    CHECK(tpl_dataset_per_class(d, 3, 11, &a, &err) == 0);
    CHECK(tpl_dataset_per_class(d, 3, 11, &b, &err) == 0);
    int count[CLASSES] = {0};
    for (int i = 0; i < a.n; i++) count[a.labels[i]]++;
    CHECK(a.n == 3 * CLASSES && count[0] == 3 && count[CLASSES - 1] == 3);
    CHECK(a.n == b.n && !memcmp(a.pixels, b.pixels, (size_t)a.n * HW * HW));
    tpl_dataset_free(&b);
    CHECK(tpl_dataset_per_class(d, 1000, 11, &b, &err) == 0 && b.n == d->n);
    tpl_dataset_free(&b);
    CHECK(tpl_dataset_per_class(d, 0, 11, &b, &err) == -1 && strstr(err.msg, "per-class"));
    tpl_dataset_free(&a);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
#define TIMED(call)                                                        \
    do {                                                                   \
        double t0_ = now_s();                                              \
        call;                                                              \
        printf("  %-32s %.2f s\n", #call, now_s() - t0_);                 \
    } while (0)

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_model.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    tpl_dataset d;
    make_dataset(&d, 128, 2024);
    TIMED(test_loss_falls(&d));
    TIMED(test_roundtrip(&d));
    TIMED(test_seeds(&d));
    TIMED(test_damaged(&d));
    TIMED(test_staged_and_onehot(&d));
    TIMED(test_failed_save());
    TIMED(test_transfer(&d));
    TIMED(test_per_class(&d));
    TIMED(test_export(&d));
    TIMED(test_winograd_eval(&d));
    tpl_dataset_free(&d);
    CHECK_MSG(dir_entries(tmpdir) == 0, "files left in %s", tmpdir);
    rmdir(tmpdir);
    return check_summary("test_model");
}
