/* What protects a run from bad inputs and bad runs: the layout listing that
 * model files are checked against before anything is allocated, the memory
 * estimate and limit, refusals of invalid or overflowing models, the
 * divergence detector, and the removal of stale temporary files. */
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "diverge.h"
#include "fileio.h"
#include "layout.h"
#include "model.h"
#include "workspace.h"

static char dir[64];

static void path_in(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static void small_config(tpl_config *c) {
    tpl_config_default(c);
    c->in_height = c->in_width = 8;
    c->stem_stride = 1;
    c->stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 3};
    c->n_tasks = 2;
    c->task[1] = (tpl_task_config){.name = "other", .classes = 3};
}

/* ---- the layout listing is the declaration ------------------------------ */

typedef struct listing {
    const tpl_params *p;
    int n, bad;
} listing;

static int compare_view(void *ctx, const char *name, tpl_kind kind, int task, int ndim,
                        const int64_t *shape) {
    listing *l = ctx;
    const tpl_view *v = l->n < l->p->n_views ? &l->p->views[l->n] : NULL;
    if (!v || strcmp(v->name, name) || v->kind != kind || v->task != task || v->ndim != ndim ||
        memcmp(v->shape, shape, sizeof(int64_t) * (size_t)ndim)) {
        if (!l->bad++) fprintf(stderr, "  view %d '%s' differs from the model's\n", l->n, name);
    }
    return l->n++;
}

static void test_layout_list(void) {
    for (int variant = 0; variant < 4; variant++) {
        tpl_config c;
        small_config(&c);
        if (variant == 1) {
            c.n_stages = 2;
            c.stage[1] = (tpl_stage_config){.width = 32, .layers = 1, .templates = 2};
        }
        if (variant == 2) c.shared_mixture = c.shared_head = 1, c.task[1].classes = 10;
        if (variant == 3) c.aggregate = TPL_AGG_OUTPUTS;
        tpl_err err = {{0}};
        tpl_model *m = tpl_model_create(&c, 1, &err);
        CHECK_MSG(m, "%s", err.msg);
        if (!m) continue;
        listing l = {&m->params, 0, 0};
        CHECK(tpl_layout_list(&c, compare_view, &l) == 0);
        CHECK_MSG(!l.bad && l.n == m->params.n_views, "variant %d: %d views listed, %d declared",
                  variant, l.n, m->params.n_views);
        tpl_model_free(m);
    }
}

/* ---- memory: the estimate, the limit ------------------------------------ */

static void test_memory_estimate(void) {
    tpl_config c;
    small_config(&c);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&c, 1, &err);
    CHECK_MSG(m, "%s", err.msg);
    if (!m) return;
    tpl_memory eval, train, adam, big;
    CHECK(tpl_memory_estimate(&c, 8, 0, TPL_OPT_SGD, &eval, &err) == 0);
    CHECK(tpl_memory_estimate(&c, 8, 1, TPL_OPT_SGD, &train, &err) == 0);
    CHECK(tpl_memory_estimate(&c, 8, 1, TPL_OPT_ADAMW, &adam, &err) == 0);
    CHECK(tpl_memory_estimate(&c, 64, 1, TPL_OPT_SGD, &big, &err) == 0);
    /* the parts the model allocates at creation, exactly */
    CHECK(eval.params == 2 * sizeof(float) * m->params.numel);
    CHECK(eval.mixing == sizeof(float) * (m->mixing.mixed_numel + 2 * m->mixing.mix_numel));
    CHECK(eval.optimiser == 0 && train.optimiser == sizeof(float) * m->params.numel);
    CHECK(adam.optimiser == 2 * train.optimiser);
    CHECK(train.activations > eval.activations && big.activations > 4 * train.activations);
    CHECK(train.total == train.params + train.optimiser + train.mixing + train.convs +
                             train.activations);
    /* the arena the model lays out is the one counted */
    float x[8 * 64], logits[8 * 10];
    for (int i = 0; i < 8 * 64; i++) x[i] = (float)(i % 7) - 3.0f;
    CHECK(tpl_model_forward(m, 0, x, 8, 1, logits, &err) == 0);
    CHECK(m->ws->cap == 8 && tpl_ws_floats(m, 8, 1) > 0);
    tpl_model_free(m);
    c.stage[0].width = 0;
    CHECK(tpl_memory_estimate(&c, 8, 0, TPL_OPT_SGD, &eval, &err) == -1 &&
          strstr(err.msg, "width"));
    /* the reproducer: tens of gigabytes of parameters alone */
    tpl_config_default(&c);
    c.stage[0] = (tpl_stage_config){.width = 1024, .layers = 256, .templates = 256};
    CHECK(tpl_memory_estimate(&c, 1, 0, TPL_OPT_SGD, &eval, &err) == 0);
    CHECK(eval.params > ((size_t)32 << 30));
}

static void fill_dataset(tpl_dataset *d, int n, int side, int classes) {
    if (tpl_dataset_alloc(d, n, side, side, 1, classes)) exit(2);
    for (size_t i = 0; i < (size_t)n * side * side; i++) d->pixels[i] = (uint8_t)(i * 37 + i / 5);
    for (int i = 0; i < n; i++) d->labels[i] = (uint8_t)(i % classes);
}

static void test_memory_limit(void) {
    tpl_config c;
    small_config(&c);
    tpl_memory need;
    tpl_err err = {{0}};
    CHECK(tpl_memory_estimate(&c, 1, 0, TPL_OPT_SGD, &need, &err) == 0);
    tpl_set_memory_limit(need.total - 1);
    CHECK(tpl_model_create(&c, 1, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "model: needs") && strstr(err.msg, "allowed") &&
                  !strchr(err.msg, '\n'),
              "%s", err.msg);
    /* created within the limit, refused by tpl_fit for its batch */
    tpl_set_memory_limit(need.total);
    tpl_model *m = tpl_model_create(&c, 1, &err);
    CHECK_MSG(m, "%s", err.msg);
    tpl_dataset d;
    fill_dataset(&d, 32, 8, 10);
    tpl_fit_options o;
    tpl_fit_options_default(&o);
    o.batch = 16;
    o.steps = 2;
    const tpl_fit_task task = {.task = 0, .train = &d};
    CHECK(m && tpl_fit(m, &task, 1, &o, NULL, &err) == -1 && strstr(err.msg, "fit: needs"));
    tpl_set_memory_limit(0); /* the default: what is available */
    CHECK_MSG(m && tpl_fit(m, &task, 1, &o, NULL, &err) == 0, "%s", err.msg);
    tpl_model_free(m);
    tpl_dataset_free(&d);
}

/* ---- model files that must be refused ----------------------------------- */

static long peak_rss_kb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* A file whose metadata is c2's and whose tensors are m's. */
static void save_claiming(tpl_model *m, const tpl_config *c2, const char *path) {
    const tpl_config keep = m->cfg;
    tpl_err err;
    m->cfg = *c2;
    CHECK_MSG(tpl_model_save(m, path, &err) == 0, "%s", err.msg);
    m->cfg = keep;
}

static void expect_load_error(const char *path, const char *needle) {
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(path, &err);
    CHECK_MSG(!m && strstr(err.msg, needle) && !strchr(err.msg, '\n'), "%s: '%s'", needle,
              err.msg);
    tpl_model_free(m);
}

static void test_bad_files(void) {
    tpl_config c;
    small_config(&c);
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_create(&c, 1, &err);
    CHECK_MSG(m, "%s", err.msg);
    if (!m) return;
    char path[128];
    path_in(path, sizeof path, "bomb.safetensors");
    /* a bomb: metadata claiming widths of 1024 and 256 layers of 256 templates */
    tpl_config huge = c;
    huge.stage[0] = (tpl_stage_config){.width = 1024, .layers = 256, .templates = 256};
    save_claiming(m, &huge, path);
    const long rss = peak_rss_kb();
    expect_load_error(path, "tensor 'stem.weight' has a shape that does not match");
    CHECK_MSG(peak_rss_kb() - rss < 64 * 1024, "loading the bomb took %ld KB", peak_rss_kb() - rss);
    /* a task the file has no tensors for */
    tpl_config more = c;
    more.n_tasks = 3;
    more.task[2] = (tpl_task_config){.name = "third", .classes = 4};
    save_claiming(m, &more, path);
    expect_load_error(path, "tensor 'task.third.stem.bn.weight' is missing");
    /* a negative running variance */
    float *var = tpl_params_data(&m->params, m->task[1].stage[0].bn.var);
    var[3] = -1.0f;
    CHECK(tpl_model_save(m, path, &err) == 0);
    expect_load_error(path, "tensor 'task.other.stage0.bn.running_var' holds a negative variance");
    var[3] = 1.0f;
    tpl_model_params_changed(m);
    /* finite weights that overflow: no NaN passes for an answer */
    float *stem = tpl_params_data(&m->params, m->stem_w);
    for (size_t i = 0; i < m->params.views[m->stem_w].numel; i++) stem[i] = 3e38f;
    tpl_model_params_changed(m);
    uint8_t image[64];
    float probs[10];
    for (int i = 0; i < 64; i++) image[i] = (uint8_t)(i * 37);
    CHECK(tpl_model_classify(m, 1, image, 1, probs, &err) == -1);
    CHECK_MSG(strstr(err.msg, "task 'other'") && strstr(err.msg, "the stem"), "%s", err.msg);
    tpl_dataset d;
    fill_dataset(&d, 8, 8, 10);
    double loss, acc;
    CHECK(tpl_model_evaluate(m, 0, &d, 4, &loss, &acc, &err) == -1 &&
          strstr(err.msg, "task 'fashion'"));
    tpl_dataset_free(&d);
    tpl_model_free(m);
}

/* ---- divergence --------------------------------------------------------- */

static tpl_diverge detector(float factor, long warmup, double chance) {
    tpl_diverge d;
    const tpl_diverge_rule rule = {.factor = factor, .steps = 50, .warmup = warmup, .accuracy = 1};
    tpl_diverge_init(&d, &rule);
    tpl_diverge_add(&d, "t", 10, chance);
    return d;
}

/* Feeds steps [from, to) of loss(step) and accuracy acc; returns the step
 * that failed, or 0. */
static tpl_rng answers;
static long feed(tpl_diverge *d, long from, long to, double (*loss)(long), double acc,
                 tpl_err *err) {
    tpl_rng *r = &answers;
    for (long s = from; s < to; s++) {
        int correct = 0;
        for (int i = 0; i < 64; i++) correct += tpl_rng_uniform(r) < acc;
        if (tpl_diverge_step(d, 0, s, loss(s), correct, 64, err)) return s;
    }
    return 0;
}

static tpl_rng noise;
/* Healthy: from 2.3 down to ~0.01, each batch's loss off by up to 3x. */
static double healthy(long s) {
    return (0.01 + 2.3 * exp(-s / 300.0)) * exp(2.2 * (tpl_rng_uniform(&noise) - 0.5));
}
static double exploding(long s) { return s < 100 ? 2.3 : 1e20; }
static double at_guess(long s) { return log(10.0) * (1.0 + 0.05 * sin((double)s)); }

static void test_diverge(void) {
    tpl_err err = {{0}};
    tpl_rng_seed(&noise, 5);
    tpl_rng_seed(&answers, 6);
    tpl_diverge d = detector(10.0f, 100, 0.1);
    CHECK_MSG(feed(&d, 1, 5001, healthy, 0.9, &err) == 0, "healthy run: %s", err.msg);
    d = detector(10.0f, 100, 0.1);
    long at = feed(&d, 1, 400, exploding, 0.1, &err);
    CHECK_MSG(at == 149 && strstr(err.msg, "training diverged at step") &&
                  strstr(err.msg, "over 10x its best"),
              "exploding loss: step %ld: %s", at, err.msg);
    /* learned, then back at chance (a dead network: loss at a guess's) */
    d = detector(10.0f, 100, 0.1);
    CHECK(feed(&d, 1, 301, at_guess, 0.8, &err) == 0);
    at = feed(&d, 301, 1000, at_guess, 0.1, &err);
    CHECK_MSG(at == 350 && strstr(err.msg, "fell back to chance"), "collapse: step %ld: %s", at,
              err.msg);
    /* never learned (random labels): no verdict */
    d = detector(10.0f, 100, 0.1);
    CHECK(feed(&d, 1, 3000, at_guess, 0.1, &err) == 0);
    /* a collapse during warm-up is judged after it */
    d = detector(10.0f, 1000, 0.1);
    CHECK(feed(&d, 1, 101, at_guess, 0.8, &err) == 0);
    at = feed(&d, 101, 2000, at_guess, 0.1, &err);
    CHECK_MSG(at == 1050, "collapse in warm-up: step %ld", at);
    /* non-finite at once, even with the rules off */
    d = detector(0.0f, 0, 0.1);
    CHECK(tpl_diverge_step(&d, 0, 7, NAN, 0, 64, &err) == -1 && strstr(err.msg, "step 7"));
    CHECK(feed(&d, 1, 400, exploding, 0.1, &err) == 0);
}

/* ---- stale temporary files ---------------------------------------------- */

static int write_hello(FILE *fp, const void *ctx) {
    (void)ctx;
    return fputs("hello\n", fp) < 0;
}

static void touch(const char *name) {
    char path[256];
    path_in(path, sizeof path, name);
    FILE *fp = fopen(path, "w");
    if (fp) fclose(fp);
}

static int exists(const char *name) {
    char path[256];
    struct stat st;
    path_in(path, sizeof path, name);
    return stat(path, &st) == 0;
}

static void test_stale_tmps(void) {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* gone: its PID names a stale file */
    char dead[64], alive[64], other[64], path[128];
    snprintf(dead, sizeof dead, "out.bin.tmp.%ld", (long)child);
    snprintf(alive, sizeof alive, "out.bin.tmp.%ld", (long)getppid());
    snprintf(other, sizeof other, "other.bin.tmp.%ld", (long)child);
    touch(dead), touch(alive), touch(other), touch("out.bin.tmp.12x"), touch("out.bin.tmp.");
    path_in(path, sizeof path, "out.bin");
    tpl_err err;
    CHECK(tpl_write_atomic(path, write_hello, NULL, &err) == 0);
    CHECK(exists("out.bin") && !exists(dead));
    CHECK(exists(alive) && exists(other) && exists("out.bin.tmp.12x") && exists("out.bin.tmp."));
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_hardening.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    test_layout_list();
    test_memory_estimate();
    test_memory_limit();
    test_bad_files();
    test_diverge();
    test_stale_tmps();
    remove_dir();
    return check_summary("test_hardening");
}
