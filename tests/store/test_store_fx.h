/*
 * test_store_fx.h — the fixture the store's test files share (test_store*.c):
 * a fresh database per case (test_backend.h: SQLite file or PostgreSQL
 * database) with four users, alice, bob and carol internal and ext
 * external; raw SQL as an attacker with access to the database would run
 * it; one message appended.
 */
#ifndef CORDON_TEST_STORE_FX_H
#define CORDON_TEST_STORE_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/store_backend.h"
#include "store/store_ckpt.h"
#include "test_backend.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    char dir[64];
    char path[1100];
    store *s;
    int64_t alice, bob, carol, ext;
} fx;

static inline store *open_path(const char *path)
{
    store_options o = {.version = 1, .path = path};
    store *s = NULL;
    char *err = NULL;
    int rc = store_open(&o, &s, &err);

    if (rc)
        fprintf(stderr, "store_open: %s\n", err ? err : "?");
    free(err);
    assert_int_equal(rc, STORE_OK);
    return s;
}

static inline int64_t add_user(store *s, const char *login, bool external)
{
    store_user_new u = {
        .login = login, .password_hash = "$argon2id$x", .external = external, .now = 1000};
    int64_t id = 0;

    assert_int_equal(store_user_create(s, &u, &id), STORE_OK);
    assert_true(id > 0);
    return id;
}

static inline int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    tb_fresh(f->dir, sizeof f->dir, f->path, sizeof f->path);
    f->s = open_path(f->path);
    f->alice = add_user(f->s, "alice", false);
    f->bob = add_user(f->s, "bob", false);
    f->carol = add_user(f->s, "carol", false);
    f->ext = add_user(f->s, "ext", true);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];

    store_close(f->s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Runs SQL directly on the database, as an attacker with file (SQLite) or
 * database (PostgreSQL) access would. */
static inline void raw_sql(const char *path, const char *sql)
{
    tb_sql(path, sql);
}

/* The same with the audit log's append-only triggers out of the way first
 * (what such an attacker can also do). */
static inline void raw_sql_unlocked(const char *path, const char *sql)
{
    char buf[1024];

    snprintf(buf, sizeof buf, "%s%s",
             tb_is_pg() ? "ALTER TABLE audit DISABLE TRIGGER USER;"
                        : "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;",
             sql);
    tb_sql(path, buf);
}

static inline int64_t send(store *s, int64_t conv, int64_t sender, const char *cid,
                           const char *text)
{
    store_message_new m = {.conv_id = conv,
                           .sender_id = sender,
                           .client_id = cid,
                           .text = text,
                           .text_len = strlen(text),
                           .verdict = "allow",
                           .now = 5000};
    store_message out = {0};
    bool dup = true;
    int64_t id;

    assert_int_equal(store_message_append(s, &m, &out, &dup), STORE_OK);
    assert_false(dup);
    id = out.id;
    store_message_clear(&out);
    return id;
}

#endif
