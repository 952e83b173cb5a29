/* --precision of the commands that run a model: fp32, bf16, or auto.
 * Training's auto is tpl_precision_auto_for (bf16 where oneDNN has AMX
 * kernels, fp32 elsewhere and for inverted blocks); eval's and predict's auto is the model file's own
 * precision (which a CPU without AVX-512 BF16 runs in fp32). */
#ifndef TPL_CLI_PRECISION_H
#define TPL_CLI_PRECISION_H
#include "templar.h"

/* Checks the flag's value: a name, and bf16 only on a CPU that has it.
 * Returns 0, or -1 with one line in err. */
int cli_precision_check(const char *value, tpl_err *err);
/* The same as a usage error: 0 when the value is good, else 2 after one
 * line "templar CMD: ..." on stderr. */
int cli_precision_usage(const char *cmd, const char *value);
/* Runs m in the precision the flag names; "auto" keeps m's when keep_auto,
 * else picks the CPU's best.  Returns 0, or -1 with err set. */
int cli_precision_apply(tpl_model *m, const char *value, int keep_auto, tpl_err *err);
#endif
