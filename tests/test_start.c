/* Where an unlabelled target starts (train.h, tpl_start_pick): two source
 * tasks whose BN statistics come from a dark and a bright domain; a target
 * of bright images must start at the bright source by the closest rule,
 * whose divergence from it is 0 up to rounding (the same weights, statistics
 * re-estimated on the same images), and the divergence itself is a
 * divergence: zero for a task against itself, symmetric, positive apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model.h"
#include "train.h"

enum { SIDE = 8, N = 48, CLASSES = 3, DARK = 0, BRIGHT = 1, TARGET = 2 };

/* n images of pixels drawn from [lo, lo + 100). */
static void domain(tpl_dataset *d, int lo, unsigned seed) {
    if (tpl_dataset_alloc(d, N, SIDE, SIDE, 1, CLASSES)) exit(2);
    for (size_t i = 0; i < (size_t)N * SIDE * SIDE; i++) {
        seed = seed * 1103515245u + 12345u;
        d->pixels[i] = (uint8_t)(lo + (seed >> 16) % 100);
    }
    for (int i = 0; i < N; i++) d->labels[i] = (uint8_t)(i % CLASSES);
}

static tpl_model *three_tasks(tpl_err *err) {
    tpl_config c;
    tpl_config_default(&c);
    c.in_height = c.in_width = SIDE;
    c.stem_stride = 1;
    c.stage[0] = (tpl_stage_config){.width = 16, .layers = 2, .templates = 2};
    c.shared_head = 1;
    c.n_tasks = 3;
    const char *names[] = {"dark", "bright", "target"};
    for (int t = 0; t < 3; t++) {
        c.task[t] = (tpl_task_config){.classes = CLASSES};
        snprintf(c.task[t].name, TPL_NAME_LEN, "%s", names[t]);
    }
    return tpl_model_create(&c, 3, err);
}

int main(void) {
    tpl_err err = {{0}};
    tpl_model *m = three_tasks(&err);
    CHECK_MSG(m, "%s", err.msg);
    if (!m) return check_summary("test_start");
    tpl_dataset dark, bright;
    domain(&dark, 0, 1);
    domain(&bright, 150, 2);
    tpl_batch b;
    CHECK(tpl_batch_init(&b, m, 16) == 0);
    CHECK(tpl_bn_recalibrate(m, DARK, &dark, N, &b, &err) == 0);
    CHECK(tpl_bn_recalibrate(m, BRIGHT, &bright, N, &b, &err) == 0);

    CHECK(tpl_model_bn_divergence(m, DARK, DARK) == 0.0);
    const double apart = tpl_model_bn_divergence(m, DARK, BRIGHT);
    CHECK_MSG(apart > 0.0 && isfinite(apart), "divergence dark/bright %g", apart);
    CHECK(tpl_model_bn_divergence(m, BRIGHT, DARK) == apart);

    const int sources[] = {DARK, BRIGHT};
    double score[2] = {-1, -1};
    int pick = tpl_start_pick(m, sources, 2, TARGET, TPL_START_CLOSEST, &bright, N, &b, score, &err);
    CHECK_MSG(pick == 1, "closest picked %d (scores %g %g): %s", pick, score[0], score[1], err.msg);
    CHECK_MSG(score[1] < 1e-9 && score[0] > 1e-3, "closest scores %g %g", score[0], score[1]);
    /* the target is left as the bright source's copy, statistics included */
    CHECK(tpl_model_bn_divergence(m, BRIGHT, TARGET) == 0.0);

    pick = tpl_start_pick(m, sources, 2, TARGET, TPL_START_CONFIDENT, &bright, N, &b, score, &err);
    CHECK_MSG(pick == 0 || pick == 1, "confident: %s", err.msg);
    for (int j = 0; j < 2; j++) /* mean entropies of 3-class predictions */
        CHECK_MSG(score[j] >= 0.0 && score[j] <= log(CLASSES) + 1e-9, "entropy %g", score[j]);
    CHECK(score[pick] <= score[1 - pick]);

    /* both: the bright source's divergence, ~0, makes its product ~0 */
    pick = tpl_start_pick(m, sources, 2, TARGET, TPL_START_BOTH, &bright, N, &b, score, &err);
    CHECK_MSG(pick == 1 && score[1] < 1e-9 && score[0] > 0.0, "both picked %d (%g %g)", pick,
              score[0], score[1]);
    CHECK(tpl_start_pick(m, sources, 2, TARGET, TPL_START_MEAN, &bright, N, &b, score, &err) == 2);
    CHECK(tpl_start_rule_find("closest") == TPL_START_CLOSEST);
    CHECK(tpl_start_rule_find("nearest") == -1);

    tpl_batch_free(&b);
    tpl_dataset_free(&dark), tpl_dataset_free(&bright);
    tpl_model_free(m);
    return check_summary("test_start");
}
