/* sim.c - the built-in simulators over records; see sim.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "ops/sim.h"

int sim_repeat(const tz_record *src, uint64_t k, tz_record *dst)
{
    tz_record_init(dst, src->kind);
    for (int i = 0; i < src->nattrs; i++)
        if (tz_record_set_attr(dst, src->a[i].key, src->a[i].val) < 0)
            return ERR_DATA;
    for (int j = 0; j < src->ntensors; j++) {
        const tz_tensor *s = &src->t[j];
        uint64_t dims[TZ_RANK_MAX];
        memcpy(dims, s->dims, sizeof dims);
        if (s->rank == 0 || (k > 1 && dims[0] > UINT64_MAX / k))
            return err_set(ERR_DATA, "field '%s' cannot be repeated", s->name);
        dims[0] *= k;
        tz_tensor *t = tz_record_add(dst, s->name, s->dtype, s->rank, dims, NULL);
        if (!t)
            return err_code();
        size_t rb = tz_tensor_row_bytes(s);
        for (uint64_t i = 0; i < s->dims[0]; i++)
            for (uint64_t r = 0; r < k; r++)
                memcpy((char *)t->data + (size_t)(i * k + r) * rb,
                       (const char *)s->data + (size_t)i * rb, rb);
    }
    return 0;
}

int sim_builtin(const fwd_spec *spec, const tz_record *rec, const char *field,
                const char *yname, uint64_t first, uint32_t k, uint64_t seed,
                int threads, tz_record *out)
{
    const tz_tensor *x = tz_record_find(rec, field);
    if (!x)
        return err_set(ERR_DATA, "no field '%s'", field);
    if (tz_record_find(rec, yname))
        return err_set(ERR_DATA, "field '%s' is already there", yname);
    int rc = sim_repeat(rec, k, out);
    if (rc < 0)
        return rc;
    int base = out->ntensors;
    for (uint32_t r = 0; r < k; r++) {
        tz_record one;
        tz_record_init(&one, TZ_BATCH);
        rc = fwd_apply(spec, x, first, r, seed, threads, &one, yname);
        for (int j = 0; rc == 0 && j < one.ntensors; j++) {
            const tz_tensor *s = &one.t[j];
            tz_tensor *t = tz_record_find(out, s->name);
            if (!t) {
                uint64_t dims[TZ_RANK_MAX];
                memcpy(dims, s->dims, sizeof dims);
                dims[0] *= k;
                if (!(t = tz_record_add(out, s->name, s->dtype, s->rank, dims, NULL)))
                    rc = err_code();
            } else if (t - out->t < base) {
                rc = err_set(ERR_DATA, "side field '%s' clashes with an input "
                             "field", s->name);
            }
            size_t rb = tz_tensor_row_bytes(s);
            for (uint64_t i = 0; rc == 0 && i < s->dims[0]; i++)
                memcpy((char *)t->data + (size_t)(i * k + r) * rb,
                       (const char *)s->data + (size_t)i * rb, rb);
        }
        tz_record_free(&one);
        if (rc < 0)
            return rc;
    }
    return 0;
}
