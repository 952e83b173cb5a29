/* templar data digits: builds the four digits domains (handwritten, optical,
 * printed, blended; see domains.h) from offline Debian sources and writes
 * each as a 3-channel 28x28 IDX directory OUT/NAME, so that
 *
 *   templar train --tasks handwritten=idx:OUT/handwritten,printed=idx:OUT/printed
 *
 * trains any subset on one bank.  The output (and --preview's file) is
 * checked before the work, and a domain is written whole or not at all: a
 * failure leaves one line on stderr, no half-written domain, and OUT removed
 * again if this run made it and nothing got into it. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "domains.h"
#include "plot.h"

#define PREVIEW_PER_ROW 16

typedef struct data_flags {
    const char *out, *preview;
    int seed, printed, blended;
} data_flags;

/* 0 to go on, 1 after --help, 2 on a usage error (one line printed). */
static int parse_flags(int argc, char **argv, data_flags *f) {
    *f = (data_flags){.seed = TPL_TASK_SPLIT_SEED, .printed = TPL_PRINTED_PER_CLASS,
                      .blended = TPL_BLENDED_MAX_PER_CLASS};
    const arg_spec specs[] = {
        {"out", ARG_STR, &f->out, "directory for the domains, one IDX directory each (made if missing)", 0, 0},
        {"seed", ARG_INT, &f->seed, "seed of every random choice and of the 80/20 splits", 0, INT_MAX},
        {"printed-per-class", ARG_INT, &f->printed, "printed images of each digit", TPL_DOMAIN_MIN_PER_CLASS, TPL_PRINTED_MAX_PER_CLASS},
        {"blended-per-class", ARG_INT, &f->blended, "blended images of each digit (at most all 500 of digits.png)", TPL_DOMAIN_MIN_PER_CLASS, TPL_BLENDED_MAX_PER_CLASS},
        {"preview", ARG_STR, &f->preview, "also write a PNG of samples, a row per domain", 0, 0},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    int npos;
    int rc = args_parse("data", "digits --out DIR [flags]", (const arg_spec *const[]){specs, NULL},
                        argc, argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 1 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar data: which data set? (usage: templar data digits --out DIR)\n");
        return 2;
    }
    if (strcmp(pos[0], "digits")) {
        fprintf(stderr, "templar data: unknown data set '%s' (known: digits)\n", pos[0]);
        return 2;
    }
    if (!f->out || !*f->out) {
        fprintf(stderr, "templar data: --out DIR is required (see templar data --help)\n");
        return 2;
    }
    return 0;
}

/* Builds and writes; the preview goes last, after the domains are in place. */
static int build(const data_flags *f, tpl_domain *dom, tpl_err *err) {
    tpl_digits_opts o;
    tpl_digits_opts_default(&o);
    o.seed = (uint64_t)f->seed;
    o.printed_per_class = f->printed;
    o.blended_per_class = f->blended;
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

int cmd_data(int argc, char **argv) {
    data_flags f;
    int rc = parse_flags(argc, argv, &f);
    if (rc) return rc == 1 ? 0 : 2;
    tpl_err err = {{0}};
    tpl_domain dom[TPL_N_DOMAINS] = {{0}};
    int created = 0;
    if (tpl_domains_prepare(f.out, tpl_domain_names, TPL_N_DOMAINS, &created, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        return 1;
    }
    if (f.preview && cli_check_writable(f.preview)) {
        if (created) rmdir(f.out);
        return 1;
    }
    if (build(&f, dom, &err)) {
        fprintf(stderr, "templar data: %s\n", err.msg);
        tpl_domains_free(dom, TPL_N_DOMAINS);
        if (created) rmdir(f.out); /* only when empty: a written domain stays */
        return 1;
    }
    for (int i = 0; i < TPL_N_DOMAINS; i++)
        printf("domain=%s train=%d test=%d shape=%dx%dx%d dir=%s/%s\n", dom[i].name,
               dom[i].train.n, dom[i].test.n, dom[i].train.c, dom[i].train.h, dom[i].train.w,
               f.out, dom[i].name);
    tpl_domains_free(dom, TPL_N_DOMAINS);
    return 0;
}
