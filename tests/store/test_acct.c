/*
 * test_acct.c — unit tests of src/account: argon2id hashing and rehash,
 * the password policy, one-time passwords, TOTP against the RFC 6238 test
 * vectors and with the ±1 window and replay refusal, session tokens, and
 * the account operations (bootstrap, login with lockout and TOTP, sessions,
 * reset, change). Uses acct_cost_test: hashing at the libsodium minimum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "account/acct.h"
#include "test_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_hash(void **state)
{
    char h[ACCT_HASH_MAX];

    (void)state;
    assert_int_equal(acct_password_hash("correct horse", &acct_cost_test, h), ACCT_OK);
    assert_memory_equal(h, "$argon2id$", 10);
    assert_int_equal(acct_password_verify(h, "correct horse"), ACCT_OK);
    assert_int_equal(acct_password_verify(h, "correct horsf"), ACCT_BAD_CREDENTIALS);
    assert_int_equal(acct_password_verify("garbage", "x"), ACCT_BAD_CREDENTIALS);
    assert_false(acct_password_needs_rehash(h, &acct_cost_test));
    assert_true(acct_password_needs_rehash(h, NULL)); /* the default is stronger */
    assert_true(acct_cost_default.opslimit >= 3 && acct_cost_default.memlimit >= (64u << 20));
}

static void test_policy(void **state)
{
    const char *why = NULL;

    (void)state;
    assert_int_equal(acct_password_check("short", NULL, NULL, &why), ACCT_WEAK_PASSWORD);
    assert_non_null(why);
    assert_int_equal(acct_password_check("aaaaaaaaaaaa", NULL, NULL, &why), ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("1234567890", NULL, NULL, &why), ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("my-alice-pass", "alice", NULL, &why), ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("tab\there pass", NULL, NULL, &why), ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("bad\xff utf8 pass", NULL, NULL, &why),
                     ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("correct horse", "alice", "Alice", &why), ACCT_OK);
    assert_null(why);
    /* ten characters, not ten bytes */
    assert_int_equal(acct_password_check("保密员保密员保", NULL, NULL, &why), ACCT_WEAK_PASSWORD);
    assert_int_equal(acct_password_check("机密文件不可外传请注意", NULL, NULL, &why), ACCT_OK);
}

static void test_otp(void **state)
{
    char a[ACCT_OTP_LEN + 1], b[ACCT_OTP_LEN + 1];

    (void)state;
    acct_otp_generate(a);
    acct_otp_generate(b);
    assert_int_equal(strlen(a), ACCT_OTP_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(a[4], '-');
    assert_int_equal(strcspn(a, "0o1liI"), ACCT_OTP_LEN);
    assert_int_equal(acct_password_check(a, NULL, NULL, NULL), ACCT_OK);
}

static void test_totp_rfc6238(void **state)
{
    /* RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890" */
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    const uint8_t *secret = (const uint8_t *)"12345678901234567890";
    char code[9];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(acct_totp_code(secret, 20, v[i].t, 8, code), ACCT_OK);
        assert_string_equal(code, v[i].code);
    }
}

static void test_totp_check(void **state)
{
    /* base32 of "12345678901234567890" */
    const char *b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    const uint8_t *raw = (const uint8_t *)"12345678901234567890";
    int64_t t = 1111111111, step = 0;
    char code[9], prev[9], next[9], far[9];
    char b32new[ACCT_TOTP_B32_MAX], *uri = NULL;

    (void)state;
    assert_int_equal(acct_totp_code(raw, 20, t, 6, code), ACCT_OK);
    assert_string_equal(code, "050471"); /* the last 6 of 14050471 */
    assert_int_equal(acct_totp_check(b32, code, t, 0, &step), ACCT_OK);
    assert_int_equal(step, t / 30);
    /* the same step again: refused (replay) */
    assert_int_equal(acct_totp_check(b32, code, t, step, NULL), ACCT_TOTP_INVALID);
    /* ±1 step accepted, ±2 not */
    acct_totp_code(raw, 20, t - 30, 6, prev);
    acct_totp_code(raw, 20, t + 30, 6, next);
    acct_totp_code(raw, 20, t + 60, 6, far);
    assert_int_equal(acct_totp_check(b32, prev, t, 0, &step), ACCT_OK);
    assert_int_equal(step, t / 30 - 1);
    assert_int_equal(acct_totp_check(b32, next, t, 0, &step), ACCT_OK);
    assert_int_equal(acct_totp_check(b32, far, t, 0, &step), ACCT_TOTP_INVALID);
    assert_int_equal(acct_totp_check(b32, "12345", t, 0, &step), ACCT_TOTP_INVALID);
    assert_int_equal(acct_totp_check(b32, "abcdef", t, 0, &step), ACCT_TOTP_INVALID);
    /* lower case and spaces in the secret are accepted */
    assert_int_equal(acct_totp_check("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", code, t, 0, &step),
                     ACCT_OK);

    assert_int_equal(acct_totp_secret_new(b32new), ACCT_OK);
    assert_int_equal(strlen(b32new), 32);
    assert_int_equal(acct_totp_uri("Cordon Corp", "alice@x", b32new, &uri), ACCT_OK);
    assert_memory_equal(uri, "otpauth://totp/Cordon%20Corp:alice%40x?secret=", 46);
    assert_non_null(strstr(uri, "&issuer=Cordon%20Corp&algorithm=SHA1&digits=6&period=30"));
    free(uri);
}

static void test_tokens(void **state)
{
    char tok[ACCT_TOKEN_STRLEN + 1], tok2[ACCT_TOKEN_STRLEN + 1];
    uint8_t h[32], h2[32];

    (void)state;
    acct_token_new(tok, h);
    acct_token_new(tok2, h2);
    assert_int_equal(strlen(tok), 43);
    assert_string_not_equal(tok, tok2);
    assert_memory_not_equal(h, h2, 32);
    assert_int_equal(acct_token_hash(tok, h2), ACCT_OK);
    assert_memory_equal(h, h2, 32);
    assert_int_equal(acct_token_hash("short", h2), ACCT_INVAL);
    tok[5] = '+'; /* not base64url */
    assert_int_equal(acct_token_hash(tok, h2), ACCT_INVAL);
    assert_true(acct_login_valid("alice.b-c_1"));
    assert_false(acct_login_valid("Alice"));
    assert_false(acct_login_valid(".alice"));
    assert_false(acct_login_valid(""));
    assert_false(acct_login_valid("a b"));
}

/* ------------------------------------------------- operations on a store */

typedef struct fx {
    char dir[64];
    store *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    store_options o = {.version = 1};
    char path[1100];

    tb_fresh(f->dir, sizeof f->dir, path, sizeof path);
    o.path = path;
    assert_int_equal(store_open(&o, &f->s, NULL), STORE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];

    store_close(f->s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const acct_login_policy pol = {.max_failures = 3,
                                      .lockout_ms = 60000,
                                      .totp_required_privileged = true,
                                      .cost = &acct_cost_test};

static int count_events(store *s, const char *event)
{
    store_audit_entries l = {0};
    int n = 0;

    assert_int_equal(store_audit_page(s, 0, 1000, &l), STORE_OK);
    for (size_t i = 0; i < l.n; i++)
        n += !strcmp(l.items[i].event, event);
    store_audit_entries_free(&l);
    return n;
}

static void test_bootstrap_and_login(void **state)
{
    fx *f = *state;
    char otp[ACCT_OTP_LEN + 1], otp2[ACCT_OTP_LEN + 1];
    bool created = false, enrol = false;
    store_user u = {0};
    const char *why = NULL;
    store_audit_verify_result r;

    assert_int_equal(acct_bootstrap_admin(f->s, &acct_cost_test, 1000, otp, &created), ACCT_OK);
    assert_true(created);
    assert_int_equal(acct_bootstrap_admin(f->s, &acct_cost_test, 1000, otp2, &created), ACCT_OK);
    assert_false(created);

    assert_int_equal(acct_login(f->s, &pol, "admin", otp, NULL, "10.0.0.1", 2000, &u, &enrol),
                     ACCT_OK);
    assert_true(u.must_change_password);
    assert_int_equal(u.role, STORE_ROLE_ADMIN);
    assert_true(enrol); /* policy wants TOTP for admins */
    assert_int_equal(acct_password_change(f->s, &acct_cost_test, u.id, otp, "short", 0, 2100, &why),
                     ACCT_WEAK_PASSWORD);
    assert_non_null(why);
    assert_int_equal(
        acct_password_change(f->s, &acct_cost_test, u.id, "wrong", "a fine pass 1", 0, 2100, NULL),
        ACCT_BAD_CREDENTIALS);
    assert_int_equal(
        acct_password_change(f->s, &acct_cost_test, u.id, otp, "a fine pass 1", 0, 2100, NULL),
        ACCT_OK);
    store_user_clear(&u);
    assert_int_equal(acct_login(f->s, &pol, "admin", "a fine pass 1", NULL, NULL, 2200, &u, NULL),
                     ACCT_OK);
    assert_false(u.must_change_password);
    store_user_clear(&u);

    /* unknown login and wrong password look the same */
    assert_int_equal(acct_login(f->s, &pol, "nobody", "whatever pass", NULL, NULL, 2300, &u, NULL),
                     ACCT_BAD_CREDENTIALS);
    /* lockout after 3 failures, then even the right password is refused */
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            acct_login(f->s, &pol, "admin", "bad password!", NULL, NULL, 3000, &u, NULL),
            ACCT_BAD_CREDENTIALS);
    assert_int_equal(acct_login(f->s, &pol, "admin", "a fine pass 1", NULL, NULL, 3001, &u, NULL),
                     ACCT_LOCKED);
    assert_int_equal(acct_login(f->s, &pol, "admin", "a fine pass 1", NULL, NULL, 63001, &u, NULL),
                     ACCT_OK);
    assert_int_equal(u.failed_logins, 0);
    store_user_clear(&u);
    assert_int_equal(count_events(f->s, "auth.locked"), 1);
    assert_int_equal(count_events(f->s, "auth.login_failed"), 5);
    assert_int_equal(count_events(f->s, "user.bootstrap"), 1);
    assert_int_equal(store_audit_verify(f->s, &r), STORE_OK);
    assert_true(r.ok);
}

static void test_users_sessions_totp(void **state)
{
    fx *f = *state;
    char otp[ACCT_OTP_LEN + 1], tok[ACCT_TOKEN_STRLEN + 1], b32[ACCT_TOTP_B32_MAX], *uri = NULL;
    char code[9];
    uint8_t raw[20];
    int64_t id = 0, sid = 0, now = 1700000000000;
    store_session s = {0};
    store_user u = {0};
    store_user_patch p = {.fields = STORE_USER_DISABLED, .disabled = true};

    assert_int_equal(acct_user_add(f->s, &acct_cost_test, "Bob", "Bob B", STORE_ROLE_MEMBER, false,
                                   NULL, otp, 0, "cli", now, &id),
                     ACCT_OK);
    assert_int_equal(acct_user_add(f->s, &acct_cost_test, "bob", NULL, STORE_ROLE_MEMBER, false,
                                   "another pass 1", NULL, 0, NULL, now, NULL),
                     ACCT_EXISTS);
    assert_int_equal(acct_user_add(f->s, &acct_cost_test, "bad login", NULL, STORE_ROLE_MEMBER,
                                   false, "another pass 1", NULL, 0, NULL, now, NULL),
                     ACCT_BAD_LOGIN);
    assert_int_equal(acct_user_add(f->s, &acct_cost_test, "weak", NULL, STORE_ROLE_MEMBER, false,
                                   "password", NULL, 0, NULL, now, NULL),
                     ACCT_WEAK_PASSWORD);

    /* sessions: only the hash is stored; the token finds it */
    assert_int_equal(acct_session_open(f->s, id, now, 3600000, "ua", "1.2.3.4", tok, &sid),
                     ACCT_OK);
    assert_int_equal(acct_session_check(f->s, tok, now + 1, &s, &u), ACCT_OK);
    assert_int_equal(s.id, sid);
    assert_string_equal(u.login, "bob");
    store_session_clear(&s);
    store_user_clear(&u);
    assert_int_equal(acct_session_check(f->s, tok, now + 3600000, &s, NULL), STORE_NOTFOUND);
    assert_int_equal(acct_session_check(f->s, "not-a-token", now, &s, NULL), STORE_NOTFOUND);

    /* TOTP enrol, confirm, then login needs a fresh code each time */
    assert_int_equal(acct_totp_enrol(f->s, id, "Cordon", b32, &uri, now), ACCT_OK);
    assert_non_null(strstr(uri, "otpauth://totp/Cordon:bob?secret="));
    free(uri);
    {
        /* decode with the tested check: compute the code from the secret */
        const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        unsigned buf = 0, bits = 0;
        size_t o = 0;

        for (const char *c = b32; *c; c++) {
            buf = (buf << 5) | (unsigned)(strchr(alpha, *c) - alpha);
            bits += 5;
            if (bits >= 8) {
                raw[o++] = (uint8_t)(buf >> (bits - 8));
                bits -= 8;
            }
        }
        assert_int_equal(o, 20);
    }
    acct_totp_code(raw, 20, now / 1000, 6, code);
    assert_int_equal(acct_totp_confirm(f->s, id, "000000", now), ACCT_TOTP_INVALID);
    assert_int_equal(acct_totp_confirm(f->s, id, code, now), ACCT_OK);
    assert_int_equal(acct_login(f->s, &pol, "bob", otp, NULL, NULL, now, &u, NULL),
                     ACCT_TOTP_REQUIRED);
    /* the confirming code was used: not again */
    assert_int_equal(acct_login(f->s, &pol, "bob", otp, code, NULL, now, &u, NULL),
                     ACCT_TOTP_INVALID);
    acct_totp_code(raw, 20, now / 1000 + 30, 6, code);
    assert_int_equal(acct_login(f->s, &pol, "bob", otp, code, NULL, now + 30000, &u, NULL),
                     ACCT_OK);
    store_user_clear(&u);
    assert_int_equal(acct_login(f->s, &pol, "bob", otp, code, NULL, now + 31000, &u, NULL),
                     ACCT_TOTP_INVALID);

    /* reset revokes sessions; disabled users cannot log in */
    assert_int_equal(acct_session_open(f->s, id, now, 3600000, NULL, NULL, tok, &sid), ACCT_OK);
    assert_int_equal(acct_password_reset(f->s, &acct_cost_test, id, otp, 0, "cli", now), ACCT_OK);
    assert_int_equal(acct_session_check(f->s, tok, now + 1, &s, NULL), STORE_NOTFOUND);
    assert_int_equal(store_user_update(f->s, id, &p), STORE_OK);
    acct_totp_code(raw, 20, now / 1000 + 90, 6, code);
    assert_int_equal(acct_login(f->s, &pol, "bob", otp, code, NULL, now + 90000, &u, NULL),
                     ACCT_DISABLED);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_otp),
        cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_check),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test_setup_teardown(test_bootstrap_and_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_sessions_totp, setup, teardown),
    };

    if (acct_init() != ACCT_OK)
        return 1;
    tb_init(argc, argv, "acct");
    return cmocka_run_group_tests_name(tb_is_pg() ? "accounts on postgresql" : "accounts on sqlite",
                                       tests, NULL, NULL);
}
