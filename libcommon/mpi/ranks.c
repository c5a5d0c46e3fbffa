/* ranks.c - the MPI processes; see ranks.h. */
#include <mpi.h>
#include <stddef.h>

#include "base/err.h"
#include "mpi/ranks.h"

/* MPI counts are ints: longer messages go in pieces of this many bytes. */
enum { PIECE = 1 << 30 };

static int fail(int code, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        len = 0;
    return err_set(ERR_IO, "%s failed: %.*s", call, len, text);
}

static int piece(size_t bytes, size_t off)
{
    return bytes - off < PIECE ? (int)(bytes - off) : PIECE;
}

static int send(void *ctx, const void *buf, size_t bytes, int to, int tag)
{
    for (size_t off = 0; off < bytes; off += PIECE) {
        int rc = MPI_Send((const char *)buf + off, piece(bytes, off), MPI_BYTE, to, tag,
                          MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return fail(rc, "MPI_Send");
    }
    return 0;
}

static int recv(void *ctx, void *buf, size_t bytes, int from, int tag)
{
    for (size_t off = 0; off < bytes; off += PIECE) {
        int rc = MPI_Recv((char *)buf + off, piece(bytes, off), MPI_BYTE, from, tag,
                          MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return fail(rc, "MPI_Recv");
    }
    return 0;
}

static int bcast(void *ctx, void *buf, size_t bytes, int root)
{
    for (size_t off = 0; off < bytes; off += PIECE) {
        int rc = MPI_Bcast((char *)buf + off, piece(bytes, off), MPI_BYTE, root,
                           MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return fail(rc, "MPI_Bcast");
    }
    return 0;
}

int ranks_start(int *argc, char ***argv, shards_comm *c)
{
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return fail(rc, "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED)
        return err_set(ERR_IO, "this MPI does not let a threaded process call it from "
                       "its main thread (MPI_THREAD_FUNNELED)");
    if ((rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN)) != MPI_SUCCESS)
        return fail(rc, "MPI_Comm_set_errhandler");
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->ranks);
    c->ctx = NULL;
    c->send = send, c->recv = recv, c->bcast = bcast;
    return 0;
}

void ranks_end(void)
{
    MPI_Finalize();
}
