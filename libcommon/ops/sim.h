/* sim.h - running a forward simulator over records: the built-in
 * operators (fwd.h) or an external program speaking the tensor stream.
 *
 * Both take a record holding a candidate clean field and give back the
 * record with K rows per candidate (candidate-major: row i*K + k is
 * candidate i's k-th re-corruption), every field repeated, plus the
 * simulated observation field and any side information.
 *
 * The external program: sim_ext.h. */
#ifndef SIM_H
#define SIM_H

#include <stdint.h>

#include "ops/fwd.h"
#include "formats/tz.h"

/* dst = src with every row of every tensor repeated k times in a row.
 * dst is initialised here and owns its data; attributes are copied.
 * 0 or ERR_*. */
int sim_repeat(const tz_record *src, uint64_t k, tz_record *dst);

/* Built-in simulation: out (initialised here) = rec repeated K times,
 * plus yname and the side fields, computed from field with rng keys
 * (seed, resample k, sample first + i).  0 or ERR_*. */
int sim_builtin(const fwd_spec *spec, const tz_record *rec, const char *field,
                const char *yname, uint64_t first, uint32_t k, uint64_t seed,
                int threads, tz_record *out);

#endif
