/*
 * tool_out_json.c — `--format json`: JSON Lines, one object per item.
 *
 * Each line is {"path","verdict","status","findings":[...]} plus extras
 * (decided_by, bytes, invalid_utf8, findings_dropped, binary, error); see
 * docs/CLI.md. Excerpts are the real bytes, not masked: the consumer is a
 * program that may need the exact span, and it gets start/end as well.
 */
#include "tool_json.h"
#include "tool_report.h"

#include <string.h>

static int json_item(tool_report *rp, const tool_outcome *oc, tool_buf *out)
{
    json_t *o = json_object();
    int rc = -1;

    (void)rp;
    if (!o)
        return -1;
    if (tool_json_set(o, "path", tool_json_cstr(oc->item->path)))
        goto out;
    if (oc->r) {
        if (tool_json_result(o, oc->r, oc->pos))
            goto out;
        if (oc->binary && tool_json_set(o, "binary", json_true()))
            goto out;
    } else if (tool_json_set(o, "verdict", json_null()) ||
               tool_json_set(o, "status", json_string("unscannable")) ||
               tool_json_set(o, "findings", json_array())) {
        /* an item that failed before any inspection has no verdict: null,
         * never "allow", and the run exits 2 */
        goto out;
    }
    if (oc->error[0] && tool_json_set(o, "error", tool_json_cstr(oc->error)))
        goto out;
    if (tool_json_to_buf(o, out, JSON_COMPACT) || tool_buf_add(out, "\n", 1))
        goto out;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

const tool_format tool_format_json = {
    .name = "json",
    .item = json_item,
};
