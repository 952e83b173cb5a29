/* A list of image files with their labels and halves, as the folder and
 * CSV sources find them, loaded into a task's halves: decoded, converted to
 * one shape and split, or read back from the decode cache (imagecache.c).
 * The rules are tasks.h's (Shape, Splits, Labels, Cache). */
#ifndef TPL_IMAGESET_H
#define TPL_IMAGESET_H
#include <stdint.h>

#include "paths.h"
#include "task_source.h"
#include "tasks.h"

/* Which half an image belongs to; all SPLIT or none (the seeded split). */
enum { TPL_HALF_SPLIT = 0, TPL_HALF_TRAIN = 1, TPL_HALF_TEST = 2 };

typedef struct tpl_image_entry {
    char *path;  /* as opened */
    int label;   /* < classes; 0 when unlabelled */
    int half;
} tpl_image_entry;

typedef struct tpl_image_list {
    int n, cap;
    tpl_image_entry *e;
    int classes;     /* 1 when unlabelled */
    int labelled;
    const char *kind; /* "folder" or "csv": part of the cache's name */
    char *root;       /* the cache goes in root/.templar-cache */
    char *id;         /* the source, absolute (DIR or FILE): part of the cache's name */
} tpl_image_list;

int tpl_image_list_add(tpl_image_list *l, const char *path, int label, int half);
void tpl_image_list_free(tpl_image_list *l);

/* A source's listing of its images (arg: what follows "KIND:"): fills l's
 * entries, labelled and root, and names with the class names when
 * labelled.  Errors name arg. */
typedef int (*tpl_image_lister)(const char *arg, const tpl_task_opts *o, tpl_image_list *l,
                                tpl_paths *names, tpl_err *err);

/* The load of a source of image files, NAME=KIND:ARG (folder, csv): out
 * described, list's images loaded (tpl_image_list_load, with ARG made
 * absolute as the list's id), class names set, never flipped. */
int tpl_image_source_load(const tpl_task_request *rq, const char *kind, tpl_image_lister list,
                          tpl_task_data *out, tpl_err *err);

/* Loads l into out's halves by o (shape, halves, cache, progress): from
 * the cache when it matches, else by decoding every file; sets
 * out->converted, decoded, cache and labelled.  Errors name the file. */
int tpl_image_list_load(const tpl_image_list *l, const tpl_task_opts *o, tpl_task_data *out,
                        tpl_err *err);

/* ---- the cache (imagecache.c) -------------------------------------------------- */

/* What a cache holds: both halves of a list, converted. */
typedef struct tpl_cached {
    tpl_dataset train, test;
    int converted;
} tpl_cached;

/* The identity of a list's contents: every entry's path, size, modification
 * time, label and half, its classes, and the shape asked for. */
typedef struct tpl_cache_key {
    uint64_t h[2];
} tpl_cache_key;

/* The key of l as the files are now (stat'ed; a missing file is an error
 * naming it). */
int tpl_cache_key_of(const tpl_image_list *l, const tpl_task_opts *o, tpl_cache_key *key,
                     tpl_err *err);
/* Where l's cache is found and written: dir[0] beside the data, dir[1] the
 * user's cache directory ("" when there is none); name the file's name. */
typedef struct tpl_cache_place {
    char dir[2][4096];
    char name[64];
} tpl_cache_place;
void tpl_cache_place_of(const tpl_image_list *l, const tpl_task_opts *o, tpl_cache_place *p);

/* Reads a cache matching key from either place (memory-mapped, validated,
 * copied); 1 with *out filled and *path (malloc'd) the file read, 0 when
 * there is none fit to use. */
int tpl_cache_read(const tpl_cache_place *p, const tpl_cache_key *key, int n, tpl_cached *out,
                   char **path);
/* Writes c under key into the first place that takes it (atomically);
 * returns the file written (malloc'd), or NULL when neither place could be
 * written. */
char *tpl_cache_write(const tpl_cache_place *p, const tpl_cache_key *key, const tpl_cached *c);
#endif
