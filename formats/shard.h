/* shard.h - one of N shards of a tensor stream, so that N processes (on
 * as many machines) can share the work of a tool that maps records to
 * records (pushback --shard, simulate --shard), and the concatenation of
 * their outputs in shard order (tzcat) is the output of one process, byte
 * for byte.
 *
 * Shard i of N is the data records [R i / N, R (i+1) / N) of the input's
 * R, batch and plain alike, in stream order: contiguous, so that the
 * concatenation keeps the order, and as even as whole records allow (a
 * stream of one record gives all the work to one shard: re-batch it first,
 * tzcat -n).  A tool keys its random draws by the stream index of each
 * sample (rng.h), so the shard needs the rows of the records before it:
 * shard_open reads past them.  Counting R reads the input once before
 * that, so the input must be files, not standard input. */
#ifndef SHARD_H
#define SHARD_H

#include <stdint.h>

#include "formats/tz.h"

enum { SHARD_MAX = 65536 };

typedef struct {
    uint64_t index, count;      /* shard index of count; count 0: no shards */
} shard_spec;

/* s from "I/N", 0 <= I < N <= SHARD_MAX.  0, or ERR_USAGE naming the text. */
int shard_parse(const char *text, shard_spec *s);

/* Shard s's records [*first, *end) of `records` (all of them if s->count
 * is 0). */
void shard_range(const shard_spec *s, uint64_t records, uint64_t *first, uint64_t *end);

/* Open the files paths[0..n) (n 0 or "-": standard input) as
 * tz_reader_open_list does, and with s->count > 0 for shard s alone: their
 * data records counted, the files opened again, the records before the
 * shard read past, their batch rows added up into *rows, and the reader
 * limited to the shard's records (tz_reader_limit).  *rows is 0 without
 * shards.  The reader, or NULL with err set: ERR_USAGE for standard input
 * with shards, or the reader's ERR_DATA / ERR_IO naming file and record. */
tz_reader *shard_open(char *const *paths, int n, const shard_spec *s, uint64_t *rows);

#endif
