#include "names.h"

#include <stdio.h>
#include <string.h>

int tpl_name_find(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], name)) return i;
    return -1;
}

void tpl_name_list(const char *const *names, int n, char *buf, size_t cap) {
    size_t k = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ",
                              names[i]);
}
