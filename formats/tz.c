/* tz.c - the tensor stream's bytes: encoding, the streaming reader and the
 * writer.  The layout is specified in man/man5/tz.5; keep the two in step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>           /* ZSTD_compressStream2, ZSTD_decompressStream */
#include <zstd_errors.h>    /* ZSTD_getErrorCode, ZSTD_error_checksum_wrong */

#include "base/err.h"
#include "base/mem.h"
#include "base/out.h"
#include "formats/tz.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor payloads are little-endian; this build assumes a little-endian host"
#endif

static const unsigned char TZ_MAGIC[8] = { 0x89, 'T', 'Z', '1', '\r', '\n', 0x1a, '\n' };
#define ZSTD_FRAME_MAGIC 0xFD2FB528u
#define ZSTD_SKIP_MAGIC 0x184D2A50u     /* low 4 bits free */
#define ZSTD_SKIP_MASK 0xFFFFFFF0u
#define ZSTD_FRAME_HEADER_MAX 18      /* RFC 8878: magic + largest header */
#define ZSTD_WINDOW_LOG_MAX 27        /* largest window a reader accepts (tz(5)),
                                       * zstd's own default: 128 MiB */

/* ---- little-endian fields -------------------------------------------- */

static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t round_up(uint64_t n)
{
    return (n + TZ_ALIGN - 1) / TZ_ALIGN * TZ_ALIGN;
}

/* ---- encoding -------------------------------------------------------- */

/* Build the header of a record of the given kind (rec may be NULL for an
 * end record).  *hdr is a new buffer of *hlen bytes (caller frees); the
 * payload that follows is *plen bytes. */
static int encode_header(const tz_record *rec, int kind, uint64_t count,
                         unsigned char **hdr, size_t *hlen, uint64_t *plen)
{
    size_t n = TZ_FIXED_HEADER;
    uint64_t payload = 0;
    int nt = rec ? rec->ntensors : 0, na = rec ? rec->nattrs : 0;
    for (int i = 0; i < nt; i++) {
        n += 4 + strlen(rec->t[i].name) + 8 * (size_t)rec->t[i].rank;
        payload += round_up(tz_tensor_bytes(&rec->t[i]));
    }
    for (int i = 0; i < na; i++)
        n += 6 + strlen(rec->a[i].key) + strlen(rec->a[i].val);
    n = (size_t)round_up(n);
    if (n > TZ_HEADER_MAX)
        return err_set(ERR_DATA, "record header of %zu bytes exceeds %u", n,
                       TZ_HEADER_MAX);
    unsigned char *h = calloc(n, 1), *p = h + TZ_FIXED_HEADER;
    if (!h)
        return err_set(ERR_IO, "out of memory");
    memcpy(h, TZ_MAGIC, 8);
    put16(h + 8, TZ_VERSION);
    put16(h + 10, (uint16_t)kind);
    put32(h + 12, (uint32_t)n);
    put64(h + 16, payload);
    put32(h + 24, (uint32_t)nt);
    put32(h + 28, (uint32_t)na);
    put64(h + 32, count);
    for (int i = 0; i < nt; i++) {
        const tz_tensor *t = &rec->t[i];
        size_t len = strlen(t->name);
        p[0] = (unsigned char)t->dtype;
        p[1] = (unsigned char)t->rank;
        put16(p + 2, (uint16_t)len);
        memcpy(p + 4, t->name, len);
        p += 4 + len;
        for (int d = 0; d < t->rank; d++, p += 8)
            put64(p, t->dims[d]);
    }
    for (int i = 0; i < na; i++) {
        size_t kl = strlen(rec->a[i].key), vl = strlen(rec->a[i].val);
        put16(p, (uint16_t)kl);
        put32(p + 2, (uint32_t)vl);
        memcpy(p + 6, rec->a[i].key, kl);
        memcpy(p + 6 + kl, rec->a[i].val, vl);
        p += 6 + kl + vl;
    }
    *hdr = h;
    *hlen = n;
    *plen = payload;
    return 0;
}

int tz_encode_raw(const tz_record *rec, unsigned char **out, size_t *len)
{
    unsigned char *h;
    size_t hl;
    uint64_t pl;
    int rc = tz_record_check(rec);
    if (rc < 0 || (rc = encode_header(rec, rec->kind, 0, &h, &hl, &pl)) < 0)
        return rc;
    unsigned char *b = realloc(h, hl + (size_t)pl);
    if (!b) {
        free(h);
        return err_set(ERR_IO, "out of memory");
    }
    memset(b + hl, 0, (size_t)pl);
    size_t off = hl;
    for (int i = 0; i < rec->ntensors; i++) {
        size_t nb = tz_tensor_bytes(&rec->t[i]);
        if (nb)
            memcpy(b + off, rec->t[i].data, nb);
        off += (size_t)round_up(nb);
    }
    *out = b;
    *len = hl + (size_t)pl;
    return 0;
}

/* ---- decoding -------------------------------------------------------- */

/* The rules on header_len and payload_len (tz(5)), checked before a raw
 * record is read in, and again when it is parsed (a frame's content). */
static int check_lengths(uint32_t hlen, uint64_t plen)
{
    if (hlen < TZ_HEADER_MIN || hlen % TZ_ALIGN || hlen > TZ_HEADER_MAX)
        return err_set(ERR_DATA, "header length %u is not a multiple of %d "
                       "from %d to %u", hlen, TZ_ALIGN, TZ_HEADER_MIN,
                       TZ_HEADER_MAX);
    if (plen > TZ_PAYLOAD_MAX)
        return err_set(ERR_DATA, "payload length %llu exceeds the cap %llu",
                       (unsigned long long)plen, (unsigned long long)TZ_PAYLOAD_MAX);
    return 0;
}

/* Parse the raw record in p[0..len) into rec; tensors point into p.
 * *kind and *count receive the header's fields. */
static int parse_raw(const unsigned char *p, size_t len, tz_record *rec,
                     int *kind, uint64_t *count)
{
    if (len < TZ_HEADER_MIN)
        return err_set(ERR_DATA, "record of %zu bytes is shorter than the "
                       "smallest record (%d bytes)", len, TZ_HEADER_MIN);
    if (memcmp(p, TZ_MAGIC, 8) != 0)
        return err_set(ERR_DATA, "bad record magic");
    unsigned version = get16(p + 8), k = get16(p + 10);
    uint32_t hlen = get32(p + 12), nt = get32(p + 24), na = get32(p + 28);
    uint64_t plen = get64(p + 16);
    if (version != TZ_VERSION)
        return err_set(ERR_DATA, "format version %u is not supported (this "
                       "reader knows %d)", version, TZ_VERSION);
    if (k != TZ_BATCH && k != TZ_PLAIN && k != TZ_END)
        return err_set(ERR_DATA, "unknown record kind %u", k);
    if (check_lengths(hlen, plen) < 0)
        return ERR_DATA;
    if ((uint64_t)len != hlen + plen)
        return err_set(ERR_DATA, "record holds %zu bytes but its header "
                       "declares %llu", len, (unsigned long long)(hlen + plen));
    if (get64(p + 40) != 0)
        return err_set(ERR_DATA, "reserved header field is not zero");
    if (nt > TZ_TENSORS_MAX || na > TZ_ATTRS_MAX)
        return err_set(ERR_DATA, "%u tensors and %u attributes exceed the caps "
                       "(%d, %d)", nt, na, TZ_TENSORS_MAX, TZ_ATTRS_MAX);
    if (k == TZ_END && (nt || na || plen))
        return err_set(ERR_DATA, "end record carries tensors, attributes or "
                       "payload");
    *kind = (int)k;
    *count = get64(p + 32);
    if (k != TZ_END && *count != 0)
        return err_set(ERR_DATA, "data record has count %llu; only an end "
                       "record counts records, a data record has 0",
                       (unsigned long long)*count);
    tz_record_clear(rec);
    rec->kind = k == TZ_END ? TZ_BATCH : (int)k;

    const unsigned char *c = p + TZ_FIXED_HEADER, *end = p + hlen;
    const unsigned char *payload = p + hlen;
    uint64_t off = 0;
    for (uint32_t i = 0; i < nt; i++) {
        if (end - c < 4 || (size_t)(end - c - 4) < get16(c + 2))
            return err_set(ERR_DATA, "tensor %u of %u: descriptor at byte %td "
                           "does not fit in header_len %u", i, nt, c - p, hlen);
        int dtype = c[0], rank = c[1];
        size_t nl = get16(c + 2);
        char name[TZ_NAME_MAX + 1];
        if (!tz_name_valid((const char *)c + 4, nl))
            return err_set(ERR_DATA, "tensor %u: invalid name of %zu bytes (a "
                           "name is 1 to %d bytes from 0x21 to 0x7e, not '=' "
                           "or ',')", i, nl, TZ_NAME_MAX);
        memcpy(name, c + 4, nl);
        name[nl] = 0;
        c += 4 + nl;
        if (rank > TZ_RANK_MAX)
            return err_set(ERR_DATA, "tensor '%s': rank %d exceeds %d", name,
                           rank, TZ_RANK_MAX);
        if ((size_t)(end - c) < 8 * (size_t)rank)
            return err_set(ERR_DATA, "tensor '%s': the %d dims at byte %td do "
                           "not fit in header_len %u", name, rank, c - p, hlen);
        uint64_t dims[TZ_RANK_MAX];
        for (int d = 0; d < rank; d++, c += 8)
            dims[d] = get64(c);
        tz_tensor *t = tz_record_add(rec, name, dtype, rank, dims,
                                     (void *)(payload + off));
        if (!t)
            return ERR_DATA;
        size_t bytes = tz_tensor_bytes(t);
        uint64_t nb = round_up(bytes);
        if (nb > plen - off)
            return err_set(ERR_DATA, "tensor '%s': shape needs %llu bytes but "
                           "only %llu of the payload remain", name,
                           (unsigned long long)bytes,
                           (unsigned long long)(plen - off));
        for (const unsigned char *z = payload + off + bytes;
             z < payload + off + nb; z++)
            if (*z)
                return err_set(ERR_DATA, "tensor '%s': non-zero byte in the "
                               "payload padding after its data", name);
        off += nb;
    }
    if (off != plen)
        return err_set(ERR_DATA, "payload is %llu bytes but the shapes account "
                       "for %llu", (unsigned long long)plen, (unsigned long long)off);
    for (uint32_t i = 0; i < na; i++) {
        if (end - c < 6 || (size_t)(end - c - 6) < get16(c) + (uint64_t)get32(c + 2))
            return err_set(ERR_DATA, "attribute %u of %u: entry at byte %td "
                           "does not fit in header_len %u", i, na, c - p, hlen);
        size_t kl = get16(c);
        uint32_t vl = get32(c + 2);
        if (!tz_name_valid((const char *)c + 6, kl))
            return err_set(ERR_DATA, "attribute %u: invalid key of %zu bytes (a "
                           "key is 1 to %d bytes from 0x21 to 0x7e, not '=' "
                           "or ',')", i, kl, TZ_NAME_MAX);
        if (vl > TZ_VALUE_MAX)
            return err_set(ERR_DATA, "attribute %u: value of %u bytes exceeds "
                           "%d", i, vl, TZ_VALUE_MAX);
        if (memchr(c + 6 + kl, 0, vl))
            return err_set(ERR_DATA, "attribute %u: NUL byte in value", i);
        char key[TZ_NAME_MAX + 1];
        char *val = malloc((size_t)vl + 1);
        if (!val)
            return err_set(ERR_IO, "out of memory");
        memcpy(key, c + 6, kl);
        key[kl] = 0;
        memcpy(val, c + 6 + kl, vl);
        val[vl] = 0;
        int rc = tz_record_attr(rec, key)
                     ? err_set(ERR_DATA, "duplicate attribute '%s'", key)
                     : tz_record_set_attr(rec, key, val);
        free(val);
        if (rc < 0)
            return rc;
        c += 6 + kl + vl;
    }
    for (; c < end; c++)
        if (*c)
            return err_set(ERR_DATA, "non-zero byte at %td in the header "
                           "padding", c - p);
    return tz_record_check(rec);
}

/* ---- reading --------------------------------------------------------- */

#define IN_CAP (128 * 1024)

struct tz_reader {
    FILE *f;
    int own;
    unsigned char in[IN_CAP];
    size_t pos, len;
    int eof;
    ZSTD_DCtx *dctx;
    uint64_t next;          /* index of the next physical record */
    uint64_t seg;           /* data records since the last end record */
    int ended;              /* the last record read was an end record */
    int io_error;           /* a read failed (not end of input) */
    int limited;            /* tz_reader_limit: at most `left` more records */
    uint64_t left;
    char name[512];
    char *const *paths;     /* borrowed; read one after the other */
    int npaths, cur;
};

/* Read what is there, up to n bytes: unlike fread, which on a pipe waits
 * until all n have come, this returns as soon as any have, so a reader
 * talking to a program (simulate --exec) cannot wait for bytes that the
 * program will only send after its next answer.  0 at end of input or on
 * error (r->io_error tells which). */
static size_t read_some(tz_reader *r, unsigned char *buf, size_t n)
{
    int fd = fileno(r->f);
    if (fd < 0) {               /* fmemopen and the like */
        size_t got = fread(buf, 1, n, r->f);
        r->io_error |= ferror(r->f);
        return got;
    }
    for (;;) {
        ssize_t got = read(fd, buf, n);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR) {
            r->io_error = 1;
            return 0;
        }
    }
}

/* Make at least need bytes available at in[pos]; returns how many are
 * (fewer only at end of input). */
static size_t fill(tz_reader *r, size_t need)
{
    if (r->len - r->pos >= need || r->eof)
        return r->len - r->pos;
    memmove(r->in, r->in + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    while (r->len < need && !r->eof) {
        size_t got = read_some(r, r->in + r->len, IN_CAP - r->len);
        r->len += got;
        if (got == 0)
            r->eof = 1;
    }
    return r->len;
}

/* Grow rec->buf to hold at least n bytes, keeping its contents. */
static int reserve(tz_record *rec, size_t n)
{
    if (n <= rec->cap)
        return 0;
    unsigned char *b = realloc(rec->buf, n);
    if (!b)
        return err_set(ERR_IO, "out of memory for a record of %zu bytes", n);
    rec->buf = b;
    rec->cap = n;
    return 0;
}

/* Growth step for a record whose declared size is total and of which have
 * bytes have arrived: never allocate far beyond what has arrived, so a
 * lying header cannot make us reserve gigabytes for a short input. */
static size_t grow_to(size_t have, size_t total)
{
    size_t want = have < (1u << 20) ? (1u << 20) : 2 * have;
    return want < total ? want : total;
}

/* Point r at a new input, with a fresh record count. */
static void reader_start(tz_reader *r, FILE *f, int own, const char *name)
{
    r->f = f;
    r->own = own;
    r->pos = r->len = 0;
    r->eof = 0;
    r->next = r->seg = 0;
    r->ended = 0;
    r->io_error = 0;
    snprintf(r->name, sizeof r->name, "%s", name);
}

/* Open path ("-" or NULL: standard input) as r's input.  0 or ERR_IO. */
static int reader_open_path(tz_reader *r, const char *path)
{
    if (!path || strcmp(path, "-") == 0) {
        reader_start(r, stdin, 0, "<stdin>");
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    reader_start(r, f, 1, path);
    return 0;
}

tz_reader *tz_reader_open_list(char *const *paths, int n)
{
    tz_reader *r = calloc(1, sizeof *r);
    if (!r) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    r->paths = paths;
    r->npaths = n;
    if (reader_open_path(r, n > 0 ? paths[0] : NULL) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

int tz_reads_stdin(char *const *paths, int n)
{
    int in = n == 0;
    for (int i = 0; i < n; i++)
        in |= !strcmp(paths[i], "-");
    return in;
}

tz_reader *tz_reader_open(const char *path)
{
    char *const one[1] = { (char *)path };
    tz_reader *r = tz_reader_open_list(one, 1);
    if (r)
        r->paths = NULL, r->npaths = 0;     /* one[] dies with this frame */
    return r;
}

tz_reader *tz_reader_from_file(void *file, const char *name)
{
    tz_reader *r = calloc(1, sizeof *r);
    if (!r) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    reader_start(r, file, 0, name);
    return r;
}

void tz_reader_close(tz_reader *r)
{
    if (!r)
        return;
    if (r->own)
        fclose(r->f);
    ZSTD_freeDCtx(r->dctx);
    free(r);
}

void tz_reader_limit(tz_reader *r, uint64_t records)
{
    r->limited = 1;
    r->left = records;
}

uint64_t tz_reader_index(const tz_reader *r)
{
    return r->next ? r->next - 1 : 0;
}

const char *tz_reader_name(const tz_reader *r)
{
    return r->name;
}

/* Read a raw record (magic at in[pos]) into rec->buf; *len its size. */
static int read_raw(tz_reader *r, tz_record *rec, size_t *len)
{
    if (fill(r, TZ_FIXED_HEADER) < TZ_FIXED_HEADER)
        return err_set(ERR_DATA, "truncated record: input ends inside the "
                       "fixed header");
    const unsigned char *h = r->in + r->pos;
    uint32_t hlen = get32(h + 12);
    uint64_t plen = get64(h + 16);
    if (check_lengths(hlen, plen) < 0)
        return ERR_DATA;
    size_t total = (size_t)(hlen + plen), have = 0;
    while (have < total) {
        if (have == rec->cap && reserve(rec, grow_to(have, total)) < 0)
            return ERR_IO;
        size_t chunk = (rec->cap < total ? rec->cap : total) - have;
        size_t avail = r->len - r->pos;
        if (avail) {
            size_t n = avail < chunk ? avail : chunk;
            memcpy(rec->buf + have, r->in + r->pos, n);
            r->pos += n;
            have += n;
        } else {
            size_t got = read_some(r, rec->buf + have, chunk);
            if (got == 0)
                return err_set(ERR_DATA, "truncated record: input ends after "
                               "%zu of %zu bytes", have, total);
            have += got;
        }
    }
    *len = total;
    return 0;
}

/* Decompress the zstd frame at in[pos] into rec->buf; *len its size. */
static int read_frame(tz_reader *r, tz_record *rec, size_t *len)
{
    size_t avail = fill(r, ZSTD_FRAME_HEADER_MAX);
    unsigned long long content = ZSTD_getFrameContentSize(r->in + r->pos, avail);
    if (content == ZSTD_CONTENTSIZE_ERROR)
        return err_set(ERR_DATA, avail < ZSTD_FRAME_HEADER_MAX
                       ? "truncated zstd frame header" : "bad zstd frame header");
    if (content == ZSTD_CONTENTSIZE_UNKNOWN)
        return err_set(ERR_DATA, "zstd frame does not declare its content size");
    /* Byte 4 is the frame header descriptor; bit 2 the checksum flag. */
    if (!(r->in[r->pos + 4] & 0x04))
        return err_set(ERR_DATA, "zstd frame has no content checksum");
    if (content < TZ_HEADER_MIN ||
        content > (unsigned long long)TZ_HEADER_MAX + TZ_PAYLOAD_MAX)
        return err_set(ERR_DATA, "zstd frame content of %llu bytes cannot be "
                       "a record", content);
    if (!r->dctx) {
        if (!(r->dctx = ZSTD_createDCtx()))
            return err_set(ERR_IO, "out of memory");
        ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
    }
    ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
    size_t total = (size_t)content;
    ZSTD_outBuffer out = { rec->buf, 0, 0 };
    for (;;) {
        if (out.pos == out.size && out.pos < total) {
            if (out.pos == rec->cap && reserve(rec, grow_to(out.pos, total)) < 0)
                return ERR_IO;
            out.dst = rec->buf;
            out.size = rec->cap < total ? rec->cap : total;
        }
        if (r->pos == r->len && fill(r, 1) == 0)
            return err_set(ERR_DATA, "truncated zstd frame: input ends after "
                           "%zu of %zu bytes", out.pos, total);
        ZSTD_inBuffer in = { r->in + r->pos, r->len - r->pos, 0 };
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
        r->pos += in.pos;
        if (ZSTD_isError(ret)) {
            if (ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong)
                return err_set(ERR_DATA, "checksum mismatch: the record is corrupt");
            if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
                return err_set(ERR_DATA, "zstd frame needs a window larger than "
                               "the %u bytes readers allow (written with "
                               "--long=28 or more?)", 1u << ZSTD_WINDOW_LOG_MAX);
            return err_set(ERR_DATA, "corrupt zstd frame: %s",
                           ZSTD_getErrorName(ret));
        }
        if (ret == 0)
            break;
        if (out.pos == total && in.pos == 0 && r->pos < r->len)
            return err_set(ERR_DATA, "zstd frame holds more than its declared "
                           "%zu bytes", total);
    }
    if (out.pos != total)
        return err_set(ERR_DATA, "zstd frame holds %zu bytes, declares %zu",
                       out.pos, total);
    *len = total;
    return 0;
}

/* Skip a skippable frame at in[pos]. */
static int skip_frame(tz_reader *r)
{
    if (fill(r, 8) < 8)
        return err_set(ERR_DATA, "truncated skippable frame header");
    uint64_t size = get32(r->in + r->pos + 4);
    r->pos += 8;
    while (size > 0) {
        size_t avail = fill(r, 1);
        if (avail == 0)
            return err_set(ERR_DATA, "truncated skippable frame");
        size_t n = avail < size ? avail : (size_t)size;
        r->pos += n;
        size -= n;
    }
    return 0;
}

int tz_read(tz_reader *r, tz_record *rec)
{
    tz_record_clear(rec);
    if (r->limited && r->left == 0)
        return 0;
    for (;;) {
        size_t avail = fill(r, 4);
        if (avail == 0) {
            if (r->io_error)
                return err_set(ERR_IO, "%s: read error", r->name);
            if (r->ended && r->cur + 1 < r->npaths) {
                if (r->own)
                    fclose(r->f);
                r->own = 0;
                int rc = reader_open_path(r, r->paths[++r->cur]);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (r->ended)
                return 0;
            if (r->next == 0)
                return err_set(ERR_DATA, "%s: empty input: not a tensor stream "
                               "(no end record)", r->name);
            return err_set(ERR_DATA, "%s: record %llu: truncated stream: no end "
                           "record after the last record (did the producer "
                           "fail?)", r->name, (unsigned long long)(r->next - 1));
        }
        if (avail < 4)
            return err_set(ERR_DATA, "%s: record %llu: truncated: %zu stray "
                           "bytes at end of input", r->name,
                           (unsigned long long)r->next, avail);
        uint32_t magic = get32(r->in + r->pos);
        size_t len = 0;
        int rc;
        if ((magic & ZSTD_SKIP_MASK) == ZSTD_SKIP_MAGIC) {
            if ((rc = skip_frame(r)) < 0)
                return err_prefix(rc, "%s: record %llu", r->name,
                                  (unsigned long long)r->next);
            continue;
        }
        if (magic == ZSTD_FRAME_MAGIC)
            rc = read_frame(r, rec, &len);
        else if (memcmp(r->in + r->pos, TZ_MAGIC, 4) == 0)
            rc = read_raw(r, rec, &len);
        else
            rc = err_set(ERR_DATA, "bad magic 0x%08x: not a tensor stream "
                         "record or zstd frame", magic);
        int kind = 0;
        uint64_t count = 0;
        if (rc == 0)
            rc = parse_raw(rec->buf, len, rec, &kind, &count);
        uint64_t index = r->next++;
        if (rc == 0 && kind == TZ_END && count != r->seg)
            rc = err_set(ERR_DATA, "end record counts %llu records but its "
                         "segment has %llu (records lost?)",
                         (unsigned long long)count, (unsigned long long)r->seg);
        if (rc < 0) {
            tz_record_clear(rec);
            return err_prefix(rc, "%s: record %llu", r->name,
                              (unsigned long long)index);
        }
        if (kind == TZ_END) {
            r->seg = 0;
            r->ended = 1;
            continue;
        }
        r->seg++;
        r->ended = 0;
        if (r->limited)
            r->left--;
        return 1;
    }
}

/* ---- writing --------------------------------------------------------- */

struct tz_writer {
    out_file *out;
    FILE *f;
    int level;
    ZSTD_CCtx *cctx;
    unsigned char *obuf;
    size_t ocap;
    uint64_t count;
};

/* A writer with its compression set up and no output yet. */
static tz_writer *writer_new(int level)
{
    tz_writer *w = calloc(1, sizeof *w);
    if (!w) {
        err_set(ERR_IO, "out of memory");
        return NULL;
    }
    w->level = level;
    if (level != 0) {
        w->cctx = ZSTD_createCCtx();
        w->ocap = ZSTD_CStreamOutSize();
        w->obuf = malloc(w->ocap);
        if (!w->cctx || !w->obuf) {
            tz_writer_abort(w);
            err_set(ERR_IO, "out of memory");
            return NULL;
        }
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
    }
    return w;
}

tz_writer *tz_writer_to_file(void *file, int level)
{
    tz_writer *w = writer_new(level);
    if (w)
        w->f = file;
    return w;
}

tz_writer *tz_writer_open(const char *path, int level)
{
    int to_stdout = !path || strcmp(path, "-") == 0;
    if (to_stdout && isatty(STDOUT_FILENO)) {
        err_set(ERR_USAGE, "refusing to write a binary tensor stream to a "
                "terminal; use -o FILE or a pipe");
        return NULL;
    }
    tz_writer *w = writer_new(level);
    if (!w)
        return NULL;
    if (!(w->out = out_open(path))) {
        tz_writer_abort(w);
        return NULL;
    }
    w->f = out_stream(w->out);
    return w;
}

uint64_t tz_writer_count(const tz_writer *w)
{
    return w->count;
}

int tz_save(const char *path, int level, const tz_record *rec)
{
    tz_writer *w = tz_writer_open(path, level);
    if (!w)
        return err_code();
    int rc = tz_write(w, rec);
    if (rc < 0) {
        tz_writer_abort(w);
        return rc;
    }
    return tz_writer_close(w);
}

typedef struct {
    const void *p;
    size_t n;
} chunk;

/* A failed write (errno e): "NAME: write failed: REASON", the output named
 * when the writer opened it (a FILE given by the caller has no name here:
 * the caller adds its own context). */
static int write_failed(const tz_writer *w, int e)
{
    if (w->out)
        return err_set(ERR_IO, "%s: write failed: %s", out_name(w->out), strerror(e));
    return err_set(ERR_IO, "write failed: %s", strerror(e));
}

/* Write one raw record given as chunks: as-is at level 0, else as one zstd
 * frame with its content size pledged up front. */
static int emit(tz_writer *w, const chunk *c, int nc)
{
    size_t total = 0;
    for (int i = 0; i < nc; i++)
        total += c[i].n;
    if (w->level == 0) {
        for (int i = 0; i < nc; i++)
            if (c[i].n && fwrite(c[i].p, 1, c[i].n, w->f) != c[i].n)
                return write_failed(w, errno);
        return 0;
    }
    ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(w->cctx, total);
    for (int i = 0; i < nc; i++) {
        int last = i == nc - 1;
        ZSTD_inBuffer in = { c[i].p, c[i].n, 0 };
        ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
        for (;;) {
            ZSTD_outBuffer out = { w->obuf, w->ocap, 0 };
            size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
            if (ZSTD_isError(left))
                return err_set(ERR_IO, "zstd: %s", ZSTD_getErrorName(left));
            if (out.pos && fwrite(w->obuf, 1, out.pos, w->f) != out.pos)
                return write_failed(w, errno);
            if (last ? left == 0 : in.pos == in.size)
                break;
        }
    }
    return 0;
}

int tz_write(tz_writer *w, const tz_record *rec)
{
    static const unsigned char zeros[TZ_ALIGN];
    unsigned char *hdr;
    size_t hlen;
    uint64_t plen;
    int rc = tz_record_check(rec);
    if (rc < 0 || (rc = encode_header(rec, rec->kind, 0, &hdr, &hlen, &plen)) < 0)
        return rc;
    chunk c[1 + 2 * TZ_TENSORS_MAX];
    int nc = 0;
    c[nc++] = (chunk){ hdr, hlen };
    for (int i = 0; i < rec->ntensors; i++) {
        size_t nb = tz_tensor_bytes(&rec->t[i]);
        c[nc++] = (chunk){ rec->t[i].data, nb };
        c[nc++] = (chunk){ zeros, (size_t)round_up(nb) - nb };
    }
    rc = emit(w, c, nc);
    free(hdr);
    /* On a pipe, each record goes out whole at once: a program downstream
     * (or simulate, reading a simulator's answers) may be waiting for it. */
    if (rc == 0 && (!w->out || out_in_place(w->out)) && fflush(w->f) != 0)
        rc = write_failed(w, errno);
    if (rc == 0)
        w->count++;
    return rc;
}

int tz_writer_close(tz_writer *w)
{
    unsigned char *hdr;
    size_t hlen;
    uint64_t plen;
    int rc = encode_header(NULL, TZ_END, w->count, &hdr, &hlen, &plen);
    if (rc == 0) {
        chunk c = { hdr, hlen };
        rc = emit(w, &c, 1);
        free(hdr);
    }
    if (rc < 0) {
        tz_writer_abort(w);
        return rc;
    }
    if (w->out)
        rc = out_commit(w->out);
    else if (fflush(w->f) != 0)
        rc = write_failed(w, errno);
    w->out = NULL;
    w->f = NULL;
    tz_writer_abort(w);
    return rc;
}

void tz_writer_abort(tz_writer *w)
{
    if (!w)
        return;
    if (w->out)
        out_abort(w->out);
    else if (w->f)
        fflush(w->f);
    ZSTD_freeCCtx(w->cctx);
    free(w->obuf);
    free(w);
}
