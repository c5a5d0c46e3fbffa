/* ranks.h - the MPI processes of a tool started by mpirun: the toolkit's
 * one use of MPI, the only file that includes mpi.h.  It is built (by
 * mpicc) into the -mpi tools alone, when the Makefile finds mpicc; the
 * library and the other tools know nothing of it.
 *
 * What goes between the processes is shards.h's: a shard's partial sum
 * to the process that adds it, and the step's sum to every process. */
#ifndef RANKS_H
#define RANKS_H

#include "method/shards.h"

/* Start MPI (MPI_Init_thread, funnelled: only this thread calls MPI; the
 * layers' own threads never do) and fill c: this process's rank, the
 * number of processes, and MPI's point-to-point and broadcast calls on
 * MPI_COMM_WORLD.  MPI errors are returned (ERR_IO, MPI's message), not
 * fatal, so a tool can name what failed.  0 or ERR_IO. */
int ranks_start(int *argc, char ***argv, shards_comm *c);

/* MPI_Finalize, once every process is done. */
void ranks_end(void);

#endif
