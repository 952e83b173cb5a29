/* Durable, atomic file writes, shared by every writer of model files,
 * data sets and pictures. */
#ifndef TPL_FILEIO_H
#define TPL_FILEIO_H
#include <stdio.h>

#include "templar.h"

/* Writes path through write(fp, ctx) into path.tmp.PID, flushes, fsyncs and
 * renames it into place, so a reader never sees half a file; on failure the
 * temporary file is removed and err names the file and the step.  Temporary
 * files of path left by writers that died (PATH.tmp.PID, PID not running)
 * are removed first. */
typedef int (*tpl_write_fn)(FILE *fp, const void *ctx);
int tpl_write_atomic(const char *path, tpl_write_fn write, const void *ctx, tpl_err *err);

/* Makes renames in a directory durable (best effort: some file systems
 * refuse): dir itself, or the directory that holds path. */
void tpl_sync_dir(const char *dir);
void tpl_sync_parent(const char *path);
#endif
