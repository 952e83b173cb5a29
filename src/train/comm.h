/* A group of processes that train one model together: the few collective
 * operations the training loop needs (dist.h), whatever carries them.  The
 * library knows no transport; src/dist implements these on MPI
 * (templar_mpi.h).  Every operation is collective: each process of the
 * group calls the same ones, in the same order, with the same sizes. */
#ifndef TPL_COMM_H
#define TPL_COMM_H
#include <stddef.h>

#include "templar.h"

/* What the operations cost, kept by the transport: what bench/ prints. */
typedef struct tpl_comm_stats {
    double grad_bytes;  /* gradient bytes summed (each process's buffers) */
    long grad_sums;     /* non-blocking sums started */
    double wait_s;      /* blocked in wait_sums: communication nothing hid */
    double start_s;     /* in start_sum and progress */
    double blocking_s;  /* in blocking operations (losses, BN moments, agreements) */
    long blocking;      /* blocking operations */
} tpl_comm_stats;

typedef struct tpl_comm_ops {
    /* x[0..n) becomes its sum over the processes; blocking. */
    void (*sum_doubles)(tpl_comm *c, double *x, int n);
    void (*sum_floats)(tpl_comm *c, float *x, size_t n);
    /* The same, started: x must stay untouched until wait_sums returns. */
    void (*start_sum)(tpl_comm *c, float *x, size_t n);
    /* Lets started sums advance (a transport may only move data inside
     * its own calls); returns at once. */
    void (*progress)(tpl_comm *c);
    /* Every started sum complete. */
    void (*wait_sums)(tpl_comm *c);
    /* all[p * n + i] = process p's x[i], on every process. */
    void (*gather_doubles)(tpl_comm *c, const double *x, int n, double *all);
    /* root's bytes to every process. */
    void (*bcast)(tpl_comm *c, void *x, size_t bytes, int root);
    /* The smallest x over the processes. */
    int (*min_int)(tpl_comm *c, int x);
    /* Ends every process of the group at once, after writing why: for a
     * failure that leaves the others inside a collective operation. */
    void (*abort)(tpl_comm *c, const char *why);
    void (*free)(tpl_comm *c);
} tpl_comm_ops;

struct tpl_comm {
    int rank, size;
    const tpl_comm_ops *ops;
    void *impl;                  /* the transport's */
    int failed;                  /* a failure was agreed: the group is done */
    tpl_err failure;             /* its message */
    tpl_comm_stats stats;
};

/* Every process says whether it failed (its err saying why).  Returns 0
 * when none did; else -1 on every process, err on the others naming the
 * first failing process ("rank R: why").  After a failure the group is
 * done: later calls return -1 at once, with no collective, so processes
 * that stopped at different places still meet one agreement each. */
int tpl_comm_agree(tpl_comm *c, int failed, tpl_err *err);
/* Whether any process's flag is set (a stop asked for). */
int tpl_comm_any(tpl_comm *c, int flag);
#endif
