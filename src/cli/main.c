/* templar: train, evaluate and inspect template-bank networks. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "safetensors.h"

#define COMMAND(name) extern const cli_command cli_command_##name;
#include "commands.inc"
#undef COMMAND
#define COMMAND(name) &cli_command_##name,
static const cli_command *const commands[] = {
#include "commands.inc"
};
#undef COMMAND
enum { N_COMMANDS = sizeof commands / sizeof *commands };

static void usage(FILE *f) {
    fprintf(f, "templar %s: compositional networks from a bank of template blocks\n\n"
               "usage: templar COMMAND [flags]\n\ncommands:\n", TEMPLAR_VERSION);
    int done[N_COMMANDS] = {0};
    for (int i = 0; i < N_COMMANDS; i++) { /* in rank order */
        int next = -1;
        for (int j = 0; j < N_COMMANDS; j++)
            if (!done[j] && (next < 0 || commands[j]->rank < commands[next]->rank)) next = j;
        done[next] = 1;
        fprintf(f, "  %-9s %s\n", commands[next]->name, commands[next]->what);
    }
    fprintf(f, "\nRun 'templar COMMAND --help' for the flags of a command; "
               "'templar --version' for the version.\n");
}

void cli_set_threads(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
}

char *cli_recorded_sources(const char *path) { return cli_recorded(path, "data"); }

char *cli_recorded(const char *path, const char *key) {
    tpl_err ignored;
    tpl_st_file *f = tpl_st_open(path, &ignored);
    const char *v = f ? tpl_st_meta(f, key) : NULL;
    char *copy = v ? strdup(v) : NULL;
    tpl_st_close(f);
    return copy;
}

int cli_check_writable(const char *path, tpl_err *err) {
    char probe[4096];
    snprintf(probe, sizeof probe, "%s.tmp.check.%d", path, (int)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        tpl_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int cli_same_file(const char *a, const char *b) {
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

int cli_check_out(const char *out, int force, const char *protect, tpl_err *err) {
    struct stat st;
    if (cli_same_file(out, protect)) {
        tpl_err_set(err, "%s: is the model this command reads: write the result elsewhere (--out)",
                    out);
        return -1;
    }
    if (stat(out, &st) == 0 && !force) {
        tpl_err_set(err, "%s: exists; give --force to replace it, or another output", out);
        return -1;
    }
    return cli_check_writable(out, err);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("templar %s\n", TEMPLAR_VERSION);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i]->name)) return commands[i]->run(argc, argv);
    fprintf(stderr, "templar: unknown command '%s' (see templar --help)\n", argv[1]);
    return 2;
}
