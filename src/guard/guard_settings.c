/*
 * guard_settings.c — detector settings: defaults, release, domain lists
 * (see guard_settings.h).
 *
 * The policy parser (guard_policy.c) fills a guard_settings from the policy
 * file's `settings:` section on top of guard_settings_defaults(); domain lists
 * arrive here already lowercased and converted to punycode, so matching is a
 * plain ASCII comparison on label boundaries.
 */
#include "guard_settings.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_FINDINGS_CAP      1000
#define DEFAULT_EXCERPT_CONTEXT   0
#define DEFAULT_MAX_MESSAGE_BYTES ((uint64_t)64 * 1024 * 1024)
#define DEFAULT_KEYWORD_WINDOW    300

/* Public URL shorteners: a link through one hides where it really goes. A
 * policy's `links.shorteners` replaces this list as a whole. */
static const char *const default_shorteners[] = {
    "t.cn",    "dwz.cn", "url.cn", "suo.im",  "bit.ly",  "tinyurl.com",
    "goo.gl",  "t.co",   "is.gd",  "ow.ly",   "buff.ly", "rebrand.ly",
    "cutt.ly", "s.id",   "v.gd",   "tiny.cc", "rb.gy",
};

static void strlist_free(guard_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Copies the built-in shortener list. The contract returns void, so on out of
 * memory the list is left empty; the policy parser checks for that, because
 * an empty list would silently turn shortener detection off. */
static void default_shorteners_copy(guard_strlist *l)
{
    size_t n = sizeof default_shorteners / sizeof default_shorteners[0];
    l->v = calloc(n, sizeof *l->v);
    l->n = 0;
    if (!l->v)
        return;
    for (size_t i = 0; i < n; i++) {
        l->v[i] = strdup(default_shorteners[i]);
        if (!l->v[i]) {
            strlist_free(l);
            return;
        }
        l->n++;
    }
}

void guard_limits_defaults(guard_limits *l)
{
    l->file_bytes = GUARD_LIMIT_FILE_BYTES;
    l->unpacked_bytes = GUARD_LIMIT_UNPACKED_BYTES;
    l->member_bytes = GUARD_LIMIT_MEMBER_BYTES;
    l->ratio = GUARD_LIMIT_RATIO;
    l->entries = GUARD_LIMIT_ENTRIES;
    l->depth = GUARD_LIMIT_DEPTH;
    l->pixels = GUARD_LIMIT_PIXELS;
    l->ocr_ms = GUARD_LIMIT_OCR_MS;
    l->total_ms = GUARD_LIMIT_TOTAL_MS;
    l->memory_bytes = GUARD_LIMIT_MEMORY_BYTES;
    l->ocr = GUARD_LIMIT_OCR;
}

void guard_settings_defaults(guard_settings *s)
{
    memset(s, 0, sizeof *s);
    s->findings_cap = DEFAULT_FINDINGS_CAP;
    s->excerpt_context = DEFAULT_EXCERPT_CONTEXT;
    s->max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES;
    s->keyword_window = DEFAULT_KEYWORD_WINDOW;
    guard_limits_defaults(&s->limits);
    s->warnings = (guard_warnings){.spread_conversations = GUARD_WARN_SPREAD_CONVERSATIONS,
                                   .spread_minutes = GUARD_WARN_SPREAD_MINUTES,
                                   .attempts_per_day = GUARD_WARN_ATTEMPTS_PER_DAY,
                                   .external_after_minutes = GUARD_WARN_EXTERNAL_AFTER_MINUTES,
                                   .bulk_personal_findings = GUARD_WARN_BULK_PERSONAL_FINDINGS,
                                   .bulk_personal_minutes = GUARD_WARN_BULK_PERSONAL_MINUTES};
    default_shorteners_copy(&s->shorteners);
}

void guard_settings_free(guard_settings *s)
{
    if (!s)
        return;
    strlist_free(&s->internal_domains);
    strlist_free(&s->allow_domains);
    strlist_free(&s->block_domains);
    strlist_free(&s->shorteners);
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive (ASCII) comparison of n bytes; list entries are already
 * lowercase, hosts from messages may not be. */
static int same_ci(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

int guard_strlist_has_domain(const guard_strlist *l, const char *host, size_t len)
{
    if (!l || !host)
        return 0;
    /* "example.com." is the same host as "example.com" */
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *d = l->v[i];
        size_t dl = strlen(d);
        if (dl == 0 || dl > len)
            continue;
        if (dl == len) {
            if (same_ci(host, d, len))
                return 1;
            continue;
        }
        /* a subdomain only on a label boundary: "badexample.com" is not
         * under "example.com" */
        if (host[len - dl - 1] == '.' && same_ci(host + len - dl, d, dl))
            return 1;
    }
    return 0;
}
