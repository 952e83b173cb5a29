/* Small shared helpers: error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "templar.h"

void tpl_err_set(tpl_err *err, const char *fmt, ...) {
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}
