/* blas.c - OpenBLAS's kernels for this CPU; see blas.h. */
#include <cblas.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "tool/blas.h"

const char *blas_config(void)
{
    const char *c = openblas_get_config();
    return c ? c : "unknown";
}

const char *blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

/* OpenBLAS's kernel sets that use AVX2 and FMA or wider: on a CPU that
 * has them, any other choice is a fallback. */
static int avx2_kernels(const char *core)
{
    static const char *const names[] = { "Haswell", "Zen", "Excavator", "SkylakeX",
                                         "Cooperlake", "SapphireRapids" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(core, names[i]) == 0)
            return 1;
    return 0;
}

const char *blas_better_core(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set)
        return NULL;
    /* __builtin_cpu_supports also asks whether the OS saves the wide
     * registers (XCR0), as OpenBLAS's own detection does. */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
        avx2_kernels(blas_core()))
        return NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    return "Haswell";
#else
    return NULL;
#endif
}

void blas_refit(char **argv)
{
    const char *core = blas_better_core();
    /* once set, the variable stops a second round */
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}
