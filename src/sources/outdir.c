/* Output directories replaced entry by entry, all or nothing (see outdir.h). */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "paths.h"

#define PATH_LEN 4096

int tpl_outdir_foreign(const char *path, const char *entry, tpl_err *err) {
    tpl_err_set(err, "%s: holds '%s', which an earlier run did not write; move it away or "
                "write elsewhere", path, entry);
    return -1;
}

/* A file can be made in dir (root passes any mode check, so try it). */
static int probe_write(const char *dir, tpl_err *err) {
    char probe[PATH_LEN];
    snprintf(probe, sizeof probe, "%s/.templar-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        tpl_err_set(err, "%s: cannot write there (%s)", dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

/* path is absent, or an entry of kind as an earlier run wrote it. */
static int replaceable(const char *path, const tpl_outdir_kind *kind, tpl_err *err) {
    struct stat st;
    if (lstat(path, &st)) {
        if (errno == ENOENT) return 0;
        tpl_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        tpl_err_set(err, "%s: exists and is not a %s; move it away or write elsewhere", path,
                    kind->what);
        return -1;
    }
    return kind->check(path, err);
}

/* DIR/name is absent or a regular file. */
static int replaceable_file(const char *dir, const char *name, tpl_err *err) {
    char path[PATH_LEN];
    struct stat st;
    if (tpl_path_join(path, sizeof path, dir, name, err)) return -1;
    if (lstat(path, &st) || S_ISREG(st.st_mode)) return 0;
    tpl_err_set(err, "%s: exists and is not a file; move it away or write elsewhere", path);
    return -1;
}

/* Everything kind would replace in dir, when dir is a directory. */
static int check_entries(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                         int n, tpl_err *err) {
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        tpl_err_set(err, "%s: exists and is not a directory", dir);
        return -1;
    }
    if (probe_write(dir, err)) return -1;
    char path[PATH_LEN];
    for (int i = 0; i < n; i++)
        if (tpl_path_join(path, sizeof path, dir, names[i], err) ||
            replaceable(path, kind, err))
            return -1;
    for (const char *const *f = kind->files; f && *f; f++)
        if (replaceable_file(dir, *f, err)) return -1;
    return 0;
}

int tpl_outdir_prepare(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                       int n, int *created, tpl_err *err) {
    *created = 0;
    if (mkdir(dir, 0777) == 0) {
        *created = 1;
    } else if (errno != EEXIST) {
        tpl_err_set(err, "%s: cannot create directory (%s)", dir, strerror(errno));
        return -1;
    }
    if (check_entries(dir, kind, names, n, err) == 0) return 0;
    if (*created) rmdir(dir);
    *created = 0;
    return -1;
}

/* ---- writing ------------------------------------------------------------- */

/* DIR/.NAME.tmp.PID, where entry name is written. */
static int temp_path(char *buf, const char *dir, const char *name, tpl_err *err) {
    char tmp[256];
    snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", name, (long)getpid());
    return tpl_path_join(buf, PATH_LEN, dir, tmp, err);
}

/* Entry i written whole into the new directory tmp, or nothing left. */
static int write_temp(const char *tmp, const tpl_outdir_kind *kind, int i,
                      tpl_outdir_write_fn write_entry, const void *ctx, tpl_err *err) {
    if (mkdir(tmp, 0777)) {
        tpl_err_set(err, "%s: cannot create directory (%s)", tmp, strerror(errno));
        return -1;
    }
    if (write_entry(tmp, i, ctx, err)) {
        kind->remove(tmp);
        return -1;
    }
    tpl_sync_dir(tmp);
    return 0;
}

/* Removes the temporary directories of names[from..to). */
static void remove_temps(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                         int from, int to) {
    char tmp[PATH_LEN];
    for (int i = from; i < to; i++)
        if (!temp_path(tmp, dir, names[i], NULL)) kind->remove(tmp);
}

/* Puts tmp at dir/name, moving an earlier one aside first and removing it
 * after (rename cannot replace a directory that has files). */
static int swap_in(const char *dir, const char *tmp, const char *name,
                   const tpl_outdir_kind *kind, tpl_err *err) {
    char final[PATH_LEN], old[PATH_LEN], aside[256];
    snprintf(aside, sizeof aside, ".%s.old.%ld", name, (long)getpid());
    if (tpl_path_join(final, sizeof final, dir, name, err) ||
        tpl_path_join(old, sizeof old, dir, aside, err))
        return -1;
    const int had = rename(final, old) == 0;
    if (!had && errno != ENOENT) {
        tpl_err_set(err, "%s: cannot move the earlier one aside (%s)", final, strerror(errno));
        return -1;
    }
    if (rename(tmp, final)) {
        tpl_err_set(err, "%s: cannot rename %s into place (%s)", final, tmp, strerror(errno));
        if (had) rename(old, final);
        return -1;
    }
    if (had) kind->remove(old);
    return 0;
}

int tpl_outdir_write(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                     int n, tpl_outdir_write_fn write_entry, const void *ctx, tpl_err *err) {
    char tmp[PATH_LEN];
    int made = 0, rc = 0;
    for (; made < n && !rc; made++)
        rc = temp_path(tmp, dir, names[made], err) ||
             write_temp(tmp, kind, made, write_entry, ctx, err);
    if (rc) { /* the failed one removed itself */
        remove_temps(dir, kind, names, 0, made - 1);
        return -1;
    }
    int placed = 0;
    for (; placed < n && !rc; placed++)
        rc = temp_path(tmp, dir, names[placed], err) ||
             swap_in(dir, tmp, names[placed], kind, err);
    if (rc) remove_temps(dir, kind, names, placed - 1, n); /* the ones not yet in place */
    tpl_sync_dir(dir);
    return rc ? -1 : 0;
}
