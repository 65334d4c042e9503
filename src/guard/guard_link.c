/*
 * guard_link.c — the `link` detector: where do the links in a message lead?
 *
 * Prefilters find the places where a URL or a host name may start or end
 * ("://", "www.", "xn--", ".com"…); everything else is C: the extent of the
 * URL, the real host (after any user@ part, without port and trailing
 * punctuation), its ASCII (punycode) and Unicode forms through libidn2, and
 * the verdict against the policy's domain lists: blocked, homograph,
 * look-alike of an internal domain, IP literal, punycode, shortener, or just
 * external. Internal and allow-listed hosts give no finding. One finding per
 * URL, the most serious one. Rules and their defences:
 * docs/DETECTORS-secret-link.md.
 *
 * Streaming: a URL cut by the end of what has been normalised so far is kept
 * pending (its start offset) and parsed at the next hit or in finish(), so a
 * host is never judged on a prefix ("example.gov.c" would look like a
 * look-alike of "example.gov.cn").
 */
#include "guard_detect.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "guard_validate.h"

enum { L_SCHEME, L_WWW, L_TLD, L_XN, L_COUNT };

#define HOST_MAX    253                  /* a DNS name, ASCII form */
#define HOST_BUF    1024                 /* a host in the view or the original (UTF-8) */
#define AUTH_MAX    512                  /* userinfo@host:port */
#define TAIL_MAX    2048                 /* path, query and fragment */
#define PENDING_MAX 8                    /* URLs waiting for more input */
#define SEEN_MAX    512                  /* distinct hosts reported as external */
#define SEEN_SLOTS  1024                 /* their open-addressing table, half full at most */
#define EXPL_MAX    (4 * HOST_BUF + 512) /* four host names and some words */

/* Top-level domains that make a bare "name.tld" a link. Bounded on purpose:
 * each one is a prefilter alternative. The policy's own domain lists add
 * theirs at compile time. */
static const char *const strong_tlds[] = {
    "com",  "net", "org",  "cn",  "xyz",  "top",   "biz",  "gov",     "edu",    "ly",
    "gl",   "ru",  "tk",   "ga",  "cf",   "gq",    "pw",   "site",    "online", "club",
    "shop", "vip", "wang", "ink", "ren",  "hk",    "tw",   "jp",      "uk",     "de",
    "us",   "eu",  "tv",   "fun", "icu",  "cloud", "tech", "store",   "mobi",   "asia",
    "gd",   "gy",  "xin",  "ltd", "cyou", "buzz",  "rest", "monster",
};
/* TLDs that are also file extensions or words (main.cc, foo.me, x.info): a
 * bare name under one needs more evidence (a path, a third label). */
static const char *const weak_tlds[] = {
    "io", "co", "cc", "me", "app", "dev", "info", "ml", "link", "live", "work", "pro", "ai", "im",
};
/* Names that never leave the machine or the network, or are reserved for
 * documentation (RFC 2606, RFC 6761): no finding. */
static const char *const reserved_suffixes[] = {
    "localhost", "local",   "internal",  "lan",         "intranet",    "test",
    "example",   "invalid", "home.arpa", "example.com", "example.net", "example.org",
};

typedef struct link_pending {
    uint64_t start; /* URL start (scheme or host) */
    uint64_t host;  /* where the authority / host starts */
    uint32_t kind;
    bool cont; /* continues a run already looked at: skip the rest of it */
} link_pending;

typedef struct link_state {
    uint64_t covered; /* view bytes below this belong to a URL already judged */
    link_pending pend[PENDING_MAX];
    size_t n_pend;
    size_t n_seen;
    /* Hashes of hosts reported as external; 0 = free. Zeroed on the first
     * external host rather than per scan: most messages carry no link, and
     * clearing 8 KB each time was a fifth of a chat message's scan. */
    uint64_t seen[SEEN_SLOTS];
} link_state;

/* A parsed URL, view offsets. */
typedef struct url_span {
    uint32_t kind;
    uint64_t us, ue;   /* the whole URL */
    uint64_t hs, he;   /* the host (IPv6 with its brackets) */
    uint64_t uis, uie; /* userinfo; empty when uis == uie */
    bool has_tail;     /* a path, query or fragment follows */
    bool by_orig;      /* [os, oe) is the URL in the original (CJK host) */
    uint64_t os, oe;
} url_span;

enum { PARSE_OK, PARSE_SKIP, PARSE_MORE };

/* ---- view access -------------------------------------------------------------- */

static uint64_t view_avail(const guard_ctx *c)
{
    uint64_t w = c->norm->base + c->norm->len;
    return c->view_end < w ? c->view_end : w;
}

static int vbyte(const guard_ctx *c, uint64_t off)
{
    if (off >= view_avail(c))
        return -1;
    return guard_ctx_view_byte(c, off);
}

/* True when reading stopped at the edge of what is available while more
 * input is still to come. */
static bool starved(const guard_ctx *c, uint64_t off)
{
    return !c->final && off >= view_avail(c);
}

/* Decodes the UTF-8 character at view offset off. Returns its length, 0
 * when it is not (entirely) available, -1 when invalid. */
static int vchar(const guard_ctx *c, uint64_t off, uint32_t *cp)
{
    int b = vbyte(c, off), need, i;
    uint32_t v;
    if (b < 0)
        return 0;
    if (b < 0x80) {
        *cp = (uint32_t)b;
        return 1;
    }
    if (b >= 0xF0)
        need = 4, v = (uint32_t)b & 0x07;
    else if (b >= 0xE0)
        need = 3, v = (uint32_t)b & 0x0F;
    else if (b >= 0xC0)
        need = 2, v = (uint32_t)b & 0x1F;
    else
        return -1;
    for (i = 1; i < need; i++) {
        int t = vbyte(c, off + (uint64_t)i);
        if (t < 0)
            return 0;
        if ((t & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | ((uint32_t)t & 0x3F);
    }
    *cp = v;
    return need;
}

static bool is_host_byte(int b)
{
    return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '.';
}

static bool is_cjk(uint32_t cp)
{
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF);
}

/* Non-ASCII punctuation that ends a URL in running text: “”‘’…, 。、「」,
 * the remaining full-width forms, vertical and small forms. */
static bool is_text_punct(uint32_t cp)
{
    return (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
           (cp >= 0xFE10 && cp <= 0xFE6F) || (cp >= 0xFF00 && cp <= 0xFF65) || cp == 0xFFFD;
}

/* ---- domain names ----------------------------------------------------------------- */

static bool label_eq(const char *a, size_t al, const char *b)
{
    return strlen(b) == al && memcmp(a, b, al) == 0;
}

/* The last label of h. */
static const char *last_label(const char *h, size_t hl, size_t *ll)
{
    size_t i = hl;
    while (i > 0 && h[i - 1] != '.')
        i--;
    *ll = hl - i;
    return h + i;
}

static bool list_has_tld(const guard_strlist *l, const char *t, size_t tl)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t ll, dl = strlen(l->v[i]);
        const char *d = last_label(l->v[i], dl, &ll);
        if (ll == tl && memcmp(d, t, tl) == 0)
            return true;
    }
    return false;
}

/* 2: a TLD that makes a bare name a link; 1: a weak one; 0: unknown. */
static int tld_class(const guard_settings *cfg, const char *t, size_t tl)
{
    for (size_t i = 0; i < sizeof strong_tlds / sizeof strong_tlds[0]; i++)
        if (label_eq(t, tl, strong_tlds[i]))
            return 2;
    for (size_t i = 0; i < sizeof weak_tlds / sizeof weak_tlds[0]; i++)
        if (label_eq(t, tl, weak_tlds[i]))
            return 1;
    if (cfg &&
        (list_has_tld(&cfg->internal_domains, t, tl) || list_has_tld(&cfg->allow_domains, t, tl) ||
         list_has_tld(&cfg->block_domains, t, tl) || list_has_tld(&cfg->shorteners, t, tl)))
        return 2;
    return 0;
}

static bool listed(const guard_settings *cfg, const char *h, size_t hl)
{
    return guard_strlist_has_domain(&cfg->internal_domains, h, hl) ||
           guard_strlist_has_domain(&cfg->allow_domains, h, hl) ||
           guard_strlist_has_domain(&cfg->block_domains, h, hl) ||
           guard_strlist_has_domain(&cfg->shorteners, h, hl);
}

static bool reserved(const char *h, size_t hl)
{
    for (size_t i = 0; i < sizeof reserved_suffixes / sizeof reserved_suffixes[0]; i++) {
        size_t sl = strlen(reserved_suffixes[i]);
        if (hl >= sl && memcmp(h + hl - sl, reserved_suffixes[i], sl) == 0 &&
            (hl == sl || h[hl - sl - 1] == '.'))
            return true;
    }
    return false;
}

/* Every label 1..63 bytes, at least two labels. */
static bool valid_name(const char *h, size_t hl)
{
    size_t run = 0, labels = 1;
    if (hl == 0 || hl > HOST_BUF - 1)
        return false;
    for (size_t i = 0; i < hl; i++) {
        if (h[i] == '.') {
            if (run == 0)
                return false;
            labels++;
            run = 0;
        } else if (++run > 63) {
            return false;
        }
    }
    return run > 0 && labels >= 2;
}

static size_t count_labels(const char *h, size_t hl)
{
    size_t n = 1;
    for (size_t i = 0; i < hl; i++)
        n += h[i] == '.';
    return n;
}

static bool has_xn_label(const char *h, size_t hl)
{
    for (size_t i = 0; i + 4 <= hl; i++)
        if ((i == 0 || h[i - 1] == '.') && memcmp(h + i, "xn--", 4) == 0)
            return true;
    return false;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- scripts (for mixed-script homographs) ------------------------------------------ */

enum {
    SC_LATIN = 1 << 0,
    SC_GREEK = 1 << 1,
    SC_CYRILLIC = 1 << 2,
    SC_ARMENIAN = 1 << 3,
    SC_HEBREW = 1 << 4,
    SC_ARABIC = 1 << 5,
    SC_GEORGIAN = 1 << 6,
    SC_CHEROKEE = 1 << 7,
    SC_OTHER = 1 << 8,
    SC_CJK = 1 << 9, /* Han, kana, hangul: may mix with Latin (TR39 "highly restrictive") */
};

static unsigned script_of(uint32_t cp)
{
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0x24F) ||
        (cp >= 0x1E00 && cp <= 0x1EFF) || (cp >= 0x2C60 && cp <= 0x2C7F) ||
        (cp >= 0xA720 && cp <= 0xA7FF))
        return SC_LATIN;
    if (cp < 0x80 || cp == 0xD7 || cp == 0xF7)
        return 0; /* digits, hyphen, dot */
    if ((cp >= 0x370 && cp <= 0x3FF) || (cp >= 0x1F00 && cp <= 0x1FFF))
        return SC_GREEK;
    if ((cp >= 0x400 && cp <= 0x52F) || (cp >= 0x1C80 && cp <= 0x1C8F) ||
        (cp >= 0x2DE0 && cp <= 0x2DFF) || (cp >= 0xA640 && cp <= 0xA69F))
        return SC_CYRILLIC;
    if (cp >= 0x530 && cp <= 0x58F)
        return SC_ARMENIAN;
    if (cp >= 0x590 && cp <= 0x5FF)
        return SC_HEBREW;
    if ((cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F))
        return SC_ARABIC;
    if (cp >= 0x10A0 && cp <= 0x10FF)
        return SC_GEORGIAN;
    if (cp >= 0x13A0 && cp <= 0x13FF)
        return SC_CHEROKEE;
    if (cp >= 0x300 && cp <= 0x36F)
        return 0; /* combining marks inherit */
    if (is_cjk(cp) || (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x1100 && cp <= 0x11FF) ||
        (cp >= 0x3130 && cp <= 0x318F))
        return SC_CJK;
    return SC_OTHER;
}

static const char *script_name(unsigned s)
{
    switch (s) {
    case SC_LATIN:
        return "Latin";
    case SC_GREEK:
        return "Greek";
    case SC_CYRILLIC:
        return "Cyrillic";
    case SC_ARMENIAN:
        return "Armenian";
    case SC_HEBREW:
        return "Hebrew";
    case SC_ARABIC:
        return "Arabic";
    case SC_GEORGIAN:
        return "Georgian";
    case SC_CHEROKEE:
        return "Cherokee";
    case SC_CJK:
        return "CJK";
    default:
        return "other";
    }
}

/* Scripts of a UTF-8 host. *mixed: some label mixes scripts that TR39's
 * "highly restrictive" profile forbids. Returns the union over all labels. */
static unsigned host_scripts(const char *u, bool *mixed)
{
    unsigned all = 0, lab = 0;
    const unsigned char *p = (const unsigned char *)u;
    *mixed = false;
    for (;;) {
        uint32_t cp;
        int k = 1;
        if (*p == 0 || *p == '.') {
            unsigned rest = lab & ~(unsigned)SC_CJK;
            if ((rest & (rest - 1)) != 0 || ((lab & SC_CJK) && (rest & ~(unsigned)SC_LATIN)))
                *mixed = true;
            all |= lab;
            lab = 0;
            if (*p == 0)
                break;
            p++;
            continue;
        }
        if (*p < 0x80)
            cp = *p;
        else if (*p >= 0xF0 && p[1] && p[2] && p[3])
            cp = ((uint32_t)(*p & 7) << 18) | ((uint32_t)(p[1] & 63) << 12) |
                 ((uint32_t)(p[2] & 63) << 6) | (p[3] & 63),
            k = 4;
        else if (*p >= 0xE0 && p[1] && p[2])
            cp = ((uint32_t)(*p & 15) << 12) | ((uint32_t)(p[1] & 63) << 6) | (p[2] & 63), k = 3;
        else if (*p >= 0xC0 && p[1])
            cp = ((uint32_t)(*p & 31) << 6) | (p[1] & 63), k = 2;
        else
            cp = 0xFFFD;
        lab |= script_of(cp);
        p += k;
    }
    return all;
}

/* "Latin and Cyrillic" for the explanation. */
static void scripts_text(unsigned s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned bit = 1; bit <= SC_CJK && n < cap; bit <<= 1)
        if (s & bit)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " and " : "", script_name(bit));
}

/* ---- parsing ------------------------------------------------------------------------ */

/* Userinfo may hold these; anything else before an '@' means the '@' belongs
 * to something else (an e-mail address after a comma, say). */
static bool userinfo_ok(const guard_ctx *c, uint64_t s, uint64_t e)
{
    for (uint64_t p = s; p < e; p++) {
        int b = vbyte(c, p);
        if (b < 0 || !(guard_is_alnum(b) || (b && strchr("-._~%!$&'*+=:", b)) || b >= 0x80))
            return false;
    }
    return true;
}

/* Path, query and fragment after the host: up to white space, quotes, angle
 * brackets or non-ASCII; trailing sentence punctuation is dropped. */
static int parse_tail(const guard_ctx *c, uint64_t from, uint64_t *end)
{
    uint64_t p = from;
    bool paren = false;
    while (p - from < TAIL_MAX) {
        int b = vbyte(c, p);
        if (b < 0) {
            if (starved(c, p))
                return PARSE_MORE;
            break;
        }
        if (b <= ' ' || b >= 0x7F || b == '"' || b == '<' || b == '>' || b == '`' || b == '\'')
            break;
        paren |= b == '(';
        p++;
    }
    while (p > from) {
        int b = guard_ctx_view_byte(c, p - 1);
        if (b == '.' || b == ',' || b == ';' || b == ':' || b == '!' || b == '?' ||
            (b == ')' && !paren) || b == ']' || b == '}')
            p--;
        else
            break;
    }
    *end = p;
    return PARSE_OK;
}

/* Port and tail after the host end `he`; sets u->ue. */
static int parse_after_host(const guard_ctx *c, url_span *u, uint64_t limit)
{
    uint64_t p = u->he;
    if (vbyte(c, p) == ':' && guard_is_digit(vbyte(c, p + 1))) {
        p++;
        while (p < limit && p - u->he < 7 && guard_is_digit(vbyte(c, p)))
            p++;
        if (p >= limit && starved(c, p))
            return PARSE_MORE;
    }
    u->ue = p;
    int b = vbyte(c, p);
    if (b == '/' || b == '?' || b == '#' || b == '\\') {
        u->has_tail = true;
        return parse_tail(c, p, &u->ue);
    }
    if (b < 0 && starved(c, p))
        return PARSE_MORE;
    return PARSE_OK;
}

static int obyte(const guard_ctx *c, uint64_t off)
{
    if (off < c->orig_base || off - c->orig_base >= c->orig_len)
        return -1;
    return c->orig[off - c->orig_base];
}

/* The first view offset in [lo, hi] whose original offset is >= o: the view
 * end of an original span (the map is monotonic). */
static uint64_t view_at_orig(const guard_ctx *c, uint64_t lo, uint64_t hi, uint64_t o)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, os, oe;
        guard_norm_to_orig(c->norm, mid, mid + 1, &os, &oe);
        if (os >= o)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Decodes the UTF-8 character at original offset o; returns its length, or 0
 * when it is invalid or not in the window. */
static int ochar(const guard_ctx *c, uint64_t o, uint32_t *cp)
{
    int b = obyte(c, o), need, k;
    if (b < 0)
        return 0;
    if (b < 0x80) {
        *cp = (uint32_t)b;
        return 1;
    }
    need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (!need)
        return 0;
    *cp = (uint32_t)b & (0x3Fu >> (need - 1));
    for (k = 1; k < need; k++) {
        int t = obyte(c, o + (uint64_t)k);
        if (t < 0 || (t & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | ((uint32_t)t & 0x3F);
    }
    return need;
}

/* A host with CJK characters: the view has dropped the separators between
 * them ("例子.中国/路径" reads "例子中国路径"), so the host, port and tail are
 * read again from the original, and the URL is reported in original
 * offsets. */
static int reparse_orig(const guard_ctx *c, url_span *u, uint64_t run_end)
{
    uint64_t o0, o, x, oend;
    size_t label_ascii = 0;

    guard_norm_to_orig(c->norm, u->us, u->us + 1, &u->os, &x);
    guard_norm_to_orig(c->norm, u->hs, u->hs + 1, &o0, &x);
    guard_norm_to_orig(c->norm, run_end - 1, run_end, &x, &oend);
    for (o = o0; o < oend && o - o0 < HOST_BUF - 1;) {
        uint32_t cp;
        int k = ochar(c, o, &cp);
        if (k == 0)
            break;
        if (cp < 0x80) {
            if (!(is_host_byte((int)cp | 0x20) || cp == '_'))
                break;
            label_ascii = cp == '.' ? 0 : label_ascii + 1;
        } else if (cp == 0x3002 || cp == 0xFF0E || cp == 0xFF61) {
            label_ascii = 0; /* dots a browser accepts (UTS #46) */
        } else if (is_text_punct(cp) || (is_cjk(cp) && label_ascii > 0)) {
            break;
        }
        o += (uint64_t)k;
    }
    while (o > o0 && (obyte(c, o - 1) == '.' || obyte(c, o - 1) == '-'))
        o--;
    if (o == o0)
        return PARSE_SKIP;
    u->he = view_at_orig(c, u->hs, run_end, o);
    /* port and tail: ASCII up to white space or anything non-ASCII */
    x = o;
    if (obyte(c, x) == ':')
        for (x++; x - o < 7 && guard_is_digit(obyte(c, x));)
            x++;
    if (x > o + 1)
        o = x;
    if (obyte(c, o) == '/' || obyte(c, o) == '?' || obyte(c, o) == '#') {
        uint64_t t0 = o;
        u->has_tail = true;
        while (o - t0 < TAIL_MAX) {
            int b = obyte(c, o);
            if (b <= ' ' || b >= 0x7F || b == '"' || b == '<' || b == '>' || b == '`' || b == '\'')
                break;
            o++;
        }
        while (o > t0 && obyte(c, o - 1) > 0 && strchr(".,;:!?)]}", obyte(c, o - 1)))
            o--;
    }
    u->oe = o;
    u->ue = view_at_orig(c, u->he, view_avail(c), o);
    u->by_orig = true;
    return PARSE_OK;
}

/* scheme://[userinfo@]host[:port][/tail]: `from` is just after "://". */
static int parse_scheme_url(const guard_ctx *c, url_span *u, uint64_t from)
{
    uint64_t p = from, at = 0, run_end;
    size_t label_ascii = 0;

    while (p - from < AUTH_MAX) {
        uint32_t cp;
        int k = vchar(c, p, &cp);
        if (k == 0) {
            if (starved(c, p))
                return PARSE_MORE;
            break;
        }
        if (k < 0)
            break;
        if (cp < 0x80) {
            if (cp <= ' ' || cp == 0x7F || strchr("/?#\\\"<>`{}|^", (int)cp))
                break;
            if (cp == '@')
                at = p;
            label_ascii = cp == '.' ? 0 : label_ascii + 1;
        } else if (is_text_punct(cp) || (is_cjk(cp) && label_ascii > 0)) {
            break; /* "http://example.com查看": the host ends at the Chinese text */
        }
        p += (uint64_t)k;
    }
    run_end = p;
    u->hs = from;
    u->uis = u->uie = from;
    if (at && userinfo_ok(c, from, at)) {
        u->uie = at;
        u->hs = at + 1;
    }
    p = u->hs;
    if (vbyte(c, p) == '[') {
        while (p < run_end && vbyte(c, p) != ']')
            p++;
        if (p >= run_end)
            return PARSE_SKIP;
        p++;
    } else {
        while (p < run_end) {
            int b = vbyte(c, p);
            if (!(is_host_byte(b) || b == '_' || b >= 0x80))
                break;
            p++;
        }
        while (p > u->hs && (vbyte(c, p - 1) == '.' || vbyte(c, p - 1) == '-'))
            p--;
    }
    u->he = p;
    if (u->he == u->hs)
        return PARSE_SKIP;
    for (p = u->hs; p < u->he; p++)
        if (vbyte(c, p) >= 0x80)
            return reparse_orig(c, u, run_end);
    return parse_after_host(c, u, run_end);
}

/* A bare host name around a prefilter hit: [hs, …) over ASCII host bytes. */
static int parse_bare(const guard_ctx *c, url_span *u, uint64_t hs)
{
    uint64_t p = hs;
    while (p - hs < HOST_MAX) {
        int b = vbyte(c, p);
        if (b < 0) {
            if (starved(c, p))
                return PARSE_MORE;
            break;
        }
        if (!is_host_byte(b))
            break;
        p++;
    }
    if (p - hs >= HOST_MAX) {
        u->he = p; /* no host: let the caller skip the whole run */
        return PARSE_SKIP;
    }
    while (p > hs && (vbyte(c, p - 1) == '.' || vbyte(c, p - 1) == '-'))
        p--;
    while (hs < p && (vbyte(c, hs) == '.' || vbyte(c, hs) == '-'))
        hs++;
    u->us = u->hs = hs;
    u->he = p;
    u->uis = u->uie = hs;
    if (u->he == u->hs)
        return PARSE_SKIP;
    return parse_after_host(c, u, u->he + 8);
}

/* ---- emitting ------------------------------------------------------------------------- */

static void emit(guard_ctx *c, const url_span *u, const char *rule, guard_severity sev, int conf,
                 const char *why)
{
    if (u->by_orig)
        guard_emit_orig(c, rule, GUARD_CAT_LINK, sev, conf, u->os, u->oe, why);
    else
        guard_emit(c, rule, GUARD_CAT_LINK, sev, conf, u->us, u->ue, why);
}

/* IPv6 literal "[…]": no finding for loopback and unspecified. */
static void judge_ipv6(guard_ctx *c, const url_span *u, const char *h, size_t hl)
{
    char buf[64], why[EXPL_MAX];
    unsigned char a[16];
    size_t n = hl - 2;
    const char *pct;
    bool local;

    if (hl < 4 || n >= sizeof buf)
        return;
    memcpy(buf, h + 1, n);
    buf[n] = 0;
    pct = strchr(buf, '%'); /* zone id */
    if (pct)
        buf[pct - buf] = 0;
    if (inet_pton(AF_INET6, buf, a) != 1)
        return;
    static const unsigned char zero[16];
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return;
    local = (a[0] & 0xFE) == 0xFC || (a[0] == 0xFE && (a[1] & 0xC0) == 0x80);
    snprintf(why, sizeof why, "link to an IPv6 address [%s]%s: the destination has no name", buf,
             local ? " (private)" : "");
    emit(c, u, "link.ip_host", GUARD_SEV_MEDIUM, local ? 60 : 85, why);
}

/* Appends v in decimal (guard_expl_add). */
static void expl_uint(char *buf, size_t cap, size_t *len, unsigned v)
{
    char d[10];
    size_t n = sizeof d;
    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    guard_expl_add(buf, cap, len, d + n, sizeof d - n);
}

/* A dotted quad of plain decimal parts, the only form people write. */
static bool plain_quad(const char *h, size_t hl)
{
    size_t dots = 0;
    for (size_t i = 0; i < hl; i++) {
        if (h[i] == '.')
            dots++;
        else if (!guard_is_digit((unsigned char)h[i]))
            return false;
        else if (h[i] == '0' && (i == 0 || h[i - 1] == '.') && i + 1 < hl && h[i + 1] != '.')
            return false; /* a leading zero: octal */
    }
    return dots == 3;
}

/* Returns true when the host is an IPv4 literal (judged here). */
static bool judge_ipv4(guard_ctx *c, const url_span *u, const char *h, size_t hl)
{
    uint32_t a;
    char why[EXPL_MAX];
    size_t wl = 0;
    bool priv, plain;
    int conf;

    for (size_t i = 0; i < hl; i++)
        if (!(guard_is_digit((unsigned char)h[i]) || h[i] == '.' || h[i] == 'x' ||
              (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    if (!guard_parse_ipv4_host(h, hl, &a))
        return false;
    if ((a >> 24) == 127 || a == 0)
        return true; /* loopback: this machine */
    priv = (a >> 24) == 10 || (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE ||
           (a >> 22) == (100u << 2 | 1u);
    plain = plain_quad(h, hl);
    conf = !plain ? 95 : priv ? 60 : 85;
    /* "link to an IP address a.b.c.d[ written in an obfuscated form][ (private
     * network)]": IP hosts are frequent findings, appended rather than
     * formatted (guard_expl_add) */
    guard_expl_str(why, sizeof why, &wl, "link to an IP address ");
    for (int shift = 24; shift >= 0; shift -= 8) {
        expl_uint(why, sizeof why, &wl, (a >> shift) & 255);
        if (shift)
            guard_expl_add(why, sizeof why, &wl, ".", 1);
    }
    if (!plain)
        guard_expl_str(why, sizeof why, &wl, " written in an obfuscated form");
    if (priv)
        guard_expl_str(why, sizeof why, &wl, " (private network)");
    emit(c, u, "link.ip_host", GUARD_SEV_MEDIUM, conf, why);
    return true;
}

/* The registrable name and suffix: "example" and "gov.cn" of
 * "www.example.gov.cn". */
static void split_reg(const char *h, size_t hl, const char **reg, size_t *rl, size_t *nl)
{
    size_t off = guard_registrable_offset(h, hl);
    const char *dot;
    if (off > hl)
        off = 0;
    *reg = h + off;
    *rl = hl - off;
    dot = memchr(*reg, '.', *rl);
    *nl = dot ? (size_t)(dot - *reg) : *rl;
}

/* Public suffixes only the state registers under: a host that carries one
 * as labels in front of another registrable name (www.gov.cn.verify-login.top)
 * is dressed up as a government site, whatever the organisation's own
 * domains are. */
static const char *const gov_suffixes[] = {"gov.cn", "mil.cn"};

/* The whole name s (sl bytes) as labels of h in front of its registrable
 * part (which starts at reg): corp.com.evil.top, www.gov.cn.evil.top. */
static bool labels_in_front(const char *h, const char *reg, const char *s, size_t sl)
{
    for (size_t p = 0; p + sl < (size_t)(reg - h); p++)
        if ((p == 0 || h[p - 1] == '.') && h[p + sl] == '.' && memcmp(h + p, s, sl) == 0)
            return true;
    return false;
}

/* Does host h (ASCII) imitate a government or an internal domain? Writes
 * why. */
static bool lookalike(const guard_settings *cfg, const char *h, size_t hl, char *why, size_t cap)
{
    const char *rh, *rd;
    size_t rhl, nhl, rdl, ndl;

    split_reg(h, hl, &rh, &rhl, &nhl);
    for (size_t i = 0; i < sizeof gov_suffixes / sizeof *gov_suffixes; i++) {
        if (labels_in_front(h, rh, gov_suffixes[i], strlen(gov_suffixes[i]))) {
            snprintf(why, cap, "%.*s puts the government domain %s in front of %.*s", (int)hl, h,
                     gov_suffixes[i], (int)rhl, rh);
            return true;
        }
    }
    for (size_t i = 0; i < cfg->internal_domains.n; i++) {
        const char *d = cfg->internal_domains.v[i];
        size_t dl = strlen(d);
        split_reg(d, dl, &rd, &rdl, &ndl);
        if (rhl == rdl && memcmp(rh, rd, rdl) == 0)
            continue; /* the same organisation */
        if (rdl >= 6) {
            unsigned dist = guard_edit_distance(rh, rhl, rd, rdl, 2);
            if (dist == 1 || (dist == 2 && rdl >= 10)) {
                snprintf(why, cap, "%.*s is %u character%s away from the internal domain %.*s",
                         (int)rhl, rh, dist, dist == 1 ? "" : "s", (int)rdl, rd);
                return true;
            }
        }
        if (ndl >= 4 && nhl == ndl && memcmp(rh, rd, ndl) == 0) {
            snprintf(why, cap, "%.*s has the name of the internal domain %.*s under another suffix",
                     (int)rhl, rh, (int)rdl, rd);
            return true;
        }
        /* corp.com.evil.top: the whole internal name as labels in front */
        if (labels_in_front(h, rh, rd, rdl)) {
            snprintf(why, cap, "%.*s puts the internal domain %.*s in front of %.*s", (int)hl, h,
                     (int)rdl, rd, (int)rhl, rh);
            return true;
        }
        /* example.evil.top, example-login.top: the internal name as a token */
        if (ndl >= 5) {
            size_t lim = (size_t)(rh - h) + nhl, s = 0;
            for (size_t p = 0; p <= lim; p++) {
                if (p == lim || h[p] == '.' || h[p] == '-') {
                    if (p - s == ndl && memcmp(h + s, rd, ndl) == 0) {
                        snprintf(why, cap, "%.*s uses the name of the internal domain %.*s",
                                 (int)hl, h, (int)rdl, rd);
                        return true;
                    }
                    s = p + 1;
                }
            }
        }
    }
    return false;
}

/* An internal domain named in the userinfo: http://example.gov.cn@evil.top. */
static bool userinfo_disguise(const guard_ctx *c, const url_span *u, char *why, size_t cap)
{
    char ui[AUTH_MAX];
    size_t n = 0;
    for (uint64_t p = u->uis; p < u->uie && n < sizeof ui - 1; p++)
        ui[n++] = (char)vbyte(c, p);
    ui[n] = 0;
    for (size_t i = 0; i < c->cfg->internal_domains.n && n; i++) {
        const char *d = c->cfg->internal_domains.v[i];
        if (strstr(ui, d)) {
            snprintf(why, cap,
                     "the link shows the internal domain %s before an '@' but leads elsewhere", d);
            return true;
        }
    }
    return false;
}

/* Why the Unicode host uni (ASCII form real, folded to fold) passes for
 * another name: it imitates a trusted domain, mixes scripts, or is written
 * in letters of another script that look like Latin. false: none of these. */
static bool homograph(const guard_settings *cfg, const char *uni, const char *real,
                      const char *fold, size_t fl, char *why, size_t cap)
{
    bool mixed, fold_ascii = true;
    unsigned sc = host_scripts(uni, &mixed);
    char names[96];

    for (size_t i = 0; i < fl; i++)
        fold_ascii &= (unsigned char)fold[i] < 0x80;
    scripts_text(sc, names, sizeof names);
    if (fold_ascii && strcmp(fold, real) != 0 &&
        (guard_strlist_has_domain(&cfg->internal_domains, fold, fl) ||
         guard_strlist_has_domain(&cfg->allow_domains, fold, fl))) {
        snprintf(why, cap, "%s (%s) imitates the trusted domain %s", uni, real, fold);
        return true;
    }
    if (mixed) {
        snprintf(why, cap, "%s (%s) mixes %s letters in one name", uni, real, names);
        return true;
    }
    if (fold_ascii && (sc & ~(unsigned)(SC_LATIN | SC_CJK))) {
        scripts_text(sc & ~(unsigned)(SC_LATIN | SC_CJK), names, sizeof names);
        snprintf(why, cap, "%s (%s) is written in %s letters that look like %s", uni, real, names,
                 fold);
        return true;
    }
    return false;
}

/* True the first time host real[0..rl) is seen in this scan (an open
 * addressing set of hashes); false when it was reported already or the set
 * is full. */
static bool first_sighting(link_state *st, const char *real, size_t rl)
{
    uint64_t h = fnv1a(real, rl) | 1; /* never 0, the free mark */
    size_t i = (size_t)(h % SEEN_SLOTS);

    if (!st->n_seen)
        memset(st->seen, 0, sizeof st->seen);
    while (st->seen[i] && st->seen[i] != h)
        i = (i + 1) % SEEN_SLOTS;
    if (st->seen[i] == h || st->n_seen == SEEN_MAX)
        return false;
    st->seen[i] = h;
    st->n_seen++;
    return true;
}

/* Everything about one host, once parsed. Long on purpose: the verdicts are
 * one ladder read top to bottom (1. to 7.), the first that applies wins, and
 * each step uses the spellings worked out above it. */
static void judge(guard_ctx *c, link_state *st, const url_span *u)
{
    const guard_settings *cfg = c->cfg;
    char vh[HOST_BUF], oh[HOST_BUF], real[HOST_BUF], why[EXPL_MAX];
    char *ascii = NULL, *uni = NULL, *fold = NULL;
    size_t vl = 0, ol = 0, rl, fl = 0, wl;
    uint64_t os, oe;
    bool v_ascii = true, o_ascii = true;

    if (u->he - u->hs >= sizeof vh)
        return;
    for (uint64_t p = u->hs; p < u->he; p++) {
        int b = vbyte(c, p);
        vh[vl++] = (char)b;
        v_ascii &= b < 0x80;
    }
    vh[vl] = 0;
    if (vh[0] == '[') {
        judge_ipv6(c, u, vh, vl);
        return;
    }
    if (u->kind == L_SCHEME && judge_ipv4(c, u, vh, vl))
        return;
    /* The original spelling: homoglyphs, full-width letters, IDN. */
    guard_norm_to_orig(c->norm, u->hs, u->he, &os, &oe);
    if (oe > os && oe - os < sizeof oh && os >= c->orig_base && oe - c->orig_base <= c->orig_len) {
        ol = (size_t)(oe - os);
        memcpy(oh, c->orig + (os - c->orig_base), ol);
        for (size_t i = 0; i < ol; i++)
            o_ascii &= (unsigned char)oh[i] < 0x80;
    }
    oh[ol] = 0;
    /* The host a browser would contact, in ASCII (punycode). */
    memcpy(real, vh, vl + 1);
    rl = vl;
    if ((!o_ascii || !v_ascii) &&
        idn2_to_ascii_8z(o_ascii ? vh : oh, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) ==
            IDN2_OK) {
        rl = strlen(ascii);
        if (rl < sizeof real) {
            for (size_t i = 0; i <= rl; i++)
                real[i] = (char)(ascii[i] >= 'A' && ascii[i] <= 'Z' ? ascii[i] + 32 : ascii[i]);
        } else {
            rl = vl;
        }
    }
    while (rl > 0 && real[rl - 1] == '.')
        real[--rl] = 0;
    if (!valid_name(real, rl))
        goto out;
    if (has_xn_label(real, rl) && idn2_to_unicode_8z8z(real, &uni, 0) == IDN2_OK)
        fold = guard_norm_string(uni, strlen(uni), &fl);

    /* 1. blocked (the real host, or what it is dressed up as) */
    if (guard_strlist_has_domain(&cfg->block_domains, real, rl) ||
        (fold && guard_strlist_has_domain(&cfg->block_domains, fold, fl))) {
        snprintf(why, sizeof why, "link to the blocked domain %s", uni ? uni : real);
        emit(c, u, "link.blocked", GUARD_SEV_HIGH, 95, why);
        goto out;
    }
    /* 2. homograph: a Unicode name that passes for another */
    if (uni && fold && homograph(cfg, uni, real, fold, fl, why, sizeof why)) {
        emit(c, u, "link.homograph", GUARD_SEV_HIGH, 90, why);
        goto out;
    }
    /* 3. ours or known-good: nothing to say */
    if (guard_strlist_has_domain(&cfg->internal_domains, real, rl) ||
        guard_strlist_has_domain(&cfg->allow_domains, real, rl)) {
        if (u->uie > u->uis && userinfo_disguise(c, u, why, sizeof why))
            emit(c, u, "link.lookalike", GUARD_SEV_HIGH, 85, why);
        goto out;
    }
    if (reserved(real, rl))
        goto out;
    /* 4. look-alike of an internal domain */
    if ((u->uie > u->uis && userinfo_disguise(c, u, why, sizeof why)) ||
        lookalike(cfg, real, rl, why, sizeof why) ||
        (fold && lookalike(cfg, fold, fl, why, sizeof why))) {
        emit(c, u, "link.lookalike", GUARD_SEV_HIGH, 85, why);
        goto out;
    }
    /* 5. punycode written as such */
    if (has_xn_label(vh, vl)) {
        if (uni)
            snprintf(why, sizeof why, "punycode host %s is %s", real, uni);
        else
            snprintf(why, sizeof why, "punycode host %s does not decode", real);
        emit(c, u, "link.punycode", GUARD_SEV_MEDIUM, uni ? 70 : 80, why);
        goto out;
    }
    /* 6. shortener (from here on, the frequent verdicts: explanations
     * appended rather than formatted, guard_expl_add) */
    if (guard_strlist_has_domain(&cfg->shorteners, real, rl)) {
        wl = 0;
        guard_expl_str(why, sizeof why, &wl, "shortened link through ");
        guard_expl_str(why, sizeof why, &wl, real);
        guard_expl_str(why, sizeof why, &wl, " hides where it leads");
        emit(c, u, "link.shortener", GUARD_SEV_MEDIUM, 80, why);
        goto out;
    }
    /* 7. external, once per host */
    {
        if (!first_sighting(st, real, rl))
            goto out; /* reported already, or too many hosts to tell */
        wl = 0;
        guard_expl_str(why, sizeof why, &wl, "link to the external domain ");
        if (!o_ascii && strcmp(real, vh) != 0) {
            guard_expl_str(why, sizeof why, &wl, oh);
            guard_expl_str(why, sizeof why, &wl, " (");
            guard_expl_str(why, sizeof why, &wl, real);
            guard_expl_str(why, sizeof why, &wl, ")");
        } else {
            guard_expl_str(why, sizeof why, &wl, real);
        }
        emit(c, u, "link.external", GUARD_SEV_INFO, 60, why);
    }
out:
    if (ascii)
        idn2_free(ascii);
    if (uni)
        idn2_free(uni);
    free(fold);
}

/* Parses the URL of one hit and judges it. PARSE_MORE: not all of it has
 * been normalised yet. */
static int try_url(guard_ctx *c, link_state *st, const link_pending *h)
{
    url_span u;
    int r;

    memset(&u, 0, sizeof u);
    u.kind = h->kind;
    if (h->start < st->covered)
        return PARSE_SKIP;
    if (h->start < c->norm->base)
        return PARSE_SKIP; /* fell out of the window while waiting */
    if (h->kind == L_SCHEME) {
        u.us = h->start;
        r = parse_scheme_url(c, &u, h->host);
    } else {
        r = parse_bare(c, &u, h->host);
    }
    if (r == PARSE_MORE)
        return r;
    if (r == PARSE_SKIP || (r == PARSE_OK && h->cont)) {
        if (h->kind != L_SCHEME && u.he > st->covered)
            st->covered = u.he; /* later hits in this run need no second look */
        return r;
    }
    if (h->kind != L_SCHEME) {
        /* A bare name must look like a link, not a file name or prose. */
        char hb[HOST_BUF];
        size_t hl = (size_t)(u.he - u.hs), tl, labels;
        const char *t;
        int prev = u.hs > 0 ? guard_ctx_view_byte(c, u.hs - 1) : -1;
        if (prev == '@' || prev == '_' || prev == '/' || prev == '\\' || guard_is_alnum(prev))
            return PARSE_SKIP; /* e-mail address, identifier, path */
        if (hl >= sizeof hb)
            return PARSE_SKIP;
        for (size_t i = 0; i < hl; i++)
            hb[i] = (char)guard_ctx_view_byte(c, u.hs + i);
        labels = count_labels(hb, hl);
        t = last_label(hb, hl, &tl);
        int cls = tld_class(c->cfg, t, tl);
        if (h->kind == L_WWW && labels < 3)
            return PARSE_SKIP;
        if (h->kind == L_XN && !has_xn_label(hb, hl))
            return PARSE_SKIP;
        if (h->kind == L_TLD && cls == 0 && labels < 3)
            return PARSE_SKIP;
        if (h->kind == L_TLD && cls == 1 && !u.has_tail && labels < 3 && !listed(c->cfg, hb, hl))
            return PARSE_SKIP;
    }
    st->covered = u.ue;
    judge(c, st, &u);
    return PARSE_OK;
}

static void run_pending(guard_ctx *c, link_state *st, bool force)
{
    size_t i = 0;
    while (i < st->n_pend) {
        bool saved = c->final;
        if (force)
            c->final = true; /* judge what there is */
        int r = try_url(c, st, &st->pend[i]);
        c->final = saved;
        if (r == PARSE_MORE)
            break; /* later ones wait for this one: they may lie inside it */
        i++;
    }
    memmove(st->pend, st->pend + i, (st->n_pend - i) * sizeof *st->pend);
    st->n_pend -= i;
}

/* ---- the detector ------------------------------------------------------------------ */

static bool tld_ok_for_pattern(const char *t, size_t tl)
{
    /* a label never starts or ends with '-' (RFC 1035), and the word
     * boundary after the literal needs a word character last */
    if (tl == 0 || tl > 63 || t[0] == '-' || t[tl - 1] == '-')
        return false;
    for (size_t i = 0; i < tl; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '-'))
            return false;
    return true;
}

/* Adds ".tld" as one literal pattern. A single alternation
 * "\.(?:com|net|…)\b" cost the whole scan 0.059 s of its 0.18 s in
 * Hyperscan on the bench corpus; the same TLDs as separate literals cost
 * ~0 (FDR takes them with the lexicon), and the word boundary after the
 * TLD is checked in link_on_hit() instead. */
static int add_tld(guard_patset *ps, const char *t, size_t tl)
{
    char lit[72];
    lit[0] = '.';
    memcpy(lit + 1, t, tl);
    return guard_patset_add_word(ps, lit, tl + 1, GUARD_DET_LINK, L_TLD);
}

typedef struct tld_ref {
    const char *t;
    size_t tl;
} tld_ref;

static int cmp_tld(const void *a, const void *b)
{
    const tld_ref *x = a, *y = b;
    int r = memcmp(x->t, y->t, x->tl < y->tl ? x->tl : y->tl);
    return r ? r : (x->tl > y->tl) - (x->tl < y->tl);
}

/* Adds, once each, the TLDs of the configured domain lists that are no
 * built-in TLD (an internal "corp.example.lan" makes ".lan" a pattern). */
static int add_list_tlds(guard_patset *ps, const guard_settings *cfg)
{
    const guard_strlist *lists[] = {&cfg->internal_domains, &cfg->allow_domains,
                                    &cfg->block_domains, &cfg->shorteners};
    size_t n = 0, cap = 0;
    tld_ref *v = NULL;
    int rc = -1;

    for (size_t li = 0; li < sizeof lists / sizeof lists[0]; li++)
        cap += lists[li]->n;
    if (!cap)
        return 0;
    v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    for (size_t li = 0; li < sizeof lists / sizeof lists[0]; li++)
        for (size_t i = 0; i < lists[li]->n; i++) {
            const char *d = lists[li]->v[i];
            size_t tl;
            const char *t = last_label(d, strlen(d), &tl);
            if (tld_ok_for_pattern(t, tl) && tld_class(NULL, t, tl) == 0)
                v[n++] = (tld_ref){t, tl};
        }
    if (n)
        qsort(v, n, sizeof *v, cmp_tld);
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || cmp_tld(&v[i - 1], &v[i]) != 0) && add_tld(ps, v[i].t, v[i].tl))
            goto fail;
    rc = 0;
fail:
    free(v);
    return rc;
}

static int link_patterns(guard_patset *ps, const guard_settings *cfg)
{
    if (guard_patset_add_regex(ps, "(?:https?|ftp|wss?):[/\\\\]{2}", 0, GUARD_DET_LINK, L_SCHEME) ||
        guard_patset_add_regex(ps, "www\\.", 0, GUARD_DET_LINK, L_WWW) ||
        guard_patset_add_regex(ps, "xn--", 0, GUARD_DET_LINK, L_XN))
        return -1;
    for (size_t i = 0; i < sizeof strong_tlds / sizeof strong_tlds[0]; i++)
        if (add_tld(ps, strong_tlds[i], strlen(strong_tlds[i])))
            return -1;
    for (size_t i = 0; i < sizeof weak_tlds / sizeof weak_tlds[0]; i++)
        if (add_tld(ps, weak_tlds[i], strlen(weak_tlds[i])))
            return -1;
    return cfg ? add_list_tlds(ps, cfg) : 0;
}

static int link_begin(guard_ctx *c)
{
    link_state *st = malloc(sizeof *st);
    if (st)
        memset(st, 0, offsetof(link_state, seen));
    c->det_state[GUARD_DET_LINK] = st;
    return st ? 0 : -1;
}

/* Where does the URL of this hit start? Returns false when the hit is not a
 * URL start (part of a longer name, an e-mail address …). */
static bool locate(const guard_ctx *c, const link_state *st, uint32_t arg, uint64_t to,
                   link_pending *h)
{
    static const char *const schemes[] = {"https", "http", "wss", "ws", "ftp"};
    uint64_t p;

    memset(h, 0, sizeof *h);
    h->kind = arg;
    switch (arg) {
    case L_SCHEME:
        if (to < 3 + 2)
            return false;
        for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
            size_t sl = strlen(schemes[i]), k = 0;
            if (to < 3 + sl)
                continue;
            while (k < sl && guard_ctx_view_byte(c, to - 3 - sl + k) == schemes[i][k])
                k++;
            if (k == sl) {
                h->start = to - 3 - sl;
                h->host = to;
                return true;
            }
        }
        return false;
    case L_WWW:
        if (to < 4)
            return false;
        h->start = h->host = to - 4;
        return true;
    case L_TLD:
    case L_XN:
        /* Not back into what was looked at already: that keeps a long run
         * of ".com.com.com…" linear. */
        p = arg == L_XN ? to - 4 : to;
        while (p > st->covered && to - p < HOST_MAX && is_host_byte(guard_ctx_view_byte(c, p - 1)))
            p--;
        h->cont = p > 0 && p == st->covered && is_host_byte(guard_ctx_view_byte(c, p - 1));
        h->start = h->host = p;
        return true;
    default:
        return false;
    }
}

static void link_on_hit(guard_ctx *c, uint32_t arg, uint64_t to)
{
    link_state *st = c->det_state[GUARD_DET_LINK];
    link_pending h;
    int b;

    if (!st || (to <= st->covered && st->n_pend == 0))
        return;                     /* inside a URL already judged */
    b = guard_ctx_view_byte(c, to); /* -1 past the end: a boundary */
    if (arg == L_TLD && (guard_is_alnum(b) || b == '_'))
        return; /* ".co" of ".com", ".cn" of ".cnki": no word boundary */
    if (!locate(c, st, arg, to, &h))
        return;
    run_pending(c, st, false);
    if (h.start < st->covered)
        return;
    if (st->n_pend == 0 && try_url(c, st, &h) != PARSE_MORE)
        return;
    if (st->n_pend == PENDING_MAX) {
        run_pending(c, st, true); /* no room: judge the oldest as they are */
        if (h.start < st->covered)
            return;
    }
    st->pend[st->n_pend++] = h;
}

static void link_finish(guard_ctx *c)
{
    link_state *st = c->det_state[GUARD_DET_LINK];
    if (st)
        run_pending(c, st, true);
}

static void link_end(guard_ctx *c)
{
    free(c->det_state[GUARD_DET_LINK]);
    c->det_state[GUARD_DET_LINK] = NULL;
}

const guard_detector guard_det_link = {
    .name = "link",
    .patterns = link_patterns,
    .begin = link_begin,
    .on_hit = link_on_hit,
    .finish = link_finish,
    .end = link_end,
};
