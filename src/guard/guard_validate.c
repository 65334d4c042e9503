/*
 * guard_validate.c — the validators behind pattern prefilters (see
 * guard_validate.h).
 *
 * Patterns find things that look like an identity number, a card or an IP;
 * these functions decide whether the bytes really are one, so that a random
 * 18-digit order number does not trip a PII rule. Every function is pure,
 * allocates nothing and runs in time linear in its input (the edit distance
 * is bounded by its 63-byte limit), so hostile input costs nothing special.
 */
#include "guard_validate.h"

#include <limits.h>
#include <math.h>

/* guard_token_bytes: digits are in every kind of token, letters in the
 * alphanumeric ones; byte 0 and every byte >= 0x80 in none. Ranges are GNU C
 * designators (the build is gnu11); 'x' stands apart because only the ID
 * adds it, and an overridden initialiser is a -Wextra warning. */
#define TOK_ANY_DIGIT                                                                              \
    (GUARD_TOK_DIGITS | GUARD_TOK_ID | GUARD_TOK_CARD | GUARD_TOK_MOBILE | GUARD_TOK_LANDLINE |    \
     GUARD_TOK_DOC | GUARD_TOK_LOCAL | GUARD_TOK_DOMAIN)
#define TOK_ANY_LETTER (GUARD_TOK_DOC | GUARD_TOK_LOCAL | GUARD_TOK_DOMAIN)

const uint8_t guard_token_bytes[256] = {
    ['0' ... '9'] = TOK_ANY_DIGIT,
    ['a' ... 'w'] = TOK_ANY_LETTER,
    ['x'] = TOK_ANY_LETTER | GUARD_TOK_ID,
    ['y' ... 'z'] = TOK_ANY_LETTER,
    [' '] = GUARD_TOK_CARD | GUARD_TOK_MOBILE | GUARD_TOK_LANDLINE,
    ['-'] =
        GUARD_TOK_CARD | GUARD_TOK_MOBILE | GUARD_TOK_LANDLINE | GUARD_TOK_LOCAL | GUARD_TOK_DOMAIN,
    ['+'] = GUARD_TOK_MOBILE | GUARD_TOK_LOCAL,
    ['('] = GUARD_TOK_LANDLINE | GUARD_TOK_DOC,
    [')'] = GUARD_TOK_LANDLINE | GUARD_TOK_DOC,
    ['.'] = GUARD_TOK_LOCAL | GUARD_TOK_DOMAIN,
    ['_'] = GUARD_TOK_LOCAL,
    ['%'] = GUARD_TOK_LOCAL,
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* A..Z / a..z as 10..35 (the HKID convention), -1 for anything else. */
static int letter_value(char c)
{
    c = ascii_lower(c);
    return (c >= 'a' && c <= 'z') ? c - 'a' + 10 : -1;
}

/* ---- PRC resident identity number --------------------------------------- */

/* Province-level codes of GB/T 2260 by tens digit: the units digit must lie
 * in [lo, hi]. lo > hi means no province starts with that digit. */
static const struct {
    unsigned char lo, hi;
} cn_regions[10] = {
    {1, 0}, /* 0x: none */
    {1, 5}, /* 11-15 north */
    {1, 3}, /* 21-23 north-east */
    {1, 7}, /* 31-37 east */
    {1, 6}, /* 41-46 south-central */
    {0, 4}, /* 50-54 south-west */
    {1, 5}, /* 61-65 north-west */
    {1, 1}, /* 71 Taiwan */
    {1, 3}, /* 81-83 Hong Kong, Macau, Taiwan residence permits */
    {1, 1}, /* 91 abroad */
};

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : days[m - 1];
}

static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

bool guard_valid_cn_id(const char *s, size_t len)
{
    /* ISO 7064 MOD 11-2: weight i is 2^(17-i) mod 11; the check character
     * makes the weighted sum congruent to 1, hence this lookup by sum % 11. */
    static const unsigned char weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check_chars[11] = "10X98765432";
    unsigned sum = 0, tens, units, year, month, day;
    char check;

    if (len != 18)
        return false;
    for (size_t i = 0; i < 17; i++) {
        if (!is_digit(s[i]))
            return false;
        sum += weights[i] * (unsigned)(s[i] - '0');
    }
    check = s[17] == 'x' ? 'X' : s[17];
    if (check != check_chars[sum % 11])
        return false;

    tens = (unsigned)(s[0] - '0');
    units = (unsigned)(s[1] - '0');
    if (units < cn_regions[tens].lo || units > cn_regions[tens].hi)
        return false;

    year = digits_value(s + 6, 4);
    month = digits_value(s + 10, 2);
    day = digits_value(s + 12, 2);
    if (year < 1900 || year > 2099 || month < 1 || month > 12)
        return false;
    return day >= 1 && day <= days_in_month(year, month);
}

/* ---- payment cards ------------------------------------------------------ */

bool guard_valid_luhn(const char *s, size_t len)
{
    /* Walk from the right: every second digit is doubled, and a doubled
     * digit contributes the sum of its two decimal digits. */
    static const unsigned char doubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
    unsigned sum = 0;
    size_t ndigits = 0;

    for (size_t i = len; i > 0; i--) {
        char c = s[i - 1];
        if (c == ' ' || c == '-')
            continue;
        if (!is_digit(c))
            return false;
        /* Only the sum modulo 10 matters; keeping it reduced means an
         * arbitrarily long input cannot overflow it. */
        sum = (sum + ((ndigits & 1) ? doubled[c - '0'] : (unsigned)(c - '0'))) % 10;
        ndigits++;
    }
    return ndigits >= 12 && sum == 0;
}

/* ---- Hong Kong, Taiwan, Macau identity cards ---------------------------- */

bool guard_valid_hkid(const char *s, size_t len)
{
    /* Weights 9..2 over eight positions; a one-letter ID is padded on the
     * left with a space, which counts 36. The check value c (A = 10) makes
     * sum + c divisible by 11. */
    size_t nletters, i;
    unsigned sum, check;
    char c;

    if (len < 8)
        return false;
    nletters = (letter_value(s[1]) >= 0) ? 2 : 1;
    if (letter_value(s[0]) < 0)
        return false;
    /* Letters, six digits, then "C" or "(C)". */
    if (len != nletters + 7 && len != nletters + 9)
        return false;
    if (len == nletters + 9 && (s[nletters + 6] != '(' || s[len - 1] != ')'))
        return false;

    sum = (nletters == 1) ? 36u * 9 + (unsigned)letter_value(s[0]) * 8
                          : (unsigned)letter_value(s[0]) * 9 + (unsigned)letter_value(s[1]) * 8;
    for (i = 0; i < 6; i++) {
        c = s[nletters + i];
        if (!is_digit(c))
            return false;
        sum += (unsigned)(c - '0') * (unsigned)(7 - i);
    }

    c = s[len == nletters + 9 ? len - 2 : len - 1];
    if (is_digit(c))
        check = (unsigned)(c - '0');
    else if (letter_value(c) == 10)
        check = 10;
    else
        return false;
    return (sum + check) % 11 == 0;
}

bool guard_valid_twid(const char *s, size_t len)
{
    /* Area codes are not alphabetical: I, O, W..Z were added later. */
    static const unsigned char area[26] = {
        10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, /* A..M */
        22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33, /* N..Z */
    };
    static const unsigned char weights[9] = {8, 7, 6, 5, 4, 3, 2, 1, 1};
    unsigned sum, a;
    int v;

    if (len != 10 || (v = letter_value(s[0])) < 0)
        return false;
    if (s[1] != '1' && s[1] != '2')
        return false;
    a = area[v - 10];
    sum = a / 10 + (a % 10) * 9;
    for (size_t i = 0; i < 9; i++) {
        if (!is_digit(s[1 + i]))
            return false;
        sum += weights[i] * (unsigned)(s[1 + i] - '0');
    }
    return sum % 10 == 0;
}

bool guard_valid_macau_id(const char *s, size_t len)
{
    if (len != 10 || (s[0] != '1' && s[0] != '5' && s[0] != '7'))
        return false;
    for (size_t i = 1; i < 7; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return s[7] == '(' && is_digit(s[8]) && s[9] == ')';
}

/* ---- phone numbers ------------------------------------------------------ */

bool guard_valid_cn_mobile(const char *s, size_t len)
{
    /* 13 digits is the longest acceptable form (86 + 11); collecting more
     * than that can only fail, so the buffer is fixed. */
    char d[13];
    size_t n = 0, i = 0;
    bool plus = false;

    if (len > 0 && s[0] == '+') {
        plus = true;
        i = 1;
    }
    for (; i < len; i++) {
        if (s[i] == ' ' || s[i] == '-')
            continue;
        if (!is_digit(s[i]) || n == sizeof d)
            return false;
        d[n++] = s[i];
    }

    if (n == 13 && d[0] == '8' && d[1] == '6') {
        n -= 2;
        for (i = 0; i < n; i++)
            d[i] = d[i + 2];
    } else if (plus) {
        return false; /* any other country code is not a mainland mobile */
    }
    return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* ---- entropy ------------------------------------------------------------ */

double guard_entropy(const char *s, size_t len)
{
    size_t counts[256] = {0};
    double h = 0.0, n = (double)len;

    if (len == 0)
        return 0.0;
    for (size_t i = 0; i < len; i++)
        counts[(unsigned char)s[i]]++;
    for (size_t b = 0; b < 256; b++) {
        if (counts[b]) {
            double p = (double)counts[b] / n;
            h -= p * log2(p);
        }
    }
    /* A single repeated byte gives -1 * log2(1) = -0.0; report plain 0. */
    return h > 0.0 ? h : 0.0;
}

/* ---- IPv4 hosts --------------------------------------------------------- */

/* One dotted part as the WHATWG URL standard reads it: "0x"/"0X" then hex
 * (an empty hex part is 0), a leading 0 then octal, else decimal. Values
 * above 2^32 - 1 fail early, so long digit runs cannot overflow. */
static bool parse_ipv4_part(const char *s, size_t len, uint64_t *out)
{
    unsigned radix = 10;
    uint64_t v = 0;
    size_t i = 0;

    if (len == 0)
        return false;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        radix = 16;
        i = 2;
    } else if (len >= 2 && s[0] == '0') {
        radix = 8;
        i = 1;
    }
    for (; i < len; i++) {
        int dv;
        char c = ascii_lower(s[i]);
        if (is_digit(c))
            dv = c - '0';
        else if (c >= 'a' && c <= 'f')
            dv = c - 'a' + 10;
        else
            return false;
        if ((unsigned)dv >= radix)
            return false;
        v = v * radix + (unsigned)dv;
        if (v > UINT32_MAX)
            return false;
    }
    *out = v;
    return true;
}

bool guard_parse_ipv4_host(const char *s, size_t len, uint32_t *addr)
{
    uint64_t parts[4], last_max, v;
    size_t nparts = 0, start = 0;

    /* Browsers drop one trailing dot ("127.0.0.1." is 127.0.0.1, a
     * fully-qualified form); any other empty part is not an address. */
    if (len > 1 && s[len - 1] == '.')
        len--;
    if (len == 0)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (nparts == 4 || !parse_ipv4_part(s + start, i - start, &parts[nparts]))
            return false;
        nparts++;
        start = i + 1;
    }

    /* Leading parts are single bytes; the last fills the remaining bytes:
     * "127.1" is 127.0.0.1, "2130706433" is the whole address. */
    v = 0;
    for (size_t i = 0; i + 1 < nparts; i++) {
        if (parts[i] > 255)
            return false;
        v |= parts[i] << (8 * (3 - i));
    }
    last_max = (nparts == 1) ? UINT32_MAX : (UINT64_C(1) << (8 * (5 - nparts))) - 1;
    if (parts[nparts - 1] > last_max)
        return false;
    *addr = (uint32_t)(v | parts[nparts - 1]);
    return true;
}

/* ---- edit distance ------------------------------------------------------ */

#define EDIT_MAX 63

unsigned guard_edit_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned cap)
{
    /* Three rolling rows: row i needs rows i-1 and i-2 (the transposition
     * looks two back). Lengths are bounded, so the rows live on the stack. */
    unsigned rows[3][EDIT_MAX + 1];
    unsigned over = cap < UINT_MAX ? cap + 1 : UINT_MAX, d;
    unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

    if (alen > EDIT_MAX || blen > EDIT_MAX)
        return over;
    /* The distance is at least the length difference. */
    if ((alen > blen ? alen - blen : blen - alen) > cap)
        return over;

    for (size_t j = 0; j <= blen; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= blen; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    d = prev[blen];
    return d > cap ? over : d;
}

/* ---- registrable domain ------------------------------------------------- */

/*
 * Second-level public suffixes common in the traffic this guard sees
 * (mainland China, Hong Kong, Macau, Taiwan and the usual trading partners).
 * Hand-written rather than the full Public Suffix List because the guard
 * only uses the registrable domain to compare a link against the
 * organisation's own domains and to spot lookalikes; a few dozen suffixes
 * cover what users actually send, the result never changes under a data
 * update, and the library gains no dependency. A suffix missing here makes
 * the guard compare one label too few (e.g. "example.co.nz" reads as
 * "co.nz"), which errs toward flagging a link, not toward trusting it.
 */
static const char *const second_level[] = {
    /* China: generic and province-level second levels (GB/T 2260 codes). */
    "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "mil.cn", "ah.cn", "bj.cn", "cq.cn",
    "fj.cn", "gd.cn", "gs.cn", "gx.cn", "gz.cn", "ha.cn", "hb.cn", "he.cn", "hi.cn", "hk.cn",
    "hl.cn", "hn.cn", "jl.cn", "js.cn", "jx.cn", "ln.cn", "mo.cn", "nm.cn", "nx.cn", "qh.cn",
    "sc.cn", "sd.cn", "sh.cn", "sn.cn", "sx.cn", "tj.cn", "tw.cn", "xj.cn", "xz.cn", "yn.cn",
    "zj.cn",
    /* Hong Kong, Macau, Taiwan. */
    "com.hk", "org.hk", "gov.hk", "edu.hk", "net.hk", "idv.hk", "com.mo", "gov.mo", "org.mo",
    "net.mo", "edu.mo", "com.tw", "org.tw", "gov.tw", "edu.tw", "net.tw", "idv.tw",
    /* Elsewhere. */
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "com.au", "net.au",
    "org.au", "edu.au", "gov.au", "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr",
    "ne.kr", "ac.kr", "go.kr", "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg", "co.nz", "com.my",
    "com.br", "co.in", "co.za"};

static bool is_second_level(const char *s, size_t len)
{
    for (size_t k = 0; k < sizeof second_level / sizeof second_level[0]; k++) {
        const char *suf = second_level[k];
        size_t i = 0;
        while (i < len && suf[i] != '\0' && ascii_lower(s[i]) == suf[i])
            i++;
        if (i == len && suf[i] == '\0')
            return true;
    }
    return false;
}

size_t guard_registrable_offset(const char *host, size_t len)
{
    size_t dots[3], ndots = 0, end = len;
    uint32_t ip;

    /* An address literal has no registrable part: the site is all of it. */
    if (guard_parse_ipv4_host(host, len, &ip))
        return 0;
    /* A fully-qualified "example.com." names the same site. */
    if (end > 0 && host[end - 1] == '.')
        end--;
    /* The last three dots are enough: at most three labels are kept. */
    for (size_t i = end; i > 0 && ndots < 3; i--) {
        if (host[i - 1] == '.')
            dots[ndots++] = i - 1;
    }
    if (ndots < 2)
        return 0;
    if (!is_second_level(host + dots[1] + 1, end - dots[1] - 1))
        return dots[1] + 1;
    return ndots == 3 ? dots[2] + 1 : 0;
}
