/*
 * tool_json.c — JSON shapes of results and findings (see tool_json.h).
 */
#include "tool_json.h"
#include "base/base_utf8.h"

#include <stdlib.h>
#include <string.h>

json_t *tool_json_string(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    json_t *j = json_stringn(s, n);
    char *fixed;
    size_t o = 0;

    if (j || !s)
        return j;
    /* not UTF-8: each bad byte becomes U+FFFD (3 bytes) */
    if (n > ((size_t)-1) / 3)
        return NULL;
    fixed = malloc(3 * n + 1);
    if (!fixed)
        return NULL;
    for (size_t i = 0; i < n;) {
        int k = base_utf8_seq(u + i, n - i);
        if (k > 0) {
            memcpy(fixed + o, u + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

json_t *tool_json_cstr(const char *s)
{
    return s ? tool_json_string(s, strlen(s)) : json_null();
}

int tool_json_set(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

/* ---- streaming writer ----------------------------------------------------- */

void tool_jw_init(tool_jw *w, base_buf *out)
{
    w->out = out;
    w->n = 0;
    w->err = false;
}

static void jw_flush(tool_jw *w)
{
    if (w->n && !w->err && base_buf_add(w->out, w->tmp, w->n))
        w->err = true;
    w->n = 0;
}

void tool_jw_raw_big(tool_jw *w, const char *s, size_t n)
{
    jw_flush(w);
    if (n > sizeof w->tmp) {
        if (!w->err && base_buf_add(w->out, s, n))
            w->err = true;
        return;
    }
    memcpy(w->tmp, s, n);
    w->n = n;
}

/* Bytes below 0x20 and '"' and '\\' are escaped; the rest of ASCII is
 * copied. Escapes as jansson writes them. */
static const char jw_esc[32][7] = {
    "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
    "\\b",     "\\t",     "\\n",     "\\u000B", "\\f",     "\\r",     "\\u000E", "\\u000F",
    "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
    "\\u0018", "\\u0019", "\\u001A", "\\u001B", "\\u001C", "\\u001D", "\\u001E", "\\u001F",
};

/* True when none of the 8 bytes at p needs a look: all are ASCII from 0x20
 * up, and none is '"' or '\\'. Each test below is exact for bytes under
 * 0x80, and a byte from 0x80 up fails the first one. */
static bool jw_plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t x, q, b;

    memcpy(&x, p, 8);
    q = x ^ (ones * '"');
    b = x ^ (ones * '\\');
    return !((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high);
}

void tool_jw_str(tool_jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0, i = 0; /* u[run, i) is copied as it is */

    TOOL_JW_LIT(w, "\"");
    while (i < n) {
        /* Strings here are mostly plain ASCII or CJK: eight ASCII bytes per
         * test (the last eight of the string when fewer are left, which
         * may test some again), and a three-byte sequence whose lead byte
         * (E1..EC, EE, EF) cannot start an overlong or a surrogate needs
         * only its two continuation bytes checked. */
        unsigned char b = u[i];
        if (b < 0x80) {
            size_t at = i + 8 <= n ? i : n - 8;
            if (n >= 8 && jw_plain8(u + at)) {
                i = at + 8;
                continue;
            }
            if (b >= 0x20 && b != '"' && b != '\\') {
                i++;
                continue;
            }
        } else if (b >= 0xE1 && b <= 0xEF && b != 0xED && i + 3 <= n && (u[i + 1] & 0xC0) == 0x80 &&
                   (u[i + 2] & 0xC0) == 0x80) {
            i += 3;
            continue;
        }
        int sk = b < 0x80 ? 0 : base_utf8_seq(u + i, n - i);
        size_t k = sk > 0 ? (size_t)sk : 0;
        if (k) {
            i += k;
            continue;
        }
        tool_jw_raw(w, s + run, i - run);
        if (b < 0x20)
            tool_jw_raw(w, jw_esc[b], strlen(jw_esc[b]));
        else if (b == '"')
            TOOL_JW_LIT(w, "\\\"");
        else if (b == '\\')
            TOOL_JW_LIT(w, "\\\\");
        else
            TOOL_JW_LIT(w, "\xEF\xBF\xBD"); /* not UTF-8 */
        run = ++i;
    }
    tool_jw_raw(w, s + run, i - run);
    TOOL_JW_LIT(w, "\"");
}

void tool_jw_cstr(tool_jw *w, const char *s)
{
    if (s)
        tool_jw_str(w, s, strlen(s));
    else
        TOOL_JW_LIT(w, "null");
}

/* "00" to "99": an integer is written two digits per division, five a
 * finding (confidence, start, end, line, column). */
static const char jw_pairs[] = "00010203040506070809"
                               "10111213141516171819"
                               "20212223242526272829"
                               "30313233343536373839"
                               "40414243444546474849"
                               "50515253545556575859"
                               "60616263646566676869"
                               "70717273747576777879"
                               "80818283848586878889"
                               "90919293949596979899";

void tool_jw_int(tool_jw *w, int64_t v)
{
    char d[24];
    size_t k = sizeof d;
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (m >= 100) {
        size_t r = (size_t)(m % 100) * 2;
        m /= 100;
        d[--k] = jw_pairs[r + 1];
        d[--k] = jw_pairs[r];
    }
    if (m >= 10) {
        d[--k] = jw_pairs[m * 2 + 1];
        d[--k] = jw_pairs[m * 2];
    } else {
        d[--k] = (char)('0' + m);
    }
    if (v < 0)
        d[--k] = '-';
    tool_jw_raw(w, d + k, sizeof d - k);
}

int tool_jw_finish(tool_jw *w)
{
    jw_flush(w);
    return w->err ? -1 : 0;
}

/* A name from guard_*_name(): a lowercase ASCII word (or "?"), nothing to
 * escape, so it is copied without the look at every byte. */
static void jw_name(tool_jw *w, const char *name)
{
    TOOL_JW_LIT(w, "\"");
    tool_jw_raw(w, name, strlen(name));
    TOOL_JW_LIT(w, "\"");
}

static void jw_uint_or_null(tool_jw *w, uint64_t v)
{
    if (v)
        tool_jw_int(w, (int64_t)v);
    else
        TOOL_JW_LIT(w, "null");
}

static void jw_finding(tool_jw *w, const guard_finding *f, const tool_pos *pos)
{
    TOOL_JW_LIT(w, "{\"rule\":");
    tool_jw_cstr(w, f->rule);
    TOOL_JW_LIT(w, ",\"category\":");
    jw_name(w, guard_category_name(f->category));
    TOOL_JW_LIT(w, ",\"severity\":");
    jw_name(w, guard_severity_name(f->severity));
    TOOL_JW_LIT(w, ",\"confidence\":");
    tool_jw_int(w, f->confidence);
    TOOL_JW_LIT(w, ",\"start\":");
    tool_jw_int(w, (int64_t)f->start);
    TOOL_JW_LIT(w, ",\"end\":");
    tool_jw_int(w, (int64_t)f->end);
    TOOL_JW_LIT(w, ",\"location\":");
    tool_jw_cstr(w, f->location);
    TOOL_JW_LIT(w, ",\"excerpt\":");
    tool_jw_cstr(w, f->excerpt ? f->excerpt : "");
    TOOL_JW_LIT(w, ",\"action\":");
    jw_name(w, guard_action_name(f->action));
    TOOL_JW_LIT(w, ",\"policy_rule\":");
    tool_jw_cstr(w, f->policy_rule);
    if (f->evasion)
        TOOL_JW_LIT(w, ",\"evasion\":true,\"explanation\":");
    else
        TOOL_JW_LIT(w, ",\"evasion\":false,\"explanation\":");
    tool_jw_cstr(w, f->explanation);
    TOOL_JW_LIT(w, ",\"line\":");
    jw_uint_or_null(w, pos ? pos->line : 0);
    TOOL_JW_LIT(w, ",\"column\":");
    jw_uint_or_null(w, pos && pos->line ? pos->col : 0);
    TOOL_JW_LIT(w, "}");
}

void tool_jw_result(tool_jw *w, const guard_result *r, const tool_pos *pos)
{
    TOOL_JW_LIT(w, "\"verdict\":");
    jw_name(w, guard_action_name(r->verdict));
    TOOL_JW_LIT(w, ",\"status\":");
    jw_name(w, guard_status_name(r->status));
    TOOL_JW_LIT(w, ",\"findings\":[");
    for (size_t i = 0; i < r->n_findings; i++) {
        if (i)
            TOOL_JW_LIT(w, ",");
        jw_finding(w, &r->findings[i], pos ? &pos[i] : NULL);
    }
    TOOL_JW_LIT(w, "],\"decided_by\":");
    tool_jw_cstr(w, r->decided_by);
    TOOL_JW_LIT(w, ",\"bytes\":");
    tool_jw_int(w, (int64_t)r->bytes);
    TOOL_JW_LIT(w, ",\"invalid_utf8\":");
    tool_jw_int(w, (int64_t)r->invalid_utf8);
    TOOL_JW_LIT(w, ",\"findings_dropped\":");
    tool_jw_int(w, (int64_t)r->findings_dropped);
}
