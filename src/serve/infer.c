/* One task's forward (see infer.h). */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "data.h"
#include "ops.h"

struct serve_infer {
    tpl_model *m;
    serve_cache *cache;
    int cap;             /* images the buffers hold */
    size_t logit_cap;    /* floats of head logits */
    uint8_t *px;         /* [cap] images, contiguous */
    uint8_t *labels;
    int *idx, *y;
    float *x, *slot_logits, *logits;
};

serve_infer *serve_infer_create(tpl_model *m, serve_cache *cache, tpl_err *err) {
    serve_infer *in = calloc(1, sizeof *in);
    if (!in) tpl_err_set(err, "out of memory");
    else in->m = m, in->cache = cache;
    return in;
}

static void release(serve_infer *in) {
    free(in->px), free(in->labels), free(in->idx), free(in->y), free(in->x),
        free(in->slot_logits);
}

void serve_infer_free(serve_infer *in) {
    if (!in) return;
    release(in);
    free(in->logits);
    free(in);
}

/* Buffers for n images of `classes` classes. */
static int reserve(serve_infer *in, int n, int classes, tpl_err *err) {
    const tpl_config *c = &in->m->cfg;
    const size_t img = (size_t)c->in_channels * c->in_height * c->in_width;
    if (n > in->cap) {
        release(in);
        in->px = malloc(img * n), in->labels = calloc((size_t)n, 1);
        in->idx = malloc(sizeof(int) * n), in->y = malloc(sizeof(int) * n);
        in->x = malloc(sizeof(float) * img * n);
        in->slot_logits = malloc(sizeof(float) * n * c->task[0].classes);
        in->cap = in->px && in->labels && in->idx && in->y && in->x && in->slot_logits ? n : 0;
    }
    if ((size_t)n * classes > in->logit_cap) {
        free(in->logits);
        in->logits = malloc(sizeof(float) * n * classes);
        in->logit_cap = in->logits ? (size_t)n * classes : 0;
    }
    if (in->cap >= n && in->logit_cap >= (size_t)n * classes) return 0;
    tpl_err_set(err, "out of memory for a batch of %d", n);
    return -1;
}

/* Images per forward.  On the small-batch winograd path (AVX-512 builds,
 * widths a multiple of 16) a batch of one task's images saves part of the
 * per-image time, but every change of batch size rebuilds the model's
 * convolution plans (about 3 ms on the benchmark's host, more than a
 * forward), and when requests name random tasks the groups are small and
 * of varying size: so each image runs alone and the plans stay built for
 * one.  Elsewhere (oneDNN's kernels) the group runs as one forward. */
static int forward_batch(const tpl_model *m, int n) {
    for (int s = 0; s < m->cfg.n_stages; s++)
        if (!m->winograd || m->cfg.aggregate != TPL_AGG_PARAMS || m->stage[s].width % 16) return n;
    return 1;
}

int serve_infer_run(serve_infer *in, const serve_task *t, const uint8_t *const *pixels, int n,
                    float *const *probs, int *hit, tpl_err *err) {
    tpl_model *m = in->m;
    const tpl_config *c = &m->cfg;
    const size_t img = (size_t)c->in_channels * c->in_height * c->in_width;
    if (reserve(in, n, t->classes, err)) return -1;
    for (int i = 0; i < n; i++) {
        memcpy(in->px + img * i, pixels[i], img);
        in->idx[i] = i;
    }
    const tpl_dataset d = {.n = n, .h = c->in_height, .w = c->in_width, .c = c->in_channels,
                           .classes = 1, .pixels = in->px, .labels = in->labels};
    tpl_batch_fill(&d, in->idx, n, c->in_mean, c->in_std, NULL, NULL, in->x, in->y);
    if (m->binding[0] != t->id) tpl_model_bind(m, 0, t->trunk, t->id);
    *hit = serve_cache_select(in->cache, t->id) == 1;
    const int width = c->stage[c->n_stages - 1].width, step = forward_batch(m, n);
    for (int i = 0; i < n; i += step) {
        const int k = n - i < step ? n - i : step;
        if (tpl_model_forward(m, 0, in->x + img * i, k, 0, in->slot_logits, err)) return -1;
        tpl_linear_forward(k, width, t->classes, tpl_model_features(m), t->head_w, t->head_b,
                           in->logits + (size_t)i * t->classes);
    }
    for (int i = 0; i < n; i++)
        tpl_softmax_forward(t->classes, 1.0f, in->logits + (size_t)i * t->classes, probs[i]);
    return 0;
}
