/* NAME=folder:DIR: an image folder in the layout torchvision's ImageFolder
 * reads, DIR/<class>/<image>, classes named by their folders in strcmp
 * order (class k is the k-th name).  Images are the files ending in .png,
 * .jpg or .jpeg (any case); other files, hidden entries (such as the cache,
 * DIR/.templar-cache) and folders inside class folders are not looked at,
 * nor files beside the class folders.  With DIR/train and DIR/test, each is
 * such a folder and they are the halves (their classes together are the
 * task's; a class only test has is an error); with neither, the images are
 * split by the fixed seeded rule; with one alone, an error.  A folder of
 * images without class folders is unlabelled (see tasks.h).  An empty class
 * folder, or more than TPL_TASK_MAX_CLASSES classes, is an error. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imageset.h"
#include "paths.h"
#include "task_source.h"

static const char *const image_suffixes[] = {".png", ".jpg", ".jpeg", NULL};

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A half: its directory, class folders (sorted) or, when it has none, its
 * loose images. */
typedef struct half {
    char dir[PATH_MAX];
    int which; /* TPL_HALF_* */
    tpl_paths classes, loose;
} half;

static int read_half(half *h, tpl_err *err) {
    if (tpl_paths_subdirs(&h->classes, h->dir, err)) return -1;
    if (h->classes.n == 0 && tpl_paths_files(&h->loose, h->dir, image_suffixes, err)) return -1;
    if (h->classes.n == 0 && h->loose.n == 0) {
        tpl_err_set(err, "%s: no images (wanted %s/<class>/*.png, .jpg or .jpeg)", h->dir, h->dir);
        return -1;
    }
    return 0;
}

/* The task's classes: the halves' class folders together, sorted. */
static int union_classes(const half *hv, int nh, tpl_paths *names, tpl_err *err) {
    for (int k = 0; k < nh; k++)
        for (int i = 0; i < hv[k].classes.n; i++) {
            const char *c = hv[k].classes.path[i];
            if (tpl_paths_find(names, c) >= 0) continue;
            if (hv[k].which == TPL_HALF_TEST) {
                tpl_err_set(err, "%s/%s: a class that %s does not have", hv[k].dir, c, hv[0].dir);
                return -1;
            }
            if (tpl_paths_push(names, c)) {
                tpl_err_set(err, "%s: out of memory", hv[k].dir);
                return -1;
            }
        }
    tpl_paths_sort(names);
    return 0;
}

/* dir's images as entries of label in half. */
static int add_files(tpl_image_list *l, const char *dir, const tpl_paths *files, int label,
                     int half, tpl_err *err) {
    char path[PATH_MAX];
    for (int i = 0; i < files->n; i++) {
        if (tpl_path_join(path, sizeof path, dir, files->path[i], err)) return -1;
        if (tpl_image_list_add(l, path, label, half)) {
            tpl_err_set(err, "%s: out of memory", dir);
            return -1;
        }
    }
    return 0;
}

/* Each class folder of h, in order, as entries. */
static int add_classes(tpl_image_list *l, const half *h, const tpl_paths *names, tpl_err *err) {
    for (int i = 0; i < h->classes.n; i++) {
        char dir[PATH_MAX];
        tpl_paths files = {0};
        if (tpl_path_join(dir, sizeof dir, h->dir, h->classes.path[i], err)) return -1;
        int rc = tpl_paths_files(&files, dir, image_suffixes, err);
        if (!rc && files.n == 0) {
            tpl_err_set(err, "%s: no images (.png, .jpg or .jpeg) in this class folder", dir);
            rc = -1;
        }
        const int label = tpl_paths_find(names, h->classes.path[i]);
        if (!rc) rc = add_files(l, dir, &files, label, h->which, err);
        tpl_paths_free(&files);
        if (rc) return -1;
    }
    return 0;
}

/* The halves of DIR: train and test folders, or DIR itself. */
static int find_halves(const char *dir, half *hv, int *nh, tpl_err *err) {
    char train[PATH_MAX], test[PATH_MAX];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(test, sizeof test, "%s/test", dir);
    struct stat st;
    if (stat(dir, &st)) {
        tpl_err_set(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        tpl_err_set(err, "%s: not a directory", dir);
        return -1;
    }
    const int a = is_dir(train), b = is_dir(test);
    if (a != b) {
        tpl_err_set(err, "%s: has %s/ but no %s/; give both, or neither for a seeded %g/%g split",
                    dir, a ? "train" : "test", a ? "test" : "train",
                    100 * (1 - TPL_TASK_TEST_FRACTION), 100 * TPL_TASK_TEST_FRACTION);
        return -1;
    }
    *nh = a ? 2 : 1;
    snprintf(hv[0].dir, sizeof hv[0].dir, "%s", a ? train : dir);
    hv[0].which = a ? TPL_HALF_TRAIN : TPL_HALF_SPLIT;
    if (a) snprintf(hv[1].dir, sizeof hv[1].dir, "%s", test), hv[1].which = TPL_HALF_TEST;
    return 0;
}

/* The list of DIR's images; names gets the class names. */
static int list_folder(const char *dir, const tpl_task_opts *o, tpl_image_list *l,
                       tpl_paths *names, tpl_err *err) {
    half hv[2] = {{.which = 0}};
    int nh = 0, rc = find_halves(dir, hv, &nh, err);
    for (int k = 0; !rc && k < nh; k++) rc = read_half(&hv[k], err);
    const int labelled = !rc && hv[0].classes.n > 0;
    for (int k = 1; !rc && k < nh; k++)
        if ((hv[k].classes.n > 0) != labelled) {
            tpl_err_set(err, "%s: class folders in %s but not in %s", dir,
                        labelled ? hv[0].dir : hv[k].dir, labelled ? hv[k].dir : hv[0].dir);
            rc = -1;
        }
    if (!rc && !labelled && !o->unlabelled_ok) {
        tpl_err_set(err, "%s: images but no class folders (%s/<class>/*.png); images without "
                    "classes load only where labels are not needed", hv[0].dir, hv[0].dir);
        rc = -1;
    }
    if (!rc && labelled) rc = union_classes(hv, nh, names, err);
    if (!rc && names->n > TPL_TASK_MAX_CLASSES) {
        tpl_err_set(err, "%s: %d classes, at most %d", dir, names->n, TPL_TASK_MAX_CLASSES);
        rc = -1;
    }
    for (int k = 0; !rc && k < nh; k++)
        rc = labelled ? add_classes(l, &hv[k], names, err)
                      : add_files(l, hv[k].dir, &hv[k].loose, 0, hv[k].which, err);
    l->labelled = labelled;
    if (!rc && !(l->root = strdup(dir))) {
        tpl_err_set(err, "%s: out of memory", dir);
        rc = -1;
    }
    for (int k = 0; k < 2; k++) tpl_paths_free(&hv[k].classes), tpl_paths_free(&hv[k].loose);
    return rc;
}

static int load(const tpl_task_request *rq, tpl_task_data *out, tpl_err *err) {
    return tpl_image_source_load(rq, "folder", list_folder, out, err);
}

const tpl_source_kind tpl_source_folder = {
    .kind = "folder",
    .usage = "NAME=folder:DIR",
    .names = NULL,
    .load = load,
};
