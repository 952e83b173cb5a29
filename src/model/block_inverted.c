/* The inverted-bottleneck block kind (MobileNetV2's), width C, expansion E,
 * hidden width H = E x C:
 *   branch(h) = P(ReLU(BN2(D(ReLU6(BN1(X(h)))))))
 * X a 1x1 expansion C -> H, D a 3x3 depthwise conv over the H channels, P a
 * 1x1 projection H -> C; the block's last BN follows P, and the sum with
 * the skip is not rectified.  A template holds every weight and every BN's
 * scale and shift of a block:
 *   X [H][C] | D [H][1][3][3] | P [C][H] | scales [2E+1][C] | shifts [2E+1][C]
 * (BN rows in units of C: BN1 the first E, BN2 the next E, the last BN the
 * last), so a task that re-mixes the templates gets its BNs' affine
 * parameters with its weights and keeps only their running statistics.
 *
 * The convolutions write fp32; in bf16 runs they read bf16 copies of their
 * inputs, which the BNs write in the same pass (a1h, a2h), and the input
 * gradients their backward reads come rounded the same way. */
#include "block.h"
#include "workspace.h"

enum { X, D, P, CONVS };

/* Saved: X's output, BN1's output (and its bf16 copy) and statistics, D's
 * output, BN2's output (copy, statistics), P's output (the branch's, last). */
enum { C1, A1, A1H, S1, C2, A2, A2H, S2, C3, SAVED };

static int hidden(const tpl_stage *st) { return st->expand * st->width; }

static size_t conv_offset(const tpl_stage *st, int conv) {
    const size_t c = st->width, h = hidden(st);
    const size_t at[CONVS + 1] = {0, h * c, h * c + 9 * h, 2 * h * c + 9 * h};
    return at[conv];
}

static size_t affine_at(const tpl_stage *st) { return conv_offset(st, CONVS); }

static int branch_bns(const tpl_stage *st) { return 2 * st->expand; }

static size_t template_floats(const tpl_stage *st) {
    return affine_at(st) + 2 * (size_t)(branch_bns(st) + 1) * st->width;
}

static int template_shape(const tpl_stage *st, int64_t *shape) {
    shape[0] = (int64_t)template_floats(st);
    return 1;
}

static int fan_in(const tpl_stage *st, int conv) {
    return conv == X ? st->width : conv == D ? 9 : hidden(st);
}

static int conv_out(const tpl_stage *st, int conv) { return conv == P ? st->width : hidden(st); }

static void conv_shape(const tpl_stage *st, int conv, int64_t shape[4]) {
    const int64_t c = st->width, h = hidden(st);
    const int64_t all[CONVS][4] = {{h, c, 1, 1}, {h, 1, 3, 3}, {c, h, 1, 1}};
    for (int i = 0; i < 4; i++) shape[i] = all[conv][i];
}

static int plans(tpl_model *m, tpl_stage *st) {
    const tpl_precision prec = m->cfg.precision;
    /* the hidden tensors in the layout of the block's (NHWC with NHWC: a
     * layout change inside a conv leaves oneDNN only its reference kernels) */
    const int c = st->width, h = hidden(st), bc = tpl_model_act_block(m, c),
              bh = bc == c ? h : tpl_model_act_block(m, h);
    st->plan[X] = tpl_conv_plan_create_as(m->engine, prec, c, h, 1, 1, st->h, st->w, bc, bh);
    st->plan[D] = tpl_conv_plan_create_as(m->engine, prec, h, h, 3, 1, st->h, st->w, bh, bh);
    st->plan[P] = tpl_conv_plan_create_as(m->engine, prec, h, c, 1, 1, st->h, st->w, bh, bc);
    return st->plan[X] && st->plan[D] && st->plan[P] && !tpl_conv_plan_set_groups(st->plan[D], h)
               ? 0
               : -1;
}

static size_t saved_floats(const tpl_stage *st, int i, int n) {
    const size_t pixels = (size_t)n * st->h * st->w, wide = pixels * hidden(st);
    switch (i) {
    case S1: case S2: return 2 * (size_t)hidden(st);
    case A1H: case A2H: return st->bf16 ? (wide + 1) / 2 : 0;
    case C3: return pixels * st->width;
    default: return wide;
    }
}

static tpl_shape hidden_shape(const tpl_branch *b) {
    return tpl_conv_out_shape(b->m->stage[b->s].plan[X]);
}

/* BN i (0: BN1 after X, with ReLU6; 1: BN2 after D, with ReLU). */
static tpl_bn_args bn(const tpl_branch *b, int i, float **x) {
    const tpl_stage *st = &b->m->stage[b->s];
    tpl_bn_args a = tpl_branch_bn_args(b, b->bn_at + (size_t)i * hidden(st), hidden_shape(b),
                                       i == 0 ? TPL_RELU6 : 1, NULL);
    if (tpl_model_bf16(b->m)) a.out_bf16 = tpl_bf16_at(x[i == 0 ? A1H : A2H]);
    return a;
}

static tpl_act act(float **x, int f, int h, const tpl_model *m) {
    return (tpl_act){x[f], tpl_model_bf16(m) ? tpl_bf16_at(x[h]) : NULL};
}

static int set_weights(const tpl_branch *b, tpl_err *err) {
    tpl_stage *st = &b->m->stage[b->s];
    for (int i = 0; i < CONVS; i++)
        if (tpl_conv_set_weights(st->plan[i], &b->slots[i], b->w + conv_offset(st, i), b->gen, err))
            return -1;
    return 0;
}

static int forward(const tpl_branch *b, int training, tpl_act h, float **x, tpl_err *err) {
    const tpl_model *m = b->m;
    tpl_conv_plan **p = b->m->stage[b->s].plan;
    if (set_weights(b, err) || tpl_model_conv_forward(m, p[X], &b->slots[X], h, x[C1], err))
        return -1;
    tpl_bn_args a1 = bn(b, 0, x), a2 = bn(b, 1, x);
    tpl_model_bn_forward(m, &a1, training, x[C1], x[A1], x[S1]);
    if (tpl_model_conv_forward(m, p[D], &b->slots[D], act(x, A1, A1H, m), x[C2], err)) return -1;
    tpl_model_bn_forward(m, &a2, training, x[C2], x[A2], x[S2]);
    return tpl_model_conv_forward(m, p[P], &b->slots[P], act(x, A2, A2H, m), x[C3], err);
}

/* g[0], g[1]: hidden-sized gradients in turn; g[2]: their bf16 copy in
 * bf16 runs.  A BN's backward writes the gradient its conv's backward
 * reads: fp32, or in bf16 runs the copy alone. */
static int backward(const tpl_branch *b, tpl_act h, float **x, float *dy, const tpl_bf16 *dy_bf16,
                    float **g, float *dw, float *dh, tpl_err *err) {
    tpl_model *m = b->m;
    tpl_stage *st = &m->stage[b->s];
    tpl_conv_plan **p = st->plan;
    tpl_bf16 *gh = tpl_model_bf16(m) ? tpl_bf16_at(g[2]) : NULL;
    float *dc = gh ? NULL : g[1];
    tpl_bn_args a1 = bn(b, 0, x), a2 = bn(b, 1, x);
    a1.dx_bf16 = a2.dx_bf16 = gh;
    if (tpl_model_conv_backward(m, p[P], &b->slots[P], act(x, A2, A2H, m), dy, dy_bf16,
                                dw + conv_offset(st, P), g[0], err))
        return -1;
    tpl_branch_bn_backward(b, &a2, x[C2], x[A2], g[0], x[S2], b->bn_at + hidden(st), dw, dc, NULL);
    if (tpl_model_conv_backward(m, p[D], &b->slots[D], act(x, A1, A1H, m), dc, gh,
                                dw + conv_offset(st, D), g[0], err))
        return -1;
    tpl_branch_bn_backward(b, &a1, x[C1], x[A1], g[0], x[S1], b->bn_at, dw, dc, NULL);
    return tpl_model_conv_backward(m, p[X], &b->slots[X], h, dc, gh, dw + conv_offset(st, X), dh,
                                   err);
}

static int widest(const tpl_stage *st) { return hidden(st); }

const tpl_block_kind tpl_block_inverted = {
    .name = "inverted", .convs = CONVS, .branch_bns = branch_bns, .widest = widest,
    .affine_at = affine_at, .last_relu = 0, .saved = SAVED,
    .template_floats = template_floats, .template_shape = template_shape, .fan_in = fan_in,
    .conv_out = conv_out, .conv_shape = conv_shape, .conv_offset = conv_offset, .plans = plans,
    .saved_floats = saved_floats, .forward = forward, .backward = backward,
};
