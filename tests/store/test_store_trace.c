/*
 * test_store_trace.c — the store's trace and contain (schema version 6) and
 * the early-warning counts: the spread of a forward tree, the containment
 * state machine (quarantine, restore, remove; what is erased and what is
 * kept), atomicity inside store_tx, alert counts and statistics by day;
 * schema version 9: a file's spread by content hash, its removal down to
 * the blobs, personal-data findings per user, statistics by department and
 * group, the department field. Run on SQLite and on PostgreSQL
 * (test_backend.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/store_files.h"
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
 * NULL); sql has at most one placeholder "?", replaced by the id. */
static void raw(fx *f, const char *sql, int64_t id, char *out, size_t cap)
{
    char q[256];
    const char *at = strchr(sql, '?');

    if (at)
        snprintf(q, sizeof q, "%.*s%lld%s", (int)(at - sql), sql, (long long)id, at + 1);
    else
        snprintf(q, sizeof q, "%s", sql);
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

static void file(fx *f, const char *id, int64_t owner, int64_t conv, const char *hash)
{
    store_file sf = {.id = (char *)id,
                     .owner_id = owner,
                     .conv_id = conv,
                     .hash = (char *)hash,
                     .name = "p.jpg",
                     .mime = "image/jpeg",
                     .size = 10,
                     .state = 2,
                     .verdict = "allow",
                     .created_at = 1000};

    assert_int_equal(store_file_create(f->s, &sf, 10, 0), STORE_OK);
}

static void test_file_spread_and_purge(void **state)
{
    fx *f = *state;
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111",
               *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
    const char *fa[] = {"fa"}, *fb[] = {"fb"}, *fo[] = {"fo"};
    int64_t m1 = put(f, f->g1, f->a, "photo", 0, 2000), m2, m3, m4;
    store_messages l = {0};
    store_hashes gone = {0};
    char buf[16];

    file(f, "fa", f->a, f->g1, h1); /* uploaded by a */
    file(f, "fb", f->c, f->g2, h1); /* the same bytes again, by c */
    file(f, "fo", f->b, f->g3, h2); /* other bytes */
    file(f, "fp", f->b, f->g3, h1); /* the same bytes, never sent */
    assert_int_equal(store_message_files_set(f->s, m1, fa, 1), STORE_OK);
    m2 = put(f, f->g2, f->b, "fwd", m1, 3000);
    assert_int_equal(store_message_files_set(f->s, m2, fa, 1), STORE_OK);
    m3 = put(f, f->g2, f->c, "again", 0, 4000);
    assert_int_equal(store_message_files_set(f->s, m3, fb, 1), STORE_OK);
    m4 = put(f, f->g3, f->b, "other", 0, 5000);
    assert_int_equal(store_message_files_set(f->s, m4, fo, 1), STORE_OK);

    /* by content: every message with the bytes, oldest first */
    assert_int_equal(store_file_spread(f->s, "fb", true, STORE_SPREAD_MAX, &l), STORE_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].id, m1);
    assert_int_equal(l.items[1].id, m2);
    assert_int_equal(l.items[2].id, m3);
    store_messages_free(&l);
    /* by file id: the upload and its forward */
    assert_int_equal(store_file_spread(f->s, "fa", false, STORE_SPREAD_MAX, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    store_messages_free(&l);
    assert_int_equal(store_file_spread(f->s, "nope", true, STORE_SPREAD_MAX, &l), STORE_NOTFOUND);
    assert_int_equal(store_file_spread(f->s, "fa", true, 0, &l), STORE_INVAL);

    /* removal: the links go; the blob goes once no file refers to it */
    for (int64_t id = m1; id <= m3; id++) {
        assert_int_equal(store_message_files_drop(f->s, id, &gone), STORE_OK);
        assert_int_equal(gone.n, 0); /* fp still refers to h1 */
        store_hashes_free(&gone);
    }
    assert_int_equal(store_file_purge_unlinked(f->s, h1, &gone), STORE_OK);
    assert_int_equal(gone.n, 1);
    assert_string_equal(gone.items[0], h1);
    store_hashes_free(&gone);
    raw(f, "SELECT count(*) FROM files WHERE id IN ('fa','fb','fp')", 0, buf, sizeof buf);
    assert_string_equal(buf, "0");
    /* raw binds ?1 when there is one: here there is none */
    raw(f, "SELECT refs FROM blobs WHERE hash LIKE '2%'", 0, buf, sizeof buf);
    assert_string_equal(buf, "1"); /* the other bytes are untouched */
    assert_int_equal(store_file_purge_unlinked(f->s, h2, &gone), STORE_OK);
    assert_int_equal(gone.n, 0); /* fo is delivered: kept */
    store_hashes_free(&gone);
}

static void alert_f(fx *f, int64_t user, int64_t conv, int64_t msg, const char *verdict,
                    const char *findings, int64_t now)
{
    store_alert_new a = {.user_id = user,
                         .conv_id = conv,
                         .message_id = msg,
                         .category = "pii",
                         .verdict = verdict,
                         .findings_json = findings,
                         .now = now};

    assert_int_equal(store_alert_create(f->s, &a, NULL), STORE_OK);
}

static void test_personal_and_groups(void **state)
{
    fx *f = *state;
    const char *two = "[{\"category\":\"pii\"},{\"category\":\"pii\"},{\"category\":\"link\"}]",
               *one = "[{\"category\":\"pii\"}]";
    int64_t m1 = put(f, f->g1, f->a, "x", 0, 2000), m2 = put(f, f->g3, f->a, "y", 0, 3000);
    store_personal_rows p = {0};
    store_alert_group_rows g = {0};
    store_user u = {0};
    store_user_patch dep = {.fields = STORE_USER_DEPARTMENT, .department = "销售部", .now = 5};

    alert_f(f, f->a, f->g1, m1, "warn", two, 2000);
    alert_f(f, f->a, f->g3, m2, "warn", one, 3000);
    alert_f(f, f->a, f->g3, m2, "mask", one, 3100); /* masked: did not leave */
    alert_f(f, f->a, f->g1, 0, "block", one, 3200); /* not delivered */
    alert_f(f, f->b, f->g1, m1, "warn", two, 3300); /* someone else */
    assert_int_equal(store_personal_findings(f->s, f->a, 1000, &p), STORE_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].message_id, m1);
    assert_int_equal(p.items[0].findings, 2);
    assert_int_equal(p.items[1].findings, 1);
    free(p.items);
    assert_int_equal(store_personal_findings(f->s, f->a, 2500, &p), STORE_OK);
    assert_int_equal(p.n, 1); /* the window */
    free(p.items);
    assert_int_equal(store_personal_findings(f->s, 0, 2500, &p), STORE_INVAL);

    /* the department field, and statistics by department and group */
    assert_int_equal(store_user_update(f->s, f->a, &dep), STORE_OK);
    assert_int_equal(store_user_get(f->s, f->a, &u), STORE_OK);
    assert_string_equal(u.department, "销售部");
    store_user_clear(&u);
    assert_int_equal(store_alert_groups(f->s, 1000, 4000, &g), STORE_OK);
    {
        int64_t sales = 0, none = 0, g1 = 0;

        for (size_t i = 0; i < g.n; i++) {
            if (g.items[i].department && !strcmp(g.items[i].department, "销售部"))
                sales += g.items[i].count;
            else if (!g.items[i].department)
                none += g.items[i].count;
            if (g.items[i].conv_id == f->g1) {
                g1 += g.items[i].count;
                assert_string_equal(g.items[i].conv_title, "g");
            }
        }
        assert_int_equal(sales, 4);
        assert_int_equal(none, 1); /* b has no department */
        assert_int_equal(g1, 3);
    }
    store_alert_group_rows_free(&g);
    dep.department = NULL; /* clears */
    assert_int_equal(store_user_update(f->s, f->a, &dep), STORE_OK);
    assert_int_equal(store_user_get(f->s, f->a, &u), STORE_OK);
    assert_null(u.department);
    store_user_clear(&u);
    assert_int_equal(store_alert_groups(f->s, 4000, 1000, &g), STORE_INVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contain_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contain_recalled_and_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_counts_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_spread_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_personal_and_groups, setup, teardown),
    };
    tb_init(argc, argv, "store_trace");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store trace on postgresql" : "store trace on sqlite", tests, NULL, NULL);
}
