/*
 * test_store_msg.c — conversations, members, messages: idempotent and
 * batched appends (group commit, one bad item failing alone), history
 * scope for later members and the external audience, cursor paging,
 * receipts, two writers on one conversation. Run on SQLite and on
 * PostgreSQL (test_backend.h).
 */
#include "test_store_fx.h"

/* ---------------------------------------------------------------- tests */

static void test_conversations(void **state)
{
    fx *f = *state;
    int64_t d1 = 0, d2 = 0, g = 0, members[] = {f->bob, f->carol, f->bob};
    bool created = false;
    store_conv c = {0};
    store_members ml = {0};
    store_member_role role;
    store_conv_summaries cl = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 10, &d1, &created),
        STORE_OK);
    assert_true(created);
    /* the same pair from the other side: the same conversation */
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->bob, &f->alice, 1, 11, &d2, &created),
        STORE_OK);
    assert_false(created);
    assert_int_equal(d1, d2);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, members, 2, 10, &d2, NULL),
        STORE_INVAL);
    assert_int_equal(store_member_add(f->s, d1, f->carol, STORE_MEMBER, 12), STORE_INVAL);

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "team", f->alice, members, 3, 20, &g, NULL),
        STORE_OK);
    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_string_equal(c.title, "team");
    assert_int_equal(c.member_count, 3);
    assert_false(c.external);
    store_conv_clear(&c);
    assert_int_equal(store_member_check(f->s, g, f->alice, &role), STORE_OK);
    assert_int_equal(role, STORE_MEMBER_OWNER);
    assert_int_equal(store_member_check(f->s, g, f->ext, &role), STORE_NOTFOUND);
    assert_int_equal(store_member_check(f->s, 999, f->alice, NULL), STORE_NOTFOUND);

    /* external follows membership */
    assert_int_equal(store_member_add(f->s, g, f->ext, STORE_MEMBER, 30), STORE_OK);
    assert_int_equal(store_member_add(f->s, g, f->ext, STORE_MEMBER, 30), STORE_CONFLICT);
    assert_int_equal(store_member_add(f->s, g, 999, STORE_MEMBER, 30), STORE_NOTFOUND);
    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_true(c.external);
    store_conv_clear(&c);
    assert_int_equal(store_member_remove(f->s, g, f->ext, 31), STORE_OK);
    assert_int_equal(store_member_remove(f->s, g, f->ext, 31), STORE_NOTFOUND);
    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_false(c.external);
    store_conv_clear(&c);
    /* ...and the user's own flag */
    {
        store_user_patch p = {.fields = STORE_USER_EXTERNAL, .external = true};

        assert_int_equal(store_user_update(f->s, f->carol, &p), STORE_OK);
        assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
        assert_true(c.external);
        store_conv_clear(&c);
    }

    assert_int_equal(store_member_set_role(f->s, g, f->bob, STORE_MEMBER_ADMIN), STORE_OK);
    assert_int_equal(store_member_set_role(f->s, g, f->ext, STORE_MEMBER_ADMIN), STORE_NOTFOUND);
    assert_int_equal(store_member_list(f->s, g, &ml), STORE_OK);
    assert_int_equal(ml.n, 3);
    assert_int_equal(ml.items[1].user_id, f->bob);
    assert_int_equal(ml.items[1].role, STORE_MEMBER_ADMIN);
    assert_true(ml.items[2].external);
    store_members_free(&ml);
    assert_int_equal(store_conv_rename(f->s, g, "team 2", 40), STORE_OK);
    assert_int_equal(store_conv_rename(f->s, 999, "x", 40), STORE_NOTFOUND);

    /* list: unread counts and last message, most recent activity first */
    send(f->s, d1, f->bob, "c1", "hello alice");
    send(f->s, g, f->bob, "c2", "hello team");
    send(f->s, g, f->alice, "c3", "hi");
    assert_int_equal(store_conv_list_for_user(f->s, f->alice, &cl), STORE_OK);
    assert_int_equal(cl.n, 2);
    assert_int_equal(cl.items[0].conv.id, g);
    assert_int_equal(cl.items[0].unread, 1); /* own messages are not unread */
    assert_string_equal(cl.items[0].last.text, "hi");
    assert_int_equal(cl.items[0].my_role, STORE_MEMBER_OWNER);
    assert_int_equal(cl.items[1].conv.id, d1);
    assert_int_equal(cl.items[1].unread, 1);
    store_conv_summaries_free(&cl);
    assert_int_equal(store_conv_list_for_user(f->s, f->ext, &cl), STORE_OK);
    assert_int_equal(cl.n, 0);
    store_conv_summaries_free(&cl);
}

static void test_messages(void **state)
{
    fx *f = *state;
    int64_t g = 0, members[] = {f->bob};
    store_message_new m = {.client_id = "k1",
                           .text = "first",
                           .text_len = 5,
                           .verdict = "warn",
                           .justification = "ok",
                           .now = 100};
    store_message a = {0}, b = {0};
    bool dup = false;

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    m.conv_id = g;
    m.sender_id = f->alice;
    assert_int_equal(store_message_append(f->s, &m, &a, &dup), STORE_OK);
    assert_false(dup);
    assert_string_equal(a.text, "first");
    assert_string_equal(a.verdict, "warn");
    /* the same send again: the same message, nothing new */
    m.text = "different";
    m.text_len = 9;
    assert_int_equal(store_message_append(f->s, &m, &b, &dup), STORE_OK);
    assert_true(dup);
    assert_int_equal(a.id, b.id);
    assert_string_equal(b.text, "first");
    store_message_clear(&b);
    /* the same client id from another sender is another message */
    m.sender_id = f->bob;
    assert_int_equal(store_message_append(f->s, &m, &b, &dup), STORE_OK);
    assert_false(dup);
    assert_true(b.id > a.id);
    store_message_clear(&b);
    /* non-members cannot send */
    m.sender_id = f->carol;
    m.client_id = "k2";
    assert_int_equal(store_message_append(f->s, &m, NULL, NULL), STORE_NOTFOUND);
    m.client_id = "";
    assert_int_equal(store_message_append(f->s, &m, NULL, NULL), STORE_INVAL);
    assert_int_equal(store_message_get(f->s, a.id, &b), STORE_OK);
    assert_string_equal(b.justification, "ok");
    assert_string_equal(b.client_id, "k1");
    store_message_clear(&b);
    store_message_clear(&a);
    assert_int_equal(store_message_get(f->s, 999, &b), STORE_NOTFOUND);
}

/* A member who joins later starts at the conversation's last message
 * (history_from and receipt pointers); the inspection scope is kept with
 * each message; shared history is a group setting. */
static void test_history_scope(void **state)
{
    fx *f = *state;
    int64_t g = 0, d = 0, members[] = {f->bob};
    store_message_new m = {.client_id = "h1", .text = "before", .text_len = 6, .verdict = "allow"};
    store_message a = {0}, b = {0};
    store_member me = {0};
    store_conv c = {0};
    store_conv_summaries cl = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    m.conv_id = g;
    m.sender_id = f->alice;
    assert_int_equal(store_message_append(f->s, &m, &a, NULL), STORE_OK);
    assert_false(a.inspected_external);
    assert_int_equal(store_member_get(f->s, g, f->bob, &me), STORE_OK);
    assert_int_equal(me.history_from, 0); /* a founding member */
    assert_int_equal(store_member_add(f->s, g, f->ext, STORE_MEMBER, 2), STORE_OK);
    assert_int_equal(store_member_get(f->s, g, f->ext, &me), STORE_OK);
    assert_int_equal(me.history_from, a.id);
    assert_int_equal(me.read_id, a.id);
    assert_int_equal(me.delivered_id, a.id);
    assert_true(me.external);
    assert_int_equal(store_member_get(f->s, g, f->carol, &me), STORE_NOTFOUND);
    assert_int_equal(store_conv_list_for_user(f->s, f->ext, &cl), STORE_OK);
    assert_int_equal(cl.n, 1);
    assert_int_equal(cl.items[0].my_history_from, a.id);
    assert_int_equal(cl.items[0].unread, 0); /* earlier messages are not unread */
    store_conv_summaries_free(&cl);

    m.client_id = "h2";
    m.inspected_external = true;
    assert_int_equal(store_message_append(f->s, &m, &b, NULL), STORE_OK);
    assert_true(b.inspected_external);
    store_message_clear(&b);
    assert_int_equal(store_message_get(f->s, a.id + 1, &b), STORE_OK);
    assert_true(b.inspected_external);
    store_message_clear(&b);
    assert_int_equal(store_message_get(f->s, a.id, &b), STORE_OK);
    assert_false(b.inspected_external);
    store_message_clear(&b);

    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_false(c.shared_history);
    store_conv_clear(&c);
    assert_int_equal(store_conv_set_shared_history(f->s, g, true, 3), STORE_OK);
    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_true(c.shared_history);
    store_conv_clear(&c);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->carol, 1, 4, &d, NULL),
        STORE_OK);
    assert_int_equal(store_conv_set_shared_history(f->s, d, true, 5), STORE_INVAL);
    assert_int_equal(store_conv_set_shared_history(f->s, 999, true, 5), STORE_NOTFOUND);
    store_message_clear(&a);
}

/* A message inspected for an internal audience is refused once the
 * conversation has an external member: the server inspects it again. */
static void test_scope_changed(void **state)
{
    fx *f = *state;
    int64_t g = 0, members[] = {f->bob};
    store_message_new m = {
        .client_id = "s1", .text = "plan", .text_len = 4, .verdict = "allow", .now = 100};
    store_message a = {0};
    bool dup = false;

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    m.conv_id = g;
    m.sender_id = f->alice;
    m.inspected_internal = true;
    assert_int_equal(store_message_append(f->s, &m, &a, &dup), STORE_OK);
    store_message_clear(&a);
    assert_int_equal(store_member_add(f->s, g, f->ext, STORE_MEMBER, 101), STORE_OK);
    m.client_id = "s2";
    assert_int_equal(store_message_append(f->s, &m, &a, &dup), STORE_CONFLICT);
    /* nothing was stored; inspected for the external audience it goes in */
    m.inspected_internal = false;
    assert_int_equal(store_message_append(f->s, &m, &a, &dup), STORE_OK);
    assert_false(dup);
    store_message_clear(&a);
}

static void test_batch(void **state)
{
    fx *f = *state;
    int64_t g = 0, members[] = {f->bob};
    store_message_new m[5];
    store_message out[5];
    int rcs[5];
    bool dup[5];
    char cid[5][8];
    store_messages h = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    for (int i = 0; i < 5; i++) {
        snprintf(cid[i], sizeof cid[i], "b%d", i);
        m[i] = (store_message_new){.conv_id = g,
                                   .sender_id = f->alice,
                                   .client_id = cid[i],
                                   .text = "batch",
                                   .text_len = 5,
                                   .verdict = "allow",
                                   .now = 10 + i};
    }
    m[2].sender_id = f->carol; /* not a member: fails alone */
    m[4].client_id = "b0";     /* a repeat of item 0 inside the batch */
    assert_int_equal(store_message_append_batch(f->s, m, 5, out, rcs, dup), STORE_OK);
    assert_int_equal(rcs[0], STORE_OK);
    assert_int_equal(rcs[1], STORE_OK);
    assert_int_equal(rcs[2], STORE_NOTFOUND);
    assert_int_equal(rcs[3], STORE_OK);
    assert_int_equal(rcs[4], STORE_OK);
    assert_true(dup[4]);
    assert_int_equal(out[4].id, out[0].id);
    assert_true(out[1].id > out[0].id && out[3].id > out[1].id);
    for (int i = 0; i < 5; i++)
        store_message_clear(&out[i]);
    assert_int_equal(store_message_history(f->s, g, 0, 0, &h), STORE_OK);
    assert_int_equal(h.n, 3);
    store_messages_free(&h);
    /* Inside a store_tx: PostgreSQL refuses; SQLite appends in the
     * caller's transaction (the writer carries delivered receipts in it),
     * gone with its rollback. */
    assert_int_equal(store_tx_begin(f->s), STORE_OK);
    if (tb_is_pg())
        assert_int_equal(store_message_append_batch(f->s, m, 1, NULL, rcs, NULL), STORE_INVAL);
    else {
        m[0].client_id = "in-tx";
        assert_int_equal(store_message_append_batch(f->s, m, 1, NULL, rcs, NULL), STORE_OK);
        assert_int_equal(rcs[0], STORE_OK);
    }
    assert_int_equal(store_tx_rollback(f->s), STORE_OK);
    assert_int_equal(store_message_history(f->s, g, 0, 0, &h), STORE_OK);
    assert_int_equal(h.n, 3);
    store_messages_free(&h);
    if (tb_is_pg()) {
        /* PostgreSQL refuses a NUL byte in text (SQLite keeps it): the one
         * INSERT fails, which aborts a PostgreSQL transaction; the batch
         * runs again without it and the others still commit together */
        for (int i = 0; i < 3; i++) {
            snprintf(cid[i], sizeof cid[i], "n%d", i);
            m[i].client_id = cid[i];
            m[i].sender_id = f->alice;
        }
        m[1].text = "a\0b";
        m[1].text_len = 3;
        assert_int_equal(store_message_append_batch(f->s, m, 3, out, rcs, dup), STORE_OK);
        assert_int_equal(rcs[0], STORE_OK);
        assert_int_equal(rcs[1], STORE_INVAL);
        assert_int_equal(rcs[2], STORE_OK);
        assert_true(out[0].id > 0 && out[2].id > out[0].id);
        assert_int_equal(out[1].id, 0);
        for (int i = 0; i < 3; i++)
            store_message_clear(&out[i]);
        assert_int_equal(store_message_history(f->s, g, 0, 0, &h), STORE_OK);
        assert_int_equal(h.n, 5);
        store_messages_free(&h);
    }
}

/* A batch as the server's writer makes them: several conversations, plain
 * messages (pipelined on PostgreSQL) around one with an alert (its own
 * savepoint) and one forward (read first), a repeat of a message stored
 * before the batch, a message to a conversation the sender is not in.
 * Every item gets its own outcome, the new ones take ids in batch order,
 * and each conversation ends on its newest message. */
static void test_batch_mixed(void **state)
{
    fx *f = *state;
    int64_t g1 = 0, g2 = 0, g3 = 0, members[] = {f->bob}, first, alert_id = 0;
    store_alert_new al = {.category = "pii", .verdict = "confirm", .findings_json = "[]"};
    store_message_new m[7];
    store_message out[7];
    int rcs[7];
    bool dup[7];
    char cid[7][8];
    store_conv c = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g1", f->alice, members, 1, 1, &g1, NULL),
        STORE_OK);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g2", f->alice, members, 1, 1, &g2, NULL),
        STORE_OK);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g3", f->carol, NULL, 0, 1, &g3, NULL), STORE_OK);
    first = send(f->s, g1, f->alice, "before", "stored before the batch");
    for (int i = 0; i < 7; i++) {
        snprintf(cid[i], sizeof cid[i], "m%d", i);
        m[i] = (store_message_new){.conv_id = i % 2 ? g2 : g1,
                                   .sender_id = f->alice,
                                   .client_id = cid[i],
                                   .text = "mixed",
                                   .text_len = 5,
                                   .verdict = "allow",
                                   .now = 100 + i};
    }
    m[2].alert = &al; /* g1, side records */
    m[2].alert_id_out = &alert_id;
    m[2].verdict = "confirm";
    m[3].forward_of = first;   /* g2, a forward */
    m[4].client_id = "before"; /* g1, a repeat */
    m[5].conv_id = g3;         /* not a member */
    assert_int_equal(store_message_append_batch(f->s, m, 7, out, rcs, dup), STORE_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(rcs[i], i == 5 ? STORE_NOTFOUND : STORE_OK);
    assert_true(dup[4]);
    assert_int_equal(out[4].id, first);
    assert_true(out[0].id > first && out[1].id > out[0].id && out[2].id > out[1].id &&
                out[3].id > out[2].id && out[6].id > out[3].id);
    assert_int_equal(out[3].forward_origin_id, first);
    assert_true(alert_id > 0);
    assert_int_equal(store_conv_get(f->s, g1, &c), STORE_OK);
    assert_int_equal(c.last_message_id, out[6].id);
    store_conv_clear(&c);
    assert_int_equal(store_conv_get(f->s, g2, &c), STORE_OK);
    assert_int_equal(c.last_message_id, out[3].id);
    store_conv_clear(&c);
    for (int i = 0; i < 7; i++)
        store_message_clear(&out[i]);
}

static void test_paging(void **state)
{
    fx *f = *state;
    int64_t d = 0, first = 0;
    store_messages p = {0};
    char cid[16];
    int64_t cursor = 0;
    size_t total = 0;

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    for (int i = 0; i < 120; i++) {
        snprintf(cid, sizeof cid, "p%d", i);
        int64_t id = send(f->s, d, i % 2 ? f->alice : f->bob, cid, "m");
        if (!first)
            first = id;
    }
    /* newest first, 50 + 50 + 20, no overlap, no gap */
    for (int page = 0; page < 3; page++) {
        assert_int_equal(store_message_history(f->s, d, cursor, 50, &p), STORE_OK);
        assert_int_equal(p.n, page < 2 ? 50 : 20);
        for (size_t i = 1; i < p.n; i++)
            assert_int_equal(p.items[i].id, p.items[i - 1].id - 1);
        if (cursor)
            assert_int_equal(p.items[0].id, cursor - 1);
        cursor = p.items[p.n - 1].id;
        total += p.n;
        store_messages_free(&p);
    }
    assert_int_equal(total, 120);
    assert_int_equal(cursor, first);
    assert_int_equal(store_message_since(f->s, d, first, 10, &p), STORE_OK);
    assert_int_equal(p.n, 10);
    assert_int_equal(p.items[0].id, first + 1);
    store_messages_free(&p);
    assert_int_equal(store_message_history(f->s, d, 0, 501, &p), STORE_INVAL);

    /* The bus's gap fill: every conversation after an id, oldest first. */
    {
        int64_t g = 0, in_g, last;

        assert_int_equal(
            store_conv_create(f->s, STORE_CONV_GROUP, "gap", f->alice, &f->bob, 1, 1, &g, NULL),
            STORE_OK);
        in_g = send(f->s, g, f->bob, "gap1", "in another conversation");
        last = send(f->s, d, f->alice, "gap2", "m");
        assert_int_equal(store_message_after(f->s, first + 118, 10, &p), STORE_OK);
        assert_int_equal(p.n, 3);
        assert_int_equal(p.items[0].id, first + 119);
        assert_int_equal(p.items[1].id, in_g);
        assert_int_equal(p.items[1].conv_id, g);
        assert_int_equal(p.items[2].id, last);
        store_messages_free(&p);
        assert_int_equal(store_message_after(f->s, first, 2, &p), STORE_OK);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.items[0].id, first + 1);
        store_messages_free(&p);
        assert_int_equal(store_message_after(f->s, last, 10, &p), STORE_OK);
        assert_int_equal(p.n, 0);
        store_messages_free(&p);
        assert_int_equal(store_message_after(f->s, 0, 5001, &p), STORE_INVAL);
        assert_int_equal(store_message_max_id(f->s, &in_g), STORE_OK);
        assert_int_equal(in_g, last);
    }
}

static void test_receipts(void **state)
{
    fx *f = *state;
    int64_t d = 0, m1, m2;
    bool adv = false;
    store_members ml = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    m1 = send(f->s, d, f->alice, "x1", "a");
    m2 = send(f->s, d, f->alice, "x2", "b");
    assert_int_equal(store_receipt_set(f->s, d, f->bob, false, m1, &adv), STORE_OK);
    assert_true(adv);
    assert_int_equal(store_receipt_set(f->s, d, f->bob, false, m1, &adv), STORE_OK);
    assert_false(adv);
    assert_int_equal(store_receipt_set(f->s, d, f->bob, true, m2, &adv), STORE_OK);
    assert_true(adv);
    assert_int_equal(store_receipt_set(f->s, d, f->bob, true, m1, &adv), STORE_OK);
    assert_false(adv); /* never backwards */
    assert_int_equal(store_receipt_set(f->s, d, f->carol, true, m1, &adv), STORE_NOTFOUND);
    assert_int_equal(store_member_list(f->s, d, &ml), STORE_OK);
    assert_int_equal(ml.items[1].user_id, f->bob);
    assert_int_equal(ml.items[1].read_id, m2);
    assert_int_equal(ml.items[1].delivered_id, m2); /* read implies delivered */
    store_members_free(&ml);
}

/* Several writers at once (PostgreSQL lets them run side by side; SQLite
 * queues them on its lock): two handles append to one conversation and to
 * the audit chain from two threads. Nothing is lost, the conversation's
 * last id is its newest message, and the chain still verifies. */
typedef struct writer_arg {
    const char *path;
    int64_t conv, sender;
    int who, errors;
} writer_arg;

#define WRITES 150

static void *writer_main(void *p)
{
    writer_arg *w = p;
    store_options o = {.version = 1, .path = w->path, .busy_timeout_ms = 20000};
    store *s = NULL;

    if (store_open(&o, &s, NULL)) {
        w->errors = WRITES;
        return NULL;
    }
    for (int i = 0; i < WRITES; i++) {
        char cid[32], detail[48];
        store_message_new m = {.conv_id = w->conv,
                               .sender_id = w->sender,
                               .client_id = cid,
                               .text = "both at once",
                               .text_len = 12,
                               .verdict = "allow",
                               .now = 1796560000000LL + i};
        store_audit_new e = {.time = 1796560000000LL + i, .event = "test.write", .detail = detail};
        int rcs[1];

        snprintf(cid, sizeof cid, "w%d-%d", w->who, i);
        snprintf(detail, sizeof detail, "{\"who\":%d,\"i\":%d}", w->who, i);
        if (store_message_append_batch(s, &m, 1, NULL, rcs, NULL) || rcs[0])
            w->errors++;
        if (store_audit_append(s, &e, NULL))
            w->errors++;
    }
    store_close(s);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    fx *f = *state;
    int64_t g = 0, members[] = {f->bob};
    writer_arg w[2];
    pthread_t th[2];
    store_messages h = {0};
    store_conv c = {0};
    store_audit_verify_result v;
    int64_t total = 0, before = 0, prev = INT64_MAX;

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    for (int i = 0; i < 2; i++) {
        w[i] = (writer_arg){.path = f->path, .conv = g, .sender = i ? f->bob : f->alice, .who = i};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    do { /* every message once, newest first, ids strictly decreasing */
        assert_int_equal(store_message_history(f->s, g, before, 100, &h), STORE_OK);
        for (size_t i = 0; i < h.n; i++) {
            assert_true(h.items[i].id < prev);
            prev = h.items[i].id;
        }
        total += (int64_t)h.n;
        before = h.n ? h.items[h.n - 1].id : 0;
        store_messages_free(&h);
    } while (before);
    assert_int_equal(total, 2 * WRITES);
    assert_int_equal(store_conv_get(f->s, g, &c), STORE_OK);
    assert_int_equal(store_message_history(f->s, g, 0, 1, &h), STORE_OK);
    assert_int_equal(c.last_message_id, h.items[0].id);
    store_messages_free(&h);
    store_conv_clear(&c);
    assert_int_equal(store_audit_verify(f->s, &v), STORE_OK);
    assert_true(v.ok);
    assert_int_equal(v.entries, 2 * WRITES);
}

/* Two writers whose batches span the same conversations in opposite
 * orders (two nodes, each with one member of many 1:1 pairs). Neither is
 * refused as busy: a batch locks its conversations in one order before it
 * appends (on PostgreSQL, locks taken in message order deadlocked here,
 * and one batch of each deadlock was thrown back after a second). Nothing
 * is lost and each conversation's history stays in id order. */
#define CROSS_CONVS  4
#define CROSS_ROUNDS 60

typedef struct crosser_arg {
    const char *path;
    const int64_t *convs;
    int64_t sender;
    int who, errors, busy;
} crosser_arg;

static void *crosser_main(void *p)
{
    crosser_arg *w = p;
    store_options o = {.version = 1, .path = w->path, .busy_timeout_ms = 20000};
    store *s = NULL;

    if (store_open(&o, &s, NULL)) {
        w->errors = CROSS_ROUNDS;
        return NULL;
    }
    for (int r = 0; r < CROSS_ROUNDS; r++) {
        store_message_new m[2 * CROSS_CONVS];
        char cid[2 * CROSS_CONVS][32];
        int rcs[2 * CROSS_CONVS], rc;

        for (int i = 0; i < 2 * CROSS_CONVS; i++) {
            int k = i % CROSS_CONVS; /* thread 1 walks the conversations backwards */

            snprintf(cid[i], sizeof cid[i], "x%d-%d-%d", w->who, r, i);
            m[i] = (store_message_new){.conv_id = w->convs[w->who ? CROSS_CONVS - 1 - k : k],
                                       .sender_id = w->sender,
                                       .client_id = cid[i],
                                       .text = "crossed",
                                       .text_len = 7,
                                       .verdict = "allow",
                                       .now = 1796560000000LL + r};
        }
        rc = store_message_append_batch(s, m, 2 * CROSS_CONVS, NULL, rcs, NULL);
        if (rc == STORE_BUSY)
            w->busy++;
        else if (rc)
            w->errors++;
        for (int i = 0; !rc && i < 2 * CROSS_CONVS; i++)
            w->errors += rcs[i] != STORE_OK;
    }
    store_close(s);
    return NULL;
}

static void test_crossed_batches(void **state)
{
    fx *f = *state;
    int64_t convs[CROSS_CONVS], members[] = {f->bob};
    crosser_arg w[2];
    pthread_t th[2];

    for (int k = 0; k < CROSS_CONVS; k++)
        assert_int_equal(store_conv_create(f->s, STORE_CONV_GROUP, "x", f->alice, members, 1, 1,
                                           &convs[k], NULL),
                         STORE_OK);
    for (int i = 0; i < 2; i++) {
        w[i] = (crosser_arg){
            .path = f->path, .convs = convs, .sender = i ? f->bob : f->alice, .who = i};
        assert_int_equal(pthread_create(&th[i], NULL, crosser_main, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].busy, 0);
        assert_int_equal(w[i].errors, 0);
    }
    for (int k = 0; k < CROSS_CONVS; k++) {
        store_messages h = {0};
        store_conv c = {0};
        int64_t total = 0, before = 0, prev = INT64_MAX, newest = 0;

        do {
            assert_int_equal(store_message_history(f->s, convs[k], before, 100, &h), STORE_OK);
            for (size_t i = 0; i < h.n; i++) {
                assert_true(h.items[i].id < prev);
                prev = h.items[i].id;
                if (!newest)
                    newest = prev;
            }
            total += (int64_t)h.n;
            before = h.n ? h.items[h.n - 1].id : 0;
            store_messages_free(&h);
        } while (before);
        assert_int_equal(total, 2 * 2 * CROSS_ROUNDS);
        assert_int_equal(store_conv_get(f->s, convs[k], &c), STORE_OK);
        assert_int_equal(c.last_message_id, newest);
        store_conv_clear(&c);
    }
}

/* Two nodes' writers share conversations: one holds a conversation's row
 * (here another handle's open transaction that renamed it; in the server,
 * the other node's batch until its commit). A batch naming that
 * conversation and another one stores the other one's message at once —
 * before the holder commits — and the held one's after, in order (on
 * PostgreSQL a batch commits what it can take first; it once waited for
 * every row and two nodes took turns). SQLite has one writer: a held
 * write lock holds up every batch, so the test is PostgreSQL's. */
typedef struct held_arg {
    const char *path;
    int64_t held, free_conv, sender;
    int rc, rcs[3];
    store_message out[3];
} held_arg;

static void *held_main(void *p)
{
    held_arg *w = p;
    store_options o = {.version = 1, .path = w->path, .busy_timeout_ms = 20000};
    store_message_new m[3];
    const char *cid[3] = {"h-1", "f-1", "h-2"};
    store *s = NULL;

    w->rc = store_open(&o, &s, NULL);
    if (w->rc)
        return NULL;
    for (int i = 0; i < 3; i++)
        m[i] = (store_message_new){.conv_id = i == 1 ? w->free_conv : w->held,
                                   .sender_id = w->sender,
                                   .client_id = cid[i],
                                   .text = cid[i],
                                   .text_len = 3,
                                   .verdict = "allow",
                                   .now = 1796560000000LL + i};
    w->rc = store_message_append_batch(s, m, 3, w->out, w->rcs, NULL);
    store_close(s);
    return NULL;
}

static void test_batch_held_conversation(void **state)
{
    fx *f = *state;
    int64_t members[] = {f->bob};
    held_arg w = {.path = f->path, .sender = f->alice};
    store_messages h = {0};
    store_conv c = {0};
    pthread_t th;
    store *other;
    int tries = 0;

    if (!(f->s->methods->supports & STORE_CAN_CONCURRENT_WRITERS))
        skip();
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "held", f->alice, members, 1, 1, &w.held, NULL),
        STORE_OK);
    assert_int_equal(store_conv_create(f->s, STORE_CONV_GROUP, "free", f->alice, members, 1, 1,
                                       &w.free_conv, NULL),
                     STORE_OK);
    other = open_path(f->path);
    assert_non_null(other);
    assert_int_equal(store_tx_begin(other), STORE_OK);
    assert_int_equal(store_conv_rename(other, w.held, "held still", 2), STORE_OK);
    assert_int_equal(pthread_create(&th, NULL, held_main, &w), 0);
    /* the free conversation's message commits while the row is held */
    do {
        store_messages_free(&h);
        if (tries)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        assert_int_equal(store_message_since(f->s, w.free_conv, 0, 10, &h), STORE_OK);
    } while (h.n == 0 && ++tries < 500);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.items[0].client_id, "f-1");
    store_messages_free(&h);
    assert_int_equal(store_message_since(f->s, w.held, 0, 10, &h), STORE_OK);
    assert_int_equal(h.n, 0);
    store_messages_free(&h);
    assert_int_equal(store_tx_commit(other), STORE_OK);
    store_close(other);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, STORE_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w.rcs[i], STORE_OK);
        assert_true(w.out[i].id > 0);
    }
    /* the held conversation's two messages, in the batch's order, after
     * the free one's (their transaction came second) */
    assert_true(w.out[0].id < w.out[2].id);
    assert_true(w.out[1].id < w.out[0].id);
    assert_int_equal(store_message_since(f->s, w.held, 0, 10, &h), STORE_OK);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.items[0].client_id, "h-1");
    assert_string_equal(h.items[1].client_id, "h-2");
    store_messages_free(&h);
    assert_int_equal(store_conv_get(f->s, w.held, &c), STORE_OK);
    assert_int_equal(c.last_message_id, w.out[2].id);
    assert_string_equal(c.title, "held still");
    store_conv_clear(&c);
    assert_int_equal(store_conv_get(f->s, w.free_conv, &c), STORE_OK);
    assert_int_equal(c.last_message_id, w.out[1].id);
    store_conv_clear(&c);
    for (int i = 0; i < 3; i++)
        store_message_clear(&w.out[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conversations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_mixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crossed_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_held_conversation, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    tb_init(argc, argv, "store_msg");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store_msg on postgresql" : "store_msg on sqlite", tests, NULL, NULL);
}
