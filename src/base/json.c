/* A small, strict, bounded JSON cursor and JSON-writing helpers; see json.h. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failf(tpl_json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int failf(tpl_json *j, const char *fmt, ...) {
    char what[112];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(j->err, sizeof j->err, "%s at byte %zu", what, j->pos);
    return -1;
}

void tpl_json_init(tpl_json *j, const char *s, size_t len) {
    memset(j, 0, sizeof *j);
    j->s = s;
    j->len = len;
}

int tpl_json_peek(tpl_json *j) {
    while (j->pos < j->len) {
        char c = j->s[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return (unsigned char)c;
        j->pos++;
    }
    return -1;
}

int tpl_json_open(tpl_json *j, char open) {
    if (tpl_json_peek(j) != open)
        return failf(j, "expected '%c'", open);
    if (j->depth >= TPL_JSON_MAX_DEPTH)
        return failf(j, "nesting deeper than %d", TPL_JSON_MAX_DEPTH);
    j->pos++;
    j->depth++;
    return 0;
}

int tpl_json_more(tpl_json *j, char close, int *count) {
    int c = tpl_json_peek(j);
    if (c == close) {
        j->pos++;
        j->depth--;
        return 0;
    }
    if (c < 0) return failf(j, "unexpected end of text, expected '%c'", close);
    if (*count > 0) {
        if (c != ',') return failf(j, "expected ',' or '%c'", close);
        j->pos++;
    }
    (*count)++;
    return 1;
}

int tpl_json_colon(tpl_json *j) {
    if (tpl_json_peek(j) != ':') return failf(j, "expected ':'");
    j->pos++;
    return 0;
}

int tpl_json_end(tpl_json *j) {
    if (tpl_json_peek(j) >= 0) return failf(j, "unexpected text after the end");
    return 0;
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        need = 2;
    } else if (c < 0xF0) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c < 0xF5) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return need;
}

int tpl_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

static size_t utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- strings -------------------------------------------------------------- */

/* Four hex digits at j->pos (after "\u"), consumed. */
static int hex4(tpl_json *j, uint32_t *out) {
    uint32_t v = 0;
    if (j->len - j->pos < 4) return failf(j, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = j->s[j->pos + i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return failf(j, "bad hex digit in \\u escape");
        v = v * 16 + (uint32_t)d;
    }
    j->pos += 4;
    *out = v;
    return 0;
}

/* The code point of a \u escape whose "\u" is consumed; joins surrogates. */
static int unicode_escape(tpl_json *j, uint32_t *cp) {
    uint32_t lo;
    if (hex4(j, cp)) return -1;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return failf(j, "unpaired low surrogate in \\u escape");
    if (*cp == 0) return failf(j, "\\u0000 in string");
    if (*cp < 0xD800 || *cp > 0xDBFF) return 0;
    if (j->len - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
        return failf(j, "unpaired high surrogate in \\u escape");
    j->pos += 2;
    if (hex4(j, &lo)) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return failf(j, "unpaired high surrogate in \\u escape");
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return 0;
}

/* One escape sequence after its backslash (consumed); the decoded bytes go
 * to out (when not NULL), their count to *n. */
static int escape(tpl_json *j, char *out, size_t *n) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char buf[4];
    uint32_t cp;
    if (j->pos >= j->len) return failf(j, "unterminated string");
    char c = j->s[j->pos++];
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        *n = 1;
        if (out) out[0] = to[hit - from];
        return 0;
    }
    if (c != 'u') {
        j->pos--;
        return failf(j, "bad escape in string");
    }
    if (unicode_escape(j, &cp)) return -1;
    *n = utf8_put(buf, cp);
    if (out) memcpy(out, buf, *n);
    return 0;
}

/* The string body from j->pos (after the opening quote) through the closing
 * quote, checked, and decoded into out when out is not NULL. */
static int string_body(tpl_json *j, char *out) {
    size_t o = 0, n = 0;
    for (;;) {
        if (j->pos >= j->len) return failf(j, "unterminated string");
        unsigned char c = (unsigned char)j->s[j->pos];
        if (c == '"') break;
        if (c < 0x20) return failf(j, "control character in string");
        if (c == '\\') {
            j->pos++;
            if (escape(j, out ? out + o : NULL, &n)) return -1;
        } else {
            n = utf8_seq((const unsigned char *)j->s + j->pos, j->len - j->pos);
            if (!n) return failf(j, "invalid UTF-8 in string");
            if (out) memcpy(out + o, j->s + j->pos, n);
            j->pos += n;
        }
        o += n;
    }
    j->pos++;
    if (out) out[o] = '\0';
    return 0;
}

/* Raw length of the string body starting at pos (an upper bound of its
 * decoded length: no escape decodes to more bytes than it takes). */
static size_t raw_span(const tpl_json *j) {
    size_t i = j->pos;
    while (i < j->len && j->s[i] != '"') i += j->s[i] == '\\' ? 2 : 1;
    return (i < j->len ? i : j->len) - j->pos;
}

int tpl_json_string(tpl_json *j, char **out) {
    *out = NULL;
    if (tpl_json_peek(j) != '"') return failf(j, "expected a string");
    j->pos++;
    char *s = malloc(raw_span(j) + 1);
    if (!s) return failf(j, "out of memory");
    if (string_body(j, s)) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* ---- numbers and literals ------------------------------------------------- */

static int is_digit(tpl_json *j) {
    return j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9';
}

static int is_char(tpl_json *j, const char *set) {
    return j->pos < j->len && j->s[j->pos] && strchr(set, j->s[j->pos]);
}

int tpl_json_uint(tpl_json *j, uint64_t *out) {
    uint64_t v = 0;
    tpl_json_peek(j);
    if (!is_digit(j)) return failf(j, "expected a non-negative integer");
    size_t start = j->pos;
    while (is_digit(j)) {
        v = v * 10 + (uint64_t)(j->s[j->pos++] - '0');
        if (v > TPL_JSON_MAX_INT) return failf(j, "integer larger than 2^53");
    }
    if (j->pos - start > 1 && j->s[start] == '0')
        return failf(j, "integer with a leading zero");
    if (is_char(j, ".eE")) return failf(j, "expected an integer, found a fraction or exponent");
    *out = v;
    return 0;
}

static int digits(tpl_json *j) {
    if (!is_digit(j)) return failf(j, "expected a digit");
    while (is_digit(j)) j->pos++;
    return 0;
}

static int number(tpl_json *j) {
    if (is_char(j, "-")) j->pos++;
    if (is_char(j, "0")) {
        j->pos++;
    } else if (digits(j)) {
        return -1;
    }
    if (is_char(j, ".")) {
        j->pos++;
        if (digits(j)) return -1;
    }
    if (is_char(j, "eE")) {
        j->pos++;
        if (is_char(j, "+-")) j->pos++;
        if (digits(j)) return -1;
    }
    return 0;
}

static int literal(tpl_json *j) {
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (j->len - j->pos >= n && !memcmp(j->s + j->pos, words[i], n)) {
            j->pos += n;
            return 0;
        }
    }
    return failf(j, "expected a JSON value");
}

static int skip_container(tpl_json *j, char open, char close) {
    int count = 0, r;
    if (tpl_json_open(j, open)) return -1;
    while ((r = tpl_json_more(j, close, &count)) == 1) {
        if (open == '{') {
            if (tpl_json_peek(j) != '"') return failf(j, "expected a string");
            j->pos++;
            if (string_body(j, NULL) || tpl_json_colon(j)) return -1;
        }
        if (tpl_json_skip(j)) return -1;
    }
    return r;
}

int tpl_json_skip(tpl_json *j) {
    int c = tpl_json_peek(j);
    if (c == '{') return skip_container(j, '{', '}');
    if (c == '[') return skip_container(j, '[', ']');
    if (c == '"') {
        j->pos++;
        return string_body(j, NULL);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(j);
    if (c < 0) return failf(j, "unexpected end of text, expected a value");
    return literal(j);
}

/* ---- writing -------------------------------------------------------------- */

static int buf_reserve(tpl_buf *b, size_t extra) {
    if (b->failed) return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
    if (need <= b->cap) return 0;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void tpl_buf_put(tpl_buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tpl_buf_puts(tpl_buf *b, const char *s) { tpl_buf_put(b, s, strlen(s)); }

void tpl_buf_printf(tpl_buf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) b->failed = 1;
    if (n >= 0 && !buf_reserve(b, (size_t)n)) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void tpl_buf_json_string(tpl_buf *b, const char *s) {
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    tpl_buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *hit = strchr(from, *s);
        if (hit) {
            char esc[2] = {'\\', to[hit - from]};
            tpl_buf_put(b, esc, 2);
        } else if (c < 0x20 || c == 0x7F) {
            tpl_buf_printf(b, "\\u%04x", c);
        } else {
            tpl_buf_put(b, s, 1);
        }
    }
    tpl_buf_put(b, "\"", 1);
}

void tpl_buf_free(tpl_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
