/*
 * tool_buf.h — a growable byte buffer with a hard cap.
 *
 * Workers render each item's output into one of these before taking the
 * output lock, so the lock is held only for a write. The cap keeps a hostile
 * input (a million findings) from turning one item's report into unbounded
 * memory: past the cap, appends fail and the buffer says it was truncated.
 */
#ifndef TOOL_BUF_H
#define TOOL_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tool_buf {
    char *p;        /* NUL-terminated once anything was added; may be NULL */
    size_t len;     /* bytes in use, the NUL not counted */
    size_t cap;     /* bytes allocated */
    size_t max;     /* hard cap on len */
    bool truncated; /* an append was refused because of max (or memory) */
} tool_buf;

void tool_buf_init(tool_buf *b, size_t max);
/* Appends n bytes. Returns 0, or -1 when the cap or memory ran out (the
 * buffer is unchanged then and `truncated` is set). */
int tool_buf_add(tool_buf *b, const void *p, size_t n);
int tool_buf_adds(tool_buf *b, const char *s);
int tool_buf_printf(tool_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory for the next item. */
void tool_buf_reset(tool_buf *b);
void tool_buf_free(tool_buf *b);

#endif
