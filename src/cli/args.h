/* Command-line flags: a table per command gives parsing, checking and the
 * --help text in one place.  A command may combine several tables (its own
 * and the training flags every training command shares): each ends with an
 * entry whose name is NULL, and the list of tables with NULL. */
#ifndef TPL_ARGS_H
#define TPL_ARGS_H

typedef enum { ARG_INT, ARG_FLOAT, ARG_STR, ARG_BOOL } arg_kind;

typedef struct arg_spec {
    const char *name;  /* without the leading "--"; NULL ends a table */
    arg_kind kind;
    void *dst;         /* int*, float*, const char**, int* */
    const char *help;
    double lo, hi;     /* accepted range for numbers */
} arg_spec;

/* Parses argv[first..argc): flags from the tables, and up to max_pos
 * positional arguments into pos[].  "--help"/"-h" prints usage and returns
 * 1.  Errors print one line to stderr and return -1. */
int args_parse(const char *cmd, const char *usage, const arg_spec *const *tables, int argc,
               char **argv, int first, const char **pos, int max_pos, int *n_pos);
void args_usage(const char *cmd, const char *usage, const arg_spec *const *tables);
/* Every flag's value but those named in skip (NULL-ended) as a JSON object
 * {"name": value, ...} appended to b (a struct tpl_buf, json.h): what a run
 * records of its settings. */
struct tpl_buf;
void args_json(const arg_spec *const *tables, const char *const *skip, struct tpl_buf *b);
#endif
