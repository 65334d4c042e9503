/*
 * srv_text.h — short texts that users type and other people see outside
 * messages: conversation titles and display names (docs/SERVER.md,
 * "Titles and names").
 *
 * Each passes two checks before it is stored:
 *  - shape: valid UTF-8, at most `max_chars` code points, no C0/C1 control
 *    character, no DEL, no bidirectional override, embedding or isolate
 *    (U+202A–U+202E, U+2066–U+2069): 422 `<field>_too_long` /
 *    `<field>_invalid` with `field` (and `max`);
 *  - the guard, with the scope of its audience: block or confirm → 422
 *    `guard_blocked` with `field` and the findings (excerpts masked), and
 *    an officer alert; warn → stored as typed, alert; mask → the masked
 *    text is stored, alert.
 */
#ifndef SRV_TEXT_H
#define SRV_TEXT_H

#include "srv_int.h"

#include "base/base_text.h"

/* The shape rule is base_text's (the CLI's `cordon user --name` applies it
 * too); s[0, len) may hold NULs (refused as C0). */
#define SRV_TITLE_MAX_CHARS        BASE_TEXT_TITLE_MAX
#define SRV_DISPLAY_NAME_MAX_CHARS BASE_TEXT_NAME_MAX
#define SRV_DEPARTMENT_MAX_CHARS   BASE_TEXT_NAME_MAX

/* Both checks for body field `field` (a JSON string of r->json, NULs
 * included) on behalf of conversation conv_id (0: none; the alert's
 * conversation). Returns 0 with *out (heap, free()) the text to store, or
 * -1 having answered. */
int srv_text_check(srv_req *r, srv_worker *w, const char *field, size_t max_chars,
                   guard_scope scope, int64_t conv_id, char **out);

/* The same for text[0, len) from elsewhere (a stored title), refusing a
 * guard block or hold with error code `code` instead of guard_blocked. */
int srv_text_inspect(srv_req *r, srv_worker *w, const char *field, const char *text, size_t len,
                     size_t max_chars, guard_scope scope, int64_t conv_id, const char *guard_code,
                     char **out);

#endif
