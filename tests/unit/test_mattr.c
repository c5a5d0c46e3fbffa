/* test_mattr.c - model files' attributes: what is written reads back, and
 * what is malformed or out of range is refused with the attribute named. */
#include <string.h>

#include "check.h"
#include "base/err.h"
#include "formats/tz.h"
#include "method/mattr.h"

void test_mattr_roundtrip_and_rejects(void)
{
    tz_record r;
    tz_record_init(&r, TZ_PLAIN);
    int w[3] = { 32, 64, 7 }, v[3] = { 0 }, x = 0;
    CHECK(mattr_set_list(&r, "widths", w, 3) == 0);
    CHECK(!strcmp(tz_record_attr(&r, "widths"), "32,64,7"));
    CHECK(mattr_get_list(&r, "widths", 3, 1, 64, v) == 0 && !memcmp(v, w, sizeof w));
    CHECK(mattr_get_list(&r, "widths", 2, 1, 64, v) == ERR_DATA);      /* one too many */
    CHECK(mattr_get_list(&r, "widths", 3, 8, 64, v) == ERR_DATA);      /* 7 < 8 */
    CHECK(strstr(err_msg(), "model attribute 'widths'") != NULL);
    CHECK(mattr_set_num(&r, "lr", 0.1) == 0);
    double d = 0;
    CHECK(mattr_get_num(&r, "lr", 0, 1, 0, &d) == 0 && d == 0.1);
    CHECK(mattr_get_num(&r, "lr", 0.5, 1, 0, &d) == ERR_DATA);
    const char *bad[][2] = { { "n", "12x" }, { "n", "-3" }, { "n", "99999999999999999999999" },
                             { "n", "70000" } };
    mattr_int a = { "n", &x, 1, 65536 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tz_record_set_attr(&r, bad[i][0], bad[i][1]);
        CHECK(mattr_get_int(&r, &a) == ERR_DATA);
        CHECK(strstr(err_msg(), "model attribute 'n'") != NULL);
    }
    tz_record_set_attr(&r, "n", "65536");
    CHECK(mattr_get_int(&r, &a) == 0 && x == 65536);
    uint64_t u = 0;
    tz_record_set_attr(&r, "n", "18446744073709551615");
    CHECK(mattr_get_u64(&r, "n", UINT64_MAX, &u) == 0 && u == UINT64_MAX);
    tz_record_set_attr(&r, "n", "18446744073709551616");
    CHECK(mattr_get_u64(&r, "n", UINT64_MAX, &u) == ERR_DATA);
    CHECK(mattr_get_u64(&r, "missing", 10, &u) == ERR_DATA);
    tz_record_free(&r);
    /* a command line's lists */
    CHECK(mattr_parse_list("8,16", 4, 1, 4096, v) == 2 && v[0] == 8 && v[1] == 16);
    CHECK(mattr_parse_list("8,", 4, 1, 4096, v) == ERR_USAGE);
    CHECK(mattr_parse_list("8,,16", 4, 1, 4096, v) == ERR_USAGE);
    CHECK(mattr_parse_list("", 4, 1, 4096, v) == ERR_USAGE);
    CHECK(mattr_parse_list("1,2,3", 2, 1, 4096, v) == ERR_USAGE);
    CHECK(mattr_parse_list("0", 2, 1, 4096, v) == ERR_USAGE);
}
