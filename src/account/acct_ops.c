/*
 * acct_ops.c — account operations on the store: login with lockout and
 * TOTP, sessions, adding accounts, password reset and change, TOTP
 * enrolment, and the first-start admin. Each one writes its audit entry in
 * the same transaction as its change (docs/AUDIT.md lists the events).
 *
 * Slow work (argon2) is always done BEFORE the write transaction opens, so
 * a login never holds the database's write lock while hashing.
 */
#include "account/acct.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const acct_login_policy acct_login_policy_default = {
    .max_failures = 5,
    .lockout_ms = 15 * 60 * 1000,
    .totp_required_privileged = false,
    .cost = NULL,
};

bool acct_login_valid(const char *login)
{
    size_t n;

    if (!login)
        return false;
    n = strlen(login);
    if (!n || n > STORE_LOGIN_MAX)
        return false;
    if (!((login[0] >= 'a' && login[0] <= 'z') || (login[0] >= '0' && login[0] <= '9')))
        return false;
    return strspn(login, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

char *acct_login_normalise(char *login)
{
    for (char *p = login; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return login;
}

/* Appends an audit entry; detail (may be NULL) is consumed. */
static int audit(store *s, int64_t now, int64_t actor_id, const char *actor, const char *event,
                 const char *target, json_t *detail)
{
    store_audit_new e = {
        .time = now, .actor_id = actor_id, .actor = actor, .event = event, .target = target};
    char *text = NULL;
    int rc = STORE_NOMEM;

    if (detail) {
        text = json_dumps(detail, JSON_SORT_KEYS | JSON_COMPACT);
        if (!text)
            goto fail;
    }
    e.detail = text;
    rc = store_audit_append(s, &e, NULL);
fail:
    free(text);
    json_decref(detail);
    return rc;
}

static void user_target(char buf[32], int64_t id)
{
    snprintf(buf, 32, "user:%lld", (long long)id);
}

/* Opens a write group unless the caller already has one: *own tells
 * whether finish() must commit it. */
static int group_begin(store *s, bool *own)
{
    int rc = store_tx_begin(s);

    *own = rc == STORE_OK;
    return rc == STORE_INVAL ? STORE_OK : rc;
}

static int group_end(store *s, bool own, int rc)
{
    if (!own)
        return rc;
    if (rc) {
        store_tx_rollback(s);
        return rc;
    }
    return store_tx_commit(s);
}

/* ---------------------------------------------------------------- login */

static int login_failed(store *s, const acct_login_policy *pol, const store_user *u,
                        const char *why, const char *address, int64_t now)
{
    store_user_patch p = {.fields = STORE_USER_LOCKOUT, .now = now};
    char target[32];
    bool own;
    int rc;

    p.failed_logins = u->failed_logins + 1;
    p.locked_until = u->locked_until;
    if (p.failed_logins >= pol->max_failures) {
        p.failed_logins = 0;
        p.locked_until = now + pol->lockout_ms;
    }
    user_target(target, u->id);
    rc = group_begin(s, &own);
    if (rc)
        return rc;
    rc = store_user_update(s, u->id, &p);
    if (!rc)
        rc = audit(s, now, 0, NULL, "auth.login_failed", target,
                   json_pack("{s:s, s:s?}", "reason", why, "address", address));
    if (!rc && p.locked_until != u->locked_until)
        rc = audit(s, now, 0, NULL, "auth.locked", target,
                   json_pack("{s:I}", "until", (json_int_t)p.locked_until));
    return group_end(s, own, rc);
}

int acct_login(store *s, const acct_login_policy *pol, const char *login, const char *password,
               const char *totp, const char *address, int64_t now, store_user *user,
               bool *enrol_needed)
{
    char hash[ACCT_HASH_MAX], target[32];
    int64_t step = 0;
    bool own;
    int rc;

    memset(user, 0, sizeof *user);
    if (enrol_needed)
        *enrol_needed = false;
    if (!pol)
        pol = &acct_login_policy_default;
    if (!login || !password)
        return ACCT_BAD_CREDENTIALS;
    rc = store_user_get_by_login(s, login, user);
    if (rc == STORE_NOTFOUND) {
        /* Same cost as a real verify, so timing does not tell unknown
         * logins apart; the login itself is not recorded (people type
         * passwords into the login field). */
        acct_password_hash(password, pol->cost, hash);
        sodium_memzero(hash, sizeof hash);
        rc = audit(s, now, 0, NULL, "auth.login_failed", "",
                   json_pack("{s:s, s:s?}", "reason", "unknown_login", "address", address));
        return rc ? rc : ACCT_BAD_CREDENTIALS;
    }
    if (rc)
        return rc;
    if (user->locked_until > now) {
        rc = audit(s, now, 0, NULL, "auth.login_failed", (user_target(target, user->id), target),
                   json_pack("{s:s, s:s?}", "reason", "locked", "address", address));
        rc = rc ? rc : ACCT_LOCKED;
        goto fail;
    }
    if (acct_password_verify(user->password_hash, password) != ACCT_OK) {
        rc = login_failed(s, pol, user, "bad_password", address, now);
        rc = rc ? rc : ACCT_BAD_CREDENTIALS;
        goto fail;
    }
    if (user->disabled) {
        rc = audit(s, now, 0, NULL, "auth.login_failed", (user_target(target, user->id), target),
                   json_pack("{s:s, s:s?}", "reason", "disabled", "address", address));
        rc = rc ? rc : ACCT_DISABLED;
        goto fail;
    }
    if (user->totp_enabled) {
        if (!totp || !*totp) {
            rc = ACCT_TOTP_REQUIRED;
            goto fail;
        }
        rc = acct_totp_check(user->totp_secret, totp, now / 1000, user->totp_last_step, &step);
        if (rc == ACCT_OK)
            rc = store_user_totp_use_step(s, user->id, step);
        if (rc == STORE_CONFLICT || rc == ACCT_TOTP_INVALID || rc == ACCT_INVAL) {
            rc = login_failed(s, pol, user, "bad_totp", address, now);
            rc = rc ? rc : ACCT_TOTP_INVALID;
        }
        if (rc)
            goto fail;
    }
    /* Success: reset the failure count, upgrade an old hash, audit. */
    if (acct_password_needs_rehash(user->password_hash, pol->cost) &&
        acct_password_hash(password, pol->cost, hash) != ACCT_OK)
        hash[0] = 0;
    else if (!acct_password_needs_rehash(user->password_hash, pol->cost))
        hash[0] = 0;
    user_target(target, user->id);
    rc = group_begin(s, &own);
    if (rc)
        goto fail;
    if (user->failed_logins || user->locked_until) {
        store_user_patch p = {.fields = STORE_USER_LOCKOUT, .now = now};

        rc = store_user_update(s, user->id, &p);
        user->failed_logins = 0;
        user->locked_until = 0;
    }
    if (!rc && hash[0]) {
        store_user_patch p = {.fields = STORE_USER_PASSWORD,
                              .password_hash = hash,
                              .must_change_password = user->must_change_password,
                              .now = now};

        rc = store_user_update(s, user->id, &p);
    }
    if (!rc)
        rc = audit(s, now, user->id, user->login, "auth.login", target,
                   json_pack("{s:s?, s:b}", "address", address, "totp", user->totp_enabled));
    rc = group_end(s, own, rc);
    if (!rc && enrol_needed)
        *enrol_needed =
            pol->totp_required_privileged && user->role != STORE_ROLE_MEMBER && !user->totp_enabled;
fail:
    sodium_memzero(hash, sizeof hash);
    if (rc)
        store_user_clear(user);
    return rc;
}

/* ------------------------------------------------------------- sessions */

int acct_session_open(store *s, int64_t user_id, int64_t now, int64_t ttl_ms,
                      const char *user_agent, const char *address,
                      char token[ACCT_TOKEN_STRLEN + 1], int64_t *session_id)
{
    store_session_new n = {
        .user_id = user_id, .now = now, .user_agent = user_agent, .address = address};
    int rc;

    if (ttl_ms <= 0)
        return ACCT_INVAL;
    n.expires_at = now + ttl_ms;
    acct_token_new(token, n.token_hash);
    rc = store_session_create(s, &n, session_id);
    if (rc)
        sodium_memzero(token, ACCT_TOKEN_STRLEN + 1);
    return rc;
}

int acct_session_check(store *s, const char *token, int64_t now, store_session *sess,
                       store_user *user)
{
    uint8_t hash[STORE_TOKEN_HASH_LEN];
    store_user tmp = {0}, *u = user ? user : &tmp;
    int rc;

    memset(sess, 0, sizeof *sess);
    if (user)
        memset(user, 0, sizeof *user);
    if (acct_token_hash(token, hash) != ACCT_OK)
        return STORE_NOTFOUND;
    rc = store_session_lookup(s, hash, now, sess, u);
    if (!rc && u->disabled) {
        store_session_clear(sess);
        store_user_clear(u);
        rc = ACCT_DISABLED;
    }
    store_user_clear(&tmp);
    return rc;
}

/* ------------------------------------------------------------ accounts */

static int user_add(store *s, const acct_cost *cost, const char *event, const char *login,
                    const char *display_name, store_role role, bool external, const char *password,
                    char otp_out[ACCT_OTP_LEN + 1], int64_t actor_id, const char *actor,
                    int64_t now, int64_t *id_out)
{
    store_user_new u = {.display_name = display_name,
                        .role = role,
                        .external = external,
                        .must_change_password = password == NULL,
                        .now = now};
    char hash[ACCT_HASH_MAX], target[32], name[STORE_LOGIN_MAX + 1];
    int64_t id = 0;
    bool own;
    int rc;

    if (id_out)
        *id_out = 0;
    if (!login || strlen(login) > STORE_LOGIN_MAX)
        return ACCT_BAD_LOGIN;
    snprintf(name, sizeof name, "%s", login);
    acct_login_normalise(name);
    if (!acct_login_valid(name))
        return ACCT_BAD_LOGIN;
    if ((unsigned)role > STORE_ROLE_ADMIN || (!password && !otp_out))
        return ACCT_INVAL;
    if (password) {
        rc = acct_password_check(password, name, display_name, NULL);
        if (rc)
            return rc;
    } else {
        acct_otp_generate(otp_out);
        password = otp_out;
    }
    rc = acct_password_hash(password, cost, hash);
    if (rc)
        goto fail;
    u.login = name;
    u.password_hash = hash;
    rc = group_begin(s, &own);
    if (rc)
        goto fail;
    rc = store_user_create(s, &u, &id);
    if (!rc) {
        user_target(target, id);
        rc = audit(s, now, actor_id, actor, event, target,
                   json_pack("{s:s, s:s, s:b}", "login", name, "role", store_role_name(role),
                             "external", external));
    }
    rc = group_end(s, own, rc);
    if (rc == STORE_CONFLICT)
        rc = ACCT_EXISTS;
    if (!rc && id_out)
        *id_out = id;
fail:
    sodium_memzero(hash, sizeof hash);
    if (rc && otp_out)
        sodium_memzero(otp_out, ACCT_OTP_LEN + 1);
    return rc;
}

int acct_user_add(store *s, const acct_cost *cost, const char *login, const char *display_name,
                  store_role role, bool external, const char *password,
                  char otp_out[ACCT_OTP_LEN + 1], int64_t actor_id, const char *actor, int64_t now,
                  int64_t *id_out)
{
    return user_add(s, cost, "user.add", login, display_name, role, external, password, otp_out,
                    actor_id, actor, now, id_out);
}

int acct_bootstrap_admin(store *s, const acct_cost *cost, int64_t now,
                         char otp_out[ACCT_OTP_LEN + 1], bool *created)
{
    int64_t n = 0;
    int rc;

    *created = false;
    rc = store_user_count(s, &n);
    if (rc || n)
        return rc;
    rc = user_add(s, cost, "user.bootstrap", "admin", "Administrator", STORE_ROLE_ADMIN, false,
                  NULL, otp_out, 0, NULL, now, NULL);
    if (rc == ACCT_EXISTS) /* another process bootstrapped at the same moment */
        return ACCT_OK;
    if (!rc)
        *created = true;
    return rc;
}

/* A new password (p) stored in one group with its consequences: every
 * session of the user but keep_session_id revoked, `event` audited. */
static int save_password(store *s, int64_t user_id, const store_user_patch *p,
                         int64_t keep_session_id, int64_t actor_id, const char *actor,
                         const char *event, int64_t now)
{
    char target[32];
    bool own;
    int rc;

    user_target(target, user_id);
    rc = group_begin(s, &own);
    if (rc)
        return rc;
    rc = store_user_update(s, user_id, p);
    if (!rc)
        rc = store_session_revoke_user(s, user_id, keep_session_id, NULL);
    if (!rc)
        rc = audit(s, now, actor_id, actor, event, target, NULL);
    return group_end(s, own, rc);
}

int acct_password_reset(store *s, const acct_cost *cost, int64_t user_id,
                        char otp_out[ACCT_OTP_LEN + 1], int64_t actor_id, const char *actor,
                        int64_t now)
{
    store_user_patch p = {.fields = STORE_USER_PASSWORD | STORE_USER_LOCKOUT,
                          .must_change_password = true,
                          .now = now};
    char hash[ACCT_HASH_MAX];
    int rc;

    acct_otp_generate(otp_out);
    rc = acct_password_hash(otp_out, cost, hash);
    if (rc)
        goto fail;
    p.password_hash = hash;
    rc = save_password(s, user_id, &p, 0, actor_id, actor, "user.reset_password", now);
fail:
    sodium_memzero(hash, sizeof hash);
    if (rc)
        sodium_memzero(otp_out, ACCT_OTP_LEN + 1);
    return rc;
}

int acct_password_change(store *s, const acct_cost *cost, int64_t user_id, const char *old_pw,
                         const char *new_pw, int64_t keep_session_id, int64_t now,
                         const char **reason)
{
    store_user u = {0};
    store_user_patch p = {.fields = STORE_USER_PASSWORD, .must_change_password = false};
    char hash[ACCT_HASH_MAX] = "";
    int rc;

    if (reason)
        *reason = NULL;
    rc = store_user_get(s, user_id, &u);
    if (rc)
        goto fail;
    if (!old_pw || acct_password_verify(u.password_hash, old_pw) != ACCT_OK) {
        rc = ACCT_BAD_CREDENTIALS;
        goto fail;
    }
    rc = acct_password_check(new_pw, u.login, u.display_name, reason);
    if (!rc && !strcmp(old_pw, new_pw)) {
        if (reason)
            *reason = "is the current password";
        rc = ACCT_WEAK_PASSWORD;
    }
    if (rc)
        goto fail;
    rc = acct_password_hash(new_pw, cost, hash);
    if (rc)
        goto fail;
    p.password_hash = hash;
    p.now = now;
    rc = save_password(s, user_id, &p, keep_session_id, user_id, u.login, "auth.password_changed",
                       now);
fail:
    sodium_memzero(hash, sizeof hash);
    store_user_clear(&u);
    return rc;
}

int acct_totp_enrol(store *s, int64_t user_id, const char *issuer, char b32[ACCT_TOTP_B32_MAX],
                    char **uri, int64_t now)
{
    store_user u = {0};
    store_user_patch p = {.fields = STORE_USER_TOTP, .totp_enabled = false, .now = now};
    int rc;

    *uri = NULL;
    rc = store_user_get(s, user_id, &u);
    if (rc)
        goto fail;
    if (u.totp_enabled) {
        rc = ACCT_INVAL; /* disable first (admin reset) to re-enrol */
        goto fail;
    }
    acct_totp_secret_new(b32);
    rc = acct_totp_uri(issuer ? issuer : "Cordon", u.login, b32, uri);
    if (rc)
        goto fail;
    p.totp_secret = b32;
    rc = store_user_update(s, user_id, &p);
fail:
    if (rc) {
        free(*uri);
        *uri = NULL;
        sodium_memzero(b32, ACCT_TOTP_B32_MAX);
    }
    store_user_clear(&u);
    return rc;
}

int acct_totp_confirm(store *s, int64_t user_id, const char *code, int64_t now)
{
    store_user u = {0};
    store_user_patch p = {.fields = STORE_USER_TOTP, .totp_enabled = true, .now = now};
    char target[32];
    int64_t step = 0;
    bool own;
    int rc;

    rc = store_user_get(s, user_id, &u);
    if (rc)
        goto fail;
    if (!u.totp_secret || u.totp_enabled) {
        rc = ACCT_INVAL;
        goto fail;
    }
    rc = acct_totp_check(u.totp_secret, code, now / 1000, 0, &step);
    if (rc)
        goto fail;
    p.totp_secret = u.totp_secret;
    user_target(target, user_id);
    rc = group_begin(s, &own);
    if (rc)
        goto fail;
    rc = store_user_update(s, user_id, &p);
    if (!rc) /* the confirming code is used: it cannot log in again */
        rc = store_user_totp_use_step(s, user_id, step);
    if (!rc)
        rc = audit(s, now, user_id, u.login, "auth.totp_enabled", target, NULL);
    rc = group_end(s, own, rc);
fail:
    store_user_clear(&u);
    return rc;
}
