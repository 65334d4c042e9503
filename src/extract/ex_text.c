/*
 * ex_text.c — plain text in any encoding, converted to UTF-8 in bounded
 * pieces, and the cheap sniffs the caller's fast path relies on.
 *
 * Encoding, in order of trust:
 *   1. a byte-order mark (UTF-8, UTF-16LE/BE, UTF-32LE/BE);
 *   2. UTF-16 without a BOM, by the shape of its code units;
 *   3. valid UTF-8;
 *   4. uchardet on the head, when it names a multi-byte charset (GB18030,
 *      Big5, EUC-TW, EUC-JP, Shift_JIS, EUC-KR, ...);
 *   5. otherwise (uchardet unsure, typical of short texts): every one of
 *      GB18030 and Big5 that decodes the head almost cleanly. When both do,
 *      both decodings are scanned, as two parts: a marking in either is
 *      caught, and a wrong decoding is noise that hardly ever forms a marking.
 *   6. nothing fits: the bytes go to the guard as they are (invalid UTF-8 is
 *      replaced and counted there), reported uninspectable.encoding.
 * GB2312 and GBK are read as GB18030, their superset.
 *
 * Conversion streams: iconv from the input (in memory or mapped) into a
 * fixed 64 KiB buffer framed onto the pipe, so memory does not grow with the
 * file; an invalid sequence becomes U+FFFD and conversion goes on.
 */
#include "base/base_utf8.h"
#include "ex_core.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <uchardet/uchardet.h>

#define OUT_CHUNK   ((size_t)64 * 1024)  /* converted text per frame */
#define DETECT_HEAD ((size_t)256 * 1024) /* bytes uchardet sees */
#define SNIFF_UNITS 4096                 /* UTF-16 code units looked at */

/* ---- sniffs ---------------------------------------------------------------- */

/* Counts invalid sequences in p[0..n); a sequence cut at the end counts
 * unless `cut_ok`. Stops counting at `stop` (0: never). */
static size_t utf8_invalid(const unsigned char *p, size_t n, bool cut_ok, size_t stop)
{
    size_t bad = 0;

    for (size_t i = 0; i < n;) {
        int k;
        /* ASCII runs, eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        /* the common CJK case: a three-byte sequence without the lead
         * bytes (E0, ED) whose second byte has a narrower range */
        if (i + 3 <= n && p[i] >= 0xE1 && p[i] != 0xED && p[i] <= 0xEF &&
            (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
            i += 3;
            continue;
        }
        k = base_utf8_seq(p + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if (k < 0 && cut_ok)
            break;
        bad++;
        if (stop && bad >= stop)
            break;
        i++;
    }
    return bad;
}

static bool starts_ci(const unsigned char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && !strncasecmp((const char *)p, s, k);
}

/* The first line is an e-mail header (From:, Received:, MIME-Version: ...). */
static bool mail_first_line(const unsigned char *p, size_t n)
{
    static const char *const heads[] = {
        "from:",         "received:",   "return-path:", "mime-version:",
        "delivered-to:", "message-id:", "x-mailer:",    "content-type:",
        "subject:",      "to:",         "date:",        "from "};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (starts_ci(p, n, heads[i]))
            return true;
    return false;
}

/* Whether a head that starts like a mail must go to the mail extractor.
 * Only MIME changes what a mail says: a Content-Type (multipart, a charset,
 * attachments), a Content-Transfer-Encoding (base64, quoted-printable),
 * MIME-Version, or an encoded word (=?utf-8?b?...?=) in a header. A mail
 * without any of them (chat exports and notes with From:/Subject: lines,
 * old 7-bit mail) reads the same byte for byte as text, so it is scanned
 * as text in process instead of paying for a sandboxed worker. A header
 * block that does not end inside the head is taken as mail (fail-safe). */
static bool looks_like_mail(const unsigned char *p, size_t n, bool whole)
{
    static const char *const mime[] = {
        "content-type:", "content-transfer-encoding:", "mime-version:"};
    size_t i = 0;

    if (!mail_first_line(p, n))
        return false;
    while (i < n) {
        const unsigned char *nl = memchr(p + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - p) : n, len = end - i;

        if (!nl && !whole)
            return true; /* the header block goes on past the head */
        if (len == 0 || (len == 1 && p[i] == '\r'))
            return false; /* end of the header block: no MIME in it */
        for (size_t k = 0; k < sizeof mime / sizeof mime[0]; k++)
            if (starts_ci(p + i, len, mime[k]))
                return true;
        for (size_t k = i; k + 1 < end; k++)
            if (p[k] == '=' && p[k + 1] == '?')
                return true;
        i = end + 1;
    }
    return false;
}

bool ex_text_is_plain(const unsigned char *p, size_t n, bool whole)
{
    size_t i = 0;

    if (memchr(p, 0, n))
        return false;
    if (n >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF)))
        return false;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i < n && p[i] == '<')
        return false; /* HTML, XML, SVG: markup hides text in attributes and entities */
    if (starts_ci(p + i, n - i, "{\\rtf") || starts_ci(p + i, n - i, "%PDF-") ||
        looks_like_mail(p + i, n - i, whole))
        return false;
    return utf8_invalid(p, n, !whole, 1) == 0;
}

/* Plausible code points of text: what UTF-16 text is made of and random
 * binary rarely is (about a third of random units land here). */
static bool plausible_cp(unsigned u)
{
    return (u >= 0x20 && u < 0x7F) || u == '\n' || u == '\r' || u == '\t' ||
           (u >= 0xA0 && u < 0x250) || (u >= 0x2000 && u < 0x2070) || (u >= 0x2190 && u < 0x2700) ||
           (u >= 0x3000 && u < 0x3100) || (u >= 0x4E00 && u < 0xA000) ||
           (u >= 0xFF00 && u < 0xFFF0) || u == 0xFEFF;
}

/* 1: UTF-16LE, 2: UTF-16BE, 0: neither. Nine units in ten must be plausible
 * in one byte order and clearly fewer in the other; no unit may be a
 * control character; and zero bytes must sit mostly in the high byte
 * (ASCII in UTF-16), rarely in the low one (U+xx00) — binary data has zeros
 * at both parities and can look like CJK text otherwise. */
static int utf16_order(const unsigned char *p, size_t n)
{
    size_t units = n / 2 > SNIFF_UNITS ? SNIFF_UNITS : n / 2, le = 0, be = 0;
    size_t z_even = 0, z_odd = 0;

    if (units < 2)
        return 0;
    for (size_t i = 0; i < units; i++) {
        unsigned a = (unsigned)p[2 * i] | (unsigned)p[2 * i + 1] << 8;
        unsigned b = (unsigned)p[2 * i] << 8 | (unsigned)p[2 * i + 1];
        le += plausible_cp(a);
        be += plausible_cp(b);
        z_even += p[2 * i] == 0;
        z_odd += p[2 * i + 1] == 0;
    }
    if (le * 10 >= units * 9 && le > be &&
        (z_even * 2 <= z_odd || (!z_odd && le == units && z_even * 50 <= units)))
        return 1;
    if (be * 10 >= units * 9 && be > le &&
        (z_odd * 2 <= z_even || (!z_even && be == units && z_odd * 50 <= units)))
        return 2;
    return 0;
}

bool ex_text_is_utf16(const unsigned char *p, size_t n)
{
    return utf16_order(p, n) != 0;
}

/* ---- conversion -------------------------------------------------------------- */

/* Converts data from `charset` to UTF-8 as one text segment. Returns 0, -1
 * when the job must end. *bad counts replaced sequences. */
static int convert(ex_job *j, const char *part, const char *charset, const unsigned char *data,
                   size_t len, size_t *bad)
{
    static const char repl[] = "\xEF\xBF\xBD";
    char out[OUT_CHUNK];
    iconv_t cd = iconv_open("UTF-8", charset);
    char *in = (char *)data;
    size_t in_left = len;
    int rc = -1;

    *bad = 0;
    if (cd == (iconv_t)-1) {
        char why[128];
        snprintf(why, sizeof why, "no converter from %s", charset);
        return ex_uninspectable(j, part, "encoding", why, true);
    }
    if (ex_text_begin(j, part))
        goto fail;
    while (in_left) {
        char *o = out;
        size_t o_left = sizeof out - sizeof repl;
        size_t r = iconv(cd, &in, &in_left, &o, &o_left);
        if (r == (size_t)-1 && (errno == EILSEQ || errno == EINVAL)) {
            /* skip one unit (two bytes for UTF-16), mark the spot */
            size_t skip = strncasecmp(charset, "UTF-16", 6) == 0 ? 2 : 1;
            skip = skip < in_left ? skip : in_left;
            in += skip;
            in_left -= skip;
            memcpy(o, repl, 3);
            o += 3;
            (*bad)++;
            iconv(cd, NULL, NULL, NULL, NULL);
        } else if (r == (size_t)-1 && errno != E2BIG) {
            in_left = 0; /* no progress possible: what was converted stands */
        }
        if (o > out && ex_text(j, out, (size_t)(o - out)))
            goto fail;
        if (!ex_job_ms_left(j)) {
            ex_text_end(j);
            ex_uninspectable(j, part, "limit.total_ms", "the time for this file ran out", false);
            goto fail;
        }
    }
    {
        /* flush a stateful encoding's shift sequence */
        char *o = out;
        size_t o_left = sizeof out;
        iconv(cd, NULL, NULL, &o, &o_left);
        if (o > out && ex_text(j, out, (size_t)(o - out)))
            goto fail;
    }
    rc = ex_text_end(j);
fail:
    iconv_close(cd);
    return rc;
}

/* Invalid sequences when decoding data[0..n) from charset, without
 * emitting; SIZE_MAX when no converter exists. */
static size_t trial(const char *charset, const unsigned char *data, size_t n)
{
    char out[4096];
    iconv_t cd = iconv_open("UTF-8", charset);
    char *in = (char *)data;
    size_t in_left = n, bad = 0;

    if (cd == (iconv_t)-1)
        return SIZE_MAX;
    while (in_left) {
        char *o = out;
        size_t o_left = sizeof out;
        if (iconv(cd, &in, &in_left, &o, &o_left) == (size_t)-1) {
            if (errno == EINVAL)
                break; /* cut at the end of the head */
            if (errno == EILSEQ) {
                in++;
                in_left--;
                bad++;
                iconv(cd, NULL, NULL, NULL, NULL);
            } else if (errno != E2BIG) {
                break;
            }
        }
    }
    iconv_close(cd);
    return bad;
}

/* Emits data as UTF-8 bytes, unchanged. */
static int emit_raw(ex_job *j, const char *part, const unsigned char *data, size_t len)
{
    if (ex_text_begin(j, part))
        return -1;
    for (size_t off = 0; off < len; off += OUT_CHUNK) {
        size_t k = len - off < OUT_CHUNK ? len - off : OUT_CHUNK;
        if (ex_text(j, (const char *)data + off, k))
            return -1;
    }
    return ex_text_end(j);
}

/* uchardet's name for the head, mapped to an iconv name; "" when unsure or
 * when it names a single-byte charset (which would decode anything). */
static void detect_charset(const unsigned char *p, size_t n, char *cs, size_t cap)
{
    uchardet_t u = uchardet_new();
    const char *name = "";

    cs[0] = 0;
    if (!u)
        return;
    if (uchardet_handle_data(u, (const char *)p, n) == 0) {
        uchardet_data_end(u);
        name = uchardet_get_charset(u);
    }
    if (!strcasecmp(name, "GB2312") || !strcasecmp(name, "GBK") || !strcasecmp(name, "GB18030") ||
        !strcasecmp(name, "HZ-GB-2312"))
        snprintf(cs, cap, "GB18030");
    else if (!strcasecmp(name, "BIG5") || !strcasecmp(name, "EUC-TW") ||
             !strcasecmp(name, "UTF-8") || !strncasecmp(name, "UTF-16", 6) ||
             !strncasecmp(name, "UTF-32", 6) || !strcasecmp(name, "SHIFT_JIS") ||
             !strcasecmp(name, "EUC-JP") || !strcasecmp(name, "EUC-KR") ||
             !strcasecmp(name, "ISO-2022-JP") || !strcasecmp(name, "ISO-2022-CN") ||
             !strcasecmp(name, "ISO-2022-KR"))
        snprintf(cs, cap, "%s", name);
    uchardet_delete(u);
}

int ex_text_file(ex_job *j, const unsigned char *data, size_t len, const char *mime)
{
    static const char *const guesses[] = {"GB18030", "BIG5"};
    size_t head = len < DETECT_HEAD ? len : DETECT_HEAD, bad, fits = 0;
    bool fit[2] = {false, false};
    char cs[32];
    int order;

    (void)mime;
    if (len >= 4 && !memcmp(data, "\xFF\xFE\0\0", 4))
        return convert(j, NULL, "UTF-32LE", data + 4, len - 4, &bad);
    if (len >= 4 && !memcmp(data, "\0\0\xFE\xFF", 4))
        return convert(j, NULL, "UTF-32BE", data + 4, len - 4, &bad);
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
        return emit_raw(j, NULL, data + 3, len - 3);
    if (len >= 2 && !memcmp(data, "\xFF\xFE", 2))
        return convert(j, NULL, "UTF-16LE", data + 2, len - 2, &bad);
    if (len >= 2 && !memcmp(data, "\xFE\xFF", 2))
        return convert(j, NULL, "UTF-16BE", data + 2, len - 2, &bad);
    if ((order = utf16_order(data, len)))
        return convert(j, NULL, order == 1 ? "UTF-16LE" : "UTF-16BE", data, len, &bad);
    /* valid UTF-8 (a head check, then the whole while emitting would be
     * cheaper, but a late invalid byte is still fine: the guard replaces it) */
    if (utf8_invalid(data, head, head < len, 1) == 0)
        return emit_raw(j, NULL, data, len);
    detect_charset(data, head, cs, sizeof cs);
    if (cs[0] && strcasecmp(cs, "UTF-8"))
        return convert(j, NULL, cs, data, len, &bad);
    if (!strcasecmp(cs, "UTF-8"))
        return emit_raw(j, NULL, data, len);
    /* uchardet unsure: every CJK guess that decodes the head almost cleanly */
    for (size_t g = 0; g < 2; g++) {
        size_t b = trial(guesses[g], data, head);
        fit[g] = b != SIZE_MAX && b * 100 <= head;
        fits += fit[g];
    }
    for (size_t g = 0; g < 2; g++) {
        if (!fit[g])
            continue;
        if (convert(j, fits > 1 ? guesses[g] : NULL, guesses[g], data, len, &bad))
            return -1;
    }
    if (fits)
        return 0;
    if (emit_raw(j, NULL, data, len))
        return -1;
    return ex_uninspectable(j, NULL, "encoding",
                            "text in an encoding that could not be recognised; "
                            "scanned as raw bytes",
                            false);
}
