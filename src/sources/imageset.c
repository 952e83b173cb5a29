/* Image lists into task halves (see imageset.h): the shape, decoding with
 * progress, the split, and the cache around them. */
#include "imageset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image.h"

/* Largest image store a load builds (as the data layer's transforms). */
#define SET_MAX_BYTES ((uint64_t)1 << 32)
/* Progress: the first line after this many seconds, then one every ... */
#define PROGRESS_FIRST_S 2.0
#define PROGRESS_EVERY_S 5.0

int tpl_image_list_add(tpl_image_list *l, const char *path, int label, int half) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        tpl_image_entry *e = realloc(l->e, sizeof *e * (size_t)cap);
        if (!e) return -1;
        l->e = e;
        l->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) return -1;
    l->e[l->n++] = (tpl_image_entry){copy, label, half};
    return 0;
}

void tpl_image_list_free(tpl_image_list *l) {
    for (int i = 0; i < l->n; i++) free(l->e[i].path);
    free(l->e);
    free(l->root);
    free(l->id);
    memset(l, 0, sizeof *l);
}

int tpl_image_source_load(const tpl_task_request *rq, const char *kind, tpl_image_lister list,
                          tpl_task_data *out, tpl_err *err) {
    tpl_image_list l = {.kind = kind};
    tpl_paths names = {0};
    if (tpl_task_describe(out, tpl_task_source_spec(rq->name, kind, rq->arg),
                          tpl_str_printf("%s", rq->arg), err))
        return -1;
    out->flip_ok = 0;
    int rc = list(rq->arg, rq->o, &l, &names, err);
    l.classes = l.labelled ? names.n : 1;
    if (!rc && !(l.id = tpl_path_absolute(rq->arg))) {
        tpl_err_set(err, "%s: out of memory", rq->arg);
        rc = -1;
    }
    if (!rc && l.labelled)
        rc = tpl_task_set_class_names(out, (const char *const *)names.path, names.n, err);
    if (!rc) rc = tpl_image_list_load(&l, rq->o, out, err);
    tpl_image_list_free(&l);
    tpl_paths_free(&names);
    return rc;
}

/* ---- shape --------------------------------------------------------------------- */

/* The shape asked for, with its 0s filled from the files: size from the
 * first image, 3 channels when any image is in colour (headers only). */
static int resolve_shape(const tpl_image_list *l, const tpl_task_opts *o, int *h, int *w,
                         int *c, tpl_err *err) {
    *h = o->h, *w = o->w, *c = o->c;
    int fw, fh, fc;
    if ((!*h || !*w) && tpl_image_probe(l->e[0].path, &fw, &fh, &fc, err)) return -1;
    if (!*h) *h = fh;
    if (!*w) *w = fw;
    for (int i = 0; !*c && i < l->n; i++) {
        if (tpl_image_probe(l->e[i].path, &fw, &fh, &fc, err)) return -1;
        if (fc == 3) *c = 3;
    }
    if (!*c) *c = 1;
    if ((uint64_t)l->n * (uint64_t)*h * (uint64_t)*w * (uint64_t)*c > SET_MAX_BYTES) {
        tpl_err_set(err, "%s: %d images of %dx%dx%d are more than 4 GiB; ask for a smaller size",
                    l->id, l->n, *c, *h, *w);
        return -1;
    }
    return 0;
}

/* ---- decoding ------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct progress {
    FILE *f;
    const char *name;
    int total, shown;
    double start, last;
} progress;

static void progress_tick(progress *p, int done) {
    if (!p->f) return;
    const double t = now_s();
    if (t - p->start < PROGRESS_FIRST_S || (t - p->last < PROGRESS_EVERY_S && done < p->total))
        return;
    if (done == p->total && !p->shown) return; /* quick enough: no lines at all */
    const double left = done ? (t - p->start) / done * (p->total - done) : 0.0;
    fprintf(p->f, "%s: decoded %d/%d images, %.0f s %s\n", p->name, done, p->total,
            done < p->total ? left : t - p->start, done < p->total ? "left" : "in all");
    fflush(p->f);
    p->last = t;
    p->shown = 1;
}

/* Every file of l, in order, into all (h x w x c). */
static int decode_all(const tpl_image_list *l, const tpl_task_opts *o, const char *name,
                      tpl_dataset *all, int *converted, tpl_err *err) {
    progress p = {o->progress, name, l->n, 0, now_s(), 0.0};
    const size_t per = (size_t)all->h * all->w * all->c;
    for (int i = 0; i < l->n; i++) {
        int changed;
        if (tpl_image_load_as(l->e[i].path, all->h, all->w, all->c, all->pixels + i * per,
                              &changed, err))
            return -1;
        *converted += changed != 0;
        all->labels[i] = (uint8_t)l->e[i].label;
        progress_tick(&p, i + 1);
    }
    return 0;
}

/* ---- halves --------------------------------------------------------------------- */

/* The images of all whose entry is in half, in order. */
static int gather(const tpl_image_list *l, const tpl_dataset *all, int half, tpl_dataset *out) {
    int n = 0;
    for (int i = 0; i < l->n; i++) n += l->e[i].half == half;
    if (tpl_dataset_alloc(out, n, all->h, all->w, all->c, all->classes)) return -1;
    const size_t per = (size_t)all->h * all->w * all->c;
    for (int i = 0, j = 0; i < l->n; i++)
        if (l->e[i].half == half) {
            memcpy(out->pixels + j * per, all->pixels + i * per, per);
            out->labels[j++] = all->labels[i];
        }
    return 0;
}

static int split(const tpl_image_list *l, const tpl_dataset *all, tpl_cached *c, tpl_err *err) {
    if (l->e[0].half == TPL_HALF_SPLIT)
        return tpl_dataset_split(all, TPL_TASK_TEST_FRACTION, TPL_TASK_SPLIT_SEED, &c->train,
                                 &c->test, err);
    if (gather(l, all, TPL_HALF_TRAIN, &c->train) || gather(l, all, TPL_HALF_TEST, &c->test)) {
        tpl_dataset_free(&c->train);
        tpl_err_set(err, "%s: out of memory", l->id);
        return -1;
    }
    return 0;
}

/* Decodes l and splits it into c. */
static int decode(const tpl_image_list *l, const tpl_task_opts *o, const char *name,
                  tpl_cached *c, tpl_err *err) {
    int h, w, ch;
    if (resolve_shape(l, o, &h, &w, &ch, err)) return -1;
    tpl_dataset all;
    if (tpl_dataset_alloc(&all, l->n, h, w, ch, l->classes)) {
        tpl_err_set(err, "%s: out of memory for %d images of %dx%dx%d", l->id, l->n, ch, h, w);
        return -1;
    }
    int rc = decode_all(l, o, name, &all, &c->converted, err) || split(l, &all, c, err);
    tpl_dataset_free(&all);
    return rc ? -1 : 0;
}

int tpl_image_list_load(const tpl_image_list *l, const tpl_task_opts *o, tpl_task_data *out,
                        tpl_err *err) {
    tpl_cache_key key;
    tpl_cache_place place;
    tpl_cached c = {0};
    if (l->n == 0) {
        tpl_err_set(err, "%s: no images", l->id);
        return -1;
    }
    if (tpl_cache_key_of(l, o, &key, err)) return -1;
    tpl_cache_place_of(l, o, &place);
    if (o->cache != TPL_CACHE_ON || !tpl_cache_read(&place, &key, l->n, &c, &out->cache)) {
        if (decode(l, o, out->name, &c, err)) return -1;
        out->decoded = l->n;
        if (o->cache == TPL_CACHE_ON) out->cache = tpl_cache_write(&place, &key, &c);
    }
    out->converted += c.converted;
    out->labelled = l->labelled;
    out->train = c.train;
    out->test = c.test;
    if (!(o->halves & TPL_TASK_TRAIN)) tpl_dataset_free(&out->train);
    if (!(o->halves & TPL_TASK_TEST)) tpl_dataset_free(&out->test);
    return 0;
}
