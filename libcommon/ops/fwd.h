/* fwd.h - the built-in forward operators (simulated instruments).
 *
 * A spec is a chain of operators applied in order, written
 * "op:key=value:key=value,op:...", for example
 *   "blur:sigma=1,awgn:sigma=0.1,jpeg:q=10-50".
 * Noise levels are in units of the [0, 1] pixel range.  Operators that
 * draw a parameter per sample (a mask, an angle, a JPEG quality) return it
 * as a side-information field, named after the operator's table entry.
 *
 * Randomness is keyed by (seed, operator position, resample, sample index)
 * through rng.h: a sample's corruption does not depend on the batching or
 * the thread count. */
#ifndef FWD_H
#define FWD_H

#include <stdint.h>

#include "formats/tz.h"
#include "ops/lin.h"

#define FWD_OPS_MAX 16

typedef struct {
    int kind;
    double p[4];            /* parameters, in the kind's key order */
} fwd_op;

typedef struct {
    int nops;
    fwd_op op[FWD_OPS_MAX];
} fwd_spec;

/* Parse text into spec.  0, or ERR_USAGE with a message naming the
 * operator or key at fault. */
int fwd_parse(const char *text, fwd_spec *spec);

/* "Operators (defaults shown):" and then each operator's name, keys
 * with defaults, side field and purpose; for --help.  Static storage. */
const char *fwd_help(void);

/* Apply spec to the samples of x (rank 1 to 4, any dtype; converted to f32):
 * adds to out a field named yname with x's shape, and the side fields.
 * first is the global index of x's first sample; resample numbers an
 * independent re-corruption of the same samples.  0 or ERR_*. */
int fwd_apply(const fwd_spec *spec, const tz_tensor *x, uint64_t first,
              uint32_t resample, uint64_t seed, int threads, tz_record *out,
              const char *yname);

/* The side fields spec adds, as a comma-separated list ("" if none), for
 * messages and manuals.  Static storage, overwritten by the next call. */
const char *fwd_side_fields(const fwd_spec *spec);

/* The linear part of spec (lin.h), for guidance and the classical
 * deconvolutions: mask, blur, motion, down, smooth and tilt as the chain's
 * steps, their noise and awgn's summed as the noise variance at the
 * output, snr's noise as lc->snr.  0, or ERR_USAGE naming the operator
 * that is not linear (jpeg, poisson, ...), or noise that a later step
 * would colour. */
int fwd_linear(const fwd_spec *spec, lin_chain *lc);

#endif
