/*
 * test_blob.c — the local blob store: appends at exact offsets only, resume
 * after a restart (a new handle on the same directory), the SHA-256 of what
 * was committed against libsodium's one-shot hash (also after a cut and a
 * reopen, where the running hash must start over), the same bytes stored
 * once, ranged reads, removal, termination, and names that are not ids or
 * hashes refused (no path reaches the disk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "blob/blob.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    char dir[64];
    blob_store *b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/cordon-blob-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(chmod(f->dir, 0755), 0); /* an existing lax directory */
    assert_int_equal(blob_local_open(f->dir, &f->b), BLOB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];

    blob_close(f->b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void sha_hex(const void *p, size_t n, char out[65])
{
    unsigned char h[32];

    crypto_hash_sha256(h, p, n);
    sodium_bin2hex(out, 65, h, 32);
}

static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);

    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + (i >> 9));
    return p;
}

static void test_upload_resume_commit(void **state)
{
    fx *f = *state;
    const size_t n = 3 * 1024 * 1024 + 17;
    unsigned char *data = pattern(n), *back = malloc(n);
    blob_upload *u;
    blob_reader *r;
    blob_store *again;
    int64_t size = -1;
    char want[65], got[65];
    size_t k;
    bool dup = true;
    struct stat st;

    assert_int_equal(blob_stage_open(f->b, "up-1", true, &u, &size), BLOB_OK);
    assert_int_equal(size, 0);
    assert_int_equal(blob_stage_append(u, 0, data, 1000000), BLOB_OK);
    /* tus: a chunk at any other offset is a conflict and writes nothing */
    assert_int_equal(blob_stage_append(u, 999999, data, 10), BLOB_OFFSET);
    assert_int_equal(blob_stage_append(u, 1000001, data, 10), BLOB_OFFSET);
    assert_int_equal(blob_stage_append(u, 1000000, data + 1000000, 500000), BLOB_OK);
    blob_stage_close(u);
    /* the same id cannot be created twice */
    assert_int_equal(blob_stage_open(f->b, "up-1", true, &u, &size), BLOB_INVAL);

    /* a restart: a new handle on the directory resumes where it stood */
    assert_int_equal(blob_local_open(f->dir, &again), BLOB_OK);
    assert_int_equal(blob_stage_open(again, "up-1", false, &u, &size), BLOB_OK);
    assert_int_equal(size, 1500000);
    assert_int_equal(blob_stage_append(u, size, data + size, n - (size_t)size), BLOB_OK);
    assert_int_equal(blob_stage_commit(u, got, &dup), BLOB_OK);
    assert_false(dup);
    sha_hex(data, n, want);
    assert_string_equal(got, want);
    /* staged bytes are gone; the blob is private */
    assert_int_equal(blob_stage_open(again, "up-1", false, &u, &size), BLOB_NOTFOUND);
    {
        char p[256];
        snprintf(p, sizeof p, "%s/sha256/%.2s/%s", f->dir, got, got);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        assert_int_equal(stat(f->dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
    }

    /* ranged reads, the last one short */
    assert_int_equal(blob_open(f->b, got, &r, &size), BLOB_OK);
    assert_int_equal(size, (int64_t)n);
    assert_int_equal(blob_read(r, 0, back, n, &k), BLOB_OK);
    assert_int_equal(k, n);
    assert_memory_equal(back, data, n);
    assert_int_equal(blob_read(r, (int64_t)n - 5, back, 100, &k), BLOB_OK);
    assert_int_equal(k, 5);
    assert_memory_equal(back, data + n - 5, 5);
    assert_int_equal(blob_read(r, (int64_t)n + 10, back, 100, &k), BLOB_OK);
    assert_int_equal(k, 0);
    blob_reader_close(r);
    blob_close(again);
    free(data);
    free(back);
}

static void test_cut_and_dedup(void **state)
{
    fx *f = *state;
    unsigned char *data = pattern(200000);
    blob_upload *u;
    int64_t size;
    char h1[65], h2[65], want[65];
    bool dup;

    /* a chunk whose checksum failed is cut off again; the hash starts over */
    assert_int_equal(blob_stage_open(f->b, "a", true, &u, &size), BLOB_OK);
    assert_int_equal(blob_stage_append(u, 0, data, 150000), BLOB_OK);
    assert_int_equal(blob_stage_append(u, 150000, "garbage!", 8), BLOB_OK);
    assert_int_equal(blob_stage_truncate(u, 150000), BLOB_OK);
    assert_int_equal(blob_stage_truncate(u, 150001), BLOB_INVAL);
    assert_int_equal(blob_stage_append(u, 150000, data + 150000, 50000), BLOB_OK);
    assert_int_equal(blob_stage_commit(u, h1, &dup), BLOB_OK);
    sha_hex(data, 200000, want);
    assert_string_equal(h1, want);
    assert_false(dup);

    /* the same bytes again, in other chunks: one blob */
    assert_int_equal(blob_stage_open(f->b, "b", true, &u, &size), BLOB_OK);
    for (size_t off = 0; off < 200000; off += 7001) {
        size_t k = 200000 - off < 7001 ? 200000 - off : 7001;
        assert_int_equal(blob_stage_append(u, (int64_t)off, data + off, k), BLOB_OK);
    }
    assert_int_equal(blob_stage_commit(u, h2, &dup), BLOB_OK);
    assert_string_equal(h1, h2);
    assert_true(dup);

    /* removed when nothing refers to it */
    assert_int_equal(blob_remove(f->b, h1), BLOB_OK);
    assert_int_equal(blob_remove(f->b, h1), BLOB_NOTFOUND);
    {
        blob_reader *r;
        assert_int_equal(blob_open(f->b, h1, &r, &size), BLOB_NOTFOUND);
    }
    /* termination of an upload */
    assert_int_equal(blob_stage_open(f->b, "c", true, &u, &size), BLOB_OK);
    assert_int_equal(blob_stage_append(u, 0, "x", 1), BLOB_OK);
    blob_stage_close(u);
    assert_int_equal(blob_stage_delete(f->b, "c"), BLOB_OK);
    assert_int_equal(blob_stage_open(f->b, "c", false, &u, &size), BLOB_NOTFOUND);
    assert_int_equal(blob_stage_delete(f->b, "c"), BLOB_NOTFOUND);
    /* an empty file is a blob too */
    assert_int_equal(blob_stage_open(f->b, "e", true, &u, &size), BLOB_OK);
    assert_int_equal(blob_stage_commit(u, h2, &dup), BLOB_OK);
    assert_string_equal(h2, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(data);
}

static void test_names(void **state)
{
    fx *f = *state;
    blob_upload *u;
    blob_reader *r;
    int64_t size;
    static const char *const bad_ids[] = {
        "",     "../x", "a/b",
        ".",    "..",   "a b",
        "a\\b", "é",    "0123456789012345678901234567890123456789012345678901234567890123x",
    };

    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        assert_false(blob_id_valid(bad_ids[i]));
        assert_int_equal(blob_stage_open(f->b, bad_ids[i], true, &u, &size), BLOB_INVAL);
        assert_int_equal(blob_stage_delete(f->b, bad_ids[i]), BLOB_INVAL);
    }
    assert_true(blob_id_valid("0123456789012345678901234567890123456789012345678901234567890123"));
    assert_false(blob_hash_valid("../../etc/passwd"));
    assert_false(
        blob_hash_valid("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    assert_int_equal(blob_open(f->b, "../staging/a", &r, &size), BLOB_INVAL);
    assert_int_equal(blob_remove(f->b, "x"), BLOB_INVAL);
    assert_int_equal(blob_local_open("", &f->b), BLOB_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upload_resume_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
