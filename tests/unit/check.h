/* check.h - the unit-test runner's assertions.
 *
 * A test is a function registered in tests/unit/main.c.  CHECK records a
 * failure with its location and goes on; the runner exits non-zero if any
 * check failed, and prints "unit: N passed, N failed" last. */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>

extern int g_check_failed;      /* failures in the current test */

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            g_check_failed++;                                              \
        }                                                                  \
    } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol)                                              \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        if (!(fabs(a_ - b_) <= (tol) * fmax(1.0, fabs(b_)))) {             \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %.9g (tol %g)\n",\
                    __FILE__, __LINE__, #a, a_, b_, (double)(tol));        \
            g_check_failed++;                                              \
        }                                                                  \
    } while (0)

#endif
