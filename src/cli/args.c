#include "args.h"

#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One flag's line of --help: name, meta-variable, text, default. */
static void usage_line(const arg_spec *s) {
    char left[64];
    const char *meta = s->kind == ARG_INT ? " N" : s->kind == ARG_FLOAT ? " X"
                     : s->kind == ARG_STR ? " S" : "";
    snprintf(left, sizeof left, "--%s%s", s->name, meta);
    printf("  %-22s %s", left, s->help);
    if (s->kind == ARG_INT) printf(" [%d]", *(int *)s->dst);
    if (s->kind == ARG_FLOAT) printf(" [%g]", *(float *)s->dst);
    if (s->kind == ARG_STR && *(const char **)s->dst) printf(" [%s]", *(const char **)s->dst);
    if (s->kind == ARG_BOOL) printf(" [%s]", *(int *)s->dst ? "on" : "off");
    putchar('\n');
}

void args_usage(const char *cmd, const char *usage, const arg_spec *const *tables) {
    printf("usage: templar %s %s\n\n", cmd, usage);
    for (int t = 0; tables && tables[t]; t++)
        for (const arg_spec *s = tables[t]; s->name; s++) usage_line(s);
    printf("  %-22s %s\n", "--help", "show this help");
}

static const arg_spec *find(const arg_spec *const *tables, const char *name, int *negated) {
    *negated = 0;
    for (int t = 0; tables && tables[t]; t++)
        for (const arg_spec *s = tables[t]; s->name; s++)
            if (strcmp(s->name, name) == 0) return s;
    if (strncmp(name, "no-", 3) == 0)
        for (int t = 0; tables && tables[t]; t++)
            for (const arg_spec *s = tables[t]; s->name; s++)
                if (s->kind == ARG_BOOL && strcmp(s->name, name + 3) == 0) {
                    *negated = 1;
                    return s;
                }
    return NULL;
}

static int set_value(const char *cmd, const arg_spec *s, const char *v) {
    char *end;
    errno = 0;
    if (s->kind == ARG_STR) {
        *(const char **)s->dst = v;
        return 0;
    }
    double x = s->kind == ARG_INT ? (double)strtol(v, &end, 10) : strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x)) {
        fprintf(stderr, "templar %s: --%s wants a number, got '%s'\n", cmd, s->name, v);
        return -1;
    }
    if (x < s->lo || x > s->hi) {
        fprintf(stderr, "templar %s: --%s %s is outside [%g, %g]\n", cmd, s->name, v, s->lo, s->hi);
        return -1;
    }
    if (s->kind == ARG_INT) *(int *)s->dst = (int)x;
    else *(float *)s->dst = (float)x;
    return 0;
}

int args_parse(const char *cmd, const char *usage, const arg_spec *const *tables, int argc,
               char **argv, int first, const char **pos, int max_pos, int *n_pos) {
    *n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            args_usage(cmd, usage, tables);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (*n_pos == max_pos) {
                fprintf(stderr, "templar %s: unexpected argument '%s' (see templar %s --help)\n",
                        cmd, a, cmd);
                return -1;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), a + 2);
        int negated;
        const arg_spec *s = find(tables, name, &negated);
        if (!s) {
            fprintf(stderr, "templar %s: unknown flag '%s' (see templar %s --help)\n", cmd, a, cmd);
            return -1;
        }
        if (s->kind == ARG_BOOL) {
            if (eq) {
                fprintf(stderr, "templar %s: --%s takes no value\n", cmd, s->name);
                return -1;
            }
            *(int *)s->dst = !negated;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "templar %s: --%s needs a value\n", cmd, s->name);
            return -1;
        }
        if (set_value(cmd, s, v)) return -1;
    }
    return 0;
}

static int listed(const char *const *names, const char *name) {
    for (int i = 0; names && names[i]; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

void args_json(const arg_spec *const *tables, const char *const *skip, struct tpl_buf *b) {
    tpl_buf_puts(b, "{");
    int first = 1;
    for (int t = 0; tables && tables[t]; t++)
        for (const arg_spec *s = tables[t]; s->name; s++) {
            if (listed(skip, s->name)) continue;
            tpl_buf_printf(b, "%s\"%s\":", first ? "" : ",", s->name);
            first = 0;
            switch (s->kind) {
            case ARG_INT: tpl_buf_printf(b, "%d", *(int *)s->dst); break;
            case ARG_FLOAT: tpl_buf_printf(b, "%.9g", *(float *)s->dst); break;
            case ARG_BOOL: tpl_buf_puts(b, *(int *)s->dst ? "true" : "false"); break;
            case ARG_STR:
                if (*(const char **)s->dst) tpl_buf_json_string(b, *(const char **)s->dst);
                else tpl_buf_puts(b, "null");
                break;
            }
        }
    tpl_buf_puts(b, "}");
}
