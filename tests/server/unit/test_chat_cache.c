/*
 * test_chat_cache.c — the send path's membership cache (src/server/
 * chat_cache.c) over a real SQLite store: hits, removal invalidates at
 * once, a change in progress is never cached, eviction stays in budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chat/chat_cache.h"

typedef struct fix {
    char dir[64];
    char path[128];
    store *st;
    int64_t users[4];
    int64_t conv;
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    store_options o = {.version = 1, .synchronous_normal = true};
    char *msg = NULL;
    bool created = false;

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/chat_cache_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/cordon.db", f->dir);
    o.path = f->path;
    assert_int_equal(store_open(&o, &f->st, &msg), STORE_OK);
    for (int i = 0; i < 4; i++) {
        char login[16];
        store_user_new u = {.login = login,
                            .display_name = login,
                            .password_hash = "x",
                            .external = i == 3,
                            .now = 1};

        snprintf(login, sizeof login, "u%d", i);
        assert_int_equal(store_user_create(f->st, &u, &f->users[i]), STORE_OK);
    }
    assert_int_equal(store_conv_create(f->st, STORE_CONV_GROUP, "g", f->users[0], &f->users[1], 2,
                                       2, &f->conv, &created),
                     STORE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    char cmd[160];

    store_close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void hit_and_members(void **state)
{
    fix *f = *state;
    chat_cache *c = chat_cache_new(1000);
    chat_conv_snap *a = NULL, *b = NULL;

    assert_int_equal(chat_cache_get(c, f->st, f->conv, &a), STORE_OK);
    assert_int_equal(a->n, 3);
    assert_true(chat_conv_snap_has(a, f->users[0]));
    assert_true(chat_conv_snap_has(a, f->users[2]));
    assert_false(chat_conv_snap_has(a, f->users[3]));
    assert_false(a->external);
    assert_false(chat_cache_stale(c, a));
    assert_int_equal(chat_cache_get(c, f->st, f->conv, &b), STORE_OK);
    assert_ptr_equal(a, b); /* the cached snapshot */
    chat_conv_snap_unref(a);
    chat_conv_snap_unref(b);
    assert_int_equal(chat_cache_get(c, f->st, 999999, &a), STORE_NOTFOUND);
    assert_null(a);
    chat_cache_free(c);
}

static void removal_invalidates(void **state)
{
    fix *f = *state;
    chat_cache *c = chat_cache_new(1000);
    chat_conv_snap *old = NULL, *now = NULL;

    assert_int_equal(chat_cache_get(c, f->st, f->conv, &old), STORE_OK);
    chat_cache_change_begin(c, f->conv);
    /* While the change runs nothing is cached: a load is handed out stale. */
    assert_int_equal(chat_cache_get(c, f->st, f->conv, &now), STORE_OK);
    assert_true(chat_cache_stale(c, now));
    chat_conv_snap_unref(now);
    assert_int_equal(store_member_remove(f->st, f->conv, f->users[2], 3), STORE_OK);
    chat_cache_change_end(c, f->conv);
    /* A send still holding the old snapshot learns it may be out of date. */
    assert_true(chat_cache_stale(c, old));
    assert_true(chat_conv_snap_has(old, f->users[2]));
    assert_int_equal(chat_cache_get(c, f->st, f->conv, &now), STORE_OK);
    assert_false(chat_conv_snap_has(now, f->users[2]));
    assert_false(chat_cache_stale(c, now));
    chat_conv_snap_unref(now);
    /* An external member flips the scope. */
    chat_cache_change_begin(c, f->conv);
    assert_int_equal(store_member_add(f->st, f->conv, f->users[3], STORE_MEMBER, 4), STORE_OK);
    chat_cache_change_end(c, f->conv);
    assert_int_equal(chat_cache_get(c, f->st, f->conv, &now), STORE_OK);
    assert_true(now->external);
    assert_true(chat_conv_snap_has(now, f->users[3]));
    chat_conv_snap_unref(now);
    chat_conv_snap_unref(old);
    chat_cache_free(c);
}

static void eviction_budget(void **state)
{
    fix *f = *state;
    chat_cache *c = chat_cache_new(3); /* room for one 3-member snapshot */
    chat_conv_snap *a = NULL, *b = NULL;
    int64_t other = 0;
    bool created = false;

    assert_int_equal(store_conv_create(f->st, STORE_CONV_DIRECT, "", f->users[0], &f->users[1], 1,
                                       5, &other, &created),
                     STORE_OK);
    assert_int_equal(chat_cache_get(c, f->st, f->conv, &a), STORE_OK);
    assert_int_equal(chat_cache_get(c, f->st, other, &b), STORE_OK);
    /* a was evicted for b: conservatively stale for sends holding it. */
    assert_true(chat_cache_stale(c, a));
    assert_false(chat_cache_stale(c, b));
    chat_conv_snap_unref(a);
    chat_conv_snap_unref(b);
    chat_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hit_and_members, setup, teardown),
        cmocka_unit_test_setup_teardown(removal_invalidates, setup, teardown),
        cmocka_unit_test_setup_teardown(eviction_budget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
