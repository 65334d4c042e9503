/*
 * ex_archive.c — archives and compressed files with libarchive: zip, 7z, tar
 * (plain, gz, bz2, xz, zstd, lzma, lzip, compress), rar/rar5 as far as
 * libarchive reads them, cpio, ISO 9660, cab, ar; and a single compressed
 * file (file.txt.gz) through the "raw" format.
 *
 * Every regular member is unpacked into memory and handed to ex_recurse()
 * with its path, so its type is detected by content and any depth of nesting
 * goes through the same checks. Bounds, all from the job's limits:
 *   - entries: members per archive;
 *   - member_bytes and unpacked_bytes: a member's buffer grows by doubling
 *     under min(member_bytes, what is left of unpacked_bytes); the size an
 *     archive claims is never used to allocate;
 *   - ratio: a member that unpacks to more than `ratio` times the compressed
 *     bytes it consumed (past RATIO_FLOOR) is dropped, and so is the rest of
 *     an archive whose total output passes `ratio` times its own size — which
 *     also bounds an overlapping-entry zip, whose entries all point at one
 *     compressed kernel;
 *   - time: ex_job_ms_left() between chunks.
 * Encrypted members are uninspectable.encrypted; a corrupt or truncated
 * archive is reported as such with whatever members came before. RAR 5
 * encryption is read from the headers here, as libarchive before 3.7 does not
 * report it (rar5_check()).
 *
 * Formats are enabled one by one, never with support_format_all(): mtree, for
 * one, names files on the local disk as its "members".
 */
#include "ex_core.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_BLOCK  ((size_t)64 * 1024)  /* what libarchive is fed at a time */
#define READ_CHUNK  ((size_t)256 * 1024) /* archive_read_data() per call */
#define RATIO_FLOOR ((uint64_t)1 << 20)  /* output below this never trips ratio */
#define FIRST_CAP   ((size_t)64 * 1024)  /* first member buffer */

typedef struct arc {
    ex_job *j;
    struct archive *a;
    const unsigned char *in; /* the archive's own bytes */
    size_t in_len;           /* and their size */
    int rar5;                /* rar5_check() of any member, R5_UNSET before */
    size_t rar5_next;        /* where the next member's header is looked for */
    uint64_t out;            /* bytes unpacked from this archive */
    unsigned char *buf;
    size_t cap;
    uint32_t entries;
} arc;

static bool is_compressor(const char *mime)
{
    static const char *const m[] = {
        "application/gzip", "application/x-gzip", "application/x-bzip2",
        "application/x-xz", "application/x-lzma", "application/x-lzip",
        "application/zstd", "application/x-zstd", "application/x-compress"};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcasecmp(mime, m[i]))
            return true;
    return false;
}

static void enable_formats(struct archive *a, const char *mime)
{
    archive_read_support_filter_all(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_cpio(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_ar(a);
    /* a lone compressed file: raw bids lowest, so a .tar.gz is still a tar */
    if (is_compressor(mime))
        archive_read_support_format_raw(a);
}

/* Reason for a libarchive error: truncated or corrupt. */
static const char *error_kind(struct archive *a)
{
    const char *m = archive_error_string(a);
    if (m && (strcasestr(m, "truncat") || strcasestr(m, "premature") ||
              strcasestr(m, "unexpected end") || strcasestr(m, "eof")))
        return "truncated";
    return "corrupt";
}

static bool encryption_error(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m &&
           (strcasestr(m, "encrypt") || strcasestr(m, "passphrase") || strcasestr(m, "password"));
}

/* ---- RAR 5 encryption ------------------------------------------------------
 * libarchive before 3.7 skips the encryption record of a RAR 5 file header
 * and hands back the ciphertext as the member's data, not marked encrypted;
 * random bytes now and then pass for text, which would be scanned clean and
 * allowed. So a RAR 5 archive's own headers are read here. The layout, from
 * the published "RAR 5.0 archive format": the signature, then blocks, each a
 * CRC32 and a header whose fields are vints (7 bits a byte, low first): its
 * size (counted from the next field), type, flags, extra-area size when flags
 * has 0x01, data size when flags has 0x02, the type's own fields, and the
 * extra area at the header's end; the data area follows the header. A file
 * header (type 2) is encrypted when its extra area holds a record of type 1.
 * Only the archive's own bytes are read: nothing is allocated, every length is
 * checked against the buffer, and each step moves forward. */

#define RAR5_SIG     "Rar!\x1a\x07\x01\x00"
#define RAR5_SIG_LEN 8

enum { R5_PLAIN, R5_ENCRYPTED, R5_UNKNOWN, R5_UNSET };

/* Reads the vint at *i, below end; false past end or past ten bytes. */
static bool rar5_vint(const unsigned char *p, size_t end, size_t *i, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned sh = 0; sh < 70 && *i < end; sh += 7) {
        unsigned char b = p[(*i)++];
        r |= (uint64_t)(b & 0x7F) << sh;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Whether the file header in p[i, end) has an encryption record; i is just
 * past its flags, the extra area is the last `extra` bytes. -1 when it does
 * not parse. */
static int rar5_extra_crypt(const unsigned char *p, size_t i, size_t end, uint64_t extra)
{
    size_t x;
    if (extra > end - i)
        return -1;
    for (x = end - (size_t)extra; x < end;) {
        uint64_t size, type;
        size_t r0;
        if (!rar5_vint(p, end, &x, &size))
            return -1;
        r0 = x;
        if (size > end - r0 || !rar5_vint(p, end, &x, &type))
            return -1;
        if (type == 1)
            return 1;
        x = r0 + (size_t)size;
        if (x == r0)
            return -1; /* an empty record cannot hold its own type */
    }
    return 0;
}

/* Walks the RAR 5 headers in p[0, len). With name NULL: R5_ENCRYPTED when
 * any file header is encrypted, R5_PLAIN when the chain reaches its end block
 * with none, R5_UNKNOWN when it breaks first (cut, damaged, or the archive is
 * behind a compression filter and p is not its headers). With a name: what
 * the first file header of that name from *next on says (libarchive returns
 * members in header order, so each lookup starts where the last one matched
 * and a whole archive costs one walk, not one per member), and *next moves
 * past it; R5_UNKNOWN when none comes before the chain ends or breaks, and
 * *next moves to the end: later members are R5_UNKNOWN too, so names that
 * never match (a hostile archive) cannot make each member walk the chain. */
static int rar5_check(const unsigned char *p, size_t len, const char *name, size_t *next)
{
    const unsigned char *sig = memmem(p, len, RAR5_SIG, RAR5_SIG_LEN);
    size_t nlen = name ? strlen(name) : 0;
    size_t pos;

    if (!sig)
        return R5_UNKNOWN;
    pos = (size_t)(sig - p) + RAR5_SIG_LEN;
    if (next && *next > pos)
        pos = *next;
    for (; pos < len && len - pos > 4;) {
        uint64_t size, type, flags, extra = 0, data = 0;
        size_t i = pos + 4, end; /* past the CRC32 */

        if (!rar5_vint(p, len, &i, &size) || size > len - i)
            break;
        end = i + (size_t)size;
        if (!rar5_vint(p, end, &i, &type) || !rar5_vint(p, end, &i, &flags) ||
            ((flags & 0x01) && !rar5_vint(p, end, &i, &extra)) ||
            ((flags & 0x02) && !rar5_vint(p, end, &i, &data)))
            break;
        if (type == 5) { /* end of archive */
            if (!name)
                return R5_PLAIN;
            break;
        }
        if (type == 2) {
            uint64_t fflags, skip, nsize;
            int crypt = (flags & 0x01) ? rar5_extra_crypt(p, i, end, extra) : 0;
            /* file flags, unpacked size, attributes, then mtime and CRC32
             * when file flags has 0x02 and 0x04, compression, host OS, name */
            if (crypt < 0 || !rar5_vint(p, end, &i, &fflags) || !rar5_vint(p, end, &i, &skip) ||
                !rar5_vint(p, end, &i, &skip))
                break;
            i += ((fflags & 0x02) ? 4 : 0) + ((fflags & 0x04) ? 4 : 0);
            if (i > end || !rar5_vint(p, end, &i, &skip) || !rar5_vint(p, end, &i, &skip) ||
                !rar5_vint(p, end, &i, &nsize) || nsize > end - i)
                break;
            if (name && nsize == nlen && !memcmp(p + i, name, nlen)) {
                if (next)
                    *next = data > len - end ? len : end + (size_t)data;
                return crypt ? R5_ENCRYPTED : R5_PLAIN;
            }
            if (!name && crypt)
                return R5_ENCRYPTED;
        }
        if (data > len - end)
            break;
        pos = end + (size_t)data;
    }
    if (next)
        *next = len;
    return R5_UNKNOWN;
}

/* Whether the current member of a RAR 5 archive is encrypted, or cannot be
 * told (R5_UNKNOWN). The whole chain is walked once; only when it shows an
 * encrypted member or breaks is each member looked up by name, in order. */
static int rar5_member(arc *c, const char *name)
{
    if (c->rar5 == R5_UNSET)
        c->rar5 = rar5_check(c->in, c->in_len, NULL, NULL);
    if (c->rar5 == R5_PLAIN)
        return R5_PLAIN;
    return rar5_check(c->in, c->in_len, name, &c->rar5_next);
}

enum { GO_ON, STOP_ARCHIVE, END_JOB };

/* Reads the current member into c->buf. Returns its length, or -1 after
 * reporting why it was not read. *stop says whether to go on with the next
 * member, stop this archive (a fatal error, its total ratio), or end the job
 * (a job-wide limit). A member cut by an error mid-way is still returned,
 * with the error reported, so what was read of it is inspected. */
static int64_t read_member(arc *c, const char *name, int *stop)
{
    const ex_limits *l = ex_job_limits(c->j);
    uint64_t left = ex_job_unpacked_left(c->j);
    uint64_t cap = l->member_bytes < left ? l->member_bytes : left;
    int64_t in0 = archive_filter_bytes(c->a, -1);
    size_t len = 0;
    char why[256];

    for (;;) {
        la_ssize_t n;
        uint64_t in;
        if (len == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : FIRST_CAP;
            unsigned char *q;
            if (len >= cap) {
                bool member = cap == l->member_bytes;
                snprintf(why, sizeof why, "member larger than %llu bytes (limit %s)",
                         (unsigned long long)cap, member ? "member_bytes" : "unpacked_bytes");
                ex_uninspectable(c->j, name, member ? "limit.member_bytes" : "limit.unpacked_bytes",
                                 why, false);
                *stop = member ? GO_ON : END_JOB;
                return -1;
            }
            if (nc > cap)
                nc = (size_t)cap;
            q = realloc(c->buf, nc);
            if (!q) {
                ex_uninspectable(c->j, name, "limit.memory", "out of memory unpacking", false);
                *stop = END_JOB;
                return -1;
            }
            c->buf = q;
            c->cap = nc;
        }
        n = archive_read_data(c->a, c->buf + len,
                              c->cap - len < READ_CHUNK ? c->cap - len : READ_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            bool enc = encryption_error(c->a);
            snprintf(why, sizeof why, "%s",
                     archive_error_string(c->a) ? archive_error_string(c->a) : "read error");
            ex_uninspectable(c->j, name, enc ? "encrypted" : error_kind(c->a), why, false);
            *stop = n == ARCHIVE_FATAL ? STOP_ARCHIVE : GO_ON;
            return enc ? -1 : (int64_t)len;
        }
        len += (size_t)n;
        c->out += (uint64_t)n;
        in = (uint64_t)(archive_filter_bytes(c->a, -1) - in0);
        if (len > RATIO_FLOOR && len / (in ? in : 1) > l->ratio) {
            snprintf(why, sizeof why,
                     "member unpacks to more than %u times its compressed size (limit ratio)",
                     (unsigned)l->ratio);
            ex_uninspectable(c->j, name, "limit.ratio", why, false);
            return -1;
        }
        if (c->out > RATIO_FLOOR && c->out / (c->in_len ? c->in_len : 1) > l->ratio) {
            snprintf(why, sizeof why,
                     "archive unpacks to more than %u times its size (limit ratio)",
                     (unsigned)l->ratio);
            ex_uninspectable(c->j, name, "limit.ratio", why, false);
            *stop = STOP_ARCHIVE;
            return -1;
        }
        if (!ex_job_ms_left(c->j)) {
            ex_uninspectable(c->j, name, "limit.total_ms", "the time for this file ran out", false);
            *stop = END_JOB;
            return -1;
        }
    }
    return (int64_t)len;
}

/* Walks the members. Returns 0, or -1 when the job must end. */
static int walk(arc *c)
{
    const ex_limits *l = ex_job_limits(c->j);
    struct archive_entry *e;
    char why[320];
    int r;

    while ((r = archive_read_next_header(c->a, &e)) != ARCHIVE_EOF) {
        const char *name;
        int stop = GO_ON;
        int64_t n;

        if (r == ARCHIVE_FATAL || r == ARCHIVE_FAILED) {
            bool enc = encryption_error(c->a) || archive_read_has_encrypted_entries(c->a) > 0;
            snprintf(why, sizeof why, "%s",
                     archive_error_string(c->a) ? archive_error_string(c->a) : "unreadable");
            return ex_uninspectable(c->j, NULL, enc ? "encrypted" : error_kind(c->a), why,
                                    c->entries == 0);
        }
        if (ex_job_broken(c->j))
            return -1;
        if (++c->entries > l->entries) {
            snprintf(why, sizeof why, "more than %u members (limit entries)", (unsigned)l->entries);
            return ex_uninspectable(c->j, NULL, "limit.entries", why, false);
        }
        name = archive_entry_pathname_utf8(e);
        if (!name)
            name = archive_entry_pathname(e);
        if (!name || !*name)
            name = "?";
        if (archive_entry_filetype(e) != AE_IFREG)
            continue; /* directories, links, devices: no content of their own */
        if (archive_entry_is_encrypted(e)) {
            if (ex_uninspectable(c->j, name, "encrypted", "encrypted member (password needed)",
                                 false))
                return -1;
            continue;
        }
        if (archive_format(c->a) == ARCHIVE_FORMAT_RAR_V5) {
            const char *u = archive_entry_pathname_utf8(e);
            int r5 = u ? rar5_member(c, u) : R5_UNKNOWN;
            if (r5 == R5_ENCRYPTED && ex_uninspectable(c->j, name, "encrypted",
                                                       "encrypted member (password needed)", false))
                return -1;
            if (r5 == R5_UNKNOWN &&
                ex_uninspectable(c->j, name, "unsupported",
                                 "RAR 5 member whose header is not in the archive's own bytes, "
                                 "so whether it is encrypted cannot be told",
                                 false))
                return -1;
            if (r5 != R5_PLAIN)
                continue;
        }
        n = read_member(c, name, &stop);
        if (n >= 0 && ex_recurse(c->j, name, c->buf, (size_t)n))
            return -1;
        if (stop != GO_ON)
            return stop == END_JOB ? -1 : 0;
        /* a member's buffer is not kept past a large one */
        if (c->cap > ((size_t)4 << 20)) {
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
        }
    }
    return 0;
}

int ex_archive(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    arc c = {0};
    int rc = -1;

    c.j = j;
    c.in = data;
    c.in_len = len;
    c.rar5 = R5_UNSET;
    c.a = archive_read_new();
    if (!c.a)
        return ex_uninspectable(j, NULL, "limit.memory", "out of memory", true);
    enable_formats(c.a, mime);
    if (archive_read_open_memory2(c.a, data, len, READ_BLOCK) != ARCHIVE_OK) {
        char why[320];
        bool enc = encryption_error(c.a);
        snprintf(why, sizeof why, "%s",
                 archive_error_string(c.a) ? archive_error_string(c.a) : "not an archive");
        rc = ex_uninspectable(j, NULL, enc ? "encrypted" : error_kind(c.a), why, true);
        goto out;
    }
    rc = walk(&c);
out:
    archive_read_free(c.a);
    free(c.buf);
    return rc;
}
