/* out.c - outputs that appear whole or not at all; see out.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "out.h"

#define OUT_PENDING_MAX 32
#define OUT_PATH_MAX 4096

struct out_file {
    FILE *f;
    int slot;                   /* index in g_pending, -1 for stdout */
    int direct;                 /* not a regular file: written in place */
    char path[OUT_PATH_MAX];
    char tmp[OUT_PATH_MAX + 32];
};

/* Temporaries the signal handler must remove.  Plain char arrays so the
 * handler touches no allocator; a slot is live while its first byte is set. */
static char g_pending[OUT_PENDING_MAX][OUT_PATH_MAX + 32];
static volatile sig_atomic_t g_handlers_installed;

static void on_signal(int sig)
{
    out_abort_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    if (g_handlers_installed)
        return;
    g_handlers_installed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
}

void out_abort_all(void)
{
    for (int i = 0; i < OUT_PENDING_MAX; i++)
        if (g_pending[i][0]) {
            unlink(g_pending[i]);
            g_pending[i][0] = 0;
        }
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
        strcpy(o->path, "<stdout>");
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
    install_handlers();
    /* Register before creating, so a signal between the two cannot leak it. */
    memcpy(g_pending[slot], o->tmp, strlen(o->tmp) + 1);
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

int out_in_place(const out_file *o)
{
    return o->slot < 0;
}

int out_commit(out_file *o)
{
    int rc = 0;
    if (o->slot < 0) {
        if (fflush(o->f) != 0)
            rc = err_set(ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
        if (o->direct && fclose(o->f) != 0 && rc == 0)
            rc = err_set(ERR_IO, "%s: close failed: %s", o->path, strerror(errno));
        free(o);
        return rc;
    }
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = err_set(ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
    else if (fsync(fileno(o->f)) != 0 && errno != EINVAL)
        rc = err_set(ERR_IO, "%s: fsync failed: %s", o->path, strerror(errno));
    if (fclose(o->f) != 0 && rc == 0)
        rc = err_set(ERR_IO, "%s: close failed: %s", o->path, strerror(errno));
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
