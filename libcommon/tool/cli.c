/* cli.c - common command line and console; see cli.h. */
#include <errno.h>
#include <malloc.h>      /* mallopt */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool/cli.h"
#include "tool/blas.h"
#include "base/out.h"
#include "formats/tz.h"

cli_common cli = { 0, 0, 0, "-", TZ_LEVEL_DEFAULT };
static const char *g_prog = "scsi";

const char *cli_prog(void)
{
    return g_prog;
}

static void vreport(const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "%s: %s\n", g_prog, buf);
}

_Noreturn void cli_die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    out_abort_all();
    /* _exit, not exit: a dying tool runs no exit handlers (the leak
     * checker's among them: what a failed run still holds is not a leak). */
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

_Noreturn void cli_die_err(int code)
{
    cli_die(code < 0 ? -code : EXIT_IO, "%s", err_msg());
}

_Noreturn void cli_die_last(void)
{
    cli_die_err(err_code());
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
}

void cli_info(const char *fmt, ...)
{
    if (cli.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
}

/* ---- parsing --------------------------------------------------------- */

static const cli_opt g_common[] = {
    { "seed", 0, CLI_U64, &cli.seed, "N",
      "seed of every random draw (default 0)", 0, 0 },
    { "threads", 0, CLI_INT, &cli.threads, "N",
      "worker threads (default: all cores)", 1, 1024 },
    { "output", 'o', CLI_STR, &cli.output, "FILE",
      "write to FILE, whole or not at all (default -: standard output)", 0, 0 },
    { "level", 'L', CLI_INT, &cli.level, "N",
      "zstd level of written records, 0 for raw (default 1)", -7, 22 },
    { "quiet", 'q', CLI_FLAG, &cli.quiet, NULL,
      "no progress meter and no informational messages", 0, 0 },
    { "help", 'h', CLI_FLAG, NULL, NULL, "show this help and exit", 0, 0 },
    { "version", 'V', CLI_FLAG, NULL, NULL, "show the version and exit", 0, 0 },
};
enum { COMMON_SEED, COMMON_THREADS, COMMON_OUTPUT, COMMON_LEVEL };

static int common_enabled(const cli_spec *s, int i)
{
    switch (i) {
    case COMMON_SEED: return !!(s->common & CLI_SEED);
    case COMMON_THREADS: return !!(s->common & CLI_THREADS);
    case COMMON_OUTPUT: return !!(s->common & CLI_OUTPUT);
    case COMMON_LEVEL: return !!(s->common & CLI_LEVEL);
    default: return 1;
    }
}

static void print_opt(const cli_opt *o)
{
    char left[80];
    int n = 0;
    if (o->short_name)
        n = snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->name);
    else
        n = snprintf(left, sizeof left, "      --%s", o->name);
    if (o->metavar)
        snprintf(left + n, sizeof left - (size_t)n, " %s", o->metavar);
    if (strlen(left) < 26)
        printf("%-26s%s\n", left, o->help);
    else
        printf("%s\n%26s%s\n", left, "", o->help);
}

static void print_help(const cli_spec *s)
{
    printf("Usage: %s %s\n%s\n\nOptions:\n", s->name, s->synopsis, s->summary);
    for (const cli_opt *o = s->opts; o && o->name; o++)
        print_opt(o);
    printf("\nCommon options:\n");
    for (size_t i = 0; i < sizeof g_common / sizeof *g_common; i++)
        if (common_enabled(s, (int)i))
            print_opt(&g_common[i]);
    if (s->details)
        printf("\n%s", s->details);
    printf("\nExit status:\n%s\nSee %s(1) for the full manual.\n",
           err_exit_table(), s->name);
}

static void usage_error(const cli_spec *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", g_prog,
            buf, s->name);
    exit(EXIT_USAGE);
}

static void set_value(const cli_spec *s, const cli_opt *o, const char *arg)
{
    char *end;
    double x = 0;
    errno = 0;
    switch (o->type) {
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return;
    case CLI_STR:
        *(const char **)o->dest = arg;
        return;
    case CLI_LIST: {
        cli_list *l = o->dest;
        if (l->n >= (int)(sizeof l->v / sizeof *l->v))
            usage_error(s, "--%s given too many times", o->name);
        l->v[l->n++] = arg;
        return;
    }
    case CLI_INT:
    case CLI_U64: {
        if (o->type == CLI_U64 && arg[0] == '-')
            usage_error(s, "--%s needs a non-negative integer; got '%s'", o->name, arg);
        unsigned long long u = 0;
        long long v = 0;
        if (o->type == CLI_U64)
            u = strtoull(arg, &end, 0);
        else
            v = strtoll(arg, &end, 0);
        if (end == arg || *end || errno)
            usage_error(s, "--%s needs an integer; got '%s'", o->name, arg);
        x = o->type == CLI_U64 ? (double)u : (double)v;
        if (o->type == CLI_INT && (v < -2147483647LL || v > 2147483647LL))
            usage_error(s, "--%s is out of range; got '%s'", o->name, arg);
        if (o->min < o->max && (x < o->min || x > o->max))
            usage_error(s, "--%s must be between %g and %g; got %s", o->name,
                        o->min, o->max, arg);
        if (o->type == CLI_U64)
            *(uint64_t *)o->dest = u;
        else
            *(int *)o->dest = (int)v;
        return;
    }
    case CLI_DOUBLE:
        x = strtod(arg, &end);
        if (end == arg || *end || errno || !isfinite(x))
            usage_error(s, "--%s needs a finite number; got '%s'", o->name, arg);
        if (o->min < o->max && (x < o->min || x > o->max))
            usage_error(s, "--%s must be between %g and %g; got %s", o->name,
                        o->min, o->max, arg);
        *(double *)o->dest = x;
        return;
    }
}

/* The option matching a long name or short letter, among the tool's and
 * the enabled common ones. */
static const cli_opt *find_opt(const cli_spec *s, const char *name, size_t len,
                               char letter)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t n = pass ? sizeof g_common / sizeof *g_common : SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            const cli_opt *o = pass ? &g_common[i] : &s->opts[i];
            if (!pass && (!s->opts || !o->name))
                break;
            if (pass && !common_enabled(s, (int)i))
                continue;
            if (letter ? o->short_name == letter
                       : strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
        }
    }
    return NULL;
}

/* At exit: whatever went to standard output must have got there (a full
 * disk, a closed pipe with SIGPIPE ignored), else the run failed. */
static void close_stdout_at_exit(void)
{
    if (out_close_stdout() < 0) {
        fprintf(stderr, "%s: %s\n", g_prog, err_msg());
        out_abort_all();
        _exit(EXIT_IO);
    }
}

void cli_parse(const cli_spec *s, int argc, char **argv, int *first)
{
    g_prog = s->name;
    /* OpenBLAS fell back to kernels below this CPU's: load it again with
     * the right ones (blas.h).  Nothing has been read or written yet. */
    blas_refit(argv);
    /* Before anything is written: a signal removes the temporaries and a
     * write error at exit is an error. */
    out_signals_init();
    atexit(close_stdout_at_exit);
    /* Tools allocate and free records of the same few sizes once per
     * record; by default glibc hands each large block back to the kernel
     * and faults it in again, which cost more than the work on small
     * images.  Keep freed blocks for reuse instead. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cli.threads = ncpu > 0 ? (int)ncpu : 1;
    /* Static, so it stays reachable if --help or an error exits early. */
    static char **operands;
    operands = malloc(sizeof *operands * (size_t)(argc + 1));
    int nop = 0, only_operands = 0;
    if (!operands)
        cli_die(EXIT_IO, "out of memory");
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_operands || a[0] != '-' || a[1] == 0) {
            operands[nop++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_operands = 1;
            continue;
        }
        const cli_opt *o;
        const char *arg = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_opt(s, a + 2, len, 0);
            if (!o)
                usage_error(s, "unknown option '%.*s'", (int)len + 2, a);
            if (eq) {
                if (o->type == CLI_FLAG)
                    usage_error(s, "--%s takes no value", o->name);
                arg = eq + 1;
            }
        } else {
            o = find_opt(s, NULL, 0, a[1]);
            if (!o)
                usage_error(s, "unknown option '-%c'", a[1]);
            if (a[2]) {
                if (o->type == CLI_FLAG)
                    usage_error(s, "-%c takes no value (flags cannot be "
                                "grouped)", a[1]);
                arg = a + 2;
            }
        }
        if (strcmp(o->name, "help") == 0) {
            print_help(s);
            exit(EXIT_OK);
        }
        if (strcmp(o->name, "version") == 0) {
            printf("%s (scsi toolkit) %s\n%s; kernels %s\n", s->name, SCSI_VERSION,
                   blas_config(), blas_core());
            exit(EXIT_OK);
        }
        if (o->type != CLI_FLAG && !arg) {
            if (i + 1 >= argc)
                usage_error(s, "--%s needs a value (%s)", o->name, o->metavar);
            arg = argv[++i];
        }
        set_value(s, o, arg);
    }
    /* Move the operands to the end of argv, in order. */
    for (int i = 0; i < nop; i++)
        argv[argc - nop + i] = operands[i];
    free(operands);
    operands = NULL;
    *first = argc - nop;
}

/* ---- training logs --------------------------------------------------- */

static _Noreturn void log_failed(const cli_log *l)
{
    cli_die(EXIT_IO, "%s: write failed: %s", l->path, strerror(errno));
}

void cli_log_open(cli_log *l, const char *path, const char *header)
{
    l->f = NULL;
    l->path = path;
    if (!path)
        return;
    if (!(l->f = fopen(path, "w")))
        cli_die(EXIT_IO, "%s: cannot create: %s", path, strerror(errno));
    if (fprintf(l->f, "%s\n", header) < 0 || fflush(l->f) != 0)
        log_failed(l);
}

void cli_log_line(cli_log *l, const char *fmt, ...)
{
    if (!l->f)
        return;
    va_list ap;
    va_start(ap, fmt);
    int rc = vfprintf(l->f, fmt, ap);
    va_end(ap);
    if (rc < 0 || fputc('\n', l->f) == EOF || fflush(l->f) != 0)
        log_failed(l);
}

void cli_log_close(cli_log *l)
{
    if (l->f && fclose(l->f) != 0)
        log_failed(l);
    l->f = NULL;
}

/* ---- progress -------------------------------------------------------- */

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total;
    p->start = cli_now();
    p->last = 0; /* draw on the first update */
    p->on = !cli.quiet && (isatty(STDERR_FILENO) || getenv("SCSI_FAKE_TTY"));
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    if (!p->on)
        return;
    double now = cli_now();
    if (now - p->last < 0.2)
        return;
    p->last = now;
    double rate = (double)done / (now - p->start + 1e-9);
    if (p->total)
        fprintf(stderr, "\r%s: %llu/%llu (%.0f%%) %.0f/s ", p->label,
                (unsigned long long)done, (unsigned long long)p->total,
                100.0 * (double)done / (double)p->total, rate);
    else
        fprintf(stderr, "\r%s: %llu %.0f/s ", p->label,
                (unsigned long long)done, rate);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p, uint64_t done)
{
    if (!p->on)
        return;
    (void)done;
    fprintf(stderr, "\r%-70s\r", "");
    fflush(stderr);
}
