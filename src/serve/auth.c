/* Bearer tokens (see auth.h). */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *serve_token_load(const char *path, tpl_err *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        tpl_err_set(err, "%s: cannot read the token file (%s)", path, strerror(errno));
        return NULL;
    }
    char line[4096];
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    size_t n = got ? strlen(line) : 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
        line[--n] = 0;
    if (!n) {
        tpl_err_set(err, "%s: the token file's first line is empty", path);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] <= ' ' || line[i] == 0x7f) {
            tpl_err_set(err, "%s: the token holds a space or control character", path);
            return NULL;
        }
    char *token = strdup(line);
    if (!token) tpl_err_set(err, "out of memory");
    return token;
}

int serve_equal_const_time(const void *a, const void *b, size_t n) {
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) diff |= x[i] ^ y[i];
    return diff == 0;
}

int serve_token_matches(const char *token, const char *authorization) {
    static const char scheme[] = "Bearer ";
    if (!token || !authorization || strncasecmp(authorization, scheme, sizeof scheme - 1)) return 0;
    const char *given = authorization + sizeof scheme - 1;
    const size_t want = strlen(token), got = strlen(given);
    /* the bytes compared are always the token's length: a wrong length
     * costs the same as a wrong byte */
    const int same = serve_equal_const_time(token, got == want ? given : token, want);
    return same & (got == want);
}
