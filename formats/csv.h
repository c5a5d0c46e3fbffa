/* csv.h - tables of numbers as comma-separated text.
 *
 * Reading is for plain numeric tables: one row a line, fields separated by
 * commas, optional spaces around fields, an optional header line, no
 * quoting.  Writing prints each value with just enough digits for it to
 * read back as the same value of its tz dtype. */
#ifndef CSV_H
#define CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Read a table of numbers from f into a new row-major array *values of
 * *rows x *cols doubles (the caller frees *values; NULL when there are no
 * rows, and then *cols is 0).  A first non-blank line that does not parse
 * as numbers is a header and is skipped; blank lines are skipped; "nan" and
 * "inf" are numbers.  Returns 0, ERR_DATA "line N: M columns, expected K"
 * or "line N, column K: not a number: 'xx'" (lines and columns count from
 * 1), or ERR_IO on a read error or out of memory.  On error *values is
 * NULL. */
int csv_read(FILE *f, double **values, uint64_t *rows, uint64_t *cols);

/* Print v[0..n) comma-separated, with no line end (a caller joins several
 * fields of different dtypes on one line): "%.9g" for TZ_F32 (the value
 * is rounded to float first, and 9 digits bring any float back exactly),
 * "%.17g" for TZ_F64, and whole numbers without exponent for the integer
 * dtypes.  Write errors are left in f's error flag for the caller's
 * fflush/ferror check. */
void csv_write_values(FILE *f, const double *v, size_t n, int dtype);

#endif
