/* Input bytes as files for the harnesses; see fuzz.h. */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int slot_fd[FUZZ_SLOTS] = {-1, -1, -1, -1};
static char slot_path[FUZZ_SLOTS][64];
static char scratch[256];

void fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fuzz_check_error(const char *msg) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "fuzz: refused: %s\n", msg);
    if (!msg[0]) fuzz_fail("a failure without a message");
    for (const char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            fuzz_fail("control byte 0x%02x in the message \"%s\"", (unsigned char)*c, msg);
}

unsigned fuzz_touch(const void *p, size_t n) {
    volatile unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += ((const unsigned char *)p)[i];
    return sum;
}

/* An empty file for a slot: a memfd, or (where there is none) a file in
 * the scratch directory. */
static int open_slot(int slot) {
    int fd = memfd_create("templar-fuzz", 0);
    if (fd >= 0) {
        snprintf(slot_path[slot], sizeof slot_path[slot], "/proc/self/fd/%d", fd);
        if (access(slot_path[slot], R_OK) == 0) return fd;
        close(fd);
    }
    const char *p = fuzz_scratch_path(slot, "input");
    snprintf(slot_path[slot], sizeof slot_path[slot], "%s", p);
    if (strlen(p) >= sizeof slot_path[slot]) fuzz_fail("scratch path too long: %s", p);
    return open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

const char *fuzz_file(int slot, const void *data, size_t size) {
    if (slot < 0 || slot >= FUZZ_SLOTS) fuzz_fail("no file slot %d", slot);
    if (slot_fd[slot] < 0 && (slot_fd[slot] = open_slot(slot)) < 0)
        fuzz_fail("cannot make an input file");
    int fd = slot_fd[slot];
    if (ftruncate(fd, 0)) fuzz_fail("cannot truncate the input file");
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, (const char *)data + done, size - done, (off_t)done);
        if (n <= 0) fuzz_fail("cannot write the input file");
        done += (size_t)n;
    }
    return slot_path[slot];
}

/* Removes the scratch directory and what the harnesses left in it (a
 * flat directory: writers only put files there). */
static void remove_scratch(void) {
    DIR *d = opendir(scratch);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_scratch(void) {
    if (scratch[0]) return scratch;
    /* writers fsync: on tmpfs that costs nothing */
    const char *base = getenv("TMPDIR");
    if (access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    else if (!base || !*base) base = "/tmp";
    snprintf(scratch, sizeof scratch, "%s/templar-fuzz.XXXXXX", base);
    if (!mkdtemp(scratch)) fuzz_fail("cannot make a scratch directory under %s", base);
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_scratch_path(int slot, const char *name) {
    static char path[FUZZ_SLOTS][320];
    if (slot < 0 || slot >= FUZZ_SLOTS) fuzz_fail("no scratch slot %d", slot);
    snprintf(path[slot], sizeof path[slot], "%s/%d-%s", fuzz_scratch(), slot, name);
    return path[slot];
}
