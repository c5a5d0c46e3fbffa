/* mem.c - overflow-checked allocation; see mem.h. */
#include <stdlib.h>

#include "base/err.h"
#include "base/mem.h"

void *mem_alloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (mem_mul(n, size, &bytes) < 0) {
        err_set(ERR_IO, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        err_set(ERR_IO, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *mem_alloc_aligned(size_t n, size_t size)
{
    size_t bytes;
    if (mem_mul(n, size, &bytes) < 0 || bytes > SIZE_MAX - 64) {
        err_set(ERR_IO, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    /* aligned_alloc wants a multiple of the alignment */
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes ? 0 : 64));
    if (!p)
        err_set(ERR_IO, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *mem_calloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (mem_mul(n, size, &bytes) < 0) {
        err_set(ERR_IO, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p)
        err_set(ERR_IO, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *mem_realloc_array(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (mem_mul(n, size, &bytes) < 0) {
        err_set(ERR_IO, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        err_set(ERR_IO, "out of memory allocating %zu bytes", bytes);
    return q;
}
