/*
 * srv_h_msg.c — the message routes: decode the request, call the chat
 * domain (src/chat), hand its commit to the writer. What happens to a
 * message — authorise, inspect, decide, store, publish — is in
 * chat_send.c, top to bottom; here is only HTTP/WebSocket in and out.
 *
 *   POST /conversations/{id}/messages   (and the WS frame message.send)
 *   POST /messages/{id}/forward, POST /messages/{id}/recall
 *   POST /conversations/{id}/read       (and the WS frame read)
 *   GET  /conversations/{id}/messages   history, through the history rule
 *   POST /guard/check                   the draft pre-check
 */
#include "cordon/guard_file.h"
#include "chat/chat_card.h"
#include "chat/chat_json.h"
#include "chat/chat_recall.h"
#include "chat/chat_receipt.h"
#include "chat/chat_report.h"
#include "srv_handlers.h"
#include "srv_log.h"
#include "srv_registry.h"
#include "srv_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Plans with the chat domain; on success the writer answers, else now. */
static void plan_and_await(srv_req *r, int planned, chat_outcome *o)
{
    if (planned == 0)
        srv_req_await(r, &r->commit, 1, srv_answer_commit);
    else
        srv_reply_outcome(r, o);
}

/* The answer to a send (on the writer, after its publish). A stored
 * message was just serialised for message.new on this thread: the answer
 * (message.ack or the HTTP body) is spliced around that same text rather
 * than serialising the message again. Anything else: the generic answer. */
static void send_answer(srv_req *r)
{
    const store_message *m = chat_send_message(r->commit);
    chat_outcome *o = &r->commit->outcome;
    /* Not the text with an inbound warning: that is for internal members
     * (chat_send.c publishes it first, so it is seldom what was kept). */
    char *msg = m && o->status == 201 ? srv_wire_take_message(m->id) : NULL;

    if (msg && m->inbound_warning && strstr(msg, "\"inbound_warning\":")) {
        free(msg);
        msg = NULL;
    }
    json_t *g = msg ? json_object_get(o->extra, "guard") : NULL;
    char *guard = g ? json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char req[48] = "";

    if (guard && r->ws) {
        if (r->ws_has_req)
            snprintf(req, sizeof req, "\"req\":%lld,", (long long)r->ws_req);
        r->out =
            srv_buf_splice((const char *[]){"{\"type\":\"message.ack\",", req, "\"message\":", msg,
                                            ",\"guard\":", guard, ",\"duplicate\":false}"},
                           7);
    } else if (guard)
        r->out =
            srv_buf_splice((const char *[]){"{\"message\":", msg, ",\"guard\":", guard, "}"}, 5);
    if (r->out)
        srv_reply(r, 201, NULL);
    else
        srv_answer_commit(r);
    free(msg);
    free(guard);
}

/* "attachments": [file_id, ...] (docs/API.md). -1: answered 400. */
static int attachments_in(srv_req *r, chat_send_in *in, const char *ids[CHAT_MAX_ATTACHMENTS])
{
    json_t *a = r->json ? json_object_get(r->json, "attachments") : NULL;
    size_t i;
    json_t *v;

    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a)) {
        srv_error(r, 400, "bad_request", "attachments must be a list of file ids");
        return -1;
    }
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v)) {
            srv_error(r, 400, "bad_request", "attachments must be a list of file ids");
            return -1;
        }
        if (i < CHAT_MAX_ATTACHMENTS)
            ids[i] = json_string_value(v);
    }
    /* over the limit: the plan answers too_many_attachments before reading them */
    in->n_attachments = json_array_size(a);
    in->attachments = ids;
    return 0;
}

void srv_h_send(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    const char *ids[CHAT_MAX_ATTACHMENTS];
    chat_send_in in = {.conv_id = r->ids[0]};
    chat_outcome o = {0};
    int64_t card = 0;

    /* A contact card (chat_card.h): a send of kind "card", no text. */
    if (srv_body_int(r, "card_user_id", &card) < 0)
        return;
    if (card) {
        if (srv_body_str(r, "client_id", &in.client_id) < 0)
            return;
        if (chat_card_plan(&e, &who, in.conv_id, card, in.client_id, &r->commit, &o))
            srv_reply_outcome(r, &o);
        else
            srv_req_await(r, &r->commit, 1, send_answer);
        return;
    }
    if (srv_body_str(r, "client_id", &in.client_id) < 0 || srv_body_str(r, "text", &in.text) < 0 ||
        srv_body_str(r, "justification", &in.justification) < 0 ||
        srv_body_int(r, "forward_of", &in.forward_of) < 0 || srv_body_bool(r, "burn", &in.burn) < 0)
        return;
    if (attachments_in(r, &in, ids))
        return;
    if (in.forward_of)
        in.text = NULL; /* the source's text, as the caller sees it */
    else if (in.text)
        /* JSON strings may hold NUL; take the real length. */
        in.len = json_string_length(json_object_get(r->json, "text"));
    if (chat_send_plan(&e, &who, &in, &r->commit, &o))
        srv_reply_outcome(r, &o);
    else
        srv_req_await(r, &r->commit, 1, send_answer);
}

void srv_h_history(srv_req *r, srv_worker *w)
{
    store_messages l = {0};
    int64_t before = 0, limit = 50;
    chat_viewer v;
    bool hidden = false;
    json_t *arr;
    chat_env e = srv_chat_env(w);
    int rc;

    if (srv_query_int(r, "before", &before) < 0 || srv_query_int(r, "limit", &limit) < 0)
        return;
    if (limit < 1 || limit > 200) {
        srv_error(r, 400, "bad_request", "limit must be 1..200");
        return;
    }
    if (srv_viewer_load(r, w, r->ids[0], &v, NULL))
        return;
    rc = store_message_history(w->st, r->ids[0], before, (int)limit, &l);
    if (rc) {
        srv_store_error(r, w, rc, "history");
        return;
    }
    /* Newest first: the first message the caller may not see is where
     * their history starts (chat_view.h), so the page ends there. */
    arr = json_array();
    for (size_t i = 0; arr && i < l.n && !hidden; i++) {
        json_t *o = chat_view_message(&e, &v, &l.items[i], &hidden);

        if (o)
            json_array_append_new(arr, o);
    }
    srv_reply(r, 200,
              json_pack("{s:o,s:o}", "messages", arr, "next_before",
                        l.n == (size_t)limit && l.n && !hidden ? json_integer(l.items[l.n - 1].id)
                                                               : json_null()));
    store_messages_free(&l);
}

void srv_h_recall(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};

    plan_and_await(r, chat_recall_plan(&e, &who, r->ids[0], r->now, &r->commit, &o), &o);
}

/* POST /reports: a report to the officers (chat_report.h). */
void srv_h_report(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_report_in in = {.now = r->now};
    chat_outcome o = {0};

    if (srv_body_int(r, "message_id", &in.message_id) < 0 ||
        srv_body_int(r, "user_id", &in.user_id) < 0 || srv_body_str(r, "note", &in.note) < 0)
        return;
    plan_and_await(r, chat_report_plan(&e, &who, &in, &r->commit, &o), &o);
}

static void forward_answer(srv_req *r)
{
    srv_reply(r, 200, chat_forward_results(r->forward));
}

void srv_h_forward(srv_req *r, srv_worker *w)
{
    json_t *targets = r->json ? json_object_get(r->json, "conversation_ids") : NULL;
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    const char *cid = NULL;
    int64_t ids[64];
    size_t n = 0;
    chat_commit **items;

    if (!json_is_array(targets) || !json_array_size(targets) || json_array_size(targets) > 50) {
        srv_error(r, 400, "bad_request", "conversation_ids must list 1..50 conversations");
        return;
    }
    if (srv_body_str(r, "client_id", &cid) < 0)
        return;
    /* Entries that are not integers are skipped, as they always were. */
    for (size_t i = 0; i < json_array_size(targets); i++)
        if (json_is_integer(json_array_get(targets, i)))
            ids[n++] = json_integer_value(json_array_get(targets, i));
    if (!n) {
        srv_reply(r, 200, json_pack("{s:[]}", "results"));
        return;
    }
    if (chat_forward_plan(&e, &who, r->ids[0], ids, n, cid, &r->forward, &o)) {
        srv_reply_outcome(r, &o);
        return;
    }
    n = chat_forward_commits(r->forward, &items);
    if (n)
        srv_req_await(r, items, n, forward_answer);
    else
        forward_answer(r);
}

void srv_h_read(srv_req *r, srv_worker *w)
{
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);
    chat_outcome o = {0};
    int64_t mid = 0;

    if (srv_body_int(r, "message_id", &mid)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "message_id is required");
        return;
    }
    plan_and_await(r, chat_read_plan(&e, &who, r->ids[0], mid, &r->commit, &o), &o);
}

/* A pre-check came back "block". Alone it is a user checking a draft, as
 * intended; limits.guard_probe_blocked of them within the window look like
 * someone trying variants until one passes: one officer alert per window
 * (category guard.probing), with the last attempt's findings (masked
 * excerpts, no text around them: nothing was sent). */
static void note_blocked_check(srv_req *r, srv_worker *w, int64_t conv_id, const guard_result *res)
{
    const srv_limits *lim = &r->srv->cfg->limits;
    int n = srv_rate_guard_blocked(r->srv->rate, r->user.id, r->now);
    chat_env e = srv_chat_env(w);
    chat_caller who = srv_caller(r);

    if (!n)
        return;
    SRV_INFO("guard", "probing: user=%lld %d blocked pre-checks within %d s", (long long)r->user.id,
             n, lim->guard_probe_window_seconds);
    /* Written by the writer like every alert; the answer waits for it. */
    if (chat_alert_plan(&e, &who, conv_id, res, "guard.probing", "guard.probing", &r->commit))
        SRV_ERROR("guard", "probing alert: out of memory");
    else
        srv_req_await(r, &r->commit, 1, NULL);
}

void srv_h_guard_check(srv_req *r, srv_worker *w)
{
    const char *text = NULL;
    int64_t conv_id = 0;
    store_conv conv = {0};
    guard_result *res = NULL;
    guard_ruleset *rs;
    guard_error gerr;
    guard_scope scope = GUARD_SCOPE_INTERNAL;
    int rc, retry;

    /* A bucket of its own (srv_rate.h): the pre-check is the cheapest way
     * to try variants of a text against the rules. */
    retry = srv_rate_guard_check(r->srv->rate, r->user.id, r->now);
    if (retry) {
        r->retry_after = retry;
        srv_error(r, 429, "rate_limited", "too many pre-checks; retry in %d s", retry);
        return;
    }
    if (srv_body_str(r, "text", &text) || srv_body_int(r, "conversation_id", &conv_id) < 0) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "text is required");
        return;
    }
    if (json_string_length(json_object_get(r->json, "text")) >
        r->srv->cfg->limits.max_message_bytes) {
        srv_error(r, 422, "message_too_large", "a message has at most %zu bytes",
                  r->srv->cfg->limits.max_message_bytes);
        json_object_set_new(json_object_get(r->resp, "error"), "max",
                            json_integer((json_int_t)r->srv->cfg->limits.max_message_bytes));
        return;
    }
    if (conv_id) {
        if (srv_require_member(r, w, conv_id, NULL))
            return;
        rc = store_conv_get(w->st, conv_id, &conv);
        if (rc) {
            srv_store_error(r, w, rc, "conv_get");
            return;
        }
        scope = conv.external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL;
        store_conv_clear(&conv);
    }
    rs = guard_engine_acquire(r->srv->engine);
    /* as the send will: files pasted into the draft are read too */
    rc = guard_file_scan_message(w->scanner, rs, text,
                                 json_string_length(json_object_get(r->json, "text")), scope, NULL,
                                 &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        srv_error(r, 503, "unavailable", "the text could not be inspected");
        return;
    }
    if (res->verdict == GUARD_BLOCK)
        note_blocked_check(r, w, conv_id, res);
    srv_reply(r, 200, chat_json_guard(res));
    guard_result_free(res);
}
