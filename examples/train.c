/* train: two tasks on one template bank, from a C program, through the
 * installed header alone.
 *
 *   cc train.c $(pkg-config --cflags --libs templar) -o train
 *   ./train DIR_A DIR_B OUT.safetensors
 *
 * DIR_A and DIR_B are IDX directories in the MNIST layout (grey images of
 * one size).  The program builds a bank of 2 templates shared by 3 blocks,
 * trains both tasks with tpl_fit (printing a line per epoch), saves the
 * model, loads it back, and classifies task b's first test image with the
 * reloaded model, checking that it answers as the trained one did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <templar.h>

static void on_epoch(const tpl_fit_report *r, void *user) {
    (void)user;
    printf("epoch %d/%d step %ld", r->epoch, r->epochs, r->step);
    for (int t = 0; t < r->n_tasks; t++)
        printf(" task%d_test_acc=%.4f", t, r->task[t].test_acc);
    putchar('\n');
}

/* Both halves of two IDX directories; returns 0 on success. */
static int load(char **dirs, tpl_dataset train[2], tpl_dataset test[2], tpl_err *err) {
    for (int i = 0; i < 2; i++)
        if (tpl_idx_load_dir(dirs[i], "train", &train[i], err) ||
            tpl_idx_load_dir(dirs[i], "test", &test[i], err))
            return -1;
    return 0;
}

/* The architecture: input from the data, a small isometric bank, two tasks,
 * inputs normalised with the union of the training sets. */
static void configure(tpl_config *cfg, const tpl_dataset train[2]) {
    tpl_config_default(cfg);
    cfg->in_channels = train[0].c;
    cfg->in_height = train[0].h;
    cfg->in_width = train[0].w;
    cfg->stem_stride = 1;
    cfg->stage[0] = (tpl_stage_config){.width = 16, .layers = 3, .templates = 2};
    cfg->n_tasks = 2;
    for (int t = 0; t < 2; t++) {
        snprintf(cfg->task[t].name, TPL_NAME_LEN, "%c", 'a' + t);
        cfg->task[t].classes = train[t].classes;
    }
    const tpl_dataset *sets[2] = {&train[0], &train[1]};
    tpl_dataset_stats_union(sets, 2, cfg->in_mean, cfg->in_std);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: train DIR_A DIR_B OUT.safetensors\n");
        return 2;
    }
    tpl_err err = {{0}};
    tpl_dataset train[2] = {{0}}, test[2] = {{0}};
    tpl_config cfg;
    tpl_model *m = NULL, *back = NULL;
    float before[64], after[64];
    int rc = 1;
    if (load(argv + 1, train, test, &err)) goto done;
    configure(&cfg, train);
    if (!(m = tpl_model_create(&cfg, 1, &err))) goto done;
    tpl_fit_options o;
    tpl_fit_options_default(&o);
    o.batch = 16;
    o.epochs = 2;
    o.eval_batch = 16;
    o.on_epoch = on_epoch;
    const tpl_fit_task tasks[2] = {{.task = 0, .train = &train[0], .test = &test[0]},
                                   {.task = 1, .train = &train[1], .test = &test[1]}};
    if (tpl_fit(m, tasks, 2, &o, NULL, &err) || tpl_model_save(m, argv[3], &err) ||
        !(back = tpl_model_load(argv[3], &err)))
        goto done;
    const int b = tpl_model_find_task(back, "b"), classes = cfg.task[1].classes;
    if (b != 1 || classes > 64) {
        snprintf(err.msg, sizeof err.msg, "%s: task b is missing or has too many classes", argv[3]);
        goto done;
    }
    if (tpl_model_classify(m, 1, test[1].pixels, 1, before, &err) ||
        tpl_model_classify(back, b, test[1].pixels, 1, after, &err))
        goto done;
    int best = 0;
    for (int k = 1; k < classes; k++)
        if (after[k] > after[best]) best = k;
    if (memcmp(before, after, sizeof(float) * classes)) {
        snprintf(err.msg, sizeof err.msg, "%s: the reloaded model answers differently", argv[3]);
        goto done;
    }
    printf("saved=%s reloaded task=b class=%d prob=%.4f\n", argv[3], best, after[best]);
    rc = 0;
done:
    if (rc) fprintf(stderr, "train: %s\n", err.msg);
    for (int i = 0; i < 2; i++) tpl_dataset_free(&train[i]), tpl_dataset_free(&test[i]);
    tpl_model_free(m);
    tpl_model_free(back);
    return rc;
}
