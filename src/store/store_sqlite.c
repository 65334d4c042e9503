/*
 * store_sqlite.c — the SQLite backend: opening (WAL, busy timeout, foreign
 * keys, secure delete), statements, transactions, and the user, session,
 * audit and settings methods. Conversations, messages, receipts and alerts
 * are in store_sqlite_chat.c; the schema in store_migrate.c.
 *
 * One handle = one sqlite3 connection, used by one thread at a time
 * (SQLITE_OPEN_NOMUTEX: the store.h threading contract makes SQLite's own
 * mutexes redundant).
 */
#include "store/store_sqlite_int.h"

#include "base/base_hist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const sql_text[SQ_N] = {
#define SQ_SQL(name, sql) [SQ_##name] = sql,
    SQ_STATEMENTS(SQ_SQL)
#undef SQ_SQL
};

/* ------------------------------------------------------------- helpers */

int sq_rc(sq *q, int r)
{
    int rc;

    switch (r & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        rc = STORE_BUSY;
        break;
    case SQLITE_CONSTRAINT:
        if (r == SQLITE_CONSTRAINT_UNIQUE || r == SQLITE_CONSTRAINT_PRIMARYKEY)
            rc = STORE_CONFLICT;
        else if (r == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = STORE_NOTFOUND;
        else
            rc = STORE_INVAL;
        break;
    case SQLITE_NOMEM:
        rc = STORE_NOMEM;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        rc = STORE_CORRUPT;
        break;
    case SQLITE_READONLY:
        rc = STORE_READONLY;
        break;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        rc = STORE_INVAL;
        break;
    default:
        rc = STORE_IO;
        break;
    }
    /* SQLite's messages name tables and constraints, never bound values,
     * so no message text or secret can end up here. */
    snprintf(q->err, sizeof q->err, "%s", q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(r));
    return rc;
}

sqlite3_stmt *sq_stmt(sq *q, int id)
{
    int r;

    if (!q->stmt[id]) {
        r = sqlite3_prepare_v3(q->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[id],
                               NULL);
        if (r != SQLITE_OK) {
            q->stmt[id] = NULL;
            sq_rc(q, r);
            return NULL;
        }
    }
    return q->stmt[id];
}

int sq_prep_rc(sq *q)
{
    int r = sqlite3_extended_errcode(q->db);

    return r == SQLITE_OK ? STORE_IO : sq_rc(q, r);
}

int sq_exec(sq *q, sqlite3_stmt *st)
{
    /* A write on its own queues for its turn like a transaction
     * (store_sqlite_turn.c); BEGIN and the like read as read-only. */
    bool turn = !q->depth && !q->turn_held && !sqlite3_stmt_readonly(st);
    int r, rc;

    if (turn && (rc = sq_turn_take(q))) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc;
    }
    r = sqlite3_step(st);
    rc = (r == SQLITE_DONE || r == SQLITE_ROW) ? STORE_OK : sq_rc(q, r);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (turn)
        sq_turn_give(q);
    return rc;
}

static int exec_id(sq *q, int id)
{
    sqlite3_stmt *st = sq_stmt(q, id);

    return st ? sq_exec(q, st) : sq_prep_rc(q);
}

int sq_begin(sq *q)
{
    int rc;

    if (q->read_only) {
        snprintf(q->err, sizeof q->err, "read-only handle");
        return STORE_READONLY;
    }
    /* the outermost level takes the write lock at once (BEGIN IMMEDIATE:
     * no deadlock upgrading a read lock); inner levels are savepoints */
    if (!q->depth) {
        uint64_t t0 = base_now_ns();

        q->tx = (store_tx_timing){0};
        (void)sq_ckpt_take_inline_ns(q); /* an autocommit statement's, not this one's */
        /* this process's writers in arrival order first (store_sqlite_turn.c) */
        rc = sq_turn_take(q);
        if (rc)
            return rc;
        q->tx_mark = base_now_ns();
        q->tx.turn_ns = q->tx_mark - t0;
    }
    rc = exec_id(q, q->depth ? SQ_SAVEPOINT : SQ_BEGIN_WRITE);
    if (!rc) {
        if (!q->depth++) {
            uint64_t now = base_now_ns();

            q->tx.begin_ns = now - q->tx_mark;
            q->tx_mark = now;
        }
    } else if (!q->depth)
        sq_turn_give(q);
    return rc;
}

int sq_end(sq *q, int rc)
{
    int r;

    if (--q->depth > 0) {
        if (rc)
            exec_id(q, SQ_ROLLBACK_TO);
        r = exec_id(q, SQ_RELEASE);
        return rc ? rc : r;
    }
    if (rc) {
        exec_id(q, SQ_ROLLBACK);
        sq_turn_give(q);
        return rc;
    }
    {
        uint64_t t0 = base_now_ns();

        q->tx.body_ns = t0 - q->tx_mark;
        r = exec_id(q, SQ_COMMIT);
        q->tx.commit_ns = base_now_ns() - t0;
        q->tx.maint_ns = sq_ckpt_take_inline_ns(q);
    }
    if (r) /* a failed COMMIT may leave the transaction open */
        if (!sqlite3_get_autocommit(q->db))
            exec_id(q, SQ_ROLLBACK);
    sq_turn_give(q);
    return r;
}

static int sq_last_tx_timing(store *s, store_tx_timing *out)
{
    *out = ((sq *)s)->tx;
    return STORE_OK;
}

int sq_begin_read(sq *q)
{
    int rc = q->depth ? STORE_OK : exec_id(q, SQ_BEGIN_READ);

    if (!rc)
        q->depth++;
    return rc;
}

void sq_end_read(sq *q)
{
    if (--q->depth == 0 && !sqlite3_get_autocommit(q->db))
        exec_id(q, SQ_COMMIT);
}

void sq_bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

char *sq_col_text(sq *q, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *p;

    if (!t)
        return NULL;
    p = malloc((size_t)n + 1);
    if (!p) {
        q->oom = true;
        return NULL;
    }
    memcpy(p, t, (size_t)n);
    p[n] = 0;
    return p;
}

int64_t sq_col_id(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}

void sq_read_user(sq *q, sqlite3_stmt *st, int c, store_user *u)
{
    u->id = sqlite3_column_int64(st, c + 0);
    u->login = sq_col_text(q, st, c + 1);
    u->display_name = sq_col_text(q, st, c + 2);
    u->role = (store_role)sqlite3_column_int(st, c + 3);
    u->external = sqlite3_column_int(st, c + 4);
    u->disabled = sqlite3_column_int(st, c + 5);
    u->must_change_password = sqlite3_column_int(st, c + 6);
    u->password_hash = sq_col_text(q, st, c + 7);
    u->totp_secret = sq_col_text(q, st, c + 8);
    u->totp_enabled = sqlite3_column_int(st, c + 9);
    u->totp_last_step = sqlite3_column_int64(st, c + 10);
    u->failed_logins = sqlite3_column_int(st, c + 11);
    u->locked_until = sqlite3_column_int64(st, c + 12);
    u->created_at = sqlite3_column_int64(st, c + 13);
    u->updated_at = sqlite3_column_int64(st, c + 14);
    u->phone = sq_col_text(q, st, c + 15);
    u->department = sq_col_text(q, st, c + 16);
    if (!u->display_name && !q->oom)
        u->display_name = strdup("");
    if (!u->display_name)
        q->oom = true;
}

/* Steps a statement expected to yield one row. STORE_NOTFOUND when none.
 * Leaves the statement on its row (caller reads, then resets). */
int sq_step_row(sq *q, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);

    if (r == SQLITE_ROW)
        return STORE_OK;
    if (r == SQLITE_DONE)
        return STORE_NOTFOUND;
    return sq_rc(q, r);
}

void sq_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Grows a list array by one zeroed slot; NULL on allocation failure. */
void *sq_grow(void **items, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = realloc(*items, nc * size);

        if (!p)
            return NULL;
        *items = p;
        *cap = nc;
    }
    memset((char *)*items + *n * size, 0, size);
    return (char *)*items + (*n)++ * size;
}

int sq_one(sq *q, sqlite3_stmt *st, sq_row_fn *read, void *item)
{
    int rc;

    q->oom = false;
    rc = sq_step_row(q, st);
    if (!rc) {
        rc = read(q, st, item);
        if (!rc && q->oom)
            rc = STORE_NOMEM;
    }
    sq_done(st);
    return rc;
}

int sq_list(sq *q, sqlite3_stmt *st, void **items, size_t *n, size_t size, sq_row_fn *read)
{
    size_t cap = 0;
    int r = SQLITE_DONE, rc = STORE_OK;

    q->oom = false;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        void *item = sq_grow(items, n, &cap, size);

        rc = item ? read(q, st, item) : STORE_NOMEM;
        if (!rc && q->oom)
            rc = STORE_NOMEM;
    }
    if (!rc && r != SQLITE_DONE)
        rc = sq_rc(q, r);
    sq_done(st);
    return rc;
}

/* --------------------------------------------------------------- handle */

static void sq_close(store *s)
{
    sq *q = (sq *)s;

    sq_ckpt_stop(q); /* before the connection whose commits it follows goes */
    if (!sqlite3_get_autocommit(q->db))
        exec_id(q, SQ_ROLLBACK);
    for (int i = 0; i < SQ_N; i++)
        sqlite3_finalize(q->stmt[i]);
    sqlite3_close_v2(q->db);
    sq_turn_give(q);
    sq_turn_put(q->turn);
    free(q);
}

static const char *sq_errmsg(store *s)
{
    return ((sq *)s)->err;
}

static int sq_schema_version(store *s, int *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SCHEMA_VERSION);
    int rc;

    *out = 0;
    if (!st)
        return sq_prep_rc(q);
    rc = sq_step_row(q, st);
    if (!rc)
        *out = sqlite3_column_int(st, 0);
    sq_done(st);
    return rc;
}

static int tx_open(store *s)
{
    return sq_begin((sq *)s);
}

static int tx_close(store *s, int rc)
{
    return sq_end((sq *)s, rc);
}

static int sq_tx_begin(store *s)
{
    return store_tx_flag_begin(s, &((sq *)s)->in_tx, tx_open);
}

static int sq_tx_commit(store *s)
{
    return store_tx_flag_commit(s, &((sq *)s)->in_tx, tx_close);
}

static int sq_tx_rollback(store *s)
{
    return store_tx_flag_rollback(s, &((sq *)s)->in_tx, tx_close);
}

/* ---------------------------------------------------------------- users */

static int sq_user_create(store *s, const store_user_new *u, int64_t *id_out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    if (id_out)
        *id_out = 0;
    if (!u || !u->login || !*u->login || !u->password_hash || !*u->password_hash ||
        strlen(u->login) > STORE_LOGIN_MAX || (unsigned)u->role > STORE_ROLE_ADMIN)
        return STORE_INVAL;
    if (q->read_only)
        return STORE_READONLY;
    st = sq_stmt(q, SQ_USER_INSERT);
    if (!st)
        return sq_prep_rc(q);
    sq_bind_text(st, 1, u->login);
    sq_bind_text(st, 2, u->display_name ? u->display_name : u->login);
    sqlite3_bind_int(st, 3, u->role);
    sqlite3_bind_int(st, 4, u->external);
    sq_bind_text(st, 5, u->password_hash);
    sqlite3_bind_int(st, 6, u->must_change_password);
    sqlite3_bind_int64(st, 7, u->now);
    sqlite3_bind_int64(st, 8, u->now);
    rc = sq_exec(q, st);
    if (!rc && id_out)
        *id_out = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int row_user(sq *q, sqlite3_stmt *st, void *item)
{
    sq_read_user(q, st, 0, item);
    return STORE_OK;
}

static int user_one(sq *q, int id_stmt, int64_t id, const char *login, store_user *out)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    if (login)
        sq_bind_text(st, 1, login);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sq_one(q, st, row_user, out);
    if (rc)
        store_user_clear(out);
    return rc;
}

static int sq_user_get(store *s, int64_t id, store_user *out)
{
    return user_one((sq *)s, SQ_USER_GET, id, NULL, out);
}

static int sq_user_get_by_login(store *s, const char *login, store_user *out)
{
    if (!login) {
        memset(out, 0, sizeof *out);
        return STORE_INVAL;
    }
    return user_one((sq *)s, SQ_USER_GET_LOGIN, 0, login, out);
}

static int sq_user_list(store *s, bool include_disabled, store_users *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_USER_LIST);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int(st, 1, include_disabled);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_user);
    if (rc)
        store_users_free(out);
    return rc;
}

static int sq_user_count(store *s, int64_t *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_USER_COUNT);
    int rc;

    *out = 0;
    if (!st)
        return sq_prep_rc(q);
    rc = sq_step_row(q, st);
    if (!rc)
        *out = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

/* One UPDATE users SET ... WHERE id = ?1 with ?2 a value, ?3 now, ?4 a
 * second value (bound only by the statements that use it). */
static int set_field(sq *q, int id_stmt, int64_t id, const char *text, int64_t v2, int64_t now,
                     bool has4, int64_t v4)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    if (text || id_stmt == SQ_USER_SET_TOTP || id_stmt == SQ_USER_SET_PHONE ||
        id_stmt == SQ_USER_SET_DEPARTMENT)
        sq_bind_text(st, 2, text);
    else
        sqlite3_bind_int64(st, 2, v2);
    sqlite3_bind_int64(st, 3, now);
    if (has4)
        sqlite3_bind_int64(st, 4, v4);
    return sq_exec(q, st);
}

static int user_exists(sq *q, int64_t id)
{
    sqlite3_stmt *st = sq_stmt(q, SQ_USER_EXISTS);
    int rc;

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    rc = sq_step_row(q, st);
    sq_done(st);
    return rc;
}

static int sq_user_update(store *s, int64_t id, const store_user_patch *p)
{
    sq *q = (sq *)s;
    int rc;

    if (!p || ((p->fields & STORE_USER_ROLE) && (unsigned)p->role > STORE_ROLE_ADMIN) ||
        ((p->fields & STORE_USER_DISPLAY_NAME) && !p->display_name) ||
        ((p->fields & STORE_USER_PASSWORD) && (!p->password_hash || !*p->password_hash)))
        return STORE_INVAL;
    rc = sq_begin(q);
    if (rc)
        return rc;
    rc = user_exists(q, id);
    if (!rc && (p->fields & STORE_USER_DISPLAY_NAME))
        rc = set_field(q, SQ_USER_SET_DISPLAY, id, p->display_name, 0, p->now, false, 0);
    if (!rc && (p->fields & STORE_USER_PHONE))
        rc = set_field(q, SQ_USER_SET_PHONE, id, p->phone, 0, p->now, false, 0);
    if (!rc && (p->fields & STORE_USER_DEPARTMENT))
        rc = set_field(q, SQ_USER_SET_DEPARTMENT, id, p->department, 0, p->now, false, 0);
    if (!rc && (p->fields & STORE_USER_ROLE))
        rc = set_field(q, SQ_USER_SET_ROLE, id, NULL, p->role, p->now, false, 0);
    if (!rc && (p->fields & STORE_USER_DISABLED)) {
        rc = set_field(q, SQ_USER_SET_DISABLED, id, NULL, p->disabled, p->now, false, 0);
        if (!rc && p->disabled) {
            sqlite3_stmt *st = sq_stmt(q, SQ_SESS_REVOKE_USER);

            if (!st)
                rc = sq_prep_rc(q);
            else {
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_int64(st, 2, 0);
                rc = sq_exec(q, st);
            }
        }
    }
    if (!rc && (p->fields & STORE_USER_EXTERNAL)) {
        rc = set_field(q, SQ_USER_SET_EXTERNAL, id, NULL, p->external, p->now, false, 0);
        if (!rc) {
            sqlite3_stmt *st = sq_stmt(q, SQ_USER_CONVS_EXTERNAL);

            if (!st)
                rc = sq_prep_rc(q);
            else {
                sqlite3_bind_int64(st, 1, id);
                rc = sq_exec(q, st);
            }
        }
    }
    if (!rc && (p->fields & STORE_USER_PASSWORD))
        rc = set_field(q, SQ_USER_SET_PASSWORD, id, p->password_hash, 0, p->now, true,
                       p->must_change_password);
    if (!rc && (p->fields & STORE_USER_TOTP))
        rc = set_field(q, SQ_USER_SET_TOTP, id, p->totp_secret, 0, p->now, true,
                       p->totp_secret && p->totp_enabled);
    if (!rc && (p->fields & STORE_USER_LOCKOUT))
        rc = set_field(q, SQ_USER_SET_LOCKOUT, id, NULL, p->failed_logins, p->now, true,
                       p->locked_until);
    return sq_end(q, rc);
}

static int sq_user_totp_use_step(store *s, int64_t id, int64_t step)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    if (step <= 0)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_USER_TOTP_STEP);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, step);
    rc = sq_exec(q, st);
    if (!rc && sqlite3_changes(q->db) == 0)
        rc = user_exists(q, id) == STORE_OK ? STORE_CONFLICT : STORE_NOTFOUND;
    return rc;
}

/* ------------------------------------------------------------- sessions */

static int row_session(sq *q, sqlite3_stmt *st, void *item)
{
    store_session *s = item;
    const void *h = sqlite3_column_blob(st, 2);

    s->id = sqlite3_column_int64(st, 0);
    s->user_id = sqlite3_column_int64(st, 1);
    if (h && sqlite3_column_bytes(st, 2) == STORE_TOKEN_HASH_LEN)
        memcpy(s->token_hash, h, STORE_TOKEN_HASH_LEN);
    s->created_at = sqlite3_column_int64(st, 3);
    s->last_seen_at = sqlite3_column_int64(st, 4);
    s->expires_at = sqlite3_column_int64(st, 5);
    s->user_agent = sq_col_text(q, st, 6);
    s->address = sq_col_text(q, st, 7);
    return STORE_OK;
}

static int sq_session_create(store *s, const store_session_new *n, int64_t *id_out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    char ua[257];
    int rc;

    if (id_out)
        *id_out = 0;
    if (!n || n->expires_at <= n->now)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_SESS_INSERT);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, n->user_id);
    sqlite3_bind_blob(st, 2, n->token_hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, n->now);
    sqlite3_bind_int64(st, 4, n->now);
    sqlite3_bind_int64(st, 5, n->expires_at);
    if (n->user_agent) {
        /* a cap on what a client can make us store; a cut inside a UTF-8
         * sequence is harmless for a display-only string */
        snprintf(ua, sizeof ua, "%s", n->user_agent);
        sq_bind_text(st, 6, ua);
    }
    sq_bind_text(st, 7, n->address);
    rc = sq_exec(q, st);
    if (!rc && id_out)
        *id_out = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_session_lookup(store *s, const uint8_t hash[STORE_TOKEN_HASH_LEN], int64_t now,
                             store_session *sess, store_user *user)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SESS_LOOKUP);
    int rc;

    memset(sess, 0, sizeof *sess);
    if (user)
        memset(user, 0, sizeof *user);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_blob(st, 1, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    q->oom = false;
    rc = sq_step_row(q, st);
    if (!rc) {
        row_session(q, st, sess);
        if (user)
            sq_read_user(q, st, SQ_SESS_NCOLS, user);
        if (q->oom) {
            store_session_clear(sess);
            store_user_clear(user);
            rc = STORE_NOMEM;
        }
    }
    sq_done(st);
    return rc;
}

static int simple_write(sq *q, int id_stmt, int64_t a, int64_t b, bool check_changes,
                        int64_t *changes)
{
    sqlite3_stmt *st = sq_stmt(q, id_stmt);
    int rc;

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    rc = sq_exec(q, st);
    if (!rc && changes)
        *changes = sqlite3_changes(q->db);
    if (!rc && check_changes && sqlite3_changes(q->db) == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

static int sq_session_touch(store *s, int64_t id, int64_t now)
{
    return simple_write((sq *)s, SQ_SESS_TOUCH, id, now, true, NULL);
}

static int sq_session_list(store *s, int64_t user_id, int64_t now, store_sessions *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SESS_LIST);
    int rc;

    memset(out, 0, sizeof *out);
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, now);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_session);
    if (rc)
        store_sessions_free(out);
    return rc;
}

static int sq_session_revoke(store *s, int64_t id, int64_t user_id)
{
    return simple_write((sq *)s, SQ_SESS_REVOKE, id, user_id, true, NULL);
}

static int sq_session_revoke_user(store *s, int64_t user_id, int64_t except_id, int64_t *n_out)
{
    int64_t n = 0;
    int rc = simple_write((sq *)s, SQ_SESS_REVOKE_USER, user_id, except_id, false, &n);

    if (n_out)
        *n_out = n;
    return rc;
}

static int sq_session_expire(store *s, int64_t now, int64_t *n_out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_SESS_EXPIRE);
    int rc;

    if (n_out)
        *n_out = 0;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, now);
    rc = sq_exec(q, st);
    if (!rc && n_out)
        *n_out = sqlite3_changes(q->db);
    return rc;
}

/* ---------------------------------------------------------------- audit */

static int read_head(sq *q, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN])
{
    sqlite3_stmt *st = sq_stmt(q, SQ_AUDIT_HEAD);
    int rc;

    *seq = 0;
    memset(hash, 0, STORE_AUDIT_HASH_LEN);
    if (!st)
        return sq_prep_rc(q);
    rc = sq_step_row(q, st);
    if (rc == STORE_NOTFOUND) {
        rc = STORE_OK; /* empty chain */
    } else if (!rc) {
        const void *h = sqlite3_column_blob(st, 1);

        *seq = sqlite3_column_int64(st, 0);
        if (h && sqlite3_column_bytes(st, 1) == STORE_AUDIT_HASH_LEN)
            memcpy(hash, h, STORE_AUDIT_HASH_LEN);
        else
            rc = STORE_CORRUPT;
    }
    sq_done(st);
    return rc;
}

static int sq_audit_head(store *s, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN])
{
    return read_head((sq *)s, seq, hash);
}

static int sq_audit_append(store *s, const store_audit_new *e, int64_t *seq_out)
{
    sq *q = (sq *)s;
    store_audit_entry ent = {0};
    char *detail = NULL;
    sqlite3_stmt *st;
    int rc;

    if (seq_out)
        *seq_out = 0;
    if (!e || !e->event || !*e->event)
        return STORE_INVAL;
    rc = store_json_canonical(e->detail, true, &detail);
    if (rc)
        return rc;
    rc = sq_begin(q);
    if (rc)
        goto out;
    /* The chain continues from the recorded head, read inside the write
     * transaction so concurrent appenders serialise on it. */
    rc = read_head(q, &ent.seq, ent.prev_hash);
    if (rc)
        goto end;
    ent.seq++;
    ent.time = e->time;
    ent.actor_id = e->actor_id;
    ent.actor = (char *)(e->actor ? e->actor : "system");
    ent.event = (char *)e->event;
    ent.target = (char *)(e->target ? e->target : "");
    ent.detail = detail;
    store_audit_hash(&ent, ent.prev_hash, ent.hash);
    st = sq_stmt(q, SQ_AUDIT_INSERT);
    if (!st) {
        rc = sq_prep_rc(q);
        goto end;
    }
    sqlite3_bind_int64(st, 1, ent.seq);
    sqlite3_bind_int64(st, 2, ent.time);
    sqlite3_bind_int64(st, 3, ent.actor_id);
    sq_bind_text(st, 4, ent.actor);
    sq_bind_text(st, 5, ent.event);
    sq_bind_text(st, 6, ent.target);
    sq_bind_text(st, 7, ent.detail);
    sqlite3_bind_blob(st, 8, ent.prev_hash, STORE_AUDIT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, ent.hash, STORE_AUDIT_HASH_LEN, SQLITE_STATIC);
    rc = sq_exec(q, st);
    if (rc)
        goto end;
    st = sq_stmt(q, SQ_AUDIT_HEAD_SET);
    if (!st) {
        rc = sq_prep_rc(q);
        goto end;
    }
    sqlite3_bind_int64(st, 1, ent.seq);
    sqlite3_bind_blob(st, 2, ent.hash, STORE_AUDIT_HASH_LEN, SQLITE_STATIC);
    rc = sq_exec(q, st);
end:
    rc = sq_end(q, rc);
    if (!rc && seq_out)
        *seq_out = ent.seq;
out:
    free(detail);
    return rc;
}

static int row_audit(sq *q, sqlite3_stmt *st, void *item)
{
    store_audit_entry *e = item;
    const void *h;

    e->seq = sqlite3_column_int64(st, 0);
    e->time = sqlite3_column_int64(st, 1);
    e->actor_id = sqlite3_column_int64(st, 2);
    e->actor = sq_col_text(q, st, 3);
    e->event = sq_col_text(q, st, 4);
    e->target = sq_col_text(q, st, 5);
    e->detail = sq_col_text(q, st, 6);
    /* a hash of the wrong size stays zero: verify then reports it */
    h = sqlite3_column_blob(st, 7);
    if (h && sqlite3_column_bytes(st, 7) == STORE_AUDIT_HASH_LEN)
        memcpy(e->prev_hash, h, STORE_AUDIT_HASH_LEN);
    h = sqlite3_column_blob(st, 8);
    if (h && sqlite3_column_bytes(st, 8) == STORE_AUDIT_HASH_LEN)
        memcpy(e->hash, h, STORE_AUDIT_HASH_LEN);
    return STORE_OK;
}

static int sq_audit_page(store *s, int64_t after_seq, int limit, store_audit_entries *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_AUDIT_PAGE);
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 0 || limit > 1000)
        return STORE_INVAL;
    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int(st, 2, limit ? limit : 100);
    rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_audit);
    if (rc)
        store_audit_entries_free(out);
    return rc;
}

int sq_audit_covering(store *s, const store_export_query *qy, store_audit_entries *out)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!qy || (qy->conv_id > 0) == (qy->user_id > 0))
        return STORE_INVAL;
    st = sq_stmt(q, qy->conv_id > 0 ? SQ_AUDIT_EXPORT_CONV : SQ_AUDIT_EXPORT_USER);
    if (!st)
        return sq_prep_rc(q);
    rc = sq_export_bind(st, qy);
    q->oom = false;
    if (!rc)
        rc = sq_list(q, st, (void **)&out->items, &out->n, sizeof *out->items, row_audit);
    else
        sqlite3_reset(st);
    if (rc)
        store_audit_entries_free(out);
    return rc;
}

/* ------------------------------------------------------------- settings */

static int sq_kv_get(store *s, const char *key, char **value)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int rc;

    *value = NULL;
    if (!key)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_KV_GET);
    if (!st)
        return sq_prep_rc(q);
    sq_bind_text(st, 1, key);
    q->oom = false;
    rc = sq_step_row(q, st);
    if (!rc) {
        *value = sq_col_text(q, st, 0);
        if (!*value)
            rc = STORE_NOMEM;
    }
    sq_done(st);
    return rc;
}

static int sq_kv_set(store *s, const char *key, const char *value)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;

    if (!key || !value)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_KV_SET);
    if (!st)
        return sq_prep_rc(q);
    sq_bind_text(st, 1, key);
    sq_bind_text(st, 2, value);
    return sq_exec(q, st);
}

static int sq_account_changes(store *s, int64_t after_seq, store_account_change *out, size_t cap,
                              size_t *n_out, int64_t *head)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;
    int r = SQLITE_DONE;
    size_t n = 0;

    *n_out = 0;
    *head = after_seq;
    st = sq_stmt(q, after_seq < 0 ? SQ_ACCT_CHANGES_HEAD : SQ_ACCT_CHANGES);
    if (!st)
        return sq_prep_rc(q);
    if (after_seq < 0) {
        r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *head = sqlite3_column_int64(st, 0);
    } else {
        sqlite3_bind_int64(st, 1, after_seq);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(cap > INT32_MAX ? INT32_MAX : cap));
        while (n < cap && (r = sqlite3_step(st)) == SQLITE_ROW) {
            out[n].seq = sqlite3_column_int64(st, 0);
            out[n].user_id = sqlite3_column_int64(st, 1);
            out[n].session_id = sqlite3_column_int64(st, 2);
            *head = out[n++].seq;
        }
    }
    sqlite3_reset(st);
    *n_out = n;
    return r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : sq_rc(q, r);
}

static int sq_account_changes_prune(store *s, int64_t before)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st = sq_stmt(q, SQ_ACCT_CHANGES_PRUNE);

    if (!st)
        return sq_prep_rc(q);
    sqlite3_bind_int64(st, 1, before);
    return sq_exec(q, st);
}

/* SQLite's online backup API, a few hundred pages a step: between steps
 * the source is unlocked, so the server's writer is never held for long;
 * a write meanwhile restarts the copy from the changed page on (the API
 * does that by itself), and the copy is consistent as of its last step. */
#define SQ_BACKUP_PAGES 256

static int sq_backup(store *s, const char *dest)
{
    sq *q = (sq *)s;
    sqlite3 *out = NULL;
    sqlite3_backup *b = NULL;
    int fd, r, rc;

    /* a new inode that nobody holds, so creating it drops no lock */
    fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(q->err, sizeof q->err, "%s: %s", dest, strerror(errno));
        return errno == EEXIST ? STORE_CONFLICT : STORE_IO;
    }
    close(fd);
    r = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (r == SQLITE_OK) {
        b = sqlite3_backup_init(out, "main", q->db, "main");
        r = b ? SQLITE_OK : sqlite3_errcode(out);
    }
    while (r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED) {
        r = sqlite3_backup_step(b, SQ_BACKUP_PAGES);
        if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
            sqlite3_sleep(5);
    }
    if (b && sqlite3_backup_finish(b) != SQLITE_OK && r == SQLITE_DONE)
        r = sqlite3_errcode(out);
    if (r == SQLITE_DONE)
        r = sqlite3_exec(out, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        snprintf(q->err, sizeof q->err, "backup to %s: %s", dest,
                 out ? sqlite3_errmsg(out) : sqlite3_errstr(r));
        rc = STORE_IO;
    } else {
        rc = STORE_OK;
    }
    sqlite3_close_v2(out);
    if (rc)
        unlink(dest);
    return rc;
}

static int sq_kv_delete(store *s, const char *key)
{
    sq *q = (sq *)s;
    sqlite3_stmt *st;

    if (!key)
        return STORE_INVAL;
    st = sq_stmt(q, SQ_KV_DELETE);
    if (!st)
        return sq_prep_rc(q);
    sq_bind_text(st, 1, key);
    return sq_exec(q, st);
}

/* ----------------------------------------------------------------- open */

static const store_methods sq_methods = {
    .version = 1,
    .name = "sqlite",
    .supports = STORE_CAN_SECURE_DELETE,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .schema_version = sq_schema_version,
    .last_tx_timing = sq_last_tx_timing,
    .maintain = sq_ckpt_maintain,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_get_by_login = sq_user_get_by_login,
    .user_list = sq_user_list,
    .user_count = sq_user_count,
    .user_update = sq_user_update,
    .user_totp_use_step = sq_user_totp_use_step,
    .session_create = sq_session_create,
    .session_lookup = sq_session_lookup,
    .session_touch = sq_session_touch,
    .session_list = sq_session_list,
    .session_revoke = sq_session_revoke,
    .session_revoke_user = sq_session_revoke_user,
    .session_expire = sq_session_expire,
    .conv_create = sq_conv_create,
    .conv_get = sq_conv_get,
    .conv_list_for_user = sq_conv_list_for_user,
    .conv_rename = sq_conv_rename,
    .member_add = sq_member_add,
    .member_remove = sq_member_remove,
    .member_set_role = sq_member_set_role,
    .member_check = sq_member_check,
    .member_list = sq_member_list,
    .message_append = sq_message_append,
    .message_append_batch = sq_message_append_batch,
    .message_get = sq_message_get,
    .message_history = sq_message_history,
    .message_since = sq_message_since,
    .message_recall = sq_message_recall,
    .message_forward_chain = sq_message_forward_chain,
    .receipt_set = sq_receipt_set,
    .alert_create = sq_alert_create,
    .alert_get = sq_alert_get,
    .alert_list = sq_alert_list,
    .alert_ack = sq_alert_ack,
    .alert_resolve = sq_alert_resolve,
    .audit_append = sq_audit_append,
    .audit_page = sq_audit_page,
    .audit_head = sq_audit_head,
    .kv_get = sq_kv_get,
    .kv_set = sq_kv_set,
    .kv_delete = sq_kv_delete,
    .account_changes = sq_account_changes,
    .account_changes_prune = sq_account_changes_prune,
    .backup = sq_backup,
    .member_get = sq_member_get,
    .conv_set_shared_history = sq_conv_set_shared_history,
    .message_spread = sq_message_spread,
    .message_contain = sq_message_contain,
    .erase_flush = sq_erase_flush,
    .spread_conversations = sq_spread_conversations,
    .alert_count = sq_alert_count,
    .alert_stats = sq_alert_stats,
    .reminder_create = sq_reminder_create,
    .reminder_get = sq_reminder_get,
    .reminder_list = sq_reminder_list,
    .reminder_update = sq_reminder_update,
    .reminder_delete = sq_reminder_delete,
    .reminder_due = sq_reminder_due,
    .burn_open = sq_burn_open,
    .burn_due = sq_burn_due,
    .burn_destroy = sq_burn_destroy,
    .files = &sq_files_methods,
    .quarantine_text = sq_quarantine_text,
    .spread_members = sq_spread_members,
    .message_export = sq_message_export,
    .audit_covering = sq_audit_covering,
    .personal_findings = sq_personal_findings,
    .alert_groups = sq_alert_groups,
    .work = &sq_work_methods,
    .message_after = sq_message_after,
    .message_max_id = sq_message_max_id,
    .message_recalled_since = sq_message_recalled_since,
};

static int pragma(sq *q, const char *sql)
{
    return sq_rc(q, sqlite3_exec(q->db, sql, NULL, NULL, NULL));
}

static int set_wal(sq *q)
{
    sqlite3_stmt *st = NULL;
    int r, rc;

    r = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (r != SQLITE_OK)
        return sq_rc(q, r);
    r = sqlite3_step(st);
    rc = r == SQLITE_ROW ? STORE_OK : sq_rc(q, r);
    if (!rc && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal")) {
        snprintf(q->err, sizeof q->err, "could not switch the database to WAL mode");
        rc = STORE_IO;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Makes a new database file private (0600) before SQLite creates it; SQLite
 * gives the -wal and -shm files the database file's permissions.
 *
 * Only a file that does not exist yet is ever opened here (O_EXCL): a POSIX
 * close() drops every fcntl lock the process holds on the file, including
 * those of SQLite connections this process already has open on it (the
 * server opens one per thread). Without its locks the server looks absent
 * to the next process, which then checkpoints and unlinks the live -wal and
 * -shm under it (acknowledged messages lost). An existing file is only
 * chmod'ed by path, which touches no lock. */
static int create_private(sq *q, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0) {
        close(fd); /* a new inode: no connection can hold a lock on it */
        return STORE_OK;
    }
    if (errno != EEXIST)
        goto fail;
    for (int i = 0; i < 3; i++) {
        static const char *const sfx[] = {"", "-wal", "-shm"};
        char p[4096];

        if (snprintf(p, sizeof p, "%s%s", path, sfx[i]) >= (int)sizeof p) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        if (stat(p, &st)) {
            if (i && errno == ENOENT)
                continue;
            goto fail;
        }
        if ((st.st_mode & 077) && chmod(p, st.st_mode & 0700))
            goto fail;
    }
    return STORE_OK;
fail:
    snprintf(q->err, sizeof q->err, "%s: %s", path, strerror(errno));
    return STORE_IO;
}

static int sq_open(const store_options *opt, store **out, char **errmsg)
{
    sq *q = calloc(1, sizeof *q);
    int flags, rc = STORE_NOMEM;
    char buf[64];

    if (!q)
        goto fail;
    q->base.methods = &sq_methods;
    q->read_only = opt->read_only;
    if (!q->read_only) {
        rc = create_private(q, opt->path);
        if (rc)
            goto fail;
    }
    flags = (q->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
            SQLITE_OPEN_EXRESCODE;
    rc = sq_rc(q, sqlite3_open_v2(opt->path, &q->db, flags, NULL));
    if (rc)
        goto fail;
    sqlite3_extended_result_codes(q->db, 1);
    q->busy_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
    sqlite3_busy_timeout(q->db, q->busy_ms);
    if (!q->read_only) {
        rc = set_wal(q);
        if (rc)
            goto fail;
    }
    snprintf(buf, sizeof buf, "PRAGMA synchronous=%s", opt->synchronous_normal ? "NORMAL" : "FULL");
    rc = pragma(q, buf);
    if (!rc)
        rc = pragma(q, "PRAGMA foreign_keys=ON");
    if (!rc)
        rc = pragma(q, "PRAGMA secure_delete=ON");
    if (!rc)
        rc = pragma(q, "PRAGMA trusted_schema=OFF");
    if (!rc && opt->maintenance == STORE_MAINT_ELSEWHERE)
        rc = sq_rc(q, sqlite3_wal_autocheckpoint(q->db, SQ_WAL_LIMIT));
    if (rc)
        goto fail;
    if (!q->read_only)
        q->turn = sq_turn_get(opt->path);
    rc = sq_migrate(q);
    if (rc)
        goto fail;
    q->on_maint = opt->on_maint;
    q->maint_arg = opt->maint_arg;
    if (opt->maintenance == STORE_MAINT_BACKGROUND && !q->read_only) {
        rc = sq_ckpt_start(q, opt->path);
        if (rc)
            goto fail;
    }
    *out = &q->base;
    return STORE_OK;
fail:
    if (errmsg)
        *errmsg = strdup(q && q->err[0] ? q->err : store_strerror(rc));
    if (q) {
        for (int i = 0; i < SQ_N; i++)
            sqlite3_finalize(q->stmt[i]);
        sqlite3_close_v2(q->db);
        sq_turn_put(q->turn);
        free(q);
    }
    return rc;
}

const store_backend store_sqlite_backend = {
    .version = 1,
    .name = "sqlite",
    .open = sq_open,
};
