/*
 * test_store_work.c — the store's files (store_files.h: uploads, files with
 * blob reference counts, attachments, inspection outcomes), reminders and
 * burn-after-reading, on SQLite and on PostgreSQL (test_backend.h). Times
 * are real epoch milliseconds (past 2^31), as the server writes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/store_files.h"
#include "store/store_work.h"
#include "test_backend.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T0 1796560000000LL /* 2026-12-06, ms */

typedef struct fx {
    char dir[64], path[1100];
    store *s;
    int64_t a, b, c, ext, g;
} fx;

static int64_t add_user(store *s, const char *login, bool external)
{
    store_user_new u = {
        .login = login, .password_hash = "$argon2id$x", .external = external, .now = T0};
    int64_t id = 0;

    assert_int_equal(store_user_create(s, &u, &id), STORE_OK);
    return id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    store_options o = {.version = 1};
    int64_t others[] = {0};

    tb_fresh(f->dir, sizeof f->dir, f->path, sizeof f->path);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->s, NULL), STORE_OK);
    f->a = add_user(f->s, "a", false);
    f->b = add_user(f->s, "b", false);
    f->c = add_user(f->s, "c", false);
    f->ext = add_user(f->s, "ext", true);
    others[0] = f->b;
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "g", f->a, others, 1, T0, &f->g, NULL), STORE_OK);
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

static store_message_new msg(fx *f, int64_t sender, const char *cid, const char *text, int64_t now)
{
    return (store_message_new){.conv_id = f->g,
                               .sender_id = sender,
                               .client_id = cid,
                               .text = text,
                               .text_len = strlen(text),
                               .verdict = "allow",
                               .now = now};
}

static int64_t put(fx *f, store_message_new *m)
{
    store_message out = {0};
    int64_t id;

    assert_int_equal(store_message_append(f->s, m, &out, NULL), STORE_OK);
    id = out.id;
    store_message_clear(&out);
    return id;
}

static void new_file(fx *f, const char *id, const char *hash, const char *thumb, bool image)
{
    store_file x = {.id = (char *)id,
                    .owner_id = f->a,
                    .conv_id = f->g,
                    .hash = (char *)hash,
                    .thumb_hash = (char *)thumb,
                    .name = "报告.pdf",
                    .mime = image ? "image/png" : "application/pdf",
                    .size = 4096,
                    .image = image,
                    .width = image ? 640 : 0,
                    .height = image ? 480 : 0,
                    .location_removed = image,
                    .state = STORE_UP_READY,
                    .verdict = "allow",
                    .findings = "[]",
                    .created_at = T0 + 10};

    assert_int_equal(store_file_create(f->s, &x, 4096, thumb ? 512 : 0), STORE_OK);
}

/* Uploads: create (once per id), read, state and outcome, usage, expiry
 * listing, delete. */
static void test_uploads(void **state)
{
    fx *f = *state;
    store_upload u = {.id = "up1",
                      .user_id = f->a,
                      .conv_id = f->g,
                      .length = 1000,
                      .filename = "a.txt",
                      .filetype = "text/plain",
                      .created_at = T0,
                      .expires_at = T0 + 3600000};
    store_upload r = {0};
    store_uploads l = {0};
    int64_t bytes = 0, count = 0;

    assert_int_equal(store_upload_create(f->s, &u), STORE_OK);
    assert_int_equal(store_upload_create(f->s, &u), STORE_CONFLICT);
    u.id = "up2";
    u.length = 250;
    u.expires_at = T0 + 60000;
    assert_int_equal(store_upload_create(f->s, &u), STORE_OK);
    assert_int_equal(store_upload_usage(f->s, f->a, &bytes, &count), STORE_OK);
    assert_int_equal(bytes, 1250);
    assert_int_equal(count, 2);

    assert_int_equal(store_upload_get(f->s, "up1", &r), STORE_OK);
    assert_string_equal(r.filename, "a.txt");
    assert_int_equal(r.expires_at, T0 + 3600000);
    assert_null(r.file_id);
    store_upload_clear(&r);
    assert_int_equal(store_upload_get(f->s, "nope", &r), STORE_NOTFOUND);

    assert_int_equal(
        store_upload_update(f->s, "up1", STORE_UP_READY, "{\"verdict\":\"allow\"}", "file1"),
        STORE_OK);
    assert_int_equal(store_upload_update(f->s, "up1", STORE_UP_READY, NULL, NULL), STORE_OK);
    assert_int_equal(store_upload_get(f->s, "up1", &r), STORE_OK);
    assert_int_equal(r.state, STORE_UP_READY);
    assert_string_equal(r.outcome, "{\"verdict\":\"allow\"}"); /* NULL keeps it */
    assert_string_equal(r.file_id, "file1");
    store_upload_clear(&r);
    assert_int_equal(store_upload_update(f->s, "nope", STORE_UP_READY, NULL, NULL), STORE_NOTFOUND);

    /* only uploads in progress count; expired ones are listed by state */
    assert_int_equal(store_upload_usage(f->s, f->a, &bytes, &count), STORE_OK);
    assert_int_equal(bytes, 250);
    assert_int_equal(count, 1);
    assert_int_equal(store_upload_list(f->s, STORE_UP_UPLOADING, T0 + 120000, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].id, "up2");
    store_uploads_free(&l);
    assert_int_equal(store_upload_list(f->s, STORE_UP_UPLOADING, 0, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    store_uploads_free(&l);

    assert_int_equal(store_upload_delete(f->s, "up2"), STORE_OK);
    assert_int_equal(store_upload_delete(f->s, "up2"), STORE_NOTFOUND);
}

/* The upload's lease (one writer across nodes): taken when free, refused
 * while another owner holds it, renewed only by its owner, taken over once
 * it expired (the database's clock), released only by its owner. */
static void test_upload_lease(void **state)
{
    fx *f = *state;
    store_upload u = {.id = "upl",
                      .user_id = f->a,
                      .conv_id = f->g,
                      .length = 10,
                      .filename = "a.bin",
                      .created_at = T0,
                      .expires_at = T0 + 3600000};
    struct timespec ts = {.tv_nsec = 400 * 1000000L};

    assert_int_equal(store_upload_create(f->s, &u), STORE_OK);
    assert_int_equal(store_upload_lease(f->s, "nope", "A", 5000, true), STORE_NOTFOUND);
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, true), STORE_OK);
    assert_int_equal(store_upload_lease(f->s, "upl", "B", 5000, true), STORE_CONFLICT);
    assert_int_equal(store_upload_lease(f->s, "upl", "B", 5000, false), STORE_CONFLICT);
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, false), STORE_OK); /* renewal */
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, true), STORE_OK);  /* again */
    /* only the owner lets it go */
    assert_int_equal(store_upload_lease_release(f->s, "upl", "B"), STORE_CONFLICT);
    assert_int_equal(store_upload_lease_release(f->s, "upl", "A"), STORE_OK);
    assert_int_equal(store_upload_lease_release(f->s, "upl", "A"), STORE_CONFLICT);
    /* a released lease is not renewed (only taken again) */
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, false), STORE_CONFLICT);
    assert_int_equal(store_upload_lease(f->s, "upl", "B", 100, true), STORE_OK);
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, true), STORE_CONFLICT);
    /* B's node died: its lease expires and A takes it; B's renewal then
     * fails (its lease was lost) and so does its release */
    nanosleep(&ts, NULL);
    assert_int_equal(store_upload_lease(f->s, "upl", "A", 5000, true), STORE_OK);
    assert_int_equal(store_upload_lease(f->s, "upl", "B", 5000, false), STORE_CONFLICT);
    assert_int_equal(store_upload_lease_release(f->s, "upl", "B"), STORE_CONFLICT);
    assert_int_equal(store_upload_lease(f->s, "upl", "B", 5000, true), STORE_CONFLICT);
    assert_int_equal(store_upload_delete(f->s, "upl"), STORE_OK);
    assert_int_equal(store_upload_lease_release(f->s, "upl", "A"), STORE_NOTFOUND);
}

/* Files delivered by messages: the attachments' JSON with the message,
 * who may read a file, and blobs released when nothing delivers them. */
static void test_files_and_attachments(void **state)
{
    fx *f = *state;
    const char *ids[] = {"f1", "f2"};
    store_message_new m = msg(f, f->a, "m1", "见附件", T0 + 100);
    store_message got = {0};
    store_files fl = {0};
    store_file x = {0};
    store_hashes gone = {0};
    json_t *att;
    int64_t id, id2, alert = 0;
    char *outcome = NULL;

    new_file(f, "f1", "hash-a", "hash-thumb", true);
    new_file(f, "f2", "hash-b", NULL, false);
    new_file(f, "f3", "hash-a", NULL, false); /* the same bytes uploaded again */
    assert_int_equal(store_file_get(f->s, "f1", &x), STORE_OK);
    assert_string_equal(x.name, "报告.pdf");
    assert_true(x.image && x.location_removed);
    assert_int_equal(x.width, 640);
    assert_string_equal(x.thumb_hash, "hash-thumb");
    store_file_clear(&x);

    /* the owner sees their file before it is sent; nobody else does */
    assert_int_equal(store_file_visible(f->s, "f1", f->a, &x), STORE_OK);
    store_file_clear(&x);
    assert_int_equal(store_file_visible(f->s, "f1", f->b, &x), STORE_NOTFOUND);

    m.attachments = ids;
    m.n_attachments = 2;
    id = put(f, &m);
    assert_int_equal(store_message_get(f->s, id, &got), STORE_OK);
    assert_non_null(got.attachments);
    att = json_loads(got.attachments, 0, NULL);
    assert_non_null(att);
    assert_int_equal(json_array_size(att), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 0), "id")), "f1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 0), "kind")),
                        "image");
    assert_true(json_is_true(json_object_get(json_array_get(att, 0), "thumbnail")));
    assert_true(json_is_true(json_object_get(json_array_get(att, 0), "location_removed")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(att, 1), "size")), 4096);
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 1), "kind")), "file");
    assert_true(json_is_false(json_object_get(json_array_get(att, 1), "thumbnail")));
    json_decref(att);
    store_message_clear(&got);
    assert_int_equal(store_message_files_get(f->s, id, &fl), STORE_OK);
    assert_int_equal(fl.n, 2);
    assert_string_equal(fl.items[1].id, "f2");
    store_files_free(&fl);

    /* a member sees it once a message delivered it; a non-member and an
     * external member (the message was inspected for internal readers)
     * do not */
    assert_int_equal(store_file_visible(f->s, "f1", f->b, &x), STORE_OK);
    store_file_clear(&x);
    assert_int_equal(store_file_visible(f->s, "f1", f->c, &x), STORE_NOTFOUND);
    assert_int_equal(store_member_add(f->s, f->g, f->ext, STORE_MEMBER, T0 + 150), STORE_OK);
    assert_int_equal(store_conv_set_shared_history(f->s, f->g, true, T0 + 151), STORE_OK);
    assert_int_equal(store_file_visible(f->s, "f1", f->ext, &x), STORE_NOTFOUND);

    /* f3 delivered by a second message, then both recalled: f1/f2's blobs
     * go with the first; hash-a stays while f3 holds it */
    m = msg(f, f->a, "m2", "again", T0 + 200);
    m.attachments = (const char *const[]){"f3"};
    m.n_attachments = 1;
    m.inspected_external = true;
    id2 = put(f, &m);
    assert_int_equal(store_message_recall(f->s, id, T0 + 300), STORE_OK);
    assert_int_equal(store_message_files_drop(f->s, id, &gone), STORE_OK);
    assert_int_equal(gone.n, 2); /* hash-thumb and hash-b; hash-a is f3's too */
    for (size_t i = 0; i < gone.n; i++)
        assert_true(!strcmp(gone.items[i], "hash-thumb") || !strcmp(gone.items[i], "hash-b"));
    store_hashes_free(&gone);
    assert_int_equal(store_file_get(f->s, "f1", &x), STORE_NOTFOUND);
    assert_int_equal(store_message_files_drop(f->s, id2, &gone), STORE_OK);
    assert_int_equal(gone.n, 1);
    assert_string_equal(gone.items[0], "hash-a");
    store_hashes_free(&gone);

    /* inspection outcomes, cached and replaced */
    assert_int_equal(store_inspection_get(f->s, "hash-a:r1:internal", &outcome), STORE_NOTFOUND);
    assert_int_equal(store_inspection_put(f->s, "hash-a:r1:internal", "{\"v\":1}", T0), STORE_OK);
    assert_int_equal(store_inspection_put(f->s, "hash-a:r1:internal", "{\"v\":2}", T0), STORE_OK);
    assert_int_equal(store_inspection_get(f->s, "hash-a:r1:internal", &outcome), STORE_OK);
    assert_string_equal(outcome, "{\"v\":2}");
    free(outcome);

    /* an alert naming a file by id */
    {
        store_alert_new a = {.user_id = f->a,
                             .conv_id = f->g,
                             .category = "marking",
                             .verdict = "block",
                             .findings_json = "[{\"rule\":\"x\"},{\"file\":{\"id\":\"f9\"}}]",
                             .now = T0 + 400};
        int64_t want = 0;

        assert_int_equal(store_file_in_alert(f->s, "f9", &alert), STORE_NOTFOUND);
        assert_int_equal(store_alert_create(f->s, &a, &want), STORE_OK);
        assert_int_equal(store_file_in_alert(f->s, "f9", &alert), STORE_OK);
        assert_int_equal(alert, want);
        assert_int_equal(store_file_in_alert(f->s, "f1", &alert), STORE_NOTFOUND);
    }
    /* filters on real times, counts since a real time */
    {
        store_alert_filter af = {.since = T0 + 400, .until = T0 + 401, .user_id = f->a};
        store_alert_count_query cq = {.since = T0 + 399, .user_id = f->a, .attempts = true};
        store_alerts al = {0};
        int64_t n = 0;

        assert_int_equal(store_alert_list(f->s, &af, &al), STORE_OK);
        assert_int_equal(al.n, 1);
        store_alerts_free(&al);
        af.since = T0 + 401;
        af.until = 0;
        assert_int_equal(store_alert_list(f->s, &af, &al), STORE_OK);
        assert_int_equal(al.n, 0);
        store_alerts_free(&al);
        assert_int_equal(store_alert_count(f->s, &cq, &n), STORE_OK);
        assert_int_equal(n, 1);
    }
}

/* Reminders: create, read, list, edit, fire through a message (moved on
 * in the same transaction), due, delete. */
static void test_reminders(void **state)
{
    fx *f = *state;
    store_reminder_new r = {.conv_id = f->g,
                            .creator_id = f->a,
                            .text = "周会",
                            .at = T0 + 60000,
                            .repeat = STORE_REMIND_WEEKLY,
                            .tz = "Asia/Shanghai",
                            .target = STORE_REMIND_MEMBERS,
                            .target_ids = "[2]",
                            .active = true,
                            .now = T0};
    store_reminder got = {0};
    store_reminders l = {0};
    int64_t id = 0, once = 0;
    store_message_new m;

    assert_int_equal(store_reminder_create(f->s, &r, &id), STORE_OK);
    r.text = "一次";
    r.repeat = STORE_REMIND_ONCE;
    r.at = T0 + 30000;
    r.target_ids = NULL;
    assert_int_equal(store_reminder_create(f->s, &r, &once), STORE_OK);
    r.target_ids = "{\"not\":\"a list\"}";
    assert_int_equal(store_reminder_create(f->s, &r, NULL), STORE_INVAL);

    assert_int_equal(store_reminder_get(f->s, id, &got), STORE_OK);
    assert_string_equal(got.text, "周会");
    assert_string_equal(got.tz, "Asia/Shanghai");
    assert_int_equal(got.repeat, STORE_REMIND_WEEKLY);
    assert_int_equal(got.target, STORE_REMIND_MEMBERS);
    assert_string_equal(got.target_ids, "[2]");
    assert_true(got.active);
    assert_int_equal(got.at, T0 + 60000);
    store_reminder_clear(&got);
    assert_int_equal(store_reminder_list(f->s, f->g, &l), STORE_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].id, once); /* soonest first */
    store_reminders_free(&l);

    r.text = "周会（改）";
    r.target_ids = "[]";
    r.at = T0 + 90000;
    r.now = T0 + 1;
    assert_int_equal(store_reminder_update(f->s, id, &r), STORE_OK);
    assert_int_equal(store_reminder_update(f->s, 99999, &r), STORE_NOTFOUND);

    assert_int_equal(store_reminder_due(f->s, T0 + 30000, 10, &l), STORE_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].id, once);
    store_reminders_free(&l);
    assert_int_equal(store_reminder_due(f->s, T0, 0, &l), STORE_INVAL);

    /* the one-off fires: its message and its end in one transaction */
    m = msg(f, f->a, "rem-once", "一次", T0 + 30001);
    m.kind = "reminder";
    m.meta = "{\"reminder_id\":2}";
    m.reminder_id = once;
    m.reminder_next_at = 0;
    put(f, &m);
    assert_int_equal(store_reminder_get(f->s, once, &got), STORE_OK);
    assert_false(got.active);
    assert_int_equal(got.fired_count, 1);
    assert_int_equal(got.last_fired_at, T0 + 30001);
    store_reminder_clear(&got);
    /* the weekly one moves on */
    m = msg(f, f->a, "rem-week", "周会", T0 + 90001);
    m.reminder_id = id;
    m.reminder_next_at = T0 + 90000 + 7 * 86400000LL;
    put(f, &m);
    assert_int_equal(store_reminder_get(f->s, id, &got), STORE_OK);
    assert_true(got.active);
    assert_int_equal(got.at, T0 + 90000 + 7 * 86400000LL);
    store_reminder_clear(&got);
    assert_int_equal(store_reminder_due(f->s, T0 + 100000, 10, &l), STORE_OK);
    assert_int_equal(l.n, 0);
    store_reminders_free(&l);
    assert_int_equal(store_reminder_list(f->s, f->g, &l), STORE_OK);
    assert_int_equal(l.n, 1); /* the finished one-off is not listed */
    store_reminders_free(&l);

    assert_int_equal(store_reminder_delete(f->s, id), STORE_OK);
    assert_int_equal(store_reminder_delete(f->s, id), STORE_NOTFOUND);
    assert_int_equal(store_reminder_get(f->s, id, &got), STORE_NOTFOUND);
}

/* Burn-after-reading: each reader opens once, the deadline comes forward
 * when all have, and destruction erases the text and what alerts quoted. */
static void test_burn(void **state)
{
    fx *f = *state;
    static const char secret[] = "zq-burn-4e1d-secret";
    store_message_new m = msg(f, f->a, "burn1", secret, T0 + 100);
    store_alert_new a = {.category = "pii",
                         .verdict = "warn",
                         .findings_json = "[{\"rule\":\"p\",\"excerpt\":\"1\",\"context_before\":"
                                          "\"zq-burn-4e1d-ctx\"}]",
                         .now = T0 + 100};
    store_message got = {0};
    store_alert al = {0};
    int64_t id, plain, ids[8], aid = 0;
    size_t n = 9;
    bool first = false;

    m.burn = true;
    m.burn_deadline = T0 + 86400000;
    m.alert = &a;
    m.alert_id_out = &aid;
    id = put(f, &m);
    plain = put(f, (store_message_new[]){msg(f, f->a, "plain", "ordinary", T0 + 101)});

    assert_int_equal(store_burn_open(f->s, id, f->a, T0 + 200, 30000, &first), STORE_INVAL);
    assert_int_equal(store_burn_open(f->s, plain, f->b, T0 + 200, 30000, &first), STORE_NOTFOUND);
    assert_int_equal(store_burn_due(f->s, T0 + 1000, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 0);
    /* b is the only reader: opening it brings the deadline to now + 30 s */
    assert_int_equal(store_burn_open(f->s, id, f->b, T0 + 200, 30000, &first), STORE_OK);
    assert_true(first);
    assert_int_equal(store_burn_open(f->s, id, f->b, T0 + 250, 30000, &first), STORE_OK);
    assert_false(first);
    assert_int_equal(store_message_get(f->s, id, &got), STORE_OK);
    assert_int_equal(got.burn, STORE_BURN_LIVE);
    assert_int_equal(got.burn_deadline, T0 + 30200);
    store_message_clear(&got);
    assert_int_equal(store_burn_due(f->s, T0 + 30200, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], id);

    assert_int_equal(store_burn_destroy(f->s, id), STORE_OK);
    assert_int_equal(store_burn_destroy(f->s, id), STORE_OK); /* twice: fine */
    assert_int_equal(store_burn_destroy(f->s, plain), STORE_NOTFOUND);
    assert_int_equal(store_message_get(f->s, id, &got), STORE_OK);
    assert_int_equal(got.burn, STORE_BURN_DESTROYED);
    assert_null(got.text);
    store_message_clear(&got);
    assert_int_equal(store_alert_get(f->s, aid, &al), STORE_OK);
    assert_null(strstr(al.findings_json, "zq-burn-4e1d-ctx"));
    assert_non_null(strstr(al.findings_json, "\"rule\":\"p\""));
    store_alert_clear(&al);
    assert_int_equal(store_burn_due(f->s, T0 + 90000000, ids, 8, &n), STORE_OK);
    assert_int_equal(n, 0);
    if (tb_is_pg()) {
        /* gone from every row a database user reads (dead row versions
         * until vacuum: docs/STORE.md, "PostgreSQL") */
        assert_false(tb_pg_rows_contain(f->path, secret));
        assert_false(tb_pg_rows_contain(f->path, "zq-burn-4e1d-ctx"));
    } else {
        char sql[200], out[32];

        snprintf(sql, sizeof sql, "SELECT count(*) FROM messages WHERE body LIKE '%%%s%%'", secret);
        tb_sql_text(f->path, sql, out, sizeof out);
        assert_string_equal(out, "0");
    }
}

/* Burn-after-reading pictures (store_work.h): nobody reaches them through
 * store_file_visible, the sender included; a reader in the window after
 * their open does; the destruction drops the file, its thumbnail's blob and
 * the cached outcomes of what went, while the bytes another file shares
 * stay. Deliveries of watermarked copies: one per (file, viewer). */
static void test_burn_pictures_and_deliveries(void **state)
{
    fx *f = *state;
    const char *ids[] = {"bf1"}, *plain_ids[] = {"bf2"};
    store_message_new m = msg(f, f->a, "burnpic", "", T0 + 100);
    store_message_new p = msg(f, f->a, "plainpic", "", T0 + 101);
    store_file x = {0};
    store_hashes gone = {0};
    store_delivery d = {0}, d2 = {0};
    char *outcome = NULL;
    bool first = false, created = false;
    int64_t id;

    new_file(f, "bf1", "hash-burn", "hash-burn-thumb", true);
    new_file(f, "bf2", "hash-burn", NULL, true); /* the same bytes, sent ordinarily */
    assert_int_equal(store_inspection_put(f->s, "hash-burn:r:internal", "{}", T0), STORE_OK);
    assert_int_equal(store_inspection_put(f->s, "hash-burn-thumb:r:internal", "{}", T0), STORE_OK);
    m.text_len = 0;
    m.burn = true;
    m.burn_deadline = T0 + 86400000;
    m.attachments = ids;
    m.n_attachments = 1;
    id = put(f, &m);
    p.text_len = 0;
    p.attachments = plain_ids;
    p.n_attachments = 1;
    put(f, &p);

    assert_int_equal(store_file_visible(f->s, "bf1", f->a, &x), STORE_NOTFOUND); /* the sender */
    assert_int_equal(store_file_visible(f->s, "bf1", f->b, &x), STORE_NOTFOUND);
    assert_int_equal(store_file_visible(f->s, "bf2", f->b, &x), STORE_OK);
    store_file_clear(&x);
    assert_int_equal(store_burn_file_visible(f->s, "bf1", f->b, T0, &x), STORE_NOTFOUND);
    assert_int_equal(store_burn_open(f->s, id, f->b, T0 + 200, 30000, &first), STORE_OK);
    assert_int_equal(store_burn_file_visible(f->s, "bf1", f->b, T0 + 150, &x), STORE_OK);
    assert_string_equal(x.hash, "hash-burn");
    store_file_clear(&x);
    assert_int_equal(store_burn_file_visible(f->s, "bf1", f->b, T0 + 300, &x), STORE_NOTFOUND);
    assert_int_equal(store_burn_file_visible(f->s, "bf1", f->c, T0, &x), STORE_NOTFOUND);
    assert_int_equal(store_burn_file_visible(f->s, "bf1", f->a, T0, &x), STORE_NOTFOUND);

    assert_int_equal(store_burn_files_drop(f->s, id, &gone), STORE_OK);
    assert_int_equal(gone.n, 1);
    assert_string_equal(gone.items[0], "hash-burn-thumb");
    store_hashes_free(&gone);
    assert_int_equal(store_file_get(f->s, "bf1", &x), STORE_NOTFOUND);
    assert_int_equal(store_file_get(f->s, "bf2", &x), STORE_OK);
    store_file_clear(&x);
    assert_int_equal(store_inspection_get(f->s, "hash-burn-thumb:r:internal", &outcome),
                     STORE_NOTFOUND);
    assert_int_equal(store_inspection_get(f->s, "hash-burn:r:internal", &outcome), STORE_OK);
    free(outcome);
    assert_int_equal(store_burn_destroy(f->s, id), STORE_OK);

    assert_int_equal(store_delivery_get_or_create(f->s, f->b, "bf2", T0 + 500, &d, &created),
                     STORE_OK);
    assert_true(created);
    assert_true(d.id > 0);
    assert_int_equal(store_delivery_get_or_create(f->s, f->b, "bf2", T0 + 900, &d2, &created),
                     STORE_OK);
    assert_false(created);
    assert_int_equal(d2.id, d.id);
    assert_int_equal(d2.created_at, T0 + 500);
    assert_int_equal(store_delivery_get_or_create(f->s, f->c, "bf2", T0 + 600, &d2, &created),
                     STORE_OK);
    assert_true(created && d2.id != d.id);
    assert_int_equal(store_delivery_get(f->s, d.id, &d2), STORE_OK);
    assert_int_equal(d2.user_id, f->b);
    assert_string_equal(d2.file_id, "bf2");
    assert_int_equal(store_delivery_get(f->s, d.id + 1000, &d2), STORE_NOTFOUND);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uploads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reminders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burn_pictures_and_deliveries, setup, teardown),
    };

    tb_init(argc, argv, "store_work");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store work on postgresql" : "store work on sqlite", tests, NULL, NULL);
}
