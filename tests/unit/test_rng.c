/* test_rng.c - Philox against the published known-answer vectors, and the
 * keying and moments that the tools rely on. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "base/rng.h"

void test_rng_philox_kat(void)
{
    /* Known-answer tests of Philox4x32-10 from Random123's kat_vectors. */
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        { { 0, 0, 0, 0 }, { 0, 0 },
          { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
        { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff },
          { 0xffffffff, 0xffffffff },
          { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
        { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 },
          { 0xa4093822, 0x299f31d0 },
          { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
    };
    for (size_t k = 0; k < sizeof kat / sizeof *kat; k++) {
        uint32_t out[4];
        rng_philox(kat[k].ctr, kat[k].key, out);
        for (int i = 0; i < 4; i++)
            CHECK(out[i] == kat[k].out[i]);
    }
}

void test_rng_keying(void)
{
    rng_t a, b, c;
    rng_init(&a, 7, 1, 1000);
    rng_init(&b, 7, 1, 1000);
    rng_init(&c, 7, 1, 1001);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = rng_u32(&a), y = rng_u32(&b), z = rng_u32(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same);
    CHECK(differ > 95);
    rng_init(&a, 7, 2, 1000);
    rng_init(&b, 8, 1, 1000);
    rng_init(&c, 7, 1, 1000);
    uint32_t x = rng_u32(&c);
    CHECK(rng_u32(&a) != x);
    CHECK(rng_u32(&b) != x);
}

void test_rng_moments(void)
{
    rng_t r;
    rng_init(&r, 1, 0, 0);
    const int n = 200000;
    double s = 0, s2 = 0, s4 = 0, u = 0, umin = 1, umax = 0;
    uint64_t hist[10] = { 0 };
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
        double v = rng_uniform(&r);
        u += v;
        umin = fmin(umin, v);
        umax = fmax(umax, v);
        hist[rng_below(&r, 10)]++;
    }
    /* Standard errors at n = 2e5: mean 0.0022, var 0.0032, kurtosis 0.011. */
    CHECK(fabs(s / n) < 0.012);
    CHECK(fabs(s2 / n - 1) < 0.016);
    CHECK(fabs(s4 / n - 3) < 0.06);
    CHECK(fabs(u / n - 0.5) < 0.004);
    CHECK(umin > 0 && umax < 1);
    for (int i = 0; i < 10; i++)   /* binomial sd of a bin: 134 */
        CHECK(fabs((double)hist[i] - n / 10.0) < 700);
}
