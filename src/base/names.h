/* Name tables (an enum's names, indexed by its values): lookup, and the
 * list of them for a message ("a, b or c"). */
#ifndef TPL_NAMES_H
#define TPL_NAMES_H
#include <stddef.h>

/* Index of name in names[0..n), or -1. */
int tpl_name_find(const char *const *names, int n, const char *name);
/* "a, b or c" into buf (truncated to cap). */
void tpl_name_list(const char *const *names, int n, char *buf, size_t cap);
#endif
