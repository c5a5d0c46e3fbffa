/* mem.h - overflow-checked allocation.
 *
 * Every size product in the project goes through mem_mul() or
 * mem_alloc_array(), so a hostile shape in an input stream is an error
 * message, never a wrapped size and a heap overrun. */
#ifndef MEM_H
#define MEM_H

#include <stddef.h>
#include <stdint.h>

/* a*b into *out; returns 0, or -1 (nothing written) if it overflows SIZE_MAX. */
static inline int mem_mul(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

/* malloc(n*size) with overflow check; NULL and err_set(ERR_IO) on failure.
 * Caller frees. */
void *mem_alloc_array(size_t n, size_t size);

/* mem_alloc_array at an address that is a multiple of 64 bytes (a cache
 * line, an AVX-512 vector). Caller frees (free()). */
void *mem_alloc_aligned(size_t n, size_t size);

/* Zeroed variant of mem_alloc_array. Caller frees. */
void *mem_calloc_array(size_t n, size_t size);

/* realloc(p, n*size) with overflow check; on failure p is untouched and
 * NULL is returned with err_set(ERR_IO). */
void *mem_realloc_array(void *p, size_t n, size_t size);

#endif
