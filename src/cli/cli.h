/* The templar command-line tool: one file per command. */
#ifndef TPL_CLI_H
#define TPL_CLI_H
#include "tasks.h"

/* A command: each src/cli/cmd_NAME.c defines cli_command_NAME, and the
 * build lists every such file (commands.inc), so adding a command is
 * adding its file. */
typedef struct cli_command {
    const char *name;
    int rank;          /* place in `templar --help` (lower first) */
    const char *what;  /* one line for `templar --help` */
    int (*run)(int argc, char **argv); /* argv[1] is the command's name */
} cli_command;
/* Default data directory: Debian's dataset-fashion-mnist. */
#define DEFAULT_DATA TPL_FASHION_DIR
/* Sets the thread count of OpenMP (and so of oneDNN); 0 = all cores. */
void cli_set_threads(int threads);
/* The "data" metadata of a model file (its tasks' sources, as train and
 * transfer record them), malloc'd; NULL when there is none. */
char *cli_recorded_sources(const char *path);
/* Any metadata value of a model file (malloc'd), or NULL. */
char *cli_recorded(const char *path, const char *key);
/* Whether a and b name one existing file. */
int cli_same_file(const char *a, const char *b);
/* An output may be written: never over protect (the input it is made
 * from), over an existing file only when force, and its directory must
 * take a new file.  One line in err otherwise. */
int cli_check_out(const char *out, int force, const char *protect, tpl_err *err);
/* Fails early, with one line in err, if path cannot be written. */
int cli_check_writable(const char *path, tpl_err *err);
#endif
