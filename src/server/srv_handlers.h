/*
 * srv_handlers.h — the request handlers (srv_h_*.c) and the route table
 * that names them (srv_api.c).
 *
 * A handler runs on a worker with an authenticated, authorised request
 * (r->user, r->sess; r->json the body object or NULL) and answers with
 * srv_reply()/srv_error(). It may queue events (srv_emit) and may hand the
 * request to the writer (message sends: r->append), in which case it
 * returns with r->append set and the writer finishes it.
 */
#ifndef SRV_HANDLERS_H
#define SRV_HANDLERS_H

#include "srv_int.h"

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
/* Serialises an event for the members of a conversation (loaded here) and
 * queues it. */
void srv_emit_conv(srv_req *r, srv_worker *w, int64_t conv_id, const char *type, json_t *obj);

/* ---- srv_h_auth.c ---- */
json_t *srv_sessions_json(const store_sessions *l, int64_t current);
srv_handler_fn srv_h_health, srv_h_login, srv_h_logout, srv_h_password, srv_h_me, srv_h_totp_enrol,
    srv_h_totp_confirm, srv_h_sessions, srv_h_session_delete, srv_h_users;

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
    srv_h_guard_check;
/* The writer committed (or failed) r->append: build the reply and events. */
void srv_msg_committed(srv_req *r, store *st);

/* ---- srv_h_officer.c ---- */
srv_handler_fn srv_h_alerts, srv_h_alert_get, srv_h_alert_ack, srv_h_alert_resolve, srv_h_audit,
    srv_h_audit_verify;

#endif
