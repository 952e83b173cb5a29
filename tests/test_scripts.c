/* Tests for the script suite (scripts.c) and the printer it shares with the
 * digits (printer.c): the letter tables, choosing scripts, the fonts each
 * may use and their disjoint train/test split, determinism, and the class
 * folders written (whole, replacing only an earlier suite).
 *
 * Needs Debian's fonts-noto-core and fonts-noto-cjk; exits 77 (skipped)
 * without them.  Small counts only: a couple of scripts, a few images. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scripts.h"
#include "tasks.h"
#include "testfiles.h"

static int same_set(const tpl_dataset *a, const tpl_dataset *b) {
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c &&
           !memcmp(a->pixels, b->pixels, (size_t)a->n * a->h * a->w * a->c) &&
           !memcmp(a->labels, b->labels, (size_t)a->n);
}

/* ---- tables ------------------------------------------------------------------- */

static void test_tables(void) {
    CHECK(TPL_N_SCRIPTS >= 12);
    for (int s = 0; s < TPL_N_SCRIPTS; s++) {
        const tpl_script *t = &tpl_scripts[s];
        CHECK_MSG(t->n >= 10 && t->n <= 255, "%s: %d letters", t->name, t->n);
        for (int i = 0; i < t->n; i++) {
            CHECK_MSG(t->letter[i].ch >= 0x370, "%s: U+%04X is Latin", t->name,
                      (unsigned)t->letter[i].ch);
            const char *nm = t->letter[i].name;
            int ok = *nm != 0;
            for (const char *c = nm; *c; c++) ok &= (*c >= 'a' && *c <= 'z') || *c == '-';
            CHECK_MSG(ok, "%s: class name '%s'", t->name, nm);
            for (int j = 0; j < i; j++) {
                CHECK(t->letter[j].ch != t->letter[i].ch);
                CHECK_MSG(strcmp(t->letter[j].name, nm), "%s: '%s' twice", t->name, nm);
            }
        }
        for (int r = 0; r < s; r++) CHECK(strcmp(tpl_scripts[r].name, t->name));
    }
}

static void test_select(void) {
    int which[TPL_N_SCRIPTS], n;
    tpl_err err = {{0}};
    CHECK(tpl_scripts_select(NULL, which, &n, &err) == 0 && n == TPL_N_SCRIPTS && which[3] == 3);
    CHECK(tpl_scripts_select("all", which, &n, &err) == 0 && n == TPL_N_SCRIPTS);
    CHECK(tpl_scripts_select("hebrew,greek", which, &n, &err) == 0 && n == 2 &&
          !strcmp(tpl_scripts[which[0]].name, "hebrew") &&
          !strcmp(tpl_scripts[which[1]].name, "greek"));
    CHECK(tpl_scripts_select("greek,latin", which, &n, &err) != 0 &&
          strstr(err.msg, "unknown script 'latin'") && strstr(err.msg, "hangul"));
    CHECK(tpl_scripts_select("greek,greek", which, &n, &err) != 0 && strstr(err.msg, "twice"));
    CHECK(tpl_scripts_select("greek,", which, &n, &err) != 0 && strstr(err.msg, "''"));
}

/* ---- fonts and builds ------------------------------------------------------------- */

static int script_index(const char *name) {
    for (int s = 0; s < TPL_N_SCRIPTS; s++)
        if (!strcmp(tpl_scripts[s].name, name)) return s;
    return -1;
}

static int in_paths(const tpl_paths *p, const char *path) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->path[i], path)) return 1;
    return 0;
}

/* Train and test fonts: disjoint, together the usable ones, about a
 * quarter held out. */
static void check_fonts(const tpl_script_set *set, const tpl_paths *usable) {
    const int n = usable->n, test = (n + 2) / 4 > 0 ? (n + 2) / 4 : 1;
    CHECK_MSG(set->test_fonts.n == test && set->train_fonts.n == n - test,
              "%s: %d train + %d test of %d fonts", set->script->name, set->train_fonts.n,
              set->test_fonts.n, n);
    for (int i = 0; i < set->test_fonts.n; i++) {
        CHECK(!in_paths(&set->train_fonts, set->test_fonts.path[i]));
        CHECK(in_paths(usable, set->test_fonts.path[i]));
    }
    for (int i = 0; i < set->train_fonts.n; i++) CHECK(in_paths(usable, set->train_fonts.path[i]));
}

static void check_images(const tpl_script_set *set, int train, int test) {
    const tpl_script *s = set->script;
    CHECK(set->train.n == train * s->n && set->test.n == test * s->n);
    CHECK(set->train.c == 1 && set->train.h == TPL_SCRIPT_SIDE && set->train.w == TPL_SCRIPT_SIDE);
    CHECK(set->train.classes == s->n && set->test.classes == s->n);
    int labels_ok = 1, inked = 0;
    for (int i = 0; i < set->train.n; i++) {
        labels_ok &= set->train.labels[i] == i % s->n;
        const uint8_t *px = set->train.pixels + (size_t)i * TPL_SCRIPT_SIDE * TPL_SCRIPT_SIDE;
        int hi = 0;
        for (int p = 0; p < TPL_SCRIPT_SIDE * TPL_SCRIPT_SIDE; p++) hi += px[p] >= 128;
        inked += hi > 8 && hi < TPL_SCRIPT_SIDE * TPL_SCRIPT_SIDE / 2;
    }
    CHECK(labels_ok);
    CHECK_MSG(inked == set->train.n, "%s: %d of %d images show a letter", s->name, inked,
              set->train.n);
}

static void test_build(const tpl_paths usable[2], const int which[2]) {
    tpl_scripts_opts o;
    tpl_scripts_opts_default(&o);
    o.seed = 5;
    o.train_per_class = 3;
    o.test_per_class = 2;
    tpl_err err = {{0}};
    for (int k = 0; k < 2; k++) {
        tpl_script_set a, b;
        CHECK_MSG(tpl_script_build(&o, which[k], &usable[k], &a, &err) == 0, "%s", err.msg);
        check_fonts(&a, &usable[k]);
        check_images(&a, 3, 2);
        /* one seed, the same images; another count of test images leaves
         * the train half as it was */
        tpl_scripts_opts more = o;
        more.test_per_class = 4;
        CHECK(tpl_script_build(&more, which[k], &usable[k], &b, &err) == 0);
        CHECK(same_set(&a.train, &b.train) && b.test.n == 4 * a.script->n);
        CHECK(!memcmp(a.test.pixels, b.test.pixels, (size_t)a.test.n * 32 * 32));
        tpl_script_set_free(&b);
        CHECK(tpl_script_build(&o, which[k], &usable[k], &b, &err) == 0 &&
              same_set(&a.train, &b.train) && same_set(&a.test, &b.test));
        tpl_script_set_free(&b);
        tpl_scripts_opts other = o;
        other.seed = 6;
        CHECK(tpl_script_build(&other, which[k], &usable[k], &b, &err) == 0 &&
              !same_set(&a.train, &b.train));
        tpl_script_set_free(&b);
        tpl_script_set_free(&a);
    }
    /* one font cannot be split; counts out of range */
    tpl_paths one = {1, usable[0].path};
    tpl_script_set c;
    CHECK(tpl_script_build(&o, which[0], &one, &c, &err) != 0 && strstr(err.msg, "need 2") &&
          c.train.n == 0);
    o.train_per_class = 0;
    CHECK(tpl_script_build(&o, which[0], &usable[0], &c, &err) != 0 && strstr(err.msg, "1..9999"));
}

/* ---- writing ------------------------------------------------------------------------ */

/* DIR/<script> holds classes.txt (one line per class, folder order),
 * fonts.txt and a folder per class in both halves with the right counts. */
static void check_written(const char *dir, const tpl_script *s, int train, int test) {
    char path[1024], line[256], prev[64] = "";
    snprintf(path, sizeof path, "%s/%s/classes.txt", dir, s->name);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s missing", path);
    int lines = 0;
    while (f && fgets(line, sizeof line, f)) {
        char name[64], hex[16];
        unsigned cp = 0;
        CHECK(sscanf(line, "%63[^\t]\t%*[^\t]\t%15s", name, hex) == 2 &&
              sscanf(hex, "U+%X", &cp) == 1);
        CHECK_MSG(strcmp(prev, name) < 0, "%s: '%s' after '%s'", path, name, prev);
        snprintf(prev, sizeof prev, "%s", name);
        int found = 0;
        for (int i = 0; i < s->n; i++) found |= !strcmp(s->letter[i].name, name) && s->letter[i].ch == cp;
        CHECK(found);
        const char *half[2] = {"train", "test"};
        const int want[2] = {train, test};
        for (int h = 0; h < 2; h++) {
            snprintf(path, sizeof path, "%s/%s/%s/%s", dir, s->name, half[h], name);
            CHECK_MSG(count_entries(path) == want[h], "%s: %d files", path, count_entries(path));
        }
        snprintf(path, sizeof path, "%s/%s/train/%s/0000.png", dir, s->name, name);
        CHECK(access(path, R_OK) == 0);
        lines++;
    }
    if (f) fclose(f);
    CHECK(lines == s->n);
    snprintf(path, sizeof path, "%s/%s/train", dir, s->name);
    CHECK(count_entries(path) == s->n);
    snprintf(path, sizeof path, "%s/%s", dir, s->name);
    CHECK(count_entries(path) == 4);
    snprintf(path, sizeof path, "%s/%s/fonts.txt", dir, s->name);
    f = fopen(path, "r");
    int tr = 0, te = 0;
    while (f && fgets(line, sizeof line, f)) {
        tr += !strncmp(line, "train /", 7);
        te += !strncmp(line, "test /", 6);
    }
    if (f) fclose(f);
    CHECK(tr >= 1 && te >= 1);
}

/* Every file under a and b the same (the two trees hold the same names). */
static int same_tree(const char *a, const char *b) {
    struct stat sa;
    if (lstat(a, &sa)) return 0;
    if (S_ISDIR(sa.st_mode)) {
        DIR *d = opendir(a);
        int same = d != NULL && count_entries(a) == count_entries(b);
        for (struct dirent *e; same && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char x[1024], y[1024];
            snprintf(x, sizeof x, "%s/%s", a, e->d_name);
            snprintf(y, sizeof y, "%s/%s", b, e->d_name);
            same = same_tree(x, y);
        }
        if (d) closedir(d);
        return same;
    }
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int c = fgetc(f), e = fgetc(g);
        same = c == e;
        if (c == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* A script reads back as a folder task: its classes in classes.txt's
 * order, its images unchanged. */
static void check_as_folder(const char *dir, const tpl_script *s, int train, int test,
                            int cache) {
    char spec[600];
    snprintf(spec, sizeof spec, "%s=folder:%s/%s", s->name, dir, s->name);
    tpl_task_opts o;
    tpl_task_opts_default(&o);
    o.cache = cache;
    tpl_task_data t;
    tpl_err err = {{0}};
    CHECK_MSG(tpl_task_load_with(spec, strlen(spec), &o, &t, &err) == 0, "%s", err.msg);
    CHECK(t.n_class_names == s->n && t.train.n == train * s->n && t.test.n == test * s->n &&
          t.train.h == TPL_SCRIPT_SIDE && t.train.c == 1 && t.converted == 0 && t.flip_ok == 0);
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/%s/classes.txt", dir, s->name);
    FILE *f = fopen(path, "r");
    for (int k = 0; f && k < t.n_class_names && fgets(line, sizeof line, f); k++)
        CHECK(!strncmp(line, t.class_names[k], strlen(t.class_names[k])) &&
              line[strlen(t.class_names[k])] == '\t');
    if (f) fclose(f);
    tpl_task_free(&t);
}

static void test_save(const int which[2]) {
    tpl_scripts_opts o;
    tpl_scripts_opts_default(&o);
    o.train_per_class = 2;
    o.test_per_class = 1;
    tpl_err err = {{0}};
    int created = 0;
    const char *out = at("suite"), *again = at("again");
    char path[1024];
    tpl_dataset rows[4];
    CHECK_MSG(tpl_scripts_prepare(out, which, 2, &created, &err) == 0 && created, "%s", err.msg);
    CHECK_MSG(tpl_scripts_save(out, &o, which, 2, rows, 5, &err) == 0, "%s", err.msg);
    for (int k = 0; k < 2; k++) check_written(out, &tpl_scripts[which[k]], 2, 1);
    CHECK(count_entries(out) == 2); /* no temporary directory left */
    CHECK(rows[0].n == 5 && rows[1].n == 5 && rows[2].classes == tpl_scripts[which[1]].n);
    for (int k = 0; k < 4; k++) tpl_dataset_free(&rows[k]);
    check_as_folder(out, &tpl_scripts[which[0]], 2, 1, TPL_CACHE_OFF);

    /* the same seed gives the same files, also when written over a suite */
    CHECK(tpl_scripts_prepare(again, which, 2, &created, &err) == 0);
    CHECK(tpl_scripts_save(again, &o, which, 2, NULL, 0, &err) == 0 && same_tree(out, again));
    /* loaded as a task, a script gets a decode cache: a suite may still be
     * written over it */
    check_as_folder(again, &tpl_scripts[which[1]], 2, 1, TPL_CACHE_ON);
    snprintf(path, sizeof path, "%s/%s/.templar-cache", again, tpl_scripts[which[1]].name);
    CHECK(count_entries(path) == 1);
    CHECK_MSG(tpl_scripts_prepare(again, which, 2, &created, &err) == 0 && !created, "%s", err.msg);
    CHECK(tpl_scripts_save(again, &o, which, 2, NULL, 0, &err) == 0 && same_tree(out, again));
    CHECK(count_entries(again) == 2);

    /* a script folder holding something else is not replaced */
    snprintf(path, sizeof path, "%s/%s/notes.txt", again, tpl_scripts[which[0]].name);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    CHECK(tpl_scripts_prepare(again, which, 2, &created, &err) != 0 &&
          strstr(err.msg, "notes.txt") && strstr(err.msg, "earlier run did not write"));
    CHECK(access(path, F_OK) == 0);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s/train/%s/x.jpg", again, tpl_scripts[which[0]].name,
             tpl_scripts[which[0]].letter[0].name);
    f = fopen(path, "w");
    if (f) fclose(f);
    CHECK(tpl_scripts_prepare(again, which, 2, &created, &err) != 0 && strstr(err.msg, "x.jpg"));
    /* a failure (counts out of range) leaves the directory as it was */
    o.test_per_class = 0;
    CHECK(tpl_scripts_save(out, &o, which, 2, NULL, 0, &err) != 0);
    CHECK(count_entries(out) == 2);
    CHECK(tpl_scripts_prepare(at("missing/x"), which, 2, &created, &err) != 0 &&
          strstr(err.msg, "cannot create directory") && !is_dir(at("missing")));
}

int main(void) {
    test_tables();
    test_select();
    int which[2] = {script_index("greek"), script_index("hiragana")};
    tpl_scripts_opts o;
    tpl_scripts_opts_default(&o);
    tpl_paths usable[2];
    tpl_err err = {{0}};
    if (tpl_scripts_fonts(&o, which, 2, usable, &err)) {
        printf("test_scripts: %s: font checks skipped\n", err.msg);
        return check_failures ? check_summary("test_scripts") : 77;
    }
    CHECK(usable[0].n >= 2 && usable[1].n >= 2);
    for (int k = 0; k < 2; k++)
        for (int i = 1; i < usable[k].n; i++) CHECK(strcmp(usable[k].path[i - 1], usable[k].path[i]) < 0);
    /* fonts of the other package are not used: CJK fonts have Greek too */
    for (int i = 0; i < usable[0].n; i++) CHECK(!strstr(usable[0].path[i], "CJK"));
    scratch_begin("scripts");
    test_build(usable, which);
    test_save(which);
    tpl_scripts_opts gone = o;
    gone.font_dir[TPL_NOTO_CJK] = "/nonexistent/noto";
    tpl_paths u2[2];
    CHECK(tpl_scripts_fonts(&gone, which, 2, u2, &err) != 0 &&
          strstr(err.msg, "/nonexistent/noto") && strstr(err.msg, "apt-get install fonts-noto-cjk"));
    for (int k = 0; k < 2; k++) tpl_paths_free(&usable[k]);
    scratch_end();
    return check_summary("test_scripts");
}
