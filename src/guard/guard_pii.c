/*
 * guard_pii.c — personal information: PRC resident ID, mobile and landline
 * numbers, bank cards, e-mail, PRC passport, Hong Kong / Macau / Taiwan IDs,
 * licence plates.
 *
 * Every number-shaped type has a run of at least four digits, found by the
 * scan loop in C (guard_detector.on_digits): regular expressions over digits
 * made the whole database four times slower. At the end of each run, the
 * shapes the types allow are matched backwards in C (the regular expressions
 * they used to be are quoted at each), then the C side takes the maximal
 * token (so an 18-digit ID inside a 19-digit run is not one), validates it
 * (checksums, dates, prefixes: guard_validate.c) and scores it. Only e-mail
 * and plates, which do not start from digits, are still patterns.
 * As Microsoft Purview does, a corroborating keyword (身份证, 手机, 卡号, …)
 * within `keyword_window` characters raises confidence; keywords may come
 * before or after the number, so recent findings are kept (bounded) and
 * revised when a keyword arrives.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "guard_detect.h"
#include "guard_validate.h"

enum pii_type {
    T_ID,
    T_MOBILE,
    T_LANDLINE,
    T_CARD,
    T_EMAIL,
    T_PASSPORT,
    T_HKID,
    T_MOID,
    T_TWID,
    T_PLATE,
    T_COUNT
};

enum {
    P_ID,
    P_MOBILE,
    P_LANDLINE,
    P_CARD,
    P_CARD_SPACED,
    P_EMAIL,
    P_PASSPORT,
    P_HKID,
    P_MOID,
    P_TWID,
    P_ID_GROUPED,
    P_PLATE,
    P_KEYWORD = 100
};

static const struct {
    const char *expr;
    unsigned arg;
} patterns[] = {
    {"@[a-z0-9-]+\\.[a-z]", P_EMAIL},
    {"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领][a-hj-np-z] ?[·.]? "
     "?[a-hj-np-z0-9]{5,6}",
     P_PLATE},
};

/* Keywords that corroborate a type (bit per pii_type). */
static const struct {
    const char *word;
    unsigned types;
} keywords[] = {
    {"身份证", 1u << T_ID},
    {"身份号码", 1u << T_ID},
    {"证件号", 1u << T_ID | 1u << T_PASSPORT | 1u << T_HKID | 1u << T_TWID | 1u << T_MOID},
    {"id card", 1u << T_ID | 1u << T_HKID | 1u << T_TWID},
    {"id no", 1u << T_ID | 1u << T_HKID | 1u << T_TWID},
    {"手机", 1u << T_MOBILE},
    {"电话", 1u << T_MOBILE | 1u << T_LANDLINE},
    {"联系方式", 1u << T_MOBILE | 1u << T_LANDLINE | 1u << T_EMAIL},
    {"tel", 1u << T_MOBILE | 1u << T_LANDLINE},
    {"mobile", 1u << T_MOBILE},
    {"phone", 1u << T_MOBILE | 1u << T_LANDLINE},
    {"座机", 1u << T_LANDLINE},
    {"银行卡", 1u << T_CARD},
    {"卡号", 1u << T_CARD},
    {"账号", 1u << T_CARD},
    {"开户", 1u << T_CARD},
    {"信用卡", 1u << T_CARD},
    {"card", 1u << T_CARD},
    {"护照", 1u << T_PASSPORT},
    {"passport", 1u << T_PASSPORT},
    {"香港", 1u << T_HKID},
    {"hkid", 1u << T_HKID},
    {"澳门", 1u << T_MOID},
    {"台湾", 1u << T_TWID},
    {"车牌", 1u << T_PLATE},
};

static const struct {
    const char *rule, *what;
    guard_severity sev;
    int base, boost;
} types[T_COUNT] = {
    [T_ID] = {"pii.cn_id", "PRC resident ID number", GUARD_SEV_HIGH, 80, 15},
    [T_MOBILE] = {"pii.cn_mobile", "mainland mobile number", GUARD_SEV_MEDIUM, 65, 20},
    [T_LANDLINE] = {"pii.cn_landline", "landline number", GUARD_SEV_LOW, 55, 25},
    [T_CARD] = {"pii.bank_card", "bank card number (Luhn)", GUARD_SEV_HIGH, 50, 35},
    [T_EMAIL] = {"pii.email", "e-mail address", GUARD_SEV_LOW, 85, 0},
    [T_PASSPORT] = {"pii.cn_passport", "PRC passport number", GUARD_SEV_HIGH, 40, 45},
    [T_HKID] = {"pii.hk_id", "Hong Kong identity card number", GUARD_SEV_HIGH, 50, 35},
    [T_MOID] = {"pii.mo_id", "Macau resident ID number", GUARD_SEV_HIGH, 45, 35},
    [T_TWID] = {"pii.tw_id", "Taiwan national ID number", GUARD_SEV_HIGH, 55, 30},
    [T_PLATE] = {"pii.cn_plate", "licence plate", GUARD_SEV_LOW, 65, 20},
};

#define RECENT    256
#define KW_RECENT 64

typedef struct pii_recent {
    int idx;
    uint8_t type;
    bool boosted;
    uint64_t cs, ce; /* character indices of its start and end */
} pii_recent;

typedef struct pii_state {
    size_t nf, head; /* ring of recent findings */
    size_t nkw, kwhead;
    uint64_t cur_off, cur_chars; /* character index cursor: cur_chars at cur_off */
    uint64_t last_end[T_COUNT];  /* dedupe per type */
    uint64_t last_start[T_COUNT];
    /* Rings last: only their first nf / nkw entries are read, so begin()
     * zeroes the fields above and leaves these (8 KB) alone. */
    pii_recent f[RECENT];
    struct {
        uint64_t cs, ce;
        unsigned types;
    } kw[KW_RECENT];
} pii_state;

static int pii_patterns(guard_patset *ps, const guard_settings *cfg)
{
    (void)cfg;
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
        if (guard_patset_add_regex(ps, patterns[i].expr, 0, GUARD_DET_PII, patterns[i].arg))
            return -1;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (guard_patset_add_literal(ps, keywords[i].word, strlen(keywords[i].word), GUARD_DET_PII,
                                     P_KEYWORD + (uint32_t)i))
            return -1;
    return 0;
}

static int pii_begin(guard_ctx *c)
{
    pii_state *s = malloc(sizeof *s);
    if (!s)
        return -1;
    memset(s, 0, offsetof(pii_state, f));
    c->det_state[GUARD_DET_PII] = s;
    return 0;
}

static void pii_end(guard_ctx *c)
{
    free(c->det_state[GUARD_DET_PII]);
    c->det_state[GUARD_DET_PII] = NULL;
}

static int vb(const guard_ctx *c, uint64_t off)
{
    return off >= c->view_end ? -1 : guard_ctx_view_byte(c, off);
}

/* The character index of view offset `off`. Hits arrive in end order, so a
 * cursor walks the view once; offsets a little behind it (a token's start)
 * are counted back from it. Distances between a keyword and a number are
 * then a subtraction, whatever their number: counting characters per pair
 * was quadratic on a message dense with both. Bytes no longer in the window
 * count as one character each (an over-estimate: only far pairs are
 * affected, and they are out of any window anyway). */
static uint64_t chars_in(const guard_ctx *c, uint64_t from, uint64_t to)
{
    const guard_norm *v = c->norm;
    uint64_t n = 0, lo = from > v->base ? from : v->base,
             hi = to < v->base + v->len ? to : v->base + v->len;
    if (lo >= hi)
        return to - from;
    /* The cursor walks the whole view, so this runs over every byte of the
     * input: 16 at a time where SSE2 is there. A character is a byte that
     * is not a continuation byte (10xxxxxx), i.e. not in [0x80, 0xBF]. */
    const unsigned char *p = v->view + (lo - v->base);
    size_t len = (size_t)(hi - lo), i = 0;
#ifdef __SSE2__
    /* continuation bytes counted in 16 byte lanes (each compare gives -1),
     * summed every 255 blocks before a lane can overflow */
    const __m128i top = _mm_set1_epi8((char)0xC0), cont = _mm_set1_epi8((char)0x80);
    while (i + 16 <= len) {
        __m128i acc = _mm_setzero_si128();
        size_t blocks = 0;
        for (; i + 16 <= len && blocks < 255; i += 16, blocks++) {
            __m128i x = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i)), top);
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, cont));
        }
        __m128i sum = _mm_sad_epu8(acc, _mm_setzero_si128());
        uint64_t conts = (uint64_t)_mm_cvtsi128_si64(sum) +
                         (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
        n += blocks * 16 - conts;
    }
#endif
    for (; i < len; i++)
        n += (p[i] & 0xC0) != 0x80;
    return n + (lo - from) + (to - hi);
}

static uint64_t char_index(const guard_ctx *c, pii_state *s, uint64_t off)
{
    if (off >= s->cur_off) {
        s->cur_chars += chars_in(c, s->cur_off, off);
        s->cur_off = off;
        return s->cur_chars;
    }
    uint64_t back = chars_in(c, off, s->cur_off);
    return back < s->cur_chars ? s->cur_chars - back : 0;
}

static bool near(uint64_t a, uint64_t b, unsigned win)
{
    return (a > b ? a - b : b - a) <= win;
}

static void boost(guard_ctx *c, pii_recent *r)
{
    guard_finding *f = guard_ctx_finding(c, r->idx);
    if (!f || r->boosted)
        return;
    f->confidence += types[r->type].boost;
    if (f->confidence > 99)
        f->confidence = 99;
    r->boosted = true;
}

static void emit_pii(guard_ctx *c, pii_state *s, enum pii_type t, uint64_t vs, uint64_t ve,
                     int extra)
{
    unsigned win = c->cfg->keyword_window ? c->cfg->keyword_window : 300;
    if (s->last_end[t] == ve && s->last_start[t] <= vs)
        return; /* the same token, reported by an overlapping pattern */
    if (s->last_end[t] > vs && t != T_EMAIL)
        return;
    s->last_end[t] = ve;
    s->last_start[t] = vs;
    int idx = guard_emit(c, types[t].rule, GUARD_CAT_PII, types[t].sev, types[t].base + extra, vs,
                         ve, types[t].what);
    if (idx < 0)
        return;
    pii_recent *r = &s->f[s->head];
    r->idx = idx;
    r->type = (uint8_t)t;
    r->boosted = false;
    r->ce = char_index(c, s, ve);
    r->cs = char_index(c, s, vs);
    s->head = (s->head + 1) % RECENT;
    if (s->nf < RECENT)
        s->nf++;
    /* A keyword seen before it? */
    for (size_t i = 0; i < s->nkw; i++)
        if ((s->kw[i].types & (1u << t)) && near(s->kw[i].ce, r->cs, win)) {
            boost(c, r);
            break;
        }
}

static void keyword_hit(guard_ctx *c, pii_state *s, unsigned k, uint64_t to)
{
    unsigned win = c->cfg->keyword_window ? c->cfg->keyword_window : 300;
    uint64_t vs = to - strlen(keywords[k].word);
    /* Latin keywords must stand as words: "tel" is not in "hotel". */
    if ((unsigned char)keywords[k].word[0] < 0x80 &&
        ((vs > 0 && guard_is_alnum(guard_ctx_view_byte(c, vs - 1))) || guard_is_alnum(vb(c, to))))
        return;
    s->kw[s->kwhead].ce = char_index(c, s, to);
    s->kw[s->kwhead].cs = char_index(c, s, vs);
    s->kw[s->kwhead].types = keywords[k].types;
    uint64_t kcs = s->kw[s->kwhead].cs;
    s->kwhead = (s->kwhead + 1) % KW_RECENT;
    if (s->nkw < KW_RECENT)
        s->nkw++;
    for (size_t i = 0; i < s->nf; i++) {
        pii_recent *r = &s->f[i];
        if (!r->boosted && (keywords[k].types & (1u << r->type)) && near(r->ce, kcs, win))
            boost(c, r);
    }
}

/* Start of the maximal run of bytes of token kind `set` (GUARD_TOK_*) ending
 * at `to`, within `max`. */
static uint64_t run_start(const guard_ctx *c, uint64_t to, unsigned set, unsigned max)
{
    uint64_t p = to;
    while (p > 0 && to - p < max) {
        int b = guard_ctx_view_byte(c, p - 1);
        if (b < 0 || !(guard_token_bytes[b] & set))
            break;
        p--;
    }
    return p;
}

static void copy_view(const guard_ctx *c, uint64_t vs, uint64_t ve, char *buf, size_t cap)
{
    size_t n = 0;
    for (uint64_t i = vs; i < ve && n + 1 < cap; i++) {
        int b = guard_ctx_view_byte(c, i);
        buf[n++] = (char)(b < 0 ? '?' : b);
    }
    buf[n] = 0;
}

/* Original bytes of a view span are uppercase letters where letters. */
static bool orig_upper(const guard_ctx *c, uint64_t vs, uint64_t ve)
{
    uint64_t os, oe;
    guard_norm_to_orig(c->norm, vs, ve, &os, &oe);
    if (os < c->orig_base || oe > c->orig_base + c->orig_len)
        return false;
    for (uint64_t i = os; i < oe; i++) {
        unsigned char b = c->orig[i - c->orig_base];
        if (b >= 'a' && b <= 'z')
            return false;
    }
    return true;
}

/* Digits that are part of a decimal number (3.14159265359, 13812345678.50)
 * are a measurement, not an identifier. */
static bool in_decimal(const guard_ctx *c, uint64_t vs, uint64_t to)
{
    int b1 = vs >= 1 ? guard_ctx_view_byte(c, vs - 1) : -1;
    int b2 = vs >= 2 ? guard_ctx_view_byte(c, vs - 2) : -1;
    return (b1 == '.' && guard_is_digit(b2)) || (vb(c, to) == '.' && guard_is_digit(vb(c, to + 1)));
}

static bool is_sep(int b);
static int before(const guard_ctx *c, uint64_t off, unsigned back);

/* An ID number written in groups (510107 199312 250473, 510107-19931225-0473):
 * 18 characters in 2 to 5 groups of at least 3, one kind of separator (a
 * space or a hyphen) between them, nothing of a token around. Its start in
 * *vs and the 18 characters in buf (at least 19 bytes); false when the bytes
 * before `to` are not one. */
static bool grouped_id(const guard_ctx *c, uint64_t to, uint64_t *vs, char *buf)
{
    unsigned n = 0, group = 0, groups = 1;
    int sep = 0, b = before(c, to, 1);
    uint64_t p = to;
    if (b == 'x')
        p--, n++, group++;
    while (p > 0 && n < 18) {
        b = guard_ctx_view_byte(c, p - 1);
        if (guard_is_digit(b)) {
            n++;
            group++;
        } else if (is_sep(b) && group >= 3 && (!sep || b == sep) && groups < 5) {
            sep = b;
            group = 0;
            groups++;
        } else {
            break;
        }
        p--;
    }
    b = before(c, p, 1);
    if (n != 18 || groups < 2 || group < 3 || guard_is_alnum(b) ||
        (is_sep(b) && guard_is_digit(before(c, p, 2))))
        return false;
    *vs = p;
    n = 0;
    for (; p < to; p++) {
        b = guard_ctx_view_byte(c, p);
        if (!is_sep(b))
            buf[n++] = (char)b;
    }
    buf[n] = 0;
    return true;
}

static void digits_hit(guard_ctx *c, pii_state *s, unsigned arg, uint64_t to)
{
    char buf[64];
    int after = vb(c, to);
    if (guard_is_digit(after) || (after >= 'a' && after <= 'z' && arg != P_ID))
        return; /* not the end of the token */
    if (in_decimal(c, run_start(c, to, GUARD_TOK_DIGITS, 24), to))
        return;
    switch (arg) {
    case P_ID: {
        uint64_t vs = run_start(c, to, GUARD_TOK_ID, 40);
        if (to - vs != 18 || guard_is_alnum(guard_ctx_view_byte(c, vs ? vs - 1 : 0) * (vs > 0)))
            return;
        if (guard_is_alnum(after))
            return;
        copy_view(c, vs, to, buf, sizeof buf);
        if (guard_valid_cn_id(buf, 18))
            emit_pii(c, s, T_ID, vs, to, 0);
        return;
    }
    case P_ID_GROUPED: {
        uint64_t vs;
        if (guard_is_alnum(after) || !grouped_id(c, to, &vs, buf))
            return;
        if (guard_valid_cn_id(buf, 18))
            emit_pii(c, s, T_ID, vs, to, 0);
        return;
    }
    case P_CARD: {
        uint64_t vs = run_start(c, to, GUARD_TOK_DIGITS, 24);
        if (to - vs < 16 || to - vs > 19 ||
            (vs > 0 && guard_is_alnum(guard_ctx_view_byte(c, vs - 1))))
            return;
        copy_view(c, vs, to, buf, sizeof buf);
        if (to - vs == 18 && guard_valid_cn_id(buf, 18))
            return; /* an ID number, reported as such */
        if (guard_valid_luhn(buf, (size_t)(to - vs)))
            emit_pii(c, s, T_CARD, vs, to, buf[0] == '6' && buf[1] == '2' ? 10 : 0);
        return;
    }
    case P_CARD_SPACED: {
        uint64_t vs = run_start(c, to, GUARD_TOK_CARD, 26);
        while (vs < to && !guard_is_digit(guard_ctx_view_byte(c, vs)))
            vs++;
        if (to - vs < 19 || (vs > 0 && guard_is_alnum(guard_ctx_view_byte(c, vs - 1))))
            return;
        copy_view(c, vs, to, buf, sizeof buf);
        if (guard_valid_luhn(buf, strlen(buf)))
            emit_pii(c, s, T_CARD, vs, to, buf[0] == '6' && buf[1] == '2' ? 10 : 0);
        return;
    }
    case P_MOBILE: {
        /* Longest valid token ending here: +86 138 1234 5678 down to 13812345678. */
        uint64_t lo = run_start(c, to, GUARD_TOK_MOBILE, 20);
        for (uint64_t vs = lo; vs + 11 <= to; vs++) {
            int b = guard_ctx_view_byte(c, vs);
            int prev = vs > 0 ? guard_ctx_view_byte(c, vs - 1) : -1;
            if (!(guard_is_digit(b) || b == '+') || guard_is_digit(prev) || guard_is_alnum(prev))
                continue;
            copy_view(c, vs, to, buf, sizeof buf);
            if (guard_valid_cn_mobile(buf, strlen(buf))) {
                emit_pii(c, s, T_MOBILE, vs, to, buf[0] == '+' ? 10 : 0);
                return;
            }
        }
        return;
    }
    case P_LANDLINE: {
        uint64_t vs = run_start(c, to, GUARD_TOK_LANDLINE, 20);
        while (vs < to) {
            int b = guard_ctx_view_byte(c, vs);
            if (b == '(' || b == '0')
                break;
            vs++;
        }
        if (vs >= to || (vs > 0 && guard_is_digit(guard_ctx_view_byte(c, vs - 1))))
            return;
        emit_pii(c, s, T_LANDLINE, vs, to, 0);
        return;
    }
    case P_PASSPORT:
    case P_TWID:
    case P_HKID:
    case P_MOID: {
        uint64_t vs = run_start(c, to, GUARD_TOK_DOC, 14);
        if (vs > 0 && guard_is_alnum(guard_ctx_view_byte(c, vs - 1)))
            return;
        copy_view(c, vs, to, buf, sizeof buf);
        size_t n = strlen(buf);
        if (arg == P_PASSPORT && n == 9 && orig_upper(c, vs, vs + 2))
            emit_pii(c, s, T_PASSPORT, vs, to, 0);
        else if (arg == P_TWID && n == 10 && orig_upper(c, vs, vs + 1) && guard_valid_twid(buf, n))
            emit_pii(c, s, T_TWID, vs, to, 0);
        else if (arg == P_HKID && orig_upper(c, vs, to) && guard_valid_hkid(buf, n))
            emit_pii(c, s, T_HKID, vs, to, 0);
        else if (arg == P_MOID && guard_valid_macau_id(buf, n))
            emit_pii(c, s, T_MOID, vs, to, 0);
        return;
    }
    }
}

static void email_hit(guard_ctx *c, pii_state *s, uint64_t to)
{
    uint64_t at = to, vs, ve = to;
    while (at > 0 && to - at < 256 && guard_ctx_view_byte(c, at - 1) != '@')
        at--;
    if (at == 0 || guard_ctx_view_byte(c, at - 1) != '@')
        return;
    at--;
    vs = run_start(c, at, GUARD_TOK_LOCAL, 64);
    while (vs < at && guard_ctx_view_byte(c, vs) == '.')
        vs++;
    if (vs == at)
        return;
    while (ve - at < 255) {
        int b = vb(c, ve);
        if (b < 0 || !(guard_token_bytes[b] & GUARD_TOK_DOMAIN))
            break;
        ve++;
    }
    while (ve > to && (vb(c, ve - 1) == '.' || vb(c, ve - 1) == '-'))
        ve--;
    /* A top-level domain of two letters or more. */
    uint64_t dot = ve;
    while (dot > at && vb(c, dot - 1) != '.')
        dot--;
    if (ve - dot < 2)
        return;
    for (uint64_t i = dot; i < ve; i++)
        if (!(vb(c, i) >= 'a' && vb(c, i) <= 'z'))
            return;
    emit_pii(c, s, T_EMAIL, vs, ve, 0);
}

static void plate_hit(guard_ctx *c, pii_state *s, uint64_t to)
{
    /* Province character, city letter, optional separator (space, ., ·),
     * then 5 characters (6 for new-energy plates): 京A12345, 沪A·12345. */
    uint64_t p = to, vs;
    unsigned n = 0;
    if (guard_is_alnum(vb(c, to)))
        return;
    while (p > 0 && n < 8 && guard_is_alnum(guard_ctx_view_byte(c, p - 1))) {
        p--;
        n++;
    }
    bool joined = (n == 6 || n == 7) && guard_ctx_view_byte(c, p) >= 'a' &&
                  guard_ctx_view_byte(c, p) <= 'z' && p >= 3 &&
                  (guard_ctx_view_byte(c, p - 3) & 0xF0) == 0xE0;
    if (!joined && (n == 5 || n == 6)) { /* a separator after the city letter */
        uint64_t q = p;
        while (q > 0 && p - q < 4) {
            int b = guard_ctx_view_byte(c, q - 1);
            if (b == ' ' || b == '.')
                q--;
            else if (b == 0xB7 && q >= 2 && guard_ctx_view_byte(c, q - 2) == 0xC2)
                q -= 2;
            else
                break;
        }
        if (q == p || q == 0)
            return;
        int letter = guard_ctx_view_byte(c, q - 1);
        if (!(letter >= 'a' && letter <= 'z'))
            return;
        p = q - 1;
        n++;
    }
    if (n != 6 && n != 7)
        return;
    if (!(guard_ctx_view_byte(c, p) >= 'a' && guard_ctx_view_byte(c, p) <= 'z'))
        return; /* the city code is a letter */
    if (p < 3 || (guard_ctx_view_byte(c, p - 3) & 0xF0) != 0xE0)
        return; /* the province character (the pattern checked which) */
    vs = p - 3;
    if (!orig_upper(c, p, to))
        return;
    emit_pii(c, s, T_PLATE, vs, to, 0);
}

/* ---- shapes: each type's former pattern, matched backwards from `to` ---- */

/* The n view bytes before `to` are digits. */
static bool digits_before(const guard_ctx *c, uint64_t to, unsigned n)
{
    if (to < n)
        return false;
    for (uint64_t i = to - n; i < to; i++)
        if (!guard_is_digit(guard_ctx_view_byte(c, i)))
            return false;
    return true;
}

static bool is_lower(int b)
{
    return b >= 'a' && b <= 'z';
}

static bool is_sep(int b)
{
    return b == ' ' || b == '-';
}

/* vb() one byte before `off`, -1 at the start of the view. */
static int before(const guard_ctx *c, uint64_t off, unsigned back)
{
    return off >= back ? guard_ctx_view_byte(c, off - back) : -1;
}

/* Does the former pattern of `arg` have a match ending at `to`? */
static bool shape_at(const guard_ctx *c, unsigned arg, uint64_t to)
{
    switch (arg) {
    case P_ID: /* [0-9]{17}[0-9x] */
    {
        int last = before(c, to, 1);
        return (guard_is_digit(last) || last == 'x') && digits_before(c, to - 1, 17);
    }
    case P_MOBILE: /* 1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4} */
        if (!digits_before(c, to, 4))
            return false;
        for (unsigned s1 = 0; s1 < 2; s1++) {
            uint64_t p = to - 4 - s1;
            if ((s1 && !is_sep(before(c, to - 4, 1))) || !digits_before(c, p, 4))
                continue;
            for (unsigned s2 = 0; s2 < 2; s2++) {
                uint64_t q = p - 4 - s2;
                int d1 = before(c, q, 1), d2 = before(c, q, 2);
                if (s2 && !is_sep(before(c, p - 4, 1)))
                    continue;
                if (guard_is_digit(d1) && d2 >= '3' && d2 <= '9' && before(c, q, 3) == '1')
                    return true;
            }
        }
        return false;
    case P_LANDLINE: /* (\(0[0-9]{2,3}\) ?|0[0-9]{2,3}-)[0-9]{7,8} */
        for (unsigned d = 7; d <= 8; d++) {
            if (!digits_before(c, to, d))
                break;
            uint64_t q = to - d;
            for (unsigned k = 2; k <= 3; k++) {
                if (before(c, q, 1) == '-' && digits_before(c, q - 1, k) &&
                    before(c, q - 1 - k, 1) == '0')
                    return true;
                for (unsigned sp = 0; sp < 2; sp++) {
                    uint64_t r = q - sp;
                    if (sp && before(c, q, 1) != ' ')
                        continue;
                    if (before(c, r, 1) == ')' && digits_before(c, r - 1, k) &&
                        before(c, r - 1 - k, 1) == '0' && before(c, r - 1 - k, 2) == '(')
                        return true;
                }
            }
        }
        return false;
    case P_CARD: /* [0-9]{16,19} */
        return digits_before(c, to, 16);
    case P_CARD_SPACED: /* [0-9]{4}([ -][0-9]{4}){3} */
        for (unsigned g = 0; g < 4; g++) {
            uint64_t p = to - 5 * g;
            if ((g && !is_sep(guard_ctx_view_byte(c, p))) || !digits_before(c, p, 4))
                return false;
        }
        return true;
    case P_PASSPORT: /* [eg][0-9]{8}|e[a-z][0-9]{7} */
    {
        int b8 = before(c, to, 9), b7 = before(c, to, 8);
        return (digits_before(c, to, 8) && (b8 == 'e' || b8 == 'g')) ||
               (digits_before(c, to, 7) && is_lower(b7) && b8 == 'e');
    }
    case P_HKID: /* [a-z]{1,2}[0-9]{6}\(?[0-9a]\)? */
    {
        uint64_t p = before(c, to, 1) == ')' ? to - 1 : to;
        int last = before(c, p, 1);
        if (!(guard_is_digit(last) || last == 'a'))
            return false;
        p--;
        for (unsigned op = 0; op < 2; op++) {
            if (op && before(c, p, 1) != '(')
                continue;
            if (digits_before(c, p - op, 6) && is_lower(before(c, p - op, 7)))
                return true;
        }
        return false;
    }
    case P_MOID: /* [157][0-9]{6}\([0-9]\) */
    {
        int lead = before(c, to, 10);
        return before(c, to, 1) == ')' && guard_is_digit(before(c, to, 2)) &&
               before(c, to, 3) == '(' && digits_before(c, to - 3, 6) &&
               (lead == '1' || lead == '5' || lead == '7');
    }
    case P_TWID: /* [a-z][12][0-9]{8} */
    {
        int sex = before(c, to, 9);
        return digits_before(c, to, 8) && (sex == '1' || sex == '2') && is_lower(before(c, to, 10));
    }
    case P_ID_GROUPED: /* groups of 3+ digits, [ -] between, ending in a digit or x */
    {
        /* the last group and a separator before it: a phone number or a
         * year in prose stops here */
        const guard_norm *v = c->norm;
        uint64_t p = before(c, to, 1) == 'x' ? to - 1 : to;
        if (p >= v->base + 21 && p <= v->base + v->len) {
            /* in the view, as pii_digits() reads it: no call per digit */
            const unsigned char *q = v->view + (p - v->base), *e = q;
            while (e - q < 19 && guard_is_digit(q[-1]))
                q--;
            return e - q >= 2 && e - q < 19 && is_sep(q[-1]) && guard_is_digit(q[-2]);
        }
        while (p > 0 && to - p <= 18 && guard_is_digit(before(c, p, 1)))
            p--;
        return to - p >= 3 && is_sep(before(c, p, 1)) && guard_is_digit(before(c, p, 2));
    }
    }
    return false;
}

/* A run of digits ends at `e`. The types' tokens end there, or a few bytes
 * later: an ID's check character x, a Hong Kong check character a or a
 * parenthesised check character, (7) or (a). Each possible end is tried in
 * order, and at each end the types in the order of their former patterns,
 * as the hits of those patterns were dispatched. */
static void pii_digits(guard_ctx *c, uint64_t e)
{
    pii_state *s = c->det_state[GUARD_DET_PII];
    uint64_t ends[5];
    unsigned n = 0;
    int b0, b1;

    /* Most runs are years (2024年): every type needs six digits in a row,
     * or four after a space or dash that follows four more. The common case
     * reads the view directly. */
    const guard_norm *v = c->norm;
    if (e >= v->base + 6 && e <= v->base + v->len) {
        const unsigned char *p = v->view + (e - v->base);
        if ((!guard_is_digit(p[-5]) || !guard_is_digit(p[-6])) &&
            (!is_sep(p[-5]) || !digits_before(c, e - 5, 4)) &&
            (e == v->base + v->len || p[0] != 'x' || !digits_before(c, e, 3)))
            return;
    } else if (!digits_before(c, e, 6) &&
               !(is_sep(before(c, e, 5)) && digits_before(c, e - 5, 4))) {
        return;
    }
    b0 = vb(c, e);
    b1 = vb(c, e + 1);
    ends[n++] = e;
    if (b0 == 'x' || b0 == 'a' || b0 == ')')
        ends[n++] = e + 1;
    if (b0 == '(' && (guard_is_digit(b1) || b1 == 'a')) {
        ends[n++] = e + 2;
        if (vb(c, e + 2) == ')')
            ends[n++] = e + 3;
    }
    if (is_sep(b0)) {
        /* An ID's last groups of three digits (and x) are no run of four:
         * 110105 19491231 002X and 510107 199312 250 473 end here, at the
         * run before them. Up to two such groups, each after the same
         * separator; grouped_id() checks the whole. */
        uint64_t q = e;
        for (int g = 0; g < 2 && vb(c, q) == b0 && n + 2 <= 5; g++) {
            uint64_t d = q + 1;
            while (guard_is_digit(vb(c, d)) && d - q <= 4)
                d++;
            if (vb(c, d) == 'x' && (d - q == 3 || d - q == 4)) {
                ends[n++] = d + 1; /* 02X, 002X: the check character ends it */
                break;
            }
            if (d - q != 4)
                break;
            ends[n++] = d;
            q = d;
        }
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned arg = P_ID; arg <= P_ID_GROUPED; arg++)
            if (arg != P_EMAIL && shape_at(c, arg, ends[i]))
                digits_hit(c, s, arg, ends[i]);
}

static void pii_hit(guard_ctx *c, uint32_t arg, uint64_t to)
{
    pii_state *s = c->det_state[GUARD_DET_PII];
    if (arg >= P_KEYWORD) {
        if (arg - P_KEYWORD < sizeof keywords / sizeof *keywords)
            keyword_hit(c, s, arg - P_KEYWORD, to);
    } else if (arg == P_EMAIL) {
        email_hit(c, s, to);
    } else if (arg == P_PLATE) {
        plate_hit(c, s, to);
    } else {
        digits_hit(c, s, arg, to);
    }
}

const guard_detector guard_det_pii = {
    .name = "pii",
    .patterns = pii_patterns,
    .begin = pii_begin,
    .on_hit = pii_hit,
    .on_digits = pii_digits,
    .finish = NULL,
    .end = pii_end,
};
