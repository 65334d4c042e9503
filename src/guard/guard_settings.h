/*
 * guard_settings.h — detector settings and limits, read from the policy file's
 * `settings:` section (see docs/POLICY.md). Owned by the policy; immutable once
 * the ruleset is compiled.
 */
#ifndef GUARD_SETTINGS_H
#define GUARD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of the file layer's limits (`settings: limits:`, docs/POLICY.md and
 * docs/FILES.md). The extraction worker's ex_limits_defaults() uses the same
 * macros, so the two can never disagree. */
#define GUARD_LIMIT_FILE_BYTES     ((uint64_t)2 << 30)   /* largest input file */
#define GUARD_LIMIT_UNPACKED_BYTES ((uint64_t)1 << 30)   /* total unpacked per file */
#define GUARD_LIMIT_MEMBER_BYTES   ((uint64_t)256 << 20) /* one member in memory */
#define GUARD_LIMIT_RATIO          200u                  /* compression ratio of a member */
#define GUARD_LIMIT_ENTRIES        10000u                /* members per archive */
#define GUARD_LIMIT_DEPTH          8u                    /* nesting depth */
#define GUARD_LIMIT_PIXELS         ((uint64_t)100000000) /* width*height of an image */
#define GUARD_LIMIT_OCR_MS         30000u                /* OCR time per image */
#define GUARD_LIMIT_TOTAL_MS       120000u               /* total time per file */
#define GUARD_LIMIT_MEMORY_BYTES   ((uint64_t)2 << 30)   /* worker address space; 0: none */
#define GUARD_LIMIT_OCR            true                  /* run OCR at all */

/* The file layer's limits as the policy sets them (same fields as ex_limits). */
typedef struct guard_limits {
    uint64_t file_bytes, unpacked_bytes, member_bytes;
    uint32_t ratio, entries, depth;
    uint64_t pixels;
    uint32_t ocr_ms, total_ms;
    uint64_t memory_bytes;
    bool ocr;
} guard_limits;

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
} guard_settings;

void guard_settings_defaults(guard_settings *s);
void guard_limits_defaults(guard_limits *l);
void guard_settings_free(guard_settings *s);
/* True when `host` is `domain` or a subdomain of one of the list's domains. */
int guard_strlist_has_domain(const guard_strlist *l, const char *host, size_t len);

#endif
