/*
 * tool_read.c — reading one item and inspecting it (see tool_read.h).
 *
 * Files go through the file guard (cordon/guard_file.h), which reads plain
 * text in this process and everything else in a sandboxed worker; this file
 * opens the item, hands it over and works out line and column of findings
 * in the file's own bytes.
 */
#include "tool_read.h"

#include "cordon/guard_file.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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

/* The findings in the file's own bytes (location NULL: plain text read in
 * process) as a view of r, for the position sweep; extracted text (a zip
 * member, a decoded UTF-16 file) has offsets into that text, not the file,
 * so its findings get no line and column. Fills idx with their indexes in r.
 * Returns the count, or -1 when out of memory. */
static ssize_t plain_view(const guard_result *r, guard_result *view, guard_finding **sub,
                          size_t **idx)
{
    size_t k = 0;

    *sub = NULL;
    *idx = NULL;
    for (size_t i = 0; i < r->n_findings; i++)
        k += !r->findings[i].location;
    if (!k)
        return 0;
    *sub = malloc(k * sizeof **sub);
    *idx = malloc(k * sizeof **idx);
    if (!*sub || !*idx)
        return -1;
    k = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        if (r->findings[i].location)
            continue;
        (*sub)[k] = r->findings[i];
        (*idx)[k++] = i;
    }
    *view = *r;
    view->findings = *sub;
    view->n_findings = k;
    return (ssize_t)k;
}

/* Line and column of the plain-text findings: from the bytes the guard
 * handed back (text, when it read the file as one block), else by reading
 * a regular file again (only as far as needed), else from the line index
 * of a pipe. */
static int positions(tool_reader *rd, tool_outcome *oc, const source *src,
                     const tool_line_index *li, const char *text, size_t text_len)
{
    guard_result view;
    guard_finding *sub = NULL;
    size_t *idx = NULL;
    tool_pos *sp = NULL;
    tool_pos_sweep w;
    uint64_t off = 0;
    ssize_t k;
    int rc = -1;

    if (!oc->r->n_findings)
        return 0;
    oc->pos = calloc(oc->r->n_findings, sizeof *oc->pos);
    if (!oc->pos)
        return -1;
    k = plain_view(oc->r, &view, &sub, &idx);
    if (k <= 0 || (!text && !src->seekable && !li)) {
        rc = k < 0 ? -1 : 0;
        goto out;
    }
    sp = calloc((size_t)k, sizeof *sp);
    if (!sp)
        goto out;
    if (text) {
        if (tool_pos_sweep_begin(&w, &view, sp))
            goto out;
        tool_pos_sweep_feed(&w, text, text_len);
        tool_pos_sweep_end(&w);
    } else if (!src->seekable) {
        tool_line_index_resolve(li, &view, sp);
    } else {
        if (tool_pos_sweep_begin(&w, &view, sp))
            goto out;
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
    }
    for (ssize_t i = 0; i < k; i++)
        oc->pos[idx[i]] = sp[i];
    rc = 0;
out:
    free(sub);
    free(idx);
    free(sp);
    return rc;
}

/* A pipe's bytes go to the guard through a second pipe, indexing newlines
 * on the way: they cannot be read again for positions. */
typedef struct pipe_tee {
    tool_reader *rd;
    int in, out;
    tool_line_index li;
    uint64_t bytes;
    int err; /* errno of a read error, 0 */
} pipe_tee;

static void *tee_main(void *arg)
{
    pipe_tee *t = arg;
    sigset_t pipe_set;

    /* a guard that stops reading (file_bytes) must not kill the process:
     * SIGPIPE from this thread's write stays pending and is discarded when
     * the thread ends, and write() returns EPIPE */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    for (;;) {
        ssize_t n = read_full(t->rd, t->in, t->rd->chunk, TOOL_CHUNK, true);
        size_t off = 0;
        if (n < 0) {
            t->err = errno;
            break;
        }
        if (n == 0)
            break;
        tool_line_index_feed(&t->li, t->rd->chunk, (size_t)n);
        t->bytes += (uint64_t)n;
        count_progress(t->rd, (size_t)n);
        while (off < (size_t)n) {
            ssize_t w = write(t->out, t->rd->chunk + off, (size_t)n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                goto done;
            off += (size_t)w;
        }
    }
done:
    close(t->out);
    t->out = -1;
    return NULL;
}

/* Inspects src->fd with the file guard; for a pipe, through a tee. */
static void inspect(tool_reader *rd, const tool_item *it, const source *src, uint64_t size,
                    tool_outcome *oc)
{
    guard_file_options opt = {0};
    guard_file_info info = {0};
    guard_error gerr = {0};
    guard_err rc;
    pipe_tee t = {0};
    pthread_t th;
    bool teeing = false;
    int p[2] = {-1, -1};
    const char *base = strrchr(it->path, '/');

    opt.name = it->kind == TOOL_ITEM_STDIN ? "-" : base && base[1] ? base + 1 : it->path;
    opt.scope = rd->scope;
    opt.keep_text = true;
    if (src->seekable) {
        rc = guard_file_scan_fd(rd->sc, rd->rs, src->fd, &opt, &oc->r, &info, &gerr);
        oc->bytes_read = size;
        count_progress(rd, (size_t)size);
    } else {
        if (pipe2(p, O_CLOEXEC)) {
            set_error(oc, "cannot create a pipe: %s", strerror(errno));
            return;
        }
        t.rd = rd;
        t.in = src->fd;
        t.out = p[1];
        tool_line_index_init(&t.li, TOOL_LINE_MAX);
        if (pthread_create(&th, NULL, tee_main, &t)) {
            set_error(oc, "cannot start a thread");
            close(p[0]);
            close(p[1]);
            tool_line_index_free(&t.li);
            return;
        }
        teeing = true;
        rc = guard_file_scan_fd(rd->sc, rd->rs, p[0], &opt, &oc->r, &info, &gerr);
        close(p[0]); /* unblocks the tee if the guard stopped early */
        pthread_join(th, NULL);
        oc->bytes_read = t.bytes;
        if (t.err && !rc) {
            if (stopping(rd))
                oc->interrupted = true;
            else
                set_error(oc, "read error after %llu bytes: %s", (unsigned long long)t.bytes,
                          strerror(t.err));
            if (oc->r->status == GUARD_STATUS_SCANNED)
                oc->r->status = GUARD_STATUS_PARTIAL;
        }
    }
    if (rc) {
        set_error(oc, "inspection failed: %s", gerr.message);
    } else if (positions(rd, oc, src, teeing ? &t.li : NULL, info.text, info.text_len)) {
        set_error(oc, "out of memory");
    }
    free(info.text);
    if (teeing)
        tool_line_index_free(&t.li);
}

void tool_read_item(tool_reader *rd, const tool_item *it, size_t index, tool_outcome *oc)
{
    source src = {-1, false, 0};
    struct stat st;
    uint64_t size = 0;

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
    if (src.seekable) {
        src.base = lseek(src.fd, 0, SEEK_CUR);
        if (src.base < 0)
            src.seekable = false;
        else if ((uint64_t)st.st_size > (uint64_t)src.base)
            size = (uint64_t)st.st_size - (uint64_t)src.base;
    }
    if (stopping(rd)) {
        oc->interrupted = true;
        goto out;
    }
    inspect(rd, it, &src, size, oc);
out:
    if (src.fd != STDIN_FILENO)
        close(src.fd);
}

guard_err tool_read_buffer(tool_reader *rd, const char *p, size_t n, tool_outcome *oc,
                           guard_error *err)
{
    guard_err rc;

    memset(oc, 0, sizeof *oc);
    /* As the server inspects a message: files pasted into it as base64 or
     * data: URLs are inspected as the files they are. */
    rc = guard_file_scan_message(rd->sc, rd->rs, n ? p : "", n, rd->scope, NULL, &oc->r, err);
    if (rc)
        return rc;
    oc->bytes_read = n;
    /* a file pasted into the message has offsets into its own bytes */
    if (positions(rd, oc, &(source){0}, NULL, p, n)) {
        err->code = GUARD_ENOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return GUARD_ENOMEM;
    }
    return GUARD_OK;
}
