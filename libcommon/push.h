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

/* The record's observation tensor, checked against the model (f32, the
 * model's values per sample); NULL with err_set naming `where`. */
const tz_tensor *push_observation(const model *m, const tz_record *rec, const char *where);

/* x (n, dim) = the transport of the record's n observations, whose first
 * has stream index `first` (the SDE's noise is keyed by it).  0, or
 * ERR_DATA (a missing or ill-shaped side field), ERR_NUMERIC (NaN or Inf
 * came out), ERR_IO; the message names `where`. */
int push_transport(model *m, const tz_record *rec, float *x, const push_opts *o,
                   uint64_t first, const char *where);

#endif
