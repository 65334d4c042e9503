/*
 * srv_h_msg.c — messages: send (the guard at send), history, recall,
 * forward, read receipts, the draft pre-check.
 *
 * The guard rules on every message before anything is stored or pushed,
 * with the conversation's scope (external when any member is external):
 *   allow    deliver
 *   warn     deliver; the sender gets the findings; officer alert
 *   mask     deliver guard_result.masked instead of the text; alert
 *   confirm  nothing stored or pushed; 409 with the findings; alert. A
 *            resend with a justification is delivered, audited
 *            (guard.override) and alerted
 *   block    nothing stored or pushed; 403 naming the rule; alert
 * Blocked and held text is never stored, so no later path (history, the
 * conversation list, a recall or edit event) can leak it. Deliveries go to
 * the writer (group commit); the reply and message.new leave only after
 * the commit.
 */
#include "srv_handlers.h"
#include "srv_json.h"
#include "srv_log.h"
#include "srv_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct send_in {
    int64_t conv_id;
    const char *client_id;
    const char *text;
    size_t len;
    const char *justification;
    int64_t forward_of;
} send_in;

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* An alert row + audit entry + alert.new to the staff. message_id 0 when
 * nothing was stored. The audit event is `event`, or guard.VERDICT when
 * NULL. Runs on a worker or the writer (st is that thread's). */
static void raise_alert(srv_req *r, store *st, int64_t conv_id, int64_t message_id,
                        const char *verdict, const char *rule, const char *category,
                        const char *findings_json, const char *justification, const char *event_in)
{
    store_alert_new an = {.user_id = r->user.id,
                          .conv_id = conv_id,
                          .message_id = message_id,
                          .category = category,
                          .verdict = verdict,
                          .rule = rule,
                          .findings_json = findings_json ? findings_json : "[]",
                          .justification = justification,
                          .now = srv_now_ms()};
    store_alert a = {0};
    char event[32], target[48];
    int64_t id = 0;
    int rc = store_alert_create(st, &an, &id);

    if (rc) {
        SRV_ERROR("guard", "alert_create: %s (%s)", store_strerror(rc), store_errmsg(st));
        return;
    }
    if (event_in)
        snprintf(event, sizeof event, "%s", event_in);
    else
        snprintf(event, sizeof event, "guard.%s", justification ? "override" : verdict);
    if (message_id)
        snprintf(target, sizeof target, "message:%lld", (long long)message_id);
    else if (conv_id)
        snprintf(target, sizeof target, "conversation:%lld", (long long)conv_id);
    else /* a pre-check without a conversation */
        snprintf(target, sizeof target, "user:%lld", (long long)r->user.id);
    /* The audit keeps the decision, never the text, nor the justification
     * (the sender's words about it): the log is append-only, so what it
     * holds would outlive a recall. The alert holds the justification. */
    srv_audit(st, r->user.id, r->user.login, event, target,
              json_pack("{s:s,s:o,s:s,s:I,s:I,s:b}", "verdict", verdict, "rule",
                        rule ? json_string(rule) : json_null(), "category", category, "alert",
                        (json_int_t)id, "conversation", (json_int_t)conv_id, "justified",
                        justification != NULL));
    SRV_INFO("guard", "%s user=%lld conversation=%lld rule=%s alert=%lld", event,
             (long long)r->user.id, (long long)conv_id, rule ? rule : "-", (long long)id);
    if (store_alert_get(st, id, &a) == STORE_OK)
        srv_emit(&r->job, SRV_EV_STAFF,
                 srv_event_buf("alert.new", json_pack("{s:o}", "alert", srv_json_alert(&a))), 0, 0,
                 NULL, 0);
    store_alert_clear(&a);
}

/* Prepares the alert + audit entry that the store writes in the message's
 * own transaction (warn / mask / override): either the message and its
 * record are both durable or neither is. Returns 0 or -1 (out of memory). */
static int attach_alert(srv_req *r, srv_append *a, const guard_result *res, char **findings)
{
    const char *verdict = guard_action_name(res->verdict);
    json_t *detail;

    a->alert = true;
    a->alert_verdict = strdup(verdict);
    a->alert_rule = res->decided_by ? strdup(res->decided_by) : NULL;
    a->alert_category = strdup(srv_guard_category(res));
    a->findings_json = *findings;
    *findings = NULL;
    a->actor = strdup(r->user.login ? r->user.login : "");
    snprintf(a->audit_event, sizeof a->audit_event, "guard.%s",
             a->justification ? "override" : verdict);
    /* The audit keeps the decision, never the text nor the justification
     * (see raise_alert); the target ("message:ID") is set by the store, the
     * alert links to the message. */
    detail = json_pack("{s:s,s:o,s:s,s:I,s:b}", "verdict", verdict, "rule",
                       res->decided_by ? json_string(res->decided_by) : json_null(), "category",
                       srv_guard_category(res), "conversation", (json_int_t)a->m.conv_id,
                       "justified", a->justification != NULL);
    a->audit_detail = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    if (!a->alert_verdict || (res->decided_by && !a->alert_rule) || !a->alert_category ||
        !a->actor || !a->audit_detail)
        return -1;
    a->alert_new = (store_alert_new){.category = a->alert_category,
                                     .verdict = a->alert_verdict,
                                     .rule = a->alert_rule,
                                     .findings_json = a->findings_json ? a->findings_json : "[]",
                                     .justification = a->justification};
    a->audit_new = (store_audit_new){.actor_id = r->user.id,
                                     .actor = a->actor,
                                     .event = a->audit_event,
                                     .detail = a->audit_detail};
    a->m.alert = &a->alert_new;
    a->m.audit = &a->audit_new;
    a->m.alert_id_out = &a->alert_id;
    return 0;
}

/* After the commit of a message that carried an alert: log it and push
 * alert.new to the staff, built from what was written (no re-read). */
static void announce_alert(srv_req *r, const srv_append *a)
{
    store_alert al = {.id = a->alert_id,
                      .created_at = a->alert_new.now,
                      .user_id = a->out.sender_id,
                      .conv_id = a->out.conv_id,
                      .message_id = a->out.id,
                      .category = (char *)a->alert_new.category,
                      .verdict = (char *)a->alert_new.verdict,
                      .rule = (char *)a->alert_new.rule,
                      .findings_json = (char *)a->alert_new.findings_json,
                      .justification = (char *)a->alert_new.justification,
                      .status = STORE_ALERT_OPEN};

    SRV_INFO("guard", "%s user=%lld conversation=%lld message=%lld rule=%s alert=%lld",
             a->audit_event, (long long)a->out.sender_id, (long long)a->out.conv_id,
             (long long)a->out.id, a->alert_new.rule ? a->alert_new.rule : "-",
             (long long)a->alert_id);
    srv_emit(&r->job, SRV_EV_STAFF,
             srv_event_buf("alert.new", json_pack("{s:o}", "alert", srv_json_alert(&al))), 0, 0,
             NULL, 0);
}

/* Inspects one message for one conversation and decides. Returns 0 with
 * *out ready for the writer, or an HTTP status with *body the reply. */
static int prepare(srv_req *r, srv_worker *w, const send_in *in, srv_append **out, json_t **body)
{
    const srv_limits *lim = &r->srv->cfg->limits;
    srv_conv_snap *conv = NULL;
    guard_result *res = NULL;
    guard_ruleset *rs;
    guard_error gerr;
    srv_append *a = NULL;
    json_t *guard = NULL;
    char *findings = NULL;
    const char *text = in->text;
    size_t len = in->len;
    int status = 500, rc;

#define FAIL(st, code, ...)                                                                        \
    do {                                                                                           \
        srv_error(r, st, code, __VA_ARGS__);                                                       \
        status = st;                                                                               \
        goto fail;                                                                                 \
    } while (0)

    if (!in->client_id || !*in->client_id || strlen(in->client_id) > 64)
        FAIL(400, "bad_request", "client_id must be 1..64 bytes");
    if (!len)
        FAIL(422, "invalid", "the message is empty");
    if (len > lim->max_message_bytes) {
        srv_error(r, 422, "message_too_large", "a message has at most %zu bytes",
                  lim->max_message_bytes);
        /* The client words the limit in characters the user can count. */
        json_object_set_new(json_object_get(r->resp, "error"), "max",
                            json_integer((json_int_t)lim->max_message_bytes));
        status = 422;
        goto fail;
    }
    if (in->justification && strlen(in->justification) > lim->max_justification)
        FAIL(422, "invalid", "a justification has at most %zu bytes", lim->max_justification);
    /* Membership, scope and recipients in one cached snapshot (srv_cache.h:
     * the store re-checks the sender's membership in the commit). */
    rc = srv_cache_get(r->srv->cache, w->st, in->conv_id, &conv);
    if (rc == STORE_NOTFOUND || (!rc && !srv_conv_snap_has(conv, r->user.id)))
        FAIL(404, "not_found", "no such conversation");
    if (rc) {
        srv_store_error(r, w, rc, "send: conversation");
        status = r->status;
        goto fail;
    }
    rs = guard_engine_acquire(r->srv->engine);
    rc = guard_scan(w->scanner, rs, text, len,
                    conv->external ? GUARD_SCOPE_EXTERNAL : GUARD_SCOPE_INTERNAL, &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        /* Fail closed: what could not be inspected is not delivered. */
        SRV_ERROR("guard", "scan failed: %s", gerr.message);
        FAIL(503, "unavailable", "the message could not be inspected; retry");
    }
    guard = srv_json_guard(res);
    if (res->verdict != GUARD_ALLOW) {
        json_t *f = srv_json_findings_ctx(res, text, len);

        findings = f ? json_dumps(f, JSON_COMPACT) : NULL;
        json_decref(f);
    }
    if (res->verdict == GUARD_BLOCK ||
        (res->verdict == GUARD_CONFIRM && (!in->justification || !*in->justification))) {
        bool block = res->verdict == GUARD_BLOCK;

        raise_alert(r, w->st, in->conv_id, 0, guard_action_name(res->verdict), res->decided_by,
                    srv_guard_category(res), findings, NULL, NULL);
        status = block ? 403 : 409;
        *body = json_pack("{s:{s:s,s:s},s:O}", "error", "code",
                          block ? "guard_blocked" : "guard_confirm", "message",
                          block ? "blocked by the confidentiality policy"
                                : "can this content be sent? Resend with a justification",
                          "guard", guard);
        if (*body && block && res->decided_by) {
            char msg[300];

            snprintf(msg, sizeof msg, "blocked by the confidentiality policy (rule %s)",
                     res->decided_by);
            json_object_set_new(json_object_get(*body, "error"), "message", json_string(msg));
        }
        goto done;
    }
    a = calloc(1, sizeof *a);
    if (!a)
        FAIL(500, "internal", "out of memory");
    a->rc = -1;
    if (res->verdict == GUARD_MASK && res->masked) {
        text = res->masked;
        len = res->masked_len;
        a->m.masked = true;
    }
    a->text = dupn(text, len);
    a->client_id = strdup(in->client_id);
    if (res->verdict == GUARD_CONFIRM)
        a->justification = strdup(in->justification);
    if (!a->text || !a->client_id || (res->verdict == GUARD_CONFIRM && !a->justification))
        FAIL(500, "internal", "out of memory");
    a->conv = conv;
    conv = NULL;
    a->m.conv_id = in->conv_id;
    a->m.sender_id = r->user.id;
    a->m.client_id = a->client_id;
    a->m.text = a->text;
    a->m.text_len = len;
    a->m.verdict = guard_action_name(res->verdict);
    a->m.justification = a->justification;
    a->m.forward_of = in->forward_of;
    /* The store refuses the append if the conversation turned external
     * after this inspection (committed() answers 409 conversation_changed). */
    a->m.inspected_internal = !a->conv->external;
    /* Recorded with the message: an external reader needs no second look
     * (srv_view.h). */
    a->m.inspected_external = a->conv->external;
    a->guard = guard;
    guard = NULL;
    if (res->verdict != GUARD_ALLOW && attach_alert(r, a, res, &findings))
        FAIL(500, "internal", "out of memory");
    *out = a;
    a = NULL;
    status = 0;
    goto done;
fail:
    *body = r->resp;
    r->resp = NULL;
done:
    srv_append_free(a);
    json_decref(guard);
    free(findings);
    guard_result_free(res);
    srv_conv_snap_unref(conv);
    return status;
#undef FAIL
}

/* message.new to the members: those of the snapshot the send was checked
 * against, unless a membership change may have overtaken it (srv_cache.h);
 * then those of a fresh read, made after the commit (st: this thread's
 * handle), that were in the snapshot too: nobody removed before the commit
 * gets the message, and nobody who joined after the inspection (the
 * message predates them: srv_view.h). */
static void fan_out(srv_req *r, store *st, const srv_append *a, srv_buf *ev)
{
    srv_conv_snap *fresh = NULL;
    int64_t *both = NULL;
    size_t n = 0;
    int rc;

    if (!srv_cache_stale(r->srv->cache, a->conv)) {
        srv_emit(&r->job, SRV_EV_USERS, ev, 0, 0, a->conv->members, a->conv->n);
        return;
    }
    rc = srv_conv_snap_load(st, a->out.conv_id, &fresh);

    if (!rc) {
        both = calloc(fresh->n ? fresh->n : 1, sizeof *both);
        rc = both ? STORE_OK : STORE_NOMEM;
    }
    if (rc) {
        /* Committed but not pushed: members see it in history. */
        SRV_WARN("send", "members of conversation %lld: %s; message %lld not pushed",
                 (long long)a->out.conv_id, store_strerror(rc), (long long)a->out.id);
        srv_buf_unref(ev);
        goto out;
    }
    for (size_t i = 0; i < fresh->n; i++)
        if (srv_conv_snap_has(a->conv, fresh->members[i]))
            both[n++] = fresh->members[i];
    srv_emit(&r->job, SRV_EV_USERS, ev, 0, 0, both, n);
out:
    free(both);
    srv_conv_snap_unref(fresh);
}

/* After the commit: alert, message.new, and the sender's reply body.
 * Returns the HTTP status. */
static int committed(srv_req *r, store *st, srv_append *a, json_t **body)
{
    json_t *msg;
    srv_buf *ev;

    if (a->rc == STORE_NOTFOUND) {
        *body = json_pack("{s:{s:s,s:s}}", "error", "code", "not_found", "message",
                          "no such conversation or message");
        return 404;
    }
    if (a->rc == STORE_CONFLICT) {
        /* An external member joined while the text was being inspected for
         * an internal audience: nothing was stored; the client resends and
         * the guard rules again with the external scope. */
        *body = json_pack("{s:{s:s,s:s}}", "error", "code", "conversation_changed", "message",
                          "the conversation's members changed while the message was "
                          "inspected; send it again");
        return 409;
    }
    if (a->rc) {
        *body = json_pack("{s:{s:s,s:s}}", "error", "code",
                          a->rc == STORE_BUSY ? "unavailable" : "internal", "message",
                          "the message was not stored; retry");
        return a->rc == STORE_BUSY ? 503 : 500;
    }
    msg = srv_json_message(&a->out);
    if (!a->duplicate) {
        if (a->alert && a->alert_id)
            announce_alert(r, a);
        /* Serialised once; every recipient's queue shares this buffer. */
        ev = srv_event_buf("message.new", json_pack("{s:O}", "message", msg));
        if (ev) {
            ev->msg_id = a->out.id;
            ev->conv_id = a->out.conv_id;
            ev->sender_id = a->out.sender_id;
            fan_out(r, st, a, ev);
        }
    }
    *body = json_pack("{s:o,s:O}", "message", msg, "guard", a->guard ? a->guard : json_null());
    return a->duplicate ? 200 : 201;
}

/* A buffer holding the concatenation of parts[0..n). NULL when out of
 * memory. */
static srv_buf *splice(const char *const *parts, size_t n)
{
    size_t len = 0, at = 0;
    srv_buf *b;

    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]);
    b = srv_buf_new(len);
    for (size_t i = 0; b && i < n; i++) {
        size_t k = strlen(parts[i]);

        memcpy(srv_buf_payload(b) + at, parts[i], k);
        at += k;
    }
    return b;
}

/* The writer's hot path for a stored message: the message is serialised
 * once and message.new and the reply (HTTP body or message.ack) are
 * spliced around that text, instead of building and dumping three JSON
 * trees. Returns false, having done nothing, when out of memory. */
static bool committed_fast(srv_req *r, store *st, srv_append *a)
{
    json_t *mj = srv_json_message(&a->out);
    char *msg = mj ? json_dumps(mj, JSON_COMPACT) : NULL;
    char *guard = a->guard ? json_dumps(a->guard, JSON_COMPACT) : strdup("null");
    char req[48];
    bool ok = false;

    json_decref(mj);
    if (!msg || !guard)
        goto out;
    if (!a->duplicate) {
        const char *ev_parts[] = {"{\"type\":\"message.new\",\"message\":", msg, "}"};
        srv_buf *ev = splice(ev_parts, 3);

        if (!ev)
            goto out;
        if (a->alert && a->alert_id)
            announce_alert(r, a);
        /* Serialised once; every recipient's queue shares this buffer. */
        ev->msg_id = a->out.id;
        ev->conv_id = a->out.conv_id;
        ev->sender_id = a->out.sender_id;
        fan_out(r, st, a, ev);
    }
    srv_reply(r, a->duplicate ? 200 : 201, NULL);
    if (r->ws) {
        const char *parts[] = {"{\"type\":\"message.ack\",",
                               req,
                               "\"message\":",
                               msg,
                               ",\"guard\":",
                               guard,
                               ",\"duplicate\":",
                               a->duplicate ? "true}" : "false}"};

        req[0] = 0;
        if (r->ws_has_req)
            snprintf(req, sizeof req, "\"req\":%lld,", (long long)r->ws_req);
        r->out = splice(parts, 8);
    } else {
        const char *parts[] = {"{\"message\":", msg, ",\"guard\":", guard, "}"};

        r->out = splice(parts, 5);
    }
    if (!r->out) /* events went out: answer without them */
        srv_reply(r, a->duplicate ? 200 : 201,
                  json_pack("{s:o,s:O}", "message", srv_json_message(&a->out), "guard",
                            a->guard ? a->guard : json_null()));
    ok = true;
out:
    free(msg);
    free(guard);
    return ok;
}

void srv_msg_committed(srv_req *r, store *st)
{
    json_t *body = NULL;
    int status;

    if (r->append->rc == STORE_OK && committed_fast(r, st, r->append))
        goto out;
    status = committed(r, st, r->append, &body);
    srv_reply(r, status, body);
out:
    srv_req_serialise(r);
}

/* Loads message `id` as a forward source: it exists, is not recalled, and
 * the caller is a member of its conversation who may see it (srv_view.h:
 * not before they joined unless the history is shared, not withheld from
 * an external member) — else 404, never telling which. What the caller
 * sees masked is forwarded masked. Returns 0, or -1 with the error already
 * replied. */
static int forward_source(srv_req *r, srv_worker *w, int64_t id, store_message *src)
{
    store_member me = {0};
    store_conv c = {0};
    srv_viewer v;
    char *masked = NULL;
    size_t masked_len = 0;
    srv_see see;
    int rc = store_message_get(w->st, id, src);

    if (rc == STORE_OK && src->recalled)
        rc = STORE_NOTFOUND;
    if (rc == STORE_OK)
        rc = store_member_get(w->st, src->conv_id, r->user.id, &me);
    if (rc == STORE_OK)
        rc = store_conv_get(w->st, src->conv_id, &c);
    if (rc)
        goto fail;
    v = (srv_viewer){.user_id = r->user.id,
                     .external = me.external,
                     .shared_history = c.shared_history,
                     .history_from = me.history_from};
    store_conv_clear(&c);
    see = srv_view_decide(w, r->srv, &v, src, &masked, &masked_len);
    if (see == SRV_SEE_HIDDEN || see == SRV_SEE_WITHHELD) {
        rc = STORE_NOTFOUND;
        goto fail;
    }
    if (see == SRV_SEE_MASKED) {
        free(src->text);
        src->text = masked;
        src->text_len = masked_len;
    }
    return 0;
fail:
    if (rc == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such message");
    else
        srv_store_error(r, w, rc, "forward source");
    return -1;
}

void srv_h_send(srv_req *r, srv_worker *w)
{
    send_in in = {.conv_id = r->ids[0]};
    store_message src = {0};
    srv_append *a = NULL;
    json_t *body = NULL;
    int64_t fwd = 0;
    int status;

    if (srv_body_str(r, "client_id", &in.client_id) < 0 || srv_body_str(r, "text", &in.text) < 0 ||
        srv_body_str(r, "justification", &in.justification) < 0 ||
        srv_body_int(r, "forward_of", &fwd) < 0)
        return;
    if (fwd) {
        if (forward_source(r, w, fwd, &src))
            goto out;
        in.text = src.text;
        in.len = src.text_len;
        in.forward_of = fwd;
    } else if (!in.text) {
        srv_error(r, 400, "bad_request", "text is required");
        goto out;
    } else {
        in.len = strlen(in.text);
        /* JSON strings may hold NUL; take the real length. */
        in.len = json_string_length(json_object_get(r->json, "text"));
    }
    status = prepare(r, w, &in, &a, &body);
    if (status) {
        srv_reply(r, status, body);
        goto out;
    }
    r->append = a; /* rc -1: srv_api_work hands it to the writer */
out:
    store_message_clear(&src);
}

void srv_h_history(srv_req *r, srv_worker *w)
{
    store_messages l = {0};
    int64_t before = 0, limit = 50;
    srv_viewer v;
    bool hidden = false;
    json_t *arr;
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
     * their history starts (srv_view.h), so the page ends there. */
    arr = json_array();
    for (size_t i = 0; arr && i < l.n && !hidden; i++) {
        json_t *o = srv_view_message(w, r->srv, &v, &l.items[i], &hidden);

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
    store_message m = {0};
    char target[48];
    int rc = store_message_get(w->st, r->ids[0], &m);

    if (rc == STORE_OK)
        rc = store_member_check(w->st, m.conv_id, r->user.id, NULL);
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such message");
        goto out;
    }
    if (rc) {
        srv_store_error(r, w, rc, "recall");
        goto out;
    }
    if (m.sender_id != r->user.id) {
        srv_error(r, 403, "forbidden", "only the sender can recall a message");
        goto out;
    }
    if (m.recalled) {
        srv_reply(r, 204, NULL);
        goto out;
    }
    if (r->now - m.created_at > (int64_t)r->srv->cfg->recall_window_seconds * 1000) {
        srv_error(r, 409, "recall_expired", "messages can be recalled within %d s",
                  r->srv->cfg->recall_window_seconds);
        goto out;
    }
    rc = store_message_recall(w->st, m.id, r->now);
    if (rc) {
        srv_store_error(r, w, rc, "recall");
        goto out;
    }
    snprintf(target, sizeof target, "message:%lld", (long long)m.id);
    srv_audit_req(r, w, "message.recall", target,
                  json_pack("{s:I}", "conversation", (json_int_t)m.conv_id));
    /* Not to members who joined after it and may not see it. */
    srv_emit_conv_msg(r, w, m.conv_id, m.id, "message.recalled",
                      json_pack("{s:I,s:I}", "conversation_id", (json_int_t)m.conv_id, "message_id",
                                (json_int_t)m.id));
    srv_reply(r, 204, NULL);
out:
    store_message_clear(&m);
}

void srv_h_forward(srv_req *r, srv_worker *w)
{
    json_t *targets = r->json ? json_object_get(r->json, "conversation_ids") : NULL, *results;
    const char *cid = NULL;
    store_message src = {0};
    char client_id[96];

    if (!json_is_array(targets) || !json_array_size(targets) || json_array_size(targets) > 50) {
        srv_error(r, 400, "bad_request", "conversation_ids must list 1..50 conversations");
        return;
    }
    if (srv_body_str(r, "client_id", &cid) < 0)
        return;
    if (forward_source(r, w, r->ids[0], &src))
        goto out;
    results = json_array();
    for (size_t i = 0; results && i < json_array_size(targets); i++) {
        json_t *t = json_array_get(targets, i), *body = NULL, *item;
        srv_append *a = NULL;
        send_in in = {.text = src.text, .len = src.text_len, .forward_of = src.id};
        int status;

        if (!json_is_integer(t))
            continue;
        in.conv_id = json_integer_value(t);
        snprintf(client_id, sizeof client_id, "%.40s:fwd:%lld:%lld", cid ? cid : "auto",
                 (long long)src.id, (long long)in.conv_id);
        in.client_id = client_id;
        status = prepare(r, w, &in, &a, &body);
        if (!status) {
            /* Forwarding is rare and multi-target: commit here rather than
             * through the writer, still one durable commit per target. */
            a->m.now = a->alert_new.now = a->audit_new.time = srv_now_ms();
            a->rc = store_message_append(w->st, &a->m, &a->out, &a->duplicate);
            status = committed(r, w->st, a, &body);
        }
        item = json_pack("{s:I,s:i}", "conversation_id", (json_int_t)in.conv_id, "status", status);
        if (item && body)
            json_object_update(item, body);
        json_decref(body);
        json_array_append_new(results, item);
        srv_append_free(a);
    }
    srv_reply(r, 200, json_pack("{s:o}", "results", results));
out:
    store_message_clear(&src);
}

/* Is mid a message of conv? Returns 0, or -1 having answered 422/404. */
static int read_target(srv_req *r, srv_worker *w, int64_t conv, int64_t mid)
{
    store_message m = {0};
    int rc;

    if (mid <= 0) {
        srv_error(r, 422, "invalid", "message_id must be a message of this conversation");
        return -1;
    }
    rc = store_message_get(w->st, mid, &m);
    if (rc == STORE_OK && m.conv_id != conv)
        rc = STORE_NOTFOUND;
    store_message_clear(&m);
    if (rc == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such message in this conversation");
    else if (rc)
        srv_store_error(r, w, rc, "read: message");
    return rc ? -1 : 0;
}

void srv_h_read(srv_req *r, srv_worker *w)
{
    int64_t mid = 0;
    bool advanced = false;
    int rc;

    if (srv_body_int(r, "message_id", &mid)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "message_id is required");
        return;
    }
    if (srv_require_member(r, w, r->ids[0], NULL))
        return;
    /* The watermark is stored as given and counts everything below it as
     * read and delivered: only a message of this conversation may set it. */
    if (read_target(r, w, r->ids[0], mid))
        return;
    rc = store_receipt_set(w->st, r->ids[0], r->user.id, true, mid, &advanced);
    if (rc) {
        srv_store_error(r, w, rc, "receipt");
        return;
    }
    if (advanced)
        srv_emit_conv_msg(r, w, r->ids[0], mid, "receipt",
                          json_pack("{s:I,s:s,s:I,s:[I]}", "conversation_id", (json_int_t)r->ids[0],
                                    "kind", "read", "message_id", (json_int_t)mid, "user_ids",
                                    (json_int_t)r->user.id));
    srv_reply(r, 204, NULL);
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
    json_t *f;
    char *findings;

    if (!n)
        return;
    f = srv_json_findings(res);
    findings = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    SRV_INFO("guard", "probing: user=%lld %d blocked pre-checks within %d s", (long long)r->user.id,
             n, lim->guard_probe_window_seconds);
    raise_alert(r, w->st, conv_id, 0, guard_action_name(res->verdict), res->decided_by,
                "guard.probing", findings, NULL, "guard.probing");
    free(findings);
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
    rc = guard_scan(w->scanner, rs, text, json_string_length(json_object_get(r->json, "text")),
                    scope, &res, &gerr);
    guard_ruleset_unref(rs);
    if (rc != GUARD_OK) {
        srv_error(r, 503, "unavailable", "the text could not be inspected");
        return;
    }
    if (res->verdict == GUARD_BLOCK)
        note_blocked_check(r, w, conv_id, res);
    srv_reply(r, 200, srv_json_guard(res));
    guard_result_free(res);
}
