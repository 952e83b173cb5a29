/* Output directories whose entries a command owns and replaces whole: the
 * digits domains (one IDX directory each) and the script suite (one class
 * folder tree each).  An entry DIR/NAME that an earlier run wrote is
 * replaced; anything else there is refused, never clobbered.
 *
 * Writing is all or nothing: every entry goes into a temporary directory
 * DIR/.NAME.tmp.PID first; only when all are written is each renamed into
 * place (an earlier one moved aside to DIR/.NAME.old.PID, removed after),
 * and when writing fails the temporary directories are removed and DIR is
 * as it was.
 *
 * Conventions as in data.h: one-line errors "WHERE: problem", 0 on success. */
#ifndef TPL_OUTDIR_H
#define TPL_OUTDIR_H
#include <stddef.h>

#include "templar.h"

/* What a writer puts in its output directory. */
typedef struct tpl_outdir_kind {
    const char *what; /* an entry, in messages: "directory of IDX files" */
    /* 0 when path, an existing directory, holds only what an earlier run
     * wrote; else -1 with err naming what does not belong (see
     * tpl_outdir_foreign). */
    int (*check)(const char *path, tpl_err *err);
    /* Removes such a directory, or a temporary one written in part, best
     * effort: only what the writer writes, so anything else stays, and so
     * do the directories that hold it. */
    void (*remove)(const char *path);
    /* Plain files the writer also puts in DIR (NULL-terminated, or NULL):
     * each must be absent or a regular file. */
    const char *const *files;
} tpl_outdir_kind;

/* Makes dir unless it exists (its parent must) and checks that it can be
 * written, that each DIR/NAME of names[0..n) is absent or a directory
 * kind->check accepts, and kind's files.  Cheap, so a command can fail on
 * a bad output before the work.  *created = 1 when dir was made here: the
 * caller removes it (rmdir) if a later step fails; prepare's own failure
 * leaves nothing. */
int tpl_outdir_prepare(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                       int n, int *created, tpl_err *err);

/* Writes entry i (of names) into tmp, a new empty directory; what it leaves
 * when it fails is removed with kind->remove. */
typedef int (*tpl_outdir_write_fn)(const char *tmp, int i, const void *ctx, tpl_err *err);

/* Writes the entries DIR/names[0..n) (dir prepared) with write_entry, all of
 * them into temporary directories first, then each into place, as above. */
int tpl_outdir_write(const char *dir, const tpl_outdir_kind *kind, const char *const *names,
                     int n, tpl_outdir_write_fn write_entry, const void *ctx, tpl_err *err);

/* Sets err to "PATH: holds 'ENTRY', which an earlier run did not write; ..."
 * and returns -1: what a kind's check says of a stranger. */
int tpl_outdir_foreign(const char *path, const char *entry, tpl_err *err);
#endif
