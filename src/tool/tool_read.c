/*
 * tool_read.c — reading one item and inspecting it (see tool_read.h).
 */
#include "tool_read.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How often a reader blocked on a pipe looks at the stop flag. */
#define STOP_POLL_MS 200

/* Where an item's bytes come from once the first ones are in memory. */
typedef struct source {
    int fd;
    bool seekable; /* a regular file: can be read again with pread */
    off_t base;    /* where the content starts in fd (stdin may be mid-file) */
} source;

static void set_error(tool_outcome *oc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(tool_outcome *oc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(oc->error, sizeof oc->error, fmt, ap);
    va_end(ap);
}

static bool stopping(const tool_reader *rd)
{
    return rd->stop && *rd->stop;
}

static void count_progress(tool_reader *rd, size_t n)
{
    if (rd->progress_bytes)
        atomic_fetch_add_explicit(rd->progress_bytes, n, memory_order_relaxed);
}

/* Reads until `want` bytes or end of input. Returns the count, or -1 with
 * errno set (EINTR when a signal asked to stop). A pipe may stay silent for
 * ever, and a signal may be delivered to another thread than the one
 * reading, so for a source that can block (`can_block`) the reader waits in
 * poll() with a timeout and looks at the stop flag in between. */
static ssize_t read_full(tool_reader *rd, int fd, char *buf, size_t want, bool can_block)
{
    size_t got = 0;

    while (got < want) {
        ssize_t n;
        if (stopping(rd)) {
            errno = EINTR;
            return -1;
        }
        if (can_block && rd->stop) {
            struct pollfd p = {fd, POLLIN, 0};
            int k = poll(&p, 1, STOP_POLL_MS);
            if (k < 0 && errno != EINTR)
                return -1;
            if (k <= 0)
                continue;
        }
        n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

guard_err tool_reader_init(tool_reader *rd, guard_ruleset *rs, guard_scope scope, guard_error *err)
{
    guard_err rc;

    memset(rd, 0, sizeof *rd);
    rd->rs = rs;
    rd->scope = scope;
    rd->chunk = malloc(TOOL_CHUNK);
    if (!rd->chunk) {
        err->code = GUARD_ENOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return GUARD_ENOMEM;
    }
    rc = guard_scanner_new(&rd->sc, err);
    if (rc) {
        free(rd->chunk);
        rd->chunk = NULL;
    }
    return rc;
}

void tool_reader_free(tool_reader *rd)
{
    guard_scanner_free(rd->sc);
    free(rd->chunk);
    memset(rd, 0, sizeof *rd);
}

void tool_outcome_clear(tool_outcome *oc)
{
    guard_result_free(oc->r);
    free(oc->pos);
    memset(oc, 0, sizeof *oc);
}

/* Positions from the bytes in memory (the whole input). */
static int positions_from_buffer(tool_outcome *oc, const char *p, size_t n)
{
    tool_pos_sweep w;

    if (!oc->r->n_findings)
        return 0;
    oc->pos = malloc(oc->r->n_findings * sizeof *oc->pos);
    if (!oc->pos || tool_pos_sweep_begin(&w, oc->r, oc->pos))
        return -1;
    tool_pos_sweep_feed(&w, p, n);
    tool_pos_sweep_end(&w);
    return 0;
}

/* Positions by reading a regular file again, only as far as needed. */
static int positions_from_file(tool_reader *rd, tool_outcome *oc, const source *src)
{
    tool_pos_sweep w;
    uint64_t off = 0;

    if (!oc->r->n_findings)
        return 0;
    oc->pos = malloc(oc->r->n_findings * sizeof *oc->pos);
    if (!oc->pos || tool_pos_sweep_begin(&w, oc->r, oc->pos))
        return -1;
    while (tool_pos_sweep_need(&w) >= off) {
        ssize_t n = pread(src->fd, rd->chunk, TOOL_CHUNK, src->base + (off_t)off);
        if (n < 0 && errno == EINTR && !stopping(rd))
            continue;
        if (n <= 0)
            break; /* positions left unresolved stay unknown (0) */
        tool_pos_sweep_feed(&w, rd->chunk, (size_t)n);
        off += (uint64_t)n;
    }
    tool_pos_sweep_end(&w);
    return 0;
}

/* Feeds p[0..n) to the stream in TOOL_CHUNK pieces, indexing newlines when a
 * line index is kept. */
static guard_err feed(guard_stream *st, const char *p, size_t n, tool_line_index *li,
                      guard_error *err)
{
    guard_err rc = GUARD_OK;

    if (li)
        tool_line_index_feed(li, p, n);
    while (n && !rc) {
        size_t k = n < TOOL_CHUNK ? n : TOOL_CHUNK;
        rc = guard_stream_feed(st, p, k, err);
        p += k;
        n -= k;
    }
    return rc;
}

/* Streams an item: `prefix` (already read) first, then, when src is given,
 * the rest of src->fd. Positions come from the prefix when it is the whole
 * input, from a second pass over a regular file, or from a line index built
 * on the way for a pipe. */
static void scan_stream(tool_reader *rd, const char *prefix, size_t plen, const source *src,
                        tool_outcome *oc)
{
    guard_stream *st = NULL;
    guard_result *r = NULL;
    guard_error gerr = {0}, cerr = {0};
    tool_line_index li;
    tool_line_index *lip = NULL;
    guard_err rc, crc;
    bool read_failed = false;

    if (src && !src->seekable) {
        tool_line_index_init(&li, TOOL_LINE_MAX);
        lip = &li;
    }
    rc = guard_stream_open(rd->sc, rd->rs, rd->scope, &st, &gerr);
    if (rc)
        goto fail;
    rc = feed(st, prefix, plen, lip, &gerr);
    while (!rc && src) {
        ssize_t n = read_full(rd, src->fd, rd->chunk, TOOL_CHUNK, !src->seekable);
        if (n < 0) {
            if (stopping(rd))
                oc->interrupted = true;
            else
                set_error(oc, "read error after %llu bytes: %s", (unsigned long long)oc->bytes_read,
                          strerror(errno));
            read_failed = true;
            break;
        }
        if (n == 0)
            break;
        oc->bytes_read += (uint64_t)n;
        count_progress(rd, (size_t)n);
        rc = feed(st, rd->chunk, (size_t)n, lip, &gerr);
    }
    /* closing rules on what was fed even after a read error: the findings so
     * far are reported with the error, status partial */
    crc = guard_stream_close(st, &r, &cerr);
    if (!rc && crc) {
        rc = crc;
        gerr = cerr;
    }
    if (rc) {
        guard_result_free(r);
        goto fail;
    }
    oc->r = r;
    if (read_failed && oc->r->status == GUARD_STATUS_SCANNED)
        oc->r->status = GUARD_STATUS_PARTIAL;
    if (!src)
        rc = positions_from_buffer(oc, prefix, plen) ? GUARD_ENOMEM : GUARD_OK;
    else if (src->seekable)
        rc = positions_from_file(rd, oc, src) ? GUARD_ENOMEM : GUARD_OK;
    else if (oc->r->n_findings && (oc->pos = malloc(oc->r->n_findings * sizeof *oc->pos)))
        tool_line_index_resolve(&li, oc->r, oc->pos);
    else if (oc->r->n_findings)
        rc = GUARD_ENOMEM;
    if (rc)
        snprintf(gerr.message, sizeof gerr.message, "out of memory");
fail:
    if (rc && !oc->error[0])
        set_error(oc, "inspection failed: %s", gerr.message);
    if (lip)
        tool_line_index_free(lip);
}

/* Binary content: nothing to inspect as text yet, which the policy must
 * hear about as an uninspectable finding. */
static void scan_binary(tool_reader *rd, tool_outcome *oc)
{
    guard_error gerr = {0};
    guard_finding f = {0};
    guard_err rc;

    oc->binary = true;
    rc = guard_scan(rd->sc, rd->rs, "", 0, rd->scope, &oc->r, &gerr);
    if (rc)
        goto fail;
    f.rule = "uninspectable.binary";
    f.category = GUARD_CAT_UNINSPECTABLE;
    f.severity = GUARD_SEV_MEDIUM;
    f.confidence = 100;
    f.explanation = "binary content: no extractor for this file type yet";
    f.excerpt = "";
    rc = guard_result_add(oc->r, rd->rs, &f, rd->scope, &gerr);
    if (rc)
        goto fail;
    oc->r->status = GUARD_STATUS_UNSCANNABLE;
    if (!oc->r->n_findings)
        return;
    oc->pos = calloc(oc->r->n_findings, sizeof *oc->pos);
    if (!oc->pos) {
        snprintf(gerr.message, sizeof gerr.message, "out of memory");
        goto fail;
    }
    return;
fail:
    set_error(oc, "inspection failed: %s", gerr.message);
}

/* A regular file small enough to hold: read it whole and scan it at once. */
static void scan_whole(tool_reader *rd, const source *src, uint64_t size, size_t head,
                       tool_outcome *oc)
{
    /* one byte more than the size: notices a file that grew since fstat */
    size_t cap = (size_t)size > head ? (size_t)size + 1 : head + 1;
    guard_error gerr = {0};
    guard_err rc;
    ssize_t n;
    char *buf = malloc(cap);

    if (!buf) {
        set_error(oc, "out of memory reading %llu bytes", (unsigned long long)size);
        return;
    }
    memcpy(buf, rd->chunk, head);
    n = read_full(rd, src->fd, buf + head, cap - head, false);
    if (n < 0) {
        if (stopping(rd))
            oc->interrupted = true;
        else
            set_error(oc, "read error: %s", strerror(errno));
        goto out;
    }
    oc->bytes_read += (uint64_t)n;
    count_progress(rd, (size_t)n);
    if (head + (size_t)n == cap) {
        /* it grew: stream what is here and the rest */
        scan_stream(rd, buf, cap, src, oc);
        goto out;
    }
    rc = guard_scan(rd->sc, rd->rs, buf, head + (size_t)n, rd->scope, &oc->r, &gerr);
    if (rc == GUARD_EINVAL) {
        /* the policy's max_message_bytes caps messages, not files: a file
         * over it is inspected as a stream instead */
        scan_stream(rd, buf, head + (size_t)n, NULL, oc);
        goto out;
    }
    if (rc) {
        set_error(oc, "inspection failed: %s", gerr.message);
        goto out;
    }
    if (positions_from_buffer(oc, buf, head + (size_t)n))
        set_error(oc, "out of memory");
out:
    free(buf);
}

void tool_read_item(tool_reader *rd, const tool_item *it, size_t index, tool_outcome *oc)
{
    source src = {-1, false, 0};
    struct stat st;
    ssize_t head;

    memset(oc, 0, sizeof *oc);
    oc->index = index;
    oc->item = it;
    if (it->kind == TOOL_ITEM_ERROR) {
        set_error(oc, "%s: %s", it->what, strerror(it->err));
        return;
    }
    if (it->kind == TOOL_ITEM_STDIN) {
        src.fd = STDIN_FILENO;
    } else {
        src.fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (src.fd < 0) {
            set_error(oc, "cannot open: %s", strerror(errno));
            return;
        }
    }
    if (fstat(src.fd, &st)) {
        set_error(oc, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        set_error(oc, "is a directory");
        goto out;
    }
    src.seekable = S_ISREG(st.st_mode);
    if (src.seekable && it->kind == TOOL_ITEM_STDIN) {
        src.base = lseek(src.fd, 0, SEEK_CUR);
        if (src.base < 0)
            src.seekable = false;
    }
    head = read_full(rd, src.fd, rd->chunk, TOOL_SNIFF, !src.seekable);
    if (head < 0) {
        if (stopping(rd))
            oc->interrupted = true;
        else
            set_error(oc, "read error: %s", strerror(errno));
        goto out;
    }
    oc->bytes_read = (uint64_t)head;
    count_progress(rd, (size_t)head);
    if (memchr(rd->chunk, 0, (size_t)head))
        scan_binary(rd, oc);
    else if (it->kind == TOOL_ITEM_FILE && src.seekable && (uint64_t)st.st_size <= TOOL_WHOLE_MAX)
        scan_whole(rd, &src, (uint64_t)st.st_size, (size_t)head, oc);
    else
        scan_stream(rd, rd->chunk, (size_t)head, &src, oc);
out:
    if (src.fd != STDIN_FILENO)
        close(src.fd);
}

guard_err tool_read_buffer(tool_reader *rd, const char *p, size_t n, tool_outcome *oc,
                           guard_error *err)
{
    guard_err rc;

    memset(oc, 0, sizeof *oc);
    rc = guard_scan(rd->sc, rd->rs, n ? p : "", n, rd->scope, &oc->r, err);
    if (rc)
        return rc;
    oc->bytes_read = n;
    if (positions_from_buffer(oc, p, n)) {
        err->code = GUARD_ENOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return GUARD_ENOMEM;
    }
    return GUARD_OK;
}
