/*
 * base_text.c — the shape of titles and names (see base_text.h).
 */
#include "base_text.h"

#include "base_utf8.h"

#include <stdbool.h>
#include <stdint.h>

static bool forbidden(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

base_text_shape base_text_check(const char *s, size_t len, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    base_text_shape bad = BASE_TEXT_OK;
    size_t chars = 0;

    for (size_t i = 0; i < len; chars++) {
        uint32_t cp;
        size_t n = base_utf8_decode(p + i, len - i, &cp);

        if (!n)
            return BASE_TEXT_BAD_UTF8;
        if (forbidden(cp))
            bad = BASE_TEXT_FORBIDDEN;
        i += n;
    }
    if (bad)
        return bad;
    return chars > max_chars ? BASE_TEXT_TOO_LONG : BASE_TEXT_OK;
}
