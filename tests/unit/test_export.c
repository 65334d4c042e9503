/*
 * test_export.c — the compliance export's pages (src/chat/chat_export.c):
 * an export cut into the smallest pages (every record its own page), the
 * cursor followed from the messages into the audit entries, gives exactly
 * the records of the export in one piece, in both formats; bad requests and
 * cursors are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chat/chat_export.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char dir[64], path[96];
    store *s;
    int64_t conv;
} fx;

typedef struct sink {
    char *p;
    size_t len;
} sink;

static int to_mem(void *ctx, const char *data, size_t len)
{
    sink *k = ctx;
    char *n = realloc(k->p, k->len + len + 1);

    if (!n)
        return STORE_NOMEM;
    memcpy(n + k->len, data, len);
    k->p = n;
    k->len += len;
    k->p[k->len] = 0;
    return 0;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    store_options o = {.version = 1, .path = f->path};
    store_user_new u = {
        .login = "alice", .display_name = "王小丽", .password_hash = "$x", .now = 1};
    int64_t a = 0, b = 0;
    char cid[16], target[48];

    snprintf(f->dir, sizeof f->dir, "/tmp/cordon-export-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/cordon.db", f->dir);
    assert_int_equal(store_open(&o, &f->s, NULL), STORE_OK);
    assert_int_equal(store_user_create(f->s, &u, &a), STORE_OK);
    u.login = "bob";
    u.display_name = "李大明";
    assert_int_equal(store_user_create(f->s, &u, &b), STORE_OK);
    assert_int_equal(
        store_conv_create(f->s, STORE_CONV_GROUP, "项目组", a, &b, 1, 1, &f->conv, NULL), STORE_OK);
    for (int i = 0; i < 7; i++) {
        store_message_new m = {.conv_id = f->conv,
                               .sender_id = i % 2 ? a : b,
                               .client_id = cid,
                               .text = "会议改到周三",
                               .verdict = "allow",
                               .now = 1000 + i};
        store_message out = {0};
        bool dup;

        snprintf(cid, sizeof cid, "c%d", i);
        m.text_len = strlen(m.text);
        assert_int_equal(store_message_append(f->s, &m, &out, &dup), STORE_OK);
        store_message_clear(&out);
    }
    snprintf(target, sizeof target, "conversation:%lld", (long long)f->conv);
    for (int i = 0; i < 4; i++) {
        store_audit_new e = {
            .time = 1000 + i, .actor_id = a, .event = "conv.test", .target = target};

        assert_int_equal(store_audit_append(f->s, &e, NULL), STORE_OK);
    }
    *state = f;
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A file attached to message id, straight in the tables (the upload path
 * is tested by the server's tests). */
static void attach(fx *f, int64_t msg_id)
{
    sqlite3 *db;
    char sql[768];

    snprintf(sql, sizeof sql,
             "INSERT INTO blobs(hash, refs, size) VALUES('h1', 1, 10);"
             "INSERT INTO files(id, owner_id, conv_id, hash, name, mime, size, state, verdict, "
             "created_at) VALUES('f1', 1, %lld, 'h1', '报价单.pdf', 'application/pdf', 10, 1, "
             "'allow', 1);"
             "INSERT INTO message_files(message_id, file_id, position) VALUES(%lld, 'f1', 0);",
             (long long)f->conv, (long long)msg_id);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_attachments(void **state)
{
    fx *f = *state;
    chat_export_req q = {.conv_id = f->conv, .from = 0, .to = 5000, .reason = "r", .now = 7};
    chat_export_result res;
    store_messages l = {0};
    store_export_query sq = {.conv_id = f->conv, .from = 0, .to = 5000, .limit = 1};
    sink j = {0}, e = {0};

    assert_int_equal(store_message_export(f->s, &sq, &l), STORE_OK);
    attach(f, l.items[0].id);
    store_messages_free(&l);
    assert_int_equal(chat_export_run(f->s, &q, to_mem, &j, &res), STORE_OK);
    assert_non_null(strstr(j.p, "\"attachments\":[{"));
    assert_non_null(strstr(j.p, "\"name\":\"报价单.pdf\""));
    q.format = CHAT_EXPORT_EML;
    assert_int_equal(chat_export_run(f->s, &q, to_mem, &e, &res), STORE_OK);
    assert_int_equal(count(e.p, "\nX-Cordon-Attachment: "), 1);
    /* the name as an encoded-word: "name=报价单.pdf" */
    assert_non_null(strstr(e.p, "X-Cordon-Attachment: id=f1; type=application/pdf; size=10;\n "
                                "=?UTF-8?B?bmFtZT3miqXku7fljZUucGRm?="));
    free(j.p);
    free(e.p);
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[96];

    store_close(f->s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void paged(fx *f, chat_export_format format)
{
    chat_export_req q = {.conv_id = f->conv,
                         .from = 0,
                         .to = 5000,
                         .format = format,
                         .reason = "测试",
                         .actor = "t",
                         .now = 7};
    chat_export_result res;
    sink whole = {0}, pages = {0};
    char cursor[CHAT_EXPORT_CURSOR_LEN] = "";
    int64_t msgs = 0, audit = 0;
    int n = 0;

    assert_int_equal(chat_export_run(f->s, &q, to_mem, &whole, &res), STORE_OK);
    assert_int_equal(res.messages, 7);
    assert_int_equal(res.audit_entries, 4);
    assert_false(res.more);
    q.max_bytes = 1; /* every record its own page */
    do {
        q.cursor = cursor;
        assert_int_equal(chat_export_run(f->s, &q, to_mem, &pages, &res), STORE_OK);
        msgs += res.messages;
        audit += res.audit_entries;
        snprintf(cursor, sizeof cursor, "%s", res.more ? res.next_cursor : "");
        assert_true(++n < 50);
    } while (res.more);
    assert_int_equal(msgs, 7);
    assert_int_equal(audit, 4);
    assert_int_equal(n, 11); /* 7 messages, 4 audit entries */
    if (format == CHAT_EXPORT_JSONL) {
        assert_int_equal(count(pages.p, "\"type\":\"message\""), 7);
        assert_int_equal(count(pages.p, "\"type\":\"audit\""), 4);
        assert_int_equal(count(pages.p, "\"type\":\"export\""), 1); /* only the first page */
        assert_int_equal(count(pages.p, "\"type\":\"page\""), 11);
        assert_int_equal(count(whole.p, "\"type\":\"page\""), 1);
    } else {
        assert_int_equal(count(pages.p, "\nX-Cordon-Message-Id: "), 7);
        assert_int_equal(count(whole.p, "\nX-Cordon-Message-Id: "), 7);
        assert_int_equal(count(pages.p, "Subject: Cordon export: audit entries"), 4);
        assert_int_equal(count(whole.p, "Subject: Cordon export: audit entries"), 1);
        assert_non_null(strstr(whole.p, "Subject: =?UTF-8?B?"));
    }
    free(whole.p);
    free(pages.p);
}

static void test_paged_jsonl(void **state)
{
    paged(*state, CHAT_EXPORT_JSONL);
}

static void test_paged_eml(void **state)
{
    paged(*state, CHAT_EXPORT_EML);
}

static void test_refused(void **state)
{
    fx *f = *state;
    chat_export_req q = {.conv_id = f->conv, .from = 0, .to = 5000, .reason = "r", .now = 7};
    chat_export_result res;
    sink k = {0};

    assert_null(chat_export_check(&q));
    q.reason = "";
    assert_string_equal(chat_export_check(&q), "reason_required");
    q.reason = "r";
    q.user_id = 1;
    assert_string_equal(chat_export_check(&q), "bad_target");
    q.user_id = 0;
    q.to = 0;
    assert_string_equal(chat_export_check(&q), "bad_period");
    q.to = 5000;
    const char *bad[] = {"x1", "m", "m-1", "a1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.cursor = bad[i];
        assert_string_equal(chat_export_check(&q), "bad_cursor");
        assert_int_equal(chat_export_run(f->s, &q, to_mem, &k, &res), STORE_INVAL);
    }
    q.cursor = NULL;
    q.conv_id = 999;
    assert_int_equal(chat_export_run(f->s, &q, to_mem, &k, &res), STORE_NOTFOUND);
    assert_int_equal(k.len, 0); /* nothing written for a refused export */
    free(k.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paged_jsonl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paged_eml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attachments, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
