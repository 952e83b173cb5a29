/* Minimal test helpers: each test file is one CTest test; a failed CHECK
 * prints where and why, and the program exits non-zero at the end. */
#ifndef TPL_CHECK_H
#define TPL_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures = 0, check_count = 0, check_skips = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        check_count++;                                                     \
        if (!(cond)) {                                                     \
            check_failures++;                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                \
        }                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                               \
    do {                                                                   \
        check_count++;                                                     \
        if (!(cond)) {                                                     \
            check_failures++;                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* A part that needs real data this machine lacks: said, and counted, so
 * that the test ends as skipped (CTest's 77) unless something failed. */
static inline void check_skip(const char *what, const char *path, const char *package) {
    check_skips++;
    printf("SKIPPED: %s: %s is not installed (Debian package %s)\n", what, path, package);
}

static inline int check_summary(const char *name) {
    printf("%s: %d checks, %d failed, %d parts skipped\n", name, check_count, check_failures,
           check_skips);
    return check_failures ? 1 : check_skips ? 77 : 0;
}
#endif
