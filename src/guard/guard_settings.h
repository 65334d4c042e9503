/*
 * guard_settings.h — detector settings and limits, read from the policy file's
 * `settings:` section (see docs/POLICY.md). Owned by the policy; immutable once
 * the ruleset is compiled.
 */
#ifndef GUARD_SETTINGS_H
#define GUARD_SETTINGS_H

#include "cordon/guard.h" /* guard_limits */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct guard_strlist {
    char **v; /* lowercase, ASCII (IDNs converted to punycode) */
    size_t n;
} guard_strlist;

typedef struct guard_settings {
    size_t findings_cap;        /* findings kept per item (default 1000) */
    size_t excerpt_context;     /* bytes of context either side of an excerpt (default 0) */
    uint64_t max_message_bytes; /* guard_scan() input cap (default 64 MiB) */
    /* link detector */
    guard_strlist internal_domains; /* the organisation's own domains */
    guard_strlist allow_domains;    /* external domains that are fine */
    guard_strlist block_domains;    /* always a high finding */
    guard_strlist shorteners;       /* URL shorteners (a default list ships) */
    /* pii detector */
    unsigned keyword_window; /* characters a corroborating keyword may be away (300) */
    /* file layer (cordon/guard_file.h) */
    guard_limits limits;
    /* early warning over time (the policy's top-level `warnings:`) */
    guard_warnings warnings;
} guard_settings;

void guard_settings_defaults(guard_settings *s);
void guard_settings_free(guard_settings *s);
/* True when `host` is `domain` or a subdomain of one of the list's domains. */
int guard_strlist_has_domain(const guard_strlist *l, const char *host, size_t len);

#endif
