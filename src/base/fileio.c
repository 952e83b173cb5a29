/* Files that are never seen half-written: write a temporary file, fsync,
 * rename into place, fsync the directory.  See fileio.h. */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* Removes the temporary files of ours beside path, PATH.tmp.PID, whose
 * writer is gone: a write killed midway (kill -9, a crash, a power cut)
 * leaves one, and the next write of PATH takes it away.  One whose PID runs
 * (ours included) may still be written, and stays; so does one whose PID
 * another writer has taken since, until that process ends. */
static void remove_stale_tmps(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    DIR *d = dir ? opendir(dir) : NULL;
    const size_t len = strlen(base);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, base, len) || strncmp(e->d_name + len, ".tmp.", 5)) continue;
        const char *pid = e->d_name + len + 5;
        const size_t digits = strspn(pid, "0123456789");
        if (!digits || digits > 9 || pid[digits]) continue;
        const long id = atol(pid);
        if (id > 0 && id != (long)getpid() && kill((pid_t)id, 0) && errno == ESRCH)
            (void)unlinkat(dirfd(d), e->d_name, 0); /* best effort */
    }
    if (d) closedir(d);
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
    remove_stale_tmps(path);
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
