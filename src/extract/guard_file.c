/*
 * guard_file.c — the caller's side of the file guard (cordon/guard_file.h).
 *
 * A file takes one of two roads:
 *   - plain UTF-8 text (ex_text_is_plain on its head: no NUL, valid UTF-8,
 *     no markup) is scanned here, in the caller's process, streamed: no
 *     worker, no copy, the same speed as the text guard itself;
 *   - anything else goes to a worker process (the host executable started
 *     again, ex_worker.c) that detects the type, extracts, and sends framed
 *     records back over a pipe (ex_core_proto.h). Every text segment is fed
 *     through the text guard here, its findings tagged with the segment's
 *     location, and merged with the worker's own findings into one result.
 *
 * The worker is started with posix_spawn (fork+exec: it shares no memory,
 * and so no secrets, with the caller), gets the input as fd 0 (the caller's
 * file, or a memfd/temporary file for bytes in memory and pipes) and is
 * killed when the file's total_ms runs out. A worker that dies, sends a
 * frame that does not parse, or stops mid-stream is a crash: the file gets
 * an uninspectable.crash finding and the caller goes on.
 *
 * Memory: a segment is buffered up to SEG_BLOCK and scanned as a block;
 * beyond, it is streamed (guard_stream_*), so a file of any size costs at
 * most SEG_BLOCK + IO_CHUNK + the guard's stream state (docs/FILES.md).
 */
#include "base/base_file.h"
#include "cordon/guard_file.h"
#include "ex_core.h"
#include "ex_core_proto.h"
#include "gf_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SEG_BLOCK ((size_t)16 * 1024 * 1024) /* segments up to this are block-scanned */
#define IO_CHUNK  ((size_t)1024 * 1024)      /* reads of plain text and spooling */
#define SNIFF     ((size_t)64 * 1024)        /* head that decides the road */
#define RBUF_CAP  ((size_t)256 * 1024)       /* frames from the worker */

typedef struct gf_ctx {
    guard_scanner *s;
    guard_ruleset *rs;
    guard_scope scope;
    const guard_limits *lim;
    const char *root;
    guard_result *r; /* the merged result */
    guard_file_info *info;
    guard_error *err;
    guard_error own_err; /* when the caller gave none */
    /* the open segment */
    bool in_seg;
    char *loc; /* NULL: the file itself, read in process */
    char *seg;
    size_t seg_len, seg_cap;
    guard_stream *st;
    bool keep_text; /* hand the plain block back (guard_file_options) */
    void (*on_text)(void *arg, const char *location, const char *text, size_t len);
    void *on_text_arg;
    bool stop_at_block;    /* guard_file_options */
    guard_file_pool *pool; /* guard_file_options */
    bool wants_ocr;        /* the head says image: the pool's OCR-ready worker */
    size_t kept_len;       /* > 0: c->seg holds the plain block, kept */
    /* the OCR text handed back (guard_file_options.ocr_text_max) */
    size_t ocr_max;
    char *ocr;
    size_t ocr_len;
    bool ocr_seg, ocr_cut;
    /* totals */
    uint64_t text_bytes, invalid, dropped;
    bool any_text, any_partial, root_whole, fatal;
} gf_ctx;

typedef struct gf_worker {
    pid_t pid;
    int fd; /* read end of the frame pipe */
    unsigned char *buf;
    size_t pos, len;
    struct timespec deadline;
} gf_worker;

static guard_err fail(guard_error *err, guard_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static guard_err fail(guard_error *err, guard_err code, const char *fmt, ...)
{
    va_list ap;
    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- merging ------------------------------------------------------------- */

/* Adds one finding to the merged result. */
static guard_err add(gf_ctx *c, const guard_finding *f)
{
    guard_err rc = guard_result_add(c->r, c->rs, f, c->scope, c->err);
    if (rc)
        c->fatal = true;
    return rc;
}

void ex_uninspectable_finding(guard_finding *f, char *rule, size_t cap, const char *reason,
                              const char *why, const char *location)
{
    memset(f, 0, sizeof *f);
    snprintf(rule, cap, "uninspectable.%s", reason);
    f->rule = rule;
    f->category = GUARD_CAT_UNINSPECTABLE;
    f->severity = GUARD_SEV_MEDIUM;
    f->confidence = 100;
    f->explanation = why;
    f->excerpt = "";
    f->location = location;
}

static guard_err add_uninspectable(gf_ctx *c, const char *reason, const char *why, bool whole)
{
    char rule[96];
    guard_finding f;

    ex_uninspectable_finding(&f, rule, sizeof rule, reason, why, c->root);
    if (whole)
        c->root_whole = true;
    c->any_partial = true;
    return add(c, &f);
}

/* Moves a segment's findings into the merged result with its location.
 * The plain-text road has one segment and no location: its result simply
 * becomes the merged one; other segments' findings are added in one
 * guard_result_add_many() call each, which applies the policy once. Takes
 * ownership of *sub. */
static guard_err merge(gf_ctx *c, guard_result **subp)
{
    guard_result *sub = *subp;
    guard_err rc = GUARD_OK;

    if (!c->loc && c->r->n_findings == 0 && !c->any_text) {
        guard_result_free(c->r);
        c->r = sub;
        *subp = NULL;
    } else {
        c->dropped += sub->findings_dropped;
    }
    if (c->r != sub && sub->n_findings) {
        rc = guard_result_add_many(c->r, c->rs, sub->findings, sub->n_findings, c->loc, c->scope,
                                   c->err);
        if (rc)
            c->fatal = true;
    }
    c->text_bytes += sub->bytes;
    c->invalid += sub->invalid_utf8;
    c->any_text = true;
    if (sub->status != GUARD_STATUS_SCANNED)
        c->any_partial = true;
    if (c->info) {
        c->info->parts++;
        c->info->bytes_text += sub->bytes;
    }
    return rc;
}

/* ---- segments ---------------------------------------------------------------- */

/* A page read by OCR: "IMG.jpg!ocr", "a.pdf!page 2 ocr" (not the "ocr
 * header" re-reads, which repeat lines of the page). */
static bool is_ocr_loc(const char *loc)
{
    size_t n = loc ? strlen(loc) : 0;

    return n >= 3 && !strcmp(loc + n - 3, "ocr") &&
           (n == 3 || loc[n - 4] == ' ' || loc[n - 4] == '!');
}

/* Appends to the kept OCR text, up to ocr_max; what is over is dropped
 * and flagged (the guard still inspects all of it). Out of memory drops
 * it too: the text is a courtesy, the verdict is not. */
static void ocr_keep(gf_ctx *c, const char *p, size_t n)
{
    char *q;

    if (n > c->ocr_max - c->ocr_len) {
        n = c->ocr_max - c->ocr_len;
        c->ocr_cut = true;
    }
    if (!n)
        return;
    q = realloc(c->ocr, c->ocr_len + n + 1);
    if (!q) {
        c->ocr_cut = true;
        return;
    }
    c->ocr = q;
    memcpy(c->ocr + c->ocr_len, p, n);
    c->ocr_len += n;
    c->ocr[c->ocr_len] = 0;
}

static guard_err seg_begin(gf_ctx *c, const char *loc, size_t loc_len)
{
    free(c->loc);
    c->loc = NULL;
    if (loc) {
        c->loc = malloc(loc_len + 1);
        if (!c->loc)
            return fail(c->err, GUARD_ENOMEM, "out of memory");
        memcpy(c->loc, loc, loc_len);
        c->loc[loc_len] = 0;
    }
    c->in_seg = true;
    c->seg_len = 0;
    c->ocr_seg = c->ocr_max && is_ocr_loc(c->loc);
    if (c->ocr_seg && c->ocr_len)
        ocr_keep(c, "\n", 1); /* the next page */
    return GUARD_OK;
}

/* Makes room for `n` more bytes in the block segment (n <= SEG_BLOCK -
 * seg_len). */
/* The on_text hook (guard_file_options) for a piece of the open segment. */
static void text_seen(gf_ctx *c, const char *p, size_t n)
{
    if (c->on_text && n)
        c->on_text(c->on_text_arg, c->loc ? c->loc : c->root, p, n);
}

static guard_err seg_reserve(gf_ctx *c, size_t n)
{
    size_t nc = c->seg_cap ? c->seg_cap : 65536;
    char *q;

    if (c->seg_len + n <= c->seg_cap)
        return GUARD_OK;
    while (nc < c->seg_len + n)
        nc = nc > SEG_BLOCK / 2 ? SEG_BLOCK : nc * 2;
    q = realloc(c->seg, nc);
    if (!q)
        return fail(c->err, GUARD_ENOMEM, "out of memory");
    c->seg = q;
    c->seg_cap = nc;
    return GUARD_OK;
}

static guard_err seg_data(gf_ctx *c, const char *p, size_t n)
{
    guard_err rc;

    if (n == 0)
        return GUARD_OK; /* an empty file: nothing to copy (p may be NULL) */
    if (c->ocr_seg)
        ocr_keep(c, p, n);
    if (c->st) {
        text_seen(c, p, n);
        return guard_stream_feed(c->st, p, n, c->err);
    }
    if (n <= SEG_BLOCK - c->seg_len) {
        rc = seg_reserve(c, n);
        if (rc)
            return rc;
        memcpy(c->seg + c->seg_len, p, n);
        c->seg_len += n;
        return GUARD_OK;
    }
    /* too big for a block: stream what is buffered and everything after */
    text_seen(c, c->seg, c->seg_len);
    text_seen(c, p, n);
    rc = guard_stream_open(c->s, c->rs, c->scope, &c->st, c->err);
    if (!rc && c->seg_len)
        rc = guard_stream_feed(c->st, c->seg, c->seg_len, c->err);
    c->seg_len = 0;
    if (!rc)
        rc = guard_stream_feed(c->st, p, n, c->err);
    return rc;
}

static guard_err seg_end(gf_ctx *c)
{
    guard_result *sub = NULL;
    guard_err rc;

    c->in_seg = false;
    if (c->st) {
        rc = guard_stream_close(c->st, &sub, c->err);
        c->st = NULL;
    } else {
        text_seen(c, c->seg, c->seg_len);
        rc = guard_scan(c->s, c->rs, c->seg_len ? c->seg : "", c->seg_len, c->scope, &sub, c->err);
        if (rc == GUARD_EINVAL) {
            /* over the policy's max_message_bytes: a stream takes any size */
            guard_error e2 = {0};
            guard_err rc2;
            rc = guard_stream_open(c->s, c->rs, c->scope, &c->st, c->err);
            if (!rc)
                rc = guard_stream_feed(c->st, c->seg, c->seg_len, c->err);
            if (c->st) {
                rc2 = guard_stream_close(c->st, &sub, &e2);
                c->st = NULL;
                if (!rc && rc2) {
                    rc = rc2;
                    *c->err = e2;
                }
            }
        }
    }
    c->seg_len = 0;
    if (!rc)
        rc = merge(c, &sub);
    guard_result_free(sub);
    if (rc)
        c->fatal = true;
    return rc;
}

/* Drops the open segment unscanned (the file takes the other road). */
static void seg_abandon(gf_ctx *c)
{
    if (c->st) {
        guard_result *sub = NULL;
        guard_error e2 = {0};
        guard_stream_close(c->st, &sub, &e2);
        guard_result_free(sub);
        c->st = NULL;
    }
    c->in_seg = false;
    c->seg_len = 0;
}

/* ---- the in-process road: plain text ------------------------------------- */

/* Where the next read of scan_plain() goes: straight into the block
 * segment while it has room (a copy less per byte: the memcpy from a read
 * buffer was 4% of a scan of plain text), else into *buf (allocated here),
 * from which seg_data() streams. `left` is what the file's size says is
 * still to come (when `known`): the segment is sized for it at once. */
static guard_err read_target(gf_ctx *c, bool known, uint64_t left, char **buf, char **dst,
                             size_t *room)
{
    guard_err rc;

    if (!c->st && c->seg_len < SEG_BLOCK) {
        size_t want = known && left < SEG_BLOCK ? (size_t)left + 1 : IO_CHUNK;
        if (want > SEG_BLOCK - c->seg_len)
            want = SEG_BLOCK - c->seg_len;
        rc = seg_reserve(c, want);
        if (rc)
            return rc;
        *dst = c->seg + c->seg_len;
        *room = c->seg_cap - c->seg_len; /* seg_cap <= SEG_BLOCK */
        return GUARD_OK;
    }
    if (!*buf && !(*buf = malloc(IO_CHUNK)))
        return fail(c->err, GUARD_ENOMEM, "out of memory");
    *dst = *buf;
    *room = IO_CHUNK;
    return GUARD_OK;
}

/* Scans head and then the rest of fd (when fd >= 0) as one segment, up to
 * file_bytes; `size` is the file's size when known, else 0. When `retreat`
 * is given and binary turns up after the head, stops with *retreat set and
 * nothing scanned. */
static guard_err scan_plain(gf_ctx *c, const char *head, size_t n, int fd, uint64_t size,
                            bool *retreat)
{
    uint64_t total = n, cap = c->lim->file_bytes;
    char *buf = NULL;
    bool cut = false, mixed = false;
    guard_err rc = seg_begin(c, NULL, 0);

    if (!rc && n > cap) {
        n = (size_t)cap;
        cut = true;
    }
    if (!rc)
        rc = seg_data(c, head, n);
    while (!rc && fd >= 0 && !cut) {
        char *dst = NULL;
        size_t room = 0;
        ssize_t k;
        rc = read_target(c, size != 0, size > total ? size - total : 0, &buf, &dst, &room);
        if (rc)
            break;
        k = read(fd, dst, room);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            char why[160];
            snprintf(why, sizeof why, "read error after %llu bytes: %s", (unsigned long long)total,
                     strerror(errno));
            rc = seg_end(c);
            if (!rc)
                rc = add_uninspectable(c, "io", why, false);
            goto out;
        }
        if (k == 0)
            break;
        if ((uint64_t)k > cap - total) {
            k = (ssize_t)(cap - total);
            cut = true;
        }
        total += (uint64_t)k;
        if (!mixed && memchr(dst, 0, (size_t)k)) {
            /* binary after a text head: a zip behind 64 KiB of text must
             * not pass as text. A regular file goes to the worker instead
             * (*retreat); a pipe cannot be read again, so it is inspected
             * as text and reported. */
            if (retreat) {
                *retreat = true;
                seg_abandon(c);
                goto out;
            }
            mixed = true;
        }
        if (dst == buf)
            rc = seg_data(c, buf, (size_t)k);
        else
            c->seg_len += (size_t)k;
    }
    if (!rc) {
        size_t block = c->st ? 0 : c->seg_len;
        rc = seg_end(c);
        if (!rc && c->keep_text)
            c->kept_len = block; /* seg_end() leaves the bytes in c->seg */
    }
    if (!rc && mixed)
        rc = add_uninspectable(c, "binary",
                               "binary data after a text head in a stream: inspected as text only",
                               false);
    if (!rc && cut) {
        char why[160];
        snprintf(why, sizeof why, "only the first %llu bytes were inspected (limit file_bytes)",
                 (unsigned long long)cap);
        rc = add_uninspectable(c, "limit.file_bytes", why, false);
    }
out:
    free(buf);
    return rc;
}

/* ---- the worker road ----------------------------------------------------------- */

/* The environment for the worker: the caller's, with OMP_THREAD_LIMIT=1
 * (libgomp reads it at load time: one OCR job, one thread). */
char **gf_worker_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_THREAD_LIMIT=", 17))
            env[k++] = environ[i];
    env[k++] = (char *)"OMP_THREAD_LIMIT=1";
    env[k] = NULL;
    return env;
}

void gf_limits_arg(const guard_limits *l, char *out, size_t cap)
{
    snprintf(out, cap, "%llu,%llu,%llu,%u,%u,%u,%llu,%u,%u,%llu,%u",
             (unsigned long long)l->file_bytes, (unsigned long long)l->unpacked_bytes,
             (unsigned long long)l->member_bytes, (unsigned)l->ratio, (unsigned)l->entries,
             (unsigned)l->depth, (unsigned long long)l->pixels, (unsigned)l->ocr_ms,
             (unsigned)l->total_ms, (unsigned long long)l->memory_bytes, l->ocr ? 1u : 0u);
}

/* Starts a worker reading in_fd from `offset`; for strip mode, out_fd is its
 * fd 3. Returns GUARD_OK with w->pid and w->fd set. */
static guard_err spawn(gf_worker *w, const char *exe, const char *mode, const guard_limits *l,
                       const char *root, int in_fd, uint64_t offset, int out_fd, guard_error *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    char lim[256], off[32];
    char *argv[7];
    char **env = gf_worker_env();
    int p[2] = {-1, -1}, e;
    guard_err rc = GUARD_EIO;

    w->pid = -1;
    w->fd = -1;
    if (!env)
        return fail(err, GUARD_ENOMEM, "out of memory");
    gf_limits_arg(l, lim, sizeof lim);
    snprintf(off, sizeof off, "%llu", (unsigned long long)offset);
    argv[0] = (char *)exe;
    argv[1] = (char *)GUARD_FILE_WORKER_ARG;
    argv[2] = (char *)mode;
    argv[3] = lim;
    argv[4] = (char *)root;
    argv[5] = off;
    argv[6] = NULL;
    if (pipe2(p, O_CLOEXEC)) {
        free(env);
        return fail(err, GUARD_EIO, "cannot create a pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigfillset(&all);
    /* the worker starts with default signal handling and nothing blocked,
     * whatever the caller's threads have set up */
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 3);
    e = posix_spawn(&w->pid, exe, &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(env);
    close(p[1]);
    if (e) {
        close(p[0]);
        w->pid = -1;
        return fail(err, GUARD_EIO, "cannot start the extraction worker %s: %s", exe, strerror(e));
    }
    w->fd = p[0];
    rc = GUARD_OK;
    return rc;
}

/* Milliseconds until the deadline (0 when past). */
static int ms_left(const struct timespec *d)
{
    struct timespec t;
    int64_t ms;

    clock_gettime(CLOCK_MONOTONIC, &t);
    ms = (int64_t)(d->tv_sec - t.tv_sec) * 1000 + (d->tv_nsec - t.tv_nsec) / 1000000;
    return ms <= 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

typedef enum { RD_OK, RD_EOF, RD_TIMEOUT, RD_ERROR } rd_status;

/* Makes n bytes available at w->buf + w->pos (n <= RBUF_CAP). */
static rd_status need(gf_worker *w, size_t n)
{
    while (w->len - w->pos < n) {
        struct pollfd pf = {w->fd, POLLIN, 0};
        int t = ms_left(&w->deadline), k;
        ssize_t got;
        if (w->pos && w->pos + n > RBUF_CAP) {
            memmove(w->buf, w->buf + w->pos, w->len - w->pos);
            w->len -= w->pos;
            w->pos = 0;
        }
        if (!t)
            return RD_TIMEOUT;
        k = poll(&pf, 1, t);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return RD_ERROR;
        if (k == 0)
            return RD_TIMEOUT;
        got = read(w->fd, w->buf + w->len, RBUF_CAP - w->len);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return RD_ERROR;
        if (got == 0)
            return RD_EOF;
        w->len += (size_t)got;
    }
    return RD_OK;
}

/* Splits an F payload into its four strings; false when malformed. */
static bool split4(const unsigned char *p, size_t n, const char *s[4])
{
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        const unsigned char *z = o < n ? memchr(p + o, 0, n - o) : NULL;
        if (!z)
            return false;
        s[i] = (const char *)p + o;
        o = (size_t)(z - p) + 1;
    }
    return o == n;
}

static size_t max_payload(int type)
{
    switch (type) {
    case EXP_MIME:
        return EXP_MIME_MAX;
    case EXP_BEGIN:
        return EXP_LOC_MAX;
    case EXP_DATA:
        return EXP_DATA_MAX;
    case EXP_FIND:
        return EXP_FIND_MAX;
    case EXP_STATS:
        return 8;
    case EXP_FAIL:
        return EXP_FAIL_MAX;
    case EXP_END:
    case EXP_DONE:
        return 0;
    default:
        return SIZE_MAX;
    }
}

typedef enum { WK_DONE, WK_CRASH, WK_BADFRAME, WK_TIMEOUT, WK_FATAL, WK_STOPPED } wk_end;

/* Handles one frame. Returns 0, 1 at Z, -1 when malformed, -2 on a fatal
 * error of the caller's own. */
static int on_frame(gf_ctx *c, int type, const unsigned char *p, size_t n, char *fail_msg,
                    size_t fail_cap)
{
    /* strip mode has no result: text and findings are not expected */
    if (!c->r && (type == EXP_BEGIN || type == EXP_DATA || type == EXP_END || type == EXP_FIND))
        return -1;
    switch (type) {
    case EXP_MIME:
        if (memchr(p, 0, n))
            return -1;
        if (c->info)
            snprintf(c->info->mime, sizeof c->info->mime, "%.*s", (int)n, (const char *)p);
        return 0;
    case EXP_BEGIN:
        if (c->in_seg || memchr(p, 0, n))
            return -1;
        return seg_begin(c, (const char *)p, n) ? -2 : 0;
    case EXP_DATA:
        if (!c->in_seg)
            return -1;
        return seg_data(c, (const char *)p, n) ? -2 : 0;
    case EXP_END:
        if (!c->in_seg)
            return -1;
        return seg_end(c) ? -2 : 0;
    case EXP_FIND: {
        const char *s[4];
        guard_finding f = {0};
        if (c->in_seg || n < 4 || p[0] >= GUARD_CAT_COUNT || p[1] >= GUARD_SEV_COUNT ||
            p[2] > 100 || !split4(p + 4, n - 4, s) || !s[0][0])
            return -1;
        f.category = (guard_category)p[0];
        f.severity = (guard_severity)p[1];
        f.confidence = p[2];
        f.rule = s[0];
        f.location = s[1][0] ? s[1] : NULL;
        f.explanation = s[2];
        f.excerpt = s[3];
        if (f.category == GUARD_CAT_UNINSPECTABLE) {
            c->any_partial = true;
            if ((p[3] & (EXP_F_WHOLE | EXP_F_ROOT)) == (EXP_F_WHOLE | EXP_F_ROOT))
                c->root_whole = true;
        }
        return add(c, &f) ? -2 : 0;
    }
    case EXP_STATS:
        if (n != 8)
            return -1;
        if (c->info)
            for (int i = 0; i < 8; i++)
                c->info->ocr_images |= (uint64_t)p[i] << (8 * i);
        return 0;
    case EXP_FAIL:
        if (fail_msg)
            snprintf(fail_msg, fail_cap, "%.*s", (int)n, (const char *)p);
        return 0;
    case EXP_DONE:
        return c->in_seg ? -1 : 1;
    default:
        return -1;
    }
}

/* Reads frames until Z, EOF, a bad frame or the deadline. */
static wk_end read_frames(gf_ctx *c, gf_worker *w, char *fail_msg, size_t fail_cap)
{
    for (;;) {
        rd_status s = need(w, EXP_HDR);
        const unsigned char *h;
        size_t n;
        int type, k;

        if (s == RD_TIMEOUT)
            return WK_TIMEOUT;
        if (s != RD_OK)
            return WK_CRASH; /* EOF between frames without Z is a crash too */
        h = w->buf + w->pos;
        type = h[0];
        n = exp_get32(h + 4);
        if (n > max_payload(type) || h[2] || h[3])
            return WK_BADFRAME;
        s = need(w, EXP_HDR + n);
        if (s == RD_TIMEOUT)
            return WK_TIMEOUT;
        if (s != RD_OK)
            return WK_CRASH;
        h = w->buf + w->pos;
        w->pos += EXP_HDR + n;
        k = on_frame(c, type, h + EXP_HDR, n, fail_msg, fail_cap);
        if (k == 1)
            return WK_DONE;
        if (k == -1)
            return WK_BADFRAME;
        if (k == -2)
            return WK_FATAL;
        /* a whole segment or a finding merged into a block: nothing the
         * worker still has to say can weaken it (stop_at_block) */
        if (c->stop_at_block && c->r && !c->in_seg && c->r->verdict == GUARD_BLOCK &&
            (type == EXP_END || type == EXP_FIND))
            return WK_STOPPED;
    }
}

/* Waits for the worker; kills it first unless it finished. Returns its
 * wait status. */
static int reap(gf_worker *w, bool kill_it)
{
    int status = 0;

    if (w->pid <= 0)
        return 0;
    if (kill_it)
        kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    w->pid = -1;
    return status;
}

/* Runs a scan worker over in_fd and merges what it sends. */
static guard_err run_worker(gf_ctx *c, const char *exe, int in_fd, uint64_t offset)
{
    gf_worker w = {0};
    wk_end end;
    int status;
    char why[256];
    guard_err rc;

    w.buf = malloc(RBUF_CAP);
    if (!w.buf)
        return fail(c->err, GUARD_ENOMEM, "out of memory");
    clock_gettime(CLOCK_MONOTONIC, &w.deadline);
    w.deadline.tv_sec += c->lim->total_ms / 1000;
    w.deadline.tv_nsec += (long)(c->lim->total_ms % 1000) * 1000000;
    if (w.deadline.tv_nsec >= 1000000000) {
        w.deadline.tv_sec++;
        w.deadline.tv_nsec -= 1000000000;
    }
    if (!c->pool || gf_pool_take(c->pool, c->wants_ocr, "scan", c->lim, c->root, in_fd, -1, offset,
                                 &w.pid, &w.fd)) {
        rc = spawn(&w, exe, "scan", c->lim, c->root, in_fd, offset, -1, c->err);
        if (rc)
            goto out;
    }
    end = read_frames(c, &w, NULL, 0);
    status = reap(&w, end != WK_DONE);
    if (end == WK_STOPPED) {
        if (c->info)
            c->info->stopped_at_block = true;
        goto out;
    }
    if (end == WK_FATAL) {
        rc = c->err->code ? c->err->code : GUARD_ENOMEM;
        goto out;
    }
    if (c->in_seg) {
        /* what arrived of a cut segment is still inspected */
        if ((rc = seg_end(c)))
            goto out;
    }
    if (end == WK_DONE && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        goto out;
    if (WIFEXITED(status) &&
        (WEXITSTATUS(status) == EXP_EXIT_SETUP || WEXITSTATUS(status) == EXP_EXIT_USAGE)) {
        rc = fail(c->err, GUARD_EIO,
                  "the extraction worker %s could not set up its sandbox (exit %d)", exe,
                  WEXITSTATUS(status));
        goto out;
    }
    if (end == WK_TIMEOUT || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) {
        snprintf(why, sizeof why, "inspection took longer than %u ms (limit total_ms)",
                 (unsigned)c->lim->total_ms);
        rc = add_uninspectable(c, "timeout", why, true);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXP_EXIT_NOMEM) {
        rc = add_uninspectable(c, "limit.memory_bytes", "the extractor ran out of memory", true);
    } else {
        if (end == WK_BADFRAME)
            snprintf(why, sizeof why, "the extractor sent malformed output");
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "the extractor crashed (signal %d, %s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else
            snprintf(why, sizeof why, "the extractor stopped unexpectedly (exit %d)",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        rc = add_uninspectable(c, "crash", why, true);
    }
out:
    if (w.pid > 0)
        reap(&w, true);
    if (w.fd >= 0)
        close(w.fd);
    free(w.buf);
    /* the next file's worker starts now, after this one's answer: its
     * start-up is off the next file's critical path */
    if (c->pool)
        gf_pool_refill(c->pool, c->wants_ocr);
    return rc;
}

/* ---- entry points ---------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b && b[1] ? b + 1 : path;
}

static guard_err ctx_open(gf_ctx *c, guard_scanner *s, guard_ruleset *rs,
                          const guard_file_options *opt, const char *root, guard_file_info *info,
                          guard_error *err)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->rs = rs;
    c->scope = opt ? opt->scope : GUARD_SCOPE_INTERNAL;
    c->lim = guard_ruleset_limits(rs);
    c->root = root;
    c->info = info;
    c->keep_text = opt && opt->keep_text && info;
    c->ocr_max = opt && info ? opt->ocr_text_max : 0;
    c->on_text = opt ? opt->on_text : NULL;
    c->on_text_arg = opt ? opt->on_text_arg : NULL;
    c->stop_at_block = opt && opt->stop_at_block;
    c->pool = opt ? opt->pool : NULL;
    c->err = err ? err : &c->own_err;
    if (info) {
        memset(info, 0, sizeof *info);
        snprintf(info->mime, sizeof info->mime, "application/octet-stream");
    }
    /* an empty result to merge into; the policy applies to it as it grows */
    return guard_scan(s, rs, "", 0, c->scope, &c->r, c->err);
}

/* Settles status and totals; hands the result over or frees it. */
static guard_err ctx_close(gf_ctx *c, guard_err rc, guard_result **out, double t0)
{
    if (c->st) {
        guard_result *sub = NULL;
        guard_error e2 = {0};
        guard_stream_close(c->st, &sub, &e2);
        guard_result_free(sub);
    }
    if (!rc && c->kept_len) {
        c->info->text = c->seg; /* the caller's now */
        c->info->text_len = c->kept_len;
        c->seg = NULL;
    }
    if (!rc && c->info && c->ocr_max) {
        c->info->ocr_text = c->ocr; /* the caller's now */
        c->info->ocr_text_len = c->ocr_len;
        c->info->ocr_text_cut = c->ocr_cut;
        c->ocr = NULL;
    }
    free(c->ocr);
    free(c->seg);
    free(c->loc);
    if (c->info)
        c->info->seconds = now_s() - t0;
    if (rc) {
        guard_result_free(c->r);
        return rc;
    }
    c->r->findings_dropped += c->dropped;
    c->r->bytes = c->text_bytes;
    c->r->invalid_utf8 = c->invalid;
    if (c->root_whole && !c->any_text)
        c->r->status = GUARD_STATUS_UNSCANNABLE;
    else if (c->any_partial)
        c->r->status = GUARD_STATUS_PARTIAL;
    else
        c->r->status = GUARD_STATUS_SCANNED;
    *out = c->r;
    return GUARD_OK;
}

static const char *exe_of(const guard_file_options *opt)
{
    return opt && opt->worker_path ? opt->worker_path : "/proc/self/exe";
}

/* Reads up to cap bytes (fewer only at the end of input). */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t k = read(fd, buf + got, cap - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* A file descriptor for bytes the worker must map: an unnamed temporary
 * file (on disk: a big pipe must not fill memory), else a memfd. */
static int spool_fd(void)
{
    const char *dir = getenv("TMPDIR");
    int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = memfd_create("cordon-spool", MFD_CLOEXEC);
    return fd;
}

/* A file over file_bytes that needs a worker: not even started. */
static guard_err too_big(gf_ctx *c, uint64_t size)
{
    char why[160];
    snprintf(why, sizeof why, "a file of %llu bytes or more (limit file_bytes %llu)",
             (unsigned long long)size, (unsigned long long)c->lim->file_bytes);
    return add_uninspectable(c, "limit.file_bytes", why, true);
}

guard_err guard_file_scan_fd(guard_scanner *s, guard_ruleset *rs, int fd,
                             const guard_file_options *opt, guard_result **out,
                             guard_file_info *info, guard_error *err)
{
    gf_ctx c;
    struct stat st;
    char *head = NULL;
    ssize_t n;
    double t0 = now_s();
    int spool = -1;
    off_t base = 0;
    bool seekable;
    const char *root = opt && opt->name ? opt->name : "-";
    guard_err rc;

    if (info) {
        info->text = NULL; /* as documented, even on an early error */
        info->text_len = 0;
    }
    if (!s || !rs || fd < 0 || !out)
        return fail(err, GUARD_EINVAL, "bad argument");
    if (fstat(fd, &st))
        return fail(err, GUARD_EIO, "cannot stat: %s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(err, GUARD_EINVAL, "is a directory");
    seekable = S_ISREG(st.st_mode) && (base = lseek(fd, 0, SEEK_CUR)) >= 0;
    rc = ctx_open(&c, s, rs, opt, root, info, err);
    if (rc)
        return rc;
    head = malloc(SNIFF);
    if (!head) {
        rc = fail(err, GUARD_ENOMEM, "out of memory");
        goto out;
    }
    n = read_head(fd, head, SNIFF);
    if (n < 0) {
        rc = fail(err, GUARD_EIO, "read error: %s", strerror(errno));
        goto out;
    }
    c.wants_ocr = gf_head_is_image((const unsigned char *)head, (size_t)n);
    if (ex_text_is_plain((const unsigned char *)head, (size_t)n, (size_t)n < SNIFF)) {
        char ext[16];
        bool retreat = false;
        if (info)
            snprintf(info->mime, sizeof info->mime, "text/plain");
        rc = scan_plain(&c, head, (size_t)n, (size_t)n < SNIFF ? -1 : fd,
                        seekable && (uint64_t)st.st_size > (uint64_t)base
                            ? (uint64_t)st.st_size - (uint64_t)base
                            : 0,
                        seekable ? &retreat : NULL);
        if (rc)
            goto out;
        if (retreat)
            goto worker;
        if (ex_type_mismatch(root, "text/plain", ext, sizeof ext)) {
            char why[128];
            guard_finding f = {0};
            snprintf(why, sizeof why, "the name says %s but the content is text/plain", ext);
            f.rule = "file.type_mismatch";
            f.category = GUARD_CAT_METADATA;
            f.severity = GUARD_SEV_MEDIUM;
            f.confidence = 90;
            f.explanation = why;
            f.excerpt = "text/plain";
            f.location = root;
            rc = add(&c, &f);
        }
        goto out;
    }
worker:
    if (seekable) {
        uint64_t size = (uint64_t)st.st_size > (uint64_t)base ? (uint64_t)st.st_size - base : 0;
        rc = size > c.lim->file_bytes ? too_big(&c, size)
                                      : run_worker(&c, exe_of(opt), fd, (uint64_t)base);
        goto out;
    }
    /* a pipe: the worker needs random access, so spool it (bounded) */
    spool = spool_fd();
    if (spool < 0) {
        rc = fail(err, GUARD_EIO, "cannot create a temporary file: %s", strerror(errno));
        goto out;
    }
    {
        uint64_t total = (uint64_t)n;
        bool over = false;
        if (base_file_write_all(spool, head, (size_t)n)) {
            rc = fail(err, GUARD_EIO, "cannot spool the input: %s", strerror(errno));
            goto out;
        }
        while ((n = read_head(fd, head, SNIFF)) > 0) {
            if ((uint64_t)n > c.lim->file_bytes - total) {
                over = true;
                break;
            }
            total += (uint64_t)n;
            if (base_file_write_all(spool, head, (size_t)n)) {
                rc = fail(err, GUARD_EIO, "cannot spool the input: %s", strerror(errno));
                goto out;
            }
        }
        if (n < 0) {
            rc = fail(err, GUARD_EIO, "read error: %s", strerror(errno));
            goto out;
        }
        rc = over ? too_big(&c, total + (uint64_t)n) : run_worker(&c, exe_of(opt), spool, 0);
    }
out:
    free(head);
    if (spool >= 0)
        close(spool);
    return ctx_close(&c, rc, out, t0);
}

guard_err guard_file_scan(guard_scanner *s, guard_ruleset *rs, const char *path,
                          const guard_file_options *opt, guard_result **out, guard_file_info *info,
                          guard_error *err)
{
    guard_file_options o = {0};
    guard_err rc;
    int fd;

    if (!path || !strcmp(path, "-"))
        return fail(err, GUARD_EINVAL, "no path (use guard_file_scan_fd for stdin)");
    if (opt)
        o = *opt;
    if (!o.name)
        o.name = base_name(path);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (info) {
            info->text = NULL;
            info->text_len = 0;
        }
        return fail(err, GUARD_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    rc = guard_file_scan_fd(s, rs, fd, &o, out, info, err);
    close(fd);
    return rc;
}

guard_err guard_file_scan_mem(guard_scanner *s, guard_ruleset *rs, const void *data, size_t len,
                              const guard_file_options *opt, guard_result **out,
                              guard_file_info *info, guard_error *err)
{
    gf_ctx c;
    double t0 = now_s();
    const char *root = opt && opt->name ? opt->name : "-";
    size_t head = len < SNIFF ? len : SNIFF;
    int fd = -1;
    guard_err rc;

    if (!s || !rs || !out || (!data && len))
        return fail(err, GUARD_EINVAL, "bad argument");
    rc = ctx_open(&c, s, rs, opt, root, info, err);
    if (rc)
        return rc;
    if (ex_text_is_plain(data, head, head == len) &&
        !memchr((const char *)data + head, 0, len - head)) {
        if (info)
            snprintf(info->mime, sizeof info->mime, "text/plain");
        rc = scan_plain(&c, len ? data : "", len, -1, 0, NULL);
        goto out;
    }
    if (len > c.lim->file_bytes) {
        rc = too_big(&c, len);
        goto out;
    }
    fd = memfd_create("cordon-mem", MFD_CLOEXEC);
    if (fd < 0) {
        rc = fail(err, GUARD_EIO, "memfd_create: %s", strerror(errno));
        goto out;
    }
    if (base_file_write_all(fd, data, len)) {
        rc = fail(err, GUARD_EIO, "cannot copy the input: %s", strerror(errno));
        goto out;
    }
    c.wants_ocr = gf_head_is_image(data, head);
    rc = run_worker(&c, exe_of(opt), fd, 0);
out:
    if (fd >= 0)
        close(fd);
    return ctx_close(&c, rc, out, t0);
}

/* One run of a worker in a mode that makes something on fd 3 instead of
 * scanning (strip, watermark, thumb): spawn it over in_fd with the default
 * limits — or hand the job to the pool's waiting plain worker (`pool`
 * non-NULL: thumb, mark), started again once this one is answered — read its
 * frames (an `X` frame says why it made nothing), reap it. `what` names
 * the step in errors ("the metadata remover"); the input starts at
 * `offset` of in_fd (mark: after its job header). The caller owns both
 * descriptors and reads out_fd afterwards. */
static guard_err run_out_worker(const char *mode, const char *what, const char *in, int in_fd,
                                uint64_t offset, int out_fd, const char *worker_path,
                                guard_file_pool *pool, guard_error *err)
{
    gf_ctx c;
    gf_worker w = {0};
    guard_limits lim;
    guard_error scratch = {0};
    char msg[EXP_FAIL_MAX + 1] = "";
    int status;
    wk_end end;
    guard_err rc;

    guard_limits_defaults(&lim);
    memset(&c, 0, sizeof c);
    c.err = &scratch;
    w.buf = malloc(RBUF_CAP);
    if (!w.buf) {
        rc = fail(err, GUARD_ENOMEM, "out of memory");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &w.deadline);
    w.deadline.tv_sec += lim.total_ms / 1000;
    if (!pool || gf_pool_take(pool, false, mode, &lim, base_name(in), in_fd, out_fd, offset, &w.pid,
                              &w.fd)) {
        pool = NULL;
        rc = spawn(&w, worker_path ? worker_path : "/proc/self/exe", mode, &lim, base_name(in),
                   in_fd, offset, out_fd, err);
        if (rc)
            goto out;
    }
    end = read_frames(&c, &w, msg, sizeof msg);
    status = reap(&w, end != WK_DONE);
    if (pool)
        gf_pool_refill(pool, false);
    if (end != WK_DONE || !WIFEXITED(status) || WEXITSTATUS(status))
        rc = fail(err, GUARD_EIO, "%s: %s failed (%s)", in, what,
                  end == WK_TIMEOUT || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
                      ? "time limit"
                  : WIFEXITED(status) && WEXITSTATUS(status) == EXP_EXIT_NOMEM ? "memory limit"
                                                                               : "crash");
    else if (msg[0])
        rc = fail(err, GUARD_EINVAL, "%s: %s", in, msg);
out:
    if (w.pid > 0)
        reap(&w, true);
    if (w.fd > 0)
        close(w.fd);
    free(w.buf);
    free(c.seg);
    free(c.loc);
    return rc;
}

guard_err guard_file_strip(const char *in, const char *out, const char *worker_path,
                           guard_error *err)
{
    int in_fd = -1, out_fd = -1;
    guard_err rc = GUARD_EIO;

    in_fd = open(in, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in_fd < 0) {
        rc = fail(err, GUARD_EIO, "cannot open %s: %s", in, strerror(errno));
        goto out;
    }
    out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out_fd < 0) {
        rc = fail(err, GUARD_EIO, "cannot create %s: %s", out, strerror(errno));
        goto out;
    }
    rc = run_out_worker("strip", "the metadata remover", in, in_fd, 0, out_fd, worker_path, NULL,
                        err);
    if (!rc && fsync(out_fd) && errno != EINVAL)
        rc = fail(err, GUARD_EIO, "cannot write %s: %s", out, strerror(errno));
out:
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0) {
        close(out_fd);
        if (rc)
            unlink(out);
    }
    return rc;
}

/* The input's regular-file descriptor, within the default file_bytes. */
static guard_err open_input(const char *in, int *fd, guard_error *err)
{
    guard_limits lim;
    struct stat st;

    guard_limits_defaults(&lim);
    *fd = open(in, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0)
        return fail(err, GUARD_EIO, "cannot open %s: %s", in, strerror(errno));
    if (fstat(*fd, &st) || !S_ISREG(st.st_mode))
        return fail(err, GUARD_EINVAL, "%s: not a regular file", in);
    if ((uint64_t)st.st_size > lim.file_bytes)
        return fail(err, GUARD_EINVAL, "%s: larger than %llu bytes (limit file_bytes)", in,
                    (unsigned long long)lim.file_bytes);
    return GUARD_OK;
}

guard_err guard_file_watermark_plane(const char *in, void *plane, size_t plane_len,
                                     const char *worker_path, guard_error *err)
{
    int in_fd = -1, out_fd = -1;
    guard_err rc;
    struct stat st;

    rc = open_input(in, &in_fd, err);
    if (rc)
        goto out;
    /* the worker writes the plane here; read back only once it is gone */
    out_fd = memfd_create("cordon-wm-plane", MFD_CLOEXEC);
    if (out_fd < 0) {
        rc = fail(err, GUARD_EIO, "memfd_create: %s", strerror(errno));
        goto out;
    }
    rc = run_out_worker("watermark", "the image reader", in, in_fd, 0, out_fd, worker_path, NULL,
                        err);
    if (!rc && (fstat(out_fd, &st) || (uint64_t)st.st_size != plane_len ||
                pread(out_fd, plane, plane_len, 0) != (ssize_t)plane_len))
        rc = fail(err, GUARD_EIO, "%s: the image reader sent a plane of the wrong size", in);
out:
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}

/* The worker's preview: "CTH1", width, height (uint32 LE), a JPEG. What a
 * worker sends is checked, not trusted: the header, sane sizes, the JPEG's
 * first bytes. */
static uint32_t le32_at(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* What a worker wrote to out_fd, read back whole into *buf (malloc'd) and
 * *n when its size is in (min, max]; else GUARD_EIO saying that `what`
 * ("the preview maker") sent nothing of use about `in`. */
static guard_err read_output(int out_fd, uint64_t min, uint64_t max, const char *what,
                             const char *in, unsigned char **buf, size_t *n, guard_error *err)
{
    struct stat st;

    *buf = NULL;
    if (fstat(out_fd, &st) || (uint64_t)st.st_size <= min || (uint64_t)st.st_size > max)
        return fail(err, GUARD_EIO, "%s: %s sent nothing of use", in, what);
    *n = (size_t)st.st_size;
    *buf = malloc(*n);
    if (!*buf)
        return fail(err, GUARD_ENOMEM, "out of memory");
    if (pread(out_fd, *buf, *n, 0) != (ssize_t)*n) {
        free(*buf);
        *buf = NULL;
        return fail(err, GUARD_EIO, "%s: cannot read what %s sent", in, what);
    }
    return GUARD_OK;
}

guard_err guard_file_make_preview(const char *in, guard_file_preview *out, const char *worker_path,
                                  guard_file_pool *pool, guard_error *err)
{
    int in_fd = -1, out_fd = -1;
    guard_err rc;
    unsigned char *buf = NULL;
    uint32_t w, h;
    size_t n = 0;

    memset(out, 0, sizeof *out);
    rc = open_input(in, &in_fd, err);
    if (rc)
        goto out;
    out_fd = memfd_create("cordon-thumb", MFD_CLOEXEC);
    if (out_fd < 0) {
        rc = fail(err, GUARD_EIO, "memfd_create: %s", strerror(errno));
        goto out;
    }
    rc = run_out_worker("thumb", "the preview maker", in, in_fd, 0, out_fd, worker_path, pool, err);
    if (!rc)
        rc = read_output(out_fd, 16, GUARD_FILE_THUMB_MAX_BYTES, "the preview maker", in, &buf, &n,
                         err);
    if (rc)
        goto out;
    w = le32_at(buf + 4);
    h = le32_at(buf + 8);
    if (memcmp(buf, "CTH1", 4) || w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX ||
        buf[12] != 0xff || buf[13] != 0xd8) {
        rc = fail(err, GUARD_EIO, "%s: the preview maker sent something else", in);
        goto out;
    }
    memmove(buf, buf + 12, n - 12);
    out->jpeg = buf;
    out->len = n - 12;
    out->width = (int)w;
    out->height = (int)h;
    buf = NULL;
out:
    free(buf);
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}

/* The mark job's header (ex_core_proto.h) then the picture, in a memfd the
 * worker maps; its copy comes back in another, checked before it is
 * returned: a PNG's or a JPEG's signature, as asked, within the cap. */
guard_err guard_file_watermark_embed(const unsigned char *img, size_t len,
                                     const int8_t chips[GUARD_FILE_MARK_CHIPS], bool png,
                                     int quality, unsigned char **out, size_t *out_len,
                                     const char *worker_path, guard_file_pool *pool,
                                     guard_error *err)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char hdr[EXP_MARK_HDR], *buf = NULL;
    int in_fd = -1, out_fd = -1;
    guard_err rc;
    size_t n = 0;

    _Static_assert(GUARD_FILE_MARK_CHIPS == EXP_MARK_CHIPS, "the mark job's chips");
    *out = NULL;
    *out_len = 0;
    if (!len || len > GUARD_FILE_MARK_MAX_BYTES)
        return fail(err, GUARD_EINVAL, "the picture is empty or over %llu bytes",
                    (unsigned long long)GUARD_FILE_MARK_MAX_BYTES);
    if (quality < 1 || quality > 100)
        return fail(err, GUARD_EINVAL, "the JPEG quality must be 1 to 100");
    memcpy(hdr, EXP_MARK_MAGIC, 4);
    hdr[4] = png;
    hdr[5] = (unsigned char)quality;
    hdr[6] = hdr[7] = 0;
    for (size_t i = 0; i < GUARD_FILE_MARK_CHIPS; i++) {
        if (chips[i] != 1 && chips[i] != -1)
            return fail(err, GUARD_EINVAL, "a chip is not +1 or -1");
        hdr[8 + i] = chips[i] > 0 ? 1 : 0xff;
    }
    in_fd = memfd_create("cordon-mark-in", MFD_CLOEXEC);
    out_fd = memfd_create("cordon-mark", MFD_CLOEXEC);
    if (in_fd < 0 || out_fd < 0) {
        rc = fail(err, GUARD_EIO, "memfd_create: %s", strerror(errno));
        goto out;
    }
    if (base_file_write_all(in_fd, hdr, sizeof hdr) || base_file_write_all(in_fd, img, len)) {
        rc = fail(err, GUARD_EIO, "cannot hand the picture over: %s", strerror(errno));
        goto out;
    }
    rc = run_out_worker("mark", "the watermark writer", "picture", in_fd, EXP_MARK_HDR, out_fd,
                        worker_path, pool, err);
    if (!rc)
        rc = read_output(out_fd, 8, GUARD_FILE_MARK_OUT_MAX, "the watermark writer", "picture",
                         &buf, &n, err);
    if (rc)
        goto out;
    if (png ? memcmp(buf, png_sig, sizeof png_sig)
            : buf[0] != 0xff || buf[1] != 0xd8 || buf[2] != 0xff) {
        rc = fail(err, GUARD_EIO, "the watermark writer sent something else");
        goto out;
    }
    *out = buf;
    *out_len = n;
    buf = NULL;
out:
    free(buf);
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}
