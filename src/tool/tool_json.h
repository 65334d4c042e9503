/*
 * tool_json.h — the JSON shapes shared by `cordon scan --format json`,
 * `--format sarif` and `cordon check`, built with jansson.
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

#include "cordon/guard.h"
#include "tool_buf.h"
#include "tool_pos.h"

/* A JSON string from s[0..n), invalid UTF-8 replaced. NULL when out of memory. */
json_t *tool_json_string(const char *s, size_t n);
/* The same for a NUL-terminated string; JSON null when s is NULL. */
json_t *tool_json_cstr(const char *s);

/* One finding: rule, category, severity, confidence, start, end, location,
 * excerpt (not masked), then action, policy_rule, evasion, explanation,
 * line and column (null when unknown). pos may be NULL. */
json_t *tool_json_finding(const guard_finding *f, const tool_pos *pos);

/* Sets verdict, status, findings and the extras decided_by, bytes,
 * invalid_utf8 and findings_dropped on obj. Returns 0 or -1. */
int tool_json_result(json_t *obj, const guard_result *r, const tool_pos *pos);

/* Serialises j compactly (one line, no newline added) into b. Returns 0 or -1. */
int tool_json_to_buf(const json_t *j, tool_buf *b, size_t flags);

/* Sets key to value, taking the reference; -1 when value is NULL or the set
 * failed. Lets a chain of sets be checked once. */
int tool_json_set(json_t *obj, const char *key, json_t *value);

#endif
