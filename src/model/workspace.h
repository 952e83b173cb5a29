/* The activations of one batch: what a training forward keeps for the
 * backward, or the few buffers an eval forward passes along, plus the
 * gradient and BN scratch.  One arena, laid out by the model's aggregation
 * and block kinds, owned by the model (model->ws). */
#ifndef TPL_WORKSPACE_H
#define TPL_WORKSPACE_H
#include "model.h"

/* A block's pointers: its output, its last BN's statistics, the input of
 * that BN (a branch's output, or the experts' sum), the output's bf16 copy
 * (bf16 runs; NULL in fp32 ones), then the saved tensors of each branch
 * run (the kind's `saved`, one set per branch). */
enum { TPL_BLK_OUT, TPL_BLK_STATS, TPL_BLK_SUM, TPL_BLK_OUT_BF16, TPL_BLK_BRANCHES };

#define TPL_WS_GRADS 5

typedef struct tpl_workspace {
    int cap;          /* batch capacity the arena was laid out for */
    int n;            /* batch of the last forward */
    int training;     /* of the arena's layout */
    int fwd_task;     /* the last training forward: task, or -1 */
    unsigned long fwd_mix_gen; /* and the mixing cache's generation it used */
    float *arena;
    float *stem_c, *stem_h, *stem_stats;      /* stats: mean[C], invstd[C] */
    float *trans_c[TPL_MAX_STAGES], *trans_h[TPL_MAX_STAGES], *trans_stats[TPL_MAX_STAGES];
    float **blk;      /* training: every block's pointers, bstride apiece */
    int bstride;
    float *eval_out[2];     /* eval: block outputs, alternately */
    float **eval_blk;       /* eval: one block's pointers (branch scratch shared by all) */
    float *pool, *logits;
    float *g[TPL_WS_GRADS]; /* gradient buffers, largest activation each */
    float *dw;              /* weight-gradient scratch, largest template */
    float *dpool;
    void *bn_scratch;       /* tpl_bn_scratch_bytes of the largest BN */
    /* bf16 runs: the copies the convolutions read (NULL in fp32 runs) */
    tpl_bf16 *x_bf16;       /* the input images, NHWC */
    tpl_bf16 *stem_h_bf16, *trans_h_bf16[TPL_MAX_STAGES];
    tpl_bf16 *eval_out_bf16[2];
    tpl_bf16 *g_bf16;       /* an output gradient, largest activation */
    /* A block's input gradient from its convolutions (in g[1]), not yet
     * added to its skip gradient in g[0]: the block before adds it as it
     * reads g[0] (tpl_bn_args.dout_add), anything else first settles it
     * (tpl_ws_settle_grad).  NULL when none. */
    const float *g_pending;
    size_t g_pending_numel;
    int g_pending_bf16;     /* it holds bf16 values (tpl_stage.out_bf16) */
    float *extra;           /* a block kind's own scratch (tpl_ws_extra) */
    size_t extra_cap;       /* floats */
    const float *x;         /* input of the last training forward */
} tpl_workspace;

/* Floats of the arena for batch n, training or eval, from the model's
 * geometry alone (tpl_model_geometry is enough): nothing is allocated. */
size_t tpl_ws_floats(const tpl_model *m, int n, int training);
/* Lays out (when the batch grows or the mode changes) and binds batch n. */
int tpl_ws_prepare(tpl_model *m, int n, int training, tpl_err *err);
void tpl_ws_free(tpl_workspace *ws);
/* Block b's pointers (training), counting blocks over all stages. */
static inline float **tpl_ws_block(const tpl_workspace *ws, int b) {
    return ws->blk + (size_t)b * ws->bstride;
}
/* At least floats of 64-byte aligned scratch, kept between calls. */
float *tpl_ws_extra(tpl_workspace *ws, size_t floats, tpl_err *err);
/* Adds a pending input gradient (g_pending) into g[0], if there is one. */
void tpl_ws_settle_grad(tpl_workspace *ws);
/* The shape of stage s's block activations for the current batch. */
tpl_shape tpl_stage_shape(const tpl_model *m, int s);
#endif
