/* out.h - outputs that appear whole or not at all.
 *
 * A file output is written to "PATH.tmp.PID" beside PATH and renamed over
 * PATH by out_commit().  Until then it is on a list that out_abort_all()
 * (called by cli_die and by the SIGINT/SIGTERM/SIGHUP handler that
 * out_open installs) unlinks, so an interrupted or failed run leaves no
 * half file.  Standard output, devices and FIFOs cannot be retracted; the tensor stream's end
 * record makes its truncation detectable instead. */
#ifndef OUT_H
#define OUT_H

#include <stdio.h>

typedef struct out_file out_file;

/* Open path ("-" or NULL: standard output).  NULL on failure (err set). */
out_file *out_open(const char *path);
/* The stream to write to.  Borrowed. */
FILE *out_stream(out_file *o);
/* 1 if the output is written in place, not through a temporary: standard
 * output, or a path that exists and is not a regular file (a device such
 * as /dev/null, a FIFO). */
int out_in_place(const out_file *o);
/* Flush, close and publish.  Frees o.  0 or ERR_IO (temporary removed). */
int out_commit(out_file *o);
/* Close and remove the temporary.  Frees o.  Standard output is flushed. */
void out_abort(out_file *o);
/* Remove every temporary not yet committed.  Async-signal-safe. */
void out_abort_all(void);

#endif
