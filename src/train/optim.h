/* Optimisers (SGD with momentum / Nesterov, AdamW) and learning-rate
 * schedules.  State buffers mirror the parameter buffer, so a step is one
 * loop over the view table; per-view rules decide decay and learning rate. */
#ifndef TPL_OPTIM_H
#define TPL_OPTIM_H
#include "params.h"

/* tpl_opt_kind and tpl_sched_kind are public (templar.h). */

typedef struct tpl_optim_config {
    tpl_opt_kind kind;
    float lr;             /* peak learning rate */
    float logit_lr_mult;  /* mixture logits learn at lr * this */
    float momentum;       /* SGD */
    int nesterov;         /* SGD */
    float weight_decay;   /* on conv, template and head weights only */
    float beta1, beta2, eps; /* AdamW */
    tpl_sched_kind sched;
    float warmup;         /* fraction of the steps spent warming up */
    long total_steps;
} tpl_optim_config;

typedef struct tpl_optim {
    tpl_optim_config c;
    float *m, *v;         /* first and second moments (v: AdamW only) */
    size_t numel;
    long step;
} tpl_optim;

void tpl_optim_config_default(tpl_optim_config *c);
int tpl_optim_init(tpl_optim *o, const tpl_optim_config *c, size_t numel);
void tpl_optim_free(tpl_optim *o);
/* Learning rate the next step will use. */
float tpl_optim_lr(const tpl_optim *o);
/* One update of every trainable view from p->grad. */
void tpl_optim_step(tpl_optim *o, tpl_params *p);
#endif
