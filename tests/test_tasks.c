/* Tests for the task sources (tasks.c and source_*.c) and the conversions
 * they use (dataset.c): spec lists with options, the area resize and shape
 * conversion, image folders (mixed sizes, grey and RGB, PNG and JPEG,
 * train/test folders, unlabelled, errors), CSV lists, unlabelled IDX
 * directories, and the decode cache (reuse without decoding, stale and
 * corrupt caches rebuilt, the fallback place, off).
 *
 * Everything is generated in a scratch directory; only the check of the
 * built-in digit sets needs Debian data (and is skipped without it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tasks.h"
#include "testfiles.h"

/* A w x h image of c channels, pixel (x, y) channel k = base + x + 2y + 50k
 * (mod 256), so each image is told apart by base. */
static uint8_t *pattern(int w, int h, int c, int base) {
    uint8_t *px = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) px[(y * w + x) * c + k] = (uint8_t)(base + x + 2 * y + 50 * k);
    return px;
}

static void png(const char *name, int w, int h, int c, int base) {
    uint8_t *px = pattern(w, h, c, base);
    write_png(at(name), px, w, h, c);
    free(px);
}

/* A flat grey PNG of value v. */
static void flat_png(const char *name, int w, int h, int v) {
    uint8_t *px = malloc((size_t)w * h);
    memset(px, v, (size_t)w * h);
    write_png(at(name), px, w, h, 1);
    free(px);
}

static void jpeg(const char *name, int w, int h, int c, int base) {
    uint8_t *px = pattern(w, h, c, base);
    write_jpeg(at(name), px, w, h, c, 95);
    free(px);
}

static int same_set(const tpl_dataset *a, const tpl_dataset *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c &&
           a->classes == b->classes &&
           !memcmp(a->pixels, b->pixels, (size_t)a->n * a->h * a->w * a->c) &&
           !memcmp(a->labels, b->labels, (size_t)a->n);
}

/* Loads spec with o (a copy, cache off unless asked); 0 on success. */
static int load(const char *spec, const tpl_task_opts *o, tpl_task_data *t, tpl_err *err) {
    return tpl_task_load_with(spec, strlen(spec), o, t, err);
}

static tpl_task_opts opts(int h, int w, int c, int cache) {
    tpl_task_opts o;
    tpl_task_opts_default(&o);
    o.h = h, o.w = w, o.c = c;
    o.cache = cache;
    return o;
}

/* ---- specs ---------------------------------------------------------------------- */

static void test_specs(void) {
    const char *list = "a=folder:/x/y,flip,fashion,noflip,b=idx:/z,handwritten";
    CHECK(tpl_task_spec_len(list) == strlen("a=folder:/x/y,flip"));
    CHECK(tpl_task_spec_len(list + 19) == strlen("fashion,noflip"));
    CHECK(tpl_task_spec_len("optical") == 7 && tpl_task_spec_len("") == 0);
    CHECK(tpl_task_spec_len("a=idx:d,flip,noflip") == strlen("a=idx:d,flip,noflip"));
    size_t len;
    const char *s = tpl_task_spec_find(list, "fashion", &len);
    CHECK(s == list + 19 && len == 14);
    s = tpl_task_spec_find(list, "handwritten", &len);
    CHECK(s && !strcmp(s, "handwritten") && len == 11);
    CHECK(!tpl_task_spec_find(list, "flip", &len) && !tpl_task_spec_find(list, "y", &len));
    /* option words are never task names */
    CHECK(tpl_task_option("flip", 4) && tpl_task_option("noflip", 6) && !tpl_task_option("fl", 2));
    CHECK(!tpl_task_known("flip") && !tpl_task_known("noflip") && tpl_task_known("fashion"));

    tpl_err err = {{0}};
    CHECK(tpl_task_spec_check("a=folder:/d,flip", 16, &err) == 0);
    CHECK(tpl_task_spec_check("a=csv:f.csv", 11, &err) == 0);
    CHECK(tpl_task_spec_check("a=folder:", 9, &err) != 0 && strstr(err.msg, "unknown source"));
    CHECK(tpl_task_spec_check("a=png:d", 7, &err) != 0 && strstr(err.msg, "png:d") &&
          strstr(err.msg, "a=folder:DIR"));
    CHECK(tpl_task_spec_check("nosuch", 6, &err) != 0 && strstr(err.msg, "unknown task 'nosuch'") &&
          strstr(err.msg, "fashion, handwritten, optical"));
    CHECK(tpl_task_spec_check("flipp", 5, &err) != 0 && strstr(err.msg, "unknown task 'flipp'"));
    CHECK(tpl_task_spec_check("a=idx:d,flipp", 13, &err) != 0 &&
          strstr(err.msg, "unknown option 'flipp'"));
    CHECK(tpl_task_spec_check("=idx:d", 6, &err) != 0 && strstr(err.msg, "1-31"));
}

/* ---- conversions ------------------------------------------------------------------ */

static void test_resize(void) {
    tpl_err err = {{0}};
    /* 4x4 -> 2x2: each output the mean of a 2x2 block */
    uint8_t px[16], lb[1] = {0};
    for (int i = 0; i < 16; i++) px[i] = (uint8_t)(i * 10);
    tpl_dataset in = {1, 4, 4, 1, 1, px, lb}, out;
    CHECK(tpl_dataset_resize_area(&in, 2, 2, &out, &err) == 0 && out.h == 2 && out.w == 2);
    CHECK(out.pixels[0] == 25 && out.pixels[1] == 45 && out.pixels[2] == 105 && out.pixels[3] == 125);
    tpl_dataset_free(&out);
    /* a flat image stays flat at any ratio, shrinking or mixed */
    uint8_t flat[5 * 7 * 3];
    memset(flat, 77, sizeof flat);
    tpl_dataset f = {1, 5, 7, 3, 1, flat, lb};
    const int sizes[3][2] = {{3, 2}, {2, 6}, {9, 4}};
    for (int k = 0; k < 3; k++) {
        CHECK(tpl_dataset_resize_area(&f, sizes[k][0], sizes[k][1], &out, &err) == 0);
        int ok = 1;
        for (int i = 0; i < out.h * out.w * 3; i++) ok &= out.pixels[i] == 77;
        CHECK_MSG(ok, "flat image resized to %dx%d", sizes[k][0], sizes[k][1]);
        tpl_dataset_free(&out);
    }
    /* growing is tpl_dataset_resize's bilinear, byte for byte */
    tpl_dataset a, b;
    CHECK(tpl_dataset_resize_area(&in, 7, 9, &a, &err) == 0 &&
          tpl_dataset_resize(&in, 7, 9, &b, &err) == 0 && same_set(&a, &b));
    tpl_dataset_free(&a), tpl_dataset_free(&b);
    /* shrinking a 3:1 ramp averages thirds */
    uint8_t ramp[6] = {0, 30, 60, 90, 120, 150};
    tpl_dataset r = {1, 1, 6, 1, 1, ramp, lb};
    CHECK(tpl_dataset_resize_area(&r, 1, 2, &a, &err) == 0 && a.pixels[0] == 30 && a.pixels[1] == 120);
    tpl_dataset_free(&a);
    /* convert: size then channels; 0 keeps */
    uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    tpl_dataset c3 = {1, 2, 2, 3, 1, rgb, lb};
    CHECK(tpl_dataset_convert(&c3, 0, 0, 1, &a, &err) == 0 && a.c == 1 && a.h == 2 &&
          a.pixels[0] == 76 && a.pixels[1] == 150 && a.pixels[2] == 29);
    CHECK(tpl_dataset_convert(&a, 4, 4, 3, &b, &err) == 0 && b.c == 3 && b.h == 4 &&
          b.pixels[0] == 76 && b.pixels[1] == 76 && b.pixels[2] == 76);
    tpl_dataset_free(&a), tpl_dataset_free(&b);
    CHECK(tpl_dataset_convert(&c3, 0, 0, 0, &a, &err) == 0 && same_set(&a, &c3) && a.pixels != rgb);
    tpl_dataset_free(&a);
}

/* ---- folders -------------------------------------------------------------------- */

/* ant: 5 grey PNGs 10x12; cat: 5 RGB JPEGs 20x16; dog: 5 PNGs of mixed
 * size and channels; plus files and folders that are not data. */
static void make_folder(void) {
    make_dirs(at("f/ant"));
    make_dirs(at("f/cat"));
    make_dirs(at("f/dog/nested"));
    make_dirs(at("f/.hidden"));
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "f/ant/a%d.png", i);
        png(name, 12, 10, 1, 10 * i);
        snprintf(name, sizeof name, "f/cat/c%d.JPG", i);
        jpeg(name, 20, 16, 3, 100 + 10 * i);
        snprintf(name, sizeof name, "f/dog/d%d.Png", i);
        png(name, 8 + 2 * i, 9 + i, i % 2 ? 3 : 1, 200 + i);
    }
    write_text(at("f/ant/notes.txt"), "not an image\n", 0);
    write_text(at("f/readme.md"), "beside the classes\n", 0);
    png("f/dog/nested/x.png", 4, 4, 1, 0);
    png("f/.hidden/y.png", 4, 4, 1, 0);
}

static void test_folder(void) {
    make_folder();
    tpl_err err = {{0}};
    tpl_task_data t;
    char spec[600];
    snprintf(spec, sizeof spec, "pets=folder:%s", at("f"));
    tpl_task_opts o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    /* classes sorted, shape from the first image, colour: 3 channels */
    CHECK(t.n_class_names == 3 && !strcmp(t.class_names[0], "ant") &&
          !strcmp(t.class_names[1], "cat") && !strcmp(t.class_names[2], "dog"));
    CHECK(t.train.n + t.test.n == 15 && t.test.n == 3 && t.train.classes == 3);
    CHECK(t.train.h == 10 && t.train.w == 12 && t.train.c == 3);
    CHECK(t.labelled == 1 && t.flip_ok == 0 && t.decoded == 15 && !t.cache);
    CHECK_MSG(t.converted == 15, "converted %d", t.converted); /* grey ones to RGB too */
    CHECK(!strcmp(t.source, spec) && !strcmp(t.where, at("f")));
    int per[3] = {0};
    for (int i = 0; i < t.test.n; i++) per[t.test.labels[i]]++;
    CHECK(per[0] == 1 && per[1] == 1 && per[2] == 1);
    tpl_task_free(&t);

    /* one shape asked: every image converted to it; flip asked */
    snprintf(spec, sizeof spec, "pets=folder:%s,flip", at("f"));
    o = opts(6, 6, 1, TPL_CACHE_OFF);
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.train.h == 6 && t.train.w == 6 && t.train.c == 1 && t.flip_ok == 1 &&
          t.converted == 15 && strstr(t.source, ",flip"));
    tpl_task_free(&t);
    /* the test half alone */
    o.halves = TPL_TASK_TEST;
    CHECK(load(spec, &o, &t, &err) == 0 && t.train.n == 0 && t.test.n == 3);
    tpl_task_free(&t);

    /* a flat grey image keeps its value through any resize */
    make_dirs(at("flat/one"));
    make_dirs(at("flat/two"));
    flat_png("flat/one/a.png", 13, 7, 90);
    flat_png("flat/two/b.png", 5, 5, 180);
    flat_png("flat/two/c.png", 50, 3, 180);
    snprintf(spec, sizeof spec, "flat=folder:%s", at("flat"));
    o = opts(4, 4, 3, TPL_CACHE_OFF);
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    int ok = t.train.n + t.test.n == 3;
    for (int h = 0; h < 2; h++) {
        const tpl_dataset *d = h ? &t.test : &t.train;
        for (int i = 0; i < d->n; i++)
            for (int p = 0; p < 48; p++) ok &= d->pixels[i * 48 + p] == (d->labels[i] ? 180 : 90);
    }
    CHECK(ok);
    tpl_task_free(&t);
}

static void test_folder_halves(void) {
    tpl_err err = {{0}};
    tpl_task_data t;
    char spec[600];
    make_dirs(at("h/train/x"));
    make_dirs(at("h/train/y"));
    make_dirs(at("h/test/y"));
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "h/train/x/%d.png", i);
        png(name, 5, 5, 1, i);
        snprintf(name, sizeof name, "h/train/y/%d.jpeg", i);
        jpeg(name, 5, 5, 1, 100 + i);
    }
    png("h/test/y/t.png", 5, 5, 1, 7);
    snprintf(spec, sizeof spec, "h=folder:%s", at("h"));
    tpl_task_opts o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.train.n == 6 && t.test.n == 1 && t.test.labels[0] == 1 && t.train.classes == 2 &&
          t.test.classes == 2 && t.train.c == 1 && t.converted == 0);
    CHECK(t.train.labels[0] == 0 && t.train.labels[5] == 1 && t.train.pixels[0] == 0 &&
          t.test.pixels[0] == 7);
    tpl_task_free(&t);
    /* a class only test has */
    make_dirs(at("h/test/z"));
    png("h/test/z/q.png", 5, 5, 1, 1);
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "h/test/z: a class that") && t.train.n == 0);
    rm_tree(at("h/test/z"));
    /* train without test */
    rm_tree(at("h/test"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "has train/ but no test/"));
}

static void test_folder_errors(void) {
    tpl_err err = {{0}};
    tpl_task_data t;
    char spec[600];
    tpl_task_opts o = opts(0, 0, 0, TPL_CACHE_OFF);
    /* missing, not a directory, empty */
    snprintf(spec, sizeof spec, "e=folder:%s", at("nope"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "nope: No such file"));
    write_text(at("afile"), "x", 0);
    snprintf(spec, sizeof spec, "e=folder:%s", at("afile"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "not a directory"));
    make_dirs(at("empty"));
    snprintf(spec, sizeof spec, "e=folder:%s", at("empty"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "no images"));
    /* an empty class folder */
    make_dirs(at("e1/a"));
    make_dirs(at("e1/b"));
    png("e1/a/1.png", 3, 3, 1, 0);
    write_text(at("e1/b/readme"), "x", 0);
    snprintf(spec, sizeof spec, "e=folder:%s", at("e1"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "e1/b: no images"));
    /* a corrupt PNG is named */
    write_text(at("e1/b/bad.png"), "this is no PNG", 0);
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "e1/b/bad.png") && t.train.n == 0);
    /* more classes than labels can hold */
    char name[64];
    for (int k = 0; k < 256; k++) {
        snprintf(name, sizeof name, "many/c%03d", k);
        make_dirs(at(name));
        snprintf(name, sizeof name, "many/c%03d/i.png", k);
        png(name, 2, 2, 1, k);
    }
    snprintf(spec, sizeof spec, "e=folder:%s", at("many"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "256 classes, at most 255"));
}

static void test_unlabelled(void) {
    tpl_err err = {{0}};
    tpl_task_data t;
    char spec[600];
    make_dirs(at("u"));
    for (int i = 0; i < 10; i++) {
        char name[64];
        snprintf(name, sizeof name, "u/img%02d.png", i);
        png(name, 6, 4 + i % 3, 1, i);
    }
    snprintf(spec, sizeof spec, "u=folder:%s", at("u"));
    tpl_task_opts o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "no class folders") &&
          strstr(err.msg, "labels are not needed"));
    o.unlabelled_ok = 1;
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.labelled == 0 && t.n_class_names == 0 && t.train.n == 8 && t.test.n == 2 &&
          t.train.classes == 1 && t.train.h == 4 && t.converted == 6);
    int zero = 1;
    for (int i = 0; i < t.train.n; i++) zero &= t.train.labels[i] == 0;
    CHECK(zero);
    tpl_task_free(&t);

    /* an IDX directory without label files */
    tpl_dataset d;
    CHECK(tpl_dataset_alloc(&d, 4, 3, 3, 1, 2) == 0);
    for (int i = 0; i < 36; i++) d.pixels[i] = (uint8_t)i;
    for (int i = 0; i < 4; i++) d.labels[i] = (uint8_t)(i % 2);
    make_dirs(at("idx"));
    CHECK(tpl_idx_write_dir(at("idx"), "train", &d, &err) == 0 &&
          tpl_idx_write_dir(at("idx"), "test", &d, &err) == 0);
    snprintf(spec, sizeof spec, "i=idx:%s", at("idx"));
    o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK(load(spec, &o, &t, &err) == 0 && t.labelled == 1 && t.flip_ok == 0 &&
          t.train.classes == 2 && t.n_class_names == 0 && t.converted == 0);
    tpl_task_free(&t);
    /* converted to a shape; flips when asked */
    snprintf(spec, sizeof spec, "i=idx:%s,flip", at("idx"));
    o = opts(6, 6, 3, TPL_CACHE_OFF);
    CHECK(load(spec, &o, &t, &err) == 0 && t.train.h == 6 && t.train.c == 3 && t.converted == 8 &&
          t.flip_ok == 1 && strstr(t.source, "idx:") && strstr(t.source, ",flip"));
    tpl_task_free(&t);
    unlink(at("idx/train-labels-idx1-ubyte.gz"));
    snprintf(spec, sizeof spec, "i=idx:%s", at("idx"));
    o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "train-labels-idx1-ubyte"));
    o.unlabelled_ok = 1;
    CHECK(load(spec, &o, &t, &err) == 0 && t.labelled == 0 && t.train.n == 4 &&
          t.test.n == 4 && t.test.labels[1] == 0 && t.train.classes == 1);
    tpl_task_free(&t);
    /* "fashion" from another directory flips, and names its classes only
     * when the data has its ten (here: fewer) */
    CHECK(tpl_task_load_idx("fashion", at("idx"), TPL_TASK_TEST, &t, &err) == 0 &&
          t.flip_ok == 1 && (t.test.classes == 10) == (t.n_class_names == 10));
    tpl_task_free(&t);
    tpl_dataset_free(&d);
}

/* ---- CSV ------------------------------------------------------------------------------ */

static void test_csv(void) {
    tpl_err err = {{0}};
    tpl_task_data t;
    char spec[600];
    make_dirs(at("c/img"));
    for (int i = 0; i < 10; i++) {
        char name[64];
        snprintf(name, sizeof name, "c/img/%d.png", i);
        png(name, 4, 4, 1, 20 * i);
    }
    png("c/img/with,comma.png", 4, 4, 1, 250);
    /* names, a header, a BOM, CRLF, blank lines, a quoted path, spaces */
    write_text(at("c/list.csv"), "\xEF\xBB\xBFpath,label\r\nimg/0.png,zebra\r\n\r\n"
               "img/1.png, apple \nimg/2.png,zebra\nimg/3.png,apple\nimg/4.png,zebra\n"
               "img/5.png,apple\nimg/6.png,zebra\nimg/7.png,apple\nimg/8.png,zebra\n"
               "\"img/with,comma.png\",apple\n", 0);
    snprintf(spec, sizeof spec, "l=csv:%s", at("c/list.csv"));
    tpl_task_opts o = opts(0, 0, 0, TPL_CACHE_OFF);
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_class_names == 2 && !strcmp(t.class_names[0], "apple") &&
          !strcmp(t.class_names[1], "zebra") && t.train.n == 8 && t.test.n == 2 &&
          t.test.labels[0] + t.test.labels[1] == 1 && t.flip_ok == 0);
    tpl_task_free(&t);
    /* integer labels and a split column, absolute paths too */
    char text[1024];
    snprintf(text, sizeof text, "img/0.png,0,train\nimg/1.png,2,train\n%s,2,test\n"
             "img/3.png,0,TEST\n", at("c/img/2.png"));
    write_text(at("c/split.csv"), text, 0);
    snprintf(spec, sizeof spec, "s=csv:%s", at("c/split.csv"));
    CHECK_MSG(load(spec, &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.train.n == 2 && t.test.n == 2 && t.train.classes == 3 && t.n_class_names == 3 &&
          !strcmp(t.class_names[2], "2") && t.test.labels[0] == 2 && t.test.pixels[0] == 40);
    tpl_task_free(&t);
    /* unlabelled: paths only */
    write_text(at("c/paths.csv"), "path\nimg/0.png\nimg/1.png\nimg/2.png\nimg/3.png\nimg/4.png\n", 0);
    snprintf(spec, sizeof spec, "p=csv:%s", at("c/paths.csv"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "no labels"));
    o.unlabelled_ok = 1;
    CHECK(load(spec, &o, &t, &err) == 0 && t.labelled == 0 && t.train.n + t.test.n == 5);
    tpl_task_free(&t);
    o.unlabelled_ok = 0;

    /* errors name the file and line */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"img/0.png,a\nimg/1.png\n", "list2.csv:2: 1 field, but the first line has 2"},
        {"img/0.png,a,train\nimg/1.png,b,later\n", "list2.csv:2: split 'later' is not train or test"},
        {"img/0.png,a,train\nimg/1.png,b,test\n", "list2.csv:2: label 'b' is on no train line"},
        {"img/0.png,a\nimg/1.png,\n", "list2.csv:2: no label, but other lines have one"},
        {"img/0.png,1\nimg/1.png,300\n", "list2.csv:2: label 300 is more than 254"},
        {"img/0.png,a\n\"img/1.png,b\n", "list2.csv:2: a quote is not closed"},
        {"img/0.png,a,train,x\n", "list2.csv:1: more than 3 fields"},
        {"img/0.png,a\nimg/missing.png,a\n", "img/missing.png: No such file"},
        {"path,label\n\n", "list2.csv: no images listed"},
        {"img/0.png,a\nlist2.csv,a\n", "list2.csv: not a PNG or JPEG file"},
    };
    snprintf(spec, sizeof spec, "b=csv:%s", at("c/list2.csv"));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(at("c/list2.csv"), bad[i].text, 0);
        CHECK_MSG(load(spec, &o, &t, &err) != 0 && strstr(err.msg, bad[i].want),
                  "'%s': got '%s'", bad[i].want, err.msg);
    }
    snprintf(spec, sizeof spec, "b=csv:%s", at("c/none.csv"));
    CHECK(load(spec, &o, &t, &err) != 0 && strstr(err.msg, "none.csv: No such file"));
}

/* ---- the cache ------------------------------------------------------------------------- */

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_cache(void) {
    tpl_err err = {{0}};
    tpl_task_data a, b;
    char spec[600];
    make_dirs(at("k/one"));
    make_dirs(at("k/two"));
    for (int i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof name, "k/%s/%d.png", i % 2 ? "two" : "one", i);
        png(name, 9, 9, i % 3 ? 1 : 3, 30 * i);
    }
    snprintf(spec, sizeof spec, "k=folder:%s", at("k"));
    tpl_task_opts o = opts(8, 8, 0, TPL_CACHE_ON);
    CHECK_MSG(load(spec, &o, &a, &err) == 0, "%s", err.msg);
    CHECK(a.decoded == 6 && a.cache && strstr(a.cache, "/k/.templar-cache/folder-"));
    CHECK(count_files(at("k/.templar-cache")) == 1);
    /* again: nothing decoded, the same pixels, the conversions remembered */
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 0 && same_set(&a.train, &b.train) &&
          same_set(&a.test, &b.test) && b.converted == a.converted && b.converted == 6 &&
          b.n_class_names == 2 && b.cache && !strcmp(a.cache, b.cache));
    tpl_task_free(&b);
    /* the test half alone comes from the same cache */
    o.halves = TPL_TASK_TEST;
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 0 && b.train.n == 0 &&
          same_set(&a.test, &b.test));
    tpl_task_free(&b);
    o.halves = TPL_TASK_BOTH;
    /* another shape: another cache file */
    tpl_task_opts o2 = opts(5, 5, 1, TPL_CACHE_ON);
    CHECK(load(spec, &o2, &b, &err) == 0 && b.decoded == 6 && strcmp(a.cache, b.cache));
    CHECK(count_files(at("k/.templar-cache")) == 2);
    tpl_task_free(&b);

    /* a changed image: the cache is stale, rebuilt, then used again */
    png("k/one/0.png", 9, 9, 3, 99);
    struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    utimensat(AT_FDCWD, at("k/one/0.png"), later, 0);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 6 &&
          !(same_set(&a.train, &b.train) && same_set(&a.test, &b.test)));
    tpl_task_free(&b);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 0);
    tpl_task_free(&b);
    /* a new image: stale too */
    png("k/two/new.png", 9, 9, 1, 5);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 7 && b.train.n + b.test.n == 7);
    tpl_task_free(&b);
    /* a truncated cache is ignored and rewritten */
    int fd = open(a.cache, O_WRONLY);
    CHECK(fd >= 0 && ftruncate(fd, 100) == 0);
    if (fd >= 0) close(fd);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 7);
    tpl_task_free(&b);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 0);
    tpl_task_free(&b);
    /* garbage of the right size is ignored too */
    struct stat st;
    CHECK(stat(a.cache, &st) == 0);
    FILE *f = fopen(a.cache, "r+b");
    for (off_t i = 0; f && i < 64; i++) fputc('x', f);
    if (f) fclose(f);
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 7);
    tpl_task_free(&b);
    /* off: always decoded, nothing written */
    tpl_task_opts off = opts(7, 7, 1, TPL_CACHE_OFF);
    CHECK(load(spec, &off, &b, &err) == 0 && b.decoded == 7 && !b.cache &&
          count_files(at("k/.templar-cache")) == 2);
    tpl_task_free(&b);
    tpl_task_free(&a);

    /* where beside the data cannot be written, the user's cache directory */
    make_dirs(at("ro/only"));
    png("ro/only/a.png", 3, 3, 1, 1);
    write_text(at("ro/.templar-cache"), "a file where the cache directory would go", 0);
    setenv("XDG_CACHE_HOME", at("xdg"), 1);
    snprintf(spec, sizeof spec, "r=folder:%s", at("ro"));
    CHECK(load(spec, &o, &a, &err) == 0 && a.decoded == 1 && a.cache &&
          strstr(a.cache, "/xdg/templar/folder-"));
    CHECK(load(spec, &o, &b, &err) == 0 && b.decoded == 0 && b.cache && !strcmp(a.cache, b.cache));
    tpl_task_free(&a);
    tpl_task_free(&b);
}

/* ---- built-ins ------------------------------------------------------------------------- */

static void test_builtins(void) {
    if (access(TPL_OPTICAL_CSV, R_OK)) {
        printf("test_tasks: %s missing (python3-sklearn): built-in check skipped\n", TPL_OPTICAL_CSV);
        return;
    }
    tpl_err err = {{0}};
    tpl_task_data a, b;
    CHECK(tpl_task_load("optical", 7, NULL, TPL_TASK_BOTH, &a, &err) == 0);
    CHECK(!strcmp(a.source, "optical") && a.flip_ok == 0 && a.n_class_names == 10 &&
          !strcmp(a.class_names[3], "3") && a.train.h == 28 && a.converted == 0);
    /* noflip/flip options recorded; a shape converts */
    tpl_task_opts o = opts(32, 32, 3, TPL_CACHE_OFF);
    CHECK(tpl_task_load_with("optical,flip", 12, &o, &b, &err) == 0 &&
          !strcmp(b.source, "optical,flip") && b.flip_ok == 1 && b.train.h == 32 &&
          b.train.c == 3 && b.converted == a.train.n + a.test.n);
    tpl_task_free(&b);
    tpl_task_free(&a);
}

int main(void) {
    scratch_begin("tasks");
    unsetenv("XDG_CACHE_HOME");
    test_specs();
    test_resize();
    test_folder();
    test_folder_halves();
    test_folder_errors();
    test_unlabelled();
    test_csv();
    test_cache();
    test_builtins();
    scratch_end();
    return check_summary("test_tasks");
}
