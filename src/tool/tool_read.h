/*
 * tool_read.h — reading one item and having the guard inspect it.
 *
 * Every item goes through the file guard (guard_file_scan_fd): plain UTF-8
 * text is streamed through the text guard in this process, anything else is
 * inspected by type in a sandboxed worker process (docs/FILES.md): documents,
 * archives, other encodings, images. A file nothing could read (an unknown
 * binary type, a crashed worker) gets an "uninspectable.*" finding and status
 * unscannable, and the policy rules on that: never a silent allow.
 * Findings in the file's own bytes (location NULL) also get their line and
 * column (tool_pos.h): from a second pass over a regular file, or from a
 * line index built while a pipe is fed to the guard.
 *
 * A reader belongs to one worker thread: it holds that thread's guard
 * scanner and chunk buffer.
 */
#ifndef TOOL_READ_H
#define TOOL_READ_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cordon/guard.h"
#include "tool_pos.h"
#include "tool_walk.h"

#define TOOL_WHOLE_MAX ((size_t)16 * 1024 * 1024) /* read whole up to this */
#define TOOL_CHUNK     ((size_t)1024 * 1024)      /* stream chunk */
#define TOOL_SNIFF     ((size_t)8192)             /* where a NUL means binary */
#define TOOL_LINE_MAX  ((size_t)1 << 20)          /* newlines indexed per pipe */

typedef struct tool_outcome {
    size_t index; /* the item's index in the walk */
    const tool_item *item;
    guard_result *r; /* NULL when nothing could be inspected */
    tool_pos *pos;   /* one per finding of r; NULL when r has none */
    uint64_t bytes_read;
    bool binary;
    bool interrupted; /* stopped by a signal: not to be reported */
    char error[384];  /* non-empty when the item failed (exit 2) */
} tool_outcome;

typedef struct tool_reader {
    guard_scanner *sc;
    guard_ruleset *rs;
    guard_scope scope;
    char *chunk;                           /* TOOL_CHUNK bytes */
    atomic_uint_least64_t *progress_bytes; /* bytes read, for the progress bar; may be NULL */
    const volatile sig_atomic_t *stop;     /* non-zero: give up soon; may be NULL */
} tool_reader;

/* Sets up a reader for the calling thread. rs is borrowed. Returns GUARD_OK
 * or an error (err filled). */
guard_err tool_reader_init(tool_reader *rd, guard_ruleset *rs, guard_scope scope, guard_error *err);
void tool_reader_free(tool_reader *rd);

/* Reads and inspects one item into oc (overwritten). Never fails as a whole:
 * problems with the item land in oc->error. */
void tool_read_item(tool_reader *rd, const tool_item *it, size_t index, tool_outcome *oc);
/* Inspects a block already in memory (the message of `cordon check`),
 * positions included. Returns GUARD_OK or the guard's error. */
guard_err tool_read_buffer(tool_reader *rd, const char *p, size_t n, tool_outcome *oc,
                           guard_error *err);
void tool_outcome_clear(tool_outcome *oc);

#endif
