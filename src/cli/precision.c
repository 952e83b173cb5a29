/* --precision: see precision.h. */
#include "precision.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

int cli_precision_check(const char *value, tpl_err *err) {
    if (!value || !strcmp(value, "auto")) return 0;
    int p = tpl_precision_parse(value);
    if (p < 0) {
        tpl_err_set(err, "--precision: '%s' is not fp32, bf16 or auto", value);
        return -1;
    }
    if (!tpl_precision_supported((tpl_precision)p)) {
        tpl_err_set(err, "--precision %s: this CPU has no AVX-512 BF16 (oneDNN runs %s); use fp32",
                    value, tpl_engine_isa());
        return -1;
    }
    return 0;
}

int cli_precision_usage(const char *cmd, const char *value) {
    tpl_err err = {{0}};
    if (!cli_precision_check(value, &err)) return 0;
    fprintf(stderr, "templar %s: %s\n", cmd, err.msg);
    return 2;
}

int cli_precision_apply(tpl_model *m, const char *value, int keep_auto, tpl_err *err) {
    if (cli_precision_check(value, err)) return -1;
    tpl_precision p;
    if (value && strcmp(value, "auto")) p = (tpl_precision)tpl_precision_parse(value);
    else if (keep_auto) return 0;
    else p = tpl_precision_auto_for(tpl_model_config(m));
    return tpl_model_set_precision(m, p, err);
}
