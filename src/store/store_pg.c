/*
 * store_pg.c — the PostgreSQL backend (libpq): connecting, statements,
 * errors, transactions, and the user, session, audit, settings and
 * account-change methods. Conversations, messages, receipts and alerts are
 * in store_pg_chat.c; trace and contain in store_pg_trace.c; reminders and
 * burn in store_pg_work.c; files in store_pg_files.c; the schema in
 * store_pg_migrate.c (docs/STORE.md, "PostgreSQL").
 *
 * store_options.path is a libpq connection string (a postgresql:// URL or
 * key=value pairs). One handle = one connection, used by one thread at a
 * time (store.h THREADING); the server opens one per worker and one for
 * the writer, so each keeps its prepared statements.
 */
#include "store/store_files.h"
#include "store/store_pg_int.h"
#include "store/store_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql_text[PG_N] = {
#define PG_SQL(name, sql) [PG_##name] = sql,
    PG_STATEMENTS(PG_SQL)
#undef PG_SQL
};

/* ------------------------------------------------------------ arguments */

static const char *slot(pg_args *a)
{
    return a->n < PG_MAXARGS ? a->num[a->n] : NULL;
}

static void push(pg_args *a, const char *v, int len, int fmt)
{
    if (a->n >= PG_MAXARGS)
        return; /* a programming error: pg_exec refuses the call (n too big) */
    a->val[a->n] = v;
    a->len[a->n] = len;
    a->fmt[a->n] = fmt;
    a->n++;
}

void pa_i64(pg_args *a, int64_t v)
{
    if (a->n < PG_MAXARGS)
        snprintf(a->num[a->n], sizeof a->num[0], "%lld", (long long)v);
    push(a, slot(a), 0, 0);
}

void pa_id(pg_args *a, int64_t v)
{
    if (v)
        pa_i64(a, v);
    else
        push(a, NULL, 0, 0);
}

void pa_bool(pg_args *a, bool v)
{
    push(a, v ? "t" : "f", 0, 0);
}

void pa_text(pg_args *a, const char *s)
{
    push(a, s, 0, 0);
}

void pa_bin(pg_args *a, const void *p, size_t n)
{
    push(a, p ? p : "", (int)n, 1);
}

/* -------------------------------------------------------------- errors */

int pg_rc(pg *q, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int rc = STORE_IO;

    /* Only the primary message: PostgreSQL's DETAIL may quote the values
     * of a row (a key, a message's text), which must not reach logs. */
    if (!msg)
        msg = q->conn ? PQerrorMessage(q->conn) : "no connection";
    snprintf(q->err, sizeof q->err, "%s", msg);
    q->err[strcspn(q->err, "\n")] = 0;
    if (!state)
        return STORE_IO; /* the connection, not the statement */
    if (!strcmp(state, "23505"))
        rc = STORE_CONFLICT; /* unique_violation */
    else if (!strcmp(state, "23503"))
        rc = STORE_NOTFOUND; /* foreign_key_violation: the row it names is not there */
    else if (!strncmp(state, "23", 2) || !strcmp(state, "P0001"))
        rc = STORE_INVAL; /* other constraints, and the audit log's append-only trigger */
    else if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
             !strcmp(state, "57014"))
        rc = STORE_BUSY; /* serialization, deadlock, lock_timeout, statement cancelled */
    else if (!strcmp(state, "25006"))
        rc = STORE_READONLY;
    else if (!strncmp(state, "22", 2))
        rc = STORE_INVAL; /* data exception: bad encoding, out of range */
    else if (!strcmp(state, "53200"))
        rc = STORE_NOMEM;
    else if (!strcmp(state, "XX001") || !strcmp(state, "XX002"))
        rc = STORE_CORRUPT;
    return rc;
}

/* A lost connection is opened again before the next call (not in a
 * transaction: that one is gone, its caller gets the error). Prepared
 * statements died with it. */
static void reconnect_if_lost(pg *q)
{
    if (PQstatus(q->conn) == CONNECTION_OK || q->depth)
        return;
    PQreset(q->conn);
    memset(q->prepared, 0, sizeof q->prepared);
}

/* Prepares statement id on this connection once (outside a pipeline). */
static int prepare(pg *q, int id)
{
    char name[16];
    PGresult *r;
    int rc = STORE_OK;

    if (q->prepared[id])
        return STORE_OK;
    snprintf(name, sizeof name, "c%d", id);
    r = PQprepare(q->conn, name, sql_text[id], 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_rc(q, r);
    else
        q->prepared[id] = true;
    PQclear(r);
    return rc;
}

PGresult *pg_exec(pg *q, int id, const char *sql, const pg_args *a, int *rc)
{
    static const pg_args none;
    PGresult *r;
    ExecStatusType st;
    char name[16];

    if (!a)
        a = &none;
    if (a->n > PG_MAXARGS || (id == PG_ADHOC && !sql)) {
        *rc = STORE_INVAL;
        return NULL;
    }
    reconnect_if_lost(q);
    if (id != PG_ADHOC && (*rc = prepare(q, id)) != STORE_OK)
        return NULL;
    if (id != PG_ADHOC) {
        snprintf(name, sizeof name, "c%d", id);
        r = PQexecPrepared(q->conn, name, a->n, a->val, a->len, a->fmt, 0);
    } else {
        r = PQexecParams(q->conn, sql, a->n, NULL, a->val, a->len, a->fmt, 0);
    }
    st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *rc = STORE_OK;
        return r;
    }
    *rc = st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR ? pg_rc(q, r) : STORE_IO;
    if (!*rc)
        *rc = STORE_IO;
    PQclear(r);
    return NULL;
}

int pg_run(pg *q, int id, const char *sql, const pg_args *a, int64_t *changes)
{
    int rc;
    PGresult *r = pg_exec(q, id, sql, a, &rc);

    if (changes)
        *changes = r ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return rc;
}

int pg_run1(pg *q, int id, const char *sql, const pg_args *a, int64_t *changes)
{
    int rc;

    if (!q->depth)
        return pg_run(q, id, sql, a, changes);
    rc = pg_begin(q);
    if (!rc)
        rc = pg_end(q, pg_run(q, id, sql, a, changes));
    return rc;
}

/* One sent statement's outcome: its result (the caller PQclear()s it) and
 * STORE_OK, its own error, or STORE_IO when an earlier failure aborted it. */
static void pipe_read(pg *q, pg_call *c)
{
    PGresult *r = PQgetResult(q->conn), *more;
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        c->res = r;
        c->rc = STORE_OK;
        r = NULL;
    } else if (st == PGRES_PIPELINE_ABORTED) {
        c->rc = STORE_IO;
    } else {
        c->rc = pg_rc(q, r);
        if (!c->rc)
            c->rc = STORE_IO;
    }
    PQclear(r);
    /* each statement's results end with a NULL */
    while (PQstatus(q->conn) == CONNECTION_OK && (more = PQgetResult(q->conn)))
        PQclear(more);
}

int pg_pipeline(pg *q, pg_call *c, size_t n, size_t *failed)
{
    static const pg_args none;
    size_t sent = 0;
    char name[16];
    PGresult *r;
    int rc = STORE_OK;

    *failed = n;
    for (size_t i = 0; i < n; i++) {
        c[i].res = NULL;
        c[i].rc = STORE_IO;
    }
    if (n > PG_PIPE_MAX)
        return STORE_INVAL;
    reconnect_if_lost(q);
    for (size_t i = 0; i < n && !rc; i++)
        if (c[i].id != PG_ADHOC)
            rc = prepare(q, c[i].id);
    if (rc)
        return rc;
    if (!PQenterPipelineMode(q->conn))
        return pg_rc(q, NULL);
    for (; sent < n; sent++) {
        const pg_args *a = c[sent].a ? c[sent].a : &none;
        int ok;

        if (c[sent].id == PG_ADHOC) {
            ok = PQsendQueryParams(q->conn, c[sent].sql, a->n, NULL, a->val, a->len, a->fmt, 0);
        } else {
            snprintf(name, sizeof name, "c%d", c[sent].id);
            ok = PQsendQueryPrepared(q->conn, name, a->n, a->val, a->len, a->fmt, 0);
        }
        if (!ok) {
            rc = pg_rc(q, NULL);
            break;
        }
    }
    /* the sync flushes what was sent; its result follows the statements' */
    if (!PQpipelineSync(q->conn) && !rc)
        rc = pg_rc(q, NULL);
    for (size_t i = 0; i < sent && PQstatus(q->conn) == CONNECTION_OK; i++) {
        pipe_read(q, &c[i]);
        if (c[i].rc && c[i].rc != STORE_IO && *failed == n)
            *failed = i;
        if (c[i].rc && !rc)
            rc = c[i].rc;
    }
    while (PQstatus(q->conn) == CONNECTION_OK && (r = PQgetResult(q->conn))) {
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

        PQclear(r);
        if (sync)
            break;
    }
    if (!PQexitPipelineMode(q->conn) && !rc)
        rc = pg_rc(q, NULL);
    if (rc && *failed == n)
        for (size_t i = 0; i < n && *failed == n; i++)
            if (c[i].rc)
                *failed = i;
    return rc;
}

int pg_int(pg *q, int id, const char *sql, const pg_args *a, int64_t *out)
{
    int rc;
    PGresult *r = pg_exec(q, id, sql, a, &rc);

    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r && out)
        *out = pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_one(pg *q, int id, const char *sql, const pg_args *a, pg_row_fn *read, void *item)
{
    int rc;
    PGresult *r = pg_exec(q, id, sql, a, &rc);

    q->oom = false;
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        rc = read(q, r, 0, item);
        if (!rc && q->oom)
            rc = STORE_NOMEM;
    }
    PQclear(r);
    return rc;
}

void *pg_grow(void **items, size_t *n, size_t *cap, size_t size)
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

int pg_list(pg *q, int id, const char *sql, const pg_args *a, void **items, size_t *n, size_t size,
            pg_row_fn *read)
{
    size_t cap = 0;
    int rc;
    PGresult *r = pg_exec(q, id, sql, a, &rc);

    q->oom = false;
    for (int i = 0; r && !rc && i < PQntuples(r); i++) {
        void *item = pg_grow(items, n, &cap, size);

        rc = item ? read(q, r, i, item) : STORE_NOMEM;
        if (!rc && q->oom)
            rc = STORE_NOMEM;
    }
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------- columns */

char *pg_text(pg *q, const PGresult *r, int row, int col)
{
    size_t n;
    char *p;

    if (PQgetisnull(r, row, col))
        return NULL;
    n = (size_t)PQgetlength(r, row, col);
    p = malloc(n + 1);
    if (!p) {
        q->oom = true;
        return NULL;
    }
    memcpy(p, PQgetvalue(r, row, col), n);
    p[n] = 0;
    return p;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    if (v[0] == 't' || v[0] == 'f') /* a boolean read as a number (pg_int) */
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

bool pg_bool(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);

    return !PQgetisnull(r, row, col) && (v[0] == 't' || v[0] == '1');
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool pg_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t n)
{
    /* bytea in text results: "\x" and two lower-case hex digits a byte */
    const char *v = PQgetvalue(r, row, col);

    memset(out, 0, n);
    if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) != 2 + 2 * n || v[0] != '\\' ||
        v[1] != 'x')
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);

        if (hi < 0 || lo < 0) {
            memset(out, 0, n);
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void pg_read_user(pg *q, const PGresult *r, int row, int c, store_user *u)
{
    u->id = pg_i64(r, row, c + 0);
    u->login = pg_text(q, r, row, c + 1);
    u->display_name = pg_text(q, r, row, c + 2);
    u->role = (store_role)pg_i64(r, row, c + 3);
    u->external = pg_bool(r, row, c + 4);
    u->disabled = pg_bool(r, row, c + 5);
    u->must_change_password = pg_bool(r, row, c + 6);
    u->password_hash = pg_text(q, r, row, c + 7);
    u->totp_secret = pg_text(q, r, row, c + 8);
    u->totp_enabled = pg_bool(r, row, c + 9);
    u->totp_last_step = pg_i64(r, row, c + 10);
    u->failed_logins = (int)pg_i64(r, row, c + 11);
    u->locked_until = pg_i64(r, row, c + 12);
    u->created_at = pg_i64(r, row, c + 13);
    u->updated_at = pg_i64(r, row, c + 14);
    u->phone = pg_text(q, r, row, c + 15);
    u->department = pg_text(q, r, row, c + 16);
    if (!u->display_name && !q->oom)
        u->display_name = strdup("");
    if (!u->display_name)
        q->oom = true;
}

/* --------------------------------------------------------- transactions */

static int simple(pg *q, const char *sql)
{
    return pg_run(q, PG_ADHOC, sql, NULL, NULL);
}

int pg_begin(pg *q)
{
    int rc;

    if (q->read_only) {
        snprintf(q->err, sizeof q->err, "read-only handle");
        return STORE_READONLY;
    }
    /* Row locks, not a database lock: PostgreSQL writers run side by side
     * and wait only where they touch the same rows (up to lock_timeout,
     * then STORE_BUSY). Inner levels are savepoints, so a failed step rolls
     * back alone (an error aborts a PostgreSQL transaction otherwise). */
    rc = simple(q, q->depth ? "SAVEPOINT op" : "BEGIN");
    if (!rc)
        q->depth++;
    return rc;
}

int pg_end(pg *q, int rc)
{
    int r;

    if (--q->depth > 0) {
        if (rc)
            simple(q, "ROLLBACK TO SAVEPOINT op");
        r = simple(q, "RELEASE SAVEPOINT op");
        return rc ? rc : r;
    }
    if (rc) {
        simple(q, "ROLLBACK");
        return rc;
    }
    r = simple(q, "COMMIT");
    if (r && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
        simple(q, "ROLLBACK");
    return r;
}

int pg_begin_read(pg *q)
{
    int rc = q->depth ? STORE_OK : simple(q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

    if (!rc)
        q->depth++;
    return rc;
}

void pg_end_read(pg *q)
{
    if (--q->depth == 0 && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
        simple(q, "COMMIT");
}

/* --------------------------------------------------------------- handle */

static void pg_close(store *s)
{
    pg *q = (pg *)s;

    if (q->conn && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
        simple(q, "ROLLBACK");
    PQfinish(q->conn);
    free(q);
}

static const char *pg_errmsg(store *s)
{
    return ((pg *)s)->err;
}

static int pg_schema_version(store *s, int *out)
{
    int64_t v = 0;
    int rc = pg_int((pg *)s, PG_SCHEMA_VERSION, NULL, NULL, &v);

    *out = (int)v;
    return rc;
}

static int tx_open(store *s)
{
    return pg_begin((pg *)s);
}

static int tx_close(store *s, int rc)
{
    return pg_end((pg *)s, rc);
}

static int pg_tx_begin(store *s)
{
    return store_tx_flag_begin(s, &((pg *)s)->in_tx, tx_open);
}

static int pg_tx_commit(store *s)
{
    return store_tx_flag_commit(s, &((pg *)s)->in_tx, tx_close);
}

static int pg_tx_rollback(store *s)
{
    return store_tx_flag_rollback(s, &((pg *)s)->in_tx, tx_close);
}

/* ---------------------------------------------------------------- users */

static int pg_user_create(store *s, const store_user_new *u, int64_t *id_out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t id = 0;
    int rc;

    if (id_out)
        *id_out = 0;
    if (!u || !u->login || !*u->login || !u->password_hash || !*u->password_hash ||
        strlen(u->login) > STORE_LOGIN_MAX || (unsigned)u->role > STORE_ROLE_ADMIN)
        return STORE_INVAL;
    if (q->read_only)
        return STORE_READONLY;
    pa_text(&a, u->login);
    pa_text(&a, u->display_name ? u->display_name : u->login);
    pa_i64(&a, u->role);
    pa_bool(&a, u->external);
    pa_text(&a, u->password_hash);
    pa_bool(&a, u->must_change_password);
    pa_i64(&a, u->now);
    rc = q->depth ? pg_begin(q) : STORE_OK;
    if (!rc) {
        int r = pg_int(q, PG_USER_INSERT, NULL, &a, &id);

        rc = q->depth ? pg_end(q, r) : r;
    }
    if (!rc && id_out)
        *id_out = id;
    return rc;
}

static int row_user(pg *q, PGresult *r, int row, void *item)
{
    pg_read_user(q, r, row, 0, item);
    return STORE_OK;
}

static int user_one(pg *q, int id_stmt, int64_t id, const char *login, store_user *out)
{
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (login)
        pa_text(&a, login);
    else
        pa_i64(&a, id);
    rc = pg_one(q, id_stmt, NULL, &a, row_user, out);
    if (rc)
        store_user_clear(out);
    return rc;
}

static int pg_user_get(store *s, int64_t id, store_user *out)
{
    return user_one((pg *)s, PG_USER_GET, id, NULL, out);
}

static int pg_user_get_by_login(store *s, const char *login, store_user *out)
{
    if (!login) {
        memset(out, 0, sizeof *out);
        return STORE_INVAL;
    }
    return user_one((pg *)s, PG_USER_GET_LOGIN, 0, login, out);
}

static int pg_user_list(store *s, bool include_disabled, store_users *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_bool(&a, include_disabled);
    rc = pg_list(q, PG_USER_LIST, NULL, &a, (void **)&out->items, &out->n, sizeof *out->items,
                 row_user);
    if (rc)
        store_users_free(out);
    return rc;
}

static int pg_user_count(store *s, int64_t *out)
{
    *out = 0;
    return pg_int((pg *)s, PG_USER_COUNT, NULL, NULL, out);
}

/* One UPDATE users SET ... WHERE id = $1 with $2 a value, $3 now and $4 a
 * second value (for the statements that have one). */
static int set_field(pg *q, int id_stmt, int64_t id, pg_args *v2, int64_t now, const char *v4)
{
    pg_args a = {0};

    pa_i64(&a, id);
    push(&a, v2->val[0], v2->len[0], v2->fmt[0]);
    pa_i64(&a, now);
    if (v4)
        pa_text(&a, v4);
    return pg_run(q, id_stmt, NULL, &a, NULL);
}

static int user_exists(pg *q, int64_t id)
{
    pg_args a = {0};

    pa_i64(&a, id);
    return pg_int(q, PG_USER_EXISTS, NULL, &a, NULL);
}

static int pg_user_update(store *s, int64_t id, const store_user_patch *p)
{
    pg *q = (pg *)s;
    pg_args v = {0};
    char n4[24];
    int rc;

    if (!p || ((p->fields & STORE_USER_ROLE) && (unsigned)p->role > STORE_ROLE_ADMIN) ||
        ((p->fields & STORE_USER_DISPLAY_NAME) && !p->display_name) ||
        ((p->fields & STORE_USER_PASSWORD) && (!p->password_hash || !*p->password_hash)))
        return STORE_INVAL;
    rc = pg_begin(q);
    if (rc)
        return rc;
    rc = user_exists(q, id);
#define V(setter, x) (memset(&v, 0, sizeof v), setter(&v, x), &v)
    if (!rc && (p->fields & STORE_USER_DISPLAY_NAME))
        rc = set_field(q, PG_USER_SET_DISPLAY, id, V(pa_text, p->display_name), p->now, NULL);
    if (!rc && (p->fields & STORE_USER_PHONE))
        rc = set_field(q, PG_USER_SET_PHONE, id, V(pa_text, p->phone), p->now, NULL);
    if (!rc && (p->fields & STORE_USER_DEPARTMENT))
        rc = set_field(q, PG_USER_SET_DEPARTMENT, id, V(pa_text, p->department), p->now, NULL);
    if (!rc && (p->fields & STORE_USER_ROLE))
        rc = set_field(q, PG_USER_SET_ROLE, id, V(pa_i64, p->role), p->now, NULL);
    if (!rc && (p->fields & STORE_USER_DISABLED)) {
        rc = set_field(q, PG_USER_SET_DISABLED, id, V(pa_bool, p->disabled), p->now, NULL);
        if (!rc && p->disabled) {
            pg_args a = {0};

            pa_i64(&a, id);
            pa_i64(&a, 0);
            rc = pg_run(q, PG_SESS_REVOKE_USER, NULL, &a, NULL);
        }
    }
    if (!rc && (p->fields & STORE_USER_EXTERNAL)) {
        rc = set_field(q, PG_USER_SET_EXTERNAL, id, V(pa_bool, p->external), p->now, NULL);
        if (!rc) {
            pg_args a = {0};

            pa_i64(&a, id);
            rc = pg_run(q, PG_USER_CONVS_EXTERNAL, NULL, &a, NULL);
        }
    }
    if (!rc && (p->fields & STORE_USER_PASSWORD))
        rc = set_field(q, PG_USER_SET_PASSWORD, id, V(pa_text, p->password_hash), p->now,
                       p->must_change_password ? "t" : "f");
    if (!rc && (p->fields & STORE_USER_TOTP))
        rc = set_field(q, PG_USER_SET_TOTP, id, V(pa_text, p->totp_secret), p->now,
                       p->totp_secret && p->totp_enabled ? "t" : "f");
    if (!rc && (p->fields & STORE_USER_LOCKOUT)) {
        snprintf(n4, sizeof n4, "%lld", (long long)p->locked_until);
        rc = set_field(q, PG_USER_SET_LOCKOUT, id, V(pa_i64, p->failed_logins), p->now, n4);
    }
#undef V
    return pg_end(q, rc);
}

static int pg_user_totp_use_step(store *s, int64_t id, int64_t step)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    if (step <= 0)
        return STORE_INVAL;
    pa_i64(&a, id);
    pa_i64(&a, step);
    rc = pg_run1(q, PG_USER_TOTP_STEP, NULL, &a, &n);
    if (!rc && n == 0)
        rc = user_exists(q, id) == STORE_OK ? STORE_CONFLICT : STORE_NOTFOUND;
    return rc;
}

/* ------------------------------------------------------------- sessions */

static int row_session(pg *q, PGresult *r, int row, void *item)
{
    store_session *s = item;

    s->id = pg_i64(r, row, 0);
    s->user_id = pg_i64(r, row, 1);
    pg_bytea(r, row, 2, s->token_hash, STORE_TOKEN_HASH_LEN);
    s->created_at = pg_i64(r, row, 3);
    s->last_seen_at = pg_i64(r, row, 4);
    s->expires_at = pg_i64(r, row, 5);
    s->user_agent = pg_text(q, r, row, 6);
    s->address = pg_text(q, r, row, 7);
    return STORE_OK;
}

static int pg_session_create(store *s, const store_session_new *n, int64_t *id_out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    char ua[257];
    int64_t id = 0;
    int rc;

    if (id_out)
        *id_out = 0;
    if (!n || n->expires_at <= n->now)
        return STORE_INVAL;
    pa_i64(&a, n->user_id);
    pa_bin(&a, n->token_hash, STORE_TOKEN_HASH_LEN);
    pa_i64(&a, n->now);
    pa_i64(&a, n->expires_at);
    if (n->user_agent) {
        /* a cap on what a client can make us store; cut back to a whole
         * UTF-8 character (PostgreSQL checks the encoding) */
        size_t len;

        snprintf(ua, sizeof ua, "%s", n->user_agent);
        len = strlen(ua);
        if (len == sizeof ua - 1) {
            size_t k = len;

            while (k > 0 && ((unsigned char)ua[k - 1] & 0xC0) == 0x80)
                k--;
            if (k > 0 && ((unsigned char)ua[k - 1] & 0x80)) {
                unsigned char lead = (unsigned char)ua[k - 1];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;

                if (len - (k - 1) < need)
                    ua[k - 1] = 0;
            }
        }
        pa_text(&a, ua);
    } else {
        pa_text(&a, NULL);
    }
    pa_text(&a, n->address);
    rc = q->depth ? pg_begin(q) : STORE_OK;
    if (!rc) {
        int r = pg_int(q, PG_SESS_INSERT, NULL, &a, &id);

        rc = q->depth ? pg_end(q, r) : r;
    }
    if (!rc && id_out)
        *id_out = id;
    return rc;
}

static int pg_session_lookup(store *s, const uint8_t hash[STORE_TOKEN_HASH_LEN], int64_t now,
                             store_session *sess, store_user *user)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    int rc;

    memset(sess, 0, sizeof *sess);
    if (user)
        memset(user, 0, sizeof *user);
    pa_bin(&a, hash, STORE_TOKEN_HASH_LEN);
    pa_i64(&a, now);
    r = pg_exec(q, PG_SESS_LOOKUP, NULL, &a, &rc);
    q->oom = false;
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        row_session(q, r, 0, sess);
        if (user)
            pg_read_user(q, r, 0, PG_SESS_NCOLS, user);
        if (q->oom) {
            store_session_clear(sess);
            store_user_clear(user);
            rc = STORE_NOMEM;
        }
    }
    PQclear(r);
    return rc;
}

static int simple_write(pg *q, int id_stmt, int64_t x, int64_t y, bool check_changes,
                        int64_t *changes)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_i64(&a, x);
    pa_i64(&a, y);
    rc = pg_run1(q, id_stmt, NULL, &a, &n);
    if (!rc && changes)
        *changes = n;
    if (!rc && check_changes && n == 0)
        rc = STORE_NOTFOUND;
    return rc;
}

static int pg_session_touch(store *s, int64_t id, int64_t now)
{
    return simple_write((pg *)s, PG_SESS_TOUCH, id, now, true, NULL);
}

static int pg_session_list(store *s, int64_t user_id, int64_t now, store_sessions *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    pa_i64(&a, user_id);
    pa_i64(&a, now);
    rc = pg_list(q, PG_SESS_LIST, NULL, &a, (void **)&out->items, &out->n, sizeof *out->items,
                 row_session);
    if (rc)
        store_sessions_free(out);
    return rc;
}

static int pg_session_revoke(store *s, int64_t id, int64_t user_id)
{
    return simple_write((pg *)s, PG_SESS_REVOKE, id, user_id, true, NULL);
}

static int pg_session_revoke_user(store *s, int64_t user_id, int64_t except_id, int64_t *n_out)
{
    int64_t n = 0;
    int rc = simple_write((pg *)s, PG_SESS_REVOKE_USER, user_id, except_id, false, &n);

    if (n_out)
        *n_out = n;
    return rc;
}

static int pg_session_expire(store *s, int64_t now, int64_t *n_out)
{
    pg_args a = {0};
    int64_t n = 0;
    int rc;

    pa_i64(&a, now);
    rc = pg_run1((pg *)s, PG_SESS_EXPIRE, NULL, &a, &n);
    if (n_out)
        *n_out = rc ? 0 : n;
    return rc;
}

/* ---------------------------------------------------------------- audit */

static int read_head(pg *q, bool lock, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN])
{
    PGresult *r;
    int rc;

    *seq = 0;
    memset(hash, 0, STORE_AUDIT_HASH_LEN);
    r = pg_exec(q, lock ? PG_AUDIT_HEAD_LOCK : PG_AUDIT_HEAD, NULL, NULL, &rc);
    if (r && PQntuples(r) > 0) {
        *seq = pg_i64(r, 0, 0);
        if (!pg_bytea(r, 0, 1, hash, STORE_AUDIT_HASH_LEN))
            rc = STORE_CORRUPT;
    }
    PQclear(r);
    return rc; /* no row: an empty chain */
}

static int pg_audit_head(store *s, int64_t *seq, uint8_t hash[STORE_AUDIT_HASH_LEN])
{
    return read_head((pg *)s, false, seq, hash);
}

static int pg_audit_append(store *s, const store_audit_new *e, int64_t *seq_out)
{
    pg *q = (pg *)s;
    store_audit_entry ent = {0};
    char *detail = NULL;
    pg_args a = {0};
    int rc;

    if (seq_out)
        *seq_out = 0;
    if (!e || !e->event || !*e->event)
        return STORE_INVAL;
    rc = store_json_canonical(e->detail, true, &detail);
    if (rc)
        return rc;
    rc = pg_begin(q);
    if (rc)
        goto out;
    /* The chain continues from the recorded head, read and row-locked
     * inside the write transaction, so concurrent appenders (other
     * threads, other nodes) serialise on it. */
    rc = read_head(q, true, &ent.seq, ent.prev_hash);
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
    pa_i64(&a, ent.seq);
    pa_i64(&a, ent.time);
    pa_i64(&a, ent.actor_id);
    pa_text(&a, ent.actor);
    pa_text(&a, ent.event);
    pa_text(&a, ent.target);
    pa_text(&a, ent.detail);
    pa_bin(&a, ent.prev_hash, STORE_AUDIT_HASH_LEN);
    pa_bin(&a, ent.hash, STORE_AUDIT_HASH_LEN);
    rc = pg_run(q, PG_AUDIT_INSERT, NULL, &a, NULL);
    if (rc)
        goto end;
    memset(&a, 0, sizeof a);
    pa_i64(&a, ent.seq);
    pa_bin(&a, ent.hash, STORE_AUDIT_HASH_LEN);
    rc = pg_run(q, PG_AUDIT_HEAD_SET, NULL, &a, NULL);
end:
    rc = pg_end(q, rc);
    if (!rc && seq_out)
        *seq_out = ent.seq;
out:
    free(detail);
    return rc;
}

int pg_row_audit(pg *q, PGresult *r, int row, void *item)
{
    store_audit_entry *e = item;

    e->seq = pg_i64(r, row, 0);
    e->time = pg_i64(r, row, 1);
    e->actor_id = pg_i64(r, row, 2);
    e->actor = pg_text(q, r, row, 3);
    e->event = pg_text(q, r, row, 4);
    e->target = pg_text(q, r, row, 5);
    e->detail = pg_text(q, r, row, 6);
    /* a hash of the wrong size stays zero: verify then reports it */
    pg_bytea(r, row, 7, e->prev_hash, STORE_AUDIT_HASH_LEN);
    pg_bytea(r, row, 8, e->hash, STORE_AUDIT_HASH_LEN);
    return STORE_OK;
}

static int pg_audit_page(store *s, int64_t after_seq, int limit, store_audit_entries *out)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (limit < 0 || limit > 1000)
        return STORE_INVAL;
    pa_i64(&a, after_seq);
    pa_i64(&a, limit ? limit : 100);
    rc = pg_list(q, PG_AUDIT_PAGE, NULL, &a, (void **)&out->items, &out->n, sizeof *out->items,
                 pg_row_audit);
    if (rc)
        store_audit_entries_free(out);
    return rc;
}

/* ------------------------------------------------------------- settings */

static int pg_kv_get(store *s, const char *key, char **value)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    int rc;

    *value = NULL;
    if (!key)
        return STORE_INVAL;
    pa_text(&a, key);
    r = pg_exec(q, PG_KV_GET, NULL, &a, &rc);
    q->oom = false;
    if (r && PQntuples(r) == 0)
        rc = STORE_NOTFOUND;
    else if (r) {
        *value = pg_text(q, r, 0, 0);
        if (!*value)
            rc = STORE_NOMEM;
    }
    PQclear(r);
    return rc;
}

static int pg_kv_set(store *s, const char *key, const char *value)
{
    pg_args a = {0};

    if (!key || !value)
        return STORE_INVAL;
    pa_text(&a, key);
    pa_text(&a, value);
    return pg_run1((pg *)s, PG_KV_SET, NULL, &a, NULL);
}

static int pg_kv_delete(store *s, const char *key)
{
    pg_args a = {0};

    if (!key)
        return STORE_INVAL;
    pa_text(&a, key);
    return pg_run1((pg *)s, PG_KV_DELETE, NULL, &a, NULL);
}

static int pg_account_changes(store *s, int64_t after_seq, store_account_change *out, size_t cap,
                              size_t *n_out, int64_t *head)
{
    pg *q = (pg *)s;
    pg_args a = {0};
    PGresult *r;
    size_t n = 0;
    int rc;

    *n_out = 0;
    *head = after_seq;
    if (after_seq < 0) {
        return pg_int(q, PG_ACCT_CHANGES_HEAD, NULL, NULL, head);
    }
    pa_i64(&a, after_seq);
    pa_i64(&a, (int64_t)(cap > INT32_MAX ? INT32_MAX : cap));
    r = pg_exec(q, PG_ACCT_CHANGES, NULL, &a, &rc);
    for (int i = 0; r && n < cap && i < PQntuples(r); i++) {
        out[n].seq = pg_i64(r, i, 0);
        out[n].user_id = pg_i64(r, i, 1);
        out[n].session_id = pg_i64(r, i, 2);
        *head = out[n++].seq;
    }
    PQclear(r);
    *n_out = n;
    return rc;
}

static int pg_account_changes_prune(store *s, int64_t before)
{
    pg_args a = {0};

    pa_i64(&a, before);
    return pg_run1((pg *)s, PG_ACCT_CHANGES_PRUNE, NULL, &a, NULL);
}

/* ----------------------------------------------------------------- open */

static const store_methods pg_methods = {
    .version = 1,
    .name = "postgresql",
    .supports = STORE_CAN_CONCURRENT_WRITERS,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .schema_version = pg_schema_version,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .user_create = pg_user_create,
    .user_get = pg_user_get,
    .user_get_by_login = pg_user_get_by_login,
    .user_list = pg_user_list,
    .user_count = pg_user_count,
    .user_update = pg_user_update,
    .user_totp_use_step = pg_user_totp_use_step,
    .session_create = pg_session_create,
    .session_lookup = pg_session_lookup,
    .session_touch = pg_session_touch,
    .session_list = pg_session_list,
    .session_revoke = pg_session_revoke,
    .session_revoke_user = pg_session_revoke_user,
    .session_expire = pg_session_expire,
    .conv_create = pg_conv_create,
    .conv_get = pg_conv_get,
    .conv_list_for_user = pg_conv_list_for_user,
    .conv_rename = pg_conv_rename,
    .member_add = pg_member_add,
    .member_remove = pg_member_remove,
    .member_set_role = pg_member_set_role,
    .member_check = pg_member_check,
    .member_list = pg_member_list,
    .message_append = pg_message_append,
    .message_append_batch = pg_message_append_batch,
    .message_get = pg_message_get,
    .message_history = pg_message_history,
    .message_since = pg_message_since,
    .message_recall = pg_message_recall,
    .message_forward_chain = pg_message_forward_chain,
    .receipt_set = pg_receipt_set,
    .alert_create = pg_alert_create,
    .alert_get = pg_alert_get,
    .alert_list = pg_alert_list,
    .alert_ack = pg_alert_ack,
    .alert_resolve = pg_alert_resolve,
    .audit_append = pg_audit_append,
    .audit_page = pg_audit_page,
    .audit_head = pg_audit_head,
    .kv_get = pg_kv_get,
    .kv_set = pg_kv_set,
    .kv_delete = pg_kv_delete,
    .account_changes = pg_account_changes,
    .account_changes_prune = pg_account_changes_prune,
    .backup = NULL, /* pg_dump makes PostgreSQL's copies (docs/DEPLOY.md) */
    .member_get = pg_member_get,
    .conv_set_shared_history = pg_conv_set_shared_history,
    .message_spread = pg_message_spread,
    .message_contain = pg_message_contain,
    .erase_flush = pg_erase_flush,
    .spread_conversations = pg_spread_conversations,
    .alert_count = pg_alert_count,
    .alert_stats = pg_alert_stats,
    .reminder_create = pg_reminder_create,
    .reminder_get = pg_reminder_get,
    .reminder_list = pg_reminder_list,
    .reminder_update = pg_reminder_update,
    .reminder_delete = pg_reminder_delete,
    .reminder_due = pg_reminder_due,
    .burn_open = pg_burn_open,
    .burn_due = pg_burn_due,
    .burn_destroy = pg_burn_destroy,
    .files = &pg_files_methods,
    .quarantine_text = pg_quarantine_text,
    .spread_members = pg_spread_members,
    .message_export = pg_message_export,
    .audit_covering = pg_audit_covering,
    .personal_findings = pg_personal_findings,
    .alert_groups = pg_alert_groups,
    .work = &pg_work_methods,
    .message_after = pg_message_after,
    .message_max_id = pg_message_max_id,
    .message_recalled_since = pg_message_recalled_since,
};

/* Notices (e.g. "relation already exists, skipping") are not errors and
 * must not reach stderr. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_open(const store_options *opt, store **out, char **errmsg)
{
    pg *q = calloc(1, sizeof *q);
    char buf[160];
    int rc = STORE_NOMEM;

    if (!q)
        goto fail;
    q->base.methods = &pg_methods;
    q->read_only = opt->read_only;
    q->conn = PQconnectdb(opt->path);
    if (!q->conn || PQstatus(q->conn) != CONNECTION_OK) {
        /* libpq's message names the host and the database, not the password */
        snprintf(q->err, sizeof q->err, "postgresql: %s",
                 q->conn ? PQerrorMessage(q->conn) : "out of memory");
        q->err[strcspn(q->err, "\n")] = 0;
        rc = STORE_IO;
        goto fail;
    }
    PQsetNoticeProcessor(q->conn, quiet_notice, NULL);
    /* The busy timeout becomes lock_timeout: a writer that waits longer for
     * a row another holds gets STORE_BUSY, as SQLite's writers do. Times
     * are UTC milliseconds computed by the program, never by the server's
     * clock zone. */
    snprintf(buf, sizeof buf,
             "SET lock_timeout = %d; SET synchronous_commit = %s; SET client_encoding = 'UTF8'; "
             "SET TIME ZONE 'UTC'; SET default_transaction_read_only = %s",
             opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000,
             opt->synchronous_normal ? "off" : "on", q->read_only ? "on" : "off");
    {
        PGresult *r = PQexec(q->conn, buf);

        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? STORE_OK : pg_rc(q, r);
        PQclear(r);
    }
    if (rc)
        goto fail;
    rc = pg_migrate(q);
    if (rc)
        goto fail;
    *out = &q->base;
    return STORE_OK;
fail:
    if (errmsg)
        *errmsg = strdup(q && q->err[0] ? q->err : store_strerror(rc));
    if (q) {
        PQfinish(q->conn);
        free(q);
    }
    return rc;
}

const store_backend store_pg_backend = {
    .version = 1,
    .name = "postgresql",
    .open = pg_open,
};
