/* A small, strict, bounded JSON reader (a cursor, no tree) and the pieces a
 * JSON writer needs: a growable byte buffer and string escaping.
 *
 * The reader walks the text in place: the caller asks for the value it
 * expects next (an object, a string, a non-negative integer, ...) and skips
 * what it does not care about.  Strings come back as NUL-terminated UTF-8
 * (escapes decoded, surrogate pairs joined); raw bytes must be valid UTF-8.
 * Nesting is limited to TPL_JSON_MAX_DEPTH; integers to 2^53.  Every
 * function returns 0 on success and -1 on failure, leaving a one-line reason
 * with the byte offset in j->err. */
#ifndef TPL_JSON_H
#define TPL_JSON_H
#include <stddef.h>
#include <stdint.h>

#define TPL_JSON_MAX_DEPTH 64
#define TPL_JSON_MAX_INT ((uint64_t)1 << 53)

typedef struct tpl_json {
    const char *s;
    size_t len, pos;
    int depth;
    char err[160];
} tpl_json;

void tpl_json_init(tpl_json *j, const char *s, size_t len);
/* Skips whitespace; the next byte, or -1 at the end of the text. */
int tpl_json_peek(tpl_json *j);
/* Consumes open ('{' or '['), entering one nesting level. */
int tpl_json_open(tpl_json *j, char open);
/* Inside an object or array opened with tpl_json_open: 1 if another member
 * follows (the separating ',' consumed), 0 if close was consumed (leaving the
 * level), -1 on a syntax error.  *count is the number of members so far and
 * must start at 0. */
int tpl_json_more(tpl_json *j, char close, int *count);
/* Consumes ':' between an object key and its value. */
int tpl_json_colon(tpl_json *j);
/* A string, decoded into a malloc'd NUL-terminated buffer; \u0000 is refused. */
int tpl_json_string(tpl_json *j, char **out);
/* A non-negative integer <= TPL_JSON_MAX_INT (no sign, fraction or exponent). */
int tpl_json_uint(tpl_json *j, uint64_t *out);
/* Any value, checked and discarded. */
int tpl_json_skip(tpl_json *j);
/* Only whitespace remains. */
int tpl_json_end(tpl_json *j);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int tpl_utf8_valid(const char *s, size_t n);

/* A growable byte buffer; after a failed allocation it stays failed and
 * further appends are ignored, so callers check `failed` once at the end. */
typedef struct tpl_buf {
    char *p;
    size_t len, cap;
    int failed;
} tpl_buf;

void tpl_buf_put(tpl_buf *b, const char *s, size_t n);
void tpl_buf_puts(tpl_buf *b, const char *s);
void tpl_buf_printf(tpl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a quoted JSON string: '"', '\\' and control characters escaped,
 * other bytes (UTF-8) copied as they are. */
void tpl_buf_json_string(tpl_buf *b, const char *s);
void tpl_buf_free(tpl_buf *b);
#endif
