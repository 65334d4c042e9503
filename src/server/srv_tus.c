/*
 * srv_tus.c — tus header values (srv_tus.h). Hostile input: every length is
 * bounded by the header's own and by the caller's buffer; base64 is
 * libsodium's strict decoder (the original alphabet, padding as written).
 */
#include "srv_tus.h"

#include <sodium.h>
#include <string.h>

int srv_tus_meta(const char *meta, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);

    for (const char *p = meta; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t seg = comma ? (size_t)(comma - p) : strlen(p);
        const char *sp;
        size_t name_len, bin_len = 0;

        while (seg && *p == ' ')
            p++, seg--;
        sp = memchr(p, ' ', seg);
        name_len = sp ? (size_t)(sp - p) : seg;
        if (name_len == kl && !strncmp(p, key, kl)) {
            const char *b64 = sp ? sp + 1 : p + seg;
            size_t bl = (size_t)(p + seg - b64);

            while (bl && b64[bl - 1] == ' ')
                bl--;
            if (!bl)
                return 1; /* a flag: no value */
            if (cap < 1 ||
                sodium_base642bin((unsigned char *)out, cap - 1, b64, bl, NULL, &bin_len, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) ||
                memchr(out, 0, bin_len))
                return -1;
            out[bin_len] = 0;
            return 0;
        }
        p = comma ? comma + 1 : p + seg;
    }
    return 1;
}
