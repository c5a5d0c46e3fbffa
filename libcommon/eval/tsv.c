/* tsv.c - tab-separated tables read whole; see tsv.h. */
#include "eval/tsv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* Append the n cells of line number line as a row; *cap is the rows
 * allocated so far. */
static int add_row(tsv_table *t, char **cells, size_t n, size_t line, size_t *cap)
{
    if (n > t->cols)
        return err_set(ERR_DATA, "%s: line %zu: %zu cells, but the header has %zu",
                       t->name, line, n, t->cols);
    if (t->rows == *cap) {
        char **p = mem_realloc_array(t->cells, *cap ? 2 * *cap : 256,
                                     t->cols * sizeof *t->cells);
        if (!p)
            return ERR_IO;
        t->cells = p;
        *cap = *cap ? 2 * *cap : 256;
    }
    for (size_t k = 0; k < t->cols; k++)
        t->cells[t->rows * t->cols + k] = k < n ? cells[k] : NULL;
    t->rows++;
    return 0;
}

/* The whole stream f into a NUL-terminated t->text; *len its length. */
static int slurp(tsv_table *t, FILE *f, size_t *len)
{
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (cap - *len < 65536) {
            char *p = mem_realloc_array(t->text, 2 * cap + 65536, 1);
            if (!p)
                return ERR_IO;
            t->text = p;
            cap = 2 * cap + 65536;
        }
        size_t got = fread(t->text + *len, 1, cap - *len - 1, f);
        *len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        return err_set(ERR_IO, "%s: read failed", t->name);
    t->text[*len] = 0;
    return 0;
}

/* Cut t->text (len bytes) into lines and cells. */
static int cut(tsv_table *t, size_t len)
{
    char **cells = NULL;
    size_t ccap = 0, rcap = 0, lineno = 0;
    int rc = 0;
    for (char *p = t->text, *next; p < t->text + len && !rc; p = next) {
        lineno++;
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : t->text + len;
        if (nl)
            *nl = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = 0;
        if (!l)
            continue;
        size_t n = 0;
        for (char *c = p;; c++) {
            if (n == ccap) {
                char **q = mem_realloc_array(cells, 2 * ccap + 16, sizeof *cells);
                if (!q) {
                    free(cells);
                    return ERR_IO;
                }
                cells = q;
                ccap = 2 * ccap + 16;
            }
            cells[n++] = c;
            if (!(c = strchr(c, '\t')))
                break;
            *c = 0;
        }
        if (!t->cols) {
            if (!(t->header = mem_alloc_array(n, sizeof *t->header)))
                rc = ERR_IO;
            else {
                t->cols = n;
                memcpy(t->header, cells, n * sizeof *cells);
            }
        } else {
            rc = add_row(t, cells, n, lineno, &rcap);
        }
    }
    free(cells);
    if (!rc && !t->cols)
        rc = err_set(ERR_DATA, "%s: empty: no header row", t->name);
    return rc;
}

int tsv_read(tsv_table *t, const char *path)
{
    memset(t, 0, sizeof *t);
    int std = !strcmp(path, "-");
    t->name = std ? "<stdin>" : path;
    FILE *f = std ? stdin : fopen(path, "rb");
    if (!f)
        return err_set(ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t len;
    int rc = slurp(t, f, &len);
    if (!std)
        fclose(f);
    if (!rc)
        rc = cut(t, len);
    if (rc < 0) {
        const char *name = t->name;
        tsv_free(t);
        t->name = name;
    }
    return rc;
}

void tsv_free(tsv_table *t)
{
    free(t->text);
    free(t->header);
    free(t->cells);
    t->text = NULL;
    t->header = t->cells = NULL;
    t->rows = t->cols = 0;
}

int tsv_column(const tsv_table *t, const char *name)
{
    for (size_t k = 0; k < t->cols; k++)
        if (!strcmp(t->header[k], name))
            return (int)k;
    return -1;
}

int tsv_need_column(const tsv_table *t, const char *name, const char *what)
{
    int k = tsv_column(t, name);
    if (k >= 0)
        return k;
    char list[512] = "";
    for (size_t i = 0; i < t->cols; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", t->header[i]);
    }
    return err_set(ERR_DATA, "%s: no column '%s' (%s); the columns are: %s", t->name,
                   name, what, list);
}

int tsv_number(const char *s, double *v)
{
    if (!s)
        return 0;
    char *end;
    *v = strtod(s, &end);
    while (*end == ' ')
        end++;
    return end != s && !*end && isfinite(*v);
}
