/* tz.h - the tensor stream format (tz(5)): records of named tensors.
 *
 * A stream is a sequence of records.  A record holds up to TZ_TENSORS_MAX
 * named tensors and up to TZ_ATTRS_MAX key=value attributes.  In a batch
 * record every tensor shares its leading dimension (the batch); a plain
 * record (model parameters, say) has no such rule.  An end record closes
 * a segment and counts its data records, so a reader can tell a complete
 * stream from one whose producer died; `cat a b` makes two segments.
 *
 * On disk each record is one zstd frame (checksum and content size set)
 * whose content is the raw record; readers also accept raw records, which
 * is what `zstd -dc` gives.  tz(5) documents every byte.
 *
 * Ownership: a tz_record owns its attributes and the tensor data it
 * allocated (tz_tensor.owned); data added with a caller's pointer is
 * borrowed and must outlive the write.  Records filled by tz_read point
 * into storage the record owns, reused by the next tz_read. */
#ifndef TZ_H
#define TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_VERSION 1
#define TZ_FIXED_HEADER 48
#define TZ_ALIGN 64
#define TZ_HEADER_MIN 64     /* the fixed header padded to TZ_ALIGN */
#define TZ_RANK_MAX 8
#define TZ_NAME_MAX 255
#define TZ_TENSORS_MAX 64
#define TZ_ATTRS_MAX 64
#define TZ_VALUE_MAX 65535
#define TZ_HEADER_MAX (1u << 20)
#define TZ_PAYLOAD_MAX ((uint64_t)1 << 40)

enum tz_kind { TZ_BATCH = 1, TZ_PLAIN = 2, TZ_END = 3 };

enum tz_dtype {
    TZ_F32 = 1, TZ_F64 = 2, TZ_U8 = 3, TZ_I32 = 4, TZ_I64 = 5,
    TZ_DTYPE_COUNT
};

typedef struct {
    char name[TZ_NAME_MAX + 1];
    int dtype;
    int rank;
    uint64_t dims[TZ_RANK_MAX];
    void *data;     /* little-endian elements, row-major, outermost first */
    int owned;      /* data is freed with the record */
} tz_tensor;

typedef struct {
    char *key;      /* owned, NUL-terminated */
    char *val;      /* owned, NUL-terminated */
} tz_attr;

typedef struct {
    int kind;                       /* TZ_BATCH or TZ_PLAIN */
    int ntensors;
    tz_tensor t[TZ_TENSORS_MAX];
    int nattrs;
    tz_attr a[TZ_ATTRS_MAX];
    unsigned char *buf;             /* storage filled by tz_read */
    size_t cap;
} tz_record;

/* ---- dtypes ---------------------------------------------------------- */

/* Bytes per element, or 0 for an unknown code. */
size_t tz_dtype_size(int dtype);
/* "f32", "f64", "u8", "i32", "i64", or "?" for an unknown code. */
const char *tz_dtype_name(int dtype);
/* The code for a name above, or 0. */
int tz_dtype_parse(const char *name);

/* ---- records --------------------------------------------------------- */

void tz_record_init(tz_record *rec, int kind);
/* Drop tensors and attributes (freeing owned data); keep read storage. */
void tz_record_clear(tz_record *rec);
/* Free everything the record owns. The struct itself is the caller's. */
void tz_record_free(tz_record *rec);

/* Add a tensor.  data == NULL allocates zeroed storage owned by the record;
 * otherwise data is borrowed.  Returns the new tensor, or NULL (err set) on
 * a bad name, a duplicate name, a bad shape or too many tensors. */
tz_tensor *tz_record_add(tz_record *rec, const char *name, int dtype,
                         int rank, const uint64_t *dims, void *data);
/* Remove tensor i, freeing its data if owned. */
void tz_record_remove(tz_record *rec, int i);
/* The tensor named name, or NULL.  Borrowed. */
tz_tensor *tz_record_find(const tz_record *rec, const char *name);
/* Set (or replace) an attribute; copies both strings.  0 or ERR_*. */
int tz_record_set_attr(tz_record *rec, const char *key, const char *val);
/* Set an attribute to the decimal digits of v.  0 or ERR_*. */
int tz_record_set_attr_u64(tz_record *rec, const char *key, uint64_t v);
/* Remove attribute key if present. */
void tz_record_remove_attr(tz_record *rec, const char *key);
/* The value of key, or NULL.  Borrowed. */
const char *tz_record_attr(const tz_record *rec, const char *key);
/* Leading dimension shared by a batch record's tensors (0 if none). */
uint64_t tz_record_batch(const tz_record *rec);
/* Check names, shapes, sizes and the batch rule.  0 or ERR_DATA. */
int tz_record_check(const tz_record *rec);

/* Elements in a tensor (product of dims; 1 for rank 0). */
uint64_t tz_tensor_count(const tz_tensor *t);
/* Bytes of one row (all dims but the first) of a rank >= 1 tensor. */
size_t tz_tensor_row_bytes(const tz_tensor *t);
/* Bytes of the whole tensor. */
size_t tz_tensor_bytes(const tz_tensor *t);
/* The shape dims[0..rank) as "[a,b,c]" ("[]" for rank 0) into buf, which
 * TZ_SHAPE_TEXT_MAX bytes hold whole for any rank up to TZ_RANK_MAX (a
 * shorter buf gets a cut string).  Returns buf. */
#define TZ_SHAPE_TEXT_MAX (2 + TZ_RANK_MAX * 21)
const char *tz_shape_text(const uint64_t *dims, int rank, char *buf, size_t len);
/* Element i (row-major) of t as a double, whatever its dtype; NaN for a
 * dtype without numbers. */
double tz_tensor_get(const tz_tensor *t, uint64_t i);

/* Convert the n elements at src (of dtype from) to dst (of dtype to).
 * Integer targets take only whole values in their range; floats round.
 * 0, or ERR_DATA naming the first element that does not fit. */
int tz_convert(const void *src, int from, void *dst, int to, uint64_t n);

/* A name or key is 1..TZ_NAME_MAX printable ASCII characters other than
 * space, '=' and ','.  Returns 1 if valid. */
int tz_name_valid(const char *s, size_t len);

/* ---- reading --------------------------------------------------------- */

typedef struct tz_reader tz_reader;

/* Open path for reading ("-" or NULL: standard input).  NULL on failure. */
tz_reader *tz_reader_open(const char *path);
/* Read the streams at paths[0..n) one after the other, as one (n == 0:
 * standard input; "-" among them: standard input too).  Each must be a
 * complete stream; record indices and tz_reader_name follow the file being
 * read.  paths is borrowed and must outlive the reader (argv does).  NULL
 * on failure to open the first; a later one fails in tz_read. */
tz_reader *tz_reader_open_list(char *const *paths, int n);
/* 1 if tz_reader_open_list(paths, n) would read standard input. */
int tz_reads_stdin(char *const *paths, int n);
/* Read from an already open FILE (not closed by tz_reader_close); name is
 * used in messages. */
tz_reader *tz_reader_from_file(void *file, const char *name);
/* Read the next data record into rec (previous contents are cleared).
 * Returns 1 for a record, 0 at a clean end of the input, or ERR_* with a
 * message "FILE: record N: reason".  End records are checked and consumed
 * here; the input must end with one. */
int tz_read(tz_reader *r, tz_record *rec);
/* From now on, tz_read returns at most `records` more data records, then
 * the end of the input (0): the rest is not read, nor checked.  For a
 * shard of a stream (shard.h). */
void tz_reader_limit(tz_reader *r, uint64_t records);
/* Index of the last record returned, counting every record of the input
 * (end records too) from 0. */
uint64_t tz_reader_index(const tz_reader *r);
/* Name used in messages ("-" shows as "<stdin>"). */
const char *tz_reader_name(const tz_reader *r);
void tz_reader_close(tz_reader *r);

/* ---- writing --------------------------------------------------------- */

typedef struct tz_writer tz_writer;

#define TZ_LEVEL_DEFAULT 1   /* zstd level; 0 writes raw records */

/* Open path for writing ("-" or NULL: standard output, refused if it is a
 * terminal).  A file is written under a temporary name and appears at path
 * only when tz_writer_close succeeds.  level: zstd level, 0 for raw. */
tz_writer *tz_writer_open(const char *path, int level);
/* Write to an open FILE (not closed by the writer; tz_writer_close writes
 * the end record and flushes it). */
tz_writer *tz_writer_to_file(void *file, int level);
/* Append one record.  0 or ERR_*. */
int tz_write(tz_writer *w, const tz_record *rec);
/* Write the end record, flush and publish.  Frees w.  0 or ERR_*; on error
 * the temporary file is removed. */
int tz_writer_close(tz_writer *w);
/* The whole stream of one record at path, written as tz_writer_open
 * does: whole or not at all.  0 or ERR_*. */
int tz_save(const char *path, int level, const tz_record *rec);
/* Give up: remove the temporary file, write no end record.  Frees w. */
void tz_writer_abort(tz_writer *w);
/* Records written so far. */
uint64_t tz_writer_count(const tz_writer *w);

/* Encode rec as one raw record into a new buffer (*out, *len; caller
 * frees).  0 or ERR_*.  Used by tests and by the fuzz harness. */
int tz_encode_raw(const tz_record *rec, unsigned char **out, size_t *len);

#endif
