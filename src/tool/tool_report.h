/*
 * tool_report.h — output formats of `cordon scan`, as a table of functions
 * chosen by --format.
 *
 * Workers call item() concurrently, each for a different item, outside the
 * output lock: a format renders the item into the worker's buffer (which
 * the caller then writes under the lock, whole, so items never interleave)
 * or keeps what it needs in the item's own slot for finish(). Either way a
 * format touches no state shared between items inside item().
 */
#ifndef TOOL_REPORT_H
#define TOOL_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "cordon/guard.h"
#include "base/base_buf.h"
#include "tool_read.h"

/* Hard cap on one item's rendered output (base_buf max). */
#define TOOL_OUT_MAX BASE_CAP_TOOL_ITEM

typedef struct tool_report tool_report;

typedef struct tool_format {
    const char *name;
    /* Written between two items that produced output; NULL for none. */
    const char *separator;
    /* Prepares for n_items items. Returns 0 or -1 (out of memory). May be NULL. */
    int (*open)(tool_report *rp, size_t n_items);
    /* Renders or keeps one item (see above). oc->error may be set, with or
     * without a result. Returns 0 or -1 (out of memory). */
    int (*item)(tool_report *rp, const tool_outcome *oc, base_buf *out);
    /* Writes what was kept, at the end. Returns 0 or -1. May be NULL. */
    int (*finish)(tool_report *rp, FILE *f);
    /* Frees what open() and item() kept. May be NULL. */
    void (*close)(tool_report *rp);
} tool_format;

struct tool_report {
    const tool_format *fmt;
    bool color; /* text: ANSI colours */
    void *priv; /* the format's own state */
};

extern const tool_format tool_format_text;
extern const tool_format tool_format_json;
extern const tool_format tool_format_sarif;

/* The format called name, or NULL. */
const tool_format *tool_format_find(const char *name);

/* How an item is named for people and in JSON: "-" for stdin in JSON, the
 * path otherwise. */
const char *tool_item_display(const tool_item *it);

#endif
