/*
 * tool_out_text.c — `--format text`: a report for people.
 *
 * Like ripgrep's --heading output: the item's path and verdict on one line,
 * then one line per finding with line:column, the action the policy took,
 * rule, severity, confidence and explanation, and the excerpt under it.
 * Personal data is masked in excerpts (a terminal or a pasted log is no place
 * for an ID number); every byte of content is escaped for the terminal.
 * Items with nothing to say (allow, no findings) print nothing.
 */
#include "tool_report.h"
#include "tool_term.h"

#include <stdlib.h>
#include <string.h>

#define EXCERPT_SHOWN 200 /* bytes of an excerpt shown before "…" */
/* Past this much output for one item, the remaining findings are only
 * counted; it stays well under the output buffer's hard cap (TOOL_OUT_MAX),
 * since one finding renders to a few KiB at most. */
#define TEXT_ITEM_SOFT_MAX ((size_t)8 * 1024 * 1024)

static const char *action_color(const tool_sgr *c, guard_action a)
{
    switch (a) {
    case GUARD_BLOCK:
        return c->red;
    case GUARD_CONFIRM:
        return c->magenta;
    case GUARD_MASK:
    case GUARD_WARN:
        return c->yellow;
    default:
        return c->green;
    }
}

static bool worth_showing(const guard_result *r)
{
    return r->n_findings || r->findings_dropped || r->verdict != GUARD_ALLOW ||
           r->status != GUARD_STATUS_SCANNED;
}

/* "line:col"; "@offset" when the line is unknown (a long pipe); "-" for a
 * finding about the item as a whole (binary content). */
static int format_position(char *out, size_t cap, const tool_pos *pos, const guard_finding *f)
{
    if (pos && pos->line)
        return snprintf(out, cap, "%llu:%llu", (unsigned long long)pos->line,
                        (unsigned long long)pos->col);
    if (f->start == f->end && f->category == GUARD_CAT_UNINSPECTABLE)
        return snprintf(out, cap, "-");
    return snprintf(out, cap, "@%llu", (unsigned long long)f->start);
}

static int position_width(const tool_outcome *oc)
{
    int w = 0;
    char tmp[64];

    for (size_t i = 0; i < oc->r->n_findings; i++) {
        int n = format_position(tmp, sizeof tmp, oc->pos ? &oc->pos[i] : NULL, &oc->r->findings[i]);
        if (n > w)
            w = n;
    }
    return w;
}

static int add_excerpt(base_buf *b, const guard_finding *f, int indent, const tool_sgr *c)
{
    const char *ex = f->excerpt ? f->excerpt : "";
    size_t n = strlen(ex);
    char *masked = NULL;
    int rc;

    if (!n)
        return 0;
    if (f->category == GUARD_CAT_PII) {
        /* a mask is never longer than what it masks */
        masked = malloc(n + 1);
        if (!masked)
            return -1;
        n = guard_mask_excerpt(ex, n, masked, n + 1);
        ex = masked;
    }
    rc = base_buf_printf(b, "%*s%s", indent, "", c->bold);
    rc |= tool_term_escape(b, ex, n, EXCERPT_SHOWN);
    rc |= base_buf_printf(b, "%s\n", c->reset);
    free(masked);
    return rc;
}

static int add_finding(base_buf *b, const guard_finding *f, const tool_pos *pos, int pw, int rw,
                       const tool_sgr *c)
{
    char where[64];
    int rc = base_buf_printf(b, "  %s", c->green);

    format_position(where, sizeof where, pos, f);
    rc |= base_buf_printf(b, "%-*s", pw, where);
    rc |=
        base_buf_printf(b, "%s  %s%-7s%s  %s%-*s%s  %s %d%%", c->reset, action_color(c, f->action),
                        guard_action_name(f->action), c->reset, c->cyan, rw, f->rule, c->reset,
                        guard_severity_name(f->severity), f->confidence);
    if (f->explanation) {
        rc |= base_buf_adds(b, "  ");
        rc |= tool_term_escape(b, f->explanation, strlen(f->explanation), 400);
    }
    if (f->evasion)
        rc |= base_buf_printf(b, "  %s(evasion)%s", c->yellow, c->reset);
    if (f->location) {
        rc |= base_buf_printf(b, "  %sin%s ", c->dim, c->reset);
        rc |= tool_term_escape(b, f->location, strlen(f->location), 200);
    }
    rc |= base_buf_adds(b, "\n");
    rc |= add_excerpt(b, f, 2 + pw + 2, c);
    return rc;
}

static int text_item(tool_report *rp, const tool_outcome *oc, base_buf *out)
{
    const guard_result *r = oc->r;
    const char *path = tool_item_display(oc->item);
    tool_sgr c;
    int rc = 0, pw, rw = 0;

    /* failures are told on stderr by the caller; findings made before a
     * failure (a read error mid-stream) are still shown here */
    if (!r || !worth_showing(r))
        return 0;
    tool_sgr_init(&c, rp->color);
    rc |= base_buf_printf(out, "%s%s", c.bold, c.magenta);
    rc |= tool_term_escape(out, path, strlen(path), 4096);
    rc |= base_buf_printf(out, "%s  %s%s%s%s", c.reset, c.bold, action_color(&c, r->verdict),
                          guard_action_name(r->verdict), c.reset);
    if (r->decided_by) {
        rc |= base_buf_printf(out, " %sby%s ", c.dim, c.reset);
        rc |= tool_term_escape(out, r->decided_by, strlen(r->decided_by), 200);
    }
    if (r->status != GUARD_STATUS_SCANNED)
        rc |= base_buf_printf(out, "  %s[%s]%s", c.yellow, guard_status_name(r->status), c.reset);
    rc |= base_buf_adds(out, "\n");

    pw = position_width(oc);
    for (size_t i = 0; i < r->n_findings; i++) {
        int n = (int)strlen(r->findings[i].rule);
        if (n > rw)
            rw = n;
    }
    for (size_t i = 0; i < r->n_findings && !rc; i++) {
        if (out->len > TEXT_ITEM_SOFT_MAX) {
            rc |= base_buf_printf(out, "  %s… %zu more findings not shown%s\n", c.dim,
                                  r->n_findings - i, c.reset);
            break;
        }
        rc |= add_finding(out, &r->findings[i], oc->pos ? &oc->pos[i] : NULL, pw, rw, &c);
    }
    if (r->findings_dropped)
        rc |= base_buf_printf(out, "  %s… %zu more findings not kept (per-item cap)%s\n", c.dim,
                              r->findings_dropped, c.reset);
    if (r->invalid_utf8)
        rc |= base_buf_printf(out, "  %snote: %llu invalid UTF-8 sequences%s\n", c.dim,
                              (unsigned long long)r->invalid_utf8, c.reset);
    return rc ? -1 : 0;
}

const tool_format tool_format_text = {
    .name = "text",
    .separator = "\n",
    .item = text_item,
};
