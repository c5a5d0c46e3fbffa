/* out.h - outputs that appear whole or not at all.
 *
 * A file output is written to "PATH.tmp.PID" beside PATH and renamed over
 * PATH by out_commit().  Until then it is on a list that out_abort_all()
 * unlinks: cli_die calls it, and so does the handler out_signals_init
 * installs for every signal whose default action ends the process, so an
 * interrupted or failed run leaves no half file and dies of the signal
 * (status 128+N).  What no handler sees leaves its temporary behind:
 * SIGKILL, and a stack overflow (its SIGSEGV has no stack to run on).
 * Standard output, devices and FIFOs cannot be retracted; the tensor
 * stream's end record makes its truncation detectable instead.
 *
 * Messages name the output: its path, or "standard output". */
#ifndef OUT_H
#define OUT_H

#include <stdio.h>

typedef struct out_file out_file;

/* Install the signal handlers (once; cli_parse and out_open call it).
 * Every signal that would end the process and is at its default action
 * gets a handler that removes the temporaries, then dies of the signal as
 * before (status 128+N; a core where the default makes one).  A signal the
 * process was started with ignored (nohup, "cmd &") stays ignored, and one
 * already handled (a sanitizer's) is left alone.  SIGXFSZ is caught and
 * does nothing: a write beyond the file-size limit (ulimit -f) then fails
 * with EFBIG and takes the ordinary error path, status 3, with a message.
 * Handlers revert to the default at exec, so a child program is not
 * affected. */
void out_signals_init(void);

/* Open path ("-" or NULL: standard output).  NULL on failure (err set). */
out_file *out_open(const char *path);
/* The stream to write to.  Borrowed. */
FILE *out_stream(out_file *o);
/* The output's name for messages: the path, or "standard output". */
const char *out_name(const out_file *o);
/* 1 if the output is written in place, not through a temporary: standard
 * output, or a path that exists and is not a regular file (a device such
 * as /dev/null, a FIFO). */
int out_in_place(const out_file *o);
/* Flush, close and publish.  Frees o.  0 or ERR_IO ("NAME: write failed:
 * REASON"; temporary removed).  Any earlier failed write to the stream
 * counts: its error flag is checked. */
int out_commit(out_file *o);
/* Close and remove the temporary.  Frees o.  Standard output is flushed. */
void out_abort(out_file *o);
/* A write to o failed with errno e: store "NAME: write failed: REASON",
 * out_abort(o), and return ERR_IO. */
int out_fail(out_file *o, int e);
/* Remove every temporary not yet committed.  Async-signal-safe. */
void out_abort_all(void);

/* Flush and close standard output and check that everything written to it
 * got out.  0, or ERR_IO with "standard output: write failed: REASON".
 * cli_parse registers it to run at exit (a failure then exits with 3). */
int out_close_stdout(void);

#endif
