/*
 * srv_h_auth.c — sign-in, sign-out, password, TOTP, own sessions, the
 * directory, health.
 *
 * Login answers unknown user, wrong password and disabled account with the
 * same 401 invalid_credentials; failures count per login name and per
 * address (srv_rate) on top of the account lockout acct_login keeps, so an
 * unknown name locks exactly like a real one.
 */
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_bus_redis.h"
#include "srv_log.h"
#include "srv_policy.h"
#include "srv_req.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_TTL_MS (7 * 24 * 3600 * 1000LL)

void srv_h_health(srv_req *r, srv_worker *w)
{
    guard_ruleset *rs = guard_engine_acquire(w->srv->engine);
    guard_ruleset_info info;
    char name[129];

    guard_ruleset_get_info(rs, &info);
    guard_ruleset_unref(rs);
    srv_reply(r, 200,
              json_pack("{s:b,s:s,s:{s:s,s:I,s:I}}", "ok", 1, "version", CORDON_VERSION, "policy",
                        "name", srv_policy_name(w->srv, name, sizeof name), "patterns",
                        (json_int_t)info.n_patterns, "terms", (json_int_t)info.n_terms));
}

/* Ready: this node can serve — its store answers (a read on the worker's
 * own handle), a policy is loaded and, with several nodes, the bus is up
 * (srv_bus_redis_ready: connected, heartbeats heard, a PING answered).
 * 503 names what is not ready, for a load balancer's health check and an
 * operator. The in-process bus is always up. */
void srv_h_ready(srv_req *r, srv_worker *w)
{
    guard_ruleset *rs = guard_engine_acquire(w->srv->engine);
    int version = 0, rc = store_schema_version(w->st, &version);
    bool bus = !w->srv->busr || srv_bus_redis_ready(w->srv->busr);
    bool ok = !rc && rs && bus;

    guard_ruleset_unref(rs);
    if (rc)
        SRV_WARN("ready", "store: %s (%s)", store_strerror(rc), store_errmsg(w->st));
    srv_reply(r, ok ? 200 : 503,
              json_pack("{s:b,s:s,s:s,s:s}", "ready", ok, "store", rc ? "unavailable" : "ok",
                        "policy", rs ? "ok" : "missing", "bus", bus ? "ok" : "unavailable"));
}

static char *cookie(srv *s, const char *token, long max_age)
{
    char buf[256];

    snprintf(buf, sizeof buf, "cordon_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
             token, max_age, s->cfg->tls_cert ? "; Secure" : "");
    return strdup(buf);
}

static bool enrol_needed(srv *s, const store_user *u)
{
    return s->cfg->totp_required[u->role] && !u->totp_enabled;
}

void srv_h_login(srv_req *r, srv_worker *w)
{
    srv *s = r->srv;
    const char *login_in = NULL, *password = NULL, *totp = NULL;
    char login[STORE_LOGIN_MAX + 1], token[ACCT_TOKEN_STRLEN + 1];
    store_user user = {0};
    int64_t sid = 0;
    int retry, rc;

    if (srv_body_str(r, "login", &login_in) || srv_body_str(r, "password", &password)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "login and password are required");
        return;
    }
    if (srv_body_str(r, "totp", &totp) < 0)
        return;
    snprintf(login, sizeof login, "%s", login_in);
    acct_login_normalise(login);
    retry = srv_rate_login_check(s->rate, login, r->address, r->now);
    if (retry) {
        r->retry_after = retry;
        srv_error(r, 429, "rate_limited", "too many failed sign-ins; retry in %d s", retry);
        return;
    }
    rc = acct_login(w->st, &s->login_pol, login, password, totp, r->address, r->now, &user, NULL);
    switch (rc) {
    case ACCT_OK:
        break;
    case ACCT_TOTP_REQUIRED:
        srv_error(r, 401, "totp_required", "enter the code from your authenticator");
        goto out;
    case ACCT_TOTP_INVALID:
        srv_rate_login_failed(s->rate, login, r->address, r->now);
        srv_error(r, 401, "totp_invalid", "the code is not valid");
        goto out;
    case ACCT_LOCKED:
        r->retry_after = s->cfg->login.lockout_seconds;
        srv_error(r, 429, "rate_limited", "too many failed sign-ins; retry later");
        goto out;
    case ACCT_BAD_CREDENTIALS:
    case ACCT_DISABLED:
        srv_rate_login_failed(s->rate, login, r->address, r->now);
        SRV_INFO("auth", "login failed from %s", r->address);
        srv_error(r, 401, "invalid_credentials", "wrong login or password");
        goto out;
    default:
        srv_store_error(r, w, rc, "login");
        goto out;
    }
    srv_rate_login_ok(s->rate, login, r->now);
    rc = acct_session_open(w->st, user.id, r->now, SESSION_TTL_MS, r->user_agent, r->address, token,
                           &sid);
    if (rc) {
        srv_store_error(r, w, rc, "session_open");
        goto out;
    }
    SRV_INFO("auth", "login user=%lld session=%lld from %s", (long long)user.id, (long long)sid,
             r->address);
    r->set_cookie = cookie(s, token, (long)(SESSION_TTL_MS / 1000));
    srv_reply(r, 200,
              json_pack("{s:s,s:I,s:o,s:b,s:b}", "token", token, "session_id", (json_int_t)sid,
                        "user", chat_json_user(&user, true), "must_change_password",
                        user.must_change_password, "totp_enrolment_required",
                        enrol_needed(s, &user)));
    sodium_memzero(token, sizeof token);
out:
    store_user_clear(&user);
}

void srv_h_logout(srv_req *r, srv_worker *w)
{
    int rc = store_session_revoke(w->st, r->sess.id, 0);

    if (rc && rc != STORE_NOTFOUND) {
        srv_store_error(r, w, rc, "logout");
        return;
    }
    srv_audit_req(r, w, "auth.logout", NULL, json_pack("{s:I}", "session", (json_int_t)r->sess.id));
    srv_emit(&r->job, SRV_EV_CLOSE_SESSION, NULL, r->sess.id, r->user.id, NULL, 0);
    r->set_cookie = strdup("cordon_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    srv_reply(r, 204, NULL);
}

/* The account module words why a password is refused in English; the web
 * client words it in the user's language from this code (docs/API.md). */
static const char *password_reason_code(const char *why)
{
    static const struct {
        const char *why, *code;
    } map[] = {
        {"no password", "empty"},
        {"longer than 1024 bytes", "too_long"},
        {"not valid UTF-8", "invalid_utf8"},
        {"contains control characters", "control_chars"},
        {"shorter than 10 characters", "too_short"},
        {"fewer than 5 different characters", "too_few_distinct"},
        {"contains the login name", "contains_login"},
        {"is the display name", "is_display_name"},
        {"is a commonly used password", "common"},
        {"is the current password", "same_as_old"},
    };

    for (size_t i = 0; why && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(why, map[i].why))
            return map[i].code;
    return "other";
}

void srv_h_password(srv_req *r, srv_worker *w)
{
    const char *old_pw = NULL, *new_pw = NULL, *reason = NULL;
    int rc;

    if (srv_body_str(r, "old_password", &old_pw) || srv_body_str(r, "new_password", &new_pw)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "old_password and new_password are required");
        return;
    }
    rc = acct_password_change(w->st, r->srv->cost, r->user.id, old_pw, new_pw, r->sess.id, r->now,
                              &reason);
    switch (rc) {
    case ACCT_OK:
        /* Other sessions were revoked with the change: close their sockets. */
        srv_emit(&r->job, SRV_EV_CLOSE_USER, NULL, r->sess.id, r->user.id, NULL, 0);
        srv_reply(r, 204, NULL);
        break;
    case ACCT_BAD_CREDENTIALS:
        srv_error(r, 401, "invalid_credentials", "the old password is wrong");
        break;
    case ACCT_WEAK_PASSWORD:
    case ACCT_INVAL:
        srv_error(r, 422, "invalid", "%s", reason ? reason : "the new password is not acceptable");
        json_object_set_new(json_object_get(r->resp, "error"), "reason",
                            json_string(password_reason_code(reason)));
        break;
    default:
        srv_store_error(r, w, rc, "password_change");
    }
}

void srv_h_me(srv_req *r, srv_worker *w)
{
    json_t *u = chat_json_user(&r->user, true);

    (void)w;
    if (u)
        json_object_set_new(u, "totp_enrolment_required",
                            json_boolean(enrol_needed(r->srv, &r->user)));
    srv_reply(r, 200, u);
}

void srv_h_totp_enrol(srv_req *r, srv_worker *w)
{
    char b32[ACCT_TOTP_B32_MAX];
    char *uri = NULL;
    int rc = acct_totp_enrol(w->st, r->user.id, "Cordon", b32, &uri, r->now);

    /* acct refuses a second enrolment over a live secret (ACCT_INVAL): the
     * caller's state, not a server fault. */
    if (rc == ACCT_INVAL) {
        srv_error(r, 409, "totp_already_enabled",
                  "TOTP is already enabled; an administrator must reset it first");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, "totp_enrol");
        return;
    }
    srv_reply(r, 200, json_pack("{s:s,s:s}", "secret", b32, "otpauth_uri", uri));
    sodium_memzero(b32, sizeof b32);
    free(uri);
}

void srv_h_totp_confirm(srv_req *r, srv_worker *w)
{
    const char *code = NULL;
    int rc;

    if (srv_body_str(r, "code", &code)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "code is required");
        return;
    }
    rc = acct_totp_confirm(w->st, r->user.id, code, r->now);
    if (rc == ACCT_OK)
        srv_reply(r, 204, NULL);
    else if (rc == ACCT_TOTP_INVALID)
        srv_error(r, 422, "invalid", "the code is not valid");
    else if (rc == ACCT_INVAL)
        srv_error(r, 422, "invalid", "no TOTP enrolment is pending");
    else
        srv_store_error(r, w, rc, "totp_confirm");
}

json_t *srv_sessions_json(const store_sessions *l, int64_t current)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < l->n; i++)
        json_array_append_new(arr, chat_json_session(&l->items[i], current));
    return json_pack("{s:o}", "sessions", arr);
}

void srv_h_sessions(srv_req *r, srv_worker *w)
{
    store_sessions l = {0};
    int rc = store_session_list(w->st, r->user.id, r->now, &l);

    if (rc) {
        srv_store_error(r, w, rc, "session_list");
        return;
    }
    srv_reply(r, 200, srv_sessions_json(&l, r->sess.id));
    store_sessions_free(&l);
}

void srv_h_session_delete(srv_req *r, srv_worker *w)
{
    int rc = store_session_revoke(w->st, r->ids[0], r->user.id);
    char target[48];

    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such session");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, "session_revoke");
        return;
    }
    snprintf(target, sizeof target, "session:%lld", (long long)r->ids[0]);
    srv_audit_req(r, w, "session.revoke", target, NULL);
    srv_emit(&r->job, SRV_EV_CLOSE_SESSION, NULL, r->ids[0], r->user.id, NULL, 0);
    srv_reply(r, 204, NULL);
}

void srv_h_users(srv_req *r, srv_worker *w)
{
    store_users l = {0};
    json_t *arr;
    int rc = store_user_list(w->st, false, &l);

    if (rc) {
        srv_store_error(r, w, rc, "user_list");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++)
        json_array_append_new(arr, chat_json_user(&l.items[i], false));
    srv_reply(r, 200, json_pack("{s:o}", "users", arr));
    store_users_free(&l);
}
