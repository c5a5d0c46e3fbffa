/* csv.c - numeric CSV reading and writing; see csv.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "formats/csv.h"
#include "base/err.h"
#include "base/mem.h"
#include "formats/tz.h"

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Parse the trimmed field s as a double into *v; 1 if it is a number. */
static int parse_number(const char *s, double *v)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end != '\0')
        return 0;
    /* Underflow to a denormal or zero is fine; overflow is not a value. */
    if (errno == ERANGE && isinf(x))
        return 0;
    *v = x;
    return 1;
}

/* Split line (modified: commas and trailing blanks become NULs) into
 * *count fields, (*fields)[k] pointing at each; *fields grows as needed.
 * Returns 0 or ERR_IO. */
static int split(char *line, char ***fields, size_t *cap, size_t *count)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (n == *cap) {
            size_t ncap = *cap ? 2 * *cap : 16;
            char **q = mem_realloc_array(*fields, ncap, sizeof *q);
            if (!q)
                return ERR_IO;
            *fields = q;
            *cap = ncap;
        }
        (*fields)[n++] = p;
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        while (end > p && is_blank(end[-1]))
            end--;
        if (!comma) {
            *end = '\0';
            break;
        }
        *end = '\0';
        p = comma + 1;
    }
    *count = n;
    return 0;
}

/* Keep the start of a header line (its fields joined by commas again). */
static void keep_header(csv_header *h, uint64_t lineno, char **fields, size_t n)
{
    if (!h)
        return;
    h->line = lineno;
    size_t k = 0;
    h->text[0] = '\0';
    for (size_t i = 0; i < n && k + 1 < sizeof h->text; i++)
        k += (size_t)snprintf(h->text + k, sizeof h->text - k, "%s%s", i ? "," : "",
                              fields[i]);
    if (k >= sizeof h->text)
        memcpy(h->text + sizeof h->text - 4, "...", 4);
}

int csv_read(FILE *f, int header, double **values, uint64_t *rows, uint64_t *cols,
             csv_header *hdr)
{
    *values = NULL;
    *rows = 0;
    *cols = 0;
    if (hdr)
        memset(hdr, 0, sizeof *hdr);
    char *line = NULL, **fields = NULL;
    size_t line_cap = 0, fields_cap = 0, ncols = 0, nrows = 0, vcap = 0;
    double *v = NULL, *row = NULL;
    size_t row_cap = 0;
    uint64_t lineno = 0, header_line = 0;
    size_t header_cols = 0;
    int first = 1, rc = 0;
    ssize_t len;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            rc = err_set(ERR_DATA, "line %llu: contains a NUL byte",
                         (unsigned long long)lineno);
            goto out;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (is_blank(*p))
            p++;
        if (!*p)
            continue;
        size_t n;
        if ((rc = split(line, &fields, &fields_cap, &n)) < 0)
            goto out;
        int was_first = first;
        first = 0;
        if (was_first && header == CSV_HEADER_YES) {
            header_line = lineno, header_cols = n;
            keep_header(hdr, lineno, fields, n);
            continue;
        }
        if (ncols && n != ncols) {
            rc = err_set(ERR_DATA, "line %llu: %zu columns, expected %zu",
                         (unsigned long long)lineno, n, ncols);
            goto out;
        }
        if (!ncols && header_line && n != header_cols) {
            rc = err_set(ERR_DATA, "line %llu: %zu columns, expected %zu as in the "
                         "header (line %llu)", (unsigned long long)lineno, n,
                         header_cols, (unsigned long long)header_line);
            goto out;
        }
        if (n > row_cap) {
            double *r = mem_realloc_array(row, n, sizeof *r);
            if (!r) {
                rc = ERR_IO;
                goto out;
            }
            row = r;
            row_cap = n;
        }
        size_t bad = n, numbers = 0;
        for (size_t k = 0; k < n; k++) {
            if (parse_number(fields[k], &row[k]))
                numbers++;
            else if (bad == n)
                bad = k;
        }
        if (was_first && header == CSV_HEADER_AUTO && numbers == 0) {
            header_line = lineno, header_cols = n;  /* no number: a header */
            keep_header(hdr, lineno, fields, n);
            continue;
        }
        if (bad < n) {
            /* A first line with some numbers is no header: say why it
             * was not taken for one. */
            rc = err_set(ERR_DATA, "line %llu, column %zu: not a number: '%.40s'%s",
                         (unsigned long long)lineno, bad + 1, fields[bad],
                         was_first && header == CSV_HEADER_AUTO
                             ? " (nor a header: some of its fields are numbers)" : "");
            goto out;
        }
        ncols = n;
        if (nrows * ncols + ncols > vcap) {
            size_t ncap;
            if (mem_mul(vcap ? vcap : ncols, 2, &ncap) < 0) {
                rc = err_set(ERR_IO, "table too large");
                goto out;
            }
            double *q = mem_realloc_array(v, ncap, sizeof *q);
            if (!q) {
                rc = ERR_IO;
                goto out;
            }
            v = q;
            vcap = ncap;
        }
        memcpy(v + nrows * ncols, row, ncols * sizeof *row);
        nrows++;
    }
    if (ferror(f))
        rc = err_set(ERR_IO, "read error: %s", strerror(errno));
out:
    free(line);
    free(fields);
    free(row);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *values = v;
    *rows = nrows;
    *cols = nrows ? ncols : 0;
    return 0;
}

void csv_write_values(FILE *f, const double *v, size_t n, int dtype)
{
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (i)
            fputc(',', f);
        if (dtype == TZ_F32)
            fprintf(f, "%.9g", (double)(float)x);
        else if (dtype == TZ_F64 || !isfinite(x))
            fprintf(f, "%.17g", x);
        else if (fabs(x) < 9.2e18)
            fprintf(f, "%lld", (long long)llrint(x));
        else
            fprintf(f, "%.0f", x);  /* beyond long long; still all digits */
    }
}
