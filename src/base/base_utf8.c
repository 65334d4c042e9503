/*
 * base_utf8.c — strict UTF-8 (see base_utf8.h). Hand-written because it is
 * twenty lines and sits in every parser's inner loop; utf8proc's iterate()
 * does the same per call through a larger, slower interface.
 */
#include "base_utf8.h"

int base_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int k;

    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    /* The second byte's range is what rules out overlongs (E0, F0),
     * surrogates (ED) and values past U+10FFFF (F4). */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (int i = 1; i < k; i++) {
        unsigned b;

        if ((size_t)i >= n)
            return -1;
        b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return k;
}

size_t base_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    int k = base_utf8_seq(s, n);

    switch (k) {
    case 1:
        *cp = s[0];
        return 1;
    case 2:
        *cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        return 2;
    case 3:
        *cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return 3;
    case 4:
        *cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
              (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
        return 4;
    default:
        return 0;
    }
}

size_t base_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool base_utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s;

    for (size_t i = 0; i < n;) {
        int k;

        if (p[i] < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        k = base_utf8_seq(p + i, n - i);
        if (k <= 0)
            return false;
        i += (size_t)k;
    }
    return true;
}
