/* blas.h - OpenBLAS's kernels for this CPU.
 *
 * OpenBLAS picks its kernels when it is loaded, from the CPU's model
 * number.  A release older than the CPU does not know the model and falls
 * back to a generic core: OpenBLAS 0.3.21 (Debian 12) runs its SSE3
 * "Prescott" kernels on an Emerald Rapids Xeon (family 6, model 207),
 * whose AVX-512 kernels ("SkylakeX") are 4.7x faster on sgemm there.  The
 * fix is OpenBLAS's own switch, the environment variable
 * OPENBLAS_CORETYPE, which it reads only when it is loaded: a tool that
 * finds the fallback sets it and executes itself again (cli_parse, before
 * any input is read).  A user's OPENBLAS_CORETYPE is never overridden.
 *
 * The kernels change the rounding of every GEMM, so results are
 * bit-identical across thread counts and batchings on one machine and
 * core type, not across core types (README.md, "Same bytes"). */
#ifndef BLAS_H
#define BLAS_H

/* OpenBLAS's build: version, architectures, threading. */
const char *blas_config(void);
/* The name of the kernels OpenBLAS runs ("SkylakeX", "Haswell", ...). */
const char *blas_core(void);

/* The core to ask for when OpenBLAS fell back to kernels below what the
 * CPU runs (no AVX2 kernels on a CPU with AVX2 and FMA): "SkylakeX" where
 * the CPU has AVX-512 (F, CD, BW, DQ, VL), else "Haswell".  NULL when the
 * kernels fit the CPU, when OPENBLAS_CORETYPE is set, or when the CPU
 * is not x86-64. */
const char *blas_better_core(void);

/* Where blas_better_core() names a core: set OPENBLAS_CORETYPE to it and
 * execute this program again with argv (argv[argc] NULL, as main's), so
 * OpenBLAS loads those kernels.  Call it first thing in main, before
 * anything is read or written.  Returns when there is nothing to do, or
 * when the exec failed (no /proc): the program then goes on, slower. */
void blas_refit(char **argv);

#endif
