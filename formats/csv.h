/* csv.h - tables of numbers as comma-separated text.
 *
 * Reading is for plain numeric tables: one row a line, fields separated by
 * commas, optional spaces around fields, an optional header line (see
 * csv_read), no quoting.  Writing prints each value with just enough
 * digits for it to read back as the same value of its tz dtype. */
#ifndef CSV_H
#define CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What to make of the first non-blank line. */
enum {
    CSV_HEADER_AUTO = 0,    /* a header if none of its fields is a number */
    CSV_HEADER_YES = 1,     /* a header, whatever it holds */
    CSV_HEADER_NO = 2       /* a row of numbers like the others */
};

/* The header line skipped, if any. */
typedef struct {
    uint64_t line;          /* its number (from 1); 0 if there was none */
    char text[64];          /* its start, fields joined by commas ("..." if cut) */
} csv_header;

/* Read a table of numbers from f into a new row-major array *values of
 * *rows x *cols doubles (the caller frees *values; NULL when there are no
 * rows, and then *cols is 0).  Blank lines are skipped; "nan" and "inf" are
 * numbers.  The first non-blank line is a header, skipped, as header says
 * (CSV_HEADER_AUTO: when none of its fields is a number); a header must
 * have as many fields as the rows after it.  hdr (if not NULL) tells which
 * line was skipped.  Returns 0, ERR_DATA "line N: M columns, expected K"
 * (with "as in the header (line H)" when the header set K) or "line N,
 * column K: not a number: 'xx'" (lines and columns count from 1; on a
 * first line taken for data by CSV_HEADER_AUTO because some of its fields
 * are numbers, the message says so), or ERR_IO on a read error or out of
 * memory.  On error *values is NULL. */
int csv_read(FILE *f, int header, double **values, uint64_t *rows, uint64_t *cols,
             csv_header *hdr);

/* Print v[0..n) comma-separated, with no line end (a caller joins several
 * fields of different dtypes on one line): "%.9g" for TZ_F32 (the value
 * is rounded to float first, and 9 digits bring any float back exactly),
 * "%.17g" for TZ_F64, and whole numbers without exponent for the integer
 * dtypes.  Write errors are left in f's error flag for the caller's
 * fflush/ferror check. */
void csv_write_values(FILE *f, const double *v, size_t n, int dtype);

#endif
