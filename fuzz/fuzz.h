/* Shared by the fuzzing harnesses (fuzz_*.c): every harness defines
 * LLVMFuzzerTestOneInput, linked either with libFuzzer's main (the fuzz
 * build, see CMakeLists.txt) or with replay.c's (every build: the CTest
 * tests that replay fuzz/regressions).
 *
 * templar's readers take paths, so the input bytes are handed to them as a
 * file: an in-memory file (memfd) named by its /proc/self/fd path, reused
 * from one input to the next so that no input touches the disk. */
#ifndef TPL_FUZZ_H
#define TPL_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path whose file holds exactly data[0..size).  slot (0..FUZZ_SLOTS-1)
 * picks one of a few files, for readers that take two paths; a slot's
 * file is replaced by the next call with that slot.  Aborts when it
 * cannot make the file (that is the harness's fault, not the reader's). */
#define FUZZ_SLOTS 4
const char *fuzz_file(int slot, const void *data, size_t size);

/* A private directory for writers' round trips (in memory where /dev/shm
 * exists), made on first use and removed at exit. */
const char *fuzz_scratch(void);
/* name inside fuzz_scratch(), in a static buffer per slot. */
const char *fuzz_scratch_path(int slot, const char *name);

/* A reader's error message must be one line: non-empty, no control
 * characters (a name from the file shown raw could break the line).
 * With FUZZ_VERBOSE set in the environment it is printed: why an input
 * was refused. */
void fuzz_check_error(const char *msg);

/* Reads every byte of p[0..n), so that the sanitizers see a buffer that
 * is shorter than it claims or uninitialised memory reaching a branch. */
unsigned fuzz_touch(const void *p, size_t n);

/* A broken property (not a clean error from a reader): prints what and
 * aborts, which libFuzzer reports as a crash with the input saved. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#endif
