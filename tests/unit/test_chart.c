/* test_chart.c - the TSV reader (tsv.h) and the chart layouts' pieces
 * (chart.h): a small table with every irregularity the reader allows, its
 * rejects, the quantile and padded ranges, and the series of a grouped
 * table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "base/err.h"
#include "eval/chart.h"
#include "eval/tsv.h"

/* A temporary file holding text; the caller unlinks path. */
static void write_tmp(char *path, const char *text)
{
    strcpy(path, "/tmp/chart-unit-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    fputs(text, f);
    fclose(f);
}

/* A header, a blank line, '\r\n' ends, a short row and a last line with
 * no newline. */
static const char *SMALL = "iter\tcase\tloss\r\n1\ta\t0.5\n\n2\tb\n3\ta\tnan \nx\ta\t2 ";

void test_tsv_read(void)
{
    char path[64];
    write_tmp(path, SMALL);
    tsv_table t;
    CHECK(tsv_read(&t, path) == 0);
    CHECK(t.cols == 3 && t.rows == 4);
    CHECK(t.name == path || !strcmp(t.name, path));
    CHECK(!strcmp(t.header[0], "iter") && !strcmp(t.header[2], "loss"));
    CHECK(!strcmp(t.cells[0 * 3 + 2], "0.5"));      /* the '\r' is gone */
    CHECK(!strcmp(t.cells[1 * 3 + 1], "b") && t.cells[1 * 3 + 2] == NULL);
    CHECK(!strcmp(t.cells[3 * 3 + 0], "x"));
    CHECK(tsv_column(&t, "case") == 1 && tsv_column(&t, "nope") == -1);
    CHECK(tsv_need_column(&t, "loss", "-y") == 2);
    CHECK(tsv_need_column(&t, "time", "-x") == ERR_DATA);
    char want[256];
    snprintf(want, sizeof want, "%s: no column 'time' (-x); the columns are: "
             "iter, case, loss", path);
    CHECK(!strcmp(err_msg(), want));
    double v = -1;
    CHECK(tsv_number(t.cells[0 * 3 + 2], &v) == 1 && v == 0.5);
    CHECK(tsv_number(t.cells[3 * 3 + 2], &v) == 1 && v == 2);   /* "2 " */
    CHECK(tsv_number(t.cells[2 * 3 + 2], &v) == 0);             /* "nan " */
    CHECK(tsv_number(t.cells[3 * 3 + 0], &v) == 0);             /* "x" */
    CHECK(tsv_number(t.cells[1 * 3 + 2], &v) == 0);             /* missing */
    CHECK(tsv_number("", &v) == 0 && tsv_number("inf", &v) == 0);
    tsv_free(&t);
    CHECK(!t.text && !t.cells && !t.header && !t.rows && !t.cols);
    unlink(path);
}

void test_tsv_rejects(void)
{
    char path[64], want[256];
    tsv_table t;
    write_tmp(path, "a\tb\n1\t2\n1\t2\t3\n");
    CHECK(tsv_read(&t, path) == ERR_DATA);
    snprintf(want, sizeof want, "%s: line 3: 3 cells, but the header has 2", path);
    CHECK(!strcmp(err_msg(), want));
    CHECK(!t.text && !t.cells && !t.header);
    unlink(path);
    write_tmp(path, "\n\r\n");
    CHECK(tsv_read(&t, path) == ERR_DATA);
    snprintf(want, sizeof want, "%s: empty: no header row", path);
    CHECK(!strcmp(err_msg(), want));
    unlink(path);
    CHECK(tsv_read(&t, path) == ERR_IO);        /* gone now */
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    CHECK(!strcmp(err_msg(), want));
}

void test_chart_ranges(void)
{
    const double v[5] = { 0, 1, 2, 3, 10 };
    CHECK(chart_quantile(v, 5, 0) == 0);
    CHECK(chart_quantile(v, 5, 1) == 10);
    CHECK(chart_quantile(v, 5, 0.5) == 2);
    CHECK_NEAR(chart_quantile(v, 5, 0.875), 6.5, 1e-15);   /* 3.5 of 4 */
    CHECK(chart_quantile(v, 1, 0.3) == 0);
    double lo = 0, hi = 10;
    chart_pad_range(&lo, &hi);
    CHECK_NEAR(lo, -0.5, 1e-15);
    CHECK_NEAR(hi, 10.5, 1e-15);
    lo = hi = 5;                        /* empty: 20% of |lo| */
    chart_pad_range(&lo, &hi);
    CHECK_NEAR(lo, 4.5, 1e-15);
    CHECK_NEAR(hi, 5.5, 1e-15);
    lo = hi = 0;                        /* empty at 0: a unit */
    chart_pad_range(&lo, &hi);
    CHECK(lo == -0.5 && hi == 0.5);

    /* the box of two panels is over their points together */
    double a[] = { 0, 0, 1, 10, 2, 20 }, b[] = { 3, 30, 4, 40 };
    chart_panel ps[2] = { { .xy = a, .n = 3 }, { .xy = b, .n = 2 } };
    double box[4];
    CHECK(chart_scatter_range(ps, 2, 0, box) == 0);
    CHECK_NEAR(box[0], -0.2, 1e-12);
    CHECK_NEAR(box[1], 4.2, 1e-12);
    CHECK_NEAR(box[2], -2, 1e-12);
    CHECK_NEAR(box[3], 42, 1e-12);
    CHECK(chart_scatter_range(ps, 2, 0.25, box) == 0);   /* 1..3, 10..30 */
    CHECK_NEAR(box[0], 0.9, 1e-12);
    CHECK_NEAR(box[1], 3.1, 1e-12);
    CHECK_NEAR(box[2], 9, 1e-12);
    CHECK_NEAR(box[3], 31, 1e-12);
    /* few points: the most opaque dots; many: the faintest */
    CHECK(chart_scatter_alpha(ps, 2, 320) == 0.8);
    chart_panel many = { .n = 100000000 };
    CHECK(chart_scatter_alpha(&many, 1, 320) == 0.05);
}

void test_chart_series(void)
{
    char path[64];
    write_tmp(path, "iter\tcase\tloss\n2\ta\t4\n1\ta\t1\n1\tb\t-1\n"
              "x\tb\t5\n2\tb\tnan\n3\ta\t\n1\ta\t3\n");
    tsv_table t;
    CHECK(tsv_read(&t, path) == 0);
    chart_columns k;
    CHECK(chart_columns_choose(&k, &t, NULL, "case", NULL, 0) == 0);
    CHECK(k.xk == 0 && k.gk == 1 && k.ny == 1 && k.yk[0] == 2);
    const char *y[] = { "loss", "nope" };
    CHECK(chart_columns_choose(&k, &t, "iter", NULL, y, 2) == ERR_DATA);
    CHECK(strstr(err_msg(), "no column 'nope' (-y)") != NULL);
    CHECK(chart_columns_choose(&k, &t, "iter", "case", y, 1) == 0);

    chart_series *ss;
    size_t ns;
    double box[4];
    CHECK(chart_series_collect(&t, &k, 0, &ss, &ns, box) == 0);
    CHECK(ns == 2);
    /* group a first, named after the group (one y column), sorted by x
     * with ties in row order */
    CHECK(!strcmp(ss[0].name, "a") && ss[0].n == 3 && ss[0].yk == 2);
    CHECK(ss[0].xy[0] == 1 && ss[0].xy[1] == 1 && ss[0].xy[3] == 1 &&
          ss[0].xy[4] == 3 && ss[0].xy[6] == 2 && ss[0].xy[7] == 4);
    CHECK(!strcmp(ss[1].name, "b") && ss[1].n == 1 && ss[1].xy[1] == -1);
    CHECK_NEAR(box[0], 0.95, 1e-12);     /* x 1..2, padded 5% */
    CHECK_NEAR(box[1], 2.05, 1e-12);
    CHECK_NEAR(box[2], -1.25, 1e-12);    /* y -1..4 */
    CHECK_NEAR(box[3], 4.25, 1e-12);
    chart_series_free(ss, ns);

    /* --logy: y > 0 only, as log10; nothing left is an error */
    CHECK(chart_series_collect(&t, &k, 1, &ss, &ns, box) == 0);
    CHECK(ns == 1 && ss[0].n == 3 && ss[0].xy[1] == 0);
    chart_series_free(ss, ns);
    tsv_free(&t);
    unlink(path);
    write_tmp(path, "a\tb\n1\t-1\n");
    CHECK(tsv_read(&t, path) == 0);
    CHECK(chart_columns_choose(&k, &t, NULL, NULL, NULL, 0) == 0);
    CHECK(chart_series_collect(&t, &k, 1, &ss, &ns, box) == ERR_DATA);
    CHECK(ss == NULL && ns == 0);
    CHECK(strstr(err_msg(), ": no row has a number in the x column 'a' and in a "
                 "y column (> 0 with --logy)") != NULL);
    tsv_free(&t);
    unlink(path);
}
