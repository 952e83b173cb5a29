/* Bearer tokens for the requests that change tasks (PUT, DELETE): the
 * token is the first line of --token-file, and a request's
 * "Authorization: Bearer TOKEN" is compared with it in time that does not
 * depend on where they differ. */
#ifndef TPL_SERVE_AUTH_H
#define TPL_SERVE_AUTH_H
#include <stddef.h>

#include "templar.h"

/* The token in path (its first line, without the line end and trailing
 * spaces), malloc'd; NULL with err when it cannot be read or is empty. */
char *serve_token_load(const char *path, tpl_err *err);
/* 1 when authorization (a header value, may be NULL) is "Bearer " + token. */
int serve_token_matches(const char *token, const char *authorization);
/* a[0..n) == b[0..n), in time that depends on n alone. */
int serve_equal_const_time(const void *a, const void *b, size_t n);
#endif
