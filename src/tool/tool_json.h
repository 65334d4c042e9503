/*
 * tool_json.h — JSON for the CLI: a result and its findings, written by one
 * streaming writer for `cordon scan --format json` and `cordon check`
 * (tool_jw_result), and jansson helpers for `--format sarif`.
 *
 * The server has its own finding shape (chat_json.h): excerpts of personal
 * data masked, because people read it; the CLI's consumer is a program that
 * may need the exact bytes, and gets line and column as well.
 *
 * Input is untrusted and need not be UTF-8, but JSON text must be: strings
 * made from scanned bytes (paths, excerpts) go through tool_json_string(),
 * which replaces each invalid byte with U+FFFD. Offsets (start, end) always
 * refer to the original bytes, so a consumer that needs them exactly reads
 * the input again.
 */
#ifndef TOOL_JSON_H
#define TOOL_JSON_H

#include <jansson.h>
#include <string.h>

#include "cordon/guard.h"
#include "base/base_buf.h"
#include "tool_pos.h"

/* A JSON string from s[0..n), invalid UTF-8 replaced. NULL when out of memory. */
json_t *tool_json_string(const char *s, size_t n);
/* The same for a NUL-terminated string; JSON null when s is NULL. */
json_t *tool_json_cstr(const char *s);

/* Sets key to value, taking the reference; -1 when value is NULL or the set
 * failed. Lets a chain of sets be checked once. */
int tool_json_set(json_t *obj, const char *key, json_t *value);

/* ---- streaming writer ------------------------------------------------------
 *
 * `scan --format json` writes a finding per ~1.3 KB of office text; building
 * a jansson tree for each and dumping it cost ~49,000 instructions per
 * finding, more than scanning the text did. The writer below emits the same
 * bytes as jansson's JSON_COMPACT dump would (keys in insertion
 * order, "\uXXXX" in upper case for control characters, '/' and non-ASCII
 * as they are, invalid UTF-8 as U+FFFD per byte) straight into a base_buf,
 * through a small staging buffer so the base_buf is appended to in blocks. */
typedef struct tool_jw {
    base_buf *out;
    size_t n; /* bytes staged in tmp */
    bool err; /* an append to out failed: everything after is dropped */
    char tmp[4096];
} tool_jw;

void tool_jw_init(tool_jw *w, base_buf *out);
/* Raw bytes, already JSON (punctuation, keys). */
void tool_jw_raw_big(tool_jw *w, const char *s, size_t n);
/* Inline because a finding is ~30 appends of a few constant bytes (its
 * keys): memcpy of a known size then compiles to a few moves. */
static inline void tool_jw_raw(tool_jw *w, const char *s, size_t n)
{
    if (n <= sizeof w->tmp - w->n) {
        memcpy(w->tmp + w->n, s, n);
        w->n += n;
    } else {
        tool_jw_raw_big(w, s, n);
    }
}
#define TOOL_JW_LIT(w, lit) tool_jw_raw((w), "" lit, sizeof(lit) - 1)
/* A JSON string from s[0..n), as tool_json_string() makes it. */
void tool_jw_str(tool_jw *w, const char *s, size_t n);
/* The same for a NUL-terminated string; null when s is NULL. */
void tool_jw_cstr(tool_jw *w, const char *s);
void tool_jw_int(tool_jw *w, int64_t v);
/* Flushes into out. Returns 0, or -1 when any append failed. */
int tool_jw_finish(tool_jw *w);

/* The members of a result, without braces: verdict, status, findings
 * (each: rule, category, severity, confidence, start, end, location,
 * excerpt (not masked), action, policy_rule, evasion, explanation, line and
 * column, null when unknown; pos may be NULL), then decided_by, bytes,
 * invalid_utf8 and findings_dropped. */
void tool_jw_result(tool_jw *w, const guard_result *r, const tool_pos *pos);

#endif
