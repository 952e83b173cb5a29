/* Mixture granularity (--mix block|conv|group:G): a model with one mixture
 * per conv or per channel group whose every unit holds its block's logits
 * computes what the per-block model computes, for either block kind (eval through each eval path,
 * and training), the units' logit gradients sum to the block's, the logits
 * have the shape [L][units][K], a file round-trips the granularity, and
 * configs that cannot split refuse with the reason.  Finite differences of
 * the finer mixtures are in test_grad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "check.h"
#include "checkpoint.h"
#include "loss.h"
#include "mixing.h"
#include "model.h"
#include "stripes.h"
#include "train.h"

#define HW 12
#define CLASSES 4

static tpl_config config(tpl_block_type block, tpl_granularity mix, int group) {
    tpl_config c;
    tpl_config_default(&c);
    c.in_height = c.in_width = HW;
    c.n_stages = 2;
    c.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 3};
    c.stage[1] = (tpl_stage_config){.width = 32, .layers = 1, .templates = 2};
    c.task[0].classes = CLASSES;
    c.logit_noise = 0.7f;
    c.mix = mix, c.mix_group = group;
    c.block = block, c.expand = 3;
    return c;
}

/* fine gets coarse's every tensor; each unit of a block its block's logits. */
static void copy_broadcast(tpl_model *fine, const tpl_model *coarse) {
    const tpl_params *p = &coarse->params;
    for (int i = 0; i < p->n_views; i++) {
        const tpl_view *v = &p->views[i];
        const int j = tpl_params_find(&fine->params, v->name);
        CHECK_MSG(j >= 0, "%s: not in the finer model", v->name);
        if (j < 0) continue;
        float *to = tpl_params_data(&fine->params, j);
        const float *from = tpl_params_data(p, i);
        if (v->kind != TPL_KIND_LOGITS) {
            memcpy(to, from, sizeof(float) * v->numel);
            continue;
        }
        int s = 0;
        while (fine->task[0].stage[s].logits != j) s++;
        const size_t k = fine->stage[s].templates, units = fine->stage[s].units;
        for (size_t row = 0; row < tpl_stage_rows(&fine->stage[s]); row++)
            memcpy(to + row * k, from + row / units * k, sizeof(float) * k);
    }
    tpl_model_params_changed(fine);
}

static void batch(const tpl_dataset *d, const tpl_config *c, int n, float *x, int *y) {
    int idx[64];
    for (int i = 0; i < n; i++) idx[i] = i;
    tpl_batch_fill(d, idx, n, c->in_mean, c->in_std, NULL, NULL, x, y);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Eval at batch n (small batches take the winograd path where it applies)
 * and training at 16: the same logits; then the units' logit gradients sum
 * to the block's. */
static void check_same(tpl_model *coarse, tpl_model *fine, const tpl_dataset *d, const char *what) {
    tpl_err err = {{0}};
    float x[16 * HW * HW], la[16 * CLASSES], lb[16 * CLASSES], dl[16 * CLASSES];
    int y[16];
    batch(d, &coarse->cfg, 16, x, y);
    for (int n = 1; n <= 16; n += 15) {
        CHECK(tpl_model_forward(coarse, 0, x, n, 0, la, &err) == 0);
        CHECK(tpl_model_forward(fine, 0, x, n, 0, lb, &err) == 0);
        CHECK_MSG(max_diff(la, lb, (size_t)n * CLASSES) < 1e-4, "%s: eval at batch %d differs by %g",
                  what, n, max_diff(la, lb, (size_t)n * CLASSES));
    }
    CHECK(tpl_model_forward(coarse, 0, x, 16, 1, la, &err) == 0);
    CHECK(tpl_model_forward(fine, 0, x, 16, 1, lb, &err) == 0);
    CHECK_MSG(max_diff(la, lb, 16 * CLASSES) < 1e-4, "%s: training forward differs by %g", what,
              max_diff(la, lb, 16 * CLASSES));
    tpl_xent_forward_backward(16, CLASSES, la, y, dl, NULL);
    memset(coarse->params.grad, 0, sizeof(float) * coarse->params.numel);
    memset(fine->params.grad, 0, sizeof(float) * fine->params.numel);
    CHECK_MSG(tpl_model_backward(coarse, 0, dl, &err) == 0, "%s", err.msg);
    CHECK_MSG(tpl_model_backward(fine, 0, dl, &err) == 0, "%s", err.msg);
    for (int s = 0; s < coarse->cfg.n_stages; s++) {
        const tpl_stage *st = &fine->stage[s];
        const float *gc = tpl_params_grad(&coarse->params, coarse->task[0].stage[s].logits);
        const float *gf = tpl_params_grad(&fine->params, fine->task[0].stage[s].logits);
        for (int l = 0; l < st->layers; l++)
            for (int k = 0; k < st->templates; k++) {
                double sum = 0.0;
                for (int u = 0; u < st->units; u++)
                    sum += gf[((size_t)l * st->units + u) * st->templates + k];
                const double want = gc[(size_t)l * st->templates + k];
                CHECK_MSG(fabs(sum - want) <= 1e-4 + 1e-3 * fabs(want),
                          "%s: stage %d block %d template %d: units' gradients sum to %g, the "
                          "block's is %g", what, s, l, k, sum, want);
            }
    }
}

static void check_granularity(tpl_block_type block, tpl_granularity mix, int group, int units0,
                              const tpl_dataset *d) {
    tpl_err err = {{0}};
    tpl_config cc = config(block, TPL_MIX_BLOCK, 0), cf = config(block, mix, group);
    tpl_dataset_stats(d, cc.in_mean, cc.in_std);
    memcpy(cf.in_mean, cc.in_mean, sizeof cc.in_mean);
    memcpy(cf.in_std, cc.in_std, sizeof cc.in_std);
    tpl_model *coarse = tpl_model_create(&cc, 5, &err), *fine = tpl_model_create(&cf, 9, &err);
    CHECK_MSG(coarse && fine, "create: %s", err.msg);
    if (!coarse || !fine) return;
    char what[48], gran[24];
    snprintf(what, sizeof what, "%s, %s", tpl_block_name(block),
             tpl_granularity_format(mix, group, gran, sizeof gran));
    CHECK_MSG(fine->stage[0].units == units0, "%s: %d units a block in stage 0", what,
              fine->stage[0].units);
    const tpl_view *lv = &fine->params.views[fine->task[0].stage[0].logits];
    CHECK_MSG(lv->ndim == 3 && lv->shape[0] == 2 && lv->shape[1] == units0 && lv->shape[2] == 3,
              "%s: logits of shape %dD", what, lv->ndim);
    /* non-zero last BNs (they start at 0: every block the identity), so that
     * every mixture shows in the output */
    tpl_params *p = &coarse->params;
    for (int i = 0; i < p->n_views; i++)
        for (size_t j = 0; p->views[i].kind == TPL_KIND_BN_SCALE && j < p->views[i].numel; j++)
            tpl_params_data(p, i)[j] = 0.5f + 0.1f * (float)(j % 7);
    for (int s = 0; s < coarse->cfg.n_stages; s++) { /* the BN scales templates hold */
        const tpl_stage *st = &coarse->stage[s];
        for (int k = 0; st->kind->affine_at && k < st->templates; k++)
            for (size_t j = 0; j < (size_t)st->bn_per_block * st->width; j++)
                tpl_params_data(p, st->bank)[k * st->per_template + st->kind->affine_at(st) + j] =
                    0.5f + 0.1f * (float)(j % 5);
    }
    tpl_model_params_changed(coarse);
    copy_broadcast(fine, coarse);
    check_same(coarse, fine, d, what);
    /* the file says the granularity, and the loaded model computes the same */
    char path[] = "/tmp/templar-granularity-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_MSG(tpl_model_save(fine, path, &err) == 0, "%s", err.msg);
    tpl_model *back = tpl_model_load(path, &err);
    CHECK_MSG(back && back->cfg.mix == mix && back->cfg.mix_group == group, "%s: load: %s", what,
              back ? "another granularity" : err.msg);
    if (back) check_same(coarse, back, d, what);
    unlink(path);
    tpl_model_free(back), tpl_model_free(fine), tpl_model_free(coarse);
}

static void expect_refused(tpl_config c, const char *must) {
    tpl_err err = {{0}};
    CHECK_MSG(tpl_config_check(&c, &err) != 0 && strstr(err.msg, must),
              "want '%s', got '%s'", must, err.msg);
}

static void test_parse_and_refusals(void) {
    tpl_granularity g;
    int group;
    CHECK(tpl_granularity_parse("group:8", &g, &group) == 0 && g == TPL_MIX_GROUP && group == 8);
    CHECK(tpl_granularity_parse("conv", &g, &group) == 0 && g == TPL_MIX_CONV && group == 0);
    const char *bad[] = {"group", "group:", "group:0", "group:8x", "groups:8", "conv:2", "", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(tpl_granularity_parse(bad[i], &g, &group) != 0, "'%s' parsed", bad[i]);
    expect_refused(config(TPL_BLOCK_BASIC, TPL_MIX_GROUP, 12),
                   "groups of 12 channels do not split width 16");
    tpl_config c = config(TPL_BLOCK_BASIC, TPL_MIX_CONV, 0);
    c.aggregate = TPL_AGG_OUTPUTS;
    expect_refused(c, "one mixture per block");
}

int main(void) {
    tpl_dataset d;
    stripes_dataset(&d, 32, HW, CLASSES, 3);
    test_parse_and_refusals();
    check_granularity(TPL_BLOCK_BASIC, TPL_MIX_CONV, 0, 2, &d);
    check_granularity(TPL_BLOCK_BASIC, TPL_MIX_GROUP, 8, 4, &d);
    check_granularity(TPL_BLOCK_BASIC, TPL_MIX_GROUP, 16, 2, &d);
    /* inverted (expansion 3, width 16): 3 convs and the BNs' affine
     * parameters; per group of 8: 48/8 + 48/8 + 16/8 + 1 */
    check_granularity(TPL_BLOCK_INVERTED, TPL_MIX_CONV, 0, 4, &d);
    check_granularity(TPL_BLOCK_INVERTED, TPL_MIX_GROUP, 8, 15, &d);
    tpl_dataset_free(&d);
    return check_summary("test_granularity");
}
