/* Replays inputs through a harness's LLVMFuzzerTestOneInput without
 * libFuzzer: the same harness sources linked to this main, in any build
 * (gcc, no fuzzer runtime), so that every input that once broke a reader
 * (fuzz/regressions/HARNESS/) stays a test.
 *
 *   replay_HARNESS PATH...    each PATH a file or a directory of files
 *
 * Files in a directory run in name order; names starting with '.' and
 * README files are skipped.  A crash or a broken property aborts (the test
 * fails); otherwise it prints how many inputs ran and exits 0.  Exits 1 when
 * a path cannot be read or there was nothing to replay. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replayed = 0;

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += n;
        if (len == cap) {
            unsigned char *more = realloc(buf, cap *= 2);
            if (!more) free(buf);
            buf = more;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "replay: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    replayed++;
    return 0;
}

static int skipped(const char *name) {
    return name[0] == '.' || !strncmp(name, "README", 6);
}

static int replay_dir(const char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), rc = 0;
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (!rc && !skipped(names[i]->d_name) && !stat(path, &st) && S_ISREG(st.st_mode))
            rc = replay_file(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i])) return 1;
    }
    if (!replayed) {
        fprintf(stderr, "replay: no inputs under %s\n", argv[1]);
        return 1;
    }
    printf("replay: %d inputs, no failure\n", replayed);
    return 0;
}
