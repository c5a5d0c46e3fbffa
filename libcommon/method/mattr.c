/* mattr.c - model files' settings as attributes; see mattr.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "method/mattr.h"

int mattr_read(const char *path, tz_record *rec)
{
    tz_record_init(rec, TZ_PLAIN);
    tz_reader *r = tz_reader_open(path);
    if (!r)
        return err_code();
    int rc = tz_read(r, rec);
    if (rc == 0)
        rc = err_set(ERR_DATA, "%s: no record: not a model file", path);
    if (rc > 0) {
        tz_record next;     /* rec's data must outlive this look past it */
        tz_record_init(&next, TZ_PLAIN);
        rc = tz_read(r, &next);
        if (rc > 0)
            rc = err_set(ERR_DATA, "%s: more than one record: not a model file", path);
        tz_record_free(&next);
    }
    tz_reader_close(r);
    if (rc < 0)
        tz_record_free(rec);
    return rc;
}

int mattr_set_num(tz_record *r, const char *key, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return tz_record_set_attr(r, key, buf);
}

int mattr_set_list(tz_record *r, const char *key, const int *v, int n)
{
    char buf[256] = "";
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", i ? "," : "", v[i]);
    return tz_record_set_attr(r, key, buf);
}

const char *mattr_shown(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || p - s > 40)
            return "(unprintable or long)";
    return s;
}

int mattr_get_text(const tz_record *r, const char *key, const char **s)
{
    *s = tz_record_attr(r, key);
    if (!*s || !**s)
        return err_set(ERR_DATA, "model attribute '%s' is missing", key);
    return 0;
}

int mattr_get_num(const tz_record *r, const char *key, double lo, double hi, int nan_ok,
                  double *v)
{
    const char *s;
    char *end;
    int rc = mattr_get_text(r, key, &s);
    if (rc)
        return rc;
    *v = strtod(s, &end);
    if (*end || end == s)
        return err_set(ERR_DATA, "model attribute '%s' is not a number: '%s'", key,
                       mattr_shown(s));
    if (isnan(*v) && nan_ok)
        return 0;
    if (!isfinite(*v) || *v < lo || *v > hi)
        return err_set(ERR_DATA, "model attribute '%s' is %s, outside [%g, %g]", key,
                       mattr_shown(s), lo, hi);
    return 0;
}

/* The digits of s as a number, *over set if it does not fit 64 bits;
 * ERR_DATA naming key if s is anything but digits. */
static int digits(const char *key, const char *s, uint64_t *v, int *over)
{
    if (strspn(s, "0123456789") != strlen(s))
        return err_set(ERR_DATA, "model attribute '%s' is not a whole number in decimal "
                       "digits: '%s'", key, mattr_shown(s));
    errno = 0;
    *v = strtoull(s, NULL, 10);
    *over = errno != 0;
    return 0;
}

int mattr_get_u64(const tz_record *r, const char *key, uint64_t hi, uint64_t *v)
{
    const char *s;
    int over, rc = mattr_get_text(r, key, &s);
    if (rc == 0 && (rc = digits(key, s, v, &over)) == 0 && (over || *v > hi))
        rc = err_set(ERR_DATA, "model attribute '%s' is %s, more than %" PRIu64, key,
                     mattr_shown(s), hi);
    return rc;
}

int mattr_get_int(const tz_record *r, const mattr_int *a)
{
    const char *s;
    uint64_t x;
    int over, rc = mattr_get_text(r, a->key, &s);
    if (rc == 0 && (rc = digits(a->key, s, &x, &over)) == 0 &&
        (over || x < (uint64_t)a->lo || x > (uint64_t)a->hi))
        rc = err_set(ERR_DATA, "model attribute '%s' is %s, outside %d..%d", a->key,
                     mattr_shown(s), a->lo, a->hi);
    if (rc == 0)
        *a->v = (int)x;
    return rc;
}

int mattr_get_flag(const tz_record *r, const char *key, int *v)
{
    double d = 0;
    int rc = mattr_get_num(r, key, 0, 1, 0, &d);
    if (rc == 0 && d != 0 && d != 1)
        rc = err_set(ERR_DATA, "model attribute '%s' is %g, not 0 or 1", key, d);
    *v = d != 0;
    return rc;
}

int mattr_get_name(const tz_record *r, const char *key, char *dst, size_t n)
{
    const char *s = tz_record_attr(r, key);
    if (!s || strlen(s) >= n)
        return err_set(ERR_DATA, "model attribute '%s' is missing or too long", key);
    if (strcmp(mattr_shown(s), s))
        return err_set(ERR_DATA, "model attribute '%s' is not a printable field name", key);
    strcpy(dst, s);
    return 0;
}

/* Up to max numbers of s in [lo, hi]: how many, or -1 at anything else. */
static int list(const char *s, int max, int lo, int hi, int *v)
{
    int n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (n == max || end == s || errno || x < lo || x > hi || (*end && *end != ',') ||
            (*end == ',' && !end[1]))
            return -1;
        v[n++] = (int)x;
        s = *end ? end + 1 : end;
    }
    return n;
}

int mattr_get_list(const tz_record *r, const char *key, int n, int lo, int hi, int *v)
{
    const char *s = tz_record_attr(r, key);
    if (!s || list(s, n, lo, hi, v) != n)
        return err_set(ERR_DATA, "model attribute '%s' is missing or not %d numbers in "
                       "%d..%d", key, n, lo, hi);
    return 0;
}

int mattr_parse_list(const char *s, int max, int lo, int hi, int *v)
{
    int n = list(s, max, lo, hi, v);
    return n < 1 ? ERR_USAGE : n;
}
