/*
 * base_buf.h — THE growable byte buffer of the project, always with a hard
 * cap (in the spirit of curl's dynbuf): scanning hostile input makes an
 * uncapped buffer a denial of service waiting to happen. Past the cap an
 * append fails, leaves the buffer as it was and sets `truncated`.
 *
 * Every cap is named here, so the memory budget reads as one table.
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* ---- named caps ------------------------------------------------------------ */
#define BASE_CAP_TOOL_ITEM ((size_t)32 << 20) /* `cordon scan`: one item's rendered report */
#define BASE_CAP_TOOL_ERR  ((size_t)8192)     /* `cordon scan`: one item's error text */
/* GET /officer/export: a page stops once past this, then the buffer's cap
 * leaves room for the record that crossed it (a 16 KiB message as base64
 * MIME with its headers is far below 1 MiB). */
#define BASE_CAP_EXPORT_PAGE ((size_t)4 << 20)
#define BASE_CAP_EXPORT_BUF  (BASE_CAP_EXPORT_PAGE + ((size_t)1 << 20))
/* ...with file bytes: at most this many bytes of files per message go into
 * the export (a file past what is left is named with a note instead), and
 * the buffer grows by their base64 (4/3) plus MIME headers. */
#define BASE_CAP_EXPORT_FILES     ((size_t)8 << 20)
#define BASE_CAP_EXPORT_FILES_BUF (BASE_CAP_EXPORT_BUF + BASE_CAP_EXPORT_FILES / 3 * 4 + (1u << 20))

typedef struct base_buf {
    char *p;        /* NUL-terminated once anything was added; may be NULL */
    size_t len;     /* bytes in use, the NUL not counted */
    size_t cap;     /* bytes allocated */
    size_t max;     /* hard cap on len */
    bool truncated; /* an append was refused because of max (or memory) */
} base_buf;

void base_buf_init(base_buf *b, size_t max);
/* Appends n bytes. Returns 0, or -1 when the cap or memory ran out (the
 * buffer is unchanged then and `truncated` is set). */
int base_buf_add(base_buf *b, const void *p, size_t n);
int base_buf_adds(base_buf *b, const char *s);
int base_buf_printf(base_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeping its memory for the next item. */
void base_buf_reset(base_buf *b);
void base_buf_free(base_buf *b);

#endif
