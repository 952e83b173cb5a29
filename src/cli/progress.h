/* Progress of long work: a bar with ETA redrawn in place on a terminal,
 * plain lines (one every few seconds) when the output is a file or pipe. */
#ifndef TPL_PROGRESS_H
#define TPL_PROGRESS_H

typedef struct progress {
    const char *label;
    long total, done;
    double start, last_draw;
    int tty;
} progress;

double progress_now(void);
void progress_start(progress *p, const char *label, long total);
/* Redraws when due; status is a short text such as "loss 0.31 acc 0.89". */
void progress_update(progress *p, long done, const char *status);
/* Final state of the bar, ending the line. */
void progress_finish(progress *p, const char *status);
#endif
