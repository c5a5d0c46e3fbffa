/* tzexport - turn a tensor stream into PNG or JPEG images, a PNG contact
 * sheet, a NumPy .npy array, CSV text or an idx file.
 *
 * Images take one sample (or, for a sheet, the first N) of a field whose
 * per-sample shape is (C, H, W) or (H, W); floats are clamped to [0, 1]
 * and rounded to 8 bits (16 with --depth 16).  npy and idx hold a whole
 * field, so it must fit in memory; CSV streams one line per sample. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/out.h"           /* out_open, out_commit */
#include "eval/sheet.h"         /* sheet_render, sheet_labels_count */
#include "formats/export.h"     /* export_sample, export_gather, export_npy, ... */
#include "formats/idx.h"        /* idx_type_parse */
#include "formats/img.h"        /* img_from_f32_chw */
#include "formats/tz.h"         /* tz_reader */
#include "tool/cli.h"           /* cli_parse, cli_die */

struct cmdline {
    const char *fields;
    uint64_t index, count;
    int cols, pad, scale, quality, depth, header;
    const char *idx_type, *labels;
};

static struct cmdline g_opt = { .count = 64, .pad = 2, .scale = 1, .quality = 90,
                                .depth = 8 };

static const cli_opt g_opts[] = {
    { "fields", 'f', CLI_STR, &g_opt.fields, "LIST",
      "field(s) to export (default x; csv: every field)", 0, 0 },
    { "index", 'i', CLI_U64, &g_opt.index, "K",
      "png, jpeg: the sample to write, counted from 0 (default 0)", 0, 0 },
    { "count", 'c', CLI_U64, &g_opt.count, "N",
      "sheet: how many samples (default 64)", 1, 1e6 },
    { "cols", 0, CLI_INT, &g_opt.cols, "N",
      "sheet: columns (default: a square grid)", 1, 4096 },
    { "pad", 0, CLI_INT, &g_opt.pad, "P",
      "sheet: white pixels between images (default 2)", 0, 64 },
    { "scale", 0, CLI_INT, &g_opt.scale, "N",
      "sheet: draw each pixel as an N x N block (default 1)", 1, SHEET_SCALE_MAX },
    { "labels", 0, CLI_STR, &g_opt.labels, "LIST",
      "sheet: comma-separated labels at the left of the rows, top first", 0, 0 },
    { "quality", 'Q', CLI_INT, &g_opt.quality, "Q",
      "jpeg: quality 1 to 100 (default 90)", 1, 100 },
    { "depth", 0, CLI_INT, &g_opt.depth, "BITS",
      "png: 8 (default) or 16 bits per sample", 8, 16 },
    { "header", 'H', CLI_FLAG, &g_opt.header, NULL,
      "csv: first line names the columns", 0, 0 },
    { "idx-type", 0, CLI_STR, &g_opt.idx_type, "TYPE",
      "idx: u8, i8, i16, i32, f32 or f64 (default: from the dtype)", 0, 0 },
    { 0 }
};

static const cli_spec g_spec = {
    "tzexport", "[OPTION]... FORMAT [FILE]...",
    "Convert a tensor stream (standard input if no FILE) to another format. "
    "FORMAT is png, jpeg (or jpg), sheet, npy, csv or idx.",
    g_opts, CLI_OUTPUT, NULL
};

static void write_image(const img_image *im, int jpeg)
{
    int rc = jpeg ? export_jpeg(cli.output, im, g_opt.quality)
                  : export_png(cli.output, im);
    if (rc < 0)
        cli_die_err(rc);
}

/* The rest of the input, read and checked as tzcat reads it after --head:
 * a damaged input is reported whatever was taken, and a producer upstream
 * in a pipe is not killed by SIGPIPE (which fails a set -o pipefail
 * pipeline) for writing what nobody reads. */
static void read_rest(tz_reader *r)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) > 0)
        ;
    tz_record_free(&rec);
    if (rc < 0)
        cli_die_err(rc);
}

static void to_image(tz_reader *r, const char *field, int jpeg)
{
    export_images s;
    uint64_t rows;
    int rc = export_sample(r, field, g_opt.index, &s, &rows);
    if (rc < 0)
        cli_die_err(rc);
    if (!rc)
        cli_die(EXIT_DATA, "--index %" PRIu64 " is past the last sample (%" PRIu64 ")",
                g_opt.index, rows);
    read_rest(r);
    if (jpeg && s.c != 1 && s.c != 3)
        cli_die(EXIT_DATA, "field '%s' has %d channels; JPEG takes 1 or 3", field, s.c);
    img_image im;
    if (img_from_f32_chw(s.px, s.c, s.h, s.w, jpeg ? 8 : g_opt.depth, &im) < 0)
        cli_die_last();
    export_images_free(&s);
    write_image(&im, jpeg);
    img_free(&im);
}

static void to_sheet(tz_reader *r, const char *field)
{
    export_images s;
    int rc = export_samples(r, field, g_opt.count, &s);
    if (rc < 0)
        cli_die_err(rc);
    read_rest(r);
    if (!s.n)
        cli_die(EXIT_DATA, "no images in the input");
    if (s.c == 2 || s.c == 4)
        cli_die(EXIT_DATA, "sheet takes 1 or 3 channels; field '%s' has %d", field, s.c);
    sheet_layout l = { g_opt.cols ? g_opt.cols : (int)ceil(sqrt((double)s.n)),
                       g_opt.pad, g_opt.scale, g_opt.labels };
    img_image im;
    if (sheet_render(s.px, s.n, s.c, s.h, s.w, &l, &im) < 0)
        cli_die_last();
    export_images_free(&s);
    write_image(&im, 0);
    img_free(&im);
}

/* npy or idx: the whole field, gathered from every record. */
static void to_array(tz_reader *r, const char *field, int idx_type, int idx)
{
    batch_acc acc;
    batch_init(&acc);
    int rc = export_gather(r, field, &acc);
    if (rc < 0)
        cli_die_err(rc);
    rc = idx ? export_idx(cli.output, &acc.rec.t[0], idx_type)
             : export_npy(cli.output, &acc.rec.t[0]);
    if (rc < 0)
        cli_die_err(rc);
    batch_free(&acc);
}

/* One CSV line per sample: the chosen fields' rows, flattened, side by side. */
static void to_csv(tz_reader *r)
{
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    int rc = export_csv(r, g_opt.fields, g_opt.header, out_stream(o));
    if (rc < 0)
        cli_die_err(rc);
    if (out_commit(o) < 0)
        cli_die_last();
}

int main(int argc, char **argv)
{
    int first, idx_type = 0;
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need a FORMAT (png, jpeg, sheet, npy, csv, idx)");
    const char *format = argv[first++];
    const char *field = g_opt.fields ? g_opt.fields : "x";
    if (g_opt.depth != 8 && g_opt.depth != 16)
        cli_die(EXIT_USAGE, "--depth must be 8 or 16; got %d", g_opt.depth);
    if (g_opt.idx_type && !(idx_type = idx_type_parse(g_opt.idx_type)))
        cli_die(EXIT_USAGE, "--idx-type must be u8, i8, i16, i32, f32 or f64; got '%s'",
                g_opt.idx_type);
    if (g_opt.labels && sheet_labels_count(g_opt.labels) < 0)
        cli_die(EXIT_USAGE, "--labels: %s", err_msg());
    if (strcmp(format, "csv") && strchr(field, ','))
        cli_die(EXIT_USAGE, "%s takes one field; got '%s'", format, field);
    tz_reader *r = tz_reader_open_list(argv + first, argc - first);
    if (!r)
        cli_die_last();
    if (!strcmp(format, "png"))
        to_image(r, field, 0);
    else if (!strcmp(format, "jpeg") || !strcmp(format, "jpg"))
        to_image(r, field, 1);
    else if (!strcmp(format, "sheet"))
        to_sheet(r, field);
    else if (!strcmp(format, "npy"))
        to_array(r, field, 0, 0);
    else if (!strcmp(format, "idx"))
        to_array(r, field, idx_type, 1);
    else if (!strcmp(format, "csv"))
        to_csv(r);
    else
        cli_die(EXIT_USAGE, "unknown FORMAT '%s' (png, jpeg, sheet, npy, csv, idx)",
                format);
    tz_reader_close(r);
    return 0;
}
