/* Files that are never seen half-written: write a temporary file, fsync,
 * rename into place, fsync the directory.  See fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tpl_sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    (void)fsync(fd); /* best effort: some file systems refuse */
    close(fd);
}

void tpl_sync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    if (dir) tpl_sync_dir(dir);
    free(dir);
}

/* Writes tmp and closes it: NULL, or the step that failed with *e its errno
 * (0 when the writer failed without one); removes tmp on failure. */
static const char *write_tmp(const char *tmp, tpl_write_fn write, const void *ctx, int *e) {
    errno = 0;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return *e = errno, "create";
    const char *what = NULL;
    if (write(fp, ctx) || fflush(fp) || ferror(fp)) what = "write";
    else if (fsync(fileno(fp))) what = "sync";
    *e = errno;
    if (fclose(fp) && !what) what = "close", *e = errno;
    if (what) unlink(tmp);
    return what;
}

int tpl_write_atomic(const char *path, tpl_write_fn write, const void *ctx, tpl_err *err) {
    const size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return tpl_err_set(err, "%s: out of memory", path), -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    int e = 0;
    const char *what = write_tmp(tmp, write, ctx, &e);
    if (!what && rename(tmp, path)) {
        e = errno;
        unlink(tmp);
        what = "rename";
    }
    if (what)
        tpl_err_set(err, "%s: cannot %s temporary file %s (%s)", path, what, tmp,
                    e ? strerror(e) : "write failed");
    else
        tpl_sync_parent(path);
    free(tmp);
    return what ? -1 : 0;
}
