/* templar inspect: where the tasks of a model share its template bank.
 *
 * For each stage: every task's mixture weights (a row per block, the tasks
 * side by side), then for each block how alike the tasks' mixtures are (1 -
 * Jensen-Shannon divergence in bits, see plot.h) with a verdict and the
 * template each task leans on most.  The mixtures are also drawn as a heatmap
 * (a row of cells per task, a cell per block, a bar per template) in PNG and
 * SVG.  The pictures are written before anything is printed, so a failure
 * leaves one line on stderr and nothing on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "checkpoint.h"
#include "cli.h"
#include "plot.h"

#define TABLE_COLUMNS 100   /* tasks past this go to a further mixture table */
#define MAX_PAIR_COLUMNS 6  /* more task pairs: only their mean and the least alike */
#define SHORT_NAME 5        /* longer task names: pairs labelled by task number */

/* One stage's mixtures of every task. */
typedef struct stage_mix {
    const tpl_model *m;
    int s, tasks, layers, templates;
    float *a; /* [task][block][template] */
} stage_mix;

static const float *weights(const stage_mix *v, int t, int l) {
    return v->a + ((size_t)t * v->layers + l) * v->templates;
}

static int load_mixtures(tpl_model *m, stage_mix *v) {
    for (int s = 0; s < m->cfg.n_stages; s++) {
        const tpl_stage *st = &m->stage[s];
        const size_t per_task = (size_t)st->layers * st->templates;
        v[s] = (stage_mix){m, s, m->cfg.n_tasks, st->layers, st->templates, NULL};
        if (!(v[s].a = malloc(per_task * m->cfg.n_tasks * sizeof(float)))) return -1;
        for (int t = 0; t < m->cfg.n_tasks; t++) tpl_model_mixture(m, t, s, v[s].a + t * per_task);
    }
    return 0;
}

static int argmax(const float *a, int k) {
    int best = 0;
    for (int i = 1; i < k; i++)
        if (a[i] > a[best]) best = i;
    return best;
}

/* ---- the mixture table ----------------------------------------------------- */

/* A row per block with each task's K weights; tasks that would run past
 * TABLE_COLUMNS go to a further table below. */
static void print_mixtures(const stage_mix *v) {
    const int cols = 6 * v->templates; /* " 0.123" per template */
    int per_table = (TABLE_COLUMNS - 7) / (cols + 2);
    if (per_table < 1) per_table = 1;
    printf("stage %d: mixture weights, %d blocks x %d templates (each task: template 0..%d)\n",
           v->s, v->layers, v->templates, v->templates - 1);
    for (int t0 = 0; t0 < v->tasks; t0 += per_table) {
        const int t1 = t0 + per_table < v->tasks ? t0 + per_table : v->tasks;
        printf("  block");
        for (int t = t0; t < t1; t++)  /* padded but the last: no trailing blanks */
            printf("   %-*.*s", t + 1 < t1 ? cols - 1 : 0, cols - 1, v->m->cfg.task[t].name);
        putchar('\n');
        for (int l = 0; l < v->layers; l++) {
            printf("  %5d", l);
            for (int t = t0; t < t1; t++) {
                printf("  ");
                for (int k = 0; k < v->templates; k++) printf(" %5.3f", weights(v, t, l)[k]);
            }
            putchar('\n');
        }
    }
}

/* ---- task similarity ----------------------------------------------------- */

static int short_names(const tpl_config *c) {
    for (int t = 0; t < c->n_tasks; t++)
        if (strlen(c->task[t].name) > SHORT_NAME) return 0;
    return 1;
}

static void pair_label(const tpl_config *c, int i, int j, char *buf, size_t n) {
    if (short_names(c)) snprintf(buf, n, "%s-%s", c->task[i].name, c->task[j].name);
    else snprintf(buf, n, "%d-%d", i, j);
}

/* Width of a pair's column: its longest label, at least a number's. */
static int pair_width(const tpl_config *c) {
    char label[2 * TPL_NAME_LEN + 2];
    int w = 5;
    for (int i = 0; i < c->n_tasks; i++)
        for (int j = i + 1; j < c->n_tasks; j++) {
            pair_label(c, i, j, label, sizeof label);
            if ((int)strlen(label) > w) w = (int)strlen(label);
        }
    return w;
}

static void print_similarity_header(const stage_mix *v, int pair_columns, int pw) {
    const tpl_config *c = &v->m->cfg;
    char label[2 * TPL_NAME_LEN + 2];
    printf("task similarity per block, stage %d (1 - Jensen-Shannon divergence in bits: "
           "1 = same mixture, 0 = disjoint)\n", v->s);
    if (!short_names(c)) {
        printf("  tasks:");
        for (int t = 0; t < c->n_tasks; t++) printf(" %d=%s", t, c->task[t].name);
        putchar('\n');
    }
    printf("  block");
    for (int i = 0; pair_columns && i < v->tasks; i++)
        for (int j = i + 1; j < v->tasks; j++) {
            pair_label(c, i, j, label, sizeof label);
            printf("  %*s", pw, label);
        }
    printf("   mean  %-13s  ", "verdict");
    if (!pair_columns) printf("%-*s  ", pw + 6, "least alike");
    printf("top template per task\n");
}

/* One block's row; returns its verdict. */
static tpl_sharing print_similarity_row(const stage_mix *v, int l, int pair_columns, int pw) {
    const tpl_config *c = &v->m->cfg;
    double sum = 0.0, least = 2.0;
    int li = 0, lj = 1;
    printf("  %5d", l);
    for (int i = 0; i < v->tasks; i++)
        for (int j = i + 1; j < v->tasks; j++) {
            const double sim = tpl_js_similarity(weights(v, i, l), weights(v, j, l), v->templates);
            if (pair_columns) printf("  %*.3f", pw, sim);
            if (sim < least) least = sim, li = i, lj = j;
            sum += sim;
        }
    const double mean = sum / (v->tasks * (v->tasks - 1) / 2);
    const tpl_sharing verdict = tpl_sharing_of(mean);
    printf("  %5.3f  %-13s  ", mean, tpl_sharing_name(verdict));
    if (!pair_columns) {
        char label[2 * TPL_NAME_LEN + 2];
        pair_label(c, li, lj, label, sizeof label);
        printf("%5.3f %-*s  ", least, pw, label);
    }
    for (int t = 0; t < v->tasks; t++)
        printf("%s%s:%d", t ? " " : "", c->task[t].name, argmax(weights(v, t, l), v->templates));
    putchar('\n');
    return verdict;
}

static void print_similarity(const stage_mix *v) {
    if (v->tasks < 2) {
        printf("task similarity, stage %d: needs 2+ tasks (the model has %d)\n", v->s, v->tasks);
        return;
    }
    const int pair_columns = v->tasks * (v->tasks - 1) / 2 <= MAX_PAIR_COLUMNS;
    const int pw = pair_width(&v->m->cfg);
    int count[TPL_N_SHARING] = {0};
    print_similarity_header(v, pair_columns, pw);
    for (int l = 0; l < v->layers; l++) count[print_similarity_row(v, l, pair_columns, pw)]++;
    printf("stage %d blocks: %d shared, %d partly shared, %d specialised "
           "(mean similarity >= %.2f: shared, < %.2f: specialised)\n", v->s, count[TPL_SHARED],
           count[TPL_PARTLY_SHARED], count[TPL_SPECIALISED], TPL_SHARED_MIN,
           TPL_SPECIALISED_BELOW);
}

/* ---- the heatmap --------------------------------------------------------- */

/* MODEL with its .safetensors suffix (if any) replaced by suffix; malloc'd. */
static char *default_path(const char *model, const char *suffix) {
    static const char ext[] = ".safetensors";
    size_t n = strlen(model);
    const size_t e = sizeof ext - 1;
    if (n > e && !strcmp(model + n - e, ext)) n -= e;
    char *p = malloc(n + strlen(suffix) + 1);
    if (p) sprintf(p, "%.*s%s", (int)n, model, suffix);
    return p;
}

/* Writes both pictures; *w, *h get the PNG's size. */
static int write_heatmaps(const char *model, const stage_mix *v, const char *png,
                          const char *svg, int *w, int *h, tpl_err *err) {
    const tpl_config *c = &v->m->cfg;
    const char *slash = strrchr(model, '/'), *base = slash ? slash + 1 : model;
    const char *names[TPL_MAX_TASKS];
    char title[96], labels[TPL_MAX_STAGES][24];
    snprintf(title, sizeof title, "mixture weights: %s", base);
    tpl_heatmap hm = {.title = title, .rows = c->n_tasks, .row_labels = names,
                      .n_groups = c->n_stages};
    for (int t = 0; t < c->n_tasks; t++) names[t] = c->task[t].name;
    for (int s = 0; s < c->n_stages; s++) {
        snprintf(labels[s], sizeof labels[s], "stage %d", s);
        hm.group[s] = (tpl_heatmap_group){labels[s], v[s].layers, v[s].templates, v[s].a};
    }
    return tpl_heatmap_write_png(&hm, png, w, h, err) || tpl_heatmap_write_svg(&hm, svg, err)
               ? -1 : 0;
}

/* ---- the command ----------------------------------------------------------- */

static int inspect(const char *path, const char *png, const char *svg, int plot, tpl_err *err) {
    tpl_model *m = tpl_model_load(path, err);
    if (!m) return -1;
    stage_mix v[TPL_MAX_STAGES] = {{0}};
    char *png_path = png ? NULL : default_path(path, ".mixtures.png");
    char *svg_path = svg ? NULL : default_path(path, ".mixtures.svg");
    if (!png) png = png_path;
    if (!svg) svg = svg_path;
    int w = 0, h = 0, rc = load_mixtures(m, v) || !png || !svg;
    if (rc) tpl_err_set(err, "out of memory");
    /* pictures first: on failure nothing is printed but the error */
    if (!rc && plot) rc = write_heatmaps(path, v, png, svg, &w, &h, err);
    if (!rc) {
        const tpl_config *c = &m->cfg;
        printf("model %s: %d task%s, %d stage%s, %s mixtures (tau %g)\n", path, c->n_tasks,
               c->n_tasks > 1 ? "s" : "", c->n_stages, c->n_stages > 1 ? "s" : "",
               tpl_routing_name(c->routing), c->tau);
        for (int s = 0; s < c->n_stages; s++) {
            print_mixtures(&v[s]);
            print_similarity(&v[s]);
        }
        if (plot) printf("heatmap: %s (%dx%d), %s\n", png, w, h, svg);
    }
    for (int s = 0; s < m->cfg.n_stages; s++) free(v[s].a);
    free(png_path);
    free(svg_path);
    tpl_model_free(m);
    return rc ? -1 : 0;
}

static int run(int argc, char **argv) {
    const char *png = NULL, *svg = NULL, *pos[1];
    int plot = 1, npos;
    const arg_spec specs[] = {
        {"png", ARG_STR, &png, "heatmap PNG (default: MODEL ending .mixtures.png)", 0, 0},
        {"svg", ARG_STR, &svg, "heatmap SVG (default: MODEL ending .mixtures.svg)", 0, 0},
        {"plot", ARG_BOOL, &plot, "write the heatmaps (--no-plot: only print)", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("inspect", "MODEL [flags]", (const arg_spec *const[]){specs, NULL}, argc,
                        argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar inspect: which model? (usage: templar inspect MODEL [flags])\n");
        return 2;
    }
    if ((png && !*png) || (svg && !*svg)) {
        fprintf(stderr, "templar inspect: --%s needs a file name\n", png && !*png ? "png" : "svg");
        return 2;
    }
    tpl_err err = {{0}};
    if (inspect(pos[0], png, svg, plot, &err)) {
        fprintf(stderr, "templar inspect: %s\n", err.msg);
        return 1;
    }
    return 0;
}

const cli_command cli_command_inspect = {"inspect", 80, "mixture table, heatmap (PNG, SVG) and where tasks share blocks", run};
