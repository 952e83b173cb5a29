/* Mixture granularity: which run of a template each of a block's mixtures
 * mixes.  A block has one mixture (BLOCK), one per convolution (CONV), or
 * one per group of G output channels of each convolution (GROUP).  Kinds
 * keep each conv's weights as [out][...], so a group of output channels is
 * a contiguous run and every unit is one strided mix of the bank. */
#include "block.h"
#include "mixing.h"

size_t tpl_block_convs_end(const tpl_stage *st) {
    return st->kind->affine_at ? st->kind->affine_at(st) : st->per_template;
}

size_t tpl_block_conv_floats(const tpl_stage *st, int i) {
    const tpl_block_kind *k = st->kind;
    size_t end = i + 1 < k->convs ? k->conv_offset(st, i + 1) : tpl_block_convs_end(st);
    return end - k->conv_offset(st, i);
}

static int conv_units(const tpl_stage *st, int i) {
    return st->mix == TPL_MIX_GROUP ? st->kind->conv_out(st, i) / st->mix_group : 1;
}

/* With finer mixtures the BNs' affine parameters (when the kind mixes
 * them) are one more unit of their own. */
int tpl_stage_units(const tpl_stage *st) {
    if (st->mix == TPL_MIX_BLOCK) return 1;
    int units = st->kind->affine_at ? 1 : 0;
    for (int i = 0; i < st->kind->convs; i++) units += conv_units(st, i);
    return units;
}

void tpl_stage_unit(const tpl_stage *st, int u, size_t *at, size_t *n) {
    if (st->mix == TPL_MIX_BLOCK) {
        *at = 0, *n = st->per_template;
        return;
    }
    int i = 0;
    while (i < st->kind->convs && u >= conv_units(st, i)) u -= conv_units(st, i++);
    if (i == st->kind->convs) { /* the BNs' affine parameters */
        *at = tpl_block_convs_end(st), *n = st->per_template - *at;
        return;
    }
    *n = tpl_block_conv_floats(st, i) / conv_units(st, i);
    *at = st->kind->conv_offset(st, i) + (size_t)u * *n;
}
