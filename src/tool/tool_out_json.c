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

static int json_item(tool_report *rp, const tool_outcome *oc, base_buf *out)
{
    tool_jw w;

    (void)rp;
    tool_jw_init(&w, out);
    TOOL_JW_LIT(&w, "{\"path\":");
    tool_jw_cstr(&w, oc->item->path);
    if (oc->r) {
        TOOL_JW_LIT(&w, ",");
        tool_jw_result(&w, oc->r, oc->pos);
        if (oc->binary)
            TOOL_JW_LIT(&w, ",\"binary\":true");
    } else {
        /* an item that failed before any inspection has no verdict: null,
         * never "allow", and the run exits 2 */
        TOOL_JW_LIT(&w, ",\"verdict\":null,\"status\":\"unscannable\",\"findings\":[]");
    }
    if (oc->error[0]) {
        TOOL_JW_LIT(&w, ",\"error\":");
        tool_jw_cstr(&w, oc->error);
    }
    TOOL_JW_LIT(&w, "}\n");
    return tool_jw_finish(&w);
}

const tool_format tool_format_json = {
    .name = "json",
    .item = json_item,
};
