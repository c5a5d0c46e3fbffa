/* tzexport - turn a tensor stream into PNG or JPEG images, a PNG contact
 * sheet, a NumPy .npy array, CSV text or an idx file.
 *
 * Images take one sample (or, for a sheet, the first N) of a field whose
 * per-sample shape is (C, H, W) or (H, W); floats are clamped to [0, 1]
 * and rounded to 8 bits (16 with --depth 16).  npy and idx hold a whole
 * field, so it must fit in memory; CSV streams one line per sample. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/batch.h"      /* batch_acc */
#include "tool/cli.h"        /* cli_parse, cli_die */
#include "formats/csv.h"        /* csv_write_values */
#include "formats/idx.h"        /* idx_write */
#include "base/mem.h"        /* mem_alloc_array */
#include "formats/img.h"        /* img_png_encode, img_jpeg_encode */
#include "formats/npy.h"        /* npy_write_header */
#include "base/out.h"        /* out_open, out_commit */
#include "eval/sheet.h"      /* sheet_render, sheet_labels_count */
#include "eval/stats.h"      /* stats_get */
#include "formats/tz.h"         /* tz_reader */

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

/* ---- reading the input ------------------------------------------------ */

typedef struct {
    tz_reader *r;
    tz_record rec;
} input;

static void input_open(input *in, char **files, int n)
{
    if (!(in->r = tz_reader_open_list(files, n)))
        cli_die_last();
    tz_record_init(&in->rec, TZ_BATCH);
}

/* The next data record, or NULL at the end of the last file. */
static tz_record *input_next(input *in)
{
    int rc = tz_read(in->r, &in->rec);
    if (rc < 0)
        cli_die_err(rc);
    return rc ? &in->rec : NULL;
}

static void input_close(input *in)
{
    tz_reader_close(in->r);
    tz_record_free(&in->rec);
}

/* The field named name in rec, or die naming the record. */
static tz_tensor *need_field(input *in, const char *name)
{
    tz_tensor *t = tz_record_find(&in->rec, name);
    if (!t)
        cli_die(EXIT_DATA, "%s: record %" PRIu64 ": no field '%s'",
                tz_reader_name(in->r), tz_reader_index(in->r), name);
    return t;
}

/* Rows of a tensor: its leading dimension (1 for a scalar). */
static uint64_t rows_of(const tz_tensor *t)
{
    return t->rank ? t->dims[0] : 1;
}

/* ---- images ------------------------------------------------------------ */

/* Per-sample (C, H, W) of t, or die. */
static void image_shape(const tz_tensor *t, int *c, int *h, int *w)
{
    uint64_t hh, ww;
    if (t->rank == 4 && t->dims[1] >= 1 && t->dims[1] <= 4) {
        *c = (int)t->dims[1], hh = t->dims[2], ww = t->dims[3];
    } else if (t->rank == 3) {
        *c = 1, hh = t->dims[1], ww = t->dims[2];
    } else {
        cli_die(EXIT_DATA, "field '%s' is not a batch of images (N, C, H, W) with "
                "C <= 4, or (N, H, W)", t->name);
    }
    /* Checked before narrowing to int, so a huge axis cannot wrap. */
    if (hh > IMG_DIM_MAX || ww > IMG_DIM_MAX || hh < 1 || ww < 1)
        cli_die(EXIT_DATA, "field '%s': images of %" PRIu64 "x%" PRIu64 " are "
                "outside 1..%d pixels a side", t->name, ww, hh, IMG_DIM_MAX);
    *h = (int)hh, *w = (int)ww;
}

/* Sample i of t as floats in [0, 1] (u8 divided by 255). */
static void sample_f32(const tz_tensor *t, uint64_t i, float *dst)
{
    size_t n = tz_tensor_row_bytes(t) / tz_dtype_size(t->dtype);
    for (size_t k = 0; k < n; k++) {
        double v = stats_get(t, i * n + k);
        dst[k] = (float)(t->dtype == TZ_U8 ? v / 255.0 : v);
    }
}

static void write_bytes(const unsigned char *buf, size_t len)
{
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    if (fwrite(buf, 1, len, out_stream(o)) != len)
        cli_die_err(out_fail(o, errno));
    if (out_commit(o) < 0)
        cli_die_last();
}

static void encode_and_write(const img_image *im, int jpeg)
{
    unsigned char *buf;
    size_t len;
    int rc = jpeg ? img_jpeg_encode(im, g_opt.quality, &buf, &len)
                  : img_png_encode(im, &buf, &len);
    if (rc < 0)
        cli_die_err(rc);
    write_bytes(buf, len);
    free(buf);
}

static void export_image(input *in, const char *field, int jpeg)
{
    uint64_t seen = 0;
    for (tz_record *rec; (rec = input_next(in));) {
        tz_tensor *t = need_field(in, field);
        if (g_opt.index >= seen + rows_of(t)) {
            seen += rows_of(t);
            continue;
        }
        int c, h, w;
        image_shape(t, &c, &h, &w);
        if (jpeg && c != 1 && c != 3)
            cli_die(EXIT_DATA, "field '%s' has %d channels; JPEG takes 1 or 3", field, c);
        float *px = malloc(sizeof(float) * (size_t)c * (size_t)h * (size_t)w);
        if (!px)
            cli_die(EXIT_IO, "out of memory");
        sample_f32(t, g_opt.index - seen, px);
        img_image im;
        if (img_from_f32_chw(px, c, h, w, jpeg ? 8 : g_opt.depth, &im) < 0)
            cli_die_last();
        free(px);
        encode_and_write(&im, jpeg);
        img_free(&im);
        return;
    }
    cli_die(EXIT_DATA, "--index %" PRIu64 " is past the last sample (%" PRIu64 ")",
            g_opt.index, seen);
}

static void export_sheet(input *in, const char *field)
{
    float *px = NULL;
    uint64_t have = 0;
    int c = 0, h = 0, w = 0;
    size_t per = 0;
    for (tz_record *rec; have < g_opt.count && (rec = input_next(in));) {
        tz_tensor *t = need_field(in, field);
        int c2, h2, w2;
        image_shape(t, &c2, &h2, &w2);
        if (!px) {
            c = c2, h = h2, w = w2;
            per = (size_t)c * (size_t)h * (size_t)w;
            if (!(px = malloc(sizeof(float) * per * g_opt.count)))
                cli_die(EXIT_IO, "out of memory");
        } else if (c2 != c || h2 != h || w2 != w) {
            cli_die(EXIT_DATA, "field '%s' changes image shape at record %" PRIu64,
                    field, tz_reader_index(in->r));
        }
        for (uint64_t i = 0; i < rows_of(t) && have < g_opt.count; i++)
            sample_f32(t, i, px + per * have++);
    }
    if (!have)
        cli_die(EXIT_DATA, "no images in the input");
    if (c == 2 || c == 4)
        cli_die(EXIT_DATA, "sheet takes 1 or 3 channels; field '%s' has %d", field, c);
    sheet_layout l = { g_opt.cols ? g_opt.cols : (int)ceil(sqrt((double)have)),
                       g_opt.pad, g_opt.scale, g_opt.labels };
    img_image im;
    if (sheet_render(px, have, c, h, w, &l, &im) < 0)
        cli_die_last();
    free(px);
    encode_and_write(&im, 0);
    img_free(&im);
}

/* ---- arrays ------------------------------------------------------------ */

/* Gather field across all records into one array (rows stacked). */
static void gather(input *in, const char *field, batch_acc *acc)
{
    for (tz_record *rec; (rec = input_next(in));) {
        tz_tensor *t = need_field(in, field);
        tz_record one;
        tz_record_init(&one, TZ_BATCH);
        tz_tensor tv = *t;
        tv.owned = 0;
        if (tv.rank == 0) {     /* a scalar is one row */
            tv.rank = 1;
            tv.dims[0] = 1;
        }
        one.t[0] = tv;
        one.ntensors = 1;
        if (!batch_compatible(acc, &one))
            cli_die(EXIT_DATA, "%s: record %" PRIu64 ": field '%s' changes dtype or "
                    "shape", tz_reader_name(in->r), tz_reader_index(in->r), field);
        if (batch_append(acc, &one, 0, tv.dims[0]) < 0)
            cli_die_last();
    }
    if (!acc->has_schema)
        cli_die(EXIT_DATA, "no field '%s' in the input", field);
}

static void export_npy(input *in, const char *field)
{
    batch_acc acc;
    batch_init(&acc);
    gather(in, field, &acc);
    const tz_tensor *t = &acc.rec.t[0];
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    FILE *f = out_stream(o);
    size_t n = tz_tensor_bytes(t);
    int rc = npy_write_header(f, t->dtype, t->rank, t->dims);
    if (rc < 0) {
        if (rc == ERR_IO)       /* a write: say where */
            err_prefix(rc, "%s", out_name(o));
        out_abort(o);
        cli_die_err(rc);
    }
    if (fwrite(t->data, 1, n, f) != n)
        cli_die_err(out_fail(o, errno));
    if (out_commit(o) < 0)
        cli_die_last();
    batch_free(&acc);
}

static int parse_idx_type(const char *s)
{
    static const struct {
        const char *name;
        int code;
    } types[] = { { "u8", 0x08 }, { "i8", 0x09 }, { "i16", 0x0B },
                  { "i32", 0x0C }, { "f32", 0x0D }, { "f64", 0x0E } };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcmp(s, types[i].name))
            return types[i].code;
    cli_die(EXIT_USAGE, "--idx-type must be u8, i8, i16, i32, f32 or f64; got '%s'", s);
}

static void export_idx(input *in, const char *field)
{
    batch_acc acc;
    batch_init(&acc);
    gather(in, field, &acc);
    const tz_tensor *t = &acc.rec.t[0];
    int type = g_opt.idx_type ? parse_idx_type(g_opt.idx_type)
               : t->dtype == TZ_U8 ? 0x08
               : t->dtype == TZ_I32 || t->dtype == TZ_I64 ? 0x0C
               : t->dtype == TZ_F32 ? 0x0D : t->dtype == TZ_F64 ? 0x0E : 0;
    if (!type)
        cli_die(EXIT_DATA, "field '%s' is %s, which idx cannot hold", field,
                tz_dtype_name(t->dtype));
    /* idx_write takes the dtype that holds its type: convert to that. */
    int want = idx_dtype(type);
    void *data = t->data;
    if (want != t->dtype) {
        data = mem_alloc_array((size_t)tz_tensor_count(t), tz_dtype_size(want));
        if (!data || tz_convert(t->data, t->dtype, data, want, tz_tensor_count(t)) < 0)
            cli_die(-err_code(), "field '%s': %s", field, err_msg());
    }
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    int rc = idx_write(out_stream(o), type, t->rank, t->dims, data, want);
    if (data != t->data)
        free(data);
    if (rc < 0) {
        if (rc == ERR_IO)       /* a write: say where */
            err_prefix(rc, "%s", out_name(o));
        out_abort(o);
        cli_die_err(rc);
    }
    if (out_commit(o) < 0)
        cli_die_last();
    batch_free(&acc);
}

/* One CSV line per sample: the chosen fields' rows, flattened, side by side. */
static void export_csv(input *in)
{
    out_file *o = out_open(cli.output);
    if (!o)
        cli_die_last();
    FILE *f = out_stream(o);
    double *row = NULL;
    size_t cap = 0;
    int header_done = !g_opt.header;
    for (tz_record *rec; (rec = input_next(in));) {
        tz_tensor *sel[TZ_TENSORS_MAX];
        int ns = 0;
        for (const char *p = g_opt.fields; p && *p;) {
            const char *comma = strchr(p, ',');
            char name[TZ_NAME_MAX + 1];
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            if (ns < TZ_TENSORS_MAX)
                sel[ns++] = need_field(in, name);
            p = comma ? comma + 1 : p + len;
        }
        for (int i = 0; !g_opt.fields && i < rec->ntensors; i++)
            sel[ns++] = &rec->t[i];
        uint64_t rows = ns ? rows_of(sel[0]) : 0;
        for (int i = 1; i < ns; i++)
            if (rows_of(sel[i]) != rows)
                cli_die(EXIT_DATA, "%s: record %" PRIu64 ": fields '%s' and '%s' have "
                        "different numbers of rows", tz_reader_name(in->r),
                        tz_reader_index(in->r), sel[0]->name, sel[i]->name);
        if (!header_done) {
            /* One column per element: "name" for a scalar, "name[k]" else. */
            for (int i = 0; i < ns; i++) {
                uint64_t w = rows ? tz_tensor_count(sel[i]) / rows : 1;
                for (uint64_t k = 0; k < w; k++)
                    if (w == 1)
                        fprintf(f, "%s%s", i ? "," : "", sel[i]->name);
                    else
                        fprintf(f, "%s%s[%" PRIu64 "]", i || k ? "," : "",
                                sel[i]->name, k);
            }
            fputc('\n', f);
            header_done = 1;
        }
        for (uint64_t r = 0; r < rows; r++) {
            for (int i = 0; i < ns; i++) {
                uint64_t w = tz_tensor_count(sel[i]) / rows;
                if (w > cap && !(row = realloc(row, sizeof(double) * (cap = w))))
                    cli_die(EXIT_IO, "out of memory");
                for (uint64_t k = 0; k < w; k++)
                    row[k] = stats_get(sel[i], r * w + k);
                if (i)
                    fputc(',', f);
                csv_write_values(f, row, (size_t)w, sel[i]->dtype);
            }
            fputc('\n', f);
        }
    }
    free(row);
    if (out_commit(o) < 0)
        cli_die_last();
}

int main(int argc, char **argv)
{
    int first;
    cli_parse(&g_spec, argc, argv, &first);
    if (first == argc)
        cli_die(EXIT_USAGE, "need a FORMAT (png, jpeg, sheet, npy, csv, idx)");
    const char *format = argv[first++];
    const char *field = g_opt.fields ? g_opt.fields : "x";
    if (g_opt.depth != 8 && g_opt.depth != 16)
        cli_die(EXIT_USAGE, "--depth must be 8 or 16; got %d", g_opt.depth);
    if (g_opt.idx_type)
        parse_idx_type(g_opt.idx_type);     /* fail before reading the input */
    if (g_opt.labels && sheet_labels_count(g_opt.labels) < 0)
        cli_die(EXIT_USAGE, "--labels: %s", err_msg());
    if (strcmp(format, "csv") && strchr(field, ','))
        cli_die(EXIT_USAGE, "%s takes one field; got '%s'", format, field);
    input in;
    input_open(&in, argv + first, argc - first);
    if (!strcmp(format, "png"))
        export_image(&in, field, 0);
    else if (!strcmp(format, "jpeg") || !strcmp(format, "jpg"))
        export_image(&in, field, 1);
    else if (!strcmp(format, "sheet"))
        export_sheet(&in, field);
    else if (!strcmp(format, "npy"))
        export_npy(&in, field);
    else if (!strcmp(format, "idx"))
        export_idx(&in, field);
    else if (!strcmp(format, "csv"))
        export_csv(&in);
    else
        cli_die(EXIT_USAGE, "unknown FORMAT '%s' (png, jpeg, sheet, npy, csv, idx)",
                format);
    input_close(&in);
    return 0;
}
