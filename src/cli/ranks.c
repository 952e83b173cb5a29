/* See ranks.h.  A failure on one rank must reach the others, which may be
 * waiting in tpl_fit's first agreement: the finish's agreement is that
 * same collective (tpl_comm_agree), so both meet. */
#include "ranks.h"

#include <stdlib.h>
#include <string.h>

#ifdef TEMPLAR_MPI
#include <stdio.h>
#include <unistd.h>

#include "comm.h"
#include "templar_mpi.h"

static tpl_comm *group;
static FILE *kept_stderr; /* ranks other than 0: what they would have printed */

/* Launchers say so in the environment: Open MPI's mpirun, PMIx (Slurm's
 * srun, Open MPI 5), PMI (MPICH's Hydra, Slurm). */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static void quiet(void) {
    if (!freopen("/dev/null", "w", stdout)) fclose(stdout);
    kept_stderr = tmpfile();
    if (kept_stderr) dup2(fileno(kept_stderr), STDERR_FILENO);
}

void cli_ranks_init(int *argc, char ***argv) {
    if (!launched()) return;
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    tpl_err err;
    group = tpl_comm_mpi(MPI_COMM_WORLD, &err);
    if (!group) {
        fprintf(stderr, "templar: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (group->rank != 0) quiet();
}

/* The last line this rank printed on standard error, less the "templar
 * COMMAND: " its errors begin with. */
static void last_line(tpl_err *err) {
    char line[sizeof err->msg] = "";
    snprintf(err->msg, sizeof err->msg, "failed");
    if (!kept_stderr) return;
    fflush(stderr);
    rewind(kept_stderr);
    while (fgets(line, sizeof line, kept_stderr))
        if (line[0] && line[0] != '\n') snprintf(err->msg, sizeof err->msg, "%s", line);
    err->msg[strcspn(err->msg, "\n")] = 0;
    const char *colon = strstr(err->msg, ": ");
    if (!strncmp(err->msg, "templar", 7) && colon)
        memmove(err->msg, colon + 2, strlen(colon + 2) + 1);
}

int cli_ranks_finish(int rc) {
    if (!group) return rc;
    tpl_err err = {{0}};
    if (rc) last_line(&err);
    if (tpl_comm_agree(group, rc != 0, &err) && !rc) {
        if (group->rank == 0) fprintf(stderr, "templar: %s\n", err.msg);
        rc = 1;
    }
    tpl_comm_free(group);
    group = NULL;
    MPI_Finalize();
    if (kept_stderr) fclose(kept_stderr);
    return rc;
}

tpl_comm *cli_comm(void) { return group; }
int cli_rank(void) { return group ? group->rank : 0; }

#else /* built without MPI: always alone */

void cli_ranks_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
}
int cli_ranks_finish(int rc) { return rc; }
tpl_comm *cli_comm(void) { return NULL; }
int cli_rank(void) { return 0; }
#endif
