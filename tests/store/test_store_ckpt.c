/*
 * test_store_ckpt.c — SQLite's write-ahead log under the server's
 * handles: a background checkpointer copies it into the database, and the
 * log rewinds while commits flow. SQLite only (PostgreSQL checkpoints by
 * itself): registered for --backend=sqlite alone.
 */
#include "test_store_fx.h"

#include <sqlite3.h>
#include <string.h>

/* ---------------------------------------------------------------- tests */

static off_t file_size(const char *path, const char *suffix)
{
    char p[1200];
    struct stat st;

    snprintf(p, sizeof p, "%s%s", path, suffix);
    return stat(p, &st) ? -1 : st.st_size;
}

/* Housekeeping off the commit path (store_sqlite_ckpt.c): a handle opened
 * STORE_MAINT_ELSEWHERE never checkpoints in its commits below the backstop,
 * so 1,500 commits leave the database file as it was and the log holding
 * them all (SQLite's default would have checkpointed at 1000 pages); a
 * handle opened STORE_MAINT_BACKGROUND has its own thread copy the log into
 * the database within about a second of its commits. Observed from outside
 * through file sizes (a checkpoint from a test connection would change what
 * it observes). */
static void test_checkpoint(void **state)
{
    fx *f = *state;
    store_options o = {.version = 1, .path = f->path, .maintenance = STORE_MAINT_ELSEWHERE};
    store *w = NULL, *bg = NULL;
    int64_t conv = 0, members[] = {f->bob};
    char cid[16];
    off_t db0, db1 = 0;
    store_messages h = {0};

    if (tb_is_pg())
        skip(); /* SQLite's write-ahead log; PostgreSQL checkpoints by itself */
    assert_int_equal(store_open(&o, &w, NULL), STORE_OK);
    assert_int_equal(
        store_conv_create(w, STORE_CONV_DIRECT, NULL, f->alice, members, 1, 1, &conv, NULL),
        STORE_OK);
    db0 = file_size(f->path, "");
    for (int i = 0; i < 1500; i++) {
        snprintf(cid, sizeof cid, "ck%d", i);
        send(w, conv, f->alice, cid, "a message long enough to fill some pages of the log");
    }
    assert_int_equal(file_size(f->path, ""), db0);
    assert_true(file_size(f->path, "-wal") > 1000 * 4096);
    sleep(2); /* and nothing else copies it meanwhile */
    assert_int_equal(file_size(f->path, ""), db0);

    /* A writer with background housekeeping: its commits are followed by a
     * checkpoint from its own thread. */
    o.maintenance = STORE_MAINT_BACKGROUND;
    assert_int_equal(store_open(&o, &bg, NULL), STORE_OK);
    send(bg, conv, f->alice, "ck-bg", "after the bulk");
    /* not in the commit (SQLite's own would have: the log is past 1000
     * pages), but a moment later */
    assert_int_equal(file_size(f->path, ""), db0);
    /* "a moment": up to 30 s, for a CI machine at load 30 (5 s was not) */
    for (int t = 0; t < 300 && (db1 = file_size(f->path, "")) == db0; t++)
        usleep(100 * 1000);
    assert_true(db1 > db0 + 1500 * 50);
    /* Both go on; everything is readable from either handle. */
    send(w, conv, f->alice, "ck-last", "after the checkpoint");
    assert_int_equal(store_message_history(bg, conv, 0, 2, &h), STORE_OK);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.items[0].text, "after the checkpoint");
    store_messages_free(&h);
    store_close(bg); /* stops its thread */
    store_close(w);
}

/* What the housekeeping told (store_options.on_maint): the writer's own
 * checkpoints, and whether each ran inside store_maintain (an idle moment
 * of the writer) or inside a commit. */
typedef struct maint_seen {
    bool in_maintain;
    int finish, finish_in_commit, backstop;
} maint_seen;

static void on_maint(void *arg, const store_maint_event *ev)
{
    maint_seen *m = arg;

    if (!strcmp(ev->what, "finish")) {
        m->finish++;
        if (!m->in_maintain)
            m->finish_in_commit++;
    } else if (!strcmp(ev->what, "backstop"))
        m->backstop++;
    /* the thread's own rounds ("checkpoint") come on its thread: not counted
     * here (no shared counter without a lock; their pace is their own) */
}

/* A writer handle as the server's (background housekeeping, told to seen),
 * without fsync at commit (synchronous_normal) to keep the tests short: the
 * checkpoints sync all the same. Makes a conversation of Alice and Bob in
 * *conv and fills text (len bytes with its NUL) with a message of a page
 * or so. Skips the test on PostgreSQL, which checkpoints by itself. */
static store *busy_writer(fx *f, maint_seen *seen, int64_t *conv, char *text, size_t len)
{
    store_options o = {.version = 1,
                       .path = f->path,
                       .maintenance = STORE_MAINT_BACKGROUND,
                       .synchronous_normal = true,
                       .on_maint = on_maint,
                       .maint_arg = seen};
    store *w = NULL;
    int64_t members[] = {f->bob};

    if (tb_is_pg())
        skip(); /* SQLite's write-ahead log; PostgreSQL checkpoints by itself */
    memset(text, 'x', len - 1);
    text[len - 1] = '\0';
    assert_int_equal(store_open(&o, &w, NULL), STORE_OK);
    assert_int_equal(
        store_conv_create(w, STORE_CONV_DIRECT, NULL, f->alice, members, 1, 1, conv, NULL),
        STORE_OK);
    return w;
}

/* The log starts over while commits flow (store_sqlite_ckpt.c): left to
 * the background checkpoint alone it would grow to the backstop (20,000
 * pages) and the writer would checkpoint a second of pages inside a commit;
 * the writer finishes the thread's checkpoint at its idle moments
 * (store_maintain, between its commits, never inside one), so a writer
 * that never pauses for long keeps it well under the backstop. 35,000
 * pages of commits paced like a busy server's. */
static void test_checkpoint_rewinds(void **state)
{
    fx *f = *state;
    maint_seen seen = {0};
    int64_t conv = 0;
    char cid[16], text[3000];
    store *w = busy_writer(f, &seen, &conv, text, sizeof text);
    off_t wal = 0;

    /* a page or two each (text and index): 35,000 pages in ~20 s */
    for (int i = 0; i < 17500; i++) {
        snprintf(cid, sizeof cid, "rw%d", i);
        send(w, conv, f->alice, cid, text);
        /* the server's writer does this when its queue is empty */
        seen.in_maintain = true;
        (void)store_maintain(w);
        seen.in_maintain = false;
        usleep(1200);
    }
    wal = file_size(f->path, "-wal");
    assert_true(wal > 0);
    /* Below the 20,000-page backstop (a frame is a page + 24 bytes): the
     * old code always reached it. Paced at ~1 ms a message so that the
     * checkpointer keeps up on a loaded CI machine (at 0.4 ms under load it
     * fell behind and the backstop fired; the load bench measures speed). */
    if (wal >= 19500 * 4120)
        fprintf(stderr, "write-ahead log reached %lld frames\n", (long long)(wal / 4120));
    assert_true(wal < 19500 * 4120);
    /* the writer finished rounds, each at an idle moment, none in a commit */
    assert_true(seen.finish >= 1);
    assert_int_equal(seen.finish_in_commit, 0);
    assert_int_equal(seen.backstop, 0);
    store_close(w);
}

/* A long log that the thread has copied puts no checkpoint inside a commit
 * (store_sqlite_ckpt.c, on_commit): the backstop counts what the thread
 * has not copied. A reader that always holds a snapshot taken just before
 * the writer's next commit keeps the log from rewinding (as the server's
 * readers and a writer never idle for a finish can) while letting the
 * thread copy all but that commit; the log grows past 20,000 pages. The
 * old backstop, on the log's length, then checkpointed inside a commit
 * although the thread was at most a second behind. */
static void test_checkpoint_long_copied_log(void **state)
{
    fx *f = *state;
    maint_seen seen = {0};
    int64_t conv = 0;
    char cid[16], text[3000];
    store *w = busy_writer(f, &seen, &conv, text, sizeof text);
    sqlite3 *rd = NULL;
    off_t wal = 0;

    assert_int_equal(sqlite3_open_v2(f->path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int i = 0; i < 3600; i++) { /* ~7 pages each */
        snprintf(cid, sizeof cid, "lg%d", i);
        assert_int_equal(
            sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL),
            SQLITE_OK);
        send(w, conv, f->alice, cid, text);
        assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        usleep(300);
    }
    sqlite3_close(rd);
    wal = file_size(f->path, "-wal");
    fprintf(stderr, "write-ahead log: %lld frames\n", (long long)(wal / 4120));
    assert_true(wal > 20500 * 4120); /* long, as a busy writer's */
    assert_int_equal(seen.backstop, 0);
    store_close(w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_rewinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_long_copied_log, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    tb_init(argc, argv, "store_ckpt");
    return cmocka_run_group_tests_name(
        tb_is_pg() ? "store_ckpt on postgresql" : "store_ckpt on sqlite", tests, NULL, NULL);
}
