/* Cross-task dynamic batching: request threads queue images (each naming
 * its task); one batcher thread, the only user of the model, takes up to
 * max_batch of them at a time, waiting at most max_wait_ms after the first
 * for more, groups them by task (one forward each, over that task's cached
 * mixed weights) and hands back the probabilities.  The queue is bounded:
 * a request whose images do not fit is refused at once (503), never
 * queued in part. */
#ifndef TPL_SERVE_BATCHER_H
#define TPL_SERVE_BATCHER_H
#include "infer.h"
#include "metrics.h"

struct serve_call;

typedef struct serve_job {
    const serve_task *task;  /* the caller holds a reference */
    const uint8_t *pixels;   /* the model's input */
    float *probs;            /* [task->classes], filled */
    int status;              /* 200, or 500 with error */
    char error[512];
    struct serve_call *call;
    double queued;
} serve_job;

typedef struct serve_batcher serve_batcher;

typedef struct serve_batcher_options {
    int max_batch, max_wait_ms, queue, threads;
} serve_batcher_options;

serve_batcher *serve_batcher_start(serve_infer *in, serve_metrics *metrics,
                                   const serve_batcher_options *o, tpl_err *err);
/* Queues jobs[0..n) and waits for all of them: 0, or -1 when the queue
 * has no room for n more (nothing queued). */
int serve_batcher_run(serve_batcher *b, serve_job *jobs, int n);
int serve_batcher_depth(serve_batcher *b);
int serve_batcher_capacity(const serve_batcher *b);
/* Runs what is queued, then stops the thread and frees b. */
void serve_batcher_stop(serve_batcher *b);
#endif
