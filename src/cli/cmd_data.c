/* templar data: builds data sets from offline Debian sources.
 *
 *   digits   the four digits domains (handwritten, optical, printed,
 *            blended; see domains.h), each a 3-channel 28x28 IDX directory
 *            OUT/NAME, so that
 *              templar train --tasks handwritten=idx:OUT/handwritten,printed=idx:OUT/printed
 *            trains any subset on one bank
 *   scripts  the script suite (see scripts.h): one task per writing system,
 *            grey 32x32 letters from the Noto fonts, disjoint train and test
 *            fonts, as class folders OUT/SCRIPT/{train,test}/CLASS/NNNN.png
 *            that a task source SCRIPT=folder:OUT/SCRIPT reads, and a
 *            preview OUT/preview.png
 *
 * The output (and --preview's file) is checked before the work, and a
 * domain or script is written whole or not at all: a failure leaves one
 * line on stderr, nothing half-written, and OUT removed again if this run
 * made it and nothing got into it. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "domains.h"
#include "plot.h"
#include "scripts.h"

#define PREVIEW_PER_ROW 16
#define SETS "digits, scripts"

typedef struct data_flags {
    const char *out, *preview, *scripts;
    int seed, printed, blended, copies, train, test;
} data_flags;

static void defaults(data_flags *f) {
    *f = (data_flags){.seed = TPL_TASK_SPLIT_SEED, .printed = TPL_PRINTED_PER_CLASS,
                      .blended = TPL_BLENDED_MAX_PER_CLASS, .copies = TPL_BLENDED_COPIES,
                      .train = TPL_SCRIPT_TRAIN_PER_CLASS, .test = TPL_SCRIPT_TEST_PER_CLASS};
}

/* Each table ends with its NULL entry: N flags, N + 1 entries. */
#define N_DIGITS_SPECS 6
static void digits_specs(data_flags *f, arg_spec *s) {
    const arg_spec specs[N_DIGITS_SPECS + 1] = {
        {"out", ARG_STR, &f->out, "directory for the domains, one IDX directory each (made if missing)", 0, 0},
        {"seed", ARG_INT, &f->seed, "seed of every random choice and of the 80/20 splits", 0, INT_MAX},
        {"printed-per-class", ARG_INT, &f->printed, "printed images of each digit", TPL_DOMAIN_MIN_PER_CLASS, TPL_PRINTED_MAX_PER_CLASS},
        {"blended-per-class", ARG_INT, &f->blended, "handwritten digits of each class that blended uses (at most all 500 of digits.png), each giving --blended-copies images", TPL_DOMAIN_MIN_PER_CLASS, TPL_BLENDED_MAX_PER_CLASS},
        {"blended-copies", ARG_INT, &f->copies, "blended images of each handwritten digit, over that many random photo patches (all copies of a digit in one half: the default, 3, gives 12000 train / 3000 test)", 1, TPL_BLENDED_MAX_COPIES},
        {"preview", ARG_STR, &f->preview, "also write a PNG of samples, a row per domain", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    memcpy(s, specs, sizeof specs);
}

#define N_SCRIPTS_SPECS 5
static void scripts_specs(data_flags *f, arg_spec *s) {
    const arg_spec specs[N_SCRIPTS_SPECS + 1] = {
        {"out", ARG_STR, &f->out, "directory for the suite, one folder per script (made if missing)", 0, 0},
        {"seed", ARG_INT, &f->seed, "seed of every random choice, and of which fonts are held out for test", 0, INT_MAX},
        {"scripts", ARG_STR, &f->scripts, "comma-separated scripts to build (default: all 14)", 0, 0},
        {"train-per-class", ARG_INT, &f->train, "training images of each letter", 1, TPL_SCRIPT_MAX_PER_CLASS},
        {"test-per-class", ARG_INT, &f->test, "test images of each letter (in the held-out fonts)", 1, TPL_SCRIPT_MAX_PER_CLASS},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    memcpy(s, specs, sizeof specs);
}

/* The data set named on the command line: the first argument that is not a
 * flag or a flag's value (every flag of both sets takes a value). */
static const char *set_name(int argc, char **argv, int *at) {
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return NULL;
        if (strncmp(argv[i], "--", 2)) {
            *at = i;
            return argv[i];
        }
        if (!strchr(argv[i], '=')) i++;
    }
    return NULL;
}

static void usage_all(data_flags *f) {
    arg_spec d[N_DIGITS_SPECS + 1], s[N_SCRIPTS_SPECS + 1];
    digits_specs(f, d);
    scripts_specs(f, s);
    args_usage("data", "digits --out DIR [flags]", (const arg_spec *const[]){d, NULL});
    printf("\n");
    args_usage("data", "scripts --out DIR [flags]", (const arg_spec *const[]){s, NULL});
}

/* 0 to go on, 1 after --help, 2 on a usage error (one line printed); *set
 * is 'd' (digits) or 's' (scripts). */
static int parse_flags(int argc, char **argv, data_flags *f, char *set) {
    defaults(f);
    int at = 0;
    const char *name = set_name(argc, argv, &at);
    if (!name) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                usage_all(f);
                return 1;
            }
        fprintf(stderr, "templar data: which data set? (usage: templar data digits|scripts --out DIR)\n");
        return 2;
    }
    if (strcmp(name, "digits") && strcmp(name, "scripts")) {
        fprintf(stderr, "templar data: unknown data set '%s' (known: " SETS ")\n", name);
        return 2;
    }
    *set = name[0];
    arg_spec specs[(N_DIGITS_SPECS > N_SCRIPTS_SPECS ? N_DIGITS_SPECS : N_SCRIPTS_SPECS) + 1];
    if (*set == 'd') digits_specs(f, specs);
    else scripts_specs(f, specs);
    char *rest[argc];
    int m = 0;
    for (int i = 0; i < argc; i++)
        if (i != at) rest[m++] = argv[i];
    const char *pos[1];
    int npos;
    int rc = args_parse("data", *set == 'd' ? "digits --out DIR [flags]" : "scripts --out DIR [flags]",
                        (const arg_spec *const[]){specs, NULL}, m, rest, 2, pos, 0, &npos);
    if (rc) return rc > 0 ? 1 : 2;
    if (!f->out || !*f->out) {
        fprintf(stderr, "templar data: --out DIR is required (see templar data --help)\n");
        return 2;
    }
    return 0;
}

/* ---- digits ------------------------------------------------------------------ */

/* Builds and writes; the preview goes last, after the domains are in place. */
static int build_digits(const data_flags *f, tpl_domain *dom, tpl_err *err) {
    tpl_digits_opts o;
    tpl_digits_opts_default(&o);
    o.seed = (uint64_t)f->seed;
    o.printed_per_class = f->printed;
    o.blended_per_class = f->blended;
    o.blended_copies = f->copies;
    o.progress = stderr;
    if (tpl_digits_check_sources(&o, err) || tpl_digits_build(&o, dom, err)) return -1;
    fprintf(stderr, "writing %s\n", f->out);
    if (tpl_domains_save(f->out, dom, TPL_N_DOMAINS, err)) return -1;
    const tpl_dataset *sets[TPL_N_DOMAINS];
    for (int d = 0; d < TPL_N_DOMAINS; d++) sets[d] = &dom[d].train;
    return f->preview ? tpl_samples_preview(f->preview, tpl_domain_names, sets, TPL_N_DOMAINS,
                                            PREVIEW_PER_ROW, err)
                      : 0;
}

static int data_digits(const data_flags *f) {
    tpl_err err = {{0}};
    tpl_domain dom[TPL_N_DOMAINS] = {{0}};
    int created = 0;
    if (tpl_domains_prepare(f->out, tpl_domain_names, TPL_N_DOMAINS, &created, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        return 1;
    }
    if (f->preview && cli_check_writable(f->preview, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        if (created) rmdir(f->out);
        return 1;
    }
    if (build_digits(f, dom, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        tpl_domains_free(dom, TPL_N_DOMAINS);
        if (created) rmdir(f->out); /* only when empty: a written domain stays */
        return 1;
    }
    for (int i = 0; i < TPL_N_DOMAINS; i++)
        printf("domain=%s train=%d test=%d shape=%dx%dx%d dir=%s/%s\n", dom[i].name,
               dom[i].train.n, dom[i].test.n, dom[i].train.c, dom[i].train.h, dom[i].train.w,
               f->out, dom[i].name);
    tpl_domains_free(dom, TPL_N_DOMAINS);
    return 0;
}

/* ---- scripts ----------------------------------------------------------------- */

/* OUT/preview.png: a row of train and a row of test images per script. */
static int scripts_preview(const char *out, const int *which, int n, const tpl_dataset *rows,
                           tpl_err *err) {
    char path[4096], label[2 * TPL_N_SCRIPTS][32];
    const char *names[2 * TPL_N_SCRIPTS];
    const tpl_dataset *sets[2 * TPL_N_SCRIPTS];
    for (int k = 0; k < 2 * n; k++) {
        snprintf(label[k], sizeof label[k], "%s %s", tpl_scripts[which[k / 2]].name,
                 k % 2 ? "test" : "train");
        names[k] = label[k];
        sets[k] = &rows[k];
    }
    snprintf(path, sizeof path, "%s/preview.png", out);
    return tpl_samples_preview(path, names, sets, 2 * n, PREVIEW_PER_ROW, err);
}

static int data_scripts(const data_flags *f) {
    tpl_err err = {{0}};
    tpl_scripts_opts o;
    tpl_scripts_opts_default(&o);
    o.seed = (uint64_t)f->seed;
    o.train_per_class = f->train;
    o.test_per_class = f->test;
    o.progress = stderr;
    int which[TPL_N_SCRIPTS], n, created = 0;
    tpl_dataset rows[2 * TPL_N_SCRIPTS];
    if (tpl_scripts_select(f->scripts, which, &n, &err)) {
        fprintf(stderr, "templar data: --scripts: %s\n", err.msg);
        return 2;
    }
    if (tpl_scripts_prepare(f->out, which, n, &created, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        return 1;
    }
    if (tpl_scripts_save(f->out, &o, which, n, rows, PREVIEW_PER_ROW, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        if (created) rmdir(f->out); /* only when empty: a written script stays */
        return 1;
    }
    int rc = scripts_preview(f->out, which, n, rows, &err);
    if (rc) fprintf(stderr, "templar data: %s\n", err.msg);
    for (int k = 0; k < n && !rc; k++) {
        const tpl_script *s = &tpl_scripts[which[k]];
        printf("script=%s classes=%d train=%d test=%d shape=1x%dx%d dir=%s/%s\n", s->name, s->n,
               s->n * f->train, s->n * f->test, TPL_SCRIPT_SIDE, TPL_SCRIPT_SIDE, f->out,
               s->name);
    }
    for (int k = 0; k < 2 * n; k++) tpl_dataset_free(&rows[k]);
    return rc ? 1 : 0;
}

static int run(int argc, char **argv) {
    data_flags f;
    char set = 0;
    int rc = parse_flags(argc, argv, &f, &set);
    if (rc) return rc == 1 ? 0 : 2;
    return set == 'd' ? data_digits(&f) : data_scripts(&f);
}

const cli_command cli_command_data = {"data", 90, "build data sets (digits: four domains; scripts: a character suite)", run};
