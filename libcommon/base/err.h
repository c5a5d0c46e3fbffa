/* err.h - error codes and the message of the last failure.
 *
 * Library code never prints and never exits: a failing function stores a
 * message with err_set() and returns a negative err code (or NULL).  Tools
 * turn that into "prog: message" and an exit status with cli_die_err().
 *
 * The exit-status table below is the one every tool uses and every man page
 * repeats; do not renumber it. */
#ifndef ERR_H
#define ERR_H

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,     /* bad command line */
    EXIT_DATA = 2,      /* malformed or inconsistent input data */
    EXIT_IO = 3,        /* cannot open, read or write a file; out of memory */
    EXIT_NUMERIC = 4,   /* NaN, Inf or divergence where a number was needed */
    EXIT_EXTERNAL = 5,  /* an external program failed */
    EXIT_SIGNAL = 128   /* + signal number: interrupted, temporaries removed */
};

/* Library return codes: the negated exit status, so a caller can pass it
 * straight to cli_die_err(). */
enum {
    ERR_USAGE = -EXIT_USAGE,
    ERR_DATA = -EXIT_DATA,
    ERR_IO = -EXIT_IO,
    ERR_NUMERIC = -EXIT_NUMERIC,
    ERR_EXTERNAL = -EXIT_EXTERNAL
};

/* Store the message of the current failure (printf format) and return code,
 * so "return err_set(ERR_DATA, ...)" reads as one step.  An argument may be
 * err_msg() itself (the message is formatted aside, then stored), though
 * err_prefix says "add context" more plainly. */
int err_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Put "prefix: " in front of the stored message (for adding file and record
 * context as an error travels up). Returns code. */
int err_prefix(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The code passed with the stored message (ERR_IO if none was stored). */
int err_code(void);

/* The stored message; never NULL. Borrowed: valid until the next err_ call. */
const char *err_msg(void);

/* The text of the exit-status table, one "  N  meaning" line per status,
 * as --help prints it. Static storage. */
const char *err_exit_table(void);

#endif
