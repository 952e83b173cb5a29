/* templar on several processes: a group for tpl_fit (templar.h,
 * tpl_fit_options.comm) over an MPI communicator.  libtemplar-mpi; built
 * when templar is configured with MPI (TEMPLAR_MPI, on when MPI is found).
 *
 *   MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
 *   tpl_comm *c = tpl_comm_mpi(MPI_COMM_WORLD, &err);
 *   opts.comm = c;                 every rank: same model, data, options
 *   tpl_fit(m, tasks, n, &opts, &report, &err);
 *   if (tpl_comm_rank(c) == 0) tpl_model_save(m, path, &err);
 *   tpl_comm_free(c);
 *   MPI_Finalize();
 *
 * templar calls MPI only from the thread that calls tpl_fit, never from
 * its OpenMP threads: MPI_THREAD_FUNNELED is enough. */
#ifndef TEMPLAR_MPI_H
#define TEMPLAR_MPI_H
#include <mpi.h>

#include "templar.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A group of every process of comm (duplicated, so templar's messages
 * never meet the caller's).  MPI must be initialised.  NULL with err set
 * when out of memory. */
tpl_comm *tpl_comm_mpi(MPI_Comm comm, tpl_err *err);
int tpl_comm_rank(const tpl_comm *c);
int tpl_comm_size(const tpl_comm *c);
/* Collective (it frees the duplicated communicator); NULL is a no-op. */
void tpl_comm_free(tpl_comm *c);

#ifdef __cplusplus
}
#endif
#endif
