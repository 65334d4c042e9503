/*
 * guard_detect.h — the contract between the scan loop and the detectors.
 *
 * A detector contributes patterns to the ruleset's single Hyperscan database
 * (guard_patset_add_*), and is called back, after the database has run over a
 * stretch of the view, once per hit of one of its patterns, in order of end
 * offset. Patterns only find *where to look*: the detector validates in C,
 * inside a bounded window of the view and of the original bytes around the
 * hit, and emits findings. At the end of an input its finish() hook may
 * revisit what it found (corroboration across the whole input).
 *
 * Detectors keep per-scan state in the guard_ctx slot reserved for them; they
 * never allocate per hit except for findings they keep.
 */
#ifndef GUARD_DETECT_H
#define GUARD_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cordon/guard.h"
#include "guard_norm.h"
#include "guard_settings.h"

/* ---- pattern set ---------------------------------------------------------- */

typedef struct guard_pattern {
    char *expr;     /* Hyperscan expression (owned) */
    unsigned flags; /* HS_FLAG_* */
    uint16_t det;   /* detector index (GUARD_DET_*) */
    bool word_end;  /* a hit counts only with no ASCII word byte after it */
    uint32_t arg;   /* detector's own meaning */
} guard_pattern;

typedef struct guard_patset {
    guard_pattern *p;
    size_t n, cap;
} guard_patset;

/* Adds a pattern matching exactly `len` bytes of an already-normalised view
 * string. Returns 0 or -1 (out of memory). */
int guard_patset_add_literal(guard_patset *ps, const char *bytes, size_t len, uint16_t det,
                             uint32_t arg);
/* Adds a regular expression over the view (lowercase, folded). HS_FLAG_UTF8
 * is implied when the expression has non-ASCII bytes. */
int guard_patset_add_regex(guard_patset *ps, const char *expr, unsigned flags, uint16_t det,
                           uint32_t arg);
/* The same as guard_patset_add_literal() followed by a word boundary (as
 * `\b` after a word character): the scan drops a hit followed by an ASCII
 * letter, digit or '_' before buffering it. Hyperscan's own `\b` in a large
 * alternation cost a third of the database's time. */
int guard_patset_add_word(guard_patset *ps, const char *bytes, size_t len, uint16_t det,
                          uint32_t arg);
void guard_patset_free(guard_patset *ps);

/* ---- per-scan context ------------------------------------------------------ */

typedef struct guard_ruleset guard_ruleset;
typedef struct guard_findings guard_findings;

typedef struct guard_ctx {
    const guard_ruleset *rs;
    const guard_settings *cfg;
    guard_scope scope;
    guard_norm *norm; /* the view window and offset map */
    /* original bytes available: [orig_base, orig_base + orig_len) */
    const unsigned char *orig;
    uint64_t orig_base;
    size_t orig_len;
    /* view bytes up to here are final (stream mode: the rest is not seen yet) */
    uint64_t view_end;
    bool final;
    guard_findings *out;
    void *det_state[8]; /* one slot per detector, owned by it */
} guard_ctx;

/* View access in global offsets; bounds-checked: out-of-window reads give 0. */
static inline int guard_ctx_view_byte(const guard_ctx *c, uint64_t off)
{
    const guard_norm *n = c->norm;
    if (off < n->base || off >= n->base + n->len)
        return -1;
    return n->view[off - n->base];
}

/* A new finding; `view_start`/`view_end` are mapped to the original through
 * the offset map, the excerpt is copied from the original, and the evasion
 * flag is set from the map. `rule` must outlive the result (a string literal
 * or ruleset-owned). `explanation` is copied. Returns the finding's index
 * (stable for the whole scan; see guard_ctx_finding) or -1 when it was not
 * kept (out of memory, or the per-item cap reached: it is then counted). */
int guard_emit(guard_ctx *c, const char *rule, guard_category cat, guard_severity sev,
               int confidence, uint64_t view_start, uint64_t view_end, const char *explanation);
/* A candidate could not be judged (out of memory): counted as a dropped
 * finding and the result becomes partial, never silently clean. */
void guard_ctx_lost(guard_ctx *c);

/* The finding emitted with index i, to revise it (confidence, explanation
 * is fixed) once later evidence arrives; NULL if out of range. */
guard_finding *guard_ctx_finding(guard_ctx *c, int i);

/* The same with a span already in original offsets. */
int guard_emit_orig(guard_ctx *c, const char *rule, guard_category cat, guard_severity sev,
                    int confidence, uint64_t orig_start, uint64_t orig_end,
                    const char *explanation);

/* ---- detectors --------------------------------------------------------------- */

enum {
    GUARD_DET_LEXICON,
    GUARD_DET_MARKING,
    GUARD_DET_PII,
    GUARD_DET_SECRET,
    GUARD_DET_LINK,
    GUARD_DET_COUNT
};

/* The shortest digit run reported to on_digits(). */
#define GUARD_DIGITS_MIN 4

typedef struct guard_detector {
    const char *name;
    /* Adds the detector's built-in patterns. */
    int (*patterns)(guard_patset *ps, const guard_settings *cfg);
    /* Per-scan state: begin() may set c->det_state[idx]; end() frees it. */
    int (*begin)(guard_ctx *c);
    /* One hit of pattern `arg` ending at view offset `to` (exclusive). */
    void (*on_hit)(guard_ctx *c, uint32_t arg, uint64_t to);
    /* A maximal run of at least GUARD_DIGITS_MIN ASCII digits ends at view
     * offset `to` (exclusive), dispatched in end order among the hits. The
     * scan loop finds digit runs itself, in one vectorised pass over the
     * view: a character-class repeat such as [0-9]{6} in the Hyperscan
     * database costs every byte of every scan several times what all the
     * literals cost together, so patterns over digits are decided in C
     * instead. May be NULL. */
    void (*on_digits)(guard_ctx *c, uint64_t to);
    /* Every hit ending at or before view offset `upto` has been dispatched
     * (stream mode, after each chunk): settle anything held back that no
     * later hit can change, while its bytes are still in the window. May be
     * NULL. */
    void (*flush)(guard_ctx *c, uint64_t upto);
    /* After the last hit of the input (corroboration); may be NULL. */
    void (*finish)(guard_ctx *c);
    void (*end)(guard_ctx *c);
} guard_detector;

extern const guard_detector guard_det_marking;
extern const guard_detector guard_det_pii;
extern const guard_detector guard_det_secret;
extern const guard_detector guard_det_link;
/* The lexicon detector is built into the scan loop (guard_lexicon.c): its
 * patterns come from the ruleset, not from a fixed list. */

/* Helpers shared by detectors: classify view bytes around a position. */
static inline bool guard_is_digit(int b)
{
    return b >= '0' && b <= '9';
}
static inline bool guard_is_alnum(int b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* Appends s[0..n) to the explanation buf[0..*len) and keeps it NUL-terminated,
 * cut where snprintf() would cut (cap - 1 bytes). Explanations are built for
 * every finding, and snprintf() parses its format each time: a marking
 * finding cost 4,360 instructions in level_hit with it, 2,810 with this. */
static inline void guard_expl_add(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = 0;
}
/* The same for a NUL-terminated s (what "%s" appends). */
static inline void guard_expl_str(char *buf, size_t cap, size_t *len, const char *s)
{
    guard_expl_add(buf, cap, len, s, strlen(s));
}

#endif
