/* export.c - a stream's field out to images, npy, idx and CSV; see
 * export.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/out.h"
#include "formats/csv.h"
#include "formats/export.h"
#include "formats/idx.h"
#include "formats/npy.h"

/* ---- fields and samples --------------------------------------------- */

uint64_t export_rows(const tz_tensor *t)
{
    return t->rank ? t->dims[0] : 1;
}

int export_image_shape(const tz_tensor *t, int *c, int *h, int *w)
{
    uint64_t hh, ww;
    if (t->rank == 4 && t->dims[1] >= 1 && t->dims[1] <= 4) {
        *c = (int)t->dims[1], hh = t->dims[2], ww = t->dims[3];
    } else if (t->rank == 3) {
        *c = 1, hh = t->dims[1], ww = t->dims[2];
    } else {
        return err_set(ERR_DATA, "field '%s' is not a batch of images (N, C, H, W) "
                       "with C <= 4, or (N, H, W)", t->name);
    }
    /* Checked before narrowing to int, so a huge axis cannot wrap. */
    if (hh > IMG_DIM_MAX || ww > IMG_DIM_MAX || hh < 1 || ww < 1)
        return err_set(ERR_DATA, "field '%s': images of %" PRIu64 "x%" PRIu64 " are "
                       "outside 1..%d pixels a side", t->name, ww, hh, IMG_DIM_MAX);
    *h = (int)hh, *w = (int)ww;
    return 0;
}

void export_sample_f32(const tz_tensor *t, uint64_t i, float *dst)
{
    size_t n = tz_tensor_row_bytes(t) / tz_dtype_size(t->dtype);
    for (size_t k = 0; k < n; k++) {
        double v = tz_tensor_get(t, i * n + k);
        dst[k] = (float)(t->dtype == TZ_U8 ? v / 255.0 : v);
    }
}

tz_tensor *export_field(const tz_reader *r, const tz_record *rec, const char *name)
{
    tz_tensor *t = tz_record_find(rec, name);
    if (!t)
        err_set(ERR_DATA, "%s: record %" PRIu64 ": no field '%s'",
                tz_reader_name(r), tz_reader_index(r), name);
    return t;
}

/* ---- images --------------------------------------------------------- */

void export_images_free(export_images *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

int export_sample(tz_reader *r, const char *field, uint64_t index,
                  export_images *out, uint64_t *rows)
{
    memset(out, 0, sizeof *out);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    uint64_t seen = 0;
    int rc;
    while ((rc = tz_read(r, &rec)) > 0) {
        tz_tensor *t = export_field(r, &rec, field);
        if (!t) {
            rc = ERR_DATA;
            break;
        }
        if (index >= seen + export_rows(t)) {
            seen += export_rows(t);
            continue;
        }
        if ((rc = export_image_shape(t, &out->c, &out->h, &out->w)) < 0)
            break;
        out->px = malloc(sizeof(float) * (size_t)out->c * (size_t)out->h *
                         (size_t)out->w);
        if (!out->px) {
            rc = err_set(ERR_IO, "out of memory");
            break;
        }
        export_sample_f32(t, index - seen, out->px);
        out->n = 1;
        tz_record_free(&rec);
        return 1;
    }
    tz_record_free(&rec);
    *rows = seen;
    if (rc < 0)
        export_images_free(out);
    return rc;
}

int export_samples(tz_reader *r, const char *field, uint64_t max,
                   export_images *out)
{
    memset(out, 0, sizeof *out);
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    size_t per = 0;
    int rc = 0;
    while (out->n < max && (rc = tz_read(r, &rec)) > 0) {
        tz_tensor *t = export_field(r, &rec, field);
        int c, h, w;
        if (!t) {
            rc = ERR_DATA;
            break;
        }
        if ((rc = export_image_shape(t, &c, &h, &w)) < 0)
            break;
        if (!out->px) {
            out->c = c, out->h = h, out->w = w;
            per = (size_t)c * (size_t)h * (size_t)w;
            if (!(out->px = malloc(sizeof(float) * per * max))) {
                rc = err_set(ERR_IO, "out of memory");
                break;
            }
        } else if (c != out->c || h != out->h || w != out->w) {
            rc = err_set(ERR_DATA, "field '%s' changes image shape at record %" PRIu64,
                         field, tz_reader_index(r));
            break;
        }
        for (uint64_t i = 0; i < export_rows(t) && out->n < max; i++)
            export_sample_f32(t, i, out->px + per * out->n++);
    }
    tz_record_free(&rec);
    if (rc < 0) {
        export_images_free(out);
        return rc;
    }
    return 0;
}

/* Write buf[0..len) to path, whole or not at all. */
static int write_file(const char *path, const unsigned char *buf, size_t len)
{
    out_file *o = out_open(path);
    if (!o)
        return err_code();
    if (fwrite(buf, 1, len, out_stream(o)) != len)
        return out_fail(o, errno);
    return out_commit(o) < 0 ? err_code() : 0;
}

/* Encode im (as JPEG of quality if jpeg) and write it to path. */
static int write_image(const char *path, const img_image *im, int jpeg, int quality)
{
    unsigned char *buf;
    size_t len;
    int rc = jpeg ? img_jpeg_encode(im, quality, &buf, &len)
                  : img_png_encode(im, &buf, &len);
    if (rc < 0)
        return rc;
    rc = write_file(path, buf, len);
    free(buf);
    return rc;
}

int export_png(const char *path, const img_image *im)
{
    return write_image(path, im, 0, 0);
}

int export_jpeg(const char *path, const img_image *im, int quality)
{
    return write_image(path, im, 1, quality);
}

/* ---- whole fields --------------------------------------------------- */

int export_gather(tz_reader *r, const char *field, batch_acc *acc)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    int rc;
    while ((rc = tz_read(r, &rec)) > 0) {
        tz_tensor *t = export_field(r, &rec, field);
        if (!t) {
            rc = ERR_DATA;
            break;
        }
        /* A one-field view of the record, so the schema is the field's. */
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
        if (!batch_compatible(acc, &one)) {
            rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": field '%s' changes dtype "
                         "or shape", tz_reader_name(r), tz_reader_index(r), field);
            break;
        }
        if (batch_append(acc, &one, 0, tv.dims[0]) < 0) {
            rc = err_code();
            break;
        }
    }
    tz_record_free(&rec);
    if (rc < 0)
        return rc;
    if (!acc->has_schema)
        return err_set(ERR_DATA, "no field '%s' in the input", field);
    return 0;
}

/* The end of a write through o whose writer returned rc: on a failure,
 * name the output in a write error and remove the temporary; else commit. */
static int finish(out_file *o, int rc)
{
    if (rc < 0) {
        if (rc == ERR_IO)       /* a write: say where */
            err_prefix(rc, "%s", out_name(o));
        out_abort(o);
        return rc;
    }
    return out_commit(o) < 0 ? err_code() : 0;
}

int export_npy(const char *path, const tz_tensor *t)
{
    out_file *o = out_open(path);
    if (!o)
        return err_code();
    FILE *f = out_stream(o);
    size_t n = tz_tensor_bytes(t);
    int rc = npy_write_header(f, t->dtype, t->rank, t->dims);
    if (rc < 0)
        return finish(o, rc);
    if (fwrite(t->data, 1, n, f) != n)
        return out_fail(o, errno);
    return finish(o, 0);
}

int export_idx(const char *path, const tz_tensor *t, int idx_type)
{
    int type = idx_type ? idx_type : idx_type_for(t->dtype);
    if (!type)
        return err_set(ERR_DATA, "field '%s' is %s, which idx cannot hold", t->name,
                       tz_dtype_name(t->dtype));
    /* idx_write takes the dtype that holds its type: convert to that. */
    int want = idx_dtype(type);
    void *data = t->data;
    if (want != t->dtype) {
        data = mem_alloc_array((size_t)tz_tensor_count(t), tz_dtype_size(want));
        int rc = data ? tz_convert(t->data, t->dtype, data, want, tz_tensor_count(t))
                      : err_code();
        if (rc < 0) {
            free(data);
            return err_prefix(err_code(), "field '%s'", t->name);
        }
    }
    out_file *o = out_open(path);
    if (!o) {
        if (data != t->data)
            free(data);
        return err_code();
    }
    int rc = idx_write(out_stream(o), type, t->rank, t->dims, data, want);
    if (data != t->data)
        free(data);
    return finish(o, rc);
}

/* ---- CSV ------------------------------------------------------------ */

/* The tensors of rec that fields names (NULL: all of them) into sel; their
 * number, or ERR_DATA for a name rec does not have. */
static int select_fields(const tz_reader *r, tz_record *rec, const char *fields,
                         tz_tensor *sel[TZ_TENSORS_MAX])
{
    int ns = 0;
    for (const char *p = fields; p && *p;) {
        const char *comma = strchr(p, ',');
        char name[TZ_NAME_MAX + 1];
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        if (ns < TZ_TENSORS_MAX && !(sel[ns++] = export_field(r, rec, name)))
            return ERR_DATA;
        p = comma ? comma + 1 : p + len;
    }
    for (int i = 0; !fields && i < rec->ntensors; i++)
        sel[ns++] = &rec->t[i];
    return ns;
}

/* The header line: one column per element of a row. */
static void csv_header_line(FILE *f, tz_tensor *const *sel, int ns, uint64_t rows)
{
    for (int i = 0; i < ns; i++) {
        uint64_t w = rows ? tz_tensor_count(sel[i]) / rows : 1;
        for (uint64_t k = 0; k < w; k++)
            if (w == 1)
                fprintf(f, "%s%s", i ? "," : "", sel[i]->name);
            else
                fprintf(f, "%s%s[%" PRIu64 "]", i || k ? "," : "", sel[i]->name, k);
    }
    fputc('\n', f);
}

int export_csv(tz_reader *r, const char *fields, int header, FILE *f)
{
    tz_record rec;
    tz_record_init(&rec, TZ_BATCH);
    double *row = NULL;
    size_t cap = 0;
    int header_done = !header, rc;
    while ((rc = tz_read(r, &rec)) > 0) {
        tz_tensor *sel[TZ_TENSORS_MAX];
        int ns = select_fields(r, &rec, fields, sel);
        if ((rc = ns) < 0)
            break;
        uint64_t rows = ns ? export_rows(sel[0]) : 0;
        for (int i = 1; i < ns && rc >= 0; i++)
            if (export_rows(sel[i]) != rows)
                rc = err_set(ERR_DATA, "%s: record %" PRIu64 ": fields '%s' and '%s' "
                             "have different numbers of rows", tz_reader_name(r),
                             tz_reader_index(r), sel[0]->name, sel[i]->name);
        if (rc < 0)
            break;
        if (!header_done) {
            csv_header_line(f, sel, ns, rows);
            header_done = 1;
        }
        for (uint64_t j = 0; j < rows && rc >= 0; j++) {
            for (int i = 0; i < ns; i++) {
                uint64_t w = tz_tensor_count(sel[i]) / rows;
                if (w > cap) {
                    double *grown = realloc(row, sizeof(double) * w);
                    if (!grown) {
                        rc = err_set(ERR_IO, "out of memory");
                        break;
                    }
                    row = grown, cap = w;
                }
                for (uint64_t k = 0; k < w; k++)
                    row[k] = tz_tensor_get(sel[i], j * w + k);
                if (i)
                    fputc(',', f);
                csv_write_values(f, row, (size_t)w, sel[i]->dtype);
            }
            if (rc >= 0)
                fputc('\n', f);
        }
        if (rc < 0)
            break;
    }
    free(row);
    tz_record_free(&rec);
    return rc < 0 ? rc : 0;
}
