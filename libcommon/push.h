/* push.h - one record's observations through a model's transport: the
 * step pushback(1) and restore(1) share.
 *
 * The observation field m->x1 and the model's side fields are read from
 * the record; the transport's result (same shape as x1) goes to a buffer
 * of the caller's. */
#ifndef PUSH_H
#define PUSH_H

#include <stdint.h>

#include "model.h"
#include "tz.h"

typedef struct {
    int sde;            /* integrate the SDE */
    int method;         /* SI_EULER or SI_HEUN */
    int steps;
    uint64_t seed;
} push_opts;

/* Load the model at path for transport and fill o but its seed: method
 * "euler" or "heun"; sde must suit the model (an SDE needs gamma > 0 and
 * the combined drift or the denoiser head; a combined drift is only an
 * SDE's); the EMA weights replace the raw ones unless raw.  0, or ERR_USAGE
 * / ERR_DATA / ERR_IO (m then holds nothing). */
int push_load(model *m, const char *path, const char *method, int sde, int raw, int steps,
              push_opts *o);

/* The record's observation tensor, checked against the model (f32, the
 * model's values per sample); NULL with err_set naming `where`. */
const tz_tensor *push_observation(const model *m, const tz_record *rec, const char *where);

/* x (n, dim) = the transport of the record's n observations, whose first
 * has stream index `first` (the SDE's noise is keyed by it).  0, or
 * ERR_DATA (a missing or ill-shaped side field), ERR_NUMERIC (NaN or Inf
 * came out), ERR_IO; the message names `where`. */
int push_transport(model *m, const tz_record *rec, float *x, const push_opts *o,
                   uint64_t first, const char *where);

/* 0, or ERR_NUMERIC naming `where` and the sample if any of the n
 * samples of D values in x is NaN or Inf. */
int push_check_finite(const float *x, uint64_t n, size_t D, const char *where);

#endif
