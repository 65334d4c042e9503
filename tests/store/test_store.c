/*
 * test_store.c — the store's handle, users, sessions, settings and
 * transactions, account changes, a lost connection: run on SQLite and on
 * PostgreSQL (test_backend.h: the binary's --backend argument). The other
 * areas have files of their own: test_store_msg.c (conversations and
 * messages), test_store_recall.c (recall, forward, alerts, export pages),
 * test_store_audit.c (the audit chain), test_store_ckpt.c (SQLite's
 * checkpointer), test_store_trace.c, test_store_work.c.
 */
#include "test_store_fx.h"

/* ---------------------------------------------------------------- tests */

static void test_migrate(void **state)
{
    fx *f = *state;
    store *s2;
    int v = 0;

    assert_int_equal(store_schema_version(f->s, &v), STORE_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    /* re-open: nothing to migrate, data kept */
    s2 = open_path(f->path);
    assert_int_equal(store_schema_version(s2, &v), STORE_OK);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    {
        int64_t n = 0;

        assert_int_equal(store_user_count(s2, &n), STORE_OK);
        assert_int_equal(n, 4);
    }
    store_close(s2);
    /* a database from the future is refused */
    raw_sql(f->path, "INSERT INTO schema_migrations VALUES (99, 0)");
    {
        store_options o = {.version = 1, .path = f->path};
        char *err = NULL;

        assert_int_equal(store_open(&o, &s2, &err), STORE_VERSION);
        assert_null(s2);
        assert_non_null(err);
        free(err);
    }
}

static void test_users(void **state)
{
    fx *f = *state;
    store_user u = {0};
    store_users l = {0};
    store_user_new dup = {.login = "ALICE", .password_hash = "h", .now = 1};
    store_user_patch p = {0};

    assert_int_equal(store_user_create(f->s, &dup, NULL), STORE_CONFLICT);
    assert_int_equal(store_user_get(f->s, f->alice, &u), STORE_OK);
    assert_string_equal(u.login, "alice");
    assert_string_equal(u.display_name, "alice");
    assert_int_equal(u.role, STORE_ROLE_MEMBER);
    store_user_clear(&u);
    assert_int_equal(store_user_get_by_login(f->s, "Bob", &u), STORE_OK);
    assert_int_equal(u.id, f->bob);
    store_user_clear(&u);
    assert_int_equal(store_user_get(f->s, 999, &u), STORE_NOTFOUND);
    assert_int_equal(store_user_get_by_login(f->s, "nobody", &u), STORE_NOTFOUND);

    p.fields = STORE_USER_DISPLAY_NAME | STORE_USER_ROLE | STORE_USER_PASSWORD | STORE_USER_TOTP |
               STORE_USER_LOCKOUT;
    p.display_name = "Alice Liddell";
    p.role = STORE_ROLE_OFFICER;
    p.password_hash = "$argon2id$new";
    p.must_change_password = true;
    p.totp_secret = "JBSWY3DPEHPK3PXP";
    p.totp_enabled = true;
    p.failed_logins = 3;
    p.locked_until = 777;
    p.now = 2000;
    assert_int_equal(store_user_update(f->s, f->alice, &p), STORE_OK);
    assert_int_equal(store_user_get(f->s, f->alice, &u), STORE_OK);
    assert_string_equal(u.display_name, "Alice Liddell");
    assert_int_equal(u.role, STORE_ROLE_OFFICER);
    assert_string_equal(u.password_hash, "$argon2id$new");
    assert_true(u.must_change_password);
    assert_string_equal(u.totp_secret, "JBSWY3DPEHPK3PXP");
    assert_true(u.totp_enabled);
    assert_int_equal(u.failed_logins, 3);
    assert_int_equal(u.locked_until, 777);
    assert_int_equal(u.updated_at, 2000);
    store_user_clear(&u);
    assert_int_equal(store_user_update(f->s, 999, &p), STORE_NOTFOUND);

    /* TOTP steps: each accepted once, never an older one */
    assert_int_equal(store_user_totp_use_step(f->s, f->alice, 100), STORE_OK);
    assert_int_equal(store_user_totp_use_step(f->s, f->alice, 100), STORE_CONFLICT);
    assert_int_equal(store_user_totp_use_step(f->s, f->alice, 99), STORE_CONFLICT);
    assert_int_equal(store_user_totp_use_step(f->s, f->alice, 101), STORE_OK);
    assert_int_equal(store_user_totp_use_step(f->s, 999, 5), STORE_NOTFOUND);

    /* disabled users leave the default list */
    memset(&p, 0, sizeof p);
    p.fields = STORE_USER_DISABLED;
    p.disabled = true;
    assert_int_equal(store_user_update(f->s, f->carol, &p), STORE_OK);
    assert_int_equal(store_user_list(f->s, false, &l), STORE_OK);
    assert_int_equal(l.n, 3);
    store_users_free(&l);
    assert_int_equal(store_user_list(f->s, true, &l), STORE_OK);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.items[0].id, f->alice);
    assert_true(l.items[2].disabled);
    store_users_free(&l);
}

static void test_sessions(void **state)
{
    fx *f = *state;
    store_session_new n = {.user_id = f->alice,
                           .now = 1000,
                           .expires_at = 10000,
                           .user_agent = "test",
                           .address = "127.0.0.1"};
    store_session s = {0};
    store_user u = {0};
    store_sessions l = {0};
    store_user_patch p = {.fields = STORE_USER_DISABLED, .disabled = true};
    int64_t id1 = 0, id2 = 0, id3 = 0, cnt = 0;

    memset(n.token_hash, 1, sizeof n.token_hash);
    assert_int_equal(store_session_create(f->s, &n, &id1), STORE_OK);
    memset(n.token_hash, 2, sizeof n.token_hash);
    assert_int_equal(store_session_create(f->s, &n, &id2), STORE_OK);
    assert_int_equal(store_session_create(f->s, &n, NULL), STORE_CONFLICT); /* same hash */
    memset(n.token_hash, 3, sizeof n.token_hash);
    n.user_id = f->bob;
    n.expires_at = 2000;
    assert_int_equal(store_session_create(f->s, &n, &id3), STORE_OK);
    n.user_id = 999;
    memset(n.token_hash, 4, sizeof n.token_hash);
    assert_int_equal(store_session_create(f->s, &n, NULL), STORE_NOTFOUND);

    memset(n.token_hash, 1, sizeof n.token_hash);
    assert_int_equal(store_session_lookup(f->s, n.token_hash, 1500, &s, &u), STORE_OK);
    assert_int_equal(s.id, id1);
    assert_int_equal(u.id, f->alice);
    assert_string_equal(s.user_agent, "test");
    store_session_clear(&s);
    store_user_clear(&u);
    memset(n.token_hash, 3, sizeof n.token_hash);
    assert_int_equal(store_session_lookup(f->s, n.token_hash, 2000, &s, NULL), STORE_NOTFOUND);

    assert_int_equal(store_session_touch(f->s, id1, 1600), STORE_OK);
    assert_int_equal(store_session_list(f->s, f->alice, 1700, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].id, id2); /* newest first */
    assert_int_equal(l.items[1].last_seen_at, 1600);
    store_sessions_free(&l);

    /* own sessions only, unless admin (user_id 0) */
    assert_int_equal(store_session_revoke(f->s, id1, f->bob), STORE_NOTFOUND);
    assert_int_equal(store_session_revoke(f->s, id1, f->alice), STORE_OK);
    assert_int_equal(store_session_revoke(f->s, id1, 0), STORE_NOTFOUND);
    assert_int_equal(store_session_expire(f->s, 3000, &cnt), STORE_OK);
    assert_int_equal(cnt, 1); /* bob's */
    /* disabling revokes */
    assert_int_equal(store_user_update(f->s, f->alice, &p), STORE_OK);
    assert_int_equal(store_session_list(f->s, f->alice, 1700, &l), STORE_OK);
    assert_int_equal(l.n, 0);
    store_sessions_free(&l);
    memset(n.token_hash, 5, sizeof n.token_hash);
    n.user_id = f->bob;
    n.expires_at = 9000;
    assert_int_equal(store_session_create(f->s, &n, &id1), STORE_OK);
    memset(n.token_hash, 6, sizeof n.token_hash);
    assert_int_equal(store_session_create(f->s, &n, &id2), STORE_OK);
    assert_int_equal(store_session_revoke_user(f->s, f->bob, id2, &cnt), STORE_OK);
    assert_int_equal(cnt, 1);
}

/* Account changes reach every handle, whoever wrote them (another process
 * is another handle; a raw sqlite3 edit too): the server follows them to
 * close or re-authorise open connections. */
static void test_account_changes(void **state)
{
    fx *f = *state;
    store *other = open_path(f->path); /* as a second process would */
    store_account_change c[8];
    store_user_patch p = {.fields = STORE_USER_ROLE, .role = STORE_ROLE_OFFICER, .now = 2000};
    store_session_new n = {.user_id = f->bob, .now = 1000, .expires_at = INT64_MAX / 2};
    int64_t head = -1, h2 = 0, sid = 0, old_sid = 0, cnt = 0;
    size_t k = 9;

    assert_int_equal(store_account_changes(other, -1, c, 8, &k, &head), STORE_OK);
    assert_int_equal(k, 0);
    assert_true(head >= 0);

    assert_int_equal(store_user_update(f->s, f->alice, &p), STORE_OK);
    p.fields = STORE_USER_DISABLED;
    p.disabled = true;
    assert_int_equal(store_user_update(f->s, f->carol, &p), STORE_OK);
    p.fields = STORE_USER_DISPLAY_NAME; /* a name is no change for connections */
    p.display_name = "Carol";
    assert_int_equal(store_user_update(f->s, f->carol, &p), STORE_OK);
    p.fields = STORE_USER_ROLE; /* the same role again: none either */
    p.role = STORE_ROLE_OFFICER;
    assert_int_equal(store_user_update(f->s, f->alice, &p), STORE_OK);

    memset(n.token_hash, 7, sizeof n.token_hash);
    assert_int_equal(store_session_create(f->s, &n, &sid), STORE_OK);
    memset(n.token_hash, 8, sizeof n.token_hash);
    n.expires_at = 1500; /* long expired */
    assert_int_equal(store_session_create(f->s, &n, &old_sid), STORE_OK);
    assert_int_equal(store_session_expire(f->s, 1600, &cnt), STORE_OK);
    assert_int_equal(cnt, 1); /* expiry is the server's own clock: no row */
    assert_int_equal(store_session_revoke(f->s, sid, f->bob), STORE_OK);

    assert_int_equal(store_account_changes(other, head, c, 8, &k, &h2), STORE_OK);
    assert_int_equal(k, 3);
    assert_int_equal(c[0].user_id, f->alice);
    assert_int_equal(c[0].session_id, 0);
    assert_int_equal(c[1].user_id, f->carol);
    assert_int_equal(c[1].session_id, 0);
    assert_int_equal(c[2].user_id, f->bob);
    assert_int_equal(c[2].session_id, sid);
    assert_true(c[0].seq > head && c[1].seq > c[0].seq && c[2].seq > c[1].seq);
    assert_int_equal(h2, c[2].seq);

    /* a page at a time */
    assert_int_equal(store_account_changes(other, head, c, 1, &k, &h2), STORE_OK);
    assert_int_equal(k, 1);
    assert_int_equal(h2, c[0].seq);

    /* an edit outside the program (the sqlite3 shell) is seen as well */
    head = c[2].seq;
    raw_sql(f->path, "UPDATE users SET disabled = true WHERE login = 'bob'");
    assert_int_equal(store_account_changes(other, head, c, 8, &k, &h2), STORE_OK);
    assert_int_equal(k, 1);
    assert_int_equal(c[0].user_id, f->bob);

    /* pruned by age */
    assert_int_equal(store_account_changes_prune(f->s, INT64_MAX), STORE_OK);
    assert_int_equal(store_account_changes(other, 0, c, 8, &k, &h2), STORE_OK);
    assert_int_equal(k, 0);
    store_close(other);
}

/* PostgreSQL: a connection that dies (the server restarted, a proxy cut
 * it) costs the call that finds it out, not the handle. */
static void test_connection_lost(void **state)
{
    fx *f = *state;
    store_user u = {0};
    char sql[160];
    int rc;

    if (!tb_is_pg())
        skip(); /* an SQLite handle is a file, not a connection */
    assert_int_equal(store_user_get(f->s, f->alice, &u), STORE_OK);
    store_user_clear(&u);
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
             "current_database() AND pid <> pg_backend_pid()");
    raw_sql(f->path, sql);
    rc = store_user_get(f->s, f->alice, &u);
    assert_true(rc == STORE_IO || rc == STORE_OK); /* the call that finds out */
    store_user_clear(&u);
    assert_int_equal(store_user_get(f->s, f->alice, &u), STORE_OK);
    assert_string_equal(u.login, "alice");
    store_user_clear(&u);
    /* and writes go on: statements prepared again on the new connection */
    {
        int64_t d = 0;

        assert_int_equal(
            store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
            STORE_OK);
        assert_true(send(f->s, d, f->alice, "after", "x") > 0);
        /* a group commit (pipeline mode) after another loss: the batch
         * that finds out fails whole, the next one stores every message */
        {
            store_message_new m[3];
            int rcs[3];
            char cid[3][8];
            store_messages h = {0};

            for (int i = 0; i < 3; i++) {
                snprintf(cid[i], sizeof cid[i], "p%d", i);
                m[i] = (store_message_new){.conv_id = d,
                                           .sender_id = f->alice,
                                           .client_id = cid[i],
                                           .text = "piped",
                                           .text_len = 5,
                                           .verdict = "allow",
                                           .now = 6000 + i};
            }
            raw_sql(f->path, sql);
            rc = store_message_append_batch(f->s, m, 3, NULL, rcs, NULL);
            assert_true(rc == STORE_IO || rc == STORE_OK);
            assert_int_equal(store_message_append_batch(f->s, m, 3, NULL, rcs, NULL), STORE_OK);
            for (int i = 0; i < 3; i++)
                assert_int_equal(rcs[i], STORE_OK);
            assert_int_equal(store_message_history(f->s, d, 0, 0, &h), STORE_OK);
            assert_int_equal(h.n, 4);
            store_messages_free(&h);
        }
    }
}

static void test_kv_and_tx(void **state)
{
    fx *f = *state;
    char *v = NULL;
    int64_t n = 0;
    store_user_new u = {.login = "tx", .password_hash = "h"};

    assert_int_equal(store_kv_get(f->s, "k", &v), STORE_NOTFOUND);
    assert_int_equal(store_kv_set(f->s, "k", "1"), STORE_OK);
    assert_int_equal(store_kv_set(f->s, "k", "2"), STORE_OK);
    assert_int_equal(store_kv_get(f->s, "k", &v), STORE_OK);
    assert_string_equal(v, "2");
    free(v);
    assert_int_equal(store_kv_delete(f->s, "k"), STORE_OK);
    assert_int_equal(store_kv_delete(f->s, "k"), STORE_OK);
    assert_int_equal(store_kv_get(f->s, "k", &v), STORE_NOTFOUND);

    /* a group rolls back as a whole; a failed operation inside it alone */
    assert_int_equal(store_tx_begin(f->s), STORE_OK);
    assert_int_equal(store_tx_begin(f->s), STORE_INVAL);
    assert_int_equal(store_user_create(f->s, &u, NULL), STORE_OK);
    assert_int_equal(store_user_create(f->s, &u, NULL), STORE_CONFLICT);
    assert_int_equal(store_kv_set(f->s, "in", "tx"), STORE_OK);
    assert_int_equal(store_tx_rollback(f->s), STORE_OK);
    assert_int_equal(store_user_count(f->s, &n), STORE_OK);
    assert_int_equal(n, 4);
    assert_int_equal(store_kv_get(f->s, "in", &v), STORE_NOTFOUND);
    assert_int_equal(store_tx_begin(f->s), STORE_OK);
    assert_int_equal(store_user_create(f->s, &u, NULL), STORE_OK);
    assert_int_equal(store_user_create(f->s, &u, NULL), STORE_CONFLICT);
    assert_int_equal(store_tx_commit(f->s), STORE_OK);
    assert_int_equal(store_user_count(f->s, &n), STORE_OK);
    assert_int_equal(n, 5);
    assert_int_equal(store_tx_commit(f->s), STORE_INVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_and_tx, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    tb_init(argc, argv, "store");
    return cmocka_run_group_tests_name(tb_is_pg() ? "store on postgresql" : "store on sqlite",
                                       tests, NULL, NULL);
}
