/*
 * tool_term.h — what the tool needs to know about terminals: whether to
 * colour, how wide the screen is, and how to show hostile bytes safely.
 *
 * Scanned content is attacker-controlled. Anything of it printed for people
 * (paths, excerpts) goes through tool_term_escape() so that escape sequences,
 * control characters and bidirectional overrides cannot rewrite the screen or
 * disguise what was found.
 */
#ifndef TOOL_TERM_H
#define TOOL_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base_buf.h"

typedef enum tool_color { TOOL_COLOR_AUTO, TOOL_COLOR_ALWAYS, TOOL_COLOR_NEVER } tool_color;

/* Parses "auto", "always" or "never". Returns 0, or -1 if unknown. */
int tool_color_parse(const char *s, tool_color *out);
/* Whether to colour output written to `fd`: always/never as asked; auto means
 * fd is a terminal, NO_COLOR is unset or empty, and TERM is not "dumb". */
bool tool_term_use_color(int fd, tool_color mode);
/* Columns of the terminal on fd; 80 when unknown. */
int tool_term_width(int fd);

/* Appends s[0..n) for display: printable UTF-8 as is; control bytes as \n,
 * \t, \r or \xNN; invalid UTF-8 as \xNN; C1 controls and bidi/zero-width
 * format characters as <U+XXXX>. Stops after about max_bytes of input and
 * appends "…" then. Returns 0 or -1 (the buffer's cap). */
int tool_term_escape(base_buf *b, const char *s, size_t n, size_t max_bytes);

/* Formats a byte count for people ("512 B", "3.4 MB"), decimal units. */
void tool_human_bytes(uint64_t n, char *out, size_t cap);

/* ANSI SGR sequences, or "" when colour is off. */
typedef struct tool_sgr {
    const char *reset, *bold, *dim, *red, *green, *yellow, *magenta, *cyan;
} tool_sgr;
void tool_sgr_init(tool_sgr *s, bool color);

#endif
