/* JSON (src/base/json.c): the cursor walked over arbitrary text.
 *
 * The text is read twice: once the way a reader that wants every value
 * does it (objects member by member, keys and strings decoded, integers
 * through tpl_json_uint), once with tpl_json_skip.  Both must accept the
 * same texts and stop at the same byte.  Every decoded string must be
 * valid UTF-8 and survive tpl_buf_json_string and a second decode
 * unchanged; every integer must print back as the digits it came from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

static int walk(tpl_json *j);

/* A string value, decoded, then written as JSON and decoded again. */
static int walk_string(tpl_json *j) {
    char *s;
    size_t start = j->pos;
    if (tpl_json_string(j, &s)) return -1;
    size_t n = strlen(s);
    if (n > j->pos - start) fuzz_fail("a string decoded longer than its text");
    if (!tpl_utf8_valid(s, n)) fuzz_fail("a decoded string is not valid UTF-8");
    tpl_buf b = {0};
    tpl_buf_json_string(&b, s);
    if (b.failed) fuzz_fail("tpl_buf_json_string failed");
    tpl_json again;
    char *back = NULL;
    tpl_json_init(&again, b.p, b.len);
    if (tpl_json_string(&again, &back) || tpl_json_end(&again))
        fuzz_fail("a written string does not read back: %s", again.err);
    if (strcmp(s, back)) fuzz_fail("a string changed through write and read");
    free(back);
    tpl_buf_free(&b);
    free(s);
    return 0;
}

/* A number: as a non-negative integer when it is one, else skipped. */
static int walk_number(tpl_json *j) {
    size_t start = j->pos;
    uint64_t v;
    if (tpl_json_uint(j, &v)) {
        j->pos = start; /* not an integer tpl_json_uint takes: skip it instead */
        return tpl_json_skip(j);
    }
    if (v > TPL_JSON_MAX_INT) fuzz_fail("integer %llu above 2^53", (unsigned long long)v);
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    if ((size_t)len != j->pos - start || memcmp(digits, j->s + start, (size_t)len))
        fuzz_fail("integer %s does not print as its text", digits);
    return 0;
}

static int walk_container(tpl_json *j, char open, char close) {
    int count = 0, r;
    if (tpl_json_open(j, open)) return -1;
    while ((r = tpl_json_more(j, close, &count)) == 1) {
        if (open == '{' && (walk_string(j) || tpl_json_colon(j))) return -1;
        if (walk(j)) return -1;
    }
    return r;
}

static int walk(tpl_json *j) {
    int c = tpl_json_peek(j);
    if (c == '{') return walk_container(j, '{', '}');
    if (c == '[') return walk_container(j, '[', ']');
    if (c == '"') return walk_string(j);
    if (c >= '0' && c <= '9') return walk_number(j);
    return tpl_json_skip(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    tpl_json a, b;
    tpl_json_init(&a, text, size);
    tpl_json_init(&b, text, size);
    int ra = walk(&a) || tpl_json_end(&a);
    int rb = tpl_json_skip(&b) || tpl_json_end(&b);
    if (ra != rb || a.pos != b.pos)
        fuzz_fail("walking %s at byte %zu, skipping %s at byte %zu (%s | %s)",
                  ra ? "fails" : "succeeds", a.pos, rb ? "fails" : "succeeds", b.pos,
                  ra ? a.err : "", rb ? b.err : "");
    if (ra) fuzz_check_error(a.err);
    if (!ra && (a.depth || b.depth)) fuzz_fail("nesting depth %d after a whole value", a.depth);
    if (!ra && !tpl_utf8_valid(text, size)) {
        /* whole valid JSON text is valid UTF-8 (strings are checked; the
         * rest is ASCII) */
        fuzz_fail("accepted text that is not valid UTF-8");
    }
    return 0;
}
