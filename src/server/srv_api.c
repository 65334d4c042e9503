/*
 * srv_api.c — the request pipeline around the handlers: the route table,
 * authentication, authorisation by role, the per-session rate limit, body
 * parsing, replies and events, and the hand-back to the loop.
 *
 * srv_api_work() runs on a worker; srv_api_finish() on the loop. Nothing
 * here blocks the loop: the loop only moves finished bytes to sockets.
 */
#include "chat/chat_member.h"
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_metrics.h"
#include "srv_registry.h"
#include "srv_conn.h"
#include "srv_pool.h"
#include "srv_req.h"
#include "srv_writer.h"
#include "srv_upload.h"
#include "srv_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H(fn) ((const void *)(fn))
#define V1    "/api/v1"

/* Order matters only among patterns that could match the same path: the
 * literal "/conversations/{id}/members" before nothing ambiguous here. */
const srv_route srv_routes[] = {
    {SRV_GET, V1 "/health", SRV_R_PUBLIC | SRV_R_NO_RATE, H(srv_h_health)},
    {SRV_GET, V1 "/ready", SRV_R_PUBLIC | SRV_R_NO_RATE, H(srv_h_ready)},
    {SRV_POST, V1 "/auth/login", SRV_R_PUBLIC, H(srv_h_login)},
    {SRV_POST, V1 "/auth/logout", SRV_R_PWCHANGE, H(srv_h_logout)},
    {SRV_POST, V1 "/auth/password", SRV_R_PWCHANGE, H(srv_h_password)},
    {SRV_GET, V1 "/me", SRV_R_PWCHANGE, H(srv_h_me)},
    {SRV_POST, V1 "/me/totp", SRV_R_PWCHANGE, H(srv_h_totp_enrol)},
    {SRV_POST, V1 "/me/totp/confirm", SRV_R_PWCHANGE, H(srv_h_totp_confirm)},
    {SRV_GET, V1 "/sessions", 0, H(srv_h_sessions)},
    {SRV_DELETE, V1 "/sessions/{id}", 0, H(srv_h_session_delete)},
    {SRV_GET, V1 "/users", 0, H(srv_h_users)},
    {SRV_GET, V1 "/users/{id}/card", 0, H(srv_h_user_card)},
    {SRV_GET, V1 "/admin/users", SRV_R_ADMIN, H(srv_h_admin_users)},
    {SRV_POST, V1 "/admin/users", SRV_R_ADMIN, H(srv_h_admin_user_create)},
    {SRV_PATCH, V1 "/admin/users/{id}", SRV_R_ADMIN, H(srv_h_admin_user_patch)},
    {SRV_POST, V1 "/admin/users/{id}/reset-password", SRV_R_ADMIN, H(srv_h_admin_reset_pw)},
    {SRV_GET, V1 "/admin/users/{id}/sessions", SRV_R_ADMIN, H(srv_h_admin_user_sessions)},
    {SRV_DELETE, V1 "/admin/users/{id}/sessions", SRV_R_ADMIN, H(srv_h_admin_user_sessions_delete)},
    {SRV_GET, V1 "/admin/policy", SRV_R_ADMIN, H(srv_h_admin_policy)},
    {SRV_POST, V1 "/admin/policy/reload", SRV_R_ADMIN, H(srv_h_admin_policy_reload)},
    {SRV_POST, V1 "/admin/policy/validate", SRV_R_ADMIN, H(srv_h_policy_validate)},
    {SRV_PUT, V1 "/admin/policy", SRV_R_ADMIN, H(srv_h_policy_put)},
    {SRV_GET, V1 "/admin/lexicons", SRV_R_ADMIN, H(srv_h_lexicons)},
    {SRV_GET, V1 "/admin/lexicons/{name}", SRV_R_ADMIN, H(srv_h_lexicon_get)},
    {SRV_PUT, V1 "/admin/lexicons/{name}", SRV_R_ADMIN, H(srv_h_lexicon_put)},
    {SRV_DELETE, V1 "/admin/lexicons/{name}", SRV_R_ADMIN, H(srv_h_lexicon_delete)},
    {SRV_POST, V1 "/admin/lexicons/{name}/validate", SRV_R_ADMIN, H(srv_h_lexicon_validate)},
    {SRV_GET, V1 "/conversations", 0, H(srv_h_convs)},
    {SRV_POST, V1 "/conversations", 0, H(srv_h_conv_create)},
    {SRV_GET, V1 "/conversations/{id}", 0, H(srv_h_conv_get)},
    {SRV_PATCH, V1 "/conversations/{id}", 0, H(srv_h_conv_patch)},
    {SRV_POST, V1 "/conversations/{id}/members", 0, H(srv_h_member_add)},
    {SRV_DELETE, V1 "/conversations/{id}/members/{id}", 0, H(srv_h_member_remove)},
    {SRV_PATCH, V1 "/conversations/{id}/members/{id}", 0, H(srv_h_member_role)},
    {SRV_POST, V1 "/conversations/{id}/leave", 0, H(srv_h_conv_leave)},
    {SRV_GET, V1 "/conversations/{id}/messages", 0, H(srv_h_history)},
    {SRV_POST, V1 "/conversations/{id}/messages", 0, H(srv_h_send), "message.send",
     "conversation_id", "message.ack"},
    {SRV_POST, V1 "/conversations/{id}/read", 0, H(srv_h_read), "read", "conversation_id", NULL},
    {SRV_POST, V1 "/messages/{id}/recall", 0, H(srv_h_recall)},
    {SRV_POST, V1 "/messages/{id}/forward", 0, H(srv_h_forward)},
    {SRV_POST, V1 "/messages/{id}/open", 0, H(srv_h_burn_open)},
    {SRV_GET, V1 "/conversations/{id}/reminders", 0, H(srv_h_reminders)},
    {SRV_POST, V1 "/conversations/{id}/reminders", 0, H(srv_h_reminder_create)},
    {SRV_PATCH, V1 "/reminders/{id}", 0, H(srv_h_reminder_patch)},
    {SRV_DELETE, V1 "/reminders/{id}", 0, H(srv_h_reminder_delete)},
    {SRV_POST, V1 "/guard/check", 0, H(srv_h_guard_check)},
    /* files (srv_upload.c, srv_h_file.c): tus uploads, downloads */
    {SRV_OPTIONS, V1 "/uploads", SRV_R_PUBLIC | SRV_R_NO_RATE, H(srv_h_upload_options)},
    {SRV_POST, V1 "/uploads", 0, H(srv_h_upload_patch)},
    {SRV_OPTIONS, V1 "/uploads/{name}", SRV_R_PUBLIC | SRV_R_NO_RATE, H(srv_h_upload_options)},
    {SRV_HEAD, V1 "/uploads/{name}", 0, H(srv_h_upload_head)},
    {SRV_GET, V1 "/uploads/{name}", 0, H(srv_h_upload_get)},
    {SRV_PATCH, V1 "/uploads/{name}", 0, H(srv_h_upload_patch)},
    {SRV_DELETE, V1 "/uploads/{name}", 0, H(srv_h_upload_delete)},
    {SRV_GET, V1 "/files/{name}", 0, H(srv_h_file_get)},
    {SRV_HEAD, V1 "/files/{name}", 0, H(srv_h_file_get)},
    {SRV_GET, V1 "/files/{name}/thumbnail", 0, H(srv_h_file_thumb)},
    {SRV_POST, V1 "/files/{name}/ocr", 0, H(srv_h_file_ocr)},
    {SRV_GET, V1 "/alerts", SRV_R_OFFICER, H(srv_h_alerts)},
    {SRV_GET, V1 "/alerts/{id}", SRV_R_OFFICER, H(srv_h_alert_get)},
    {SRV_POST, V1 "/alerts/{id}/ack", SRV_R_OFFICER, H(srv_h_alert_ack)},
    {SRV_POST, V1 "/alerts/{id}/resolve", SRV_R_OFFICER, H(srv_h_alert_resolve)},
    {SRV_POST, V1 "/reports", 0, H(srv_h_report)},
    {SRV_GET, V1 "/reports", SRV_R_OFFICER, H(srv_h_reports)},
    {SRV_GET, V1 "/audit", SRV_R_OFFICER, H(srv_h_audit)},
    {SRV_GET, V1 "/audit/verify", SRV_R_OFFICER, H(srv_h_audit_verify)},
    {SRV_GET, V1 "/officer/spread", SRV_R_OFFICER, H(srv_h_spread)},
    {SRV_POST, V1 "/officer/contain", SRV_R_OFFICER, H(srv_h_contain)},
    {SRV_POST, V1 "/officer/context", SRV_R_OFFICER, H(srv_h_context)},
    {SRV_GET, V1 "/officer/stats", SRV_R_OFFICER, H(srv_h_stats)},
    {SRV_GET, V1 "/officer/export", SRV_R_OFFICER, H(srv_h_export)},
    {SRV_GET, V1 "/officer/files/{name}/text", SRV_R_OFFICER, H(srv_h_officer_file_text)},
};
const size_t srv_n_routes = sizeof srv_routes / sizeof srv_routes[0];

/* ---- requests ------------------------------------------------------------ */

srv_req *srv_req_new(srv *s, srv_conn *c)
{
    srv_req *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->srv = s;
    r->job.work = srv_api_work;
    r->job.finish = srv_api_finish;
    r->job.conn = c ? srv_conn_ref(c) : NULL;
    r->job.ev_tail = &r->job.events;
    r->status = 500;
    r->t0_ns = base_now_ns();
    return r;
}

void srv_req_free(srv_req *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->query);
    if (r->token) {
        memset(r->token, 0, strlen(r->token));
        free(r->token);
    }
    free(r->body);
    json_decref(r->json);
    store_user_clear(&r->user);
    store_session_clear(&r->sess);
    chat_commit_free(r->commit);
    chat_commit_free(r->alert);
    chat_forward_free(r->forward);
    json_decref(r->resp);
    srv_buf_unref(r->out);
    free(r->set_cookie);
    free(r->content_disposition);
    free(r->next_cursor);
    srv_events_free(r->job.events);
    srv_upstream_free(r->up);
    srv_download_free(r->dl);
    free(r->dl_type);
    for (int i = 0; i < r->n_xh; i++)
        free(r->xh[i].value);
    /* Loop thread only (every srv_req_free is): drop the job's reference. */
    if (r->job.conn)
        srv_conn_unref(r->job.conn);
    free(r);
}

/* ---- replies --------------------------------------------------------------- */

void srv_reply(srv_req *r, int status, json_t *body)
{
    json_decref(r->resp);
    r->status = status;
    r->resp = body;
}

void srv_error(srv_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void srv_store_error(srv_req *r, srv_worker *w, int rc, const char *what)
{
    SRV_ERROR("api", "%s: %s (%s)", what,
              rc >= ACCT_RC_BASE ? acct_strerror(rc) : store_strerror(rc),
              w ? store_errmsg(w->st) : "");
    if (rc == STORE_BUSY)
        srv_error(r, 503, "unavailable", "the database is busy, retry");
    else
        srv_error(r, 500, "internal", "internal error");
}

srv_buf *srv_event_buf(const char *type, json_t *obj)
{
    srv_buf *b = NULL;
    char *text;

    if (!obj)
        return NULL;
    /* "type" first: json_object preserves insertion order, so rebuild. */
    {
        json_t *o = json_pack("{s:s}", "type", type);

        if (o && !json_object_update(o, obj)) {
            text = json_dumps(o, JSON_COMPACT);
            if (text) {
                b = srv_buf_from(text, strlen(text));
                free(text);
            }
        }
        json_decref(o);
    }
    json_decref(obj);
    return b;
}

void srv_emit(srv_job *j, srv_ev_kind kind, srv_buf *buf, int64_t id, int64_t uid,
              const int64_t *users, size_t n_users)
{
    srv_event *ev = calloc(1, sizeof *ev + n_users * sizeof(int64_t));

    if (!ev) {
        srv_buf_unref(buf);
        return;
    }
    ev->kind = kind;
    ev->buf = buf;
    ev->id = id;
    ev->uid = uid;
    ev->n_users = n_users;
    if (n_users)
        memcpy(ev->users, users, n_users * sizeof(int64_t));
    *j->ev_tail = ev;
    j->ev_tail = &ev->next;
}

void srv_audit(store *st, int64_t actor_id, const char *actor, const char *event,
               const char *target, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    store_audit_new e = {.time = srv_now_ms(),
                         .actor_id = actor_id,
                         .actor = actor,
                         .event = event,
                         .target = target,
                         .detail = text};
    int rc = store_audit_append(st, &e, NULL);

    if (rc)
        SRV_ERROR("audit", "%s: %s (%s)", event, store_strerror(rc), store_errmsg(st));
    free(text);
    json_decref(detail);
}

void srv_audit_req(srv_req *r, srv_worker *w, const char *event, const char *target, json_t *detail)
{
    srv_audit(w->st, r->user.id, r->user.login, event, target, detail);
}

void srv_emit_conv(srv_req *r, srv_worker *w, int64_t conv_id, const char *type, json_t *obj)
{
    (void)r;
    chat_publish_conv(&w->srv->chat, w->st, conv_id, type, obj);
}

/* ---- the chat domain's side of a request ----------------------------------- */

chat_env srv_chat_env(srv_worker *w)
{
    return (chat_env){.chat = &w->srv->chat, .st = w->st, .scanner = w->scanner};
}

chat_caller srv_caller(const srv_req *r)
{
    return (chat_caller){.id = r->user.id, .login = r->user.login};
}

void srv_reply_outcome(srv_req *r, chat_outcome *o)
{
    json_t *body = o->extra;

    o->extra = NULL;
    if (o->code) {
        json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", o->code, "message", o->message);

        /* parameters of the error (e.g. error.max) merge into it */
        if (err && body)
            json_object_update_recursive(err, body);
        json_decref(body);
        body = err;
    }
    srv_reply(r, o->status, body);
}

void srv_answer_commit(srv_req *r)
{
    srv_reply_outcome(r, &r->commit->outcome);
}

/* Is this request a sent message (its stages are measured)? */
static bool is_send(const srv_req *r)
{
    return r->route && r->route->handler == H(srv_h_send);
}

/* Writer thread, in the publish of the message's group: the stages from
 * the worker's hand-off to the answer built; the answer frame carries the
 * times the loop needs for the rest (srv_ws.c). */
static void message_stages(srv_req *r)
{
    srv_metrics *m = r->srv->metrics;
    uint64_t started, committed, now = base_now_ns();

    srv_writer_group_times(&started, &committed);
    if (!started) /* committed outside the writer (shutdown) */
        return;
    srv_metrics_stage(m, SRV_STAGE_WRITER_QUEUE,
                      started > r->t_submit_ns ? started - r->t_submit_ns : 0);
    srv_metrics_stage(m, SRV_STAGE_COMMIT, committed - started);
    srv_metrics_stage(m, SRV_STAGE_PUBLISH, now - committed);
    if (r->out && r->ws) {
        r->out->t_commit_ns = committed;
        r->out->t_recv_ns = r->t0_ns;
    }
}

/* Writer thread: one of the request's commits is done. */
static void await_done(chat_commit *c, void *arg)
{
    srv_req *r = arg;

    (void)c;
    if (atomic_fetch_sub(&r->await_left, 1) != 1)
        return;
    if (r->after_commit)
        r->after_commit(r);
    srv_req_serialise(r);
    if (r->t_submit_ns)
        message_stages(r);
    /* The answer is built: the commits go here, on the writer's thread that
     * allocated much of them, not on the loop (freeing them there, through
     * glibc's arena lock, was 16% of the loop's CPU at 5,000 msgs/s). */
    chat_commit_free(r->commit);
    r->commit = NULL;
    chat_commit_free(r->alert);
    r->alert = NULL;
    srv_complete(r->srv, &r->job);
}

void srv_req_await(srv_req *r, chat_commit **items, size_t n, void (*after)(srv_req *r))
{
    r->await = items;
    r->n_await = n;
    r->after_commit = after;
}

int srv_viewer_load(srv_req *r, srv_worker *w, int64_t conv_id, chat_viewer *v,
                    store_member_role *role)
{
    int rc = chat_viewer_get(w->st, conv_id, r->user.id, v, role);

    if (rc == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such conversation");
    else if (rc)
        srv_store_error(r, w, rc, "viewer");
    return rc;
}

/* ---- body and query ------------------------------------------------------ */

int srv_body_str(srv_req *r, const char *key, const char **out)
{
    json_t *v = r->json ? json_object_get(r->json, key) : NULL;

    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v)) {
        srv_error(r, 400, "bad_request", "%s must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int srv_body_int(srv_req *r, const char *key, int64_t *out)
{
    json_t *v = r->json ? json_object_get(r->json, key) : NULL;

    if (!v || json_is_null(v))
        return 1;
    if (!json_is_integer(v)) {
        srv_error(r, 400, "bad_request", "%s must be an integer", key);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int srv_body_bool(srv_req *r, const char *key, bool *out)
{
    json_t *v = r->json ? json_object_get(r->json, key) : NULL;

    if (!v || json_is_null(v))
        return 1;
    if (!json_is_boolean(v)) {
        srv_error(r, 400, "bad_request", "%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int srv_query_str(srv_req *r, const char *key, char *buf, size_t cap)
{
    size_t kl = strlen(key);

    for (const char *p = r->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);

        if (seg > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t vl = seg - kl - 1;

            if (vl >= cap) {
                srv_error(r, 400, "bad_request", "%s is too long", key);
                return -1;
            }
            memcpy(buf, p + kl + 1, vl);
            buf[vl] = 0;
            return 0;
        }
        p = amp ? amp + 1 : p + seg;
    }
    return 1;
}

int srv_query_int(srv_req *r, const char *key, int64_t *out)
{
    char buf[32], *end;
    long long v;
    int rc = srv_query_str(r, key, buf, sizeof buf);

    if (rc)
        return rc;
    v = strtoll(buf, &end, 10);
    if (!*buf || *end) {
        srv_error(r, 400, "bad_request", "%s must be an integer", key);
        return -1;
    }
    *out = v;
    return 0;
}

int srv_require_member(srv_req *r, srv_worker *w, int64_t conv_id, store_member_role *role)
{
    int rc = store_member_check(w->st, conv_id, r->user.id, role);

    if (rc == STORE_NOTFOUND)
        srv_error(r, 404, "not_found", "no such conversation");
    else if (rc)
        srv_store_error(r, w, rc, "member_role");
    return rc;
}

/* ---- the worker side ------------------------------------------------------- */

static int authenticate(srv_req *r, srv_worker *w)
{
    int rc;

    if (r->ws) {
        /* The socket authenticated at the upgrade and is closed the moment
         * its session is revoked; its identity came with the frame. */
        r->authed = true;
        return 0;
    }
    if (!r->token) {
        srv_error(r, 401, "unauthorized", "sign in first");
        return -1;
    }
    rc = acct_session_check(w->st, r->token, r->now, &r->sess, &r->user);
    if (rc == STORE_NOTFOUND || rc == ACCT_DISABLED || rc == ACCT_INVAL) {
        srv_error(r, 401, "unauthorized", "the session is not valid; sign in again");
        return -1;
    }
    if (rc) {
        srv_store_error(r, w, rc, "session_check");
        return -1;
    }
    r->authed = true;
    if (r->now - r->sess.last_seen_at > 60000)
        store_session_touch(w->st, r->sess.id, r->now);
    return 0;
}

static int authorise(srv_req *r)
{
    unsigned f = r->route->flags;
    int retry;

    if (!(f & SRV_R_PWCHANGE)) {
        if (r->user.must_change_password) {
            srv_error(r, 403, "password_change_required", "change your password first");
            return -1;
        }
        if (r->srv->cfg->totp_required[r->user.role] && !r->user.totp_enabled) {
            srv_error(r, 403, "totp_enrolment_required",
                      "your role requires a second factor: enrol TOTP first");
            return -1;
        }
    }
    if (((f & SRV_R_ADMIN) && r->user.role != STORE_ROLE_ADMIN) ||
        ((f & SRV_R_OFFICER) && r->user.role == STORE_ROLE_MEMBER)) {
        srv_error(r, 403, "forbidden", "your role does not allow this");
        return -1;
    }
    if (!(f & SRV_R_NO_RATE)) {
        retry = srv_rate_request(r->srv->rate, r->sess.id, r->now);
        if (retry) {
            r->retry_after = retry;
            srv_error(r, 429, "rate_limited", "too many requests; retry in %d s", retry);
            return -1;
        }
    }
    return 0;
}

/* Builds r->out: the HTTP body, or the WebSocket reply frame. */
void srv_req_serialise(srv_req *r)
{
    json_t *o = r->resp;
    char *text;

    if (r->out)
        return;
    if (r->ws) {
        bool ok = r->status < 300;

        if (ok && !r->ws_ok_type)
            return;
        o = json_pack("{s:s}", "type", ok ? r->ws_ok_type : "error");
        if (!o)
            return;
        if (r->ws_has_req)
            json_object_set_new(o, "req", json_integer(r->ws_req));
        if (r->resp)
            json_object_update(o, r->resp);
        /* message.ack: 200 is a repeat of a client_id already stored. */
        if (ok && r->ws_ok_type)
            json_object_set_new(o, "duplicate", json_boolean(r->status == 200));
    }
    if (!o)
        return;
    text = json_dumps(o, JSON_COMPACT);
    if (text) {
        r->out = srv_buf_from(text, strlen(text));
        free(text);
    }
    if (o != r->resp)
        json_decref(o);
}

/* The handler planned an alert (r->alert): the writer commits it with the
 * request's own commit, if any, and the answer waits for both, so an
 * officer who looks right after the answer finds the alert. */
static void await_alert(srv_req *r)
{
    if (r->n_await > 1) {
        /* (No handler with several commits inspects a title or name.)
         * Written all the same; nobody waits. */
        srv_writer_submit(r->srv, r->alert);
        r->alert = NULL;
        return;
    }
    r->await_pair[0] = r->alert;
    if (r->n_await == 1)
        r->await_pair[1] = r->await[0];
    r->await = r->await_pair;
    r->n_await++;
}

bool srv_api_work(srv_job *j, srv_worker *w)
{
    srv_req *r = (srv_req *)j;
    srv_match m;

    r->now = srv_now_ms();
    r->t_work_ns = base_now_ns();
    /* WebSocket frames come with their route (srv_ws.c, srv_route_by_frame). */
    m = r->route ? SRV_MATCH_OK
                 : srv_route_match(srv_routes, srv_n_routes, r->method, r->path, &r->route, r->ids);
    if (m == SRV_MATCH_NOT_FOUND) {
        srv_error(r, 404, "not_found", "no such endpoint");
        goto done;
    }
    if (m == SRV_MATCH_METHOD) {
        srv_error(r, 405, "method_not_allowed", "method not allowed here");
        goto done;
    }
    if (r->body_too_large) {
        srv_error(r, 413, "payload_too_large", "the request body is over %zu bytes",
                  r->srv->cfg->limits.max_body_bytes);
        goto done;
    }
    if (r->refused_code) {
        srv_error(r, 403, r->refused_code, "%s", r->refused_msg);
        goto done;
    }
    if (!r->json && r->body_len) {
        json_error_t jerr;

        r->json = json_loadb(r->body, r->body_len, 0, &jerr);
        if (!r->json || !json_is_object(r->json)) {
            srv_error(r, 400, "bad_request", "the body must be a JSON object");
            goto done;
        }
    }
    /* An upload's second phase (srv_upload.h) was authenticated in its first. */
    if (!(r->route->flags & SRV_R_PUBLIC) && !r->authed && (authenticate(r, w) || authorise(r)))
        goto done;
    ((srv_handler_fn *)r->route->handler)(r, w);
    if (r->alert)
        await_alert(r);
    if (r->n_await) {
        /* The handler planned; the writer commits, then await_done answers
         * and hands the request back to the loop. Counted before the first
         * submit: the writer may finish one before the next is queued. */
        size_t n = r->n_await;
        chat_commit **items = r->await;
        srv *s = r->srv;

        if (is_send(r)) {
            r->t_submit_ns = base_now_ns();
            srv_metrics_stage(s->metrics, SRV_STAGE_QUEUE, r->t_work_ns - r->t0_ns);
            srv_metrics_stage(s->metrics, SRV_STAGE_PLAN, r->t_submit_ns - r->t_work_ns);
        }

        atomic_store(&r->await_left, n);
        for (size_t i = 0; i < n; i++) {
            items[i]->done = await_done;
            items[i]->arg = r;
        }
        /* Once the last is queued the request may be answered and freed
         * at any moment: nothing of it is read after that (locals only). */
        for (size_t i = 0; i < n; i++)
            srv_writer_submit(s, items[i]);
        return false;
    }
done:
    srv_req_serialise(r);
    return true;
}

/* ---- the loop side ----------------------------------------------------------- */

void srv_api_finish(srv_job *j, srv *s)
{
    srv_req *r = (srv_req *)j;
    srv_conn *c = j->conn;

    srv_metrics_request(s->metrics, r->route ? (size_t)(r->route - srv_routes) : (size_t)-1,
                        r->status, base_now_ns() - r->t0_ns);
    srv_deliver_events(s, j->events);
    srv_events_free(j->events);
    j->events = NULL;
    j->ev_tail = &j->events;
    if (!c) {
        srv_req_free(r);
        return;
    }
    j->conn = NULL;
    if (r->ws) {
        if (r->out && c->wsi)
            srv_conn_push(c, r->out);
        srv_req_free(r);
    } else if (c->wsi && !c->is_ws) {
        srv_req_free(c->req);
        c->req = r;
        c->req_in_flight = false;
        if (r->up && r->up->phase == SRV_UP_BODY && r->status == 100) {
            /* may stream: the body now goes to the staging file */
            if (srv_http_upload_resume(s, c))
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        } else {
            /* refused before its body was read: read and drop it, then
             * answer (srv_http_refuse_body) */
            if (r->up && r->up->stream && r->up->phase == SRV_UP_AUTH)
                srv_http_refuse_body(c, r);
            free(c->up_pre);
            c->up_pre = NULL;
            c->up_pre_len = 0;
            c->up_wait = false;
            c->up_body_done = false;
            if (r->up && r->up->stream)
                lws_rx_flow_control(c->wsi, 1); /* paused since begin() */
            lws_callback_on_writable(c->wsi);
        }
    } else
        srv_req_free(r);
    srv_conn_unref(c);
}
