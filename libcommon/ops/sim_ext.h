/* sim_ext.h - an external simulator program over records: what
 * simulate(1) --exec runs.  Like the built-ins (sim.h), it takes records
 * holding a candidate clean field and gives back each with K rows per
 * candidate, plus the simulated observation field and any side fields.
 *
 * The protocol (simulate(1)): the program is started once with
 * /bin/sh -c (as "exec COMMAND" when COMMAND is one simple command, so
 * that its exit status is its own) and kept for the whole stream, with
 * SCSI_SIM_FIELD, SCSI_SIM_OUT_FIELD, SCSI_SIM_RESAMPLES and SCSI_SIM_SEED
 * in its environment.  It reads raw tensor-stream records on standard
 * input, each with the attributes seed, first, field, out_field,
 * resamples and shape, and must write, for each, one batch record with the
 * same number of rows holding the observation field (f32, finite) and,
 * optionally, side fields; fields it echoes back under names that were
 * sent are ignored.  After the last record it reads the end record, must
 * write its own, and exit 0.
 *
 * The program runs in a process group of its own, with this process as its
 * subreaper: on a fault, a timeout or a terminating signal (SIGHUP, SIGINT,
 * SIGQUIT, SIGTERM, SIGPIPE, ...) the group and every descendant that left
 * it are sent SIGTERM, then SIGKILL.  One program at a time per process,
 * started and ended from the main thread. */
#ifndef SIM_EXT_H
#define SIM_EXT_H

#include <stdint.h>

#include "formats/tz.h"

typedef struct sim_ext sim_ext;

typedef struct {
    const char *field;      /* the candidate field, as sent (--field) */
    const char *out;        /* the observation field to answer (--out-field) */
    uint32_t resamples;     /* K: rows per candidate, as sent */
    uint64_t seed;          /* sent for the program to key its draws */
    double timeout;         /* seconds to wait for each answer (0: forever) */
} sim_ext_opts;

/* Start cmd.  NULL on failure (err set). */
sim_ext *sim_ext_start(const char *cmd, const sim_ext_opts *opts);
/* Send rec, whose rows are output rows first, first + 1, ..., to the
 * program, with the protocol attributes set.  *rec is moved into s and left
 * empty.  At most two records may be out before sim_ext_receive takes the
 * oldest back; sending the next before receiving lets the program work
 * while the caller writes.  0 or ERR_*. */
int sim_ext_send(sim_ext *s, tz_record *rec, uint64_t first);
/* Read the answer to the oldest record out and merge them: out
 * (initialised here) = that record, with its own attributes (not the
 * protocol's), plus the answer's new fields.  The observation must come
 * back as f32 with the record's batch size, finite.  0, ERR_EXTERNAL (the
 * program failed, answered late or wrongly) or ERR_NUMERIC (NaN or Inf);
 * the message names the program and record. */
int sim_ext_receive(sim_ext *s, tz_record *out);
/* Close the program's input, check that it ends its stream and exits 0,
 * end whatever it left running, and free s.  0 or ERR_EXTERNAL. */
int sim_ext_finish(sim_ext *s);
/* End the program and all it started, and free s (on an error path).
 * NULL-safe. */
void sim_ext_kill(sim_ext *s);

#endif
