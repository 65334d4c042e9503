/*
 * srv_h_ocr.c — POST /api/v1/files/{id}/ocr: 识别文字, a user's own text
 * recognition of a picture in a chat (or of one uploaded just for that:
 * an upload to a conversation that no message carries), on this server,
 * with the guard's own engine. The text goes back to the caller only.
 *
 * Who: store_file_visible (the uploader, or a member who can see a
 * message that delivered it); anyone else gets 404, as for a download.
 *
 * How: the picture goes through the file guard (guard_file_scan_fd: the
 * sandboxed extraction worker, its OCR, the policy's time and memory
 * limits) with the conversation's scope, and the OCR text it read is
 * handed back with the verdict on that very text. The worker thread waits
 * for it (seconds): limits.ocr_concurrent at once over the server (more is
 * 503 ocr_busy) and limits.ocr_per_minute per user (429).
 *
 * What the guard decides (docs/WORK.md, "Text recognition"):
 *   allow, warn           the text, copy allowed;
 *   mask, confirm, or a   the text, "kept_in_chat": true (the client offers
 *   marking finding       no copy, share or download of it) and an officer
 *                         alert ocr.marked with the findings;
 *   block                 403 ocr_blocked, no text; an alert ocr.blocked.
 * Every request is audited (file.ocr: verdict and length, never the text).
 */
#include "chat/chat_alert.h"
#include "chat/chat_json.h"
#include "cordon/guard_file.h"
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_upload.h"
#include "store/store_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OCR_TEXT_MAX ((size_t)64 * 1024) /* text handed back (a page is ~2 KiB) */

/* The file id of /api/v1/files/{id}/ocr; false when it cannot be one. */
static bool file_id(const srv_req *r, char id[SRV_UP_ID_LEN + 1])
{
    const char *p = r->path + strlen("/api/v1/files/");
    size_t n = strcspn(p, "/");

    if (n != SRV_UP_ID_LEN)
        return false;
    memcpy(id, p, n);
    id[n] = 0;
    return true;
}

static bool has_marking(const guard_result *res)
{
    for (size_t i = 0; i < res->n_findings; i++)
        if (res->findings[i].category == GUARD_CAT_MARKING)
            return true;
    return false;
}

/* The officers' alert (written with the request, chat_alert.h). */
static void plan_alert(srv_req *r, const store_file *f, const guard_result *res, const char *cat)
{
    json_t *file =
        json_pack("{s:s,s:s,s:I}", "id", f->id, "name", f->name, "size", (json_int_t)f->size);
    chat_alert_new in = {.user_id = r->user.id,
                         .actor = r->user.login,
                         .conv_id = f->conv_id,
                         .field = "ocr",
                         .res = res,
                         .category = cat,
                         .file = file};

    chat_commit_free(r->alert);
    r->alert = file ? chat_alert_commit(&r->srv->chat, &in, r->now) : NULL;
    if (!r->alert)
        SRV_ERROR("ocr", "%s alert: out of memory", cat);
    json_decref(file);
}

/* Runs the file guard over the blob with OCR text kept. 0, or -1 when the
 * picture could not be read at all (answered). */
static int recognise(srv_req *r, srv_worker *w, const store_file *f, guard_result **res,
                     guard_file_info *info)
{
    srv *s = w->srv;
    store_conv conv = {0};
    guard_ruleset *rs = NULL;
    guard_error gerr = {0};
    guard_file_options opt = {.name = f->name, .ocr_text_max = OCR_TEXT_MAX};
    int fd = -1, rc = -1;

    if (store_conv_get(w->st, f->conv_id, &conv)) {
        srv_error(r, 404, "not_found", "no such file");
        goto out;
    }
    opt.scope = conv.external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL;
    if (blob_open_fd(srv_uploads_blobs(s), f->hash, false, &fd)) {
        SRV_ERROR("ocr", "%s: the file's bytes are missing", f->id);
        srv_error(r, 500, "internal", "the file's bytes are missing");
        goto out;
    }
    rs = guard_engine_acquire(s->engine);
    if (guard_file_scan_fd(w->scanner, rs, fd, &opt, res, info, &gerr) || !*res) {
        SRV_WARN("ocr", "%s: %s", f->id, gerr.message);
        srv_error(r, 422, "ocr_failed", "the picture could not be read");
        goto out;
    }
    rc = 0;
out:
    if (rs)
        guard_ruleset_unref(rs);
    if (fd >= 0)
        close(fd);
    store_conv_clear(&conv);
    return rc;
}

static void answer(srv_req *r, srv_worker *w, const store_file *f, guard_result *res,
                   const guard_file_info *info)
{
    bool blocked = res->verdict == GUARD_BLOCK;
    bool kept = !blocked && (res->verdict >= GUARD_MASK || has_marking(res));
    const char *text = info->ocr_text ? info->ocr_text : "";
    json_t *jt = json_stringn(text, info->ocr_text_len), *body;
    char target[64];

    snprintf(target, sizeof target, "file:%s", f->id);
    srv_audit_req(r, w, "file.ocr", target,
                  json_pack("{s:s,s:I,s:b,s:I}", "verdict", guard_action_name(res->verdict),
                            "chars", (json_int_t)info->ocr_text_len, "kept_in_chat", kept,
                            "conversation", (json_int_t)f->conv_id));
    if (blocked || kept)
        plan_alert(r, f, res, blocked ? "ocr.blocked" : "ocr.marked");
    if (blocked) {
        json_decref(jt);
        srv_reply(r, 403,
                  json_pack("{s:{s:s,s:s},s:o}", "error", "code", "ocr_blocked", "message",
                            "the text of this picture is not given out", "guard",
                            chat_json_guard(res)));
        return;
    }
    body =
        json_pack("{s:s,s:o,s:b,s:b,s:s,s:o}", "file_id", f->id, "text", jt ? jt : json_string(""),
                  "kept_in_chat", kept, "truncated", info->ocr_text_cut, "status",
                  guard_status_name(res->status), "guard", chat_json_guard(res));
    srv_reply(r, 200, body);
}

void srv_h_file_ocr(srv_req *r, srv_worker *w)
{
    srv *s = w->srv;
    char id[SRV_UP_ID_LEN + 1];
    store_file f = {0};
    guard_result *res = NULL;
    guard_file_info info = {0};
    bool slot = false;
    int rc, retry;

    if (!file_id(r, id)) {
        srv_error(r, 404, "not_found", "no such file");
        return;
    }
    rc = store_file_visible(w->st, id, r->user.id, &f);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such file");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "file_visible");
        goto out;
    }
    /* a blocked picture has no image facts (it was never processed past
     * the guard): its type says what it is */
    if (!f.image && strncmp(f.mime, "image/", 6)) {
        srv_error(r, 422, "ocr_not_image", "text recognition reads pictures only");
        goto out;
    }
    retry = srv_rate_ocr(s->rate, r->user.id, r->now);
    if (retry) {
        r->retry_after = retry;
        srv_error(r, 429, "rate_limited", "too many text recognitions; retry in %d s", retry);
        goto out;
    }
    if (atomic_fetch_add(&s->ocr_running, 1) >= s->cfg->limits.ocr_concurrent) {
        atomic_fetch_sub(&s->ocr_running, 1);
        r->retry_after = 5;
        srv_error(r, 503, "ocr_busy", "the server is reading other pictures; retry shortly");
        goto out;
    }
    slot = true;
    if (recognise(r, w, &f, &res, &info))
        goto out;
    answer(r, w, &f, res, &info);
out:
    if (slot)
        atomic_fetch_sub(&s->ocr_running, 1);
    if (info.ocr_text) /* the caller's copy is in the answer; none stays in freed heap */
        explicit_bzero(info.ocr_text, info.ocr_text_len);
    free(info.ocr_text);
    free(info.text);
    guard_result_free(res);
    store_file_clear(&f);
}
