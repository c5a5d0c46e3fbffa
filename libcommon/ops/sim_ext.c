/* sim_ext.c - an external simulator program over records; see sim_ext.h. */
#define _GNU_SOURCE         /* F_SETPIPE_SZ, fopencookie, pipe2, prctl */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "ops/sim_ext.h"

/* Records out at once: one being answered, the next being sent, so the
 * program works while simulate writes the previous output. */
#define SIM_INFLIGHT 2

/* ---- external simulators ----------------------------------------------- *
 *
 * The program runs under /bin/sh -c, in a process group of its own; this
 * process is its subreaper (PR_SET_CHILD_SUBREAPER), so that whatever it
 * starts and leaves behind, even in a session of its own (setsid), is
 * reparented here and can be found and ended.  Three threads talk to it:
 * the caller's, which reads its answers from the relay's pipe and writes
 * the output; a writer per record, which writes the record to the
 * program's input; and the relay, which copies the program's output to
 * the reader and, with poll(2), ends it when the caller has waited longer
 * than the timeout, whether the program exited or not.  Writing to the
 * program's input waits with poll(2) as well, so no wait outlasts the
 * timeout. */

/* Seconds between the SIGTERM that ends the program and the SIGKILL. */
#define SIM_GRACE 2.0
/* Seconds of SIGKILL after which a process that does not go is left. */
#define SIM_KILL_WAIT 5.0
/* How often a thread blocked on a pipe looks at the deadline, in ms. */
#define SIM_SLICE_MS 50

/* The protocol attributes, set on every record sent (see sim.h); the
 * record's own values under these names are put back in the output. */
static const char *const g_proto[] = { "seed", "first", "field", "out_field",
                                       "resamples", "shape" };
#define SIM_NPROTO 6

/* The environment variables set for the program. */
static const char *const g_envnames[] = { "SCSI_SIM_FIELD", "SCSI_SIM_OUT_FIELD",
                                          "SCSI_SIM_RESAMPLES", "SCSI_SIM_SEED" };
#define SIM_NENV 4

typedef struct {
    tz_record rec;
    char *own[SIM_NPROTO];      /* the record's own values, or NULL */
} sim_slot;

struct sim_ext {
    char cmd[256];              /* for messages, shortened */
    int direct;                 /* the shell execs the command: its status
                                 * is the program's own */
    pid_t pid;                  /* the program until reaped, then 0 */
    pid_t pgid;                 /* its process group */
    double timeout;
    char field[TZ_NAME_MAX + 1], out[TZ_NAME_MAX + 1], seed[32], k[16];
    char *env[SIM_NENV];        /* NAME=value */
    int to_fd, from_fd;         /* the program's standard input and output */
    int relay_r, relay_w;       /* the relay's pipe; r reads relay_r */
    int stop_r, stop_w;         /* closing stop_w wakes every wait */
    FILE *to, *from;            /* over to_fd (a cookie) and relay_r */
    tz_writer *w;
    tz_reader *r;
    uint64_t sent, received;    /* records so far */
    /* records sent and not yet answered, oldest at q_head */
    sim_slot q[SIM_INFLIGHT];
    int q_head, q_n;
    pthread_t writer;           /* writing q[send_slot] while writing */
    int writing, send_slot, send_rc;
    pthread_t relay;
    int relaying;
    /* shared with the writer and the relay */
    pthread_mutex_t lock;
    double deadline;            /* CLOCK_MONOTONIC seconds; 0: nobody waits */
    int timed_out;
    int send_errno;             /* why writing to the program failed, or 0 */
    int ending;                 /* the end record is being sent */
    uint64_t send_index;        /* the record being written */
    uint64_t send_bytes;        /* bytes of it written */
    uint64_t bytes_in;          /* bytes the program has written in all */
    uint64_t bytes_answered;    /* bytes_in when the last answer was whole */
    unsigned char head[64];     /* the first bytes it wrote */
    size_t head_n;
};

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void nap_ms(long ms)
{
    struct timespec t = { ms / 1000, ms % 1000 * 1000000L };
    nanosleep(&t, NULL);
}

/* ---- ending the program and whatever it started ------------------------ *
 * Async-signal-safe throughout: the signal handler below uses it. */

struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static long parse_long(const char **p)
{
    long v = 0;
    while (**p >= '0' && **p <= '9')
        v = v * 10 + (*(*p)++ - '0');
    return v;
}

/* From /proc/NAME/stat (NAME a pid in decimal): the state, parent, process
 * group and start time of a process.  0, or -1 if it cannot be read. */
static int proc_stat(const char *name, char *state, long *ppid, long *pgrp,
                     unsigned long long *start)
{
    if (strlen(name) > 20)
        return -1;
    char path[40] = "/proc/";
    strcat(path, name);
    strcat(path, "/stat");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char st[1024];
    ssize_t m = read(fd, st, sizeof st - 1);
    close(fd);
    if (m <= 0)
        return -1;
    st[m] = 0;
    /* pid (comm) state ppid pgrp session ... starttime (the 22nd); comm
     * may hold anything, ')' included */
    const char *p = strrchr(st, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    *state = p[2];
    p += 4;
    *ppid = parse_long(&p);
    if (*p++ != ' ')
        return -1;
    *pgrp = parse_long(&p);
    for (int f = 5; f < 22; f++) {
        while (*p && *p != ' ')
            p++;
        if (*p++ != ' ')
            return -1;
    }
    unsigned long long v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (unsigned)(*p++ - '0');
    *start = v;
    return 0;
}

/* When the program started (clock ticks since boot, as in /proc), or 0:
 * what started before it is no descendant of it. */
static unsigned long long g_start;

/* Send sig (0: none) to every live child of this process started since
 * the program, and to the process group of each one that leads its own;
 * returns how many there are.  The program's descendants whose parent
 * died are reparented here, so this reaches what escaped its process
 * group.  Reads /proc. */
static int signal_children(int sig)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    long me = getpid();
    int n = 0;
    char buf[4096] __attribute__((aligned(8)));
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got;) {
            const struct dirent64_raw *d = (const void *)(buf + off);
            off += d->reclen;
            char state;
            long ppid, pgrp;
            unsigned long long start;
            if (d->name[0] < '1' || d->name[0] > '9' ||
                proc_stat(d->name, &state, &ppid, &pgrp, &start) < 0 ||
                ppid != me || state == 'Z' || state == 'X' || start < g_start)
                continue;
            const char *c = d->name;
            long pid = parse_long(&c);
            n++;
            if (sig) {
                if (pgrp == pid)
                    kill(-(pid_t)pid, sig);
                kill((pid_t)pid, sig);
            }
        }
    }
    close(fd);
    return n;
}

/* End process group pgid and every descendant that left it: SIGTERM, up
 * to grace seconds for them to go, then SIGKILL; reap them all. */
static void end_tree(pid_t pgid, double grace)
{
    double t0 = mono(), next_term = t0;
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        double now = mono();
        int sig = 0;
        if (now >= t0 + grace) {
            sig = SIGKILL;
        } else if (now >= next_term) {
            sig = SIGTERM;
            next_term = now + 0.25;
        }
        int left = signal_children(sig);
        if (pgid > 0 && kill(-pgid, sig) == 0)
            left++;
        if (!left || now > t0 + grace + SIM_KILL_WAIT)
            return;
        nap_ms(20);
    }
}

/* ---- terminating signals ----------------------------------------------- *
 * A signal that would end this process ends the program first: its process
 * group is its own, so neither a terminal's ^C nor a kill of this process
 * reaches it.  The previous disposition then takes the signal (out.c's
 * handler, which removes temporary outputs, or the default). */

static const int g_sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM,
                              SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };
#define SIM_NSIGS (int)(sizeof g_sigs / sizeof *g_sigs)
static struct sigaction g_old[SIM_NSIGS];
static int g_hooked[SIM_NSIGS];
static volatile sig_atomic_t g_pgid;    /* the running program's group, or 0 */
static pid_t g_main_tid;                /* the thread that cleans up */

static void on_signal(int sig)
{
    int e = errno;
    if ((pid_t)syscall(SYS_gettid) != g_main_tid) {
        /* To the caller's thread, so that no other thread goes on to exit
         * with a status of its own while the program is being ended. */
        syscall(SYS_tgkill, (long)getpid(), (long)g_main_tid, (long)sig);
        errno = e;
        return;
    }
    pid_t pg = g_pgid;
    if (pg > 0)
        end_tree(pg, SIM_GRACE);
    g_pgid = 0;
    for (int i = 0; i < SIM_NSIGS; i++)
        if (g_sigs[i] == sig)
            sigaction(sig, &g_old[i], NULL);
    raise(sig);         /* blocked until this returns; then taken as before */
    errno = e;
}

/* Hook every terminating signal that is not ignored. */
static void hook_signals(void)
{
    g_main_tid = (pid_t)syscall(SYS_gettid);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < SIM_NSIGS; i++)
        sigaddset(&sa.sa_mask, g_sigs[i]);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < SIM_NSIGS; i++) {
        if (g_hooked[i] || sigaction(g_sigs[i], NULL, &g_old[i]) < 0 ||
            (!(g_old[i].sa_flags & SA_SIGINFO) && g_old[i].sa_handler == SIG_IGN))
            continue;
        g_hooked[i] = sigaction(g_sigs[i], &sa, NULL) == 0;
    }
}

static void unhook_signals(void)
{
    for (int i = 0; i < SIM_NSIGS; i++) {
        struct sigaction cur;
        if (g_hooked[i] && sigaction(g_sigs[i], NULL, &cur) == 0 &&
            !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == on_signal)
            sigaction(g_sigs[i], &g_old[i], NULL);
        g_hooked[i] = 0;
    }
}

/* Block the terminating signals in the calling thread (and return the old
 * mask), so that threads started now leave them to the caller's. */
static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < SIM_NSIGS; i++)
        sigaddset(&set, g_sigs[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* ---- the pipes --------------------------------------------------------- */

/* write(2), with a broken pipe an error (EPIPE) only: the SIGPIPE it
 * raises is taken back, so that only this process's own output can end it
 * with SIGPIPE, as every tool is ended. */
static ssize_t write_nopipe(int fd, const void *buf, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t w = write(fd, buf, n);
    int e = errno;
    if (w < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

/* 1 (and s->timed_out set) once the caller has waited past the deadline. */
static int expired(sim_ext *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->deadline > 0 && mono() >= s->deadline)
        s->timed_out = 1;
    int t = s->timed_out;
    pthread_mutex_unlock(&s->lock);
    return t;
}

/* 1 once a wait has outlasted the timeout. */
static int timed_out(sim_ext *s)
{
    pthread_mutex_lock(&s->lock);
    int t = s->timed_out;
    pthread_mutex_unlock(&s->lock);
    return t;
}

/* Start (on) or stop waiting for the program. */
static void arm(sim_ext *s, int on)
{
    pthread_mutex_lock(&s->lock);
    s->deadline = on && s->timeout > 0 ? mono() + s->timeout : 0;
    pthread_mutex_unlock(&s->lock);
}

static ssize_t send_fail(sim_ext *s, int e)
{
    pthread_mutex_lock(&s->lock);
    if (!s->send_errno)
        s->send_errno = e;
    pthread_mutex_unlock(&s->lock);
    errno = e;
    return -1;
}

static int send_errno(sim_ext *s)
{
    pthread_mutex_lock(&s->lock);
    int e = s->send_errno;
    pthread_mutex_unlock(&s->lock);
    return e;
}

/* The cookie under s->to: the program's input is non-blocking, and a
 * write waits with poll(2), until the deadline or the stop.  All of buf
 * or an error: glibc takes a short write for a failure. */
static ssize_t to_write(void *cookie, const char *buf, size_t n)
{
    sim_ext *s = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write_nopipe(s->to_fd, buf + done, n - done);
        if (w > 0) {
            done += (size_t)w;
            pthread_mutex_lock(&s->lock);
            s->send_bytes += (uint64_t)w;
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return send_fail(s, errno);
        if (expired(s))
            return send_fail(s, ETIMEDOUT);
        struct pollfd p[2] = { { s->to_fd, POLLOUT, 0 }, { s->stop_r, POLLIN, 0 } };
        if (poll(p, 2, SIM_SLICE_MS) > 0 && p[1].revents)
            return send_fail(s, ECANCELED);
    }
    return (ssize_t)n;
}

static int to_close(void *cookie)
{
    sim_ext *s = cookie;
    int rc = close(s->to_fd);
    s->to_fd = -1;
    return rc;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write_nopipe(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The relay: the program's output to the reader's pipe, until it ends,
 * the caller stops waiting for it (timeout), writing to the program has
 * failed and nothing more comes, or the stop.  Then the reader sees the
 * end of its input. */
static void *relay_main(void *arg)
{
    sim_ext *s = arg;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    while (buf) {
        struct pollfd p[2] = { { s->from_fd, POLLIN, 0 }, { s->stop_r, POLLIN, 0 } };
        int n = poll(p, 2, SIM_SLICE_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && p[1].revents)
            break;
        if (n > 0 && p[0].revents) {
            ssize_t got = read(s->from_fd, buf, cap);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0)
                break;
            pthread_mutex_lock(&s->lock);
            size_t h = s->head_n < sizeof s->head ? sizeof s->head - s->head_n : 0;
            h = h < (size_t)got ? h : (size_t)got;
            memcpy(s->head + s->head_n, buf, h);
            s->head_n += h;
            s->bytes_in += (uint64_t)got;
            pthread_mutex_unlock(&s->lock);
            if (write_all(s->relay_w, buf, (size_t)got) < 0)
                break;
        } else {
            pthread_mutex_lock(&s->lock);
            int quit = s->send_errno && !s->ending;
            pthread_mutex_unlock(&s->lock);
            if (quit)
                break;  /* it stopped reading; what it wrote has been read */
        }
        if (expired(s))
            break;
    }
    free(buf);
    close(s->relay_w);
    return NULL;
}

/* ---- starting ---------------------------------------------------------- */

/* 1 if cmd is a single simple command, so that "exec cmd" runs the same
 * program in place of the shell: no list, pipeline, subshell, command
 * substitution, compound command, assignment or shell builtin first. */
static int simple_command(const char *cmd)
{
    static const char *const shell_words[] = {
        "!", "{", "}", "[[", "case", "coproc", "do", "done", "elif", "else", "esac",
        "fi", "for", "function", "if", "in", "select", "then", "time", "until",
        "while", ".", ":", "alias", "bg", "break", "builtin", "cd", "command",
        "continue", "declare", "eval", "exec", "exit", "export", "fg", "getopts",
        "hash", "jobs", "let", "local", "read", "readonly", "return", "set",
        "shift", "source", "times", "trap", "type", "typeset", "ulimit", "umask",
        "unalias", "unset", "wait"
    };
    /* Outside quotes, no ; & | ( ) or newline; nowhere a substitution
     * (conservatively: what it holds is not looked into). */
    char q = 0;                 /* the quote we are in */
    for (const char *p = cmd; *p; p++) {
        if (q == '\'') {
            q = *p == '\'' ? 0 : q;
        } else if (*p == '\\') {
            p += p[1] != 0;
        } else if (*p == '`' || (*p == '$' && p[1] == '(')) {
            return 0;
        } else if (q == '"') {
            q = *p == '"' ? 0 : q;
        } else if (*p == '\'' || *p == '"') {
            q = *p;
        } else if (strchr(";&|()\n", *p) &&
                   !(*p != '(' && *p != ')' && p > cmd && (p[-1] == '>' || p[-1] == '<'))) {
            return 0;           /* (not the & of 2>&1, nor the | of >|) */
        }
    }
    if (q)
        return 0;               /* unbalanced: the shell says so */
    const char *w = cmd + strspn(cmd, " \t");
    size_t n = strcspn(w, " \t");
    if (n == 0 || memchr(w, '=', n))
        return 0;
    for (size_t i = 0; i < sizeof shell_words / sizeof *shell_words; i++)
        if (strlen(shell_words[i]) == n && memcmp(w, shell_words[i], n) == 0)
            return 0;
    return 1;
}

/* The environment for the program: this one, with the SCSI_SIM_*
 * variables replaced.  The array is malloc'd; its strings are borrowed. */
static char **sim_environ(sim_ext *s)
{
    extern char **environ;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = malloc((n + SIM_NENV + 1) * sizeof *env);
    if (!env)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int ours = 0;
        for (int j = 0; j < SIM_NENV; j++) {
            size_t l = strlen(g_envnames[j]);
            ours |= strncmp(environ[i], g_envnames[j], l) == 0 && environ[i][l] == '=';
        }
        if (!ours)
            env[m++] = environ[i];
    }
    for (int j = 0; j < SIM_NENV; j++)
        env[m++] = s->env[j];
    env[m] = NULL;
    return env;
}

static void release(sim_ext *s);

sim_ext *sim_ext_start(const char *cmd, const sim_ext_opts *o)
{
    sim_ext *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    s->to_fd = s->from_fd = s->relay_r = s->relay_w = s->stop_r = s->stop_w = -1;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->cmd, sizeof s->cmd, "%s", cmd);
    if (strlen(cmd) >= sizeof s->cmd)
        strcpy(s->cmd + sizeof s->cmd - 4, "...");
    s->timeout = o->timeout;
    snprintf(s->field, sizeof s->field, "%s", o->field);
    snprintf(s->out, sizeof s->out, "%s", o->out);
    snprintf(s->seed, sizeof s->seed, "%" PRIu64, o->seed);
    snprintf(s->k, sizeof s->k, "%" PRIu32, o->resamples);
    const char *vals[SIM_NENV] = { s->field, s->out, s->k, s->seed };
    for (int j = 0; j < SIM_NENV; j++) {
        size_t l = strlen(g_envnames[j]) + strlen(vals[j]) + 2;
        if ((s->env[j] = malloc(l)))
            snprintf(s->env[j], l, "%s=%s", g_envnames[j], vals[j]);
    }
    s->direct = simple_command(cmd);
    size_t sl = strlen(cmd) + 6;
    char *script = malloc(sl);
    char **env = sim_environ(s);
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, relay[2] = { -1, -1 }, stop[2] = { -1, -1 };
    int ok = script && env && s->env[SIM_NENV - 1] && s->env[0] && s->env[1] && s->env[2];
    if (!ok) {
        err_set(ERR_IO, "out of memory");
    } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
               pipe2(relay, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0) {
        err_set(ERR_IO, "pipe: %s", strerror(errno));
        ok = 0;
    }
    if (!ok) {
        int fds[] = { in[0], in[1], out[0], out[1], relay[0], relay[1], stop[0], stop[1] };
        for (int i = 0; i < 8; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(script);
        free(env);
        release(s);
        return NULL;
    }
    snprintf(script, sl, "%s%s", s->direct ? "exec " : "", cmd);
    /* Orphans among the program's descendants come here, not to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    hook_signals();
    pid_t parent = getpid();
    s->pid = fork();
    if (s->pid == 0) {
        /* Its own process group, so that a kill reaches whatever the shell
         * starts too; and killed if this process dies, even by SIGKILL. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int a = fcntl(in[0], F_DUPFD, 3), b = fcntl(out[1], F_DUPFD, 3);
        if (a < 0 || b < 0 || dup2(a, STDIN_FILENO) < 0 || dup2(b, STDOUT_FILENO) < 0)
            _exit(127);
        close(a);
        close(b);
        signal(SIGPIPE, SIG_DFL);
        execve("/bin/sh", (char *[]){ "sh", "-c", script, NULL }, env);
        _exit(127);
    }
    int fork_errno = errno;
    free(script);
    free(env);
    close(in[0]);
    close(out[1]);
    s->to_fd = in[1];
    s->from_fd = out[0];
    s->relay_r = relay[0];
    s->relay_w = relay[1];
    s->stop_r = stop[0];
    s->stop_w = stop[1];
    if (s->pid < 0) {
        s->pid = 0;
        err_set(ERR_IO, "fork: %s", strerror(fork_errno));
        release(s);
        return NULL;
    }
    setpgid(s->pid, s->pid);    /* also here: no race with a kill */
    s->pgid = s->pid;
    char pidname[24], state;
    long ppid, pgrp;
    snprintf(pidname, sizeof pidname, "%ld", (long)s->pid);
    if (proc_stat(pidname, &state, &ppid, &pgrp, &g_start) < 0)
        g_start = 0;
    g_pgid = s->pid;
    /* Records are megabytes; 64 KiB pipes would cost a context switch
     * every 64 KiB.  A larger pipe is an optimisation only: ignore failure. */
    fcntl(s->to_fd, F_SETPIPE_SZ, 1 << 20);
    fcntl(s->from_fd, F_SETPIPE_SZ, 1 << 20);
    fcntl(s->relay_w, F_SETPIPE_SZ, 1 << 20);
    fcntl(s->to_fd, F_SETFL, fcntl(s->to_fd, F_GETFL) | O_NONBLOCK);
    s->to = fopencookie(s, "w", (cookie_io_functions_t){ NULL, to_write, NULL, to_close });
    s->from = fdopen(s->relay_r, "rb");
    if (s->from)
        s->relay_r = -1;        /* s->from has it */
    char name[300];
    snprintf(name, sizeof name, "simulator '%s'", s->cmd);
    s->w = s->to ? tz_writer_to_file(s->to, 0) : NULL;
    s->r = s->from ? tz_reader_from_file(s->from, name) : NULL;
    sigset_t mask;
    block_signals(&mask);
    if (s->w && s->r)
        s->relaying = pthread_create(&s->relay, NULL, relay_main, s) == 0;
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (!s->relaying) {
        err_set(ERR_IO, "cannot set up the simulator");
        sim_ext_kill(s);
        return NULL;
    }
    return s;
}

/* ---- ending ------------------------------------------------------------ */

/* End the program and all it started (it is then reaped). */
static void terminate(sim_ext *s)
{
    if (s->pgid > 0)
        end_tree(s->pgid, SIM_GRACE);
    s->pid = 0;
}

/* Wait up to secs for the program to exit; end it after that.  Returns 1
 * with *status set if it exited by itself. */
static int reap(sim_ext *s, double secs, int *status)
{
    double end = mono() + secs;
    while (s->pid > 0) {
        pid_t p = waitpid(s->pid, status, WNOHANG);
        if (p == s->pid || (p < 0 && errno == ECHILD)) {
            int got = p == s->pid;
            s->pid = 0;
            return got;
        }
        if (mono() >= end)
            break;
        nap_ms(10);
    }
    terminate(s);
    return 0;
}

static void describe_status(const sim_ext *s, int status, char *buf, size_t n)
{
    if (WIFEXITED(status)) {
        int c = WEXITSTATUS(status);
        int l = snprintf(buf, n, "it exited with status %d", c);
        if (l < 0 || (size_t)l >= n)
            return;
        if (c == 127)
            snprintf(buf + l, n - l, " (the shell's: command not found)");
        else if (c == 126)
            snprintf(buf + l, n - l, " (the shell's: command not executable)");
        else if (!s->direct && c > 128 && c < 128 + 65)
            snprintf(buf + l, n - l, " (the shell's: %d = 128 + %d, as when a program it "
                     "ran is killed by signal %d)", c, c - 128, c - 128);
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, n, "it was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, n, "it stopped");
    }
}

/* If message msg is the reader's "bad magic" on bytes that are text, put
 * them (or the program's first bytes, if they begin so) in buf, quoted
 * as far as they are printable, and return 1. */
static int text_instead(sim_ext *s, const char *msg, char *buf, size_t n)
{
    const char *p = strstr(msg, "bad magic 0x");
    if (!p)
        return 0;
    unsigned long m = strtoul(p + 12, NULL, 16);
    unsigned char b[sizeof s->head];
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(m >> 8 * i);
        if (!isprint(b[i]) && !isspace(b[i]))
            return 0;
    }
    size_t len = 4;
    pthread_mutex_lock(&s->lock);
    if (s->head_n >= 4 && memcmp(s->head, b, 4) == 0) {
        len = s->head_n;
        memcpy(b, s->head, len);
    }
    pthread_mutex_unlock(&s->lock);
    size_t j = 0;
    while (j < len && j + 4 < n && j < 40 && isprint(b[j]) && b[j] != '"')
        buf[j] = (char)b[j], j++;
    if (j < len && isprint(b[j]))
        memcpy(buf + j, "...", 3), j += 3;
    buf[j] = 0;
    return 1;
}

/* The reader's message for an output that ended early: no end record,
 * nothing at all, or the end inside a record. */
static int ended_early(const char *msg)
{
    return strstr(msg, "no end record after the last record") ||
           strstr(msg, "empty input") || strstr(msg, "input ends") ||
           strstr(msg, "stray bytes at end of input");
}

/* What the program had written when the timeout ran out, and the hint:
 * what (its "answer", its "end record") is late, or stuck in its buffer. */
static void timeout_hint(sim_ext *s, const char *what, char *buf, size_t n)
{
    pthread_mutex_lock(&s->lock);
    uint64_t total = s->bytes_in, since = s->bytes_in - s->bytes_answered;
    pthread_mutex_unlock(&s->lock);
    if (total == 0)
        snprintf(buf, n, "it had written nothing at all");
    else if (since == 0)
        snprintf(buf, n, "it had written nothing since its previous answer");
    else
        snprintf(buf, n, "it had written %llu bytes since its previous answer, not "
                 "a whole record", (unsigned long long)since);
    size_t l = strlen(buf);
    snprintf(buf + l, n - l, "; either it needs more time (--timeout) or its %s is "
             "stuck in its output buffer: a simulator must flush its standard output "
             "after each answer and after its end record", what);
}

static void *send_record(void *arg)
{
    sim_ext *s = arg;
    s->send_rc = tz_write(s->w, &s->q[s->send_slot].rec);
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

/* The message for a record that could not be written to the program (the
 * end record if end). */
static int send_failure(sim_ext *s, int end)
{
    join_writer(s);
    pthread_mutex_lock(&s->lock);
    int e = s->send_errno;
    unsigned long long index = s->send_index, bytes = s->send_bytes;
    pthread_mutex_unlock(&s->lock);
    char why[512];
    int status;
    if (timed_out(s) || e == ETIMEDOUT) {
        terminate(s);
        snprintf(why, sizeof why, "no answer within %g s (killed): it stopped reading "
                 "its standard input (%llu bytes of the record written to it)",
                 s->timeout, bytes);
    } else if (e == EPIPE) {
        if (reap(s, 2.0, &status))
            describe_status(s, status, why, sizeof why);
        else
            snprintf(why, sizeof why, "it closed its standard input (%llu bytes of "
                     "the record written to it; killed)", bytes);
    } else {
        terminate(s);
        snprintf(why, sizeof why, "write failed: %s", strerror(e ? e : EIO));
    }
    if (end)
        return err_set(ERR_EXTERNAL, "simulator '%s': the end record could not be "
                       "sent: %s", s->cmd, why);
    return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: could not be sent: %s",
                   s->cmd, index, why);
}

/* ---- the protocol ------------------------------------------------------ */

int sim_ext_send(sim_ext *s, tz_record *rec, uint64_t first)
{
    if (s->q_n == SIM_INFLIGHT)
        return err_set(ERR_IO, "internal: %d records already in flight", SIM_INFLIGHT);
    /* One writer at a time keeps the records in order; the previous one
     * ends once the program has read that record. */
    arm(s, 1);
    int rc = join_writer(s);
    arm(s, 0);
    if (rc < 0 || timed_out(s))
        return send_failure(s, 0);
    int slot = (s->q_head + s->q_n) % SIM_INFLIGHT;
    sim_slot *q = &s->q[slot];
    char at[32], shape[TZ_RANK_MAX * 21 + 1] = "";
    snprintf(at, sizeof at, "%" PRIu64, first);
    const tz_tensor *x = tz_record_find(rec, s->field);
    for (int d = 1; x && d < x->rank; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%" PRIu64,
                 d > 1 ? "," : "", x->dims[d]);
    const char *val[SIM_NPROTO] = { s->seed, at, s->field, s->out, s->k, shape };
    for (int i = 0; i < SIM_NPROTO; i++) {
        const char *v = tz_record_attr(rec, g_proto[i]);
        q->own[i] = NULL;
        if (v && !(q->own[i] = strdup(v)))
            rc = err_set(ERR_IO, "out of memory");
    }
    for (int i = 0; rc == 0 && i < SIM_NPROTO; i++)
        rc = tz_record_set_attr(rec, g_proto[i], val[i]);
    if (rc < 0) {
        for (int i = 0; i < SIM_NPROTO; i++)
            free(q->own[i]), q->own[i] = NULL;
        return rc;
    }
    q->rec = *rec;                  /* the queue owns it now */
    tz_record_init(rec, TZ_BATCH);
    s->q_n++;
    pthread_mutex_lock(&s->lock);
    s->send_index = s->sent++;
    s->send_bytes = 0;
    pthread_mutex_unlock(&s->lock);
    /* Written from a thread while this one reads answers: a program may
     * answer before it has read all of a record, and pipes are small. */
    s->send_slot = slot;
    sigset_t mask;
    block_signals(&mask);
    int started = pthread_create(&s->writer, NULL, send_record, s) == 0;
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (!started)
        return err_set(ERR_IO, "cannot start a thread");
    s->writing = 1;
    return 0;
}

/* Check an answer to rec; 0 or ERR_*. */
static int check_answer(sim_ext *s, uint64_t index, const tz_record *rec,
                        const tz_record *ans)
{
    const tz_tensor *y = tz_record_find(ans, s->out);
    uint64_t n = tz_record_batch(rec);
    unsigned long long i = index;
    if (ans->kind != TZ_BATCH || tz_record_batch(ans) != n)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: answered %llu "
                       "rows for %llu", s->cmd, i,
                       (unsigned long long)tz_record_batch(ans), (unsigned long long)n);
    if (!y)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: the answer has "
                       "no field '%s'", s->cmd, i, s->out);
    if (y->dtype != TZ_F32)
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: field '%s' is "
                       "%s, not f32", s->cmd, i, s->out, tz_dtype_name(y->dtype));
    for (uint64_t k = 0; k < tz_tensor_count(y); k++)
        if (!isfinite(((const float *)y->data)[k]))
            return err_set(ERR_NUMERIC, "simulator '%s': record %llu: field '%s' "
                           "holds NaN or Inf at element %llu", s->cmd, i, s->out,
                           (unsigned long long)k);
    return 0;
}

/* Why there is no answer to record index: tz_read gave rc (0: the end of
 * the program's output after an end record, or an error). */
static int no_answer(sim_ext *s, uint64_t index, int rc)
{
    char msg[1024], why[512], text[64];
    snprintf(msg, sizeof msg, "%s", rc < 0 ? err_msg() : "");
    unsigned long long i = index;
    int status;
    if (timed_out(s)) {
        terminate(s);
        timeout_hint(s, "answer", why, sizeof why);
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer within "
                       "%g s (killed): %s", s->cmd, i, s->timeout, why);
    }
    /* A later record that could not be sent: if the program is gone, this
     * one, the earliest, has no answer; else it stopped reading. */
    int e = send_errno(s);
    if (e == EPIPE && reap(s, 2.0, &status)) {
        describe_status(s, status, why, sizeof why);
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer: %s",
                       s->cmd, i, why);
    }
    if (e)
        return send_failure(s, 0);
    if (rc < 0 && text_instead(s, msg, text, sizeof text)) {
        terminate(s);
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: it wrote text to "
                       "its standard output (\"%s\") where an answer was due: its "
                       "standard output is for the tensor stream alone (write messages "
                       "to standard error)", s->cmd, i, text);
    }
    if (rc == 0 || ended_early(msg)) {
        if (reap(s, 2.0, &status))
            describe_status(s, status, why, sizeof why);
        else
            snprintf(why, sizeof why, "it closed its standard output (killed)");
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer: %s",
                       s->cmd, i, why);
    }
    /* A program that failed usually leaves a damaged answer: its exit says
     * more than the bytes do.  Else the reader's message, which already
     * names the program and counts its records. */
    if (reap(s, 1.0, &status) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        describe_status(s, status, why, sizeof why);
        return err_set(ERR_EXTERNAL, "simulator '%s': record %llu: no answer: %s",
                       s->cmd, i, why);
    }
    terminate(s);
    return err_set(ERR_EXTERNAL, "%s", msg);
}

int sim_ext_receive(sim_ext *s, tz_record *out)
{
    tz_record_init(out, TZ_BATCH);
    if (s->q_n == 0)
        return err_set(ERR_IO, "internal: no record in flight");
    uint64_t index = s->received++;
    sim_slot *q = &s->q[s->q_head];
    tz_record ans;
    tz_record_init(&ans, TZ_BATCH);
    arm(s, 1);
    int rc = tz_read(s->r, &ans);
    arm(s, 0);
    if (rc == 1) {
        pthread_mutex_lock(&s->lock);
        s->bytes_answered = s->bytes_in;
        pthread_mutex_unlock(&s->lock);
        rc = check_answer(s, index, &q->rec, &ans);
    } else {
        rc = no_answer(s, index, rc);
    }
    /* The record may still be being written if it is the only one out. */
    if (rc == 0 && s->q_n == 1) {
        arm(s, 1);
        int w = join_writer(s);
        arm(s, 0);
        if (w < 0 && send_errno(s) == ETIMEDOUT) {
            terminate(s);
            rc = err_set(ERR_EXTERNAL, "simulator '%s': record %llu: answered before "
                         "reading all of it, and read no more of it for %g s (killed)",
                         s->cmd, (unsigned long long)index, s->timeout);
        } else if (w < 0) {
            rc = err_set(ERR_EXTERNAL, "simulator '%s': record %llu: answered before "
                         "reading all of it", s->cmd, (unsigned long long)index);
        }
    }
    if (rc == 0) {
        *out = q->rec;              /* moved out of the queue */
        tz_record_init(&q->rec, TZ_BATCH);
        /* the protocol attributes are not data: the record's own back */
        for (int i = 0; i < SIM_NPROTO; i++) {
            if (q->own[i]) {
                if (rc == 0)
                    rc = tz_record_set_attr(out, g_proto[i], q->own[i]);
                free(q->own[i]);
                q->own[i] = NULL;
            } else {
                tz_record_remove_attr(out, g_proto[i]);
            }
        }
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

/* Stop the threads, close the pipes and free s; the program must be gone. */
static void release(sim_ext *s)
{
    if (s->stop_w >= 0)
        close(s->stop_w);       /* wakes the writer and the relay */
    s->stop_w = -1;
    join_writer(s);
    tz_writer_abort(s->w);
    if (s->to)
        fclose(s->to);
    else if (s->to_fd >= 0)
        close(s->to_fd);
    tz_reader_close(s->r);
    if (s->from)
        fclose(s->from);        /* a relay blocked on a full pipe sees EPIPE */
    else if (s->relay_r >= 0)
        close(s->relay_r);
    if (s->relaying)
        pthread_join(s->relay, NULL);
    else if (s->relay_w >= 0)
        close(s->relay_w);
    if (s->from_fd >= 0)
        close(s->from_fd);
    if (s->stop_r >= 0)
        close(s->stop_r);
    for (int i = 0; i < s->q_n; i++) {
        sim_slot *q = &s->q[(s->q_head + i) % SIM_INFLIGHT];
        tz_record_free(&q->rec);
        for (int j = 0; j < SIM_NPROTO; j++)
            free(q->own[j]);
    }
    for (int j = 0; j < SIM_NENV; j++)
        free(s->env[j]);
    if (g_pgid == s->pgid)
        g_pgid = 0;
    unhook_signals();
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int sim_ext_finish(sim_ext *s)
{
    int rc = 0;
    arm(s, 1);
    if (join_writer(s) < 0 || timed_out(s))
        rc = send_failure(s, 0);
    else if (s->q_n)
        rc = err_set(ERR_IO, "internal: %d records not received", s->q_n);
    if (rc < 0) {
        arm(s, 0);
        terminate(s);
        release(s);
        return rc;
    }
    /* The end record, and the end of the program's input.  A program need
     * not read the end record: a broken pipe here is no fault. */
    pthread_mutex_lock(&s->lock);
    s->ending = 1;
    pthread_mutex_unlock(&s->lock);
    int wrc = tz_writer_close(s->w);
    s->w = NULL;
    fclose(s->to);
    s->to = NULL;
    int unsent = 0, got = 0;
    pthread_mutex_lock(&s->lock);
    if (wrc < 0 && s->send_errno != EPIPE)
        unsent = 1;
    else
        s->send_errno = 0;
    pthread_mutex_unlock(&s->lock);
    tz_record extra;
    tz_record_init(&extra, TZ_BATCH);
    if (!unsent)
        got = tz_read(s->r, &extra);
    arm(s, 0);
    tz_record_free(&extra);
    char msg[1024], why[512], text[64];
    snprintf(msg, sizeof msg, "%s", got < 0 ? err_msg() : "");
    int status = 0;
    unsigned long long answers = s->received;
    if (unsent) {
        rc = send_failure(s, 1);
    } else if (timed_out(s)) {
        int exited = s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid;
        if (exited)
            s->pid = 0;
        terminate(s);
        if (exited)
            snprintf(why, sizeof why, "it exited, but a process it started still "
                     "holds its standard output");
        else
            timeout_hint(s, "end record", why, sizeof why);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': its output did not end within "
                     "%g s after its input did (killed): %s", s->cmd, s->timeout, why);
    } else if (got == 1) {
        terminate(s);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': wrote more records than it "
                     "was sent (%llu)", s->cmd, (unsigned long long)s->sent);
    } else if (got < 0 && text_instead(s, msg, text, sizeof text)) {
        terminate(s);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': after its last answer: it wrote "
                     "text to its standard output (\"%s\"): its standard output is "
                     "for the tensor stream alone (write messages to standard error)",
                     s->cmd, text);
    } else if (got < 0) {
        /* A program that failed says more by its exit than by its output. */
        if (reap(s, s->timeout > 0 ? s->timeout : 3600, &status) &&
            !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            describe_status(s, status, why, sizeof why);
            rc = err_set(ERR_EXTERNAL, "simulator '%s': at the end: %s", s->cmd, why);
        } else if (strstr(msg, "no end record after the last record") ||
                   strstr(msg, "empty input")) {
            if (answers)
                rc = err_set(ERR_EXTERNAL, "simulator '%s': no end record: its output "
                             "ended after its %llu answers without one (a simulator "
                             "must end its output with an end record counting its "
                             "records; see simulate(1))", s->cmd, answers);
            else
                rc = err_set(ERR_EXTERNAL, "simulator '%s': no end record: it wrote "
                             "nothing (a simulator must end its output with an end "
                             "record, even when it was sent no record; see "
                             "simulate(1))", s->cmd);
        } else {
            rc = err_set(ERR_EXTERNAL, "%s", msg);
        }
    } else if (!reap(s, s->timeout > 0 ? s->timeout : 3600, &status)) {
        rc = err_set(ERR_EXTERNAL, "simulator '%s' did not exit after its input "
                     "ended (killed)", s->cmd);
    } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        describe_status(s, status, why, sizeof why);
        rc = err_set(ERR_EXTERNAL, "simulator '%s': at the end: %s", s->cmd, why);
    }
    /* Whatever it started and left running goes with it. */
    terminate(s);
    release(s);
    return rc;
}

void sim_ext_kill(sim_ext *s)
{
    if (!s)
        return;
    terminate(s);
    release(s);
}
