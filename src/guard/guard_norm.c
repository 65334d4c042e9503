/*
 * guard_norm.c — builds the matching view (see guard_norm.h).
 *
 * The per-character folds come from the generated table guard_fold_bmp
 * (utf8proc + OpenCC + ICU at build time); this file only walks UTF-8, applies
 * the table, decides which separators drop, and keeps the offset map. Code
 * points outside the BMP are rare and go through utf8proc directly.
 */
#include "guard_norm.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "guard_foldtab.h"

#define PENDING_MAX 8 /* longer separator runs inside CJK text are kept */

void guard_norm_init(guard_norm *n)
{
    memset(n, 0, sizeof *n);
}

void guard_norm_free(guard_norm *n)
{
    free(n->view);
    free(n->map);
    free(n->ev);
    memset(n, 0, sizeof *n);
}

void guard_norm_reset(guard_norm *n)
{
    n->len = 0;
    n->base = 0;
    n->n_map = 0;
    n->n_ev = 0;
    n->orig_pos = 0;
    n->n_carry = 0;
    n->linear_ok = false;
    n->last_cjk = false;
    n->last_space = false;
    n->pending_chars = 0;
    n->invalid = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc = *cap ? *cap : 64;
    void *q;
    if (need <= *cap)
        return 0;
    while (nc < need)
        nc *= 2;
    q = realloc(*p, nc * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static int push_map(guard_norm *n, uint64_t orig, uint32_t olen)
{
    if (n->n_map == n->cap_map && grow((void **)&n->map, &n->cap_map, n->n_map + 1, sizeof *n->map))
        return -1;
    n->map[n->n_map].view = n->base + n->len;
    n->map[n->n_map].orig = orig;
    n->map[n->n_map].olen = olen;
    n->n_map++;
    return 0;
}

static int push_ev(guard_norm *n, uint64_t orig)
{
    if (n->n_ev && n->ev[n->n_ev - 1] == orig)
        return 0;
    if (n->n_ev == n->cap_ev && grow((void **)&n->ev, &n->cap_ev, n->n_ev + 1, sizeof *n->ev))
        return -1;
    n->ev[n->n_ev++] = orig;
    return 0;
}

/* Resolves held separators: dropped when the next character is CJK. */
static int settle_pending(guard_norm *n, bool next_is_cjk)
{
    int rc = 0;
    if (!n->pending_chars)
        return 0;
    if (next_is_cjk) {
        n->len = n->pending_view;
        n->n_map = n->pending_map;
        n->n_ev = n->pending_ev;
        for (int i = 0; i < n->pending_chars && !rc; i++)
            rc = push_ev(n, n->pending_orig[i]);
        n->linear_ok = false;
        n->last_space = false;
    }
    n->pending_chars = 0;
    return rc;
}

/* Emits the fold of one original character of `olen` bytes at `orig`. */
static int emit(guard_norm *n, uint64_t orig, uint32_t olen, const unsigned char *src,
                const unsigned char *out, uint32_t vlen, unsigned flags)
{
    bool identity_len = vlen == olen && (flags & GUARD_FOLD_IDENT);

    if (flags & GUARD_FOLD_DROP) {
        if ((flags & GUARD_FOLD_EVASION) || n->last_cjk)
            if (push_ev(n, orig))
                return -1;
        n->linear_ok = false;
        return 0;
    }
    if (flags & GUARD_FOLD_SPACE) {
        if (n->last_space) { /* collapse runs of white space */
            if (n->pending_chars && n->pending_chars < PENDING_MAX)
                n->pending_orig[n->pending_chars++] = orig;
            n->linear_ok = false;
            return 0;
        }
    }
    if ((flags & GUARD_FOLD_SEP) && !(flags & GUARD_FOLD_NL)) {
        if (n->last_cjk && !n->pending_chars) {
            n->pending_view = n->len;
            n->pending_map = n->n_map;
            n->pending_ev = n->n_ev;
        }
        if (n->last_cjk || n->pending_chars) {
            if (n->pending_chars == PENDING_MAX) {
                n->pending_chars = 0; /* too long to be an evasion: keep */
                n->last_cjk = false;
            } else {
                n->pending_orig[n->pending_chars++] = orig;
            }
        }
    } else if (settle_pending(n, (flags & GUARD_FOLD_CJK) != 0)) {
        return -1;
    }

    if (n->len + vlen + 8 > n->cap) {
        if (grow((void **)&n->view, &n->cap, n->len + vlen + 8, 1))
            return -1;
    }
    if (identity_len) {
        if (!n->linear_ok) {
            if (push_map(n, orig, 0))
                return -1;
            n->linear_ok = true;
        }
        memcpy(n->view + n->len, src, vlen);
    } else {
        if (push_map(n, orig, olen))
            return -1;
        n->linear_ok = false;
        memcpy(n->view + n->len, out, vlen);
        if (vlen == olen && !(flags & GUARD_FOLD_EVASION)) {
            /* same length (a case or T→S fold): the next char may be linear */
            n->map[n->n_map - 1].olen = 0;
            n->linear_ok = true;
        }
    }
    if ((flags & GUARD_FOLD_EVASION) && push_ev(n, orig))
        return -1;
    n->len += vlen;
    if (flags & GUARD_FOLD_CJK)
        n->last_cjk = true;
    else if (!n->pending_chars)
        n->last_cjk = false;
    n->last_space = (flags & (GUARD_FOLD_SPACE | GUARD_FOLD_NL)) != 0;
    return 0;
}

static const unsigned char fffd[3] = {0xEF, 0xBF, 0xBD};

/* Folds a code point outside the BMP (emoji, CJK extensions, mathematical
 * alphanumerics, tag characters) with utf8proc at run time. */
static int emit_astral(guard_norm *n, uint64_t orig, const unsigned char *src, uint32_t cp)
{
    unsigned char out[64];
    utf8proc_uint8_t *m = NULL;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    unsigned flags = 0;
    utf8proc_ssize_t ml;
    size_t nb = 0;
    int rc;

    if ((cp >= 0xE0000 && cp <= 0xE0FFF) || cat == UTF8PROC_CATEGORY_CF)
        return emit(n, orig, 4, src, out, 0, GUARD_FOLD_DROP | GUARD_FOLD_EVASION);
    if (cp >= 0x20000 && cp <= 0x3FFFF) /* CJK extensions B..H */
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_CJK | GUARD_FOLD_IDENT);
    if (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_SO)
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_SEP | GUARD_FOLD_IDENT);
    ml = utf8proc_map(src, 4, &m,
                      UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                          UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
    if (ml < 0 || ml > (utf8proc_ssize_t)sizeof out) {
        free(m);
        return emit(n, orig, 4, src, src, 4, GUARD_FOLD_IDENT);
    }
    memcpy(out, m, (size_t)ml);
    nb = (size_t)ml;
    free(m);
    if (nb == 0)
        flags = GUARD_FOLD_DROP;
    else if (nb == 4 && memcmp(out, src, 4) == 0)
        flags = GUARD_FOLD_IDENT;
    else if (out[0] < 0x80)
        flags = GUARD_FOLD_EVASION; /* 𝐒𝐄𝐂𝐑𝐄𝐓: ASCII in disguise */
    rc = emit(n, orig, 4, src, out, (uint32_t)nb, flags);
    return rc;
}

/* Decodes one UTF-8 sequence at s (avail bytes). Returns its length, 0 when
 * more bytes are needed, or -1 when invalid (one byte to replace). */
static int decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char b = s[0];
    int need;
    uint32_t c, min;
    if (b < 0xC2)
        return -1; /* continuation byte or overlong lead */
    if (b < 0xE0) {
        need = 2;
        c = b & 0x1F;
        min = 0x80;
    } else if (b < 0xF0) {
        need = 3;
        c = b & 0x0F;
        min = 0x800;
    } else if (b < 0xF5) {
        need = 4;
        c = b & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= avail)
            return 0;
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return need;
}

/* Reserves room for a linear run of `k` view bytes that maps byte-for-byte
 * onto the original at `orig` (the fast paths below), after resolving held
 * separators against what the run starts with. Returns where to write, or
 * NULL when out of memory. */
static unsigned char *linear_run(guard_norm *n, uint64_t orig, size_t k, bool cjk)
{
    if (n->pending_chars && settle_pending(n, cjk))
        return NULL;
    if (!n->linear_ok) {
        if (push_map(n, orig, 0))
            return NULL;
        n->linear_ok = true;
    }
    if (n->len + k + 8 > n->cap) {
        if (grow((void **)&n->view, &n->cap, n->len + k + 8, 1))
            return NULL;
    }
    unsigned char *o = n->view + n->len;
    n->len += k;
    n->last_cjk = cjk;
    n->last_space = false;
    return o;
}

static int feed_bytes(guard_norm *n, const unsigned char *s, size_t len, bool final,
                      size_t *consumed)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        uint64_t orig = n->orig_pos + i;
        if (b < 0x80) {
            const guard_fold_entry *e = &guard_fold_bmp[b];
            /* Fast path: a run of letters and digits is linear, never holds a
             * separator, and needs one capacity check for the whole run. */
            if (e->flags == GUARD_FOLD_IDENT || (unsigned)(b - 'A') < 26u) {
                size_t j = i + 1;
                while (j < len && s[j] < 0x80 &&
                       (guard_fold_bmp[s[j]].flags == GUARD_FOLD_IDENT ||
                        (unsigned)(s[j] - 'A') < 26u))
                    j++;
                unsigned char *o = linear_run(n, orig, j - i, false);
                if (!o)
                    return -1;
                for (size_t k = i; k < j; k++)
                    o[k - i] = (unsigned char)((unsigned)(s[k] - 'A') < 26u ? s[k] + 32 : s[k]);
                i = j;
                continue;
            }
            if (emit(n, orig, 1, s + i, (const unsigned char *)&e->val, e->len, e->flags))
                return -1;
            i++;
            continue;
        }
        /* Fast path: a run of CJK characters that fold to themselves (most
         * simplified Chinese text) is copied as it is. */
        if ((b & 0xF0) == 0xE0 && i + 2 < len && (s[i + 1] & 0xC0) == 0x80 &&
            (s[i + 2] & 0xC0) == 0x80) {
            size_t j = i;
            while (j + 2 < len && (s[j] & 0xF0) == 0xE0 && (s[j + 1] & 0xC0) == 0x80 &&
                   (s[j + 2] & 0xC0) == 0x80) {
                uint32_t c3 = ((uint32_t)(s[j] & 0x0F) << 12) | ((uint32_t)(s[j + 1] & 0x3F) << 6) |
                              (s[j + 2] & 0x3F);
                if (c3 < 0x800 || (c3 >= 0xD800 && c3 <= 0xDFFF) ||
                    guard_fold_bmp[c3].flags != (GUARD_FOLD_CJK | GUARD_FOLD_IDENT))
                    break;
                j += 3;
            }
            if (j > i) {
                unsigned char *o = linear_run(n, orig, j - i, true);
                if (!o)
                    return -1;
                memcpy(o, s + i, j - i);
                i = j;
                continue;
            }
        }
        uint32_t cp;
        int k = decode(s + i, len - i, &cp);
        if (k == 0) {
            if (!final)
                break; /* carried to the next chunk */
            k = -1;
        }
        if (k < 0) {
            n->invalid++;
            if (emit(n, orig, 1, s + i, fffd, 3, 0))
                return -1;
            i++;
            continue;
        }
        if (cp < 0x10000) {
            const guard_fold_entry *e = &guard_fold_bmp[cp];
            const unsigned char *out =
                e->len <= 4 ? (const unsigned char *)&e->val : guard_fold_pool + e->val;
            if (emit(n, orig, (uint32_t)k, s + i, out, e->len, e->flags))
                return -1;
        } else if (emit_astral(n, orig, s + i, cp)) {
            return -1;
        }
        i += (size_t)k;
    }
    *consumed = i;
    return 0;
}

int guard_norm_feed(guard_norm *n, const unsigned char *s, size_t len, bool final)
{
    static const unsigned char none[1];
    size_t used = 0;

    if (!s)
        s = none; /* a final call with no bytes */

    if (n->n_carry) {
        /* Complete the sequence split by the previous chunk. */
        unsigned char tmp[8];
        size_t take = len < 4 ? len : 4;
        memcpy(tmp, n->carry, n->n_carry);
        memcpy(tmp + n->n_carry, s, take);
        size_t have = n->n_carry + take, got = 0;
        uint64_t start = n->orig_pos;
        /* Decode just the first character of the joined bytes. */
        uint32_t cp;
        int k = decode(tmp, have, &cp);
        if (k == 0 && !final && take == len) {
            memcpy(n->carry + n->n_carry, s, len);
            n->n_carry += len;
            return 0;
        }
        size_t one = k > 0 ? (size_t)k : 1;
        if (feed_bytes(n, tmp, one, true, &got))
            return -1;
        n->orig_pos = start + one;
        used = one > n->n_carry ? one - n->n_carry : 0;
        if (one < n->n_carry) {
            /* an invalid byte: re-feed the rest of the carry */
            size_t rest = n->n_carry - one;
            memmove(n->carry, n->carry + one, rest);
            n->n_carry = rest;
            return guard_norm_feed(n, s, len, final);
        }
        n->n_carry = 0;
    }
    size_t consumed = 0;
    if (feed_bytes(n, s + used, len - used, final, &consumed))
        return -1;
    n->orig_pos += consumed;
    size_t left = len - used - consumed;
    if (left) {
        memcpy(n->carry, s + used + consumed, left);
        n->n_carry = left;
    }
    if (final && settle_pending(n, false))
        return -1;
    return 0;
}

size_t guard_norm_committed(const guard_norm *n)
{
    return n->pending_chars ? n->pending_view : n->len;
}

static size_t find_entry(const guard_norm *n, uint64_t v)
{
    size_t lo = 0, hi = n->n_map;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->map[mid].view <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void guard_norm_to_orig(const guard_norm *n, uint64_t vs, uint64_t ve, uint64_t *os, uint64_t *oe)
{
    const guard_map_entry *a, *b;
    if (!n->n_map) {
        *os = *oe = 0;
        return;
    }
    if (ve <= vs)
        ve = vs + 1;
    a = &n->map[find_entry(n, vs)];
    b = &n->map[find_entry(n, ve - 1)];
    *os = a->olen ? a->orig : a->orig + (vs - a->view);
    *oe = b->olen ? b->orig + b->olen : b->orig + (ve - b->view);
}

bool guard_norm_evasive(const guard_norm *n, uint64_t os, uint64_t oe)
{
    size_t lo = 0, hi = n->n_ev;
    while (lo < hi) { /* first event >= os */
        size_t mid = lo + (hi - lo) / 2;
        if (n->ev[mid] < os)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n->n_ev && n->ev[lo] < oe;
}

void guard_norm_discard(guard_norm *n, uint64_t keep_from)
{
    size_t drop, e, k;
    if (keep_from <= n->base)
        return;
    drop = (size_t)(keep_from - n->base);
    if (drop > n->len)
        drop = n->len;
    if (n->pending_chars && drop > n->pending_view)
        drop = n->pending_view;
    memmove(n->view, n->view + drop, n->len - drop);
    n->len -= drop;
    if (n->pending_chars)
        n->pending_view -= drop;
    n->base += drop;
    /* keep the entry covering the new base */
    e = n->n_map ? find_entry(n, n->base) : 0;
    if (e) {
        memmove(n->map, n->map + e, (n->n_map - e) * sizeof *n->map);
        n->n_map -= e;
        if (n->pending_chars)
            n->pending_map = n->pending_map > e ? n->pending_map - e : 0;
    }
    /* evasion events before the first kept original offset go too */
    if (n->n_map && n->len) {
        uint64_t first, oe;
        guard_norm_to_orig(n, n->base, n->base + 1, &first, &oe);
        for (k = 0; k < n->n_ev && n->ev[k] < first; k++)
            ;
        if (k && (!n->pending_chars || k <= n->pending_ev)) {
            memmove(n->ev, n->ev + k, (n->n_ev - k) * sizeof *n->ev);
            n->n_ev -= k;
            if (n->pending_chars)
                n->pending_ev -= k;
        }
    }
}

char *guard_norm_string(const char *s, size_t len, size_t *out_len)
{
    guard_norm n;
    char *r = NULL;
    guard_norm_init(&n);
    if (guard_norm_feed(&n, (const unsigned char *)s, len, true) == 0) {
        r = malloc(n.len + 1);
        if (r) {
            if (n.len)
                memcpy(r, n.view, n.len);
            r[n.len] = 0;
            *out_len = n.len;
        }
    }
    guard_norm_free(&n);
    return r;
}
