/* cli.h - what every tool's command line and console have in common.
 *
 * A tool describes its own options in a cli_opt table; cli_parse adds the
 * common ones (--help, --version, --quiet, and on request --seed,
 * --threads, --output, --level), checks types and ranges, prints --help
 * from the table, and leaves the operands in order.  Errors go to stderr
 * as "prog: message"; the exit statuses are err.h's table. */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define SCSI_VERSION "0.1.0"

typedef enum { CLI_FLAG, CLI_INT, CLI_U64, CLI_DOUBLE, CLI_STR, CLI_LIST } cli_type;

typedef struct {
    const char *name;       /* long name, without "--" */
    char short_name;        /* 0 for none */
    cli_type type;
    void *dest;             /* int*, int*, uint64_t*, double*, const char**,
                             * or for CLI_LIST a cli_list* (repeatable) */
    const char *metavar;    /* shown in --help; NULL for flags */
    const char *help;       /* one line; say the default */
    double min, max;        /* accepted range of numbers, if min < max */
} cli_opt;

/* Values of a repeatable option, in command-line order. */
typedef struct {
    int n;
    const char *v[64];
} cli_list;

enum {
    CLI_SEED = 1 << 0,      /* --seed N */
    CLI_THREADS = 1 << 1,   /* --threads N */
    CLI_OUTPUT = 1 << 2,    /* -o, --output FILE (default "-") */
    CLI_LEVEL = 1 << 3      /* -L, --level N (zstd level; 0 raw) */
};

typedef struct {
    const char *name;       /* program name */
    const char *synopsis;   /* after the name on the usage line */
    const char *summary;    /* one sentence */
    const cli_opt *opts;    /* ends with an entry whose name is NULL */
    unsigned common;        /* CLI_* flags above */
    const char *details;    /* optional text after the options, or NULL */
} cli_spec;

/* The common options' values after cli_parse. */
typedef struct {
    int quiet;
    uint64_t seed;          /* default 0 */
    int threads;            /* default: online CPUs */
    const char *output;     /* default "-" */
    int level;              /* default TZ_LEVEL_DEFAULT */
} cli_common;

extern cli_common cli;

/* Parse argv.  Handles --help and --version (exit 0) and every error (exit
 * 1).  The operands are argv[*first .. argc), in order.  Also installs the
 * signal handlers that remove temporary outputs (out_signals_init), and
 * checks at exit that standard output was written in full: if not, the
 * tool says "prog: standard output: write failed: REASON" and exits 3. */
void cli_parse(const cli_spec *spec, int argc, char **argv, int *first);

/* Print "prog: message" and exit with status, removing temporaries. */
_Noreturn void cli_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Die with the stored library message; code is an ERR_* value. */
_Noreturn void cli_die_err(int code);
/* Die with the stored library message and the code stored with it: for a
 * library call that failed, whatever the reason. */
_Noreturn void cli_die_last(void);
/* "prog: message" on stderr; the run goes on. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational "prog: message" on stderr, unless --quiet. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The program name from the spec. */
const char *cli_prog(void);

/* A progress meter on stderr, drawn only when stderr is a terminal (or
 * SCSI_FAKE_TTY is set, for tests) and --quiet is off; at most five
 * redraws a second; erased by cli_progress_end. */
typedef struct {
    const char *label;
    uint64_t total;         /* 0 if unknown */
    double start, last;
    int on;
} cli_progress;

void cli_progress_start(cli_progress *p, const char *label, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_end(cli_progress *p, uint64_t done);

/* A training log (si-train and classify --log): TSV lines, each flushed
 * as it is written, so that a run that fails keeps what it logged.  A
 * line that does not get to the file (a full disk, --log /dev/full) stops
 * the run with status 3: a log with lines missing would mislead. */
typedef struct {
    FILE *f;                /* NULL: no log */
    const char *path;
} cli_log;

/* Create the log at path with its header line (path NULL: no log, and
 * the other calls do nothing).  Dies with status 3 if it cannot. */
void cli_log_open(cli_log *l, const char *path, const char *header);
/* One line, printf-style, without its newline. */
void cli_log_line(cli_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_log_close(cli_log *l);

/* Seconds on a monotonic clock. */
double cli_now(void);

#endif
