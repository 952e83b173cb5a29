/* The group operations of comm.h on MPI, each timed for bench/: the
 * gradients' sums are MPI_Iallreduce, in place, waited for together;
 * everything else is blocking.  Transport errors end the job (MPI's
 * default handler): a lost process leaves nothing to agree with. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "comm.h"
#include "templar_mpi.h"

#define MAX_SUMS 64

typedef struct mpi_group {
    MPI_Comm comm;
    MPI_Request req[MAX_SUMS]; /* sums under way */
    int n_req;
} mpi_group;

static MPI_Comm comm_of(const tpl_comm *c) { return ((const mpi_group *)c->impl)->comm; }

/* MPI counts are ints: larger buffers go in pieces */
#define PIECE (INT_MAX / 2)

static void sum_doubles(tpl_comm *c, double *x, int n) {
    const double t = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, comm_of(c));
    c->stats.blocking_s += MPI_Wtime() - t;
    c->stats.blocking++;
}

static void sum_floats(tpl_comm *c, float *x, size_t n) {
    const double t = MPI_Wtime();
    for (size_t at = 0; at < n; at += PIECE) {
        const int k = n - at < PIECE ? (int)(n - at) : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, x + at, k, MPI_FLOAT, MPI_SUM, comm_of(c));
    }
    c->stats.blocking_s += MPI_Wtime() - t;
    c->stats.blocking++;
}

static void wait_sums(tpl_comm *c);

static void start_sum(tpl_comm *c, float *x, size_t n) {
    mpi_group *g = c->impl;
    const double t = MPI_Wtime();
    for (size_t at = 0; at < n; at += PIECE) {
        if (g->n_req == MAX_SUMS) wait_sums(c); /* (a step starts a few) */
        const int k = n - at < PIECE ? (int)(n - at) : PIECE;
        MPI_Iallreduce(MPI_IN_PLACE, x + at, k, MPI_FLOAT, MPI_SUM, g->comm, &g->req[g->n_req++]);
    }
    c->stats.grad_bytes += sizeof(float) * (double)n;
    c->stats.grad_sums++;
    c->stats.start_s += MPI_Wtime() - t;
}

static void progress(tpl_comm *c) {
    mpi_group *g = c->impl;
    if (!g->n_req) return;
    const double t = MPI_Wtime();
    int done;
    MPI_Testall(g->n_req, g->req, &done, MPI_STATUSES_IGNORE);
    c->stats.start_s += MPI_Wtime() - t;
}

static void wait_sums(tpl_comm *c) {
    mpi_group *g = c->impl;
    const double t = MPI_Wtime();
    MPI_Waitall(g->n_req, g->req, MPI_STATUSES_IGNORE);
    g->n_req = 0;
    c->stats.wait_s += MPI_Wtime() - t;
}

static void gather_doubles(tpl_comm *c, const double *x, int n, double *all) {
    const double t = MPI_Wtime();
    MPI_Allgather(x, n, MPI_DOUBLE, all, n, MPI_DOUBLE, comm_of(c));
    c->stats.blocking_s += MPI_Wtime() - t;
    c->stats.blocking++;
}

static void bcast(tpl_comm *c, void *x, size_t bytes, int root) {
    const double t = MPI_Wtime();
    for (size_t at = 0; at < bytes; at += PIECE) {
        const int k = bytes - at < PIECE ? (int)(bytes - at) : PIECE;
        MPI_Bcast((char *)x + at, k, MPI_BYTE, root, comm_of(c));
    }
    c->stats.blocking_s += MPI_Wtime() - t;
    c->stats.blocking++;
}

static int min_int(tpl_comm *c, int x) {
    const double t = MPI_Wtime();
    int y;
    MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MIN, comm_of(c));
    c->stats.blocking_s += MPI_Wtime() - t;
    c->stats.blocking++;
    return y;
}

static void abort_all(tpl_comm *c, const char *why) {
    fprintf(stderr, "templar: rank %d: %s\n", c->rank, why);
    fflush(stderr);
    MPI_Abort(comm_of(c), 1);
}

static void free_group(tpl_comm *c) { tpl_comm_free(c); }

static const tpl_comm_ops mpi_ops = {
    .sum_doubles = sum_doubles, .sum_floats = sum_floats, .start_sum = start_sum,
    .progress = progress, .wait_sums = wait_sums, .gather_doubles = gather_doubles,
    .bcast = bcast, .min_int = min_int, .abort = abort_all, .free = free_group,
};

tpl_comm *tpl_comm_mpi(MPI_Comm comm, tpl_err *err) {
    tpl_comm *c = calloc(1, sizeof *c);
    mpi_group *g = calloc(1, sizeof *g);
    if (!c || !g) {
        free(c);
        free(g);
        tpl_err_set(err, "mpi: out of memory");
        return NULL;
    }
    MPI_Comm_dup(comm, &g->comm);
    MPI_Comm_rank(g->comm, &c->rank);
    MPI_Comm_size(g->comm, &c->size);
    c->ops = &mpi_ops;
    c->impl = g;
    return c;
}

int tpl_comm_rank(const tpl_comm *c) { return c ? c->rank : 0; }
int tpl_comm_size(const tpl_comm *c) { return c ? c->size : 1; }

void tpl_comm_free(tpl_comm *c) {
    if (!c) return;
    mpi_group *g = c->impl;
    if (g->n_req) MPI_Waitall(g->n_req, g->req, MPI_STATUSES_IGNORE);
    MPI_Comm_free(&g->comm);
    free(g);
    free(c);
}
