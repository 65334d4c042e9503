/*
 * base_text.h — the shape of a short text people show each other: a
 * conversation title, a display name. Not its content (the guard judges
 * that), only what no name needs and a spoofer loves: invalid UTF-8,
 * controls (a line feed forging a second line), DEL, and the bidirectional
 * controls that reorder what is displayed ("gpj.exe" shown as "exe.jpg"),
 * and a length counted in characters. The server's API and `cordon user`
 * apply the same rule.
 */
#ifndef BASE_TEXT_H
#define BASE_TEXT_H

#include <stddef.h>

typedef enum base_text_shape {
    BASE_TEXT_OK = 0,
    BASE_TEXT_BAD_UTF8,
    BASE_TEXT_FORBIDDEN, /* a control, DEL or bidi override/embedding/isolate */
    BASE_TEXT_TOO_LONG   /* more than max_chars code points */
} base_text_shape;

#define BASE_TEXT_TITLE_MAX 128 /* characters of a conversation title */
#define BASE_TEXT_NAME_MAX  64  /* characters of a display name */

/* The shape of s[0..len). Invalid UTF-8 and forbidden characters are
 * reported before the length. */
base_text_shape base_text_check(const char *s, size_t len, size_t max_chars);

#endif
