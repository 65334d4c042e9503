/*
 * guard_result.c — findings, their strings, the verdict and the masked copy.
 *
 * Strings of a result live in one arena freed with the result; the result
 * keeps a reference to its ruleset because rule ids and policy rule ids are
 * pointers into it.
 */
#include "guard_result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_policy.h"
#include "guard_ruleset.h"

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

struct guard_findings {
    guard_finding *v;
    size_t n, cap;
    size_t limit;
    size_t dropped;
    bool incomplete; /* something could not be judged */
    arena_chunk *arena;
};

struct guard_result_impl {
    guard_result pub; /* first: a guard_result* is a guard_result_impl* */
    guard_findings f;
    guard_ruleset *rs;
};

static char *arena_dup(guard_findings *f, const char *s, size_t len)
{
    arena_chunk *c = f->arena;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > 16384 ? len + 1 : 16384;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = f->arena;
        c->used = 0;
        c->cap = cap;
        f->arena = c;
    }
    char *p = c->data + c->used;
    memcpy(p, s, len);
    p[len] = 0;
    c->used += len + 1;
    return p;
}

guard_result_impl *guard_result_new(guard_ruleset *rs)
{
    guard_result_impl *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rs = guard_ruleset_ref(rs);
    r->f.limit = rs->policy.settings.findings_cap ? rs->policy.settings.findings_cap : 1000;
    r->pub.status = GUARD_STATUS_SCANNED;
    return r;
}

guard_result *guard_result_pub(guard_result_impl *r)
{
    return &r->pub;
}

guard_findings *guard_result_findings(guard_result_impl *r)
{
    return &r->f;
}

guard_finding *guard_findings_at(guard_findings *f, int i)
{
    return i >= 0 && (size_t)i < f->n ? &f->v[i] : NULL;
}

void guard_findings_lost(guard_findings *f, size_t n)
{
    f->dropped += n;
    f->incomplete = true;
}

void guard_ctx_lost(guard_ctx *c)
{
    guard_findings_lost(c->out, 1);
}

guard_finding *guard_ctx_finding(guard_ctx *c, int i)
{
    return guard_findings_at(c->out, i);
}

void guard_result_free(guard_result *pub)
{
    guard_result_impl *r = (guard_result_impl *)pub;
    if (!r)
        return;
    for (arena_chunk *c = r->f.arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(r->f.v);
    free(r->pub.masked);
    guard_ruleset_unref(r->rs);
    free(r);
}

/* Appends a finding whose strings are copied; returns its index or -1. */
static int push_finding(guard_findings *f, const guard_finding *src, const char *excerpt,
                        size_t excerpt_len)
{
    guard_finding *d;
    if (f->n >= f->limit) {
        f->dropped++;
        return -1;
    }
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        guard_finding *q = realloc(f->v, nc * sizeof *q);
        if (!q)
            return -1;
        f->v = q;
        f->cap = nc;
    }
    d = &f->v[f->n];
    *d = *src;
    d->explanation =
        src->explanation ? arena_dup(f, src->explanation, strlen(src->explanation)) : NULL;
    d->excerpt = arena_dup(f, excerpt ? excerpt : "", excerpt ? excerpt_len : 0);
    d->location = src->location ? arena_dup(f, src->location, strlen(src->location)) : NULL;
    if ((src->explanation && !d->explanation) || !d->excerpt || (src->location && !d->location))
        return -1;
    d->action = GUARD_ALLOW;
    d->policy_rule = NULL;
    return (int)f->n++;
}

void guard_findings_unchecked(guard_findings *f, size_t n)
{
    guard_finding u = {0};
    size_t limit = f->limit;
    char why[128];

    snprintf(why, sizeof why, "%zu candidate matches over the scan's limit were not checked", n);
    u.rule = "uninspectable.candidates";
    u.category = GUARD_CAT_UNINSPECTABLE;
    u.severity = GUARD_SEV_MEDIUM;
    u.confidence = 100;
    u.explanation = why;
    f->limit = f->n + 1;
    if (push_finding(f, &u, "", 0) < 0)
        f->dropped++; /* out of memory: still counted, the status says partial */
    f->limit = limit;
    guard_findings_lost(f, n);
}

int guard_emit_orig(guard_ctx *c, const char *rule, guard_category cat, guard_severity sev,
                    int confidence, uint64_t os, uint64_t oe, const char *explanation)
{
    guard_finding f = {0};
    uint64_t xs, xe, ctx = c->cfg ? c->cfg->excerpt_context : 0;
    uint64_t wlo = c->orig_base, whi = c->orig_base + c->orig_len;

    if (confidence < 0)
        confidence = 0;
    if (confidence > 100)
        confidence = 100;
    f.rule = rule;
    f.category = cat;
    f.severity = sev;
    f.confidence = confidence;
    f.start = os;
    f.end = oe;
    f.evasion = guard_norm_evasive(c->norm, os, oe);
    f.explanation = explanation;
    xs = os > wlo + ctx ? os - ctx : wlo;
    xe = oe + ctx < whi ? oe + ctx : whi;
    if (xs < wlo)
        xs = wlo;
    if (xe < xs)
        xe = xs;
    return push_finding(c->out, &f, (const char *)c->orig + (xs - wlo), (size_t)(xe - xs));
}

int guard_emit(guard_ctx *c, const char *rule, guard_category cat, guard_severity sev,
               int confidence, uint64_t view_start, uint64_t view_end, const char *explanation)
{
    uint64_t os, oe;
    guard_norm_to_orig(c->norm, view_start, view_end, &os, &oe);
    return guard_emit_orig(c, rule, cat, sev, confidence, os, oe, explanation);
}

static int cmp_finding(const void *a, const void *b)
{
    const guard_finding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->rule, y->rule);
}

/* End of the ascending run of findings that starts at v[lo]. */
static size_t run_end(const guard_finding *v, size_t lo, size_t n)
{
    size_t i = lo + 1;
    while (i < n && cmp_finding(&v[i - 1], &v[i]) <= 0)
        i++;
    return i;
}

/* Merges the ascending runs v[lo, mid) and v[mid, hi) into out[lo, hi); on a
 * tie the left run goes first, which keeps the merge stable. */
static void merge_runs(const guard_finding *v, size_t lo, size_t mid, size_t hi, guard_finding *out)
{
    size_t a = lo, b = mid, o = lo;
    while (a < mid && b < hi)
        out[o++] = cmp_finding(&v[b], &v[a]) < 0 ? v[b++] : v[a++];
    while (a < mid)
        out[o++] = v[a++];
    while (b < hi)
        out[o++] = v[b++];
}

/* Detectors emit in about the order of the text, but not quite: the
 * lexicon settles its candidates 32 at a time, so its findings come in
 * batches behind the others'. The findings are a few long ascending runs,
 * which a natural merge sort (merge neighbouring runs until one is left)
 * puts in order in a few linear passes, where an insertion sort ran out of
 * moves on every large text and qsort (a merge sort of ~80-byte elements
 * through pointers) cost ~400 instructions a finding. Stable, as qsort is
 * in glibc (also the fallback without memory): ties (same span, same rule)
 * keep the order they were emitted in. */
static void sort_findings(guard_finding *v, size_t n)
{
    guard_finding *tmp, *src = v, *dst;
    size_t runs;

    if (run_end(v, 0, n) >= n)
        return; /* already in order: messages, mostly */
    tmp = malloc(n * sizeof *tmp);
    if (!tmp) {
        qsort(v, n, sizeof *v, cmp_finding);
        return;
    }
    dst = tmp;
    do {
        runs = 0;
        for (size_t lo = 0, mid, hi; lo < n; lo = hi, runs++) {
            mid = run_end(src, lo, n);
            hi = mid < n ? run_end(src, mid, n) : n;
            merge_runs(src, lo, mid, hi, dst);
        }
        guard_finding *t = src;
        src = dst;
        dst = t;
    } while (runs > 1);
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
}

size_t guard_mask_excerpt(const char *s, size_t len, char *out, size_t cap)
{
    size_t nchars = 0, keep_head, keep_tail, o = 0, ci = 0;
    const char *at = memchr(s, '@', len);
    if (!cap)
        return 0;
    if (at) {
        /* e-mail: first character of the local part, then the domain */
        size_t i = 1;
        while (i < (size_t)(at - s) && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        int n = snprintf(out, cap, "%.*s***%.*s", (int)i, s, (int)(len - (size_t)(at - s)), at);
        return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
    }
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            nchars++;
    if (nchars >= 11) {
        keep_head = 3;
        keep_tail = 4;
    } else if (nchars >= 7) {
        keep_head = 2;
        keep_tail = 2;
    } else if (nchars >= 3) {
        keep_head = 1;
        keep_tail = 1;
    } else {
        keep_head = keep_tail = 0;
    }
    for (size_t i = 0; i < len;) {
        size_t k = 1;
        while (i + k < len && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k++;
        bool keep = ci < keep_head || ci >= nchars - keep_tail;
        if (keep) {
            if (o + k >= cap)
                break;
            memcpy(out + o, s + i, k);
            o += k;
        } else {
            if (o + 1 >= cap)
                break;
            out[o++] = (s[i] == ' ' || s[i] == '-') ? s[i] : '*';
        }
        ci++;
        i += k;
    }
    out[o] = 0;
    return o;
}

/* The input with every finding the policy masked replaced by its mask. */
static int build_masked(guard_result_impl *r, const char *orig, size_t len)
{
    size_t cap = len + 1, o = 0;
    uint64_t pos = 0;
    char *m = malloc(cap);
    if (!m)
        return -1;
    for (size_t i = 0; i < r->f.n; i++) {
        const guard_finding *f = &r->f.v[i];
        if (f->action != GUARD_MASK || f->start < pos || f->end > len)
            continue;
        if (f->start > pos)
            memcpy(m + o, orig + pos, (size_t)(f->start - pos));
        o += (size_t)(f->start - pos);
        /* a mask is never longer than its span */
        o += guard_mask_excerpt(orig + f->start, (size_t)(f->end - f->start), m + o,
                                (size_t)(f->end - f->start) + 1);
        pos = f->end;
    }
    if (len > pos)
        memcpy(m + o, orig + pos, len - (size_t)pos);
    o += len - (size_t)pos;
    m[o] = 0;
    r->pub.masked = m;
    r->pub.masked_len = o;
    return 0;
}

int guard_result_finalize(guard_result_impl *r, guard_scope scope, const char *orig,
                          size_t orig_len)
{
    sort_findings(r->f.v, r->f.n);
    r->pub.findings = r->f.v;
    r->pub.n_findings = r->f.n;
    r->pub.findings_dropped = r->f.dropped;
    if (r->f.incomplete && r->pub.status == GUARD_STATUS_SCANNED)
        r->pub.status = GUARD_STATUS_PARTIAL;
    r->pub.verdict = guard_policy_apply(&r->rs->policy, r->f.v, r->f.n, scope, &r->pub.decided_by);
    free(r->pub.masked);
    r->pub.masked = NULL;
    r->pub.masked_len = 0;
    if (orig && r->pub.verdict == GUARD_MASK)
        return build_masked(r, orig, orig_len);
    return 0;
}

/* Pushes one finding (its strings copied into the result's arena) without
 * applying the policy. A finding beyond the cap is counted, not an error. */
static guard_err push_one(guard_result_impl *r, const guard_finding *f, const char *location,
                          guard_error *err)
{
    const char *ex = f->excerpt ? f->excerpt : "";
    size_t before = r->f.dropped;
    guard_finding g = *f;
    int idx;

    if (location)
        g.location = location;
    idx = push_finding(&r->f, &g, ex, strlen(ex));
    if (idx >= 0 && !(r->f.v[idx].rule = arena_dup(&r->f, f->rule, strlen(f->rule))))
        idx = -1;
    if (idx < 0 && r->f.dropped == before) {
        if (err) {
            err->code = GUARD_ENOMEM;
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        return GUARD_ENOMEM;
    }
    if (f->category == GUARD_CAT_UNINSPECTABLE && r->pub.status == GUARD_STATUS_SCANNED)
        r->pub.status = GUARD_STATUS_PARTIAL;
    return GUARD_OK;
}

guard_err guard_result_add_many(guard_result *pub, guard_ruleset *rs, const guard_finding *fs,
                                size_t n, const char *location, guard_scope scope, guard_error *err)
{
    guard_result_impl *r = (guard_result_impl *)pub;
    guard_err rc = GUARD_OK;
    (void)rs; /* the result's own ruleset decides, so verdicts stay consistent */

    for (size_t i = 0; i < n && !rc; i++)
        rc = push_one(r, &fs[i], location, err);
    /* Applied even after a failure, so the verdict covers what was added; a
     * masked copy made before would not carry the new findings. */
    if (guard_result_finalize(r, scope, NULL, 0) && !rc) {
        if (err) {
            err->code = GUARD_ENOMEM;
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        rc = GUARD_ENOMEM;
    }
    return rc;
}

guard_err guard_result_add(guard_result *pub, guard_ruleset *rs, const guard_finding *f,
                           guard_scope scope, guard_error *err)
{
    return guard_result_add_many(pub, rs, f, 1, NULL, scope, err);
}

static const char *const cat_names[] = {"marking", "lexicon",  "pii",   "secret",
                                        "link",    "metadata", "image", "uninspectable"};
static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};
static const char *const act_names[] = {"allow", "warn", "mask", "confirm", "block"};
static const char *const status_names[] = {"scanned", "partial", "unscannable"};

const char *guard_category_name(guard_category c)
{
    return (unsigned)c < GUARD_CAT_COUNT ? cat_names[c] : "?";
}

const char *guard_severity_name(guard_severity s)
{
    return (unsigned)s < GUARD_SEV_COUNT ? sev_names[s] : "?";
}

const char *guard_action_name(guard_action a)
{
    return (unsigned)a < GUARD_ACTION_COUNT ? act_names[a] : "?";
}

const char *guard_status_name(guard_status s)
{
    return (unsigned)s <= GUARD_STATUS_UNSCANNABLE ? status_names[s] : "?";
}

const char *guard_err_name(guard_err e)
{
    switch (e) {
    case GUARD_OK:
        return "ok";
    case GUARD_ENOMEM:
        return "out of memory";
    case GUARD_EINVAL:
        return "invalid argument";
    case GUARD_EIO:
        return "i/o error";
    case GUARD_EPARSE:
        return "parse error";
    case GUARD_ECOMPILE:
        return "compile error";
    }
    return "?";
}
