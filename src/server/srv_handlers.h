/*
 * srv_handlers.h — the request handlers (srv_h_*.c) and the route table
 * that names them (srv_api.c).
 *
 * A handler runs on a worker with an authenticated, authorised request
 * (r->user, r->sess; r->json the body object or NULL) and answers with
 * srv_reply()/srv_error(). Chat handlers are thin: they decode the
 * request, call the chat domain's plan, and hand its commit to the writer
 * (srv_req_await); the writer answers after the commit.
 */
#ifndef SRV_HANDLERS_H
#define SRV_HANDLERS_H

#include "chat/chat_view.h"
#include "srv_int.h"
#include "srv_req.h"

typedef void srv_handler_fn(srv_req *r, srv_worker *w);

extern const srv_route srv_routes[];
extern const size_t srv_n_routes;

/* ---- helpers for handlers (srv_api.c) ---- */

/* Builds r->out from r->status/r->resp (HTTP body or WebSocket frame). */
void srv_req_serialise(srv_req *r);

/* Body fields. Each returns 0 when present and of the right type, 1 when
 * absent (out untouched), -1 when present with the wrong type (and has
 * answered 400). */
int srv_body_str(srv_req *r, const char *key, const char **out);
int srv_body_int(srv_req *r, const char *key, int64_t *out);
int srv_body_bool(srv_req *r, const char *key, bool *out);
/* Query parameters: 0 present, 1 absent, -1 malformed (answered 400). */
int srv_query_int(srv_req *r, const char *key, int64_t *out);
int srv_query_str(srv_req *r, const char *key, char *buf, size_t cap);
/* Membership check: STORE_OK with the caller's role, or has answered 404
 * (not a member and no such conversation look the same) / 500. */
int srv_require_member(srv_req *r, srv_worker *w, int64_t conv_id, store_member_role *role);
/* Audit with the request's user as actor. */
void srv_audit_req(srv_req *r, srv_worker *w, const char *event, const char *target,
                   json_t *detail);
/* Publishes a conversation event (CHAT_EV_CONVERSATION named `type`,
 * fields obj, stolen) to the members of conv_id (loaded here). */
void srv_emit_conv(srv_req *r, srv_worker *w, int64_t conv_id, const char *type, json_t *obj);

/* ---- the chat domain's side of a request (srv_api.c) ---- */

/* The worker's view of the chat domain, and the request's caller. */
chat_env srv_chat_env(srv_worker *w);
chat_caller srv_caller(const srv_req *r);
/* Answers with a chat outcome (steals its extra). */
void srv_reply_outcome(srv_req *r, chat_outcome *o);
/* after_commit of a request with one commit (r->commit): its outcome. */
void srv_answer_commit(srv_req *r);
/* Hands items[0..n) (owned by the request: r->commit or r->forward) to the
 * writer once the handler returns; when the last is done, after(r) builds
 * the answer (NULL: keep the one set) and the request goes back to the
 * loop. */
void srv_req_await(srv_req *r, chat_commit **items, size_t n, void (*after)(srv_req *r));
/* The caller as a viewer of conv_id (chat_view.h): STORE_OK, or has
 * answered (404 when not a member, as srv_require_member). */
int srv_viewer_load(srv_req *r, srv_worker *w, int64_t conv_id, chat_viewer *v,
                    store_member_role *role);

/* ---- srv_h_auth.c ---- */
json_t *srv_sessions_json(const store_sessions *l, int64_t current);
srv_handler_fn srv_h_health, srv_h_ready, srv_h_login, srv_h_logout, srv_h_password, srv_h_me,
    srv_h_totp_enrol, srv_h_totp_confirm, srv_h_sessions, srv_h_session_delete, srv_h_users;

/* ---- srv_h_admin.c ---- */
srv_handler_fn srv_h_admin_users, srv_h_admin_user_create, srv_h_admin_user_patch,
    srv_h_admin_reset_pw, srv_h_admin_user_sessions, srv_h_admin_user_sessions_delete;

/* ---- srv_h_policy.c ---- */
srv_handler_fn srv_h_admin_policy, srv_h_admin_policy_reload, srv_h_policy_validate,
    srv_h_policy_put, srv_h_lexicons, srv_h_lexicon_get, srv_h_lexicon_validate, srv_h_lexicon_put,
    srv_h_lexicon_delete;

/* ---- srv_h_conv.c ---- */
srv_handler_fn srv_h_convs, srv_h_conv_create, srv_h_conv_get, srv_h_conv_patch, srv_h_member_add,
    srv_h_member_remove, srv_h_member_role, srv_h_conv_leave;

/* ---- srv_h_msg.c ---- */
srv_handler_fn srv_h_history, srv_h_send, srv_h_recall, srv_h_forward, srv_h_read,
    srv_h_guard_check, srv_h_report;

/* ---- srv_h_work.c ---- */
srv_handler_fn srv_h_reminders, srv_h_reminder_create, srv_h_reminder_patch, srv_h_reminder_delete,
    srv_h_burn_open, srv_h_user_card;

/* ---- srv_h_officer.c ---- */
srv_handler_fn srv_h_alerts, srv_h_alert_get, srv_h_alert_ack, srv_h_alert_resolve, srv_h_audit,
    srv_h_audit_verify, srv_h_reports;

/* ---- srv_h_trace.c ---- */
srv_handler_fn srv_h_spread, srv_h_contain, srv_h_context, srv_h_stats;
/* srv_h_export.c: the compliance export */
srv_handler_fn srv_h_export;

/* ---- srv_static.c ---- */
/* The worker side of a GET/HEAD outside /api/: a file of the web client
 * (or its index.html for a client-side route), 404/405 JSON otherwise. */
bool srv_static_work(srv_job *j, srv_worker *w);

/* files: tus uploads (srv_upload.c), downloads (srv_h_file.c) */
void srv_h_upload_options(srv_req *r, srv_worker *w);
void srv_h_upload_create(srv_req *r, srv_worker *w);
void srv_h_upload_patch(srv_req *r, srv_worker *w);
void srv_h_upload_head(srv_req *r, srv_worker *w);
void srv_h_upload_get(srv_req *r, srv_worker *w);
void srv_h_upload_delete(srv_req *r, srv_worker *w);
void srv_h_file_get(srv_req *r, srv_worker *w);
void srv_h_file_thumb(srv_req *r, srv_worker *w);
/* srv_h_ocr.c: 识别文字, a user's text recognition of a picture */
void srv_h_file_ocr(srv_req *r, srv_worker *w);
void srv_h_officer_file_text(srv_req *r, srv_worker *w);

#endif
