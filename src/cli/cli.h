/* The templar command-line tool: one file per command. */
#ifndef TPL_CLI_H
#define TPL_CLI_H
#include "tasks.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_transfer(int argc, char **argv);
int cmd_adapt(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* Default data directory: Debian's dataset-fashion-mnist. */
#define DEFAULT_DATA TPL_FASHION_DIR
/* Sets the thread count of OpenMP (and so of oneDNN); 0 = all cores. */
void cli_set_threads(int threads);
/* The "data" metadata of a model file (its tasks' sources, as train and
 * transfer record them), malloc'd; NULL when there is none. */
char *cli_recorded_sources(const char *path);
/* Fails early, with a clear message, if path cannot be written. */
int cli_check_writable(const char *path);
#endif
