/*
 * tool_pos.h — line and column of findings, from the original bytes.
 *
 * The guard reports byte spans; people and editors want line:column. Two ways
 * to get them, both in bounded memory:
 *   a sweep   reads the original bytes once, in order, in chunks of any size
 *             (a whole file in memory, or a second pass over a large file
 *             with pread), resolving every finding's start and end;
 *   a line index records newline offsets while a non-seekable stream (a pipe)
 *             is fed, since its bytes cannot be read again; it gives the line
 *             and byte column of a start, not the code-point column, and
 *             stops recording (positions beyond become unknown) at a cap.
 *
 * Lines are 1-based and split on '\n'. `col` counts bytes from the start of
 * the line, 1-based, as ripgrep's --column and vim's quickfix do; `ucol`
 * counts code points (for SARIF's "unicodeCodePoints" column kind).
 */
#ifndef TOOL_POS_H
#define TOOL_POS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cordon/guard.h"

typedef struct tool_pos {
    uint64_t line, col, ucol;    /* of the start; 0 = unknown */
    uint64_t end_line, end_ucol; /* just past the end (exclusive); 0 = unknown */
} tool_pos;

typedef struct tool_pos_query tool_pos_query;

typedef struct tool_pos_sweep {
    tool_pos_query *q;
    size_t nq, next;
    uint64_t at;         /* bytes swept so far */
    uint64_t line;       /* current line, 1-based */
    uint64_t line_start; /* offset where the current line starts */
    uint64_t ucol;       /* code points between line_start and at */
} tool_pos_sweep;

/* Prepares a sweep resolving r's findings into pos[0..r->n_findings), which
 * is zeroed. Returns 0 or -1 (out of memory). */
int tool_pos_sweep_begin(tool_pos_sweep *w, const guard_result *r, tool_pos *pos);
/* Feeds the next n bytes of the original input. */
void tool_pos_sweep_feed(tool_pos_sweep *w, const char *p, size_t n);
/* Offset up to which bytes are still needed; 0 when every query is resolved. */
uint64_t tool_pos_sweep_need(const tool_pos_sweep *w);
/* Resolves queries at the end of the input and frees the sweep. */
void tool_pos_sweep_end(tool_pos_sweep *w);

typedef struct tool_line_index {
    uint64_t *nl; /* offsets of the recorded newlines, ascending */
    size_t n, cap, max;
    uint64_t at; /* bytes fed */
    bool full;   /* stopped recording; exact only up to `limit` */
    uint64_t limit;
} tool_line_index;

void tool_line_index_init(tool_line_index *li, size_t max_lines);
void tool_line_index_feed(tool_line_index *li, const char *p, size_t n);
/* Start line and byte column of each finding of r into pos (zeroed first). */
void tool_line_index_resolve(const tool_line_index *li, const guard_result *r, tool_pos *pos);
void tool_line_index_free(tool_line_index *li);

#endif
