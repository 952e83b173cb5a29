/* The safetensors file format, read and written.
 *
 * Layout: 8-byte little-endian header length H, then H bytes of JSON
 *   {"__metadata__": {"key": "value", ...},
 *    "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the raw little-endian tensor bytes; offsets are relative to the end of
 * the header.  templar writes only F32 tensors and string metadata.
 *
 * Writing is atomic: PATH.tmp.PID is written, fsync'd and renamed over PATH;
 * on any failure the temp file is removed and PATH is untouched. */
#ifndef TPL_SAFETENSORS_H
#define TPL_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#include "templar.h"

#define TPL_ST_MAX_DIMS 8

typedef struct tpl_st_tensor {
    const char *name;
    int ndim;
    int64_t shape[TPL_ST_MAX_DIMS];
    const float *data;              /* writer: source; reader: unused */
} tpl_st_tensor;

typedef struct tpl_st_kv {
    const char *key, *value;
} tpl_st_kv;

int tpl_st_write(const char *path, const tpl_st_tensor *tensors, int n_tensors,
                 const tpl_st_kv *meta, int n_meta, tpl_err *err);

/* A file opened for reading: the header is parsed and every entry checked
 * (dtype known, shape product * dtype size == end - begin, begin <= end,
 * end <= file data size, no overlap, header length sane and <= 100 MB,
 * valid UTF-8/JSON) before anything is returned. The tensor data is read
 * on demand. */
typedef struct tpl_st_file tpl_st_file;

tpl_st_file *tpl_st_open(const char *path, tpl_err *err);
void tpl_st_close(tpl_st_file *f);
/* Metadata value for key, or NULL. */
const char *tpl_st_meta(const tpl_st_file *f, const char *key);
int tpl_st_count(const tpl_st_file *f);
/* i-th tensor's name, dtype ("F32", ...), rank and shape (shape may be NULL). */
const char *tpl_st_name(const tpl_st_file *f, int i);
/* Index of a tensor by name, or -1. */
int tpl_st_find(const tpl_st_file *f, const char *name);
int tpl_st_shape(const tpl_st_file *f, int i, int64_t *shape);
const char *tpl_st_dtype(const tpl_st_file *f, int i);
/* Reads tensor i (must be F32 with exactly numel elements) into dst. */
int tpl_st_read_f32(tpl_st_file *f, int i, float *dst, size_t numel,
                    tpl_err *err);
#endif
