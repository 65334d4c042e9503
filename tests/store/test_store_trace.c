/*
 * test_store_trace.c — the store's trace and contain (schema version 6) and
 * the early-warning counts: the spread of a forward tree, the containment
 * state machine (quarantine, restore, remove; what is erased and what is
 * kept), atomicity inside store_tx, alert counts and statistics by day.
 * Run on SQLite and on PostgreSQL (test_backend.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "test_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
    char dir[64], path[1100];
    store *s;
    int64_t a, b, c, g1, g2, g3;
} fx;

static int64_t add_user(store *s, const char *login)
{
    store_user_new u = {.login = login, .password_hash = "$argon2id$x", .now = 1000};
    int64_t id = 0;

    assert_int_equal(store_user_create(s, &u, &id), STORE_OK);
    return id;
}

static int64_t group(fx *f, int64_t owner, int64_t other)
{
    int64_t id = 0;

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", owner, &other, 1, 1000, &id, NULL),
        STORE_OK);
    return id;
}

static int64_t put(fx *f, int64_t conv, int64_t sender, const char *text, int64_t forward_of,
                   int64_t now)
{
    static int n;
    char cid[32];
    store_message_new m = {.conv_id = conv,
                           .sender_id = sender,
                           .client_id = cid,
                           .text = text,
                           .text_len = strlen(text),
                           .verdict = "allow",
                           .forward_of = forward_of,
                           .now = now};
    store_message out = {0};
    int64_t id;

    snprintf(cid, sizeof cid, "c%d", ++n);
    assert_int_equal(store_message_append(f->s, &m, &out, NULL), STORE_OK);
    id = out.id;
    store_message_clear(&out);
    return id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    store_options o = {.version = 1};

    tb_fresh(f->dir, sizeof f->dir, f->path, sizeof f->path);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->s, NULL), STORE_OK);
    f->a = add_user(f->s, "a");
    f->b = add_user(f->s, "b");
    f->c = add_user(f->s, "c");
    f->g1 = group(f, f->a, f->b);
    f->g2 = group(f, f->b, f->c);
    f->g3 = group(f, f->b, f->a);
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

/* The text of message id as stored, straight from the database ("" for
 * NULL); sql has one placeholder "?" for the id. */
static void raw(fx *f, const char *sql, int64_t id, char *out, size_t cap)
{
    char q[256];
    const char *at = strchr(sql, '?');

    assert_non_null(at);
    snprintf(q, sizeof q, "%.*s%lld%s", (int)(at - sql), sql, (long long)id, at + 1);
    tb_sql_text(f->path, q, out, cap);
}

static void test_spread(void **state)
{
    fx *f = *state;
    int64_t root = put(f, f->g1, f->a, "plan", 0, 2000);
    int64_t c1 = put(f, f->g2, f->b, "plan", root, 2100);
    int64_t c2 = put(f, f->g3, f->b, "plan", c1, 2200);
    int64_t other = put(f, f->g1, f->a, "unrelated", 0, 2300);
    store_messages l = {0};
    store_spread_query q = {.root_id = root};
    int64_t n = 0;

    assert_int_equal(store_message_spread(f->s, &q, &l), STORE_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].id, root);
    assert_int_equal(l.items[1].id, c1);
    assert_int_equal(l.items[2].id, c2);
    assert_int_equal(l.items[2].forward_of, c1);
    assert_int_equal(l.items[2].forward_depth, 2);
    assert_string_equal(l.items[2].text, "plan");
    store_messages_free(&l);
    q.limit = 2;
    assert_int_equal(store_message_spread(f->s, &q, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    store_messages_free(&l);
    q.root_id = other;
    q.limit = 0;
    assert_int_equal(store_message_spread(f->s, &q, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    store_messages_free(&l);
    q.limit = STORE_SPREAD_MAX + 1;
    assert_int_equal(store_message_spread(f->s, &q, &l), STORE_INVAL);
    {
        store_spread_member_rows mr = {0};

        /* g1 (a, b), g2 (b, c), g3 (b, a): six rows, by conversation then user */
        assert_int_equal(store_spread_members(f->s, root, &mr), STORE_OK);
        assert_int_equal(mr.n, 6);
        assert_int_equal(mr.items[0].conv_id, f->g1);
        assert_int_equal(mr.items[0].user_id, f->a);
        assert_int_equal(mr.items[2].conv_id, f->g2);
        assert_int_equal(mr.items[5].conv_id, f->g3);
        assert_int_equal(mr.items[5].kind, STORE_CONV_GROUP);
        assert_string_equal(mr.items[5].title, "g");
        store_spread_member_rows_free(&mr);
    }
    assert_int_equal(store_spread_conversations(f->s, root, 0, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_spread_conversations(f->s, root, 2150, &n), STORE_OK);
    assert_int_equal(n, 1);
}

static void test_contain_states(void **state)
{
    fx *f = *state;
    int64_t id = put(f, f->g1, f->a, "drawing of the site", 0, 3000);
    store_message m = {0};
    bool changed = false;
    char buf[128];

    /* restore of a message never contained: nothing */
    assert_int_equal(store_message_contain(f->s, id, STORE_CONTAIN_RESTORE, f->c, 3100, &changed),
                     STORE_OK);
    assert_false(changed);
    /* quarantine: hidden, kept aside */
    assert_int_equal(
        store_message_contain(f->s, id, STORE_CONTAIN_QUARANTINE, f->c, 3100, &changed), STORE_OK);
    assert_true(changed);
    assert_int_equal(store_message_get(f->s, id, &m), STORE_OK);
    assert_null(m.text);
    assert_true(m.recalled);
    assert_int_equal(m.contained, STORE_CONTAINED_QUARANTINED);
    store_message_clear(&m);
    raw(f, "SELECT body FROM message_quarantine WHERE message_id = ?", id, buf, sizeof buf);
    assert_string_equal(buf, "drawing of the site");
    {
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(store_quarantine_text(f->s, id, &text, &len), STORE_OK);
        assert_string_equal(text, "drawing of the site");
        assert_int_equal(len, strlen(text));
        free(text);
    }
    assert_int_equal(
        store_message_contain(f->s, id, STORE_CONTAIN_QUARANTINE, f->c, 3150, &changed), STORE_OK);
    assert_false(changed);
    /* restore: back as it was */
    assert_int_equal(store_message_contain(f->s, id, STORE_CONTAIN_RESTORE, f->c, 3200, &changed),
                     STORE_OK);
    assert_true(changed);
    assert_int_equal(store_message_get(f->s, id, &m), STORE_OK);
    assert_string_equal(m.text, "drawing of the site");
    assert_false(m.recalled);
    assert_int_equal(m.contained, 0);
    store_message_clear(&m);
    raw(f, "SELECT count(*) FROM message_quarantine WHERE message_id = ?", id, buf, sizeof buf);
    assert_string_equal(buf, "0");
    {
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(store_quarantine_text(f->s, id, &text, &len), STORE_NOTFOUND);
        assert_null(text);
    }
    /* quarantine then remove: the kept copy goes too */
    assert_int_equal(
        store_message_contain(f->s, id, STORE_CONTAIN_QUARANTINE, f->c, 3300, &changed), STORE_OK);
    assert_int_equal(store_message_contain(f->s, id, STORE_CONTAIN_REMOVE, f->c, 3400, &changed),
                     STORE_OK);
    assert_true(changed);
    raw(f, "SELECT count(*) FROM message_quarantine WHERE message_id = ?", id, buf, sizeof buf);
    assert_string_equal(buf, "0");
    raw(f, "SELECT body FROM messages WHERE id = ?", id, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(store_message_get(f->s, id, &m), STORE_OK);
    assert_int_equal(m.contained, STORE_CONTAINED_REMOVED);
    assert_true(m.recalled);
    store_message_clear(&m);
    /* final: neither restore nor a second remove changes anything */
    assert_int_equal(store_message_contain(f->s, id, STORE_CONTAIN_RESTORE, f->c, 3500, &changed),
                     STORE_OK);
    assert_false(changed);
    assert_int_equal(store_message_contain(f->s, id, STORE_CONTAIN_REMOVE, f->c, 3500, &changed),
                     STORE_OK);
    assert_false(changed);
    assert_int_equal(store_message_contain(f->s, 999999, STORE_CONTAIN_REMOVE, f->c, 1, &changed),
                     STORE_NOTFOUND);
}

static void test_contain_recalled_and_tx(void **state)
{
    fx *f = *state;
    int64_t mine = put(f, f->g1, f->a, "recalled by its sender", 0, 4000);
    int64_t x = put(f, f->g1, f->a, "x", 0, 4001), y = put(f, f->g2, f->b, "y", 0, 4002);
    store_message m = {0};
    bool changed = true;

    assert_int_equal(store_message_recall(f->s, mine, 4100), STORE_OK);
    assert_int_equal(store_message_contain(f->s, mine, STORE_CONTAIN_REMOVE, f->c, 4200, &changed),
                     STORE_OK);
    assert_false(changed); /* the sender's recall stands */
    assert_int_equal(
        store_message_contain(f->s, mine, STORE_CONTAIN_QUARANTINE, f->c, 4200, &changed),
        STORE_OK);
    assert_false(changed);
    /* two copies in one transaction, rolled back: neither changed */
    assert_int_equal(store_tx_begin(f->s), STORE_OK);
    assert_int_equal(store_message_contain(f->s, x, STORE_CONTAIN_REMOVE, f->c, 4300, &changed),
                     STORE_OK);
    assert_int_equal(store_message_contain(f->s, y, STORE_CONTAIN_REMOVE, f->c, 4300, &changed),
                     STORE_OK);
    assert_int_equal(store_erase_flush(f->s), STORE_INVAL); /* not inside a transaction */
    assert_int_equal(store_tx_rollback(f->s), STORE_OK);
    assert_int_equal(store_message_get(f->s, y, &m), STORE_OK);
    assert_string_equal(m.text, "y");
    store_message_clear(&m);
    /* and committed: both */
    assert_int_equal(store_tx_begin(f->s), STORE_OK);
    assert_int_equal(store_message_contain(f->s, x, STORE_CONTAIN_REMOVE, f->c, 4400, &changed),
                     STORE_OK);
    assert_int_equal(store_message_contain(f->s, y, STORE_CONTAIN_REMOVE, f->c, 4400, &changed),
                     STORE_OK);
    assert_int_equal(store_tx_commit(f->s), STORE_OK);
    assert_int_equal(store_erase_flush(f->s), STORE_OK);
    assert_int_equal(store_message_get(f->s, x, &m), STORE_OK);
    assert_int_equal(m.contained, STORE_CONTAINED_REMOVED);
    store_message_clear(&m);
}

static void alert(fx *f, int64_t user, int64_t conv, int64_t msg, const char *cat,
                  const char *verdict, int64_t now)
{
    store_alert_new a = {.user_id = user,
                         .conv_id = conv,
                         .message_id = msg,
                         .category = cat,
                         .verdict = verdict,
                         .rule = cat,
                         .findings_json = "[]",
                         .now = now};

    assert_int_equal(store_alert_create(f->s, &a, NULL), STORE_OK);
}

static void test_alert_counts_and_stats(void **state)
{
    fx *f = *state;
    const int64_t day = 86400000, d0 = 20000 * day; /* a UTC midnight */
    int64_t msg = put(f, f->g1, f->a, "number", 0, d0);
    store_alert_stat_rows st = {0};
    int64_t n = 0;

    alert(f, f->a, f->g1, 0, "marking", "block", d0 + 1000);
    alert(f, f->a, f->g1, 0, "lexicon", "confirm", d0 + 2000);
    alert(f, f->a, f->g1, 0, "guard.probing", "block", d0 + 3000);
    alert(f, f->a, f->g1, msg, "pii", "warn", d0 + 4000);
    alert(f, f->b, f->g2, 0, "marking", "block", d0 + 20 * 3600000);
    alert(f, f->a, f->g1, msg, "warning.spread", "warn", d0 + day + 1000);

    assert_int_equal(store_alert_count(f->s, &(store_alert_count_query){0}, &n), STORE_INVAL);
    assert_int_equal(
        store_alert_count(
            f->s, &(store_alert_count_query){.since = d0, .user_id = f->a, .attempts = true}, &n),
        STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(
        store_alert_count(
            f->s, &(store_alert_count_query){.since = d0, .conv_id = f->g1, .delivered = true}, &n),
        STORE_OK);
    assert_int_equal(n, 1); /* the pii one; warning.* does not count as content */
    assert_int_equal(store_alert_count(f->s,
                                       &(store_alert_count_query){.since = d0,
                                                                  .message_id = msg,
                                                                  .category = "warning.spread"},
                                       &n),
                     STORE_OK);
    assert_int_equal(n, 1);

    /* by day in UTC+8: the alert at 20:00 UTC belongs to the next local day */
    assert_int_equal(store_alert_stats(f->s, d0 - day, d0 + 3 * day, 8 * 3600000, &st), STORE_OK);
    {
        int64_t first = 0, second = 0, total = 0;

        for (size_t i = 0; i < st.n; i++) {
            total += st.items[i].count;
            assert_int_equal((st.items[i].day + 8 * 3600000) % day, 0);
            if (st.items[i].day == d0 - 8 * 3600000)
                first += st.items[i].count;
            if (st.items[i].day == d0 + day - 8 * 3600000)
                second += st.items[i].count;
        }
        assert_int_equal(total, 6);
        assert_int_equal(first, 4);
        assert_int_equal(second, 2);
    }
    store_alert_stat_rows_free(&st);
    assert_int_equal(store_alert_stats(f->s, d0, d0, 0, &st), STORE_INVAL);
    assert_int_equal(store_alert_stats(f->s, d0, d0 + 400 * day, 0, &st), STORE_INVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contain_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contain_recalled_and_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_counts_and_stats, setup, teardown),
    };
    tb_init(argc, argv, "store_trace");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store trace on postgresql" : "store trace on sqlite", tests, NULL, NULL);
}
