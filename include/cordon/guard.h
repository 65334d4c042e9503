/*
 * cordon/guard.h — the confidentiality guard: the whole public contract.
 *
 * The guard inspects content and rules on it. It knows nothing of chat: the
 * caller hands it bytes (a message, a file's text, a stream) and a scope, and
 * gets back findings and a verdict. `cordon scan`, `cordon check` and the
 * server are its clients and use nothing but this header.
 *
 * Objects and their lifetimes
 *   guard_ruleset  compiled, immutable rules: policy, lexicons, one Hyperscan
 *                  database. Reference-counted; shared by any number of
 *                  threads.
 *   guard_engine   holds the current ruleset and swaps it atomically on
 *                  reload; scans in flight keep the ruleset they started with.
 *   guard_scanner  per-thread scratch (Hyperscan scratch, view buffers). One
 *                  scanner is used by one thread at a time.
 *   guard_result   what one scan found; owned by the caller, freed with
 *                  guard_result_free().
 *
 * Errors: every function that can fail returns a guard_err (GUARD_OK == 0) and
 * fills a guard_error with a human-readable message (file:line: what is wrong,
 * for policy and lexicon files). OUT parameters are untouched on error.
 */
#ifndef CORDON_GUARD_H
#define CORDON_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum guard_err {
    GUARD_OK = 0,
    GUARD_ENOMEM,  /* out of memory */
    GUARD_EINVAL,  /* bad argument */
    GUARD_EIO,     /* a file could not be read or written */
    GUARD_EPARSE,  /* a policy or lexicon file is malformed */
    GUARD_ECOMPILE /* the rules could not be compiled */
} guard_err;

typedef struct guard_error {
    guard_err code;
    char message[512];
} guard_error;

typedef enum guard_category {
    GUARD_CAT_MARKING,
    GUARD_CAT_LEXICON,
    GUARD_CAT_PII,
    GUARD_CAT_SECRET,
    GUARD_CAT_LINK,
    GUARD_CAT_METADATA,
    GUARD_CAT_IMAGE,
    GUARD_CAT_UNINSPECTABLE,
    GUARD_CAT_COUNT
} guard_category;

typedef enum guard_severity {
    GUARD_SEV_INFO,
    GUARD_SEV_LOW,
    GUARD_SEV_MEDIUM,
    GUARD_SEV_HIGH,
    GUARD_SEV_CRITICAL,
    GUARD_SEV_COUNT
} guard_severity;

/* Ordered from weakest to strongest: the verdict is the maximum. */
typedef enum guard_action {
    GUARD_ALLOW,
    GUARD_WARN,    /* deliver, tell the sender */
    GUARD_MASK,    /* deliver with personal data masked */
    GUARD_CONFIRM, /* hold; deliver only with a written justification */
    GUARD_BLOCK,   /* never deliver */
    GUARD_ACTION_COUNT
} guard_action;

/* Who the content is for: internal (every recipient in the organisation),
 * external (at least one outside it), inbound (sent in by an outside sender;
 * the policy's inbound rules judge it for the recipients: docs/POLICY.md). */
typedef enum guard_scope {
    GUARD_SCOPE_INTERNAL,
    GUARD_SCOPE_EXTERNAL,
    GUARD_SCOPE_INBOUND
} guard_scope;

typedef enum guard_status {
    GUARD_STATUS_SCANNED,    /* everything was inspected */
    GUARD_STATUS_PARTIAL,    /* some parts could not be inspected */
    GUARD_STATUS_UNSCANNABLE /* nothing could be inspected */
} guard_status;

typedef struct guard_finding {
    const char *rule; /* stable rule id, e.g. "marking.classified" */
    guard_category category;
    guard_severity severity;
    int confidence;          /* 0..100 */
    uint64_t start, end;     /* byte span in the ORIGINAL input */
    bool evasion;            /* found only through an evasion fold */
    const char *explanation; /* for people */
    const char *excerpt;     /* the original text of the span (not masked) */
    const char *location;    /* where inside a container; NULL for plain text */
    guard_action action;     /* what the policy made of this finding */
    const char *policy_rule; /* the policy rule that set it; NULL if none */
} guard_finding;

typedef struct guard_result {
    guard_action verdict;
    const char *decided_by; /* policy rule behind the verdict; NULL when allow */
    guard_status status;
    size_t n_findings;
    guard_finding *findings; /* sorted by start offset */
    size_t findings_dropped; /* findings beyond the per-item cap (counted, not kept) */
    uint64_t bytes;          /* bytes inspected */
    uint64_t invalid_utf8;   /* invalid UTF-8 sequences replaced in the view */
    char *masked;            /* the input with personal data masked, when the
                                verdict is mask (block scans only), else NULL */
    size_t masked_len;
} guard_result;

/* ---- rules -------------------------------------------------------------- */

typedef struct guard_ruleset guard_ruleset;

typedef struct guard_options {
    const char *policy_path;          /* NULL: the built-in default policy */
    const char *const *lexicon_paths; /* extra lexicon files, may be NULL */
    size_t n_lexicons;
    const char *cache_dir; /* where compiled databases are cached; NULL: none */
} guard_options;

/* Parses the policy and lexicons and compiles them into one database (or
 * loads it from cache_dir when an identical one was compiled before). */
guard_err guard_ruleset_load(const guard_options *opt, guard_ruleset **out, guard_error *err);
guard_ruleset *guard_ruleset_ref(guard_ruleset *rs);
void guard_ruleset_unref(guard_ruleset *rs);

/* Facts about a compiled ruleset, for logs and benchmarks. */
typedef struct guard_ruleset_info {
    size_t n_patterns; /* patterns in the database */
    size_t n_terms;    /* lexicon terms (allow-list entries included) */
    size_t db_bytes;   /* size of the compiled database */
    bool from_cache;   /* loaded from cache_dir instead of compiled */
    double compile_seconds;
    uint64_t max_message_bytes; /* guard_scan()'s input limit; stream more */
} guard_ruleset_info;
void guard_ruleset_get_info(const guard_ruleset *rs, guard_ruleset_info *info);

/* The file layer's limits (the policy's `settings: limits:`, docs/POLICY.md
 * and docs/FILES.md): what the file guard (guard_file.h) and its worker
 * process may spend on one file. Their defaults are these macros, so the
 * policy parser and the worker can never disagree. */
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

typedef struct guard_limits {
    uint64_t file_bytes, unpacked_bytes, member_bytes;
    uint32_t ratio, entries, depth;
    uint64_t pixels;
    uint32_t ocr_ms, total_ms;
    uint64_t memory_bytes;
    bool ocr;
} guard_limits;

/* Fills l with the defaults above. */
void guard_limits_defaults(guard_limits *l);
/* The limits of a ruleset's policy (valid while the caller holds rs). */
const guard_limits *guard_ruleset_limits(const guard_ruleset *rs);

/* Early-warning rules over time (the policy's top-level `warnings:`,
 * docs/POLICY.md "Early warning"). The guard only carries the thresholds;
 * the chat domain applies them to what happens over time. 0 turns a rule
 * off. */
#define GUARD_WARN_SPREAD_CONVERSATIONS 10 /* forwarded into more than N conversations */
#define GUARD_WARN_SPREAD_MINUTES       30 /* ... within M minutes */
#define GUARD_WARN_ATTEMPTS_PER_DAY     20 /* blocked/held/probing per user per 24 h */
#define GUARD_WARN_EXTERNAL_AFTER_MINUTES                                                          \
    60 /* external member added within M minutes                                                   \
          of sensitive content in the group */

#define GUARD_WARN_BULK_PERSONAL_FINDINGS 20 /* personal data sent by one user: more than N */
#define GUARD_WARN_BULK_PERSONAL_MINUTES  60 /* ... findings within M minutes */

typedef struct guard_warnings {
    uint32_t spread_conversations, spread_minutes;
    uint32_t attempts_per_day;
    uint32_t external_after_minutes;
    /* appended: personal data leaving in many small messages */
    uint32_t bulk_personal_findings, bulk_personal_minutes;
} guard_warnings;

/* The warning thresholds of a ruleset's policy (valid while the caller
 * holds rs). */
const guard_warnings *guard_ruleset_warnings(const guard_ruleset *rs);

/* The built-in default policy (data/policy/default.yaml, compiled in), the one
 * that applies when guard_options.policy_path is NULL: static NUL-terminated
 * YAML, never freed. When len is not NULL it receives the length in bytes. */
const char *guard_default_policy_text(size_t *len);

/* ---- engine: the current ruleset, swapped atomically -------------------- */

typedef struct guard_engine guard_engine;

guard_err guard_engine_new(const guard_options *opt, guard_engine **out, guard_error *err);
/* Compiles a new ruleset and swaps it in. On error the old one stays. */
guard_err guard_engine_reload(guard_engine *e, const guard_options *opt, guard_error *err);
/* A reference to the current ruleset; release it with guard_ruleset_unref(). */
guard_ruleset *guard_engine_acquire(guard_engine *e);
void guard_engine_free(guard_engine *e);

/* ---- scanning ----------------------------------------------------------- */

typedef struct guard_scanner guard_scanner;

guard_err guard_scanner_new(guard_scanner **out, guard_error *err);
void guard_scanner_free(guard_scanner *s);

/* Inspects one block of text (a message, a small file) and rules on it.
 * `text` need not be valid UTF-8 nor NUL-terminated. */
guard_err guard_scan(guard_scanner *s, guard_ruleset *rs, const char *text, size_t len,
                     guard_scope scope, guard_result **out, guard_error *err);

/* Streaming inspection of large inputs in constant memory: feed chunks of any
 * size; matches that cross chunk boundaries are found. Excerpts are kept only
 * for findings; no masked copy is produced. One stream per scanner at a time. */
typedef struct guard_stream guard_stream;
guard_err guard_stream_open(guard_scanner *s, guard_ruleset *rs, guard_scope scope,
                            guard_stream **out, guard_error *err);
guard_err guard_stream_feed(guard_stream *st, const char *chunk, size_t len, guard_error *err);
/* Ends the stream and rules on everything fed; frees the stream either way. */
guard_err guard_stream_close(guard_stream *st, guard_result **out, guard_error *err);

/* Adds a finding made outside the text scan (a container that could not be
 * opened, metadata) and re-applies the policy. `rule`, `explanation`, `excerpt`
 * and `location` are copied. */
guard_err guard_result_add(guard_result *r, guard_ruleset *rs, const guard_finding *f,
                           guard_scope scope, guard_error *err);
/* The same for n findings at once, each given `location` when it is not NULL
 * (else its own): the policy is applied once, so merging the findings of a
 * container's parts stays linear. */
guard_err guard_result_add_many(guard_result *r, guard_ruleset *rs, const guard_finding *fs,
                                size_t n, const char *location, guard_scope scope,
                                guard_error *err);
void guard_result_free(guard_result *r);

/* ---- names -------------------------------------------------------------- */

/* Static strings; those of categories, severities, actions and statuses are
 * lowercase ASCII words ("?" out of range), written into JSON unescaped. */
const char *guard_category_name(guard_category c);
const char *guard_severity_name(guard_severity s);
const char *guard_action_name(guard_action a);
const char *guard_status_name(guard_status s);
const char *guard_err_name(guard_err e);

/* Writes a masked copy of a personal-data excerpt (110***********123X) into
 * out (NUL-terminated, truncated to cap). Returns the length written. */
size_t guard_mask_excerpt(const char *s, size_t len, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
