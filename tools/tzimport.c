/* tzimport - turn PNG, JPEG, NumPy .npy, CSV and idx files into a tensor
 * stream.
 *
 * Images become one sample each: a field of shape (N, C, H, W), f32 in
 * [0, 1] (or u8 with --dtype u8).  An array file (npy, csv, idx) is split
 * along its first axis into records of --batch rows; it is read whole, so
 * it must fit in memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/cli.h"        /* cli_parse, cli_die */
#include "formats/csv.h"        /* csv_read */
#include "formats/idx.h"        /* idx_read */
#include "formats/img.h"        /* img_read_file, img_to_f32_chw */
#include "formats/npy.h"        /* npy_read */
#include "formats/tz.h"         /* tz_writer */

struct cmdline {
    uint64_t batch;
    const char *name;
    const char *dtype;
    cli_list attr;
    int header, no_header;
};

static struct cmdline g_opt = { .batch = 1024, .name = "x" };

static const cli_opt g_opts[] = {
    { "batch", 'n', CLI_U64, &g_opt.batch, "N",
      "samples (rows) per record (default 1024)", 1, 1e12 },
    { "name", 0, CLI_STR, &g_opt.name, "NAME",
      "name of the field (default x)", 0, 0 },
    { "dtype", 't', CLI_STR, &g_opt.dtype, "TYPE",
      "images: f32 (default) or u8; csv: f32 (default) or f64", 0, 0 },
    { "header", 0, CLI_FLAG, &g_opt.header, NULL,
      "csv: the first line is a header: skip it (default: only if it has no "
      "number, with a note)", 0, 0 },
    { "no-header", 0, CLI_FLAG, &g_opt.no_header, NULL,
      "csv: the first line is data like the others", 0, 0 },
    { "attr", 'a', CLI_LIST, &g_opt.attr, "KEY=VALUE",
      "add an attribute to every record (repeatable)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzimport", "[OPTION]... FORMAT [FILE]...",
    "Convert files to a tensor stream. FORMAT is png, jpeg (or jpg; image: "
    "either), "
    "npy, csv or idx; npy, csv and idx take one FILE (default: standard input, "
    "except idx).",
    g_opts, CLI_OUTPUT | CLI_LEVEL, NULL
};

/* Write rows [0, rows) of an array of the given shape, --batch at a time. */
static void write_array(tz_writer *w, int dtype, int rank, const uint64_t *dims,
                        void *data)
{
    uint64_t d[TZ_RANK_MAX] = { 1 };
    if (rank == 0)
        rank = 1;               /* a scalar becomes one row */
    else
        memcpy(d, dims, sizeof(uint64_t) * (size_t)rank);
    uint64_t rows = d[0];
    size_t row_bytes = tz_dtype_size(dtype);
    for (int i = 1; i < rank; i++)
        row_bytes *= (size_t)d[i];
    for (uint64_t s = 0; s < rows || (rows == 0 && s == 0); s += g_opt.batch) {
        tz_record rec;
        tz_record_init(&rec, TZ_BATCH);
        d[0] = rows - s < g_opt.batch ? rows - s : g_opt.batch;
        if (!tz_record_add(&rec, g_opt.name, dtype, rank, d,
                           (char *)data + (size_t)s * row_bytes))
            cli_die_last();
        for (int i = 0; i < g_opt.attr.n; i++) {
            char key[TZ_NAME_MAX + 1];
            const char *eq = strchr(g_opt.attr.v[i], '=');
            snprintf(key, sizeof key, "%.*s", (int)(eq - g_opt.attr.v[i]), g_opt.attr.v[i]);
            if (tz_record_set_attr(&rec, key, eq + 1) < 0)
                cli_die_last();
        }
        if (tz_write(w, &rec) < 0)
            cli_die_last();
        tz_record_free(&rec);
        if (rows == 0)
            break;
    }
}

static void import_images(tz_writer *w, char **files, int n, int as_u8)
{
    img_image im;
    int c = 0, h = 0, wd = 0;
    size_t per = 0;
    unsigned char *buf = NULL;
    uint64_t have = 0;
    size_t esize = as_u8 ? 1 : 4;
    for (int k = 0; k < n; k++) {
        int rc = img_read_file(files[k], &im);
        if (rc < 0)
            cli_die_err(rc);
        if (k == 0) {
            c = im.channels, h = im.height, wd = im.width;
            per = (size_t)c * (size_t)h * (size_t)wd;
            buf = malloc(per * esize * (size_t)(g_opt.batch < (uint64_t)n ? g_opt.batch : (uint64_t)n));
            if (!buf)
                cli_die(EXIT_IO, "out of memory");
        } else if (im.channels != c || im.height != h || im.width != wd) {
            cli_die(EXIT_DATA, "%s: image is %dx%d with %d channels; %s is %dx%d "
                    "with %d", files[k], im.width, im.height, im.channels, files[0],
                    wd, h, c);
        }
        if (as_u8 && im.depth != 8)
            cli_die(EXIT_DATA, "%s: a 16-bit image cannot be imported as u8",
                    files[k]);
        unsigned char *dst = buf + (size_t)have * per * esize;
        if (as_u8) {
            /* interleaved (H, W, C) to planar (C, H, W) */
            for (int ch = 0; ch < c; ch++)
                for (size_t p = 0; p < (size_t)h * (size_t)wd; p++)
                    dst[(size_t)ch * (size_t)h * (size_t)wd + p] = im.data[p * (size_t)c + (size_t)ch];
        } else {
            img_to_f32_chw(&im, (float *)dst);
        }
        img_free(&im);
        if (++have == g_opt.batch || k == n - 1) {
            uint64_t dims[4] = { have, (uint64_t)c, (uint64_t)h, (uint64_t)wd };
            uint64_t saved = g_opt.batch;
            g_opt.batch = have;
            write_array(w, as_u8 ? TZ_U8 : TZ_F32, 4, dims, buf);
            g_opt.batch = saved;
            have = 0;
        }
    }
    free(buf);
}

/* Each --attr is KEY=VALUE with a valid key and a value of at most
 * TZ_VALUE_MAX bytes, and together (a repeated KEY counting once, with its
 * last VALUE) they fit in a record header beside the field's descriptor at
 * its largest rank (tz(5)): a usage error otherwise, not a failure to
 * write later. */
static void check_attrs(void)
{
    size_t room = TZ_HEADER_MAX - TZ_FIXED_HEADER -
                  (4 + strlen(g_opt.name) + 8 * TZ_RANK_MAX), used = 0;
    for (int i = 0; i < g_opt.attr.n; i++) {
        const char *a = g_opt.attr.v[i], *eq = strchr(a, '=');
        if (!eq || !tz_name_valid(a, (size_t)(eq - a)))
            cli_die(EXIT_USAGE, "--attr needs KEY=VALUE with a valid key; got "
                    "'%.64s'", a);
        size_t kl = (size_t)(eq - a), vl = strlen(eq + 1);
        if (vl > TZ_VALUE_MAX)
            cli_die(EXIT_USAGE, "--attr %.*s: value of %zu bytes exceeds %d",
                    (int)kl, a, vl, TZ_VALUE_MAX);
        int later = 0;
        for (int j = i + 1; j < g_opt.attr.n && !later; j++)
            later = strncmp(g_opt.attr.v[j], a, kl + 1) == 0;
        if (!later)
            used += 6 + kl + vl;
    }
    if (used > room)
        cli_die(EXIT_USAGE, "--attr: the attributes take %zu bytes of record "
                "header; at most %zu fit", used, room);
}

static FILE *open_input(const char *path)
{
    if (!path || strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "rb");
    if (!f)
        cli_die(EXIT_IO, "%s: cannot open: %s", path, strerror(errno));
    return f;
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need a FORMAT (png, jpeg, image, npy, csv, idx)");
    const char *format = argv[first++];
    char **files = argv + first;
    int nfiles = argc - first;
    const char *path = nfiles ? files[0] : "-";
    const char *label = nfiles ? files[0] : "<stdin>";
    if (!tz_name_valid(g_opt.name, strlen(g_opt.name)))
        cli_die(EXIT_USAGE, "--name: '%s' is not a valid field name", g_opt.name);
    check_attrs();
    int is_image = !strcmp(format, "png") || !strcmp(format, "jpeg") ||
                   !strcmp(format, "jpg") || !strcmp(format, "image");
    int want = g_opt.dtype ? tz_dtype_parse(g_opt.dtype) : 0;
    if (g_opt.dtype && !(is_image ? want == TZ_F32 || want == TZ_U8
                                  : !strcmp(format, "csv") && (want == TZ_F32 || want == TZ_F64)))
        cli_die(EXIT_USAGE, "--dtype %s does not apply to %s", g_opt.dtype, format);
    if (g_opt.header && g_opt.no_header)
        cli_die(EXIT_USAGE, "--header and --no-header contradict each other");
    if ((g_opt.header || g_opt.no_header) && strcmp(format, "csv"))
        cli_die(EXIT_USAGE, "--%s applies to csv only",
                g_opt.header ? "header" : "no-header");
    if (!is_image && nfiles > 1)
        cli_die(EXIT_USAGE, "%s takes one FILE; got %d", format, nfiles);
    if ((is_image || !strcmp(format, "idx")) && nfiles == 0)
        cli_die(EXIT_USAGE, "%s needs FILE operands", format);
    tz_writer *w = tz_writer_open(cli.output, cli.level);
    if (!w)
        cli_die_last();
    if (is_image) {
        import_images(w, files, nfiles, want == TZ_U8);
    } else if (!strcmp(format, "npy")) {
        FILE *f = open_input(path);
        npy_header h;
        void *data;
        size_t bytes;
        if (npy_read(f, &h, &data, &bytes) < 0)
            cli_die(-err_code(), "%s: %s", label, err_msg());
        if (f != stdin)
            fclose(f);
        write_array(w, h.dtype, h.rank, h.dims, data);
        free(data);
    } else if (!strcmp(format, "csv")) {
        FILE *f = open_input(path);
        double *v;
        uint64_t rows, cols;
        csv_header hdr;
        int mode = g_opt.header ? CSV_HEADER_YES
                   : g_opt.no_header ? CSV_HEADER_NO : CSV_HEADER_AUTO;
        if (csv_read(f, mode, &v, &rows, &cols, &hdr) < 0)
            cli_die(-err_code(), "%s: %s", label, err_msg());
        /* A line guessed to be a header is not dropped unsaid. */
        if (mode == CSV_HEADER_AUTO && hdr.line)
            cli_info("%s: line %" PRIu64 " skipped as a header: '%s' (--header to say "
                     "so, --no-header to refuse)", label, hdr.line, hdr.text);
        if (f != stdin)
            fclose(f);
        uint64_t dims[2] = { rows, cols };
        if (want == TZ_F64) {
            write_array(w, TZ_F64, 2, dims, v);
        } else {
            float *x = malloc(sizeof(float) * rows * cols + 1);
            if (!x)
                cli_die(EXIT_IO, "out of memory");
            for (uint64_t i = 0; i < rows * cols; i++)
                x[i] = (float)v[i];
            write_array(w, TZ_F32, 2, dims, x);
            free(x);
        }
        free(v);
    } else if (!strcmp(format, "idx")) {
        int dtype, rank, type;
        uint64_t dims[TZ_RANK_MAX];
        void *data;
        int rc = idx_read(path, &dtype, &rank, dims, &data, &type);
        if (rc < 0)
            cli_die_err(rc);
        write_array(w, dtype, rank, dims, data);
        free(data);
    } else {
        cli_die(EXIT_USAGE, "unknown FORMAT '%s' (png, jpeg, image, npy, csv, idx)",
                format);
    }
    if (tz_writer_close(w) < 0)
        cli_die_last();
    return 0;
}
