/*
 * ex_embed.c — finding files pasted into a message as text: base64 data:
 * URLs and bare base64 runs, decoded (ex_embed_each, ex_core.h). Pure and
 * bounded: no allocation beyond one decode buffer per run, no I/O; the
 * file guard's guard_embed.c decides what each run is and inspects it.
 *
 * Base64 decoding is written here because it must say where a run ends and
 * whether it decodes cleanly while scanning free text, in either alphabet,
 * across line breaks; libsodium's sodium_base642bin decodes only a buffer
 * already cut out and wants the variant chosen up front.
 */
#include "ex_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static bool b64_char(unsigned char c)
{
    return b64_value(c) >= 0 || c == '=';
}

/* Decodes the base64 in s[0..n), skipping line breaks, into out (room for
 * 3 * n / 4 bytes). Returns the decoded length, or -1 when it is not clean
 * base64 (a character out of place, padding in the middle, a lone trailing
 * character). */
static long b64_decode(const unsigned char *s, size_t n, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t o = 0, chars = 0;

    for (size_t i = 0; i < n; i++) {
        int v;

        if (s[i] == '\r' || s[i] == '\n')
            continue;
        if (s[i] == '=') {
            pad++;
            continue;
        }
        v = b64_value(s[i]);
        if (v < 0 || pad)
            return -1;
        chars++;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (chars % 4 == 1 || pad > 2 || (pad && (chars + (size_t)pad) % 4))
        return -1;
    return (long)o;
}

/* All hexadecimal digits: a hash or an id, not base64 of anything. */
static bool all_hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F') || p[i] == '\n' || p[i] == '\r'))
            return false;
    return true;
}

/* The end of the base64 run that starts at s[i]: letters of the alphabet,
 * padding, and line breaks followed by more of it. */
static size_t run_end(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        if (b64_char(s[i]))
            i++;
        else if ((s[i] == '\n' || s[i] == '\r') && i + 1 < n &&
                 (b64_char(s[i + 1]) || (s[i] == '\r' && s[i + 1] == '\n')))
            i++;
        else
            break;
    }
    return i;
}

/* "data:" at s[i]: the type, and where the payload starts (0: not a base64
 * data URL). */
static size_t data_url(const unsigned char *s, size_t n, size_t i, char *type, size_t cap)
{
    size_t j = i + 5, t0 = j, k;

    while (j < n && j - t0 < 128 && s[j] != ',' && s[j] > ' ' && s[j] < 0x7f)
        j++;
    if (j >= n || s[j] != ',' || j - t0 < 7 || memcmp(s + j - 7, ";base64", 7))
        return 0;
    k = t0;
    while (k < j && s[k] != ';')
        k++;
    snprintf(type, cap, "%.*s", (int)(k - t0), (const char *)s + t0);
    return j + 1;
}

int ex_embed_each(const char *text, size_t len, size_t max_bytes, ex_embed_fn fn, void *arg)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t bytes = 0;
    int rc = 0;

    for (size_t i = 0; i < len && !rc;) {
        ex_embed_run r = {0};
        char type[130];
        size_t a, e;

        if (len - i > 5 && !strncasecmp(text + i, "data:", 5) &&
            (a = data_url(u, len, i, type, sizeof type))) {
            r.type = type;
        } else if (b64_value(u[i]) >= 0) {
            /* Runs are maximal (the loop jumps over each whole), so what
             * stands before or after one — a CJK character, a dot, "x." —
             * is no way to hide it. */
            a = i;
        } else {
            i++;
            continue;
        }
        e = run_end(u, len, a);
        r.at = i;
        i = e > i ? e : i + 1;
        if (!r.type && (e - a < EX_EMBED_MIN_CHARS || all_hex(u + a, e - a)))
            continue; /* short, or a hash: an id, not a file */
        if ((e - a) / 4 * 3 > max_bytes - bytes) {
            r.over_limit = true;
        } else {
            unsigned char *buf = malloc((e - a) / 4 * 3 + 3);
            long n;

            if (!buf)
                return -1;
            n = b64_decode(u + a, e - a, buf);
            if (n >= 0) {
                r.data = buf;
                r.len = (size_t)n;
                bytes += (size_t)n;
            } else if (!r.type) {
                free(buf);
                continue; /* letters that happen to be base64's */
            }
            rc = fn(arg, &r);
            free(buf);
            continue;
        }
        rc = fn(arg, &r);
    }
    return rc;
}
