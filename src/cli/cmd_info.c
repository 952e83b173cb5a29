/* templar info: what a model file holds — architecture, parameter counts
 * (shared templates vs what each task adds), and the learned mixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "record.h"
#include "model.h"

static void print_mixtures(tpl_model *m) {
    for (int t = 0; t < m->cfg.n_tasks; t++)
        for (int s = 0; s < m->cfg.n_stages; s++) {
            const tpl_stage *st = &m->stage[s];
            float a[st->layers * st->templates];
            tpl_model_mixture(m, t, s, a);
            printf("mixtures of task '%s', stage %d (block x template):\n", m->cfg.task[t].name, s);
            for (int l = 0; l < st->layers; l++) {
                printf("  block %2d:", l);
                for (int k = 0; k < st->templates; k++) printf(" %5.3f", a[l * st->templates + k]);
                putchar('\n');
            }
        }
}

/* The precision the file records (trained in), and the one m loaded in:
 * what eval and predict run here unless told otherwise. */
static void print_precision(const char *path, const tpl_model *m) {
    char *rec = cli_recorded(path, "precision");
    printf("precision: %s (trained in); eval and predict run %s here\n", rec ? rec : "fp32",
           tpl_precision_name(tpl_model_config(m)->precision));
    free(rec);
}

static int run(int argc, char **argv) {
    const char *pos[1];
    int npos;
    int rc = args_parse("info", "MODEL", NULL, argc, argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar info: which model? (usage: templar info MODEL)\n");
        return 2;
    }
    tpl_err err = {{0}};
    tpl_model *m = tpl_model_load(pos[0], &err);
    if (!m) {
        fprintf(stderr, "templar info: %s\n", err.msg);
        return 1;
    }
    const tpl_config *c = &m->cfg;
    const tpl_params *p = &m->params;
    char *format = cli_recorded(pos[0], "format");
    printf("model %s%s\n", pos[0], format && !strcmp(format, "templar-plain-1")
                                        ? " (a plain network: ordinary convolutions, templar export)"
                                        : "");
    free(format);
    printf("input %dx%dx%d, stem stride %d, %s layout, %s mixtures (tau %g) of %s\n",
           c->in_channels, c->in_height, c->in_width, c->stem_stride,
           c->n_stages > 1 ? "staged" : "isometric", tpl_routing_name(c->routing), c->tau,
           c->aggregate == TPL_AGG_OUTPUTS ? "outputs (mixture of experts)" : "parameters");
    char gran[24];
    for (int s = 0; s < c->n_stages; s++)
        printf("stage %d: width %d, %d %sblocks from %d templates, %dx%d, one mixture per %s "
               "(%d a block)\n", s, c->stage[s].width, c->stage[s].layers,
               c->block == TPL_BLOCK_INVERTED ? "inverted-bottleneck " : "",
               c->stage[s].templates, m->stage[s].h, m->stage[s].w,
               tpl_granularity_format(c->mix, c->mix_group, gran, sizeof gran), m->stage[s].units);
    size_t shared = tpl_params_count(p, -1, 0);
    printf("shared parameters: %zu (%zu bytes): templates, stem/transition convs%s%s\n", shared,
           shared * sizeof(float), c->shared_mixture ? ", the one mixture" : "",
           c->shared_head ? ", the one head" : "");
    for (int t = 0; t < c->n_tasks; t++) {
        const tpl_task_size z = tpl_task_bytes(m, t);
        printf("task '%s' (%d classes): %zu bytes = mixture logits %zu + BN %zu + head %zu "
               "(+ %zu bytes of BN running statistics, %zu of feature moments%s)\n",
               c->task[t].name, c->task[t].classes, tpl_task_size_total(z), z.logits, z.bn, z.head,
               z.bn_stats, z.moments, tpl_model_has_moments(m, t) ? "" : ", not recorded");
    }
    print_mixtures(m);
    char *cmd = cli_recorded(pos[0], "command"), *steps = cli_recorded(pos[0], "trained_steps");
    char *line = cmd ? record_command_line(cmd) : NULL;
    if (line) printf("trained by: %s (%s steps; the file's \"record\" holds every flag)\n", line,
                     steps ? steps : "?");
    free(cmd), free(steps), free(line);
    printf("convolutions: oneDNN, %s\n", tpl_engine_isa());
    print_precision(pos[0], m);
    tpl_model_free(m);
    return 0;
}

const cli_command cli_command_info = {"info", 70, "architecture, parameter counts and mixtures of a model file", run};
