/* Byte datasets: allocation, channel conversion, statistics, resizing,
 * splits and few-label subsets. */
#include "data.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest dataset (pixel bytes) a transform will build, and largest image
 * count (n is an int); largest resize output side. */
#define DS_MAX_BYTES ((uint64_t)1 << 32)
#define DS_MAX_IMAGES ((uint64_t)INT32_MAX)
#define DS_MAX_OUT_SIDE 32768

void tpl_dataset_free(tpl_dataset *d) {
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int tpl_dataset_alloc(tpl_dataset *d, int n, int h, int w, int c, int classes) {
    *d = (tpl_dataset){.n = n, .h = h, .w = w, .c = c, .classes = classes};
    if (n <= 0) return 0;
    d->pixels = malloc((size_t)n * (size_t)h * (size_t)w * (size_t)c);
    d->labels = malloc((size_t)n);
    if (d->pixels && d->labels) return 0;
    tpl_dataset_free(d);
    return -1;
}

/* ---- channels -------------------------------------------------------------- */

/* One pixel from ci to co channels: grey replicated, RGB to grey by
 * Rec. 601 luma in integers (0.299 R + 0.587 G + 0.114 B, rounded). */
static void convert_pixel(const uint8_t *p, int ci, uint8_t *o, int co) {
    if (ci == co) {
        memcpy(o, p, (size_t)co);
    } else if (ci == 1) {
        memset(o, p[0], (size_t)co);
    } else {
        o[0] = (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
    }
}

/* What every transform of in into out checks first: out is not in (it is
 * zeroed before in is read).  Zeroes *out. */
static int fresh_output(const tpl_dataset *in, tpl_dataset *out, const char *who, tpl_err *err) {
    if (out == in) {
        tpl_err_set(err, "%s: output must not be the input", who);
        return -1;
    }
    memset(out, 0, sizeof *out);
    return 0;
}

int tpl_dataset_to_channels(const tpl_dataset *in, int c, tpl_dataset *out, tpl_err *err) {
    if (fresh_output(in, out, "channels", err)) return -1;
    if ((in->c != 1 && in->c != 3) || (c != 1 && c != 3) || in->n < 0 || in->h < 1 ||
        in->w < 1 || (in->n > 0 && (!in->pixels || !in->labels))) {
        tpl_err_set(err, "channels: cannot convert %d images of %d channels to %d (1 or 3)",
                    in->n, in->c, c);
        return -1;
    }
    size_t pixels = (size_t)in->n * (size_t)in->h * (size_t)in->w;
    tpl_dataset d;
    if (tpl_dataset_alloc(&d, in->n, in->h, in->w, c, in->classes)) {
        tpl_err_set(err, "channels: out of memory for %zu pixels", pixels);
        return -1;
    }
    for (size_t i = 0; i < pixels; i++)
        convert_pixel(in->pixels + i * (size_t)in->c, in->c, d.pixels + i * (size_t)c, c);
    if (in->n > 0) memcpy(d.labels, in->labels, (size_t)in->n);
    *out = d;
    return 0;
}

void tpl_dataset_stats_union(const tpl_dataset *const *sets, int n_sets, float *mean,
                             float *std) {
    for (int c = 0; c < sets[0]->c; c++) {
        /* Integer sums are exact (255^2 * 2^32 < 2^64), so the variance is
         * not lost to cancellation; doubles only for the final division. */
        uint64_t s = 0, s2 = 0, count = 0;
        for (int k = 0; k < n_sets; k++) {
            const tpl_dataset *d = sets[k];
            size_t pixels = (size_t)d->n * (size_t)d->h * (size_t)d->w;
            for (size_t i = 0; i < pixels; i++) {
                uint64_t p = d->pixels[i * (size_t)d->c + (size_t)c];
                s += p;
                s2 += p * p;
            }
            count += pixels;
        }
        double m = count ? (double)s / (double)count : 0.0;
        double var = count ? (double)s2 / (double)count - m * m : 0.0;
        mean[c] = (float)(m / 255.0);
        std[c] = (float)(sqrt(var > 0.0 ? var : 0.0) / 255.0);
    }
}

void tpl_dataset_stats(const tpl_dataset *d, float *mean, float *std) {
    tpl_dataset_stats_union(&d, 1, mean, std);
}

/* ---- resize -------------------------------------------------------------- */

/* One axis of OpenCV-style INTER_LINEAR sampling: output o reads input
 * i0[o] (weight 1 - f[o]) and i1[o] (weight f[o]). */
static void linear_taps(int in, int out, int *i0, int *i1, double *f) {
    double scale = (double)in / (double)out;
    for (int o = 0; o < out; o++) {
        double s = ((double)o + 0.5) * scale - 0.5;
        int a = (int)floor(s);
        double t = s - a;
        if (a < 0) {
            a = 0;
            t = 0.0;
        }
        if (a >= in - 1) {
            a = in - 1;
            t = 0.0;
        }
        i0[o] = a;
        i1[o] = a + 1 < in ? a + 1 : a;
        f[o] = t;
    }
}

static int check_dataset(const tpl_dataset *d, const char *who, tpl_err *err) {
    if (!d || d->n < 0 || d->h < 1 || d->w < 1 || d->c < 1 ||
        (d->n > 0 && (!d->pixels || !d->labels))) {
        tpl_err_set(err, "%s: invalid input dataset (n %d, %dx%dx%d)", who, d ? d->n : 0,
                    d ? d->h : 0, d ? d->w : 0, d ? d->c : 0);
        return -1;
    }
    return 0;
}

static void resize_one(const uint8_t *src, int iw, int C, uint8_t *dst, int oh,
                       int ow, const int *y0, const int *y1, const double *fy,
                       const int *x0, const int *x1, const double *fx) {
    for (int y = 0; y < oh; y++) {
        const uint8_t *r0 = src + (size_t)y0[y] * iw * C, *r1 = src + (size_t)y1[y] * iw * C;
        for (int x = 0; x < ow; x++) {
            const uint8_t *a = r0 + (size_t)x0[x] * C, *b = r0 + (size_t)x1[x] * C;
            const uint8_t *c = r1 + (size_t)x0[x] * C, *d = r1 + (size_t)x1[x] * C;
            uint8_t *o = dst + ((size_t)y * ow + x) * C;
            for (int k = 0; k < C; k++) {
                double top = a[k] + fx[x] * (b[k] - a[k]);
                double bot = c[k] + fx[x] * (d[k] - c[k]);
                double v = top + fy[y] * (bot - top) + 0.5;
                o[k] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
            }
        }
    }
}

/* What both resizes refuse: out being in, a bad input, a size out of range
 * or a result over the byte limit.  Zeroes *out. */
static int check_resize(const tpl_dataset *in, int out_h, int out_w, tpl_dataset *out,
                        tpl_err *err) {
    if (fresh_output(in, out, "resize", err) || check_dataset(in, "resize", err)) return -1;
    if (out_h < 1 || out_h > DS_MAX_OUT_SIDE || out_w < 1 || out_w > DS_MAX_OUT_SIDE) {
        tpl_err_set(err, "resize: output size %dx%d outside [1, %d]", out_h, out_w,
                    DS_MAX_OUT_SIDE);
        return -1;
    }
    uint64_t per = (uint64_t)out_h * (uint64_t)out_w * (uint64_t)in->c;
    if (per * (uint64_t)in->n > DS_MAX_BYTES) {
        tpl_err_set(err, "resize: %d images of %dx%dx%d exceed the %" PRIu64 "-byte limit",
                    in->n, out_h, out_w, in->c, DS_MAX_BYTES);
        return -1;
    }
    return 0;
}

int tpl_dataset_resize(const tpl_dataset *in, int out_h, int out_w, tpl_dataset *out,
                       tpl_err *err) {
    if (check_resize(in, out_h, out_w, out, err)) return -1;
    int *y0 = malloc(sizeof(int) * (size_t)out_h), *y1 = malloc(sizeof(int) * (size_t)out_h);
    int *x0 = malloc(sizeof(int) * (size_t)out_w), *x1 = malloc(sizeof(int) * (size_t)out_w);
    double *fy = malloc(sizeof(double) * (size_t)out_h);
    double *fx = malloc(sizeof(double) * (size_t)out_w);
    tpl_dataset d;
    int rc = -1;
    if (!y0 || !y1 || !x0 || !x1 || !fy || !fx ||
        tpl_dataset_alloc(&d, in->n, out_h, out_w, in->c, in->classes)) {
        tpl_err_set(err, "resize: out of memory");
        goto done;
    }
    linear_taps(in->h, out_h, y0, y1, fy);
    linear_taps(in->w, out_w, x0, x1, fx);
    size_t in_per = (size_t)in->h * (size_t)in->w * (size_t)in->c;
    for (int i = 0; i < in->n; i++)
        resize_one(in->pixels + (size_t)i * in_per, in->w, in->c,
                   d.pixels + (size_t)i * out_h * out_w * in->c, out_h, out_w, y0, y1, fy, x0, x1,
                   fx);
    if (in->n > 0) memcpy(d.labels, in->labels, (size_t)in->n);
    *out = d;
    rc = 0;
done:
    free(y0);
    free(y1);
    free(x0);
    free(x1);
    free(fy);
    free(fx);
    return rc;
}

/* ---- area resize -------------------------------------------------------- */

/* One axis of a separable resampling: output o is the sum over its taps j
 * in [first[o], first[o + 1]) of wt[j] times input idx[j]. */
typedef struct taps {
    int *first, *idx;
    double *wt;
} taps;

static void taps_free(taps *t) {
    free(t->first);
    free(t->idx);
    free(t->wt);
}

/* A box filter for a shrinking axis: output o covers input [o s, (o + 1) s),
 * s = in / out, each input pixel weighted by the part of it covered. */
static int area_taps(int in, int out, taps *t) {
    const double s = (double)in / (double)out;
    const int most = (int)ceil(s) + 1;
    t->first = malloc(sizeof(int) * (size_t)(out + 1));
    t->idx = malloc(sizeof(int) * (size_t)out * most);
    t->wt = malloc(sizeof(double) * (size_t)out * most);
    if (!t->first || !t->idx || !t->wt) return -1;
    int j = 0;
    for (int o = 0; o < out; o++) {
        const double lo = o * s, hi = o == out - 1 ? in : (o + 1) * s;
        t->first[o] = j;
        for (int i = (int)floor(lo); i < in && i < hi; i++) {
            const double part = fmin(hi, i + 1.0) - fmax(lo, (double)i);
            if (part <= 1e-12) continue;
            t->idx[j] = i;
            t->wt[j++] = part / s;
        }
    }
    t->first[out] = j;
    return 0;
}

/* Bilinear taps (linear_taps') for an axis that grows or stays. */
static int bilinear_taps(int in, int out, taps *t) {
    int *i0 = malloc(sizeof(int) * (size_t)out), *i1 = malloc(sizeof(int) * (size_t)out);
    double *f = malloc(sizeof(double) * (size_t)out);
    t->first = malloc(sizeof(int) * (size_t)(out + 1));
    t->idx = malloc(sizeof(int) * 2 * (size_t)out);
    t->wt = malloc(sizeof(double) * 2 * (size_t)out);
    int rc = !i0 || !i1 || !f || !t->first || !t->idx || !t->wt ? -1 : 0;
    if (!rc) {
        linear_taps(in, out, i0, i1, f);
        for (int o = 0; o < out; o++) {
            t->first[o] = 2 * o;
            t->idx[2 * o] = i0[o], t->wt[2 * o] = 1.0 - f[o];
            t->idx[2 * o + 1] = i1[o], t->wt[2 * o + 1] = f[o];
        }
        t->first[out] = 2 * out;
    }
    free(i0), free(i1), free(f);
    return rc;
}

static int axis_taps(int in, int out, taps *t) {
    memset(t, 0, sizeof *t);
    return out < in ? area_taps(in, out, t) : bilinear_taps(in, out, t);
}

/* Rows through tx into tmp (in_h x out_w x c, doubles), then columns through
 * ty into out. */
static void resample(const uint8_t *in, int in_h, int in_w, int c, const taps *tx,
                     const taps *ty, double *tmp, uint8_t *out, int out_h, int out_w) {
    for (int y = 0; y < in_h; y++)
        for (int x = 0; x < out_w; x++)
            for (int k = 0; k < c; k++) {
                double v = 0.0;
                for (int j = tx->first[x]; j < tx->first[x + 1]; j++)
                    v += tx->wt[j] * in[((size_t)y * in_w + tx->idx[j]) * c + k];
                tmp[((size_t)y * out_w + x) * c + k] = v;
            }
    for (int y = 0; y < out_h; y++)
        for (int x = 0; x < out_w; x++)
            for (int k = 0; k < c; k++) {
                double v = 0.5;
                for (int j = ty->first[y]; j < ty->first[y + 1]; j++)
                    v += ty->wt[j] * tmp[((size_t)ty->idx[j] * out_w + x) * c + k];
                out[((size_t)y * out_w + x) * c + k] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
            }
}

/* No axis shrinks: tpl_dataset_resize's bilinear code, for identical bytes. */
static int pixels_bilinear(const uint8_t *in, int in_h, int in_w, int c, uint8_t *out,
                           int out_h, int out_w) {
    int *y0 = malloc(sizeof(int) * (size_t)out_h), *y1 = malloc(sizeof(int) * (size_t)out_h);
    int *x0 = malloc(sizeof(int) * (size_t)out_w), *x1 = malloc(sizeof(int) * (size_t)out_w);
    double *fy = malloc(sizeof(double) * (size_t)out_h);
    double *fx = malloc(sizeof(double) * (size_t)out_w);
    int rc = !y0 || !y1 || !x0 || !x1 || !fy || !fx ? -1 : 0;
    if (!rc) {
        linear_taps(in_h, out_h, y0, y1, fy);
        linear_taps(in_w, out_w, x0, x1, fx);
        resize_one(in, in_w, c, out, out_h, out_w, y0, y1, fy, x0, x1, fx);
    }
    free(y0), free(y1), free(x0), free(x1), free(fy), free(fx);
    return rc;
}

int tpl_pixels_resize(const uint8_t *in, int in_h, int in_w, int c, uint8_t *out, int out_h,
                      int out_w) {
    if (in_h < 1 || in_w < 1 || c < 1 || out_h < 1 || out_w < 1) return -1;
    if (out_h >= in_h && out_w >= in_w) return pixels_bilinear(in, in_h, in_w, c, out, out_h, out_w);
    taps tx = {0}, ty = {0};
    double *tmp = malloc(sizeof(double) * (size_t)in_h * out_w * c);
    int rc = !tmp || axis_taps(in_w, out_w, &tx) || axis_taps(in_h, out_h, &ty) ? -1 : 0;
    if (!rc) resample(in, in_h, in_w, c, &tx, &ty, tmp, out, out_h, out_w);
    taps_free(&tx);
    taps_free(&ty);
    free(tmp);
    return rc;
}

int tpl_dataset_resize_area(const tpl_dataset *in, int out_h, int out_w, tpl_dataset *out,
                            tpl_err *err) {
    if (check_resize(in, out_h, out_w, out, err)) return -1;
    tpl_dataset d;
    if (tpl_dataset_alloc(&d, in->n, out_h, out_w, in->c, in->classes)) {
        tpl_err_set(err, "resize: out of memory");
        return -1;
    }
    const size_t in_per = (size_t)in->h * in->w * in->c;
    for (int i = 0; i < in->n; i++)
        if (tpl_pixels_resize(in->pixels + i * in_per, in->h, in->w, in->c,
                              d.pixels + (size_t)i * out_h * out_w * in->c, out_h, out_w)) {
            tpl_dataset_free(&d);
            tpl_err_set(err, "resize: out of memory");
            return -1;
        }
    if (in->n > 0) memcpy(d.labels, in->labels, (size_t)in->n);
    *out = d;
    return 0;
}

/* A copy of in (pixels and labels of its own). */
static int copy_dataset(const tpl_dataset *in, tpl_dataset *out, tpl_err *err) {
    if (tpl_dataset_alloc(out, in->n, in->h, in->w, in->c, in->classes)) {
        tpl_err_set(err, "convert: out of memory");
        return -1;
    }
    if (in->n > 0) {
        memcpy(out->pixels, in->pixels, (size_t)in->n * in->h * in->w * in->c);
        memcpy(out->labels, in->labels, (size_t)in->n);
    }
    return 0;
}

int tpl_dataset_convert(const tpl_dataset *in, int h, int w, int c, tpl_dataset *out,
                        tpl_err *err) {
    if (fresh_output(in, out, "convert", err) || check_dataset(in, "convert", err)) return -1;
    h = h ? h : in->h, w = w ? w : in->w, c = c ? c : in->c;
    tpl_dataset sized = {0};
    const tpl_dataset *src = in;
    if ((h != in->h || w != in->w) && tpl_dataset_resize_area(in, h, w, &sized, err)) return -1;
    if (h != in->h || w != in->w) src = &sized;
    int rc = c == src->c ? (src == &sized ? (*out = sized, 0) : copy_dataset(src, out, err))
                         : tpl_dataset_to_channels(src, c, out, err);
    if (c != src->c || src != &sized) tpl_dataset_free(&sized);
    return rc;
}

/* ---- split --------------------------------------------------------------- */

/* Marks test[i] = 1 for the images the documented rule sends to test, and
 * counts them. */
static int split_mark(const tpl_dataset *in, double frac, uint64_t seed, uint8_t *test,
                      int *n_test, tpl_err *err) {
    int count[256] = {0}, start[257];
    for (int i = 0; i < in->n; i++) {
        if (in->labels[i] >= in->classes) {
            tpl_err_set(err, "split: image %d has label %d, not below classes %d", i,
                        in->labels[i], in->classes);
            return -1;
        }
        count[in->labels[i]]++;
    }
    start[0] = 0;
    for (int k = 0; k < 256; k++) start[k + 1] = start[k] + count[k];
    int *idx = malloc(sizeof(int) * (size_t)(in->n > 0 ? in->n : 1));
    if (!idx) {
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    int fill[256];
    memcpy(fill, start, sizeof fill);
    for (int i = 0; i < in->n; i++) idx[fill[in->labels[i]]++] = i; /* ascending per class */
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    *n_test = 0;
    for (int k = 0; k < in->classes; k++) {
        tpl_shuffle(idx + start[k], count[k], &rng);
        int take = (int)round(frac * (double)count[k]);
        for (int j = 0; j < take; j++) test[idx[start[k] + j]] = 1;
        *n_test += take;
    }
    free(idx);
    return 0;
}

/* A new dataset of the n images whose mark is value, in their order. */
static int gather(const tpl_dataset *in, const uint8_t *mark, uint8_t value, int n,
                  tpl_dataset *out) {
    if (tpl_dataset_alloc(out, n, in->h, in->w, in->c, in->classes)) return -1;
    size_t per = (size_t)in->h * (size_t)in->w * (size_t)in->c;
    for (int i = 0, j = 0; i < in->n; i++) {
        if (mark[i] != value) continue;
        memcpy(out->pixels + (size_t)j * per, in->pixels + (size_t)i * per, per);
        out->labels[j++] = in->labels[i];
    }
    return 0;
}

int tpl_dataset_split(const tpl_dataset *in, double test_fraction, uint64_t seed,
                      tpl_dataset *train, tpl_dataset *test, tpl_err *err) {
    if (train == test || (const tpl_dataset *)train == in || (const tpl_dataset *)test == in) {
        tpl_err_set(err, "split: input, train and test must be distinct datasets");
        return -1;
    }
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (check_dataset(in, "split", err)) return -1;
    if (in->classes < 1 || in->classes > 256) {
        tpl_err_set(err, "split: classes %d outside [1, 256]", in->classes);
        return -1;
    }
    if (!(test_fraction >= 0.0 && test_fraction <= 1.0)) {
        tpl_err_set(err, "split: test fraction %g outside [0, 1]", test_fraction);
        return -1;
    }
    uint8_t *is_test = calloc((size_t)(in->n > 0 ? in->n : 1), 1);
    if (!is_test) {
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    int n_test = 0;
    if (split_mark(in, test_fraction, seed, is_test, &n_test, err)) {
        free(is_test);
        return -1;
    }
    tpl_dataset tr, te;
    int rc = gather(in, is_test, 0, in->n - n_test, &tr);
    if (!rc && (rc = gather(in, is_test, 1, n_test, &te))) tpl_dataset_free(&tr);
    if (rc) {
        free(is_test);
        tpl_err_set(err, "split: out of memory");
        return -1;
    }
    free(is_test);
    *train = tr;
    *test = te;
    return 0;
}

int tpl_dataset_per_class(const tpl_dataset *in, int n, uint64_t seed, tpl_dataset *out,
                          tpl_err *err) {
    memset(out, 0, sizeof *out);
    if (check_dataset(in, "per-class", err)) return -1;
    if (n < 1) {
        tpl_err_set(err, "per-class: %d images per class is less than 1", n);
        return -1;
    }
    int *order = malloc(sizeof(int) * (size_t)(in->n > 0 ? in->n : 1));
    uint8_t *keep = calloc((size_t)(in->n > 0 ? in->n : 1), 1);
    int taken[256] = {0}, kept = 0;
    if (!order || !keep) {
        free(order), free(keep);
        tpl_err_set(err, "per-class: out of memory");
        return -1;
    }
    tpl_rng rng;
    tpl_rng_seed(&rng, seed);
    for (int i = 0; i < in->n; i++) order[i] = i;
    tpl_shuffle(order, in->n, &rng);
    for (int i = 0; i < in->n; i++) {
        int j = order[i];
        if (taken[in->labels[j]] < n) taken[in->labels[j]]++, keep[j] = 1, kept++;
    }
    int rc = gather(in, keep, 1, kept, out);
    if (rc) tpl_err_set(err, "per-class: out of memory");
    free(order), free(keep);
    return rc;
}
