/* sim.c - running forward simulators over records; see sim.h. */
#define _GNU_SOURCE         /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"
#include "sim.h"

/* Records out at once: one being answered, the next being sent, so the
 * program works while simulate writes the previous output. */
#define SIM_INFLIGHT 2

int sim_repeat(const tz_record *src, uint64_t k, tz_record *dst)
{
    tz_record_init(dst, src->kind);
    for (int i = 0; i < src->nattrs; i++)
        if (tz_record_set_attr(dst, src->a[i].key, src->a[i].val) < 0)
            return ERR_DATA;
    for (int j = 0; j < src->ntensors; j++) {
        const tz_tensor *s = &src->t[j];
        uint64_t dims[TZ_RANK_MAX];
        memcpy(dims, s->dims, sizeof dims);
        if (s->rank == 0 || (k > 1 && dims[0] > UINT64_MAX / k))
            return err_set(ERR_DATA, "field '%s' cannot be repeated", s->name);
        dims[0] *= k;
        tz_tensor *t = tz_record_add(dst, s->name, s->dtype, s->rank, dims, NULL);
        if (!t)
            return err_code();
        size_t rb = tz_tensor_row_bytes(s);
        for (uint64_t i = 0; i < s->dims[0]; i++)
            for (uint64_t r = 0; r < k; r++)
                memcpy((char *)t->data + (size_t)(i * k + r) * rb,
                       (const char *)s->data + (size_t)i * rb, rb);
    }
    return 0;
}

int sim_builtin(const fwd_spec *spec, const tz_record *rec, const char *field,
                const char *yname, uint64_t first, uint32_t k, uint64_t seed,
                int threads, tz_record *out)
{
    const tz_tensor *x = tz_record_find(rec, field);
    if (!x)
        return err_set(ERR_DATA, "no field '%s'", field);
    if (tz_record_find(rec, yname))
        return err_set(ERR_DATA, "field '%s' is already there", yname);
    int rc = sim_repeat(rec, k, out);
    if (rc < 0)
        return rc;
    int base = out->ntensors;
    for (uint32_t r = 0; r < k; r++) {
        tz_record one;
        tz_record_init(&one, TZ_BATCH);
        rc = fwd_apply(spec, x, first, r, seed, threads, &one, yname);
        for (int j = 0; rc == 0 && j < one.ntensors; j++) {
            const tz_tensor *s = &one.t[j];
            tz_tensor *t = tz_record_find(out, s->name);
            if (!t) {
                uint64_t dims[TZ_RANK_MAX];
                memcpy(dims, s->dims, sizeof dims);
                dims[0] *= k;
                if (!(t = tz_record_add(out, s->name, s->dtype, s->rank, dims, NULL)))
                    rc = err_code();
            } else if (t - out->t < base) {
                rc = err_set(ERR_DATA, "side field '%s' clashes with an input "
                             "field", s->name);
            }
            size_t rb = tz_tensor_row_bytes(s);
            for (uint64_t i = 0; rc == 0 && i < s->dims[0]; i++)
                memcpy((char *)t->data + (size_t)(i * k + r) * rb,
                       (const char *)s->data + (size_t)i * rb, rb);
        }
        tz_record_free(&one);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- external simulators ----------------------------------------------- */

struct sim_ext {
    char cmd[256];          /* for messages, shortened */
    pid_t pid;
    FILE *to, *from;
    tz_writer *w;
    tz_reader *r;
    uint64_t sent, received;    /* records so far */
    /* records sent and not yet answered, oldest at q_head */
    tz_record q[SIM_INFLIGHT];
    int q_head, q_n;
    pthread_t writer;           /* writing q[send_slot] while writing */
    int writing, send_slot, send_rc;
    double timeout;
    /* the watchdog: kills the program when an answer is late */
    pthread_t dog;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int waiting, stop, timed_out;
    struct timespec deadline;
};

static void *watchdog(void *arg)
{
    sim_ext *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        if (!s->waiting) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        if (pthread_cond_timedwait(&s->cond, &s->lock, &s->deadline) == ETIMEDOUT &&
            s->waiting) {
            s->timed_out = 1;
            s->waiting = 0;
            kill(-s->pid, SIGKILL);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void arm(sim_ext *s, int on)
{
    if (s->timeout <= 0)
        return;
    pthread_mutex_lock(&s->lock);
    s->waiting = on;
    if (on) {
        clock_gettime(CLOCK_REALTIME, &s->deadline);
        double t = s->deadline.tv_sec + 1e-9 * s->deadline.tv_nsec + s->timeout;
        s->deadline.tv_sec = (time_t)t;
        s->deadline.tv_nsec = (long)((t - floor(t)) * 1e9);
    }
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

sim_ext *sim_ext_start(const char *cmd, double timeout)
{
    int in[2], out[2];
    sim_ext *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    snprintf(s->cmd, sizeof s->cmd, "%s", cmd);
    if (strlen(cmd) >= sizeof s->cmd)
        strcpy(s->cmd + sizeof s->cmd - 4, "...");
    s->timeout = timeout;
    /* A program that dies would kill us with SIGPIPE on the next write;
     * take the error instead, and report the program's exit. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe(in) < 0 || pipe(out) < 0) {
        err_set(ERR_IO, "pipe: %s", strerror(errno));
        free(s);
        return NULL;
    }
    s->pid = fork();
    if (s->pid < 0) {
        err_set(ERR_IO, "fork: %s", strerror(errno));
        free(s);
        return NULL;
    }
    if (s->pid == 0) {
        /* Its own process group, so that a kill reaches whatever the
         * shell starts too. */
        setpgid(0, 0);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(s->pid, s->pid);    /* also here: no race with the kill */
    /* Records are megabytes; 64 KiB pipes would cost a context switch
     * every 64 KiB.  A larger pipe is an optimisation only: ignore failure. */
    fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
    fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
    close(in[0]);
    close(out[1]);
    s->to = fdopen(in[1], "wb");
    s->from = fdopen(out[0], "rb");
    char name[300];
    snprintf(name, sizeof name, "simulator '%s'", s->cmd);
    s->w = s->to ? tz_writer_to_file(s->to, 0) : NULL;
    s->r = s->from ? tz_reader_from_file(s->from, name) : NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!s->w || !s->r || pthread_create(&s->dog, NULL, watchdog, s) != 0) {
        err_set(ERR_IO, "cannot set up the simulator");
        sim_ext_kill(s);
        return NULL;
    }
    return s;
}

/* Wait up to secs for the program to exit; kill it after that.  Returns 1
 * with *status set if it exited by itself. */
static int reap(sim_ext *s, double secs, int *status)
{
    for (double t = 0; s->pid > 0 && t < secs; t += 0.01) {
        if (waitpid(s->pid, status, WNOHANG) == s->pid) {
            s->pid = 0;
            return 1;
        }
        nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
    }
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    return 0;
}

static void describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "it exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "it was killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, n, "it stopped");
}

/* Why the program stopped answering, for messages: reaps it. */
static void describe_exit(sim_ext *s, char *buf, size_t n)
{
    int status;
    if (s->timed_out) {
        snprintf(buf, n, "no answer within %g s (killed)", s->timeout);
        return;
    }
    if (reap(s, 2.0, &status)) {
        describe_status(status, buf, n);
    } else {
        snprintf(buf, n, "it closed its output (killed)");
    }
}

static void *send_record(void *arg)
{
    sim_ext *s = arg;
    s->send_rc = tz_write(s->w, &s->q[s->send_slot]);
    if (s->send_rc == 0 && fflush(s->to) != 0)
        s->send_rc = err_set(ERR_IO, "write failed: %s", strerror(errno));
    return NULL;
}

/* Wait for the record being written to be in the pipe.  Returns the
 * writer's status. */
static int join_writer(sim_ext *s)
{
    if (!s->writing)
        return 0;
    pthread_join(s->writer, NULL);
    s->writing = 0;
    return s->send_rc;
}

int sim_ext_send(sim_ext *s, tz_record *rec)
{
    if (s->q_n == SIM_INFLIGHT)
        return err_set(ERR_IO, "internal: %d records already in flight", SIM_INFLIGHT);
    /* One writer at a time keeps the records in order; the previous one
     * ends once the program has read that record. */
    arm(s, 1);
    int sent_ok = join_writer(s) == 0;
    arm(s, 0);
    if (!sent_ok || s->timed_out) {
        char why[128];
        describe_exit(s, why, sizeof why);
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: could not be "
                       "sent: %s", s->cmd, (unsigned long long)(s->sent - 1), why);
    }
    int slot = (s->q_head + s->q_n) % SIM_INFLIGHT;
    s->q[slot] = *rec;              /* the queue owns it now */
    tz_record_init(rec, TZ_BATCH);
    s->q_n++;
    s->sent++;
    /* Written from a thread while this one reads answers: a program may
     * answer before it has read all of a record, and pipes are small. */
    s->send_slot = slot;
    if (pthread_create(&s->writer, NULL, send_record, s) != 0)
        return err_set(ERR_IO, "cannot start a thread");
    s->writing = 1;
    return 0;
}

/* Check an answer to rec; 0 or ERR_*. */
static int check_answer(sim_ext *s, uint64_t index, const tz_record *rec,
                        const tz_record *ans, const char *yname)
{
    const tz_tensor *y = tz_record_find(ans, yname);
    uint64_t n = tz_record_batch(rec);
    unsigned long long i = index;
    if (ans->kind != TZ_BATCH || tz_record_batch(ans) != n)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: answered %llu "
                       "rows for %llu", s->cmd, i,
                       (unsigned long long)tz_record_batch(ans), (unsigned long long)n);
    if (!y)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: the answer has "
                       "no field '%s'", s->cmd, i, yname);
    if (y->dtype != TZ_F32)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: field '%s' is "
                       "%s, not f32", s->cmd, i, yname, tz_dtype_name(y->dtype));
    for (uint64_t k = 0; k < tz_tensor_count(y); k++)
        if (!isfinite(((const float *)y->data)[k]))
            return err_set(ERR_NUMERIC, "simulator '%s': record %llu: field '%s' "
                           "holds NaN or Inf at element %llu", s->cmd, i, yname,
                           (unsigned long long)k);
    return 0;
}

int sim_ext_receive(sim_ext *s, const char *yname, tz_record *out)
{
    tz_record_init(out, TZ_BATCH);
    if (s->q_n == 0)
        return err_set(ERR_IO, "internal: no record in flight");
    uint64_t index = s->received++;
    tz_record *rec = &s->q[s->q_head];
    arm(s, 1);
    tz_record ans;
    tz_record_init(&ans, TZ_BATCH);
    int rc = tz_read(s->r, &ans);
    arm(s, 0);
    char why[128];
    int status;
    if (rc == 0 || (rc < 0 && s->timed_out)) {
        describe_exit(s, why, sizeof why);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer: %s",
                     s->cmd, (unsigned long long)index, why);
    } else if (rc < 0) {
        /* A program that failed usually leaves a short answer: its exit
         * says more than the bytes do.  Else the reader's message, which
         * already names the program and the record. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err_msg());
        if (reap(s, 1.0, &status) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            describe_status(status, why, sizeof why);
            rc = err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer: %s",
                         s->cmd, (unsigned long long)index, why);
        } else {
            rc = err_set(ERR_EXTERNAL, "%s", msg);
        }
    } else {
        rc = check_answer(s, index, rec, &ans, yname);
    }
    /* The record may still be being written if it is the only one out. */
    if (rc == 0 && s->q_n == 1 && join_writer(s) < 0)
        rc = err_set(ERR_EXTERNAL, "simulator '%s': record %llu: answered before "
                     "reading all of it", s->cmd, (unsigned long long)index);
    if (rc == 0) {
        *out = *rec;                /* moved out of the queue */
        tz_record_remove_attr(out, "seed");     /* protocol, not data */
        tz_record_remove_attr(out, "first");
        s->q_head = (s->q_head + 1) % SIM_INFLIGHT;
        s->q_n--;
        for (int j = 0; rc == 0 && j < ans.ntensors; j++) {
            const tz_tensor *t = &ans.t[j];
            if (tz_record_find(out, t->name))
                continue;           /* an echo of what was sent */
            tz_tensor *c = tz_record_add(out, t->name, t->dtype, t->rank, t->dims, NULL);
            if (!c)
                rc = err_prefix(ERR_EXTERNAL, "simulator '%s': record %llu", s->cmd,
                                (unsigned long long)index);
            else
                memcpy(c->data, t->data, tz_tensor_bytes(t));
        }
    }
    tz_record_free(&ans);
    return rc;
}

static void stop_watchdog(sim_ext *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->dog, NULL);
}

static void release(sim_ext *s)
{
    for (int i = 0; i < s->q_n; i++)
        tz_record_free(&s->q[(s->q_head + i) % SIM_INFLIGHT]);
    tz_reader_close(s->r);
    if (s->from)
        fclose(s->from);
    if (s->to)
        fclose(s->to);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int sim_ext_finish(sim_ext *s)
{
    int rc = join_writer(s);
    if (rc == 0 && s->q_n)
        rc = err_set(ERR_IO, "internal: %d records not received", s->q_n);
    if (rc == 0)
        rc = tz_writer_close(s->w);
    else
        tz_writer_abort(s->w);
    s->w = NULL;
    fclose(s->to);
    s->to = NULL;
    tz_record extra;
    tz_record_init(&extra, TZ_BATCH);
    arm(s, 1);
    int got = rc < 0 ? -1 : tz_read(s->r, &extra);
    arm(s, 0);
    tz_record_free(&extra);
    stop_watchdog(s);
    char why[128];
    if (got == 1) {
        rc = err_set(ERR_EXTERNAL, "simulator '%s': wrote more records than it "
                     "was sent (%llu)", s->cmd, (unsigned long long)s->sent);
    } else if (got < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err_msg());
        rc = err_set(ERR_EXTERNAL, "%s", msg);
    }
    int status = 0;
    if (s->timed_out) {
        rc = err_set(ERR_EXTERNAL, "simulator '%s': no end record within %g s "
                     "(killed)", s->cmd, s->timeout);
    } else if (!reap(s, s->timeout > 0 ? s->timeout : 3600, &status)) {
        if (rc == 0)
            rc = err_set(ERR_EXTERNAL, "simulator '%s' did not exit after its "
                         "input ended (killed)", s->cmd);
    } else if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        describe_status(status, why, sizeof why);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': at the end: %s", s->cmd, why);
    }
    release(s);
    return rc;
}

void sim_ext_kill(sim_ext *s)
{
    if (!s)
        return;
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    join_writer(s);     /* unblocked: its reader is gone */
    if (s->dog)
        stop_watchdog(s);
    tz_writer_abort(s->w);
    release(s);
}
