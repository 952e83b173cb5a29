/* The safetensors file format, read and written; see safetensors.h. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "templar's safetensors code assumes a little-endian host"
#endif
_Static_assert(sizeof(float) == 4, "float must be 32 bits");

#define ST_MAX_HEADER 100000000ULL

static int host_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---- dtypes --------------------------------------------------------------- */

typedef struct st_dtype {
    const char *name;
    int size;
} st_dtype;

static const st_dtype DTYPES[] = {
    {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
    {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof DTYPES / sizeof DTYPES[0]))
#define DTYPE_F32 0

static int dtype_index(const char *name) {
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(DTYPES[i].name, name)) return i;
    return -1;
}

/* ---- shared helpers ------------------------------------------------------- */

/* a * b into *out; -1 if it exceeds TPL_JSON_MAX_INT (2^53). */
static int mul_bounded(uint64_t a, uint64_t b, uint64_t *out) {
    if (b && a > TPL_JSON_MAX_INT / b) return -1;
    *out = a * b;
    return *out > TPL_JSON_MAX_INT ? -1 : 0;
}

static int numel_bounded(const int64_t *shape, int ndim, uint64_t *out) {
    uint64_t n = 1;
    *out = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || mul_bounded(n, (uint64_t)shape[d], &n)) return -1;
    }
    *out = n;
    return 0;
}

/* A name made safe for a one-line message: control bytes become '?' and
 * long names are cut. */
static const char *shown(const char *name, char buf[48]) {
    size_t i = 0;
    for (; name[i] && i < 40; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7F ? '?' : name[i];
    if (name[i]) {
        while (i > 0 && ((unsigned char)name[i] & 0xC0) == 0x80) i--;
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first duplicate among names (sorted in place), or NULL. */
static const char *first_dup(const char **names, int n) {
    qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
    for (int i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) return names[i];
    return NULL;
}

/* ---- writer: checks ------------------------------------------------------- */

static int check_tensor(const char *path, const tpl_st_tensor *t, int i,
                        tpl_err *err) {
    char b[48];
    uint64_t numel, bytes;
    if (!t->name || !t->name[0])
        return tpl_err_set(err, "%s: tensor %d has an empty name", path, i), -1;
    if (!tpl_utf8_valid(t->name, strlen(t->name)) ||
        !strcmp(t->name, "__metadata__"))
        return tpl_err_set(err, "%s: bad tensor name '%s'", path,
                           shown(t->name, b)), -1;
    if (t->ndim < 0 || t->ndim > TPL_ST_MAX_DIMS)
        return tpl_err_set(err, "%s: tensor '%s' has rank %d (0..%d allowed)",
                           path, shown(t->name, b), t->ndim, TPL_ST_MAX_DIMS), -1;
    if (numel_bounded(t->shape, t->ndim, &numel) || mul_bounded(numel, 4, &bytes))
        return tpl_err_set(err, "%s: tensor '%s' has a negative or huge shape",
                           path, shown(t->name, b)), -1;
    if (numel > 0 && !t->data)
        return tpl_err_set(err, "%s: tensor '%s' has no data", path,
                           shown(t->name, b)), -1;
    return 0;
}

static int check_kv(const char *path, const tpl_st_kv *kv, int i, tpl_err *err) {
    if (!kv->key || !kv->key[0] || !kv->value)
        return tpl_err_set(err, "%s: metadata entry %d has no key or no value",
                           path, i), -1;
    if (!tpl_utf8_valid(kv->key, strlen(kv->key)) ||
        !tpl_utf8_valid(kv->value, strlen(kv->value)))
        return tpl_err_set(err, "%s: metadata entry %d is not valid UTF-8",
                           path, i), -1;
    return 0;
}

/* Duplicate tensor names or metadata keys; which says which. */
static int check_unique(const char *path, const char **names, int n,
                        const char *which, tpl_err *err) {
    char b[48];
    const char *dup = first_dup(names, n);
    if (dup)
        return tpl_err_set(err, "%s: duplicate %s '%s'", path, which,
                           shown(dup, b)), -1;
    return 0;
}

static int check_write_args(const char *path, const tpl_st_tensor *tensors, int n,
                            const tpl_st_kv *meta, int n_meta, tpl_err *err) {
    if (n < 0 || n_meta < 0 || (n > 0 && !tensors) || (n_meta > 0 && !meta))
        return tpl_err_set(err, "%s: bad tensor or metadata list", path), -1;
    int most = n > n_meta ? n : n_meta, rc = 0;
    const char **names = malloc(sizeof *names * (size_t)(most ? most : 1));
    if (!names) return tpl_err_set(err, "%s: out of memory", path), -1;
    for (int i = 0; i < n && !rc; i++) {
        rc = check_tensor(path, &tensors[i], i, err);
        names[i] = tensors[i].name;
    }
    if (!rc) rc = check_unique(path, names, n, "tensor name", err);
    for (int i = 0; i < n_meta && !rc; i++) {
        rc = check_kv(path, &meta[i], i, err);
        names[i] = meta[i].key;
    }
    if (!rc) rc = check_unique(path, names, n_meta, "metadata key", err);
    free(names);
    return rc;
}

/* ---- writer: header ------------------------------------------------------- */

static void put_meta(tpl_buf *h, const tpl_st_kv *meta, int n_meta) {
    tpl_buf_puts(h, "\"__metadata__\":{");
    for (int i = 0; i < n_meta; i++) {
        if (i) tpl_buf_puts(h, ",");
        tpl_buf_json_string(h, meta[i].key);
        tpl_buf_puts(h, ":");
        tpl_buf_json_string(h, meta[i].value);
    }
    tpl_buf_puts(h, "}");
}

static void put_tensor(tpl_buf *h, const tpl_st_tensor *t, uint64_t begin,
                       uint64_t end) {
    tpl_buf_json_string(h, t->name);
    tpl_buf_puts(h, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++)
        tpl_buf_printf(h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    tpl_buf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)begin,
                   (unsigned long long)end);
}

/* The header JSON, padded with spaces so that 8 + its length is a multiple
 * of 8.  Shapes were checked, so the offsets stay within 2^53 per tensor. */
static int build_header(tpl_buf *h, const tpl_st_tensor *tensors, int n,
                        const tpl_st_kv *meta, int n_meta) {
    uint64_t off = 0, numel;
    tpl_buf_puts(h, "{");
    if (n_meta > 0) put_meta(h, meta, n_meta);
    for (int i = 0; i < n; i++) {
        numel_bounded(tensors[i].shape, tensors[i].ndim, &numel);
        if (n_meta > 0 || i) tpl_buf_puts(h, ",");
        put_tensor(h, &tensors[i], off, off + numel * 4);
        off += numel * 4;
        if (off > TPL_JSON_MAX_INT) return -1;
    }
    tpl_buf_puts(h, "}");
    while ((8 + h->len) % 8) tpl_buf_puts(h, " ");
    return h->failed || h->len > ST_MAX_HEADER ? -1 : 0;
}

/* ---- writer: file --------------------------------------------------------- */

/* What tpl_write_atomic writes: the header, then every tensor's data. */
typedef struct st_body {
    const tpl_buf *h;
    const tpl_st_tensor *tensors;
    int n;
} st_body;

static int write_all(FILE *fp, const void *ctx) {
    const st_body *b = ctx;
    unsigned char len8[8];
    uint64_t numel, hl = b->h->len;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hl >> (8 * i));
    if (fwrite(len8, 1, 8, fp) != 8 || fwrite(b->h->p, 1, b->h->len, fp) != b->h->len)
        return -1;
    for (int i = 0; i < b->n; i++) {
        numel_bounded(b->tensors[i].shape, b->tensors[i].ndim, &numel);
        if (numel && fwrite(b->tensors[i].data, 4, (size_t)numel, fp) != numel)
            return -1;
    }
    return 0;
}

int tpl_st_write(const char *path, const tpl_st_tensor *tensors, int n_tensors,
                 const tpl_st_kv *meta, int n_meta, tpl_err *err) {
    tpl_buf h = {0};
    if (!path || !path[0]) return tpl_err_set(err, "safetensors: empty path"), -1;
    if (!host_little_endian())
        return tpl_err_set(err, "%s: cannot write on a big-endian host", path), -1;
    if (check_write_args(path, tensors, n_tensors, meta, n_meta, err)) return -1;
    if (build_header(&h, tensors, n_tensors, meta, n_meta)) {
        tpl_buf_free(&h);
        return tpl_err_set(err, "%s: header or data too large (or out of memory)",
                           path), -1;
    }
    const st_body body = {&h, tensors, n_tensors};
    int rc = tpl_write_atomic(path, write_all, &body, err);
    tpl_buf_free(&h);
    return rc;
}

/* ---- reader --------------------------------------------------------------- */

typedef struct st_entry {
    char *name;
    int dtype;
    int ndim;
    int64_t shape[TPL_ST_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

typedef struct st_meta {
    char *key, *val;
} st_meta;

struct tpl_st_file {
    FILE *fp;
    char *path;
    uint64_t data_start, data_size;
    st_entry *t;
    int n, cap;
    st_entry **by_name; /* sorted by name, for tpl_st_find */
    st_meta *meta;
    int n_meta, meta_cap;
};

/* Parsing state: the file being filled, the cursor, and where errors go. */
typedef struct st_parse {
    tpl_st_file *f;
    tpl_json j;
    tpl_err *err;
} st_parse;

static int json_fail(st_parse *p) {
    tpl_err_set(p->err, "%s: bad header JSON: %s", p->f->path, p->j.err);
    return -1;
}

static int parse_fail(st_parse *p, const char *name, const char *what) {
    char b[48];
    tpl_err_set(p->err, "%s: tensor '%s': %s", p->f->path, shown(name, b), what);
    return -1;
}

static int grow(void **arr, int *cap, int n, size_t elem) {
    if (n < *cap) return 0;
    if (*cap > (1 << 28)) return -1;
    int nc = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, (size_t)nc * elem);
    if (!a) return -1;
    *arr = a;
    *cap = nc;
    return 0;
}

static int add_meta(st_parse *p, char *key, char *val) {
    tpl_st_file *f = p->f;
    if (grow((void **)&f->meta, &f->meta_cap, f->n_meta, sizeof *f->meta)) {
        free(key);
        free(val);
        tpl_err_set(p->err, "%s: out of memory", f->path);
        return -1;
    }
    f->meta[f->n_meta].key = key;
    f->meta[f->n_meta++].val = val;
    return 0;
}

/* "__metadata__": an object of string values. */
static int parse_meta(st_parse *p) {
    int count = 0, r;
    if (tpl_json_open(&p->j, '{')) return json_fail(p);
    while ((r = tpl_json_more(&p->j, '}', &count)) == 1) {
        char *key = NULL, *val = NULL;
        if (tpl_json_string(&p->j, &key) || tpl_json_colon(&p->j)) {
            free(key);
            return json_fail(p);
        }
        if (tpl_json_peek(&p->j) != '"') {
            free(key);
            tpl_err_set(p->err, "%s: metadata values must be strings", p->f->path);
            return -1;
        }
        if (tpl_json_string(&p->j, &val)) {
            free(key);
            return json_fail(p);
        }
        if (add_meta(p, key, val)) return -1;
    }
    return r < 0 ? json_fail(p) : 0;
}

static int parse_dtype(st_parse *p, st_entry *e) {
    char *s = NULL;
    if (tpl_json_string(&p->j, &s)) return json_fail(p);
    e->dtype = dtype_index(s);
    free(s);
    if (e->dtype < 0) return parse_fail(p, e->name, "unknown dtype");
    return 0;
}

static int parse_shape(st_parse *p, st_entry *e) {
    int count = 0, r;
    uint64_t v;
    if (tpl_json_open(&p->j, '[')) return json_fail(p);
    while ((r = tpl_json_more(&p->j, ']', &count)) == 1) {
        if (count > TPL_ST_MAX_DIMS)
            return parse_fail(p, e->name, "rank larger than 8");
        if (tpl_json_uint(&p->j, &v)) return json_fail(p);
        e->shape[count - 1] = (int64_t)v;
    }
    if (r < 0) return json_fail(p);
    e->ndim = count;
    return 0;
}

static int parse_offsets(st_parse *p, st_entry *e) {
    int count = 0, r;
    uint64_t v[2];
    if (tpl_json_open(&p->j, '[')) return json_fail(p);
    while ((r = tpl_json_more(&p->j, ']', &count)) == 1) {
        if (count > 2) break;
        if (tpl_json_uint(&p->j, &v[count - 1])) return json_fail(p);
    }
    if (r < 0) return json_fail(p);
    if (count != 2) return parse_fail(p, e->name, "data_offsets must be [begin, end]");
    e->begin = v[0];
    e->end = v[1];
    return 0;
}

/* One member of a tensor entry; seen[] marks dtype, shape, data_offsets. */
static int parse_field(st_parse *p, st_entry *e, const char *key, int seen[3]) {
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    int k = 0;
    while (k < 3 && strcmp(key, fields[k])) k++;
    if (k == 3) return tpl_json_skip(&p->j) ? json_fail(p) : 0;
    if (seen[k]++) return parse_fail(p, e->name, "a field appears twice");
    if (k == 0) return parse_dtype(p, e);
    return k == 1 ? parse_shape(p, e) : parse_offsets(p, e);
}

static int parse_entry_body(st_parse *p, st_entry *e) {
    int count = 0, r, seen[3] = {0, 0, 0};
    if (tpl_json_open(&p->j, '{')) return json_fail(p);
    while ((r = tpl_json_more(&p->j, '}', &count)) == 1) {
        char *key = NULL;
        if (tpl_json_string(&p->j, &key) || tpl_json_colon(&p->j)) {
            free(key);
            return json_fail(p);
        }
        r = parse_field(p, e, key, seen);
        free(key);
        if (r) return -1;
    }
    if (r < 0) return json_fail(p);
    if (!seen[0] || !seen[1] || !seen[2])
        return parse_fail(p, e->name, "needs dtype, shape and data_offsets");
    return 0;
}

/* A tensor entry; takes ownership of name. */
static int parse_entry(st_parse *p, char *name) {
    tpl_st_file *f = p->f;
    if (grow((void **)&f->t, &f->cap, f->n, sizeof *f->t)) {
        free(name);
        tpl_err_set(p->err, "%s: out of memory", f->path);
        return -1;
    }
    st_entry *e = &f->t[f->n++];
    memset(e, 0, sizeof *e);
    e->name = name;
    if (!name[0]) return parse_fail(p, name, "empty tensor name");
    return parse_entry_body(p, e);
}

static int parse_header(st_parse *p, const char *text, size_t len) {
    int count = 0, r, seen_meta = 0;
    tpl_json_init(&p->j, text, len);
    if (tpl_json_open(&p->j, '{')) return json_fail(p);
    while ((r = tpl_json_more(&p->j, '}', &count)) == 1) {
        char *key = NULL;
        if (tpl_json_string(&p->j, &key) || tpl_json_colon(&p->j)) {
            free(key);
            return json_fail(p);
        }
        if (strcmp(key, "__metadata__")) {
            if (parse_entry(p, key)) return -1;
            continue;
        }
        free(key);
        if (seen_meta++) {
            tpl_err_set(p->err, "%s: two __metadata__ entries", p->f->path);
            return -1;
        }
        if (parse_meta(p)) return -1;
    }
    if (r < 0 || tpl_json_end(&p->j)) return json_fail(p);
    return 0;
}

/* ---- reader: checks ------------------------------------------------------- */

static int check_entry(const tpl_st_file *f, const st_entry *e, tpl_err *err) {
    char b[48];
    uint64_t numel, bytes;
    if (e->begin > e->end)
        return tpl_err_set(err, "%s: tensor '%s' begins at byte %llu after its end %llu",
                           f->path, shown(e->name, b), (unsigned long long)e->begin,
                           (unsigned long long)e->end), -1;
    if (e->end > f->data_size)
        return tpl_err_set(err, "%s: truncated: tensor '%s' ends at byte %llu but the "
                           "file holds %llu data bytes", f->path, shown(e->name, b),
                           (unsigned long long)e->end,
                           (unsigned long long)f->data_size), -1;
    if (numel_bounded(e->shape, e->ndim, &numel) ||
        mul_bounded(numel, (uint64_t)DTYPES[e->dtype].size, &bytes) ||
        bytes != e->end - e->begin)
        return tpl_err_set(err, "%s: tensor '%s': shape and dtype do not match its "
                           "%llu data bytes", f->path, shown(e->name, b),
                           (unsigned long long)(e->end - e->begin)), -1;
    return 0;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(st_entry *const *)a)->name, (*(st_entry *const *)b)->name);
}

static int cmp_entry_begin(const void *a, const void *b) {
    const st_entry *x = *(st_entry *const *)a, *y = *(st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Byte ranges of two non-empty tensors must not share a byte. */
static int check_overlap(const tpl_st_file *f, st_entry **v, tpl_err *err) {
    char b1[48], b2[48];
    const st_entry *last = NULL;
    qsort(v, (size_t)f->n, sizeof *v, cmp_entry_begin);
    for (int i = 0; i < f->n; i++) {
        if (v[i]->begin == v[i]->end) continue;
        if (last && v[i]->begin < last->end)
            return tpl_err_set(err, "%s: tensors '%s' and '%s' overlap", f->path,
                               shown(last->name, b1), shown(v[i]->name, b2)), -1;
        if (!last || v[i]->end > last->end) last = v[i];
    }
    return 0;
}

static int check_meta_keys(const tpl_st_file *f, tpl_err *err) {
    const char **keys = malloc(sizeof *keys * (size_t)(f->n_meta ? f->n_meta : 1));
    if (!keys) return tpl_err_set(err, "%s: out of memory", f->path), -1;
    for (int i = 0; i < f->n_meta; i++) keys[i] = f->meta[i].key;
    int rc = check_unique(f->path, keys, f->n_meta, "metadata key", err);
    free(keys);
    return rc;
}

static int check_entries(tpl_st_file *f, tpl_err *err) {
    char b[48];
    for (int i = 0; i < f->n; i++)
        if (check_entry(f, &f->t[i], err)) return -1;
    st_entry **v = malloc(sizeof *v * (size_t)(f->n ? f->n : 1));
    f->by_name = malloc(sizeof *v * (size_t)(f->n ? f->n : 1));
    if (!v || !f->by_name) {
        free(v);
        return tpl_err_set(err, "%s: out of memory", f->path), -1;
    }
    for (int i = 0; i < f->n; i++) v[i] = f->by_name[i] = &f->t[i];
    qsort(f->by_name, (size_t)f->n, sizeof *v, cmp_entry_name);
    for (int i = 1; i < f->n; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name)) continue;
        free(v);
        return tpl_err_set(err, "%s: duplicate tensor name '%s'", f->path,
                           shown(f->by_name[i]->name, b)), -1;
    }
    int rc = check_overlap(f, v, err);
    free(v);
    return rc ? rc : check_meta_keys(f, err);
}

/* ---- reader: file --------------------------------------------------------- */

/* Reads and checks the 8-byte header length; *file_size from fstat. */
static int read_header_len(tpl_st_file *f, uint64_t *hl, tpl_err *err) {
    struct stat st;
    unsigned char b[8];
    if (fstat(fileno(f->fp), &st) || !S_ISREG(st.st_mode))
        return tpl_err_set(err, "%s: not a regular file", f->path), -1;
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8 || fread(b, 1, 8, f->fp) != 8)
        return tpl_err_set(err, "%s: truncated: the file holds %llu bytes, less than "
                           "the 8-byte header length", f->path,
                           (unsigned long long)size), -1;
    *hl = 0;
    for (int i = 7; i >= 0; i--) *hl = (*hl << 8) | b[i];
    if (*hl < 2 || *hl > ST_MAX_HEADER)
        return tpl_err_set(err, "%s: header length %llu is not between 2 and %llu",
                           f->path, (unsigned long long)*hl, ST_MAX_HEADER), -1;
    if (*hl > size - 8)
        return tpl_err_set(err, "%s: truncated: header of %llu bytes but the file "
                           "holds %llu after the length", f->path,
                           (unsigned long long)*hl, (unsigned long long)(size - 8)), -1;
    f->data_start = 8 + *hl;
    f->data_size = size - 8 - *hl;
    return 0;
}

static int read_header(tpl_st_file *f, tpl_err *err) {
    uint64_t hl;
    if (read_header_len(f, &hl, err)) return -1;
    char *text = malloc((size_t)hl + 1);
    if (!text) return tpl_err_set(err, "%s: out of memory", f->path), -1;
    if (fread(text, 1, (size_t)hl, f->fp) != hl) {
        free(text);
        return tpl_err_set(err, "%s: cannot read the header (%s)", f->path,
                           ferror(f->fp) ? strerror(errno) : "file shrank"), -1;
    }
    text[hl] = '\0';
    st_parse p = {f, {0}, err};
    int rc = parse_header(&p, text, (size_t)hl);
    free(text);
    return rc ? rc : check_entries(f, err);
}

tpl_st_file *tpl_st_open(const char *path, tpl_err *err) {
    if (!path) return tpl_err_set(err, "safetensors: no path"), NULL;
    if (!host_little_endian())
        return tpl_err_set(err, "%s: cannot read on a big-endian host", path), NULL;
    tpl_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return tpl_err_set(err, "%s: out of memory", path), NULL;
    }
    f->fp = fopen(path, "rb");
    if (!f->fp) {
        tpl_err_set(err, "%s: cannot open (%s)", path, strerror(errno));
        tpl_st_close(f);
        return NULL;
    }
    if (read_header(f, err)) {
        tpl_st_close(f);
        return NULL;
    }
    return f;
}

void tpl_st_close(tpl_st_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].val);
    }
    free(f->t);
    free(f->by_name);
    free(f->meta);
    free(f->path);
    free(f);
}

const char *tpl_st_meta(const tpl_st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].val;
    return NULL;
}

int tpl_st_count(const tpl_st_file *f) { return f ? f->n : 0; }

static const st_entry *entry(const tpl_st_file *f, int i) {
    return f && i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const char *tpl_st_name(const tpl_st_file *f, int i) {
    const st_entry *e = entry(f, i);
    return e ? e->name : NULL;
}

int tpl_st_find(const tpl_st_file *f, const char *name) {
    if (!f || !name) return -1;
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(f->by_name[mid]->name, name);
        if (!c) return (int)(f->by_name[mid] - f->t);
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int tpl_st_shape(const tpl_st_file *f, int i, int64_t *shape) {
    const st_entry *e = entry(f, i);
    if (!e) return -1;
    if (shape) memcpy(shape, e->shape, sizeof *shape * (size_t)e->ndim);
    return e->ndim;
}

const char *tpl_st_dtype(const tpl_st_file *f, int i) {
    const st_entry *e = entry(f, i);
    return e ? DTYPES[e->dtype].name : NULL;
}

int tpl_st_read_f32(tpl_st_file *f, int i, float *dst, size_t numel,
                    tpl_err *err) {
    char b[48];
    uint64_t n;
    const st_entry *e = entry(f, i);
    if (!e) return tpl_err_set(err, "%s: no tensor %d", f ? f->path : "?", i), -1;
    if (e->dtype != DTYPE_F32)
        return tpl_err_set(err, "%s: tensor '%s' is %s, not F32", f->path,
                           shown(e->name, b), DTYPES[e->dtype].name), -1;
    numel_bounded(e->shape, e->ndim, &n);
    if (n != numel)
        return tpl_err_set(err, "%s: tensor '%s' has %llu elements, not %zu", f->path,
                           shown(e->name, b), (unsigned long long)n, numel), -1;
    if (!numel) return 0;
    if (!dst) return tpl_err_set(err, "%s: no destination", f->path), -1;
    if (fseeko(f->fp, (off_t)(f->data_start + e->begin), SEEK_SET) ||
        fread(dst, 4, numel, f->fp) != numel)
        return tpl_err_set(err, "%s: cannot read tensor '%s' (%s)", f->path,
                           shown(e->name, b),
                           ferror(f->fp) ? strerror(errno) : "file shrank"), -1;
    return 0;
}
