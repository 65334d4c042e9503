/*
 * srv_h_admin.c — account administration (role admin). The policy and
 * lexicons are managed in srv_h_policy.c.
 *
 * Every change that takes rights away takes effect at once: disabling an
 * account or resetting its password revokes its sessions in the store and
 * closes its open WebSockets through the bus.
 */
#include "srv_handlers.h"
#include "chat/chat_json.h"
#include "srv_log.h"
#include "srv_text.h"
#include "srv_req.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_h_admin_users(srv_req *r, srv_worker *w)
{
    store_users l = {0};
    json_t *arr;
    int rc = store_user_list(w->st, true, &l);

    if (rc) {
        srv_store_error(r, w, rc, "user_list");
        return;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < l.n; i++)
        json_array_append_new(arr, chat_json_user(&l.items[i], true));
    srv_reply(r, 200, json_pack("{s:o}", "users", arr));
    store_users_free(&l);
}

void srv_h_admin_user_create(srv_req *r, srv_worker *w)
{
    const char *login = NULL, *display = NULL, *role_s = NULL, *password = NULL;
    char otp[ACCT_OTP_LEN + 1] = "", lbuf[STORE_LOGIN_MAX + 1], *checked = NULL;
    bool external = false;
    store_user u = {0};
    int64_t id = 0;
    int role = STORE_ROLE_MEMBER, rc;

    if (srv_body_str(r, "login", &login)) {
        if (r->status == 500)
            srv_error(r, 400, "bad_request", "login is required");
        return;
    }
    if (srv_body_str(r, "display_name", &display) < 0 || srv_body_str(r, "role", &role_s) < 0 ||
        srv_body_str(r, "password", &password) < 0 || srv_body_bool(r, "external", &external) < 0)
        return;
    if (role_s && (role = store_role_parse(role_s)) < 0) {
        srv_error(r, 422, "invalid", "role must be member, officer or admin");
        return;
    }
    /* Every account is in the directory external accounts read (GET
     * /users): a display name passes the external scope (srv_text.h). */
    if (display && srv_text_check(r, w, "display_name", SRV_DISPLAY_NAME_MAX_CHARS,
                                  GUARD_SCOPE_EXTERNAL, 0, &checked))
        return;
    display = checked;
    snprintf(lbuf, sizeof lbuf, "%s", login);
    acct_login_normalise(lbuf);
    rc = acct_user_add(w->st, r->srv->cost, lbuf, display, (store_role)role, external, password,
                       otp, r->user.id, r->user.login, r->now, &id);
    switch (rc) {
    case ACCT_OK:
        break;
    case ACCT_EXISTS:
        srv_error(r, 409, "conflict", "that login is taken");
        goto out;
    case ACCT_BAD_LOGIN:
        srv_error(r, 422, "invalid", "a login is 1-64 characters of a-z, 0-9, '.', '_', '-'");
        goto out;
    case ACCT_WEAK_PASSWORD:
        srv_error(r, 422, "invalid", "the password is too weak");
        goto out;
    default:
        srv_store_error(r, w, rc, "user_add");
        goto out;
    }
    rc = store_user_get(w->st, id, &u);
    if (rc) {
        srv_store_error(r, w, rc, "user_get");
        goto out;
    }
    /* The one-time password is shown once, to the admin who made it. */
    srv_reply(r, 201,
              json_pack("{s:o,s:o}", "user", chat_json_user(&u, true), "password",
                        password ? json_null() : json_string(otp)));
out:
    sodium_memzero(otp, sizeof otp);
    free(checked);
    store_user_clear(&u);
}

void srv_h_admin_user_patch(srv_req *r, srv_worker *w)
{
    const char *role_s = NULL, *display = NULL;
    bool disabled = false;
    store_user_patch p = {.now = r->now};
    store_user u = {0};
    char target[48], *checked = NULL;
    int rc, role;

    if (srv_body_str(r, "role", &role_s) < 0 || srv_body_str(r, "display_name", &display) < 0)
        return;
    /* A work phone (contact cards): digits, spaces, + and -; "" or null
     * clears it. */
    if (json_object_get(r->json, "phone")) {
        const char *ph = NULL;

        if (srv_body_str(r, "phone", &ph) < 0)
            return;
        if (ph && (strlen(ph) > 32 || strspn(ph, "0123456789+- ") != strlen(ph))) {
            srv_error(r, 422, "invalid", "phone: digits, spaces, + and - only (32 at most)");
            /* the client words it (err.invalid.phone) */
            json_object_set_new(json_object_get(r->resp, "error"), "field", json_string("phone"));
            return;
        }
        p.fields |= STORE_USER_PHONE;
        p.phone = ph && *ph ? ph : NULL;
    }
    /* A department (the statistics' department dimension): a name, guarded
     * like a display name since officers see it; "" or null clears it. */
    if (json_object_get(r->json, "department")) {
        const char *dep = NULL;

        if (srv_body_str(r, "department", &dep) < 0)
            return;
        if (dep && *dep) {
            char *dchecked = NULL;

            if (srv_text_check(r, w, "department", SRV_DEPARTMENT_MAX_CHARS, GUARD_SCOPE_EXTERNAL,
                               0, &dchecked))
                return;
            rc = json_object_set_new(r->json, "department", json_string(dchecked));
            free(dchecked);
            if (rc) {
                srv_error(r, 500, "internal", "out of memory");
                return;
            }
            dep = json_string_value(json_object_get(r->json, "department"));
        }
        p.fields |= STORE_USER_DEPARTMENT;
        p.department = dep && *dep ? dep : NULL;
    }
    rc = srv_body_bool(r, "disabled", &disabled);
    if (rc < 0)
        return;
    if (!rc) {
        p.fields |= STORE_USER_DISABLED;
        p.disabled = disabled;
    }
    if (role_s) {
        role = store_role_parse(role_s);
        if (role < 0) {
            srv_error(r, 422, "invalid", "role must be member, officer or admin");
            return;
        }
        p.fields |= STORE_USER_ROLE;
        p.role = (store_role)role;
    }
    if (display) {
        /* As at creation: the external scope (the directory). */
        if (srv_text_check(r, w, "display_name", SRV_DISPLAY_NAME_MAX_CHARS, GUARD_SCOPE_EXTERNAL,
                           0, &checked))
            return;
        /* The body holds what is stored (masked), for the audit below. */
        rc = json_object_set_new(r->json, "display_name", json_string(checked));
        free(checked);
        if (rc) {
            srv_error(r, 500, "internal", "out of memory");
            return;
        }
        p.fields |= STORE_USER_DISPLAY_NAME;
        p.display_name = json_string_value(json_object_get(r->json, "display_name"));
    }
    if (r->ids[0] == r->user.id && (p.fields & (STORE_USER_ROLE | STORE_USER_DISABLED)) &&
        (disabled || (role_s && p.role != STORE_ROLE_ADMIN))) {
        srv_error(r, 422, "invalid", "you cannot demote or disable yourself");
        return;
    }
    rc = p.fields ? store_user_update(w->st, r->ids[0], &p) : STORE_OK;
    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such user");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, "user_update");
        return;
    }
    snprintf(target, sizeof target, "user:%lld", (long long)r->ids[0]);
    if (p.fields) {
        /* The audit log is append-only: it records that a phone number was
         * set or cleared, never the number (personal data). */
        json_t *d = json_deep_copy(r->json);

        if (d && (p.fields & STORE_USER_PHONE))
            json_object_set_new(d, "phone", json_string(p.phone ? "set" : "cleared"));
        srv_audit_req(r, w, "user.update", target, d);
    }
    /* Disabling ends open sockets now. A role change changes what they may
     * receive (alerts): srv_acctwatch.c, which follows every process's
     * account changes, makes them reconnect with the new role within a
     * quarter second; closing them here as well would close the reconnected
     * sockets a second time. */
    if ((p.fields & STORE_USER_DISABLED) && p.disabled)
        srv_emit(&r->job, SRV_EV_CLOSE_USER, NULL, 0, r->ids[0], NULL, 0);
    rc = store_user_get(w->st, r->ids[0], &u);
    if (rc) {
        srv_store_error(r, w, rc, "user_get");
        return;
    }
    srv_reply(r, 200, chat_json_user(&u, true));
    store_user_clear(&u);
}

void srv_h_admin_reset_pw(srv_req *r, srv_worker *w)
{
    char otp[ACCT_OTP_LEN + 1];
    int rc =
        acct_password_reset(w->st, r->srv->cost, r->ids[0], otp, r->user.id, r->user.login, r->now);

    if (rc == STORE_NOTFOUND) {
        srv_error(r, 404, "not_found", "no such user");
        return;
    }
    if (rc) {
        srv_store_error(r, w, rc, "password_reset");
        return;
    }
    srv_emit(&r->job, SRV_EV_CLOSE_USER, NULL, 0, r->ids[0], NULL, 0);
    srv_reply(r, 200, json_pack("{s:s}", "password", otp));
    sodium_memzero(otp, sizeof otp);
}

void srv_h_admin_user_sessions(srv_req *r, srv_worker *w)
{
    store_sessions l = {0};
    int rc = store_session_list(w->st, r->ids[0], r->now, &l);

    if (rc) {
        srv_store_error(r, w, rc, "session_list");
        return;
    }
    srv_reply(r, 200, srv_sessions_json(&l, r->sess.id));
    store_sessions_free(&l);
}

void srv_h_admin_user_sessions_delete(srv_req *r, srv_worker *w)
{
    int64_t n = 0;
    char target[48];
    int rc = store_session_revoke_user(w->st, r->ids[0], 0, &n);

    if (rc) {
        srv_store_error(r, w, rc, "session_revoke_user");
        return;
    }
    snprintf(target, sizeof target, "user:%lld", (long long)r->ids[0]);
    srv_audit_req(r, w, "session.revoke_all", target,
                  json_pack("{s:I}", "sessions", (json_int_t)n));
    srv_emit(&r->job, SRV_EV_CLOSE_USER, NULL, 0, r->ids[0], NULL, 0);
    srv_reply(r, 204, NULL);
}
