/*
 * test_store_audit.c — the audit hash chain detecting altered, deleted,
 * reordered, truncated and rewritten entries, and signed checkpoints of its
 * head. Run on SQLite and on PostgreSQL (test_backend.h).
 */
#include "test_store_fx.h"

/* ---------------------------------------------------------------- tests */

/* ------------------------------------------------------------- audit */

static void fill_audit(store *s, int n)
{
    char detail[64];

    for (int i = 1; i <= n; i++) {
        store_audit_new e = {.time = 1000 + i,
                             .actor_id = i % 3,
                             .actor = "alice",
                             .event = "test.event",
                             .target = "user:1",
                             .detail = detail};
        int64_t seq = 0;

        snprintf(detail, sizeof detail, "{\"i\": %d, \"b\": \"x\"}", i);
        assert_int_equal(store_audit_append(s, &e, &seq), STORE_OK);
        assert_int_equal(seq, i);
    }
}

static void verify_expect(fx *f, bool ok, int64_t first_bad)
{
    store *s = open_path(f->path);
    store_audit_verify_result r;

    assert_int_equal(store_audit_verify(s, &r), STORE_OK);
    if (r.ok != ok || r.first_bad != first_bad)
        fail_msg("verify: ok=%d first_bad=%lld (%s), expected ok=%d first_bad=%lld", r.ok,
                 (long long)r.first_bad, r.reason, ok, (long long)first_bad);
    store_close(s);
}

static void test_audit_intact(void **state)
{
    fx *f = *state;
    store_audit_entries p = {0};
    store_audit_new bad = {.event = "x", .detail = "[1]"};
    char *out = NULL;
    size_t len = 0;
    FILE *mem;

    fill_audit(f->s, 10);
    verify_expect(f, true, 0);
    assert_int_equal(store_audit_append(f->s, &bad, NULL), STORE_INVAL);
    assert_int_equal(store_audit_page(f->s, 3, 2, &p), STORE_OK);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].seq, 4);
    assert_string_equal(p.items[0].detail, "{\"b\":\"x\",\"i\":4}"); /* canonical */
    store_audit_entries_free(&p);
    /* SQL cannot rewrite the log */
    assert_int_not_equal(tb_sql_try(f->path, "DELETE FROM audit"), 0);
    assert_int_not_equal(tb_sql_try(f->path, "UPDATE audit SET actor='x'"), 0);
    mem = open_memstream(&out, &len);
    assert_int_equal(store_audit_export(f->s, mem), STORE_OK);
    fclose(mem);
    {
        int lines = 0;

        for (size_t i = 0; i < len; i++)
            lines += out[i] == '\n';
        assert_int_equal(lines, 10);
        assert_non_null(strstr(out, "\"seq\":1,\"time\":1001,"));
        assert_non_null(strstr(out, "\"detail\":{\"b\":\"x\",\"i\":1}"));
    }
    free(out);
}

static void test_audit_altered(void **state)
{
    fx *f = *state;

    fill_audit(f->s, 10);
    raw_sql_unlocked(f->path, "UPDATE audit SET detail = '{\"b\":\"y\",\"i\":4}' WHERE seq = 4");
    verify_expect(f, false, 4);
}

static void test_audit_deleted(void **state)
{
    fx *f = *state;

    fill_audit(f->s, 10);
    raw_sql_unlocked(f->path, "DELETE FROM audit WHERE seq = 6");
    verify_expect(f, false, 6);
}

static void test_audit_reordered(void **state)
{
    fx *f = *state;

    fill_audit(f->s, 10);
    raw_sql_unlocked(f->path, "UPDATE audit SET seq = -1 WHERE seq = 3;"
                              "UPDATE audit SET seq = 3 WHERE seq = 7;"
                              "UPDATE audit SET seq = 7 WHERE seq = -1;");
    verify_expect(f, false, 3);
}

static void test_audit_truncated(void **state)
{
    fx *f = *state;

    fill_audit(f->s, 10);
    raw_sql_unlocked(f->path, "DELETE FROM audit WHERE seq >= 9");
    verify_expect(f, false, 9);
}

static void test_audit_rewritten_link(void **state)
{
    fx *f = *state;

    fill_audit(f->s, 5);
    /* the actor of entry 2 changed and the hash made to look right for the
     * new content would still break entry 3's link: here only the content */
    raw_sql_unlocked(f->path, "UPDATE audit SET actor = 'mallory' WHERE seq = 2");
    verify_expect(f, false, 2);
    /* appending after tampering continues from the recorded head */
    fill_audit(f->s, 0);
}

/* Checks `text` as a checkpoint file against f's log (verified first). */
static store_ckpt_report ckpt_check(fx *f, const char *text, const uint8_t *pk)
{
    store_audit_verify_result v;
    store_ckpt_report r;
    FILE *in = fmemopen((void *)text, strlen(text), "r");

    assert_non_null(in);
    assert_int_equal(store_audit_verify(f->s, &v), STORE_OK);
    assert_true(v.ok);
    assert_int_equal(store_ckpt_check(f->s, in, pk, v.entries, &r), STORE_OK);
    fclose(in);
    return r;
}

/* Signed checkpoints (docs/AUDIT.md): the key file, the exact line form,
 * and a log cut at its end with the head rewritten to match. */
static void test_audit_checkpoint(void **state)
{
    fx *f = *state;
    char keypath[128], line[STORE_CKPT_LINE_MAX], text[2 * STORE_CKPT_LINE_MAX], *p;
    store_ckpt_key k, k2, other;
    store_ckpt c;
    store_ckpt_report r;
    struct stat st;
    bool created = false;

    fill_audit(f->s, 5);
    snprintf(keypath, sizeof keypath, "%s/ck.key", f->dir);
    assert_int_equal(store_ckpt_key_load(keypath, false, &k, NULL, NULL, 0), STORE_NOTFOUND);
    assert_int_equal(store_ckpt_key_load(keypath, true, &k, &created, NULL, 0), STORE_OK);
    assert_true(created);
    assert_int_equal(stat(keypath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(store_ckpt_key_load(keypath, true, &k2, &created, NULL, 0), STORE_OK);
    assert_false(created);
    assert_memory_equal(k.pk, k2.pk, sizeof k.pk);

    assert_int_equal(store_ckpt_make(f->s, &k, 123456, &c, line), STORE_OK);
    assert_int_equal(c.seq, 5);
    snprintf(text, sizeof text, "%s\n", line);
    r = ckpt_check(f, text, k.pk);
    assert_int_equal(r.status, STORE_CKPT_VERIFIED);
    assert_int_equal(r.ckpt.seq, 5);
    assert_int_equal(r.ckpt.time, 123456);
    /* a torn (unterminated, unparsable) last line is skipped */
    snprintf(text, sizeof text, "%s\n%.40s", line, line);
    assert_int_equal(ckpt_check(f, text, k.pk).status, STORE_CKPT_VERIFIED);
    /* another key's signature */
    randombytes_buf(&other, sizeof other);
    assert_int_equal(ckpt_check(f, text, other.pk).status, STORE_CKPT_BAD_SIGNATURE);
    /* a non-canonical number is not the signed text */
    p = strstr(line, " seq=5 ");
    assert_non_null(p);
    snprintf(text, sizeof text, "%.*s seq=05 %s\n", (int)(p - line), line, p + 7);
    assert_int_equal(ckpt_check(f, text, k.pk).status, STORE_CKPT_MALFORMED);
    /* a number past int64 */
    snprintf(text, sizeof text, "%.*s seq=99999999999999999999 %s\n", (int)(p - line), line, p + 7);
    assert_int_equal(ckpt_check(f, text, k.pk).status, STORE_CKPT_MALFORMED);
    /* a line longer than any checkpoint, before a good one */
    {
        size_t n = STORE_CKPT_READ_MAX * 2;
        char *big = malloc(n + sizeof text);

        assert_non_null(big);
        memset(big, 'x', n);
        snprintf(big + n, sizeof text, "\n%s\n", line);
        r = ckpt_check(f, big, k.pk);
        assert_int_equal(r.status, STORE_CKPT_MALFORMED);
        assert_int_equal(r.line, 1);
        free(big);
    }
    /* one flipped signature digit */
    snprintf(text, sizeof text, "%s\n", line);
    p = strstr(text, " sig=") + 5;
    *p = *p == '0' ? '1' : '0';
    r = ckpt_check(f, text, k.pk);
    assert_int_equal(r.status, STORE_CKPT_BAD_SIGNATURE);
    assert_int_equal(r.line, 1);

    /* the last two entries cut and the head rewritten: the chain verifies,
     * the checkpoint does not */
    raw_sql_unlocked(f->path, "DELETE FROM audit WHERE seq > 3;"
                              "UPDATE audit_head SET seq = 3,"
                              " hash = (SELECT hash FROM audit WHERE seq = 3)");
    verify_expect(f, true, 0);
    snprintf(text, sizeof text, "%s\n", line);
    r = ckpt_check(f, text, k.pk);
    assert_int_equal(r.status, STORE_CKPT_TRUNCATED);
    assert_int_equal(r.ckpt.seq, 5);
    assert_int_equal(r.log_seq, 3);
    sodium_memzero(&k, sizeof k);
    sodium_memzero(&k2, sizeof k2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_altered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_rewritten_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_checkpoint, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    tb_init(argc, argv, "store_audit");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store_audit on postgresql" : "store_audit on sqlite", tests, NULL, NULL);
}
