/* Model configuration: defaults and validation. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templar.h"
#include "names.h"

/* Name tables: one entry per enum value, which the asserts keep true. */
static const char *const routing_names[] = {
    [TPL_ROUTE_SOFT] = "soft", [TPL_ROUTE_FIXED_ONEHOT] = "fixed-onehot",
    [TPL_ROUTE_TOPK] = "topk", [TPL_ROUTE_GUMBEL] = "gumbel", [TPL_ROUTE_FIXED] = "fixed",
};
static_assert(sizeof routing_names / sizeof *routing_names == TPL_ROUTE_COUNT,
              "a routing without a name");
static const char *const aggregation_names[] = {
    [TPL_AGG_PARAMS] = "params", [TPL_AGG_OUTPUTS] = "outputs",
};
static_assert(sizeof aggregation_names / sizeof *aggregation_names == TPL_AGG_COUNT,
              "an aggregation without a name");
static const char *const block_names[] = {
    [TPL_BLOCK_BASIC] = "basic", [TPL_BLOCK_INVERTED] = "inverted",
};
static_assert(sizeof block_names / sizeof *block_names == TPL_BLOCK_COUNT,
              "a block kind without a name");
static const char *const granularity_names[] = {
    [TPL_MIX_BLOCK] = "block", [TPL_MIX_CONV] = "conv", [TPL_MIX_GROUP] = "group",
};
static_assert(sizeof granularity_names / sizeof *granularity_names == TPL_MIX_COUNT,
              "a granularity without a name");
static const char *const precision_names[] = {
    [TPL_PRECISION_FP32] = "fp32", [TPL_PRECISION_BF16] = "bf16",
};
static_assert(sizeof precision_names / sizeof *precision_names == TPL_PRECISION_COUNT,
              "a precision without a name");

const char *tpl_routing_name(tpl_routing r) {
    return (int)r >= 0 && (int)r < TPL_ROUTE_COUNT ? routing_names[r] : "unknown";
}

int tpl_routing_parse(const char *name) {
    return tpl_name_find(routing_names, TPL_ROUTE_COUNT, name);
}

const char *tpl_aggregation_name(tpl_aggregation a) {
    return (int)a >= 0 && (int)a < TPL_AGG_COUNT ? aggregation_names[a] : "unknown";
}

int tpl_aggregation_parse(const char *name) {
    return tpl_name_find(aggregation_names, TPL_AGG_COUNT, name);
}

const char *tpl_block_name(tpl_block_type b) {
    return (int)b >= 0 && (int)b < TPL_BLOCK_COUNT ? block_names[b] : "unknown";
}

int tpl_block_parse(const char *name) { return tpl_name_find(block_names, TPL_BLOCK_COUNT, name); }

tpl_precision tpl_precision_auto_for(const tpl_config *c) {
    return c->block == TPL_BLOCK_INVERTED ? TPL_PRECISION_FP32 : tpl_precision_auto();
}

const char *tpl_granularity_format(tpl_granularity mix, int group, char *buf, size_t size) {
    if ((int)mix < 0 || (int)mix >= TPL_MIX_COUNT) snprintf(buf, size, "unknown");
    else if (mix == TPL_MIX_GROUP) snprintf(buf, size, "group:%d", group);
    else snprintf(buf, size, "%s", granularity_names[mix]);
    return buf;
}

int tpl_granularity_parse(const char *text, tpl_granularity *mix, int *group) {
    const char *colon = strchr(text, ':');
    if (!colon) {
        int g = tpl_name_find(granularity_names, TPL_MIX_COUNT, text);
        if (g < 0 || g == TPL_MIX_GROUP) return -1;
        *mix = (tpl_granularity)g;
        *group = 0;
        return 0;
    }
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (strncmp(text, "group:", 6) != 0 || colon != text + 5 || end == colon + 1 || *end ||
        n < 1 || n > 1024)
        return -1;
    *mix = TPL_MIX_GROUP;
    *group = (int)n;
    return 0;
}

const char *tpl_precision_name(tpl_precision p) {
    return (int)p >= 0 && (int)p < TPL_PRECISION_COUNT ? precision_names[p] : "unknown";
}

int tpl_precision_parse(const char *name) {
    return tpl_name_find(precision_names, TPL_PRECISION_COUNT, name);
}

void tpl_config_default(tpl_config *c) {
    memset(c, 0, sizeof *c);
    c->in_channels = 1;
    c->in_height = c->in_width = 28;
    c->stem_stride = 2;
    c->n_stages = 1;
    c->stage[0] = (tpl_stage_config){.width = 64, .layers = 8, .templates = 4};
    c->n_tasks = 1;
    snprintf(c->task[0].name, TPL_NAME_LEN, "fashion");
    c->task[0].classes = 10;
    c->routing = TPL_ROUTE_SOFT;
    c->topk = 1;
    c->tau = 1.0f;
    c->expand = 6;
    c->logit_noise = 0.1f;
    for (int i = 0; i < 4; i++) {
        c->in_mean[i] = 0.0f;
        c->in_std[i] = 1.0f;
    }
}

static int bad_range(tpl_err *err, const char *what, int v, int lo, int hi) {
    if (v >= lo && v <= hi) return 0;
    tpl_err_set(err, "config: %s = %d is outside [%d, %d]", what, v, lo, hi);
    return 1;
}

/* Task names become tensor names and file-name parts: keep them plain. */
static int bad_name(tpl_err *err, const char *name) {
    size_t n = strnlen(name, TPL_NAME_LEN);
    int ok = n > 0 && n < TPL_NAME_LEN;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    }
    if (!ok)
        tpl_err_set(err, "config: task name '%.*s' must be 1-%d letters, digits, '_' or '-'",
                    TPL_NAME_LEN, name, TPL_NAME_LEN - 1);
    return !ok;
}

/* A group splits every convolution's output channels (each stage's width)
 * evenly; experts (OUTPUTS) run whole templates, so they mix per block. */
static int check_granularity(const tpl_config *c, tpl_err *err) {
    if ((int)c->mix < 0 || (int)c->mix >= TPL_MIX_COUNT) {
        tpl_err_set(err, "config: unknown mixture granularity %d", (int)c->mix);
        return -1;
    }
    if (c->mix != TPL_MIX_BLOCK && c->aggregate == TPL_AGG_OUTPUTS) {
        tpl_err_set(err, "config: mixing outputs (experts) takes one mixture per block, not per %s",
                    c->mix == TPL_MIX_CONV ? "conv" : "group");
        return -1;
    }
    for (int s = 0; c->mix == TPL_MIX_GROUP && s < c->n_stages; s++)
        if (c->mix_group < 1 || c->stage[s].width % c->mix_group) {
            tpl_err_set(err, "config: mixture groups of %d channels do not split width %d",
                        c->mix_group, c->stage[s].width);
            return -1;
        }
    return 0;
}

/* An inverted block mixes its BNs' scale and shift inside its templates:
 * experts (OUTPUTS), each with a BN of its own, have no place for them. */
static int check_block(const tpl_config *c, tpl_err *err) {
    if ((int)c->block < 0 || (int)c->block >= TPL_BLOCK_COUNT) {
        tpl_err_set(err, "config: unknown block kind %d", (int)c->block);
        return -1;
    }
    if (c->block != TPL_BLOCK_INVERTED) return 0;
    if (bad_range(err, "expand", c->expand, 1, 16)) return -1;
    if (c->aggregate == TPL_AGG_OUTPUTS) {
        tpl_err_set(err, "config: inverted blocks mix their parameters, not outputs (experts)");
        return -1;
    }
    return 0;
}

int tpl_config_check(const tpl_config *c, tpl_err *err) {
    if (bad_range(err, "in_channels", c->in_channels, 1, 4) ||
        bad_range(err, "in_height", c->in_height, 4, 1024) ||
        bad_range(err, "in_width", c->in_width, 4, 1024) ||
        bad_range(err, "stem_stride", c->stem_stride, 1, 4) ||
        bad_range(err, "stages", c->n_stages, 1, TPL_MAX_STAGES) ||
        bad_range(err, "tasks", c->n_tasks, 1, TPL_MAX_TASKS))
        return -1;
    for (int s = 0; s < c->n_stages; s++) {
        const tpl_stage_config *st = &c->stage[s];
        if (bad_range(err, "width", st->width, 1, 1024) ||
            bad_range(err, "layers", st->layers, 1, 256) ||
            bad_range(err, "templates", st->templates, 1, TPL_MAX_TEMPLATES))
            return -1;
        if ((c->routing == TPL_ROUTE_TOPK || c->routing == TPL_ROUTE_GUMBEL) &&
            bad_range(err, "topk", c->topk, 1, st->templates))
            return -1;
        if (c->routing == TPL_ROUTE_FIXED_ONEHOT && st->templates < st->layers) {
            tpl_err_set(err, "config: fixed one-hot routing needs templates >= layers (%d < %d)",
                        st->templates, st->layers);
            return -1;
        }
    }
    for (int t = 0; t < c->n_tasks; t++) {
        if (bad_name(err, c->task[t].name) ||
            bad_range(err, "classes", c->task[t].classes, 2, 100000))
            return -1;
        for (int u = 0; u < t; u++)
            if (strcmp(c->task[u].name, c->task[t].name) == 0) {
                tpl_err_set(err, "config: task '%s' is named twice", c->task[t].name);
                return -1;
            }
    }
    for (int t = 1; c->shared_head && t < c->n_tasks; t++)
        if (c->task[t].classes != c->task[0].classes) {
            tpl_err_set(err, "config: a shared head needs one label set, but task '%s' has %d "
                        "classes and '%s' %d", c->task[t].name, c->task[t].classes,
                        c->task[0].name, c->task[0].classes);
            return -1;
        }
    if (!(c->tau > 0.0f && isfinite(c->tau))) {
        tpl_err_set(err, "config: tau must be a positive number");
        return -1;
    }
    if ((int)c->aggregate < 0 || (int)c->aggregate >= TPL_AGG_COUNT) {
        tpl_err_set(err, "config: unknown aggregation %d", (int)c->aggregate);
        return -1;
    }
    if (check_granularity(c, err) || check_block(c, err)) return -1;
    if ((int)c->precision < 0 || (int)c->precision >= TPL_PRECISION_COUNT) {
        tpl_err_set(err, "config: unknown precision %d", (int)c->precision);
        return -1;
    }
    if ((int)c->routing < 0 || (int)c->routing >= TPL_ROUTE_COUNT) {
        tpl_err_set(err, "config: unknown routing %d", (int)c->routing);
        return -1;
    }
    for (int i = 0; i < c->in_channels; i++)
        if (!(c->in_std[i] > 0.0f) || !isfinite(c->in_mean[i])) {
            tpl_err_set(err, "config: input normalisation of channel %d is invalid", i);
            return -1;
        }
    return 0;
}
