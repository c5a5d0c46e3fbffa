/* out.c - outputs that appear whole or not at all; see out.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdio_ext.h>      /* __fpending */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/out.h"

#define OUT_PENDING_MAX 32
#define OUT_PATH_MAX 4096

static const char STDOUT_NAME[] = "standard output";

struct out_file {
    FILE *f;
    int slot;                   /* index in g_pending, -1 for stdout */
    int direct;                 /* not a regular file: written in place */
    char path[OUT_PATH_MAX];
    char tmp[OUT_PATH_MAX + 32];
};

/* Temporaries the signal handler must remove.  Plain char arrays so the
 * handler touches no allocator; a slot is live while its first byte is set
 * (written last when a slot is filled, so the handler never sees half a
 * name). */
static char g_pending[OUT_PENDING_MAX][OUT_PATH_MAX + 32];

/* ---- signals ----------------------------------------------------------- */

static atomic_int g_handlers_installed;
/* The process that installed the handlers: a child forked to run another
 * program has them until its exec, and must not remove its parent's files. */
static pid_t g_owner;
static struct sigaction g_default;

/* The signals whose default action ends the process (SIGXFSZ apart). */
static const int g_fatal[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGFPE, SIGSEGV, SIGPIPE, SIGALRM,
    SIGTERM, SIGUSR1, SIGUSR2,
#ifdef SIGBUS
    SIGBUS,
#endif
#ifdef SIGXCPU
    SIGXCPU,
#endif
#ifdef SIGVTALRM
    SIGVTALRM,
#endif
#ifdef SIGPROF
    SIGPROF,
#endif
#ifdef SIGSYS
    SIGSYS,
#endif
#ifdef SIGPOLL
    SIGPOLL,
#endif
#ifdef SIGPWR
    SIGPWR,
#endif
#ifdef SIGSTKFLT
    SIGSTKFLT,
#endif
};

/* Remove the temporaries, then die of the signal as if never caught.  All
 * signals are blocked while it runs; the one raised again is delivered
 * with the default action as soon as it returns. */
static void on_fatal(int sig)
{
    if (getpid() == g_owner)
        out_abort_all();
    sigaction(sig, &g_default, NULL);
    raise(sig);
}

/* SIGXFSZ: nothing.  The write that crossed the limit fails with EFBIG. */
static void on_xfsz(int sig)
{
    (void)sig;
}

/* Take sig with handler if it is at its default action. */
static void take(int sig, void (*handler)(int))
{
    struct sigaction old, sa;
    if (sigaction(sig, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
        old.sa_handler != SIG_DFL)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

void out_signals_init(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&g_handlers_installed, &expected, 1))
        return;
    g_owner = getpid();
    memset(&g_default, 0, sizeof g_default);
    g_default.sa_handler = SIG_DFL;
    sigemptyset(&g_default.sa_mask);
    for (size_t i = 0; i < sizeof g_fatal / sizeof *g_fatal; i++)
        take(g_fatal[i], on_fatal);
#ifdef SIGRTMIN
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        take(s, on_fatal);
#endif
#ifdef SIGXFSZ
    take(SIGXFSZ, on_xfsz);
#endif
}

void out_abort_all(void)
{
    for (int i = 0; i < OUT_PENDING_MAX; i++)
        if (g_pending[i][0]) {
            unlink(g_pending[i]);
            g_pending[i][0] = 0;
        }
}

/* ---- outputs ----------------------------------------------------------- */

/* Store "NAME: write failed: REASON" for errno e (0: reason unknown, an
 * earlier write lost data).  Returns ERR_IO. */
static int write_error(const char *name, const char *what, int e)
{
    if (e > 0)
        return err_set(ERR_IO, "%s: %s failed: %s", name, what, strerror(e));
    return err_set(ERR_IO, "%s: %s failed", name, what);
}

/* Flush f: 0 if everything written to it got out, else the errno of the
 * failure (-1 if an earlier write failed and its reason is gone). */
static int flush_error(FILE *f)
{
    errno = 0;
    if (fflush(f) != 0)
        return errno ? errno : -1;
    return ferror(f) ? -1 : 0;
}

out_file *out_open(const char *path)
{
    out_file *o = calloc(1, sizeof *o);
    if (!o) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        o->slot = -1;
        strcpy(o->path, STDOUT_NAME);
        return o;
    }
    if (strlen(path) >= OUT_PATH_MAX) {
        free(o);
        err_set(ERR_USAGE, "%.64s...: output path too long", path);
        return NULL;
    }
    int slot = -1;
    for (int i = 0; i < OUT_PENDING_MAX; i++)
        if (!g_pending[i][0]) {
            slot = i;
            break;
        }
    if (slot < 0) {
        free(o);
        err_set(ERR_IO, "%s: too many outputs open at once", path);
        return NULL;
    }
    strcpy(o->path, path);
    /* A device or a pipe (-o /dev/null, a FIFO) is written in place: a
     * temporary renamed over it would replace it with a plain file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->slot = -1;
        o->direct = 1;
        if (!(o->f = fopen(path, "wb"))) {
            int e = errno;
            free(o);
            err_set(ERR_IO, "%s: cannot open: %s", path, strerror(e));
            return NULL;
        }
        return o;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
    out_signals_init();
    /* Register before creating, so a signal between the two cannot leak
     * it; the first byte last, so the handler sees the whole name or none. */
    size_t n = strlen(o->tmp);
    memcpy(g_pending[slot] + 1, o->tmp + 1, n);
    atomic_signal_fence(memory_order_seq_cst);
    g_pending[slot][0] = o->tmp[0];
    o->slot = slot;
    o->f = fopen(o->tmp, "wb");
    if (!o->f) {
        int e = errno;
        g_pending[slot][0] = 0;
        free(o);
        err_set(ERR_IO, "%s: cannot create: %s", path, strerror(e));
        return NULL;
    }
    return o;
}

FILE *out_stream(out_file *o)
{
    return o->f;
}

const char *out_name(const out_file *o)
{
    return o->path;
}

int out_in_place(const out_file *o)
{
    return o->slot < 0;
}

int out_commit(out_file *o)
{
    int rc = 0, e;
    if (o->slot < 0) {
        if ((e = flush_error(o->f)) != 0)
            rc = write_error(o->path, "write", e);
        if (o->direct && fclose(o->f) != 0 && rc == 0)
            rc = write_error(o->path, "close", errno);
        free(o);
        return rc;
    }
    if ((e = flush_error(o->f)) != 0)
        rc = write_error(o->path, "write", e);
    else if (fsync(fileno(o->f)) != 0 && errno != EINVAL)
        rc = write_error(o->path, "fsync", errno);
    if (fclose(o->f) != 0 && rc == 0)
        rc = write_error(o->path, "close", errno);
    if (rc == 0 && rename(o->tmp, o->path) != 0)
        rc = err_set(ERR_IO, "%s: cannot rename into place: %s", o->path,
                     strerror(errno));
    if (rc != 0)
        unlink(o->tmp);
    g_pending[o->slot][0] = 0;
    free(o);
    return rc;
}

void out_abort(out_file *o)
{
    if (!o)
        return;
    if (o->slot < 0) {
        fflush(o->f);
        if (o->direct)
            fclose(o->f);
    } else {
        fclose(o->f);
        unlink(o->tmp);
        g_pending[o->slot][0] = 0;
    }
    free(o);
}

int out_fail(out_file *o, int e)
{
    int rc = write_error(o->path, "write", e);
    out_abort(o);
    return rc;
}

int out_close_stdout(void)
{
    int pending = __fpending(stdout) > 0;
    int e = flush_error(stdout);
    /* EBADF with nothing to write: standard output was closed (">&-") and
     * nothing was meant for it. */
    if (fclose(stdout) != 0 && e == 0 && (errno != EBADF || pending))
        e = errno;
    return e ? write_error(STDOUT_NAME, "write", e) : 0;
}
