/* templar plot: the loss and accuracy curves of a training log (the
 * JSON-lines file train, transfer and adapt write with --log), as SVG
 * and/or PNG.  What parses is drawn: a killed run's torn last line costs a
 * warning, not the figure; a file with no training record is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cli.h"
#include "curves.h"
#include "trainlog.h"

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* LOG with its .jsonl (or .json, .log) suffix replaced by suffix; malloc'd. */
static char *default_path(const char *log, const char *suffix) {
    static const char *const exts[] = {".jsonl", ".json", ".log"};
    size_t n = strlen(log);
    for (int i = 0; i < 3; i++)
        if (ends_with(log, exts[i])) {
            n -= strlen(exts[i]);
            break;
        }
    char *p = malloc(n + strlen(suffix) + 1);
    if (p) sprintf(p, "%.*s%s", (int)n, log, suffix);
    return p;
}

static int parse_metric(const char *s, tpl_curves_metric *out) {
    if (!strcmp(s, "loss")) *out = TPL_CURVES_LOSS;
    else if (!strcmp(s, "acc") || !strcmp(s, "accuracy")) *out = TPL_CURVES_ACC;
    else if (!strcmp(s, "both")) *out = TPL_CURVES_BOTH;
    else return -1;
    return 0;
}

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Usage errors about the outputs (exit 2): an empty name, the log itself,
 * one file named twice.  Then, unless force, an output that exists (exit
 * 1): nothing is replaced unasked. */
static int check_outputs(const char *log, const char *svg, const char *png, int force) {
    const char *const out[2] = {svg, png};
    struct stat sl, so[2];
    int exists[2] = {0, 0};
    const int have_log = stat(log, &sl) == 0;
    for (int i = 0; i < 2; i++) {
        if (!out[i]) continue;
        if (!*out[i]) {
            fprintf(stderr, "templar plot: --%s needs a file name\n", i ? "png" : "out");
            return 2;
        }
        exists[i] = stat(out[i], &so[i]) == 0;
        if (exists[i] && have_log && same_file(&so[i], &sl)) {
            fprintf(stderr, "templar plot: %s is the log itself: choose another output\n", out[i]);
            return 2;
        }
    }
    if (svg && png &&
        (!strcmp(svg, png) || (exists[0] && exists[1] && same_file(&so[0], &so[1])))) {
        fprintf(stderr, "templar plot: --out and --png name the same file %s\n", png);
        return 2;
    }
    for (int i = 0; i < 2; i++)
        if (exists[i] && !force) {
            fprintf(stderr, "templar plot: %s exists (--force replaces it)\n", out[i]);
            return 1;
        }
    return 0;
}

static void warn_skipped(const char *path, const tpl_trainlog *log) {
    if (!log->skipped) return;
    fprintf(stderr, "templar plot: warning: %s: %d line%s skipped (line %d: %s)\n", path,
            log->skipped, log->skipped == 1 ? "" : "s", log->first_skipped, log->why);
}

static int plot(const char *path, const char *svg, const char *png, tpl_curves_metric metric,
                const char *title) {
    tpl_err err = {{0}};
    tpl_trainlog log;
    int rc = tpl_trainlog_read(&log, path, &err);
    if (!rc) {
        char def[256];
        if (!title) {
            const char *slash = strrchr(path, '/');
            snprintf(def, sizeof def, "training curves: %s", slash ? slash + 1 : path);
            title = def;
        }
        rc = tpl_curves_write(&log, metric, title, png, svg, &err);
    }
    if (rc) {
        fprintf(stderr, "templar plot: %s\n", err.msg);
    } else {
        warn_skipped(path, &log);
        printf("%s: %d record%s of %d task%s -> %s%s%s\n", path, log.lines,
               log.lines == 1 ? "" : "s", log.n_tasks, log.n_tasks == 1 ? "" : "s",
               svg ? svg : "", svg && png ? ", " : "", png ? png : "");
    }
    tpl_trainlog_free(&log);
    return rc ? 1 : 0;
}

static int run(int argc, char **argv) {
    const char *out = NULL, *png = NULL, *metric_name = "both", *title = NULL, *pos[1];
    int force = 0, npos;
    const arg_spec specs[] = {
        {"out", ARG_STR, &out, "the figure: SVG, or PNG when it ends .png (default: LOG as .svg)",
         0, 0},
        {"png", ARG_STR, &png, "also (or only, without --out) a PNG", 0, 0},
        {"metric", ARG_STR, &metric_name, "loss, acc or both", 0, 0},
        {"title", ARG_STR, &title, "title (default: the log's name)", 0, 0},
        {"force", ARG_BOOL, &force, "replace an existing output file", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    static const char usage[] = "LOG.jsonl [--out curves.svg] [--png curves.png] [flags]";
    const int rc = args_parse("plot", usage, (const arg_spec *const[]){specs, NULL}, argc, argv, 2,
                              pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar plot: which log? (usage: templar plot %s)\n", usage);
        return 2;
    }
    tpl_curves_metric metric;
    if (parse_metric(metric_name, &metric)) {
        fprintf(stderr, "templar plot: --metric %s: want loss, acc or both\n", metric_name);
        return 2;
    }
    const char *svg = out, *png_path = png;
    if (out && ends_with(out, ".png")) {
        if (png) {
            fprintf(stderr, "templar plot: --out %s and --png %s: two PNGs, want one\n", out, png);
            return 2;
        }
        svg = NULL, png_path = out;
    }
    char *def = NULL;
    if (!svg && !png_path) svg = def = default_path(pos[0], ".svg");
    if (!svg && !png_path) {
        fprintf(stderr, "templar plot: out of memory\n");
        return 1;
    }
    int status = check_outputs(pos[0], svg, png_path, force);
    if (!status) status = plot(pos[0], svg, png_path, metric, title);
    free(def);
    return status;
}

const cli_command cli_command_plot = {"plot", 85, "loss and accuracy curves of a training log (SVG, PNG)", run};
