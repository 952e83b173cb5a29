/* safetensors: round trips, alignment, and every way a file can be bad. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"

/* ---- helpers -------------------------------------------------------------- */

static void join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static int spill(const char *path, const void *buf, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(buf, 1, len, fp);
    return fclose(fp) || w != len ? -1 : 0;
}

static uint64_t le64(const char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | (unsigned char)p[i];
    return v;
}

/* A file from a header-length field, header text and n zero data bytes. */
static void craft_len(const char *path, uint64_t hl, const char *hdr, size_t hdr_len,
                      size_t data) {
    size_t total = 8 + hdr_len + data;
    char *buf = calloc(1, total);
    for (int i = 0; i < 8; i++) buf[i] = (char)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hdr_len);
    CHECK(spill(path, buf, total) == 0);
    free(buf);
}

static void craft(const char *path, const char *hdr, size_t data) {
    craft_len(path, strlen(hdr), hdr, strlen(hdr), data);
}

/* Names in dir containing ".tmp.". */
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d) return -1;
    while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d) return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        join(p, sizeof p, dir, e->d_name);
        if (unlink(p)) rm_tree(p);
    }
    closedir(d);
    rmdir(dir);
}

/* An error is one line that starts with "PATH: ". */
static int err_ok(const tpl_err *err, const char *path) {
    size_t n = strlen(path);
    return !strncmp(err->msg, path, n) && !strncmp(err->msg + n, ": ", 2) &&
           !strchr(err->msg, '\n') && strlen(err->msg) > n + 2;
}

static int opens(const char *path, tpl_err *err) {
    tpl_st_file *f = tpl_st_open(path, err);
    tpl_st_close(f);
    return f != NULL;
}

/* ---- the round trip ------------------------------------------------------- */

#define N_W (2 * 3 * 1 * 4)

typedef struct fixture {
    float scalar, vec[7], w[N_W];
    tpl_st_tensor t[4];
    tpl_st_kv kv[4];
} fixture;

static const char *NOTE = "say \"hi\" \\ back\\slash\nnew line\ttab \xC3\xA9 "
                          "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89 /";

static void fixture_init(fixture *x) {
    uint32_t nan_payload = 0x7FC01234u, denorm = 0x00000001u;
    memset(x, 0, sizeof *x);
    x->scalar = 3.5f;
    float v[7] = {-0.0f, 1.0f / 3.0f, FLT_MAX, -FLT_MIN, INFINITY, 0, 0};
    memcpy(&v[5], &nan_payload, 4);
    memcpy(&v[6], &denorm, 4);
    memcpy(x->vec, v, sizeof v);
    for (int i = 0; i < N_W; i++) x->w[i] = (float)i * 0.37f - 2.0f;
    x->t[0] = (tpl_st_tensor){"scalar", 0, {0}, &x->scalar};
    x->t[1] = (tpl_st_tensor){"empty", 2, {0, 3}, NULL};
    x->t[2] = (tpl_st_tensor){"vec \"q\" \xC3\xBC", 1, {7}, x->vec};
    x->t[3] = (tpl_st_tensor){"blocks.0/w", 4, {2, 3, 1, 4}, x->w};
    x->kv[0] = (tpl_st_kv){"note", NOTE};
    x->kv[1] = (tpl_st_kv){"ctrl \x01\x1f\x7f", "\x01\x1f"};
    x->kv[2] = (tpl_st_kv){"empty", ""};
    x->kv[3] = (tpl_st_kv){"k\\\"", "v"};
}

static void check_tensor(tpl_st_file *f, const tpl_st_tensor *t, int i) {
    int64_t shape[TPL_ST_MAX_DIMS];
    size_t numel = 1;
    tpl_err err = {""};
    CHECK(strcmp(tpl_st_name(f, i), t->name) == 0);
    CHECK(tpl_st_find(f, t->name) == i);
    CHECK(strcmp(tpl_st_dtype(f, i), "F32") == 0);
    CHECK(tpl_st_shape(f, i, NULL) == t->ndim);
    CHECK(tpl_st_shape(f, i, shape) == t->ndim);
    for (int d = 0; d < t->ndim; d++) {
        CHECK(shape[d] == t->shape[d]);
        numel *= (size_t)t->shape[d];
    }
    float *got = calloc(numel + 1, sizeof *got);
    CHECK_MSG(tpl_st_read_f32(f, i, got, numel, &err) == 0, "%s", err.msg);
    CHECK(numel == 0 || memcmp(got, t->data, numel * sizeof *got) == 0);
    CHECK(tpl_st_read_f32(f, i, got, numel + 1, &err) == -1);
    free(got);
}

static void test_round_trip(const char *dir) {
    fixture x;
    char path[256];
    tpl_err err = {""};
    fixture_init(&x);
    join(path, sizeof path, dir, "model.safetensors");
    CHECK_MSG(tpl_st_write(path, x.t, 4, x.kv, 4, &err) == 0, "%s", err.msg);
    CHECK(count_tmp(dir) == 0);
    tpl_st_file *f = tpl_st_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f) return;
    CHECK(tpl_st_count(f) == 4);
    for (int i = 0; i < 4; i++) check_tensor(f, &x.t[i], i);
    for (int i = 0; i < 4; i++) {
        const char *v = tpl_st_meta(f, x.kv[i].key);
        CHECK_MSG(v && strcmp(v, x.kv[i].value) == 0, "meta %d", i);
    }
    CHECK(tpl_st_meta(f, "missing") == NULL);
    CHECK(tpl_st_find(f, "missing") == -1);
    CHECK(tpl_st_name(f, 4) == NULL && tpl_st_name(f, -1) == NULL);
    CHECK(tpl_st_dtype(f, 4) == NULL && tpl_st_shape(f, 4, NULL) == -1);
    CHECK(tpl_st_read_f32(f, 9, x.w, 1, &err) == -1 && err_ok(&err, path));
    tpl_st_close(f);
}

/* Header layout: metadata first, 8-byte alignment for any name length. */
static void test_layout(const char *dir) {
    char path[256], name[16];
    float v[3] = {1, 2, 3};
    tpl_err err = {""};
    size_t len;
    join(path, sizeof path, dir, "layout.st");
    for (int n = 1; n <= 9; n++) {
        memset(name, 'a', (size_t)n);
        name[n] = '\0';
        tpl_st_tensor t = {name, 1, {3}, v};
        tpl_st_kv kv = {"k", "v"};
        CHECK(tpl_st_write(path, &t, 1, &kv, n % 2, &err) == 0);
        char *buf = slurp(path, &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        uint64_t hl = le64(buf);
        CHECK_MSG((8 + hl) % 8 == 0, "header length %llu", (unsigned long long)hl);
        CHECK(len == 8 + hl + sizeof v);
        CHECK(memcmp(buf + 8 + hl, v, sizeof v) == 0);
        CHECK((strncmp(buf + 8, "{\"__metadata__\":", 16) == 0) == (n % 2));
        CHECK(strstr(buf + 8, "__metadata__") == NULL || n % 2);
        free(buf);
    }
    CHECK(tpl_st_write(path, NULL, 0, NULL, 0, &err) == 0);
    tpl_st_file *f = tpl_st_open(path, &err);
    CHECK_MSG(f && tpl_st_count(f) == 0, "%s", err.msg);
    tpl_st_close(f);
}

/* ---- broken files --------------------------------------------------------- */

static void test_truncated(const char *dir) {
    fixture x;
    char path[256], cut[256];
    tpl_err err = {""};
    size_t len;
    fixture_init(&x);
    join(path, sizeof path, dir, "full.st");
    join(cut, sizeof cut, dir, "cut.st");
    CHECK(tpl_st_write(path, x.t, 4, x.kv, 4, &err) == 0);
    char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (!buf) return;
    for (size_t n = 0; n < len; n++) {
        CHECK(spill(cut, buf, n) == 0);
        CHECK_MSG(!opens(cut, &err) && err_ok(&err, cut), "cut at %zu: %s", n, err.msg);
    }
    CHECK(spill(cut, buf, len) == 0);
    CHECK_MSG(opens(cut, &err), "%s", err.msg);
    free(buf);

    join(path, sizeof path, dir, "model.st");
    craft(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[0,4096]}}",
          1000);
    CHECK(!opens(path, &err));
    char want[512];
    snprintf(want, sizeof want, "%s: truncated: tensor 'x' ends at byte 4096 but the "
             "file holds 1000 data bytes", path);
    CHECK_MSG(strcmp(err.msg, want) == 0, "%s", err.msg);
}

/* Opens, reads every F32 tensor, closes: must never crash or leak. */
static void open_and_read(const char *path) {
    tpl_err err = {""};
    int64_t shape[TPL_ST_MAX_DIMS];
    tpl_st_file *f = tpl_st_open(path, &err);
    if (!f) {
        CHECK_MSG(err_ok(&err, path), "%s", err.msg);
        return;
    }
    for (int i = 0; i < tpl_st_count(f); i++) {
        int nd = tpl_st_shape(f, i, shape);
        size_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= (size_t)shape[d];
        if (strcmp(tpl_st_dtype(f, i), "F32") || numel > 1024) continue;
        float *dst = malloc(numel * sizeof *dst + 1);
        CHECK(tpl_st_read_f32(f, i, dst, numel, &err) == 0);
        free(dst);
    }
    tpl_st_close(f);
}

/* Every header byte replaced by a few troublesome values. */
static void test_mutations(const char *dir) {
    static const char vals[] = {0, '"', '\\', '[', '}', ',', '9', '-', (char)0xff};
    fixture x;
    char path[256], mut[256];
    tpl_err err = {""};
    size_t len;
    fixture_init(&x);
    join(path, sizeof path, dir, "orig.st");
    join(mut, sizeof mut, dir, "mut.st");
    CHECK(tpl_st_write(path, x.t, 4, x.kv, 4, &err) == 0);
    char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (!buf) return;
    size_t hl = (size_t)le64(buf);
    for (size_t pos = 0; pos < 8 + hl; pos++) {
        char keep = buf[pos];
        for (size_t v = 0; v < sizeof vals; v++) {
            buf[pos] = vals[v];
            CHECK(spill(mut, buf, len) == 0);
            open_and_read(mut);
        }
        buf[pos] = keep;
    }
    free(buf);
}

static void test_header_length(const char *dir) {
    char path[256];
    tpl_err err = {""};
    const char *hdr = "{}";
    const uint64_t bad[] = {1000000000000ULL, UINT64_MAX, 100000001ULL, 0, 1, 3};
    join(path, sizeof path, dir, "hl.st");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        craft_len(path, bad[i], hdr, 2, 0);
        CHECK_MSG(!opens(path, &err) && err_ok(&err, path), "length %zu", i);
    }
    craft_len(path, 2, hdr, 2, 0);
    CHECK_MSG(opens(path, &err), "%s", err.msg);
    CHECK(!opens(dir, &err) && err_ok(&err, dir));
    join(path, sizeof path, dir, "does-not-exist.st");
    CHECK(!opens(path, &err) && err_ok(&err, path));
}

/* Headers that must be refused, each with 64 data bytes behind them. */
static const char *const BAD[] = {
    "{ ",
    "{\"x\"",
    "[]",
    "\"x\"",
    "{\"x\":}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[null,4]}}",
    "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}",
    "{\"a\\nb\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    ("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"),
    "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[9007199254740993],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"y\"}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]} \"y\":1}",
    "{\"x\\q\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\udc00\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\ud800\\u0041\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\u00g0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\u0000\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\\u00\":1}",
    "{\"x\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\xed\xa0\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\xe6\x97\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\ty\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"z\":tru}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"z\":-}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"z\":1.}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"z\":'a'}}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"z\":[1,]}}",
    "{\"__metadata__\":{\"a\":1}}",
    "{\"__metadata__\":{\"a\":\"b\",\"a\":\"c\"}}",
    "{\"__metadata__\":{},\"__metadata__\":{}}",
    "{\"__metadata__\":[]}",
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\0",
    "\xEF\xBB\xBF{}",
};

/* Headers that are fine: unknown fields with any value, spacing, escapes. */
static const char *const GOOD[] = {
    " {}  ",
    ("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
     "\"z\":[1.5e-3,-0,true,false,null,{\"a\":[{}]},\"s\\/\"]}}"),
    ("{\n\t\"x\" : { \"data_offsets\" : [ 60 , 64 ] , \"shape\" : [ 1 ] ,"
     " \"dtype\" : \"F32\" } \r\n}"),
    "{\"\\u00fc\\ud83c\\udf89\\/\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
    ("{\"x\":{\"dtype\":\"BOOL\",\"shape\":[0,5],\"data_offsets\":[64,64]},"
     "\"y\":{\"dtype\":\"BF16\",\"shape\":[2,16],\"data_offsets\":[0,64]}}"),
    "{\"__metadata__\":{},\"x\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[3,4]}}",
};

static void nest(char *out, int depth) {
    char *p = out + sprintf(out, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
                                 "\"data_offsets\":[0,4],\"z\":");
    for (int i = 0; i < depth; i++) *p++ = '[';
    for (int i = 0; i < depth; i++) *p++ = ']';
    strcpy(p, "}}");
}

static void test_bad_json(const char *dir) {
    char path[256], deep[1024];
    tpl_err err = {""};
    join(path, sizeof path, dir, "bad.st");
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        size_t n = strlen(BAD[i]) + (i == sizeof BAD / sizeof BAD[0] - 2);
        craft_len(path, n, BAD[i], n, 64);
        CHECK_MSG(!opens(path, &err) && err_ok(&err, path), "BAD[%zu] accepted", i);
    }
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        craft(path, GOOD[i], 64);
        CHECK_MSG(opens(path, &err), "GOOD[%zu]: %s", i, err.msg);
    }
    nest(deep, 62); /* two levels for the file and the entry: 64 in all */
    craft(path, deep, 64);
    CHECK_MSG(opens(path, &err), "depth 64: %s", err.msg);
    nest(deep, 63);
    craft(path, deep, 64);
    CHECK(!opens(path, &err) && strstr(err.msg, "nesting"));
    nest(deep, 400);
    craft(path, deep, 64);
    CHECK(!opens(path, &err) && strstr(err.msg, "nesting"));

    craft(path, GOOD[3], 64);
    tpl_st_file *f = tpl_st_open(path, &err);
    CHECK(f && strcmp(tpl_st_name(f, 0), "\xC3\xBC\xF0\x9F\x8E\x89/") == 0);
    tpl_st_close(f);
}

static void test_huge_shape(const char *dir) {
    char path[256];
    tpl_err err = {""};
    join(path, sizeof path, dir, "huge.st");
    craft(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],"
                "\"data_offsets\":[0,16]}}", 16);
    CHECK(!opens(path, &err) && err_ok(&err, path));
    craft(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,"
                "9007199254740992,4],\"data_offsets\":[0,16]}}", 16);
    CHECK(!opens(path, &err) && err_ok(&err, path));
    craft(path, "{\"x\":{\"dtype\":\"F64\",\"shape\":[1125899906842624],"
                "\"data_offsets\":[0,9007199254740992]}}", 16);
    CHECK(!opens(path, &err) && err_ok(&err, path));
    /* A zero dimension makes any other dimension harmless. */
    craft(path, "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,9007199254740992],"
                "\"data_offsets\":[0,0]}}", 16);
    CHECK_MSG(opens(path, &err), "%s", err.msg);
}

static void test_overlap(const char *dir) {
    char path[256];
    tpl_err err = {""};
    join(path, sizeof path, dir, "overlap.st");
    craft(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
    CHECK(!opens(path, &err) && strstr(err.msg, "overlap") && err_ok(&err, path));
    craft(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 24);
    CHECK(!opens(path, &err) && strstr(err.msg, "overlap"));
    craft(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
                "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 24);
    CHECK(!opens(path, &err) && strstr(err.msg, "overlap"));
    craft(path, "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
                "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 24);
    CHECK_MSG(opens(path, &err), "%s", err.msg);
}

static void test_other_dtypes(const char *dir) {
    char path[256];
    tpl_err err = {""};
    int32_t buf[4];
    join(path, sizeof path, dir, "i32.st");
    craft(path, "{\"i\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
    tpl_st_file *f = tpl_st_open(path, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f) return;
    CHECK(strcmp(tpl_st_dtype(f, 0), "I32") == 0);
    CHECK(tpl_st_read_f32(f, 0, (float *)buf, 4, &err) == -1);
    CHECK(err_ok(&err, path) && strstr(err.msg, "F32"));
    tpl_st_close(f);
}

/* ---- writing -------------------------------------------------------------- */

static int same_file(const char *path, const char *want, size_t want_len) {
    size_t len;
    char *buf = slurp(path, &len);
    int same = buf && len == want_len && memcmp(buf, want, len) == 0;
    free(buf);
    return same;
}

/* Every refused write leaves PATH as it was and no temp file behind. */
static void refused(const char *dir, const char *path, const tpl_st_tensor *t, int n,
                    const tpl_st_kv *kv, int n_kv, const char *what) {
    tpl_err err = {""};
    size_t len;
    char *before = slurp(path, &len);
    CHECK_MSG(tpl_st_write(path, t, n, kv, n_kv, &err) == -1, "%s written", what);
    CHECK_MSG(err_ok(&err, path), "%s: %s", what, err.msg);
    CHECK_MSG(before && same_file(path, before, len), "%s changed the file", what);
    CHECK_MSG(count_tmp(dir) == 0, "%s left a temp file", what);
    free(before);
}

static void test_write_refused(const char *dir) {
    char path[256];
    float v[4] = {1, 2, 3, 4};
    tpl_err err = {""};
    join(path, sizeof path, dir, "keep.st");
    tpl_st_tensor ok = {"a", 1, {4}, v};
    CHECK(tpl_st_write(path, &ok, 1, NULL, 0, &err) == 0);
    tpl_st_tensor dup[2] = {{"a", 1, {4}, v}, {"a", 1, {2}, v}};
    refused(dir, path, dup, 2, NULL, 0, "duplicate name");
    char longname[128] = "line\nbreak ";
    for (int i = 0; i < 50; i++) strcat(longname, "\xC3\xA9");
    tpl_st_tensor dup2[2] = {{longname, 1, {4}, v}, {longname, 1, {4}, v}};
    refused(dir, path, dup2, 2, NULL, 0, "duplicate long name");
    tpl_st_tensor t = {"", 1, {4}, v};
    refused(dir, path, &t, 1, NULL, 0, "empty name");
    t.name = NULL;
    refused(dir, path, &t, 1, NULL, 0, "NULL name");
    t.name = "__metadata__";
    refused(dir, path, &t, 1, NULL, 0, "__metadata__ name");
    t.name = "bad\xff";
    refused(dir, path, &t, 1, NULL, 0, "non-UTF-8 name");
    t = (tpl_st_tensor){"a", 9, {1, 1, 1, 1, 1, 1, 1, 1}, v};
    refused(dir, path, &t, 1, NULL, 0, "rank 9");
    t = (tpl_st_tensor){"a", 2, {-1, 4}, v};
    refused(dir, path, &t, 1, NULL, 0, "negative dim");
    t = (tpl_st_tensor){"a", 3, {1 << 30, 1 << 30, 1 << 30}, v};
    refused(dir, path, &t, 1, NULL, 0, "huge shape");
    t = (tpl_st_tensor){"a", 1, {4}, NULL};
    refused(dir, path, &t, 1, NULL, 0, "no data");
    tpl_st_kv kv[2] = {{"k", "v"}, {"k", "w"}};
    refused(dir, path, &ok, 1, kv, 2, "duplicate key");
    kv[1] = (tpl_st_kv){"k2", NULL};
    refused(dir, path, &ok, 1, kv, 2, "NULL value");
    kv[1] = (tpl_st_kv){"k2", "\xc3"};
    refused(dir, path, &ok, 1, kv, 2, "non-UTF-8 value");
    refused(dir, path, &ok, -1, NULL, 0, "negative count");
}

static void test_write_io_errors(const char *dir) {
    char path[256], sub[256];
    float v[4] = {1, 2, 3, 4};
    tpl_err err = {""};
    tpl_st_tensor t = {"a", 1, {4}, v};

    join(path, sizeof path, dir, "no/such/dir/model.st");
    CHECK(tpl_st_write(path, &t, 1, NULL, 0, &err) == -1);
    CHECK_MSG(err_ok(&err, path) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
    CHECK(access(path, F_OK) != 0);

    /* PATH is a directory: the rename fails, the temp file goes. */
    join(sub, sizeof sub, dir, "isdir");
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(tpl_st_write(sub, &t, 1, NULL, 0, &err) == -1 && err_ok(&err, sub));
    CHECK(count_tmp(dir) == 0);
    struct stat st;
    CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
}

/* A write that fails half-way (file size limit) leaves PATH untouched. */
static void test_write_too_large(const char *dir) {
    enum { N = 1 << 16 };
    char path[256];
    tpl_err err = {""};
    size_t len;
    float *big = calloc(N, sizeof *big);
    tpl_st_tensor small = {"a", 1, {1}, big}, t = {"big", 1, {N}, big};
    join(path, sizeof path, dir, "limit.st");
    CHECK(tpl_st_write(path, &small, 1, NULL, 0, &err) == 0);
    char *before = slurp(path, &len);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        int rc = tpl_st_write(path, &t, 1, NULL, 0, &err);
        CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
        CHECK(rc == -1 && err_ok(&err, path));
        CHECK_MSG(strstr(err.msg, strerror(EFBIG)) != NULL, "%s", err.msg);
        CHECK(before && same_file(path, before, len));
        CHECK(count_tmp(dir) == 0);
    } else {
        printf("test_safetensors: cannot lower RLIMIT_FSIZE, size-limit test skipped\n");
    }
    signal(SIGXFSZ, prev);
    CHECK(tpl_st_write(path, &t, 1, NULL, 0, &err) == 0 && count_tmp(dir) == 0);
    free(before);
    free(big);
}

/* Optional, when python3 is there: Python's own json module reads the header
 * we write (checking our escaping), and rewrites it with every non-ASCII
 * character as a \u escape (surrogate pairs included) for us to read back. */
static const char *PY =
    "import json, struct, sys\n"
    "src, dst, out = sys.argv[1:4]\n"
    "b = open(src, 'rb').read()\n"
    "n = struct.unpack('<Q', b[:8])[0]\n"
    "assert (8 + n) % 8 == 0 and b[8 + n - 1:8 + n] in (b'}', b' ')\n"
    "h = json.loads(b[8:8 + n].decode('utf-8'))\n"
    "lines, end = [], 0\n"
    "for k, v in h.items():\n"
    "    if k == '__metadata__':\n"
    "        lines += ['M %s %s' % (a.encode().hex(), c.encode().hex())\n"
    "                  for a, c in v.items()]\n"
    "        continue\n"
    "    assert v['dtype'] == 'F32' and v['data_offsets'][0] == end\n"
    "    end = v['data_offsets'][1]\n"
    "    lines.append('T %s %s %d' % (k.encode().hex(),\n"
    "                 ','.join(map(str, v['shape'])), end))\n"
    "assert end == len(b) - 8 - n\n"
    "open(out, 'w').write('\\n'.join(lines) + '\\n')\n"
    "t = json.dumps(h, ensure_ascii=True, indent=1).encode()\n"
    "open(dst, 'wb').write(struct.pack('<Q', len(t)) + t + b[8 + n:])\n";

static void put_hex(char *out, const char *s) {
    *out = '\0';
    for (; *s; s++) out += sprintf(out, "%02x", (unsigned char)*s);
}

/* The lines PY prints for the fixture. */
static void expected_lines(const fixture *x, char *out) {
    size_t end = 0;
    for (int i = 0; i < 4; i++) {
        out += sprintf(out, "M ");
        put_hex(out, x->kv[i].key);
        out += strlen(out);
        *out++ = ' ';
        put_hex(out, x->kv[i].value);
        out += strlen(out);
        *out++ = '\n';
    }
    for (int i = 0; i < 4; i++) {
        const tpl_st_tensor *t = &x->t[i];
        size_t numel = 1;
        out += sprintf(out, "T ");
        put_hex(out, t->name);
        out += strlen(out);
        *out++ = ' ';
        for (int d = 0; d < t->ndim; d++) {
            out += sprintf(out, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            numel *= (size_t)t->shape[d];
        }
        end += numel * 4;
        out += sprintf(out, " %zu\n", end);
    }
}

static void test_python_json(const char *dir) {
    char src[256], dst[256], out[256], py[256], cmd[1200], want[4096];
    fixture x;
    tpl_err err = {""};
    size_t len;
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        printf("test_safetensors: no python3, JSON cross-check skipped\n");
        return;
    }
    fixture_init(&x);
    join(src, sizeof src, dir, "py_in.st");
    join(dst, sizeof dst, dir, "py_out.st");
    join(out, sizeof out, dir, "py_out.txt");
    join(py, sizeof py, dir, "check.py");
    CHECK(spill(py, PY, strlen(PY)) == 0);
    CHECK(tpl_st_write(src, x.t, 4, x.kv, 4, &err) == 0);
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s' '%s'", py, src, dst, out);
    CHECK_MSG(system(cmd) == 0, "python3 could not read %s", src);
    char *got = slurp(out, &len);
    expected_lines(&x, want);
    CHECK_MSG(got && strcmp(got, want) == 0, "python read:\n%s\nwanted:\n%s",
              got ? got : "(nothing)", want);
    free(got);
    tpl_st_file *f = tpl_st_open(dst, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    if (!f) return;
    CHECK(tpl_st_count(f) == 4);
    for (int i = 0; i < 4 && i < tpl_st_count(f); i++) check_tensor(f, &x.t[i], i);
    for (int i = 0; i < 4; i++) {
        const char *v = tpl_st_meta(f, x.kv[i].key);
        CHECK_MSG(v && strcmp(v, x.kv[i].value) == 0, "python meta %d", i);
    }
    tpl_st_close(f);
}

int main(void) {
    char dir[] = "/tmp/tpl_st_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip(dir);
    test_layout(dir);
    test_truncated(dir);
    test_header_length(dir);
    test_mutations(dir);
    test_bad_json(dir);
    test_huge_shape(dir);
    test_overlap(dir);
    test_other_dtypes(dir);
    test_write_refused(dir);
    test_write_io_errors(dir);
    test_write_too_large(dir);
    test_python_json(dir);
    rm_tree(dir);
    CHECK(access(dir, F_OK) != 0);
    return check_summary("test_safetensors");
}
