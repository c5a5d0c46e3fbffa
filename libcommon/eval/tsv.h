/* tsv.h - tab-separated tables read whole: a header row naming the
 * columns, then rows of at most as many cells, as the toolkit's tools
 * write them (tzdist, si-train's logs) and as charts read them.
 *
 * The file is held in memory and cut into cells in place: every cell is a
 * NUL-terminated view into the table's text.  Like the rest of libcommon
 * this never prints and never exits: functions that can fail return 0 or
 * a negative ERR_* with err_set. */
#ifndef TSV_H
#define TSV_H

#include <stddef.h>

typedef struct {
    char *text;             /* owned: the whole file, cut into cells */
    char **header;          /* owned array of cols names (views into text) */
    char **cells;           /* owned array of rows x cols views into text,
                             * NULL for a cell missing from a short row */
    size_t rows, cols;
    const char *name;       /* for messages: the path, or "<stdin>" for "-";
                             * borrowed from the path given to tsv_read */
} tsv_table;

/* Read the TSV file at path ("-": standard input) into *t: the first
 * non-blank line is the header, every later one a row; blank lines and a
 * '\r' before each '\n' are ignored, and a row shorter than the header has
 * its missing cells NULL.  0, ERR_IO (cannot open or read, out of memory)
 * or ERR_DATA (a row longer than the header, no header row); on error *t
 * is zeroed but for name.  The caller frees *t with tsv_free. */
int tsv_read(tsv_table *t, const char *path);

/* Free what tsv_read allocated and zero the pointers.  Safe on a zeroed
 * table. */
void tsv_free(tsv_table *t);

/* The index of the column called name, or -1 if there is none. */
int tsv_column(const tsv_table *t, const char *name);

/* The index of the column called name, or ERR_DATA with a message that
 * names the file, the column, what asked for it (what, e.g. an option) and
 * lists the columns there are. */
int tsv_need_column(const tsv_table *t, const char *name, const char *what);

/* Cell s as a finite number in *v: 1, or 0 if it is missing (NULL),
 * empty, text, NaN or infinite.  Trailing spaces are allowed. */
int tsv_number(const char *s, double *v);

#endif
