/* The tool on several processes (mpirun templar ...; docs/DISTRIBUTED.md):
 * MPI starts and ends here, and rank 0 alone prints and writes files. */
#ifndef TPL_RANKS_H
#define TPL_RANKS_H
#include "templar.h"

/* Starts MPI when an MPI launcher started this process (and the build has
 * MPI); otherwise the process is alone, as without MPI.  Ranks other than
 * 0 print nothing: their standard output is dropped, their standard error
 * kept aside for the message of a failure of their own. */
void cli_ranks_init(int *argc, char ***argv);
/* Every process's way out with its exit code rc: the ranks agree on
 * failures (one that failed alone, where the others did not wait for it,
 * names itself through rank 0), MPI ends.  Returns the exit code. */
int cli_ranks_finish(int rc);
/* The group of the processes (NULL: alone), and this one's rank in it. */
tpl_comm *cli_comm(void);
int cli_rank(void);
#endif
