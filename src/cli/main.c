/* templar: train, evaluate and inspect template-bank networks. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"
#include "safetensors.h"

static void usage(FILE *f) {
    fprintf(f,
            "templar: compositional networks from a bank of template blocks\n\n"
            "usage: templar COMMAND [flags]\n\n"
            "commands:\n"
            "  train     train a template-bank ResNet (default: Fashion-MNIST)\n"
            "  eval      test accuracy of a model file on an IDX data set\n"
            "  transfer  learn a new task over a model's frozen templates (mixture, BN, head)\n"
            "  adapt     meet an unlabelled domain by re-mixing the modules (no target labels)\n"
            "  export    one task as a plain network (mixtures baked, BN folded)\n"
            "  predict   classify PNG images with a task of a model\n"
            "  info      architecture, parameter counts and mixtures of a model file\n"
            "  inspect   mixture table, heatmap (PNG, SVG) and where tasks share blocks\n"
            "  data      build data sets (digits: four domains from offline sources)\n"
            "  task      one task of a model as a task file (for serve)\n"
            "  serve     answer HTTP requests for many tasks over one bank\n\n"
            "Run 'templar COMMAND --help' for the flags of a command.\n");
}

void cli_set_threads(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
}

char *cli_recorded_sources(const char *path) {
    tpl_err ignored;
    tpl_st_file *f = tpl_st_open(path, &ignored);
    const char *v = f ? tpl_st_meta(f, "data") : NULL;
    char *copy = v ? strdup(v) : NULL;
    tpl_st_close(f);
    return copy;
}

int cli_check_writable(const char *path) {
    char probe[4096];
    snprintf(probe, sizeof probe, "%s.tmp.check.%d", path, (int)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc, argv);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc, argv);
    if (!strcmp(argv[1], "transfer")) return cmd_transfer(argc, argv);
    if (!strcmp(argv[1], "adapt")) return cmd_adapt(argc, argv);
    if (!strcmp(argv[1], "export")) return cmd_export(argc, argv);
    if (!strcmp(argv[1], "predict")) return cmd_predict(argc, argv);
    if (!strcmp(argv[1], "info")) return cmd_info(argc, argv);
    if (!strcmp(argv[1], "inspect")) return cmd_inspect(argc, argv);
    if (!strcmp(argv[1], "data")) return cmd_data(argc, argv);
    if (!strcmp(argv[1], "task")) return cmd_task(argc, argv);
    if (!strcmp(argv[1], "serve")) return cmd_serve(argc, argv);
    fprintf(stderr, "templar: unknown command '%s' (see templar --help)\n", argv[1]);
    return 2;
}
