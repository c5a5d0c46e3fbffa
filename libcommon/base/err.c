/* err.c - the message of the last failure; see err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

static _Thread_local char g_msg[1024] = "unknown error";
static _Thread_local int g_code = ERR_IO;

int err_set(int code, const char *fmt, ...)
{
    /* Formatted aside first: an argument may be err_msg() itself, and
     * vsnprintf into the buffer it reads from is undefined. */
    char msg[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(g_msg, msg, sizeof g_msg);
    g_code = code;
    return code;
}

int err_prefix(int code, const char *fmt, ...)
{
    char head[512], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);  /* head may quote err_msg() too */
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    snprintf(g_msg, sizeof g_msg, "%.500s: %.500s", head, old);
    return code;
}

int err_code(void)
{
    return g_code;
}

const char *err_msg(void)
{
    return g_msg;
}

const char *err_exit_table(void)
{
    return "  0    success\n"
           "  1    usage error: bad option or argument\n"
           "  2    bad input data: malformed, truncated or inconsistent stream or image\n"
           "  3    I/O or system error: cannot open, read or write; out of memory\n"
           "  4    numerical failure: NaN, Inf or divergence\n"
           "  5    an external program failed\n"
           "  128+N  killed by signal N; temporary outputs were removed\n";
}
