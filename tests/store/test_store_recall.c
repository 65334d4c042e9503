/*
 * test_store_recall.c — what leaves and what stays: recall erasing a
 * message's text (from SQLite's files too) and redacting its alerts,
 * forward provenance, alerts and their workflow, the alert and audit entry
 * written with a message, export pages. Run on SQLite and on PostgreSQL
 * (test_backend.h).
 */
#include "test_store_fx.h"

/* ---------------------------------------------------------------- tests */

/* The compliance export's pages: a conversation's or a sender's messages
 * of [from, to) in id order after the cursor; the audit entries covering
 * the target in the same period. */
static void test_export_pages(void **state)
{
    fx *f = *state;
    int64_t g = 0, other = 0, ids[10], total = 0;
    int64_t members[] = {f->bob};
    store_messages p = {0};
    store_audit_entries a = {0};
    char cid[16], target[48], sql[128];
    store_export_query q = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->alice, members, 1, 1, &g, NULL),
        STORE_OK);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "o", f->alice, members, 1, 1, &other, NULL),
        STORE_OK);
    for (int i = 0; i < 10; i++) {
        snprintf(cid, sizeof cid, "e%d", i);
        ids[i] = send(f->s, i == 5 ? other : g, i % 2 ? f->bob : f->alice, cid, "m");
    }
    /* message i was created at 100 * (i + 1) */
    snprintf(sql, sizeof sql, "UPDATE messages SET created_at = 100 * (id - %lld + 1)",
             (long long)ids[0]);
    raw_sql(f->path, sql);
    assert_int_equal(store_message_recall(f->s, ids[3], 450), STORE_OK);

    /* conversation g, [200, 800): messages 1..6 but 5 (another conversation) */
    q = (store_export_query){.conv_id = g, .from = 200, .to = 800, .limit = 2};
    for (int page = 0; page < 4; page++) {
        assert_int_equal(store_message_export(f->s, &q, &p), STORE_OK);
        for (size_t i = 0; i < p.n; i++) {
            assert_int_equal(p.items[i].conv_id, g);
            assert_true(p.items[i].created_at >= 200 && p.items[i].created_at < 800);
            if (p.items[i].id == ids[3])
                assert_null(p.items[i].text); /* recalled: as the store holds it */
            q.after = p.items[i].id;
            total++;
        }
        store_messages_free(&p);
    }
    assert_int_equal(total, 5); /* ids[1], [2], [3], [4], [6] */
    /* bob's messages anywhere: 1, 3, 5, 7, 9 */
    q = (store_export_query){.user_id = f->bob, .from = 0, .to = 100000};
    assert_int_equal(store_message_export(f->s, &q, &p), STORE_OK);
    assert_int_equal(p.n, 5);
    assert_int_equal(p.items[2].id, ids[5]);
    assert_int_equal(p.items[2].conv_id, other);
    store_messages_free(&p);
    /* bad queries */
    q = (store_export_query){.conv_id = g, .user_id = f->bob, .from = 0, .to = 1};
    assert_int_equal(store_message_export(f->s, &q, &p), STORE_INVAL);
    q = (store_export_query){.conv_id = g, .from = 5, .to = 5};
    assert_int_equal(store_message_export(f->s, &q, &p), STORE_INVAL);
    q = (store_export_query){.conv_id = g, .from = 0, .to = 5, .limit = STORE_EXPORT_PAGE_MAX + 1};
    assert_int_equal(store_message_export(f->s, &q, &p), STORE_INVAL);

    /* audit: the conversation, one of its messages, another conversation's
     * message, bob as actor, outside the period */
    snprintf(target, sizeof target, "conversation:%lld", (long long)g);
    store_audit_new e1 = {.time = 300, .actor_id = f->alice, .event = "x.conv", .target = target};
    assert_int_equal(store_audit_append(f->s, &e1, NULL), STORE_OK);
    snprintf(target, sizeof target, "message:%lld", (long long)ids[3]);
    store_audit_new e2 = {.time = 450, .actor_id = f->alice, .event = "x.msg", .target = target};
    assert_int_equal(store_audit_append(f->s, &e2, NULL), STORE_OK);
    snprintf(target, sizeof target, "message:%lld", (long long)ids[5]);
    store_audit_new e3 = {.time = 600, .actor_id = f->bob, .event = "x.other", .target = target};
    assert_int_equal(store_audit_append(f->s, &e3, NULL), STORE_OK);
    snprintf(target, sizeof target, "conversation:%lld", (long long)g);
    store_audit_new e4 = {.time = 900, .actor_id = f->alice, .event = "x.late", .target = target};
    assert_int_equal(store_audit_append(f->s, &e4, NULL), STORE_OK);
    q = (store_export_query){.conv_id = g, .from = 200, .to = 800};
    assert_int_equal(store_audit_covering(f->s, &q, &a), STORE_OK);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.items[0].event, "x.conv");
    assert_string_equal(a.items[1].event, "x.msg");
    q.after = a.items[0].seq;
    store_audit_entries_free(&a);
    assert_int_equal(store_audit_covering(f->s, &q, &a), STORE_OK);
    assert_int_equal(a.n, 1); /* after the cursor */
    store_audit_entries_free(&a);
    q = (store_export_query){.user_id = f->bob, .from = 200, .to = 800};
    assert_int_equal(store_audit_covering(f->s, &q, &a), STORE_OK);
    assert_int_equal(a.n, 2); /* ids[3] is bob's (x.msg) and bob acted (x.other) */
    assert_string_equal(a.items[0].event, "x.msg");
    assert_string_equal(a.items[1].event, "x.other");
    store_audit_entries_free(&a);
}

/* true when the bytes of needle occur in the file */
static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    size_t n = strlen(needle), len;
    char *buf;
    bool found = false;

    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, len, fp), len);
    fclose(fp);
    for (size_t i = 0; i + n <= len && !found; i++)
        found = !memcmp(buf + i, needle, n);
    free(buf);
    return found;
}

static void test_recall(void **state)
{
    fx *f = *state;
    int64_t d = 0, id;
    store_message m = {0};
    char wal[1200];
    static const char secret[] = "zq-recall-me-7f3a9c-unique";

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    id = send(f->s, d, f->alice, "r1", secret);
    send(f->s, d, f->alice, "r2", "stays");
    assert_int_equal(store_message_recall(f->s, id, 9000), STORE_OK);
    assert_int_equal(store_message_recall(f->s, id, 9001), STORE_OK); /* twice: fine */
    assert_int_equal(store_message_recall(f->s, 999, 9000), STORE_NOTFOUND);
    assert_int_equal(store_message_get(f->s, id, &m), STORE_OK);
    assert_true(m.recalled);
    assert_null(m.text);
    assert_int_equal(m.recalled_at, 9000);
    store_message_clear(&m);
    if (tb_is_pg()) {
        /* gone from every row a database user can read (the dead row
         * version until vacuum: docs/STORE.md, "PostgreSQL") */
        assert_false(tb_pg_rows_contain(f->path, secret));
        assert_true(tb_pg_rows_contain(f->path, "stays"));
        return;
    }
    /* gone from the files, not just hidden */
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_false(file_contains(f->path, secret));
    assert_false(file_contains(wal, secret));
    assert_true(file_contains(f->path, "stays") || file_contains(wal, "stays"));
}

/* The bus's gap fill reads the recalls and containments since a gap began
 * of messages up to its floor, oldest first (store.h). */
static void test_recalled_since(void **state)
{
    fx *f = *state;
    int64_t d = 0, ids[5];
    bool changed = false;
    store_messages l = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    for (int i = 0; i < 5; i++) {
        char cid[8];

        snprintf(cid, sizeof cid, "g%d", i);
        ids[i] = send(f->s, d, f->alice, cid, "gap");
    }
    assert_int_equal(store_message_recall(f->s, ids[0], 1000), STORE_OK); /* before the gap */
    assert_int_equal(store_message_recall(f->s, ids[3], 6000), STORE_OK);
    assert_int_equal(store_message_recall(f->s, ids[1], 5000), STORE_OK);
    assert_int_equal(
        store_message_contain(f->s, ids[2], STORE_CONTAIN_QUARANTINE, f->carol, 7000, &changed),
        STORE_OK);
    /* ids[4]: not recalled */
    assert_int_equal(store_message_recalled_since(f->s, 5000, ids[4], 10, &l), STORE_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].id, ids[1]);
    assert_int_equal(l.items[1].id, ids[2]);
    assert_int_equal(l.items[1].contained, STORE_CONTAINED_QUARANTINED);
    assert_int_equal(l.items[2].id, ids[3]);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(l.items[i].recalled);
        assert_int_equal(l.items[i].conv_id, d);
    }
    store_messages_free(&l);
    /* up to the floor only, and at most limit */
    assert_int_equal(store_message_recalled_since(f->s, 5000, ids[2], 10, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[1].id, ids[2]);
    store_messages_free(&l);
    assert_int_equal(store_message_recalled_since(f->s, 1, ids[4], 1, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].id, ids[0]);
    store_messages_free(&l);
    assert_int_equal(store_message_recalled_since(f->s, 8000, ids[4], 10, &l), STORE_OK);
    assert_int_equal(l.n, 0);
    store_messages_free(&l);
    assert_int_equal(store_message_recalled_since(f->s, 0, ids[4], 10, &l), STORE_INVAL);
    assert_int_equal(store_message_recalled_since(f->s, 5000, ids[4], 0, &l), STORE_INVAL);
}

/* A recall leaves its alerts the findings only (docs/AUDIT.md): no text
 * around them, no justification's words — and the same for the held
 * attempt it was the justified resend of, not for other attempts. */
static void test_recall_alerts(void **state)
{
    fx *f = *state;
    int64_t d = 0, held = 0, other = 0;
    static const char ctx[] =
        "[{\"rule\":\"m\",\"excerpt\":\"X\",\"context_before\":\"zq-before-61c\","
        "\"context_after\":\"zq-after-61c\"}]";
    static const char bare[] = "[{\"excerpt\":\"X\",\"rule\":\"m\"}]"; /* stored sorted */
    static const char why[] = "zq-why-61c-because";
    store_alert_new h = {.user_id = f->alice,
                         .category = "marking",
                         .verdict = "confirm",
                         .findings_json = ctx,
                         .now = 10};
    store_alert_new o = h;
    store_alert_new a = {
        .category = "marking", .verdict = "confirm", .findings_json = ctx, .justification = why};
    store_message_new m = {.client_id = "ra",
                           .text = "X zq-text-61c",
                           .text_len = 13,
                           .verdict = "confirm",
                           .justification = why,
                           .alert = &a,
                           .now = 20};
    store_message out = {0};
    store_alert x = {0};
    int64_t aid = 0;
    char wal[1200];

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    h.conv_id = o.conv_id = d;
    o.findings_json = "[{\"rule\":\"other\",\"context_before\":\"zq-other-61c\"}]";
    assert_int_equal(store_alert_create(f->s, &h, &held), STORE_OK);
    assert_int_equal(store_alert_create(f->s, &o, &other), STORE_OK);
    m.conv_id = d;
    m.sender_id = f->alice;
    m.alert_id_out = &aid;
    assert_int_equal(store_message_append(f->s, &m, &out, NULL), STORE_OK);
    assert_true(aid > 0);
    assert_int_equal(store_message_recall(f->s, out.id, 30), STORE_OK);

    assert_int_equal(store_alert_get(f->s, aid, &x), STORE_OK);
    assert_string_equal(x.findings_json, bare);
    assert_non_null(x.justification);         /* still an override... */
    assert_string_equal(x.justification, ""); /* ...without its words */
    store_alert_clear(&x);
    assert_int_equal(store_alert_get(f->s, held, &x), STORE_OK);
    assert_string_equal(x.findings_json, bare);
    store_alert_clear(&x);
    assert_int_equal(store_alert_get(f->s, other, &x), STORE_OK);
    assert_non_null(strstr(x.findings_json, "zq-other-61c")); /* another attempt: kept */
    store_alert_clear(&x);

    snprintf(wal, sizeof wal, "%s-wal", f->path);
    for (size_t i = 0; i < 4; i++) {
        const char *gone[] = {"zq-before-61c", "zq-after-61c", why, "zq-text-61c"};

        if (tb_is_pg()) {
            assert_false(tb_pg_rows_contain(f->path, gone[i]));
            continue;
        }
        assert_false(file_contains(f->path, gone[i]));
        assert_false(file_contains(wal, gone[i]));
    }
    store_message_clear(&out);
}

static void test_forward(void **state)
{
    fx *f = *state;
    int64_t d1 = 0, d2 = 0, orig, members[] = {f->bob, f->carol};
    store_message_new m = {.client_id = "f1", .text = "fwd", .text_len = 3, .verdict = "allow"};
    store_message a = {0}, b = {0};
    store_messages chain = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d1, NULL),
        STORE_OK);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->bob, members, 2, 1, &d2, NULL), STORE_OK);
    orig = send(f->s, d1, f->alice, "o1", "original");
    m.conv_id = d2;
    m.sender_id = f->bob;
    m.forward_of = orig;
    assert_int_equal(store_message_append(f->s, &m, &a, NULL), STORE_OK);
    assert_int_equal(a.forward_of, orig);
    assert_int_equal(a.forward_origin_id, orig);
    assert_int_equal(a.forward_author_id, f->alice);
    assert_int_equal(a.forward_depth, 1);
    m.sender_id = f->carol;
    m.client_id = "f2";
    m.forward_of = a.id;
    assert_int_equal(store_message_append(f->s, &m, &b, NULL), STORE_OK);
    assert_int_equal(b.forward_origin_id, orig);
    assert_int_equal(b.forward_author_id, f->alice);
    assert_int_equal(b.forward_depth, 2);
    assert_int_equal(store_message_forward_chain(f->s, b.id, &chain), STORE_OK);
    assert_int_equal(chain.n, 3);
    assert_int_equal(chain.items[0].id, b.id);
    assert_int_equal(chain.items[1].id, a.id);
    assert_int_equal(chain.items[2].id, orig);
    store_messages_free(&chain);
    /* a recalled message cannot be forwarded */
    assert_int_equal(store_message_recall(f->s, orig, 50), STORE_OK);
    m.client_id = "f3";
    m.forward_of = orig;
    assert_int_equal(store_message_append(f->s, &m, NULL, NULL), STORE_NOTFOUND);
    m.forward_of = 12345;
    assert_int_equal(store_message_append(f->s, &m, NULL, NULL), STORE_NOTFOUND);
    store_message_clear(&a);
    store_message_clear(&b);
}

static void test_alerts(void **state)
{
    fx *f = *state;
    store_alert_new a = {.user_id = f->alice,
                         .category = "pii",
                         .verdict = "warn",
                         .findings_json = "[{\"rule\":\"r1\",\"b\":1,\"a\":2}]",
                         .now = 100};
    store_alert_filter flt = {0};
    store_alerts l = {0};
    store_alert x = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0;

    assert_int_equal(store_alert_create(f->s, &a, &id1), STORE_OK);
    a.category = "marking";
    a.user_id = f->bob;
    a.now = 200;
    a.justification = "needed for the audit";
    assert_int_equal(store_alert_create(f->s, &a, &id2), STORE_OK);
    a.now = 300;
    assert_int_equal(store_alert_create(f->s, &a, &id3), STORE_OK);
    a.findings_json = "not json";
    assert_int_equal(store_alert_create(f->s, &a, NULL), STORE_INVAL);

    assert_int_equal(store_alert_get(f->s, id1, &x), STORE_OK);
    assert_string_equal(x.findings_json, "[{\"a\":2,\"b\":1,\"rule\":\"r1\"}]");
    assert_int_equal(x.status, STORE_ALERT_OPEN);
    store_alert_clear(&x);

    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.items[0].id, id3);
    store_alerts_free(&l);
    flt.category = "marking";
    flt.limit = 1;
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].id, id3);
    flt.before_id = l.items[0].id;
    store_alerts_free(&l);
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].id, id2);
    store_alerts_free(&l);
    memset(&flt, 0, sizeof flt);
    flt.user_id = f->alice;
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    store_alerts_free(&l);
    memset(&flt, 0, sizeof flt);
    flt.since = 150;
    flt.until = 300;
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].id, id2);
    store_alerts_free(&l);

    assert_int_equal(store_alert_ack(f->s, id1, f->carol, "looking", 400), STORE_OK);
    assert_int_equal(store_alert_ack(f->s, id1, f->carol, NULL, 401), STORE_OK);
    assert_int_equal(store_alert_resolve(f->s, id1, f->carol, "", 402), STORE_INVAL);
    assert_int_equal(store_alert_resolve(f->s, id1, f->carol, "fine", 402), STORE_OK);
    assert_int_equal(store_alert_resolve(f->s, id1, f->carol, "again", 403), STORE_CONFLICT);
    assert_int_equal(store_alert_ack(f->s, id1, f->carol, NULL, 404), STORE_CONFLICT);
    assert_int_equal(store_alert_ack(f->s, 999, f->carol, NULL, 404), STORE_NOTFOUND);
    assert_int_equal(store_alert_get(f->s, id1, &x), STORE_OK);
    assert_int_equal(x.status, STORE_ALERT_RESOLVED);
    assert_string_equal(x.ack_comment, "looking");
    assert_string_equal(x.resolve_comment, "fine");
    assert_int_equal(x.resolved_by, f->carol);
    store_alert_clear(&x);
    memset(&flt, 0, sizeof flt);
    flt.by_status = true;
    flt.status = STORE_ALERT_OPEN;
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    store_alerts_free(&l);
}

static void test_message_side_records(void **state)
{
    fx *f = *state;
    int64_t d = 0, seq = 0;
    uint8_t h[32];
    store_alert_new a = {.category = "pii", .verdict = "confirm", .findings_json = "[]"};
    store_audit_new e = {.time = 1, .event = "guard.override", .detail = "{\"x\":1}"};
    store_message_new m = {.client_id = "s1",
                           .text = "t",
                           .text_len = 1,
                           .verdict = "confirm",
                           .alert = &a,
                           .audit = &e};
    store_message out = {0};
    store_alerts l = {0};
    store_alert_filter flt = {0};
    store_audit_entries ae = {0};

    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_DIRECT, NULL, f->alice, &f->bob, 1, 1, &d, NULL),
        STORE_OK);
    m.conv_id = d;
    m.sender_id = f->alice;
    assert_int_equal(store_message_append(f->s, &m, &out, NULL), STORE_OK);
    assert_int_equal(store_message_append(f->s, &m, NULL, NULL), STORE_OK); /* repeat */
    assert_int_equal(store_alert_list(f->s, &flt, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].message_id, out.id);
    assert_int_equal(l.items[0].conv_id, d);
    assert_int_equal(l.items[0].user_id, f->alice);
    store_alerts_free(&l);
    assert_int_equal(store_audit_head(f->s, &seq, h), STORE_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(store_audit_page(f->s, 0, 0, &ae), STORE_OK);
    {
        char want[40];

        snprintf(want, sizeof want, "message:%lld", (long long)out.id);
        assert_string_equal(ae.items[0].target, want);
    }
    store_audit_entries_free(&ae);
    store_message_clear(&out);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recalled_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recall_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_side_records, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    tb_init(argc, argv, "store_recall");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store_recall on postgresql" : "store_recall on sqlite", tests, NULL, NULL);
}
