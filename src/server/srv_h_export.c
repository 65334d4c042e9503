/*
 * srv_h_export.c — the compliance export for officers and admins (the route
 * table says so; docs/API.md, "Compliance export"):
 *
 *   GET /officer/export?conversation_id=|user_id=&from=&to=&format=jsonl|eml
 *                      &reason=&cursor=
 *
 * The domain writes the export (chat_export.h); here it goes into one
 * capped buffer per page. The server has no streamed answer (srv_http.c
 * frames one body per request), so an export is paged instead: a page
 * stops after the record that crossed EXPORT_PAGE_BYTES and the answer
 * carries the cursor of the next one (header x-cordon-next-cursor, and
 * the JSONL "page" line). Memory per request stays bounded whatever the
 * conversation's size. Every page is an audit row officer.export (target,
 * period, reason, counts; never the text), written before the answer.
 */
#include "base/base_buf.h"
#include "chat/chat_export.h"
#include "srv_buf.h"
#include "srv_handlers.h"
#include "srv_req.h"
#include "srv_upload.h"

#include <stdio.h>
#include <string.h>

#define EXPORT_PAGE_BYTES BASE_CAP_EXPORT_PAGE
#define EXPORT_BUF_MAX    BASE_CAP_EXPORT_FILES_BUF

static int to_buf(void *ctx, const char *data, size_t len)
{
    return base_buf_add(ctx, data, len) ? STORE_NOMEM : 0;
}

static void refuse(srv_req *r, const char *code)
{
    if (!strcmp(code, "reason_required"))
        srv_error(r, 400, code, "a reason is required");
    else if (!strcmp(code, "reason_too_long")) {
        srv_error(r, 400, code, "the reason has at most %d bytes", CHAT_EXPORT_REASON_MAX);
        /* the client words it with the limit */
        json_object_set_new(json_object_get(r->resp, "error"), "max",
                            json_integer(CHAT_EXPORT_REASON_MAX));
    } else if (!strcmp(code, "bad_target"))
        srv_error(r, 400, code, "give conversation_id or user_id");
    else if (!strcmp(code, "bad_period"))
        srv_error(r, 400, code, "from and to are epoch ms with from < to");
    else
        srv_error(r, 400, code, "the cursor is not one this server gave");
}

void srv_h_export(srv_req *r, srv_worker *w)
{
    char reason[CHAT_EXPORT_REASON_MAX + 2],
        format[16] = "jsonl", cursor[CHAT_EXPORT_CURSOR_LEN] = "", target[48], disp[128],
        files[8] = "true";
    chat_export_req q = {0};
    chat_export_result res = {0};
    const char *bad;
    base_buf b;
    int rc;

    base_buf_init(&b, EXPORT_BUF_MAX);
    reason[0] = 0;
    if (srv_query_int(r, "conversation_id", &q.conv_id) < 0 ||
        srv_query_int(r, "user_id", &q.user_id) < 0 || srv_query_int(r, "from", &q.from) < 0 ||
        srv_query_int(r, "to", &q.to) < 0 ||
        srv_query_str(r, "format", format, sizeof format) < 0 ||
        srv_query_str(r, "cursor", cursor, sizeof cursor) < 0 ||
        srv_query_str(r, "files", files, sizeof files) < 0)
        goto out;
    if (strcmp(files, "true") && strcmp(files, "false")) {
        srv_error(r, 400, "bad_request", "files is true or false");
        goto out;
    }
    /* The files' bytes go with their messages unless asked not to, at most
     * BASE_CAP_EXPORT_FILES per message (a larger file is named with a
     * note: chat_export.h). */
    if (!strcmp(files, "true")) {
        q.blobs = srv_uploads_blobs(w->srv);
        q.files_max = BASE_CAP_EXPORT_FILES;
    }
    rc = srv_query_str(r, "reason", reason, sizeof reason);
    if (rc < 0) {
        r->status = 0;
        json_decref(r->resp);
        r->resp = NULL;
        refuse(r, "reason_too_long");
        goto out;
    }
    if (!strcmp(format, "eml"))
        q.format = CHAT_EXPORT_EML;
    else if (strcmp(format, "jsonl")) {
        srv_error(r, 400, "bad_format", "format is jsonl or eml");
        goto out;
    }
    q.reason = reason;
    q.actor = r->user.login;
    q.now = r->now;
    q.cursor = cursor;
    q.max_bytes = EXPORT_PAGE_BYTES;
    bad = chat_export_check(&q);
    if (bad) {
        refuse(r, bad);
        goto out;
    }
    rc = chat_export_run(w->st, &q, to_buf, &b, &res);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", q.conv_id ? "no such conversation" : "no such user");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "export");
        goto out;
    }
    chat_export_target(&q, target, sizeof target);
    /* Audited before the answer leaves: no export without its row. */
    srv_audit_req(r, w, "officer.export", target, chat_export_audit_detail(&q, &res));
    r->out = srv_buf_from(b.p ? b.p : "", b.len);
    if (!r->out) {
        srv_error(r, 500, "internal", "out of memory");
        goto out;
    }
    r->status = 200;
    r->content_type =
        q.format == CHAT_EXPORT_EML ? "application/mbox" : "application/x-ndjson; charset=utf-8";
    snprintf(disp, sizeof disp, "attachment; filename=\"cordon-export-%s-%s%s.%s\"",
             q.conv_id ? "conversation" : "user", target + (q.conv_id ? 13 : 5),
             cursor[0] ? "-cont" : "", q.format == CHAT_EXPORT_EML ? "mbox" : "jsonl");
    r->content_disposition = strdup(disp);
    if (res.more)
        r->next_cursor = strdup(res.next_cursor);
out:
    base_buf_free(&b);
}
