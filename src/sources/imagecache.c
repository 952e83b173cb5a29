/* The decode cache of folder and CSV sources (see tasks.h, Cache): one file
 * per source and asked-for shape, holding both halves converted, found by
 * its name and trusted only when its key matches the files now there.
 *
 * File layout (native byte order, written and read on one machine):
 *   header (struct cache_header)
 *   labels: train then test, one byte each
 *   zero padding to a multiple of 64 bytes
 *   pixels: train then test, n x h x w x c bytes each, NHWC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "imageset.h"

#define CACHE_MAGIC "TPLCACHE"
#define CACHE_VERSION 1u
#define CACHE_ALIGN 64
#define CACHE_DIR ".templar-cache"

typedef struct cache_header {
    char magic[8];
    uint32_t version, header_bytes;
    uint64_t key[2];
    int32_t n_train, n_test, h, w, c, classes, converted, spare;
    uint64_t file_bytes;
    uint64_t check; /* of the fields above */
} cache_header;

/* ---- hashing ----------------------------------------------------------------------- */

/* Two unrelated 64-bit hashes of one byte stream: FNV-1a and a
 * multiply-xorshift one, so that a collision of both is out of reach. */
typedef struct hasher {
    uint64_t a, b;
} hasher;

static void hash_start(hasher *h) {
    h->a = 0xcbf29ce484222325ULL;
    h->b = 0x9E3779B97F4A7C15ULL;
}

static void hash_bytes(hasher *h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ s[i]) * 0x100000001b3ULL;
        h->b = (h->b ^ s[i]) * 0xff51afd7ed558ccdULL;
        h->b ^= h->b >> 29;
    }
}

static void hash_i64(hasher *h, int64_t v) { hash_bytes(h, &v, sizeof v); }
static void hash_str(hasher *h, const char *s) { hash_bytes(h, s, strlen(s) + 1); }

static uint64_t header_check(const cache_header *hd) {
    hasher h;
    hash_start(&h);
    hash_bytes(&h, hd, offsetof(cache_header, check));
    return h.a ^ h.b;
}

int tpl_cache_key_of(const tpl_image_list *l, const tpl_task_opts *o, tpl_cache_key *key,
                     tpl_err *err) {
    hasher h;
    hash_start(&h);
    hash_i64(&h, CACHE_VERSION);
    hash_str(&h, l->kind);
    hash_i64(&h, o->h), hash_i64(&h, o->w), hash_i64(&h, o->c);
    hash_i64(&h, l->classes), hash_i64(&h, l->labelled), hash_i64(&h, l->n);
    for (int i = 0; i < l->n; i++) {
        struct stat st;
        if (stat(l->e[i].path, &st)) {
            tpl_err_set(err, "%s: %s", l->e[i].path, strerror(errno));
            return -1;
        }
        hash_str(&h, l->e[i].path);
        hash_i64(&h, (int64_t)st.st_size);
        hash_i64(&h, (int64_t)st.st_mtim.tv_sec), hash_i64(&h, (int64_t)st.st_mtim.tv_nsec);
        hash_i64(&h, l->e[i].label), hash_i64(&h, l->e[i].half);
    }
    key->h[0] = h.a;
    key->h[1] = h.b;
    return 0;
}

/* ---- places ------------------------------------------------------------------------ */

void tpl_cache_place_of(const tpl_image_list *l, const tpl_task_opts *o, tpl_cache_place *p) {
    hasher h;
    hash_start(&h);
    hash_str(&h, l->kind);
    hash_str(&h, l->id);
    hash_i64(&h, o->h), hash_i64(&h, o->w), hash_i64(&h, o->c);
    snprintf(p->name, sizeof p->name, "%s-%016llx.cache", l->kind, (unsigned long long)h.a);
    snprintf(p->dir[0], sizeof p->dir[0], "%s/" CACHE_DIR, l->root);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') snprintf(p->dir[1], sizeof p->dir[1], "%s/templar", xdg);
    else if (home && home[0] == '/') snprintf(p->dir[1], sizeof p->dir[1], "%s/.cache/templar", home);
    else p->dir[1][0] = '\0';
}

/* ---- reading ------------------------------------------------------------------------ */

static uint64_t pixel_bytes(const cache_header *hd, int32_t n) {
    return (uint64_t)n * (uint64_t)hd->h * (uint64_t)hd->w * (uint64_t)hd->c;
}

static uint64_t labels_end(const cache_header *hd) {
    uint64_t end = sizeof *hd + (uint64_t)hd->n_train + (uint64_t)hd->n_test;
    return (end + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
}

/* The header describes a cache of key with n images that fills size bytes. */
static int header_fits(const cache_header *hd, const tpl_cache_key *key, int n, uint64_t size) {
    if (memcmp(hd->magic, CACHE_MAGIC, 8) || hd->version != CACHE_VERSION ||
        hd->header_bytes != sizeof *hd || hd->check != header_check(hd) ||
        hd->key[0] != key->h[0] || hd->key[1] != key->h[1])
        return 0;
    if (hd->n_train < 0 || hd->n_test < 0 || (int64_t)hd->n_train + hd->n_test != n ||
        hd->h < 1 || hd->w < 1 || (hd->c != 1 && hd->c != 3) || hd->classes < 1 ||
        hd->classes > 256)
        return 0;
    const uint64_t want = labels_end(hd) + pixel_bytes(hd, hd->n_train) + pixel_bytes(hd, hd->n_test);
    return hd->file_bytes == want && size == want;
}

/* One half out of the mapped file. */
static int copy_half(const cache_header *hd, const uint8_t *base, int32_t n, uint64_t label_at,
                     uint64_t pixel_at, tpl_dataset *d) {
    if (tpl_dataset_alloc(d, n, hd->h, hd->w, hd->c, hd->classes)) return -1;
    if (n == 0) return 0;
    memcpy(d->labels, base + label_at, (size_t)n);
    memcpy(d->pixels, base + pixel_at, (size_t)pixel_bytes(hd, n));
    for (int i = 0; i < n; i++)
        if (d->labels[i] >= hd->classes) return -1;
    return 0;
}

/* The cache at path, if it is one of key: 1 read, 0 not (out untouched). */
static int read_one(const char *path, const tpl_cache_key *key, int n, tpl_cached *out) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0) return 0;
    if (fstat(fd, &st) || (uint64_t)st.st_size < sizeof(cache_header)) {
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return 0;
    const cache_header *hd = map;
    int ok = header_fits(hd, key, n, (uint64_t)st.st_size);
    tpl_cached c = {0};
    if (ok) {
        const uint64_t pix = labels_end(hd);
        ok = !copy_half(hd, map, hd->n_train, sizeof *hd, pix, &c.train) &&
             !copy_half(hd, map, hd->n_test, sizeof *hd + (uint64_t)hd->n_train,
                        pix + pixel_bytes(hd, hd->n_train), &c.test);
        c.converted = hd->converted;
    }
    munmap(map, (size_t)st.st_size);
    if (!ok) {
        tpl_dataset_free(&c.train);
        tpl_dataset_free(&c.test);
        return 0;
    }
    *out = c;
    return 1;
}

int tpl_cache_read(const tpl_cache_place *p, const tpl_cache_key *key, int n, tpl_cached *out,
                   char **path) {
    for (int i = 0; i < 2; i++) {
        if (!p->dir[i][0]) continue;
        char *file = malloc(strlen(p->dir[i]) + strlen(p->name) + 2);
        if (!file) return 0;
        sprintf(file, "%s/%s", p->dir[i], p->name);
        if (read_one(file, key, n, out)) {
            *path = file;
            return 1;
        }
        free(file);
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct cache_job {
    const cache_header *hd;
    const tpl_cached *c;
} cache_job;

/* n bytes of p (none: nothing, p may be NULL). */
static int put(FILE *fp, const void *p, uint64_t n) {
    return n == 0 || fwrite(p, 1, (size_t)n, fp) == (size_t)n;
}

static int write_stream(FILE *fp, const void *ctx) {
    const cache_job *j = ctx;
    const tpl_cached *c = j->c;
    static const uint8_t zeros[CACHE_ALIGN];
    const uint64_t pad = labels_end(j->hd) - sizeof *j->hd - (uint64_t)c->train.n - (uint64_t)c->test.n;
    int ok = put(fp, j->hd, sizeof *j->hd) && put(fp, c->train.labels, (uint64_t)c->train.n) &&
             put(fp, c->test.labels, (uint64_t)c->test.n) && put(fp, zeros, pad) &&
             put(fp, c->train.pixels, pixel_bytes(j->hd, c->train.n)) &&
             put(fp, c->test.pixels, pixel_bytes(j->hd, c->test.n));
    return ok ? 0 : -1;
}

/* mkdir -p for the last two levels of dir (the user's cache directory may
 * not exist yet); failures show when the file is written. */
static void make_dirs(const char *dir) {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        mkdir(parent, 0777);
    }
    mkdir(dir, 0777);
}

char *tpl_cache_write(const tpl_cache_place *p, const tpl_cache_key *key, const tpl_cached *c) {
    const tpl_dataset *any = c->train.n ? &c->train : &c->test;
    cache_header hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.magic, CACHE_MAGIC, 8);
    hd.version = CACHE_VERSION;
    hd.header_bytes = sizeof hd;
    hd.key[0] = key->h[0], hd.key[1] = key->h[1];
    hd.n_train = c->train.n, hd.n_test = c->test.n;
    hd.h = any->h, hd.w = any->w, hd.c = any->c;
    hd.classes = c->train.classes > c->test.classes ? c->train.classes : c->test.classes;
    hd.converted = c->converted;
    hd.file_bytes = labels_end(&hd) + pixel_bytes(&hd, hd.n_train) + pixel_bytes(&hd, hd.n_test);
    hd.check = header_check(&hd);
    const cache_job job = {&hd, c};
    for (int i = 0; i < 2; i++) {
        if (!p->dir[i][0]) continue;
        char *file = malloc(strlen(p->dir[i]) + strlen(p->name) + 2);
        if (!file) return NULL;
        sprintf(file, "%s/%s", p->dir[i], p->name);
        make_dirs(p->dir[i]);
        tpl_err ignored = {{0}};
        if (tpl_write_atomic(file, write_stream, &job, &ignored) == 0) return file;
        free(file);
    }
    return NULL;
}
