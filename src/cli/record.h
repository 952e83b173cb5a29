/* What a training run records of itself, in its model file and as the
 * first line of its log: the templar version, the command line, every
 * flag's value (defaults included), the threads and the data sources (the
 * log adds the start time: a model file's bytes depend only on the run);
 * and --resume, which runs a recorded command line again. */
#ifndef TPL_RECORD_H
#define TPL_RECORD_H
#include "args.h"
#include "templar.h"

typedef struct run_record {
    char *argv_json;  /* ["train","--tasks",...]: the command line (without --resume) */
    char *json;       /* {"templar":...,"command":...,"flags":{...},...} */
} run_record;

/* Makes the record of command line argv[1..argc) whose flags were parsed
 * from tables; data is the tasks' sources.  -1 when out of memory. */
int record_make(run_record *rec, int argc, char **argv, const arg_spec *const *tables,
                const char *data, int threads);
void record_free(run_record *rec);

/* A recorded command line (["train",...]) as one to type again, malloc'd;
 * NULL when it does not parse. */
char *record_command_line(const char *argv_json);

/* With --resume FILE among argv's flags: *out is FILE's recorded command
 * line followed by argv's own arguments (which override what they name),
 * malloc'd (free with record_free_argv); without it, *out is argv itself.
 * Errors (unreadable FILE, no record, another command's) are one line. */
int record_resume_argv(int argc, char **argv, int *out_argc, char ***out_argv, tpl_err *err);
void record_free_argv(int argc, char **argv, char **orig);
#endif
