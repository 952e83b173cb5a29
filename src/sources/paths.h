/* Sorted lists of file names, so the same files give the same order (and
 * the same data) everywhere: fonts, photos, image folders.
 *
 * Conventions as in data.h: one-line errors "WHERE: problem", 0 on success. */
#ifndef TPL_PATHS_H
#define TPL_PATHS_H
#include <stddef.h>

#include "templar.h"

/* n paths, each malloc'd, in strcmp order within each call that added them. */
typedef struct tpl_paths {
    int n;
    char **path;
} tpl_paths;

/* Appends dir's regular files (links followed) whose names end in suffix,
 * sorted, as "dir/name".  A directory without any is not an error here. */
int tpl_paths_list(tpl_paths *p, const char *dir, const char *suffix, tpl_err *err);
/* Appends the bare names (not "dir/name") of dir's entries that are
 * directories (links followed), sorted; names starting with '.' are left
 * out, so a cache or a hidden folder is never taken for data. */
int tpl_paths_subdirs(tpl_paths *p, const char *dir, tpl_err *err);
/* Appends the bare names of dir's regular files whose name ends in one of
 * the suffixes (a NULL-terminated list, compared without regard to ASCII
 * case), sorted; names starting with '.' are left out. */
int tpl_paths_files(tpl_paths *p, const char *dir, const char *const *suffixes, tpl_err *err);
/* Appends a copy of s; -1 when out of memory. */
int tpl_paths_push(tpl_paths *p, const char *s);
/* The index of the first path equal to s, or -1. */
int tpl_paths_find(const tpl_paths *p, const char *s);
/* Sorts all of p in strcmp order. */
void tpl_paths_sort(tpl_paths *p);
void tpl_paths_free(tpl_paths *p);

/* "a/b" into buf of size bytes; -1 (err: "A: path too long") when it does
 * not fit. */
int tpl_path_join(char *buf, size_t size, const char *a, const char *b, tpl_err *err);

/* path made absolute against the working directory (not resolved: links
 * and ".." stay), malloc'd; NULL when out of memory or the working
 * directory cannot be had. */
char *tpl_path_absolute(const char *path);

/* 1 when name ends in tail, ASCII case ignored. */
int tpl_ends_with_nocase(const char *name, const char *tail);
#endif
