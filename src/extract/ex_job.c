/*
 * ex_job.c — a job inside the worker: limits, the location stack, time and
 * byte accounting, and the framing of everything extractors report onto the
 * pipe to the parent (protocol: ex_core_proto.h, docs/FILES.md).
 *
 * Frames are assembled in one fixed output buffer and written when it fills,
 * at the end of a text segment and at the end of the job, so a chatty
 * extractor costs few system calls. A write that fails (the parent went away
 * or killed the job) marks the job broken: every later call returns -1 and
 * extractors unwind.
 */
#include "ex_core.h"
#include "ex_core_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_CAP   (256u * 1024) /* > EXP_HDR + EXP_MAX, several data frames */
#define MAX_STACK 64            /* location levels; depth limit is far lower */

struct ex_job {
    int fd;
    ex_limits lim;
    bool broken;
    bool in_text;      /* between ex_text_begin and ex_text_end */
    uint64_t unpacked; /* bytes accounted so far */
    uint64_t ocr_images;
    struct timespec start;
    size_t loc_len;          /* bytes used in loc */
    size_t stack[MAX_STACK]; /* loc_len before each push */
    uint32_t depth;          /* pushes so far */
    uint32_t cut;            /* pushes that could not be recorded */
    char loc[EXP_LOC_MAX + 1];
    size_t out_len;
    unsigned char out[OUT_CAP];
};

void ex_limits_defaults(ex_limits *l)
{
    guard_limits_defaults(l);
}

ex_job *ex_job_new(int out_fd, const ex_limits *l, const char *root)
{
    ex_job *j = calloc(1, sizeof *j);
    size_t n;

    if (!j)
        return NULL;
    j->fd = out_fd;
    j->lim = *l;
    clock_gettime(CLOCK_MONOTONIC, &j->start);
    root = root && *root ? root : "-";
    n = strlen(root);
    if (n > EXP_LOC_MAX / 4)
        n = EXP_LOC_MAX / 4; /* leave room for members */
    memcpy(j->loc, root, n);
    j->loc[n] = 0;
    j->loc_len = n;
    return j;
}

void ex_job_free(ex_job *j)
{
    free(j);
}

const ex_limits *ex_job_limits(const ex_job *j)
{
    return &j->lim;
}

uint32_t ex_job_depth(const ex_job *j)
{
    return j->depth;
}

bool ex_job_broken(const ex_job *j)
{
    return j->broken;
}

int ex_job_account(ex_job *j, uint64_t n)
{
    if (n > j->lim.unpacked_bytes - j->unpacked) {
        j->unpacked = j->lim.unpacked_bytes;
        return -1;
    }
    j->unpacked += n;
    return 0;
}

uint64_t ex_job_unpacked_left(const ex_job *j)
{
    return j->lim.unpacked_bytes - j->unpacked;
}

uint32_t ex_job_ms_left(const ex_job *j)
{
    struct timespec now;
    uint64_t ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (uint64_t)(now.tv_sec - j->start.tv_sec) * 1000u +
         (uint64_t)((now.tv_nsec - j->start.tv_nsec) / 1000000);
    return ms >= j->lim.total_ms ? 0 : (uint32_t)(j->lim.total_ms - ms);
}

void ex_job_count_ocr(ex_job *j)
{
    j->ocr_images++;
}

/* ---- location -------------------------------------------------------------- */

int ex_job_push(ex_job *j, const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (j->depth - j->cut >= MAX_STACK) {
        j->depth++;
        j->cut++;
        return -1;
    }
    j->stack[j->depth - j->cut] = j->loc_len;
    j->depth++;
    if (j->loc_len + 1 >= EXP_LOC_MAX)
        return -1;
    j->loc[j->loc_len++] = '!';
    if (n > EXP_LOC_MAX - j->loc_len)
        n = EXP_LOC_MAX - j->loc_len;
    memcpy(j->loc + j->loc_len, name ? name : "", n);
    j->loc_len += n;
    j->loc[j->loc_len] = 0;
    return n == (name ? strlen(name) : 0) ? 0 : -1;
}

void ex_job_pop(ex_job *j)
{
    if (!j->depth)
        return;
    j->depth--;
    if (j->cut) {
        j->cut--;
        return;
    }
    j->loc_len = j->stack[j->depth];
    j->loc[j->loc_len] = 0;
}

/* ---- framing --------------------------------------------------------------- */

static int flush_out(ex_job *j)
{
    size_t off = 0;

    if (j->broken)
        return -1;
    while (off < j->out_len) {
        ssize_t w = write(j->fd, j->out + off, j->out_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            j->broken = true;
            return -1;
        }
        off += (size_t)w;
    }
    j->out_len = 0;
    return 0;
}

/* Appends a frame whose payload is the concatenation of up to three pieces. */
static int frame(ex_job *j, int type, unsigned flags, const void *a, size_t na, const void *b,
                 size_t nb, const void *c, size_t nc)
{
    size_t len = na + nb + nc;
    unsigned char *h;

    if (j->broken)
        return -1;
    if (OUT_CAP - j->out_len < EXP_HDR + len && flush_out(j))
        return -1;
    h = j->out + j->out_len;
    h[0] = (unsigned char)type;
    h[1] = (unsigned char)flags;
    h[2] = h[3] = 0;
    exp_put32(h + 4, (uint32_t)len);
    j->out_len += EXP_HDR;
    if (na)
        memcpy(j->out + j->out_len, a, na);
    if (nb)
        memcpy(j->out + j->out_len + na, b, nb);
    if (nc)
        memcpy(j->out + j->out_len + na + nb, c, nc);
    j->out_len += len;
    /* A finished segment or a finding goes to the caller at once: it may
     * decide from it (a block ends the job early, stop_at_block) while this
     * process is still reading the rest — the OCR of a page after its
     * header. One write per part; a document has few. */
    if (type == EXP_END || type == EXP_FIND)
        return flush_out(j);
    return 0;
}

int ex_job_mime(ex_job *j, const char *mime)
{
    size_t n = strlen(mime);
    return frame(j, EXP_MIME, 0, mime, n < EXP_MIME_MAX ? n : EXP_MIME_MAX - 1, NULL, 0, NULL, 0);
}

int ex_job_fail(ex_job *j, const char *why)
{
    size_t n = strlen(why);
    return frame(j, EXP_FAIL, 0, why, n < EXP_FAIL_MAX ? n : EXP_FAIL_MAX, NULL, 0, NULL, 0);
}

int ex_job_done(ex_job *j)
{
    unsigned char st[8];
    uint64_t v = j->ocr_images;

    if (j->in_text && ex_text_end(j))
        return -1;
    for (int i = 0; i < 8; i++)
        st[i] = (unsigned char)(v >> (8 * i));
    if (frame(j, EXP_STATS, 0, st, 8, NULL, 0, NULL, 0) ||
        frame(j, EXP_DONE, 0, NULL, 0, NULL, 0, NULL, 0))
        return -1;
    return flush_out(j);
}

int ex_text_begin(ex_job *j, const char *part)
{
    size_t n = j->loc_len, pn = part && *part ? strlen(part) : 0;

    if (j->in_text && ex_text_end(j))
        return -1;
    if (pn > EXP_LOC_MAX - n - 1)
        pn = n + 1 < EXP_LOC_MAX ? EXP_LOC_MAX - n - 1 : 0;
    j->in_text = true;
    return frame(j, EXP_BEGIN, 0, j->loc, n, pn ? "!" : NULL, pn ? 1 : 0, part, pn);
}

int ex_text(ex_job *j, const char *utf8, size_t len)
{
    if (!j->in_text)
        return j->broken ? -1 : 0; /* a bug of the extractor; nothing to frame it in */
    while (len) {
        size_t k = len < EXP_DATA_MAX ? len : EXP_DATA_MAX;
        if (frame(j, EXP_DATA, 0, utf8, k, NULL, 0, NULL, 0))
            return -1;
        utf8 += k;
        len -= k;
    }
    return 0;
}

int ex_text_end(ex_job *j)
{
    if (!j->in_text)
        return j->broken ? -1 : 0;
    j->in_text = false;
    return frame(j, EXP_END, 0, NULL, 0, NULL, 0, NULL, 0);
}

int ex_text_part(ex_job *j, const char *part, const char *utf8, size_t len)
{
    if (ex_text_begin(j, part) || ex_text(j, utf8, len))
        return -1;
    return ex_text_end(j);
}

/* Copies at most cap-1 bytes of s and a NUL into p; returns the bytes used. */
static size_t put_str(unsigned char *p, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return n + 1;
}

static int finding(ex_job *j, const char *part, guard_category cat, guard_severity sev,
                   int confidence, unsigned flags, const char *rule, const char *explanation,
                   const char *excerpt)
{
    unsigned char p[EXP_FIND_MAX];
    char loc[EXP_LOC_MAX + 1];
    size_t o = 4;

    if (j->in_text && ex_text_end(j))
        return -1;
    if (confidence < 0)
        confidence = 0;
    if (confidence > 100)
        confidence = 100;
    p[0] = (unsigned char)cat;
    p[1] = (unsigned char)sev;
    p[2] = (unsigned char)confidence;
    p[3] = (unsigned char)flags;
    /* the location, cut at EXP_LOC_MAX */
    memcpy(loc, j->loc, j->loc_len + 1);
    if (part && *part && j->loc_len + 1 < EXP_LOC_MAX) {
        size_t pn = strlen(part), at = j->loc_len + 1;
        loc[j->loc_len] = '!';
        if (pn > EXP_LOC_MAX - at)
            pn = EXP_LOC_MAX - at;
        memcpy(loc + at, part, pn);
        loc[at + pn] = 0;
    }
    o += put_str(p + o, 256, rule);
    o += put_str(p + o, EXP_LOC_MAX + 1, loc);
    o += put_str(p + o, 2048, explanation);
    o += put_str(p + o, EXP_FIND_MAX - o, excerpt);
    return frame(j, EXP_FIND, 0, p, o, NULL, 0, NULL, 0);
}

int ex_finding(ex_job *j, const char *part, guard_category cat, guard_severity sev, int confidence,
               const char *rule, const char *explanation, const char *excerpt)
{
    if ((unsigned)cat >= GUARD_CAT_COUNT || (unsigned)sev >= GUARD_SEV_COUNT || !rule)
        return j->broken ? -1 : 0;
    return finding(j, part, cat, sev, confidence, 0, rule, explanation, excerpt);
}

int ex_uninspectable(ex_job *j, const char *part, const char *reason, const char *explanation,
                     bool whole)
{
    char rule[160];
    unsigned flags = 0;

    snprintf(rule, sizeof rule, "uninspectable.%s", reason && *reason ? reason : "unknown");
    if (whole && !(part && *part))
        flags = EXP_F_WHOLE | (j->depth == 0 ? EXP_F_ROOT : 0);
    return finding(j, part, GUARD_CAT_UNINSPECTABLE, GUARD_SEV_MEDIUM, 100, flags, rule,
                   explanation, "");
}
