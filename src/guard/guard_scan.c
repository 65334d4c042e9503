/*
 * guard_scan.c — the scan loop: normalise, run the one database, dispatch
 * hits to detectors, rule.
 *
 * The Hyperscan callback only records (pattern id, end offset): detectors run
 * after the database has passed, in end-offset order, so each can look a
 * bounded distance forward and back in the view. In stream mode a hit is
 * dispatched once LOOKAHEAD more view bytes are final behind it, and only
 * KEEP bytes of view (and the matching original bytes) are kept behind the
 * dispatch point: memory is constant whatever the input size.
 *
 * Runs of ASCII digits are found here, in C, not by the database: see
 * guard_detector.on_digits. They are dispatched merged with the hits, in end
 * order, and are held back the same way in stream mode.
 */
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "guard_result.h"
#include "guard_ruleset.h"

#define LOOKAHEAD 4096        /* view bytes a detector may read after a hit */
#define KEEP      (64 * 1024) /* view bytes kept behind the dispatch point */
#define HITS_MAX  (4u << 20)  /* hits buffered per batch; more are counted */

typedef struct guard_hit {
    uint64_t to;
    uint32_t id;
} guard_hit;

struct guard_scanner {
    hs_scratch_t *scratch;
    guard_ruleset *sized_block, *sized_stream; /* references held */
    guard_norm norm;
    guard_hit *hits;
    size_t n_hits, cap_hits, lost_hits;
    uint64_t *runs; /* end offsets of digit runs not yet dispatched, ascending */
    size_t n_runs, cap_runs;
    uint64_t dig_pos; /* view offset the digit search resumes at */
    bool streaming;
    /* for on_match(): the ruleset's pattern table, and the view offset up
     * to which view bytes are final */
    const guard_pat_meta *meta;
    size_t n_meta;
    uint64_t view_final;
};

struct guard_stream {
    guard_scanner *s;
    guard_ruleset *rs;
    hs_stream_t *hs;
    guard_scope scope;
    guard_result_impl *res;
    guard_ctx ctx;
    /* original bytes window */
    unsigned char *orig;
    size_t orig_len, orig_cap;
    uint64_t orig_base;
    uint64_t fed;     /* original bytes fed */
    uint64_t scanned; /* view bytes given to Hyperscan */
    bool failed;
};

static guard_err seterr(guard_error *err, guard_err code, const char *msg)
{
    if (err) {
        err->code = code;
        strncpy(err->message, msg, sizeof err->message - 1);
        err->message[sizeof err->message - 1] = 0;
    }
    return code;
}

guard_err guard_scanner_new(guard_scanner **out, guard_error *err)
{
    guard_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return seterr(err, GUARD_ENOMEM, "out of memory");
    guard_norm_init(&s->norm);
    *out = s;
    return GUARD_OK;
}

void guard_scanner_free(guard_scanner *s)
{
    if (!s)
        return;
    hs_free_scratch(s->scratch);
    guard_ruleset_unref(s->sized_block);
    guard_ruleset_unref(s->sized_stream);
    guard_norm_free(&s->norm);
    free(s->hits);
    free(s->runs);
    free(s);
}

/* Grows the scratch to fit `db`; remembers the ruleset so the check is free
 * on the next scan with it. */
static guard_err fit_scratch(guard_scanner *s, guard_ruleset *rs, hs_database_t *db,
                             guard_ruleset **sized, guard_error *err)
{
    if (*sized == rs)
        return GUARD_OK;
    if (hs_alloc_scratch(db, &s->scratch) != HS_SUCCESS)
        return seterr(err, GUARD_ENOMEM, "cannot allocate Hyperscan scratch");
    guard_ruleset_unref(*sized);
    *sized = guard_ruleset_ref(rs);
    return GUARD_OK;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ud)
{
    guard_scanner *s = ud;
    (void)from;
    (void)flags;
    if (id < s->n_meta && s->meta[id].word_end && to < s->view_final) {
        /* dropped here, not by the detector, so that ".co" of every
         * ".com" never takes room in the hit buffer (HITS_MAX) */
        unsigned b = s->norm.view[to - s->norm.base];
        if (guard_is_alnum((int)b) || b == '_')
            return 0;
    }
    if (s->n_hits == s->cap_hits) {
        if (s->cap_hits >= HITS_MAX) {
            s->lost_hits++;
            return 0;
        }
        size_t nc = s->cap_hits ? s->cap_hits * 2 : 1024;
        guard_hit *q = realloc(s->hits, nc * sizeof *q);
        if (!q) {
            s->lost_hits++;
            return 0;
        }
        s->hits = q;
        s->cap_hits = nc;
    }
    s->hits[s->n_hits].to = to;
    s->hits[s->n_hits].id = id;
    s->n_hits++;
    return 0;
}

/* Bit k set when v[i + k] is an ASCII digit, for k < 64 and i + k < end. */
static uint64_t digit_mask(const unsigned char *v, size_t i, size_t end)
{
    uint64_t m = 0;
    size_t k = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    for (; k < 64 && i + k + 16 <= end; k += 16) {
        __m128i x = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(v + i + k)), zero);
        /* x - '0' <= 9 unsigned: min(x, 9) == x */
        unsigned b = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, nine), x));
        m |= (uint64_t)b << k;
    }
#endif
    for (; k < 64 && i + k < end; k++)
        m |= (uint64_t)guard_is_digit(v[i + k]) << k;
    return m;
}

static int push_run(guard_scanner *s, uint64_t to)
{
    if (s->n_runs == s->cap_runs) {
        size_t nc = s->cap_runs ? s->cap_runs * 2 : 256;
        uint64_t *q = nc <= HITS_MAX ? realloc(s->runs, nc * sizeof *q) : NULL;
        if (!q)
            return -1;
        s->runs = q;
        s->cap_runs = nc;
    }
    s->runs[s->n_runs++] = to;
    return 0;
}

/* Records the end of every run of at least GUARD_DIGITS_MIN digits in the
 * view before offset `upto`. A run reaching `upto` may go on in view bytes
 * not final yet: unless `final`, it is left for the next call, which resumes
 * at its start (so the byte before the resume point is never a digit). A run
 * that cannot be recorded (out of memory, too many) is counted as a lost hit.
 *
 * Digits are frequent (dates: ~50,000 runs per MB of office text), so runs
 * are found 64 bytes at a time on bit masks, not byte by byte. */
static void find_digit_runs(guard_scanner *s, uint64_t upto, bool final)
{
    _Static_assert(GUARD_DIGITS_MIN == 4, "the masks below test runs of four");
    const guard_norm *n = &s->norm;
    const unsigned char *v = n->view;
    size_t i = s->dig_pos > n->base ? (size_t)(s->dig_pos - n->base) : 0;
    size_t end = (size_t)(upto - n->base);
    uint64_t prev = 0, cur, next;

    if (!final)
        while (end > i && guard_is_digit(v[end - 1]))
            end--;
    s->dig_pos = n->base + end;
    if (i >= end)
        return;
    cur = digit_mask(v, i, end);
    for (; i < end; i += 64) {
        next = i + 64 < end ? digit_mask(v, i + 64, end) : 0;
        /* bit k of at4: bytes k-3..k are digits (the three before the block
         * come from prev); of ends: that, and byte k+1 is not a digit. */
        uint64_t at4 = cur & ((cur << 1) | (prev >> 63)) & ((cur << 2) | (prev >> 62)) &
                       ((cur << 3) | (prev >> 61));
        uint64_t ends = at4 & ~((cur >> 1) | (next << 63));
        while (ends) {
            if (push_run(s, n->base + i + (size_t)__builtin_ctzll(ends) + 1))
                s->lost_hits++;
            ends &= ends - 1;
        }
        prev = cur;
        cur = next;
    }
}

static void dispatch_digits(guard_ctx *c, uint64_t to)
{
    for (int d = 0; d < GUARD_DET_COUNT; d++)
        if (guard_detectors[d]->on_digits)
            guard_detectors[d]->on_digits(c, to);
}

static int cmp_hit(const void *a, const void *b)
{
    const guard_hit *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    return x->id < y->id ? -1 : (x->id > y->id);
}

/* Drops the hits hs_close_stream() appended from `from` on that repeat one
 * buffered before it (same pattern, same end).
 *
 * Hyperscan reports a match once per pattern and end offset within a scan,
 * but a multiline $ also matches "before a line feed at the end of the
 * subject" (PCRE's $), and stream mode checks that in hs_close_stream(),
 * apart from the scan that reported the same match when it saw the line
 * feed: a marking line that ends the input came twice. The earlier copy ends
 * one byte before the end of the view, and every batch before the last stops
 * LOOKAHEAD bytes short of it, so it is still buffered. Only patterns
 * anchored at the end fire at close, a handful, so comparing each with the
 * whole buffer stays linear. */
static void drop_close_repeats(guard_scanner *s, size_t from)
{
    size_t k = from;
    for (size_t i = from; i < s->n_hits; i++) {
        bool seen = false;
        for (size_t j = 0; j < from && !seen; j++)
            seen = s->hits[j].id == s->hits[i].id && s->hits[j].to == s->hits[i].to;
        if (!seen)
            s->hits[k++] = s->hits[i];
    }
    s->n_hits = k;
}

/* Dispatches buffered hits and digit runs with end offset <= upto, merged in
 * end order (a digit run after the hits ending where it ends); keeps the
 * rest. */
static void dispatch(guard_scanner *s, guard_ctx *c, uint64_t upto)
{
    const guard_ruleset *rs = c->rs;
    size_t i, r = 0, k = 0;
    bool sorted = true;
    for (i = 1; i < s->n_hits && sorted; i++)
        sorted = s->hits[i - 1].to <= s->hits[i].to;
    if (!sorted)
        qsort(s->hits, s->n_hits, sizeof *s->hits, cmp_hit);
    for (i = 0; i < s->n_hits; i++) {
        const guard_hit *h = &s->hits[i];
        if (h->to > upto)
            break;
        for (; r < s->n_runs && s->runs[r] < h->to; r++)
            dispatch_digits(c, s->runs[r]);
        if (h->id >= rs->n_builtin)
            guard_det_lexicon.on_hit(c, h->id - (uint32_t)rs->n_builtin, h->to);
        else
            guard_detectors[rs->meta[h->id].det]->on_hit(c, rs->meta[h->id].arg, h->to);
    }
    for (; r < s->n_runs && s->runs[r] <= upto; r++)
        dispatch_digits(c, s->runs[r]);
    for (; i < s->n_hits; i++)
        s->hits[k++] = s->hits[i];
    s->n_hits = k;
    for (k = 0; r < s->n_runs; r++)
        s->runs[k++] = s->runs[r];
    s->n_runs = k;
}

static int detectors_begin(guard_ctx *c)
{
    for (int d = 0; d < GUARD_DET_COUNT; d++)
        if (guard_detectors[d]->begin && guard_detectors[d]->begin(c))
            return -1;
    return 0;
}

static void detectors_finish(guard_ctx *c)
{
    for (int d = 0; d < GUARD_DET_COUNT; d++)
        if (guard_detectors[d]->finish)
            guard_detectors[d]->finish(c);
}

static void detectors_end(guard_ctx *c)
{
    for (int d = 0; d < GUARD_DET_COUNT; d++)
        if (guard_detectors[d]->end)
            guard_detectors[d]->end(c);
}

static void note_lost(guard_scanner *s, guard_result_impl *res)
{
    if (s->lost_hits) {
        /* Too many candidates to check them all: say so, never pass silently. */
        guard_findings_unchecked(guard_result_findings(res), s->lost_hits);
        s->lost_hits = 0;
    }
}

guard_err guard_scan(guard_scanner *s, guard_ruleset *rs, const char *text, size_t len,
                     guard_scope scope, guard_result **out, guard_error *err)
{
    guard_result_impl *res = NULL;
    guard_ctx c;
    guard_err rc;
    bool begun = false;

    if (!s || !rs || (!text && len) || !out)
        return seterr(err, GUARD_EINVAL, "guard_scan: bad argument");
    if (s->streaming)
        return seterr(err, GUARD_EINVAL, "guard_scan: the scanner has a stream open");
    if (len > rs->policy.settings.max_message_bytes)
        return seterr(err, GUARD_EINVAL, "input larger than the policy's max_message_bytes");
    rc = fit_scratch(s, rs, rs->db_block, &s->sized_block, err);
    if (rc)
        return rc;
    res = guard_result_new(rs);
    if (!res)
        return seterr(err, GUARD_ENOMEM, "out of memory");

    guard_norm_reset(&s->norm);
    s->n_hits = 0;
    s->n_runs = 0;
    s->dig_pos = 0;
    s->lost_hits = 0;
    if (guard_norm_feed(&s->norm, (const unsigned char *)text, len, true)) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory normalising input");
        goto fail;
    }
    find_digit_runs(s, s->norm.len, true);
    if (s->norm.len > UINT32_MAX) { /* folding expanded it past Hyperscan's limit */
        rc = seterr(err, GUARD_EINVAL, "input too large once normalised: stream it");
        goto fail;
    }
    s->meta = rs->meta;
    s->n_meta = rs->n_builtin;
    s->view_final = s->norm.base + s->norm.len;
    if (hs_scan(rs->db_block, s->norm.view ? (const char *)s->norm.view : "", (unsigned)s->norm.len,
                0, s->scratch, on_match, s) != HS_SUCCESS) {
        rc = seterr(err, GUARD_ENOMEM, "Hyperscan scan failed");
        goto fail;
    }

    memset(&c, 0, sizeof c);
    c.rs = rs;
    c.cfg = &rs->policy.settings;
    c.scope = scope;
    c.norm = &s->norm;
    c.orig = (const unsigned char *)text;
    c.orig_len = len;
    c.view_end = s->norm.len;
    c.final = true;
    c.out = guard_result_findings(res);
    begun = true;
    if (detectors_begin(&c)) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory");
        goto fail;
    }
    dispatch(s, &c, UINT64_MAX);
    detectors_finish(&c);
    detectors_end(&c);
    begun = false;

    guard_result *pub = guard_result_pub(res);
    pub->bytes = len;
    pub->invalid_utf8 = s->norm.invalid;
    note_lost(s, res);
    if (guard_result_finalize(res, scope, text, len)) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory");
        goto fail;
    }
    *out = pub;
    return GUARD_OK;
fail:
    if (begun)
        detectors_end(&c);
    guard_result_free(guard_result_pub(res));
    return rc;
}

/* ---- streaming ----------------------------------------------------------- */

guard_err guard_stream_open(guard_scanner *s, guard_ruleset *rs, guard_scope scope,
                            guard_stream **out, guard_error *err)
{
    guard_stream *st;
    hs_database_t *db;
    guard_err rc;

    if (!s || !rs || !out)
        return seterr(err, GUARD_EINVAL, "guard_stream_open: bad argument");
    if (s->streaming)
        return seterr(err, GUARD_EINVAL, "the scanner already has a stream open");
    db = guard_ruleset_stream_db(rs, err);
    if (!db)
        return err ? err->code : GUARD_ECOMPILE;
    rc = fit_scratch(s, rs, db, &s->sized_stream, err);
    if (rc)
        return rc;
    st = calloc(1, sizeof *st);
    if (!st)
        return seterr(err, GUARD_ENOMEM, "out of memory");
    st->s = s;
    st->rs = guard_ruleset_ref(rs);
    st->scope = scope;
    st->res = guard_result_new(rs);
    if (!st->res || hs_open_stream(db, 0, &st->hs) != HS_SUCCESS) {
        rc = seterr(err, GUARD_ENOMEM, "out of memory");
        goto fail;
    }
    guard_norm_reset(&s->norm);
    s->n_hits = 0;
    s->n_runs = 0;
    s->dig_pos = 0;
    s->lost_hits = 0;
    st->ctx.rs = rs;
    st->ctx.cfg = &rs->policy.settings;
    st->ctx.scope = scope;
    st->ctx.norm = &s->norm;
    st->ctx.out = guard_result_findings(st->res);
    if (detectors_begin(&st->ctx)) {
        detectors_end(&st->ctx);
        rc = seterr(err, GUARD_ENOMEM, "out of memory");
        goto fail;
    }
    s->streaming = true;
    *out = st;
    return GUARD_OK;
fail:
    if (st->hs)
        hs_close_stream(st->hs, NULL, NULL, NULL);
    if (st->res)
        guard_result_free(guard_result_pub(st->res));
    guard_ruleset_unref(st->rs);
    free(st);
    return rc;
}

/* Runs newly final view bytes through the stream and dispatches what is
 * settled; then trims the windows. */
static guard_err stream_advance(guard_stream *st, bool final, guard_error *err)
{
    guard_scanner *s = st->s;
    guard_norm *n = &s->norm;
    uint64_t committed = n->base + guard_norm_committed(n);

    s->meta = st->rs->meta;
    s->n_meta = st->rs->n_builtin;
    s->view_final = committed;
    if (committed > st->scanned) {
        const char *p = (const char *)n->view + (st->scanned - n->base);
        uint64_t left = committed - st->scanned;
        while (left) {
            unsigned piece = left > (1u << 30) ? (1u << 30) : (unsigned)left;
            if (hs_scan_stream(st->hs, p, piece, 0, s->scratch, on_match, s) != HS_SUCCESS)
                return seterr(err, GUARD_ENOMEM, "Hyperscan stream scan failed");
            p += piece;
            left -= piece;
        }
        st->scanned = committed;
    }
    find_digit_runs(s, committed, final);
    if (final) {
        size_t before = s->n_hits;
        if (hs_close_stream(st->hs, s->scratch, on_match, s) != HS_SUCCESS)
            return seterr(err, GUARD_ENOMEM, "Hyperscan stream close failed");
        st->hs = NULL;
        drop_close_repeats(s, before);
    }
    st->ctx.orig = st->orig;
    st->ctx.orig_base = st->orig_base;
    st->ctx.orig_len = st->orig_len;
    st->ctx.view_end = committed;
    st->ctx.final = final;
    if (final) {
        dispatch(s, &st->ctx, UINT64_MAX);
        return GUARD_OK;
    }
    uint64_t upto = committed > LOOKAHEAD ? committed - LOOKAHEAD : 0;
    dispatch(s, &st->ctx, upto);
    for (int d = 0; d < GUARD_DET_COUNT; d++)
        if (guard_detectors[d]->flush)
            guard_detectors[d]->flush(&st->ctx, upto);

    /* Keep KEEP view bytes behind the oldest undispatched hit. */
    uint64_t oldest = s->n_hits ? s->hits[0].to : upto;
    if (oldest > upto)
        oldest = upto;
    if (s->n_runs && s->runs[0] < oldest)
        oldest = s->runs[0];
    if (s->dig_pos < oldest) /* a digit run still open: its start */
        oldest = s->dig_pos;
    if (oldest > n->base + KEEP) {
        guard_norm_discard(n, oldest - KEEP);
        uint64_t keep_orig = st->fed, oe;
        if (n->len)
            guard_norm_to_orig(n, n->base, n->base + 1, &keep_orig, &oe);
        if (keep_orig > st->orig_base) {
            size_t drop = (size_t)(keep_orig - st->orig_base);
            if (drop > st->orig_len)
                drop = st->orig_len;
            memmove(st->orig, st->orig + drop, st->orig_len - drop);
            st->orig_len -= drop;
            st->orig_base += drop;
        }
    }
    return GUARD_OK;
}

guard_err guard_stream_feed(guard_stream *st, const char *chunk, size_t len, guard_error *err)
{
    guard_err rc;
    if (!st || (!chunk && len))
        return seterr(err, GUARD_EINVAL, "guard_stream_feed: bad argument");
    if (st->failed)
        return seterr(err, GUARD_EINVAL, "the stream failed before");
    while (len) {
        /* Feed in bounded pieces so the windows stay small. */
        size_t piece = len > (1u << 20) ? (1u << 20) : len;
        if (st->orig_len + piece > st->orig_cap) {
            size_t nc = st->orig_cap ? st->orig_cap : 1u << 16;
            while (nc < st->orig_len + piece)
                nc *= 2;
            unsigned char *q = realloc(st->orig, nc);
            if (!q) {
                st->failed = true;
                return seterr(err, GUARD_ENOMEM, "out of memory");
            }
            st->orig = q;
            st->orig_cap = nc;
        }
        memcpy(st->orig + st->orig_len, chunk, piece);
        st->orig_len += piece;
        if (guard_norm_feed(&st->s->norm, (const unsigned char *)chunk, piece, false)) {
            st->failed = true;
            return seterr(err, GUARD_ENOMEM, "out of memory normalising input");
        }
        st->fed += piece;
        rc = stream_advance(st, false, err);
        if (rc) {
            st->failed = true;
            return rc;
        }
        chunk += piece;
        len -= piece;
    }
    return GUARD_OK;
}

guard_err guard_stream_close(guard_stream *st, guard_result **out, guard_error *err)
{
    guard_err rc = GUARD_OK;
    guard_scanner *s;
    if (!st)
        return seterr(err, GUARD_EINVAL, "guard_stream_close: bad argument");
    s = st->s;
    if (!st->failed) {
        if (guard_norm_feed(&s->norm, NULL, 0, true))
            rc = seterr(err, GUARD_ENOMEM, "out of memory normalising input");
        else
            rc = stream_advance(st, true, err);
    } else {
        rc = seterr(err, GUARD_EINVAL, "the stream failed before");
    }
    if (!rc) {
        detectors_finish(&st->ctx);
    }
    detectors_end(&st->ctx);
    if (st->hs)
        hs_close_stream(st->hs, NULL, NULL, NULL);
    if (!rc) {
        guard_result *pub = guard_result_pub(st->res);
        pub->bytes = st->fed;
        pub->invalid_utf8 = s->norm.invalid;
        note_lost(s, st->res);
        if (guard_result_finalize(st->res, st->scope, NULL, 0))
            rc = seterr(err, GUARD_ENOMEM, "out of memory");
    }
    if (!rc && out)
        *out = guard_result_pub(st->res);
    else
        guard_result_free(guard_result_pub(st->res));
    s->streaming = false;
    s->n_hits = 0;
    s->n_runs = 0;
    guard_ruleset_unref(st->rs);
    free(st->orig);
    free(st);
    return rc;
}
