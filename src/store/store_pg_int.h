/*
 * store_pg_int.h — the PostgreSQL backend's private pieces, shared by
 * store_pg.c (connection, statements, transactions, users, sessions,
 * audit, settings), store_pg_chat.c (conversations, messages, receipts,
 * alerts), store_pg_trace.c (trace, contain, export, early-warning counts),
 * store_pg_work.c (reminders, burn-after-reading), store_pg_files.c
 * (uploads, files) and store_pg_migrate.c (the schema).
 *
 * One handle = one PGconn (libpq), used by one thread at a time. The hot
 * statements are in the table below, prepared once per connection
 * (PQprepare) on first use and run with PQexecPrepared; the rarely run ones
 * (files, reminders, trace) go through PQexecParams. Parameters travel as
 * text (numbers formatted here), except bytea and message bodies, which go
 * in binary format with their length. Results come back as text.
 */
#ifndef CORDON_STORE_PG_INT_H
#define CORDON_STORE_PG_INT_H

#include "store/store.h"
#include "store/store_backend.h"

#include <libpq-fe.h>

#define PG_USER_COLS                                                                               \
    "u.id, u.login, u.display_name, u.role, u.external, u.disabled, u.must_change_password, "      \
    "u.password_hash, u.totp_secret, u.totp_enabled, u.totp_last_step, u.failed_logins, "          \
    "u.locked_until, u.created_at, u.updated_at, u.phone, u.department"
#define PG_USER_NCOLS 17

#define PG_SESS_COLS                                                                               \
    "s.id, s.user_id, s.token_hash, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, "    \
    "s.address"
#define PG_SESS_NCOLS 8

/* A message's attachments as the API's JSON array text, NULL when none
 * (the same shape as the SQLite backend's SQ_MSG_ATTACHMENTS). */
#define PG_MSG_ATTACHMENTS                                                                         \
    "(SELECT json_agg(json_build_object('id', f.id, 'name', f.name, 'size', f.size, "              \
    "'mime', f.mime, 'kind', CASE WHEN f.image THEN 'image' ELSE 'file' END, "                     \
    "'width', f.width, 'height', f.height, 'thumbnail', f.thumb_hash IS NOT NULL, "                \
    "'location_removed', f.location_removed) ORDER BY mf.position)::text FROM message_files mf "   \
    "JOIN files f ON f.id = mf.file_id WHERE mf.message_id = m.id)"

#define PG_MSG_COLS                                                                                \
    "m.id, m.conv_id, m.sender_id, m.client_id, m.created_at, m.body, m.masked, m.verdict, "       \
    "m.justification, m.recalled_at, m.forward_of, m.forward_origin_id, m.forward_author_id, "     \
    "m.forward_depth, m.scope_external, m.contained, m.kind, m.meta, m.burn, m.burn_deadline, "    \
    "m.inbound_warning, " PG_MSG_ATTACHMENTS

#define PG_CONV_COLS                                                                               \
    "c.id, c.kind, c.title, c.external, c.created_by, c.created_at, c.updated_at, "                \
    "c.last_message_id, (SELECT count(*) FROM members mm WHERE mm.conv_id = c.id), "               \
    "c.shared_history"
#define PG_CONV_NCOLS 10

#define PG_ALERT_COLS                                                                              \
    "id, created_at, user_id, conv_id, message_id, category, verdict, rule, findings, "            \
    "justification, status, acked_by, acked_at, ack_comment, resolved_by, resolved_at, "           \
    "resolve_comment, kind, reporter_id, note, evidence"

#define PG_AUDIT_COLS "seq, time, actor_id, actor, event, target, detail, prev_hash, hash"

#define PG_MEMBER_COLS                                                                             \
    "m.user_id, m.role, m.joined_at, m.delivered_id, m.read_id, u.external, m.history_from"

/* X(name, sql): statements prepared once per connection. */
#define PG_STATEMENTS(X)                                                                           \
    X(SCHEMA_VERSION, "SELECT coalesce(max(version), 0) FROM schema_migrations")                   \
    X(USER_INSERT,                                                                                 \
      "INSERT INTO users(login, display_name, role, external, password_hash, "                     \
      "must_change_password, created_at, updated_at) VALUES($1,$2,$3,$4,$5,$6,$7,$7) "             \
      "RETURNING id")                                                                              \
    X(USER_GET, "SELECT " PG_USER_COLS " FROM users u WHERE u.id = $1")                            \
    X(USER_GET_LOGIN, "SELECT " PG_USER_COLS " FROM users u WHERE lower(u.login) = lower($1)")     \
    X(USER_LIST, "SELECT " PG_USER_COLS " FROM users u WHERE $1::boolean OR NOT u.disabled "       \
                 "ORDER BY u.id")                                                                  \
    X(USER_COUNT, "SELECT count(*) FROM users")                                                    \
    X(USER_EXISTS, "SELECT external FROM users WHERE id = $1")                                     \
    X(USER_SET_DISPLAY, "UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")       \
    X(USER_SET_PHONE, "UPDATE users SET phone = $2, updated_at = $3 WHERE id = $1")                \
    X(USER_SET_DEPARTMENT, "UPDATE users SET department = $2, updated_at = $3 WHERE id = $1")      \
    X(USER_SET_ROLE, "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")                  \
    X(USER_SET_DISABLED, "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")          \
    X(USER_SET_EXTERNAL, "UPDATE users SET external = $2, updated_at = $3 WHERE id = $1")          \
    X(USER_SET_PASSWORD, "UPDATE users SET password_hash = $2, must_change_password = $4, "        \
                         "updated_at = $3 WHERE id = $1")                                          \
    X(USER_SET_TOTP, "UPDATE users SET totp_secret = $2, totp_enabled = $4, totp_last_step = 0, "  \
                     "updated_at = $3 WHERE id = $1")                                              \
    X(USER_SET_LOCKOUT, "UPDATE users SET failed_logins = $2, locked_until = $4, "                 \
                        "updated_at = $3 WHERE id = $1")                                           \
    X(USER_TOTP_STEP,                                                                              \
      "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")                \
    X(USER_CONVS_EXTERNAL,                                                                         \
      "UPDATE conversations SET external = EXISTS(SELECT 1 FROM members m JOIN users u ON "        \
      "u.id = m.user_id WHERE m.conv_id = conversations.id AND u.external) WHERE id IN "           \
      "(SELECT conv_id FROM members WHERE user_id = $1)")                                          \
    X(SESS_INSERT, "INSERT INTO sessions(user_id, token_hash, created_at, last_seen_at, "          \
                   "expires_at, user_agent, address) VALUES($1,$2,$3,$3,$4,$5,$6) RETURNING id")   \
    X(SESS_LOOKUP, "SELECT " PG_SESS_COLS ", " PG_USER_COLS " FROM sessions s JOIN users u ON "    \
                   "u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2")               \
    X(SESS_TOUCH, "UPDATE sessions SET last_seen_at = $2 WHERE id = $1")                           \
    X(SESS_LIST, "SELECT " PG_SESS_COLS " FROM sessions s WHERE s.user_id = $1 AND "               \
                 "s.expires_at > $2 ORDER BY s.id DESC")                                           \
    X(SESS_REVOKE, "DELETE FROM sessions WHERE id = $1 AND ($2::bigint = 0 OR user_id = $2)")      \
    X(SESS_REVOKE_USER, "DELETE FROM sessions WHERE user_id = $1 AND id <> $2")                    \
    X(SESS_EXPIRE, "DELETE FROM sessions WHERE expires_at <= $1")                                  \
    X(KV_GET, "SELECT value FROM settings WHERE key = $1")                                         \
    X(KV_SET, "INSERT INTO settings(key, value) VALUES($1, $2) "                                   \
              "ON CONFLICT(key) DO UPDATE SET value = excluded.value")                             \
    X(KV_DELETE, "DELETE FROM settings WHERE key = $1")                                            \
    X(AUDIT_HEAD, "SELECT seq, hash FROM audit_head WHERE id = 1")                                 \
    /* the row lock serialises appenders on the chain's head */                                    \
    X(AUDIT_HEAD_LOCK, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")                 \
    X(AUDIT_HEAD_SET, "INSERT INTO audit_head(id, seq, hash) VALUES(1, $1, $2) "                   \
                      "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")    \
    X(AUDIT_INSERT, "INSERT INTO audit(" PG_AUDIT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)")     \
    X(AUDIT_PAGE, "SELECT " PG_AUDIT_COLS " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")      \
    X(CONV_INSERT, "INSERT INTO conversations(kind, title, created_by, created_at, updated_at, "   \
                   "activity_at, direct_key) VALUES($1, $2, $3, $4, $4, $4, $5) RETURNING id")     \
    X(CONV_BY_DIRECT, "SELECT id FROM conversations WHERE direct_key = $1")                        \
    X(CONV_EXTERNAL, "UPDATE conversations SET external = EXISTS(SELECT 1 FROM members m JOIN "    \
                     "users u ON u.id = m.user_id WHERE m.conv_id = $1 AND u.external) "           \
                     "WHERE id = $1")                                                              \
    X(CONV_GET, "SELECT " PG_CONV_COLS " FROM conversations c WHERE c.id = $1")                    \
    X(CONV_KIND, "SELECT kind FROM conversations WHERE id = $1")                                   \
    /* a pipelined batch's row lock, once per conversation (MSG_APPEND_LOCKED) */                  \
    X(CONV_LOCK, "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE")                           \
    /* A batch's conversations locked in one statement, in ascending id                            \
     * order (LockRows sits above the sort, so the rows are locked as                              \
     * sorted: two writers never wait on each other in a cycle). _FREE                             \
     * takes only those no other transaction holds and returns which; _WAIT                        \
     * waits for each. NO KEY UPDATE: appenders still exclude one another                          \
     * (it conflicts with itself and with the single append's FOR UPDATE)                          \
     * but not the foreign-key checks (KEY SHARE) of rows other writers                            \
     * insert that name the conversation (members, uploads, alerts). */                            \
    X(CONV_LOCK_FREE, "SELECT id FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id "     \
                      "FOR NO KEY UPDATE SKIP LOCKED")                                             \
    X(CONV_LOCK_WAIT, "SELECT id FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id "     \
                      "FOR NO KEY UPDATE")                                                         \
    /* An append's checks in one round trip: the conversation's row locked                         \
     * for the rest of the transaction (appends to one conversation take                           \
     * their ids in commit order even with several writers: store.h, ids                           \
     * only grow), its external flag, the sender's membership and a message                        \
     * already stored under the same client_id. No row: no conversation. */                        \
    X(APPEND_CHECK,                                                                                \
      "SELECT c.external, (SELECT role FROM members WHERE conv_id = $1 AND user_id = $2), "        \
      "(SELECT id FROM messages WHERE conv_id = $1 AND sender_id = $2 AND client_id = $3) "        \
      "FROM conversations c WHERE c.id = $1 FOR UPDATE OF c")                                      \
    X(CONV_LIST_USER,                                                                              \
      "SELECT " PG_CONV_COLS ", m.role, m.history_from, (SELECT count(*) FROM messages x WHERE "   \
      "x.conv_id = c.id AND x.id > m.read_id AND x.sender_id <> $1 AND x.recalled_at = 0) "        \
      "FROM members m JOIN conversations c ON c.id = m.conv_id WHERE m.user_id = $1 "              \
      "ORDER BY c.activity_at DESC, c.id DESC")                                                    \
    X(CONV_RENAME, "UPDATE conversations SET title = $2, updated_at = $3 WHERE id = $1")           \
    X(CONV_TOUCH, "UPDATE conversations SET updated_at = $2 WHERE id = $1")                        \
    X(MEMBER_INSERT, "INSERT INTO members(conv_id, user_id, role, joined_at, history_from, "       \
                     "delivered_id, read_id) SELECT $1::bigint, $2::bigint, $3::int, $4::bigint, " \
                     "v, v, v FROM (SELECT coalesce(max(id), 0) AS v FROM messages WHERE "         \
                     "conv_id = $1::bigint) x")                                                    \
    X(CONV_SET_SHARED, "UPDATE conversations SET shared_history = $2, updated_at = $3 "            \
                       "WHERE id = $1")                                                            \
    X(MEMBER_DELETE, "DELETE FROM members WHERE conv_id = $1 AND user_id = $2")                    \
    X(MEMBER_SET_ROLE, "UPDATE members SET role = $3 WHERE conv_id = $1 AND user_id = $2")         \
    X(MEMBER_ROLE, "SELECT role FROM members WHERE conv_id = $1 AND user_id = $2")                 \
    X(MEMBER_LIST, "SELECT " PG_MEMBER_COLS " FROM members m JOIN users u ON u.id = m.user_id "    \
                   "WHERE m.conv_id = $1 ORDER BY m.user_id")                                      \
    X(MEMBER_GET, "SELECT " PG_MEMBER_COLS " FROM members m JOIN users u ON u.id = m.user_id "     \
                  "WHERE m.conv_id = $1 AND m.user_id = $2")                                       \
    X(MSG_INSERT,                                                                                  \
      "INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, "                     \
      "masked, verdict, justification, forward_of, forward_origin_id, "                            \
      "forward_author_id, forward_depth, scope_external, kind, meta, burn, burn_deadline, "        \
      "inbound_warning) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) "   \
      "RETURNING id")                                                                              \
    /* A batch's plain message in one statement: the checks of APPEND_CHECK                        \
     * as the INSERT's condition (the conversation's row locked first), the                        \
     * idempotency by the unique key itself (ON CONFLICT: no lookup; a                             \
     * NOT EXISTS lookup here was planned, while messages had no                                   \
     * statistics yet, on messages_sender and read every earlier message of                        \
     * the sender: the append slowed as the table grew). No row back: one                          \
     * failed, and APPEND_CHECK says which. */                                                     \
    X(MSG_APPEND,                                                                                  \
      "WITH c AS (SELECT external FROM conversations WHERE id = $1::bigint FOR UPDATE) "           \
      "INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, masked, verdict, "    \
      "justification, forward_of, forward_origin_id, forward_author_id, forward_depth, "           \
      "scope_external, kind, meta, burn, burn_deadline, inbound_warning) SELECT $1::bigint, "      \
      "$2::bigint, $3::text, $4::bigint, $5::text, $6::boolean, $7::text, $8::text, $9::bigint, "  \
      "$10::bigint, $11::bigint, $12::int, $13::boolean, $14::text, $15::text, $16::int, "         \
      "$17::bigint, $18::text FROM c WHERE NOT ($19::boolean AND c.external) AND EXISTS (SELECT "  \
      "1 FROM members WHERE conv_id = $1::bigint AND user_id = $2::bigint) ON CONFLICT "           \
      "(conv_id, sender_id, client_id) DO NOTHING RETURNING id")                                   \
    /* the same and its conversation's last id and activity in one trip */                         \
    /* The same once the batch holds the conversation's row lock: locking                          \
     * one row again for every message of a transaction slowed each next                           \
     * one (pgbench: 22 -> 3 transactions of 64 a second within 20 s). */                          \
    X(MSG_APPEND_LOCKED,                                                                           \
      "WITH c AS (SELECT external FROM conversations WHERE id = $1::bigint) "                      \
      "INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, masked, verdict, "    \
      "justification, forward_of, forward_origin_id, forward_author_id, forward_depth, "           \
      "scope_external, kind, meta, burn, burn_deadline, inbound_warning) SELECT $1::bigint, "      \
      "$2::bigint, $3::text, $4::bigint, $5::text, $6::boolean, $7::text, $8::text, $9::bigint, "  \
      "$10::bigint, $11::bigint, $12::int, $13::boolean, $14::text, $15::text, $16::int, "         \
      "$17::bigint, $18::text FROM c WHERE NOT ($19::boolean AND c.external) AND EXISTS (SELECT "  \
      "1 FROM members WHERE conv_id = $1::bigint AND user_id = $2::bigint) ON CONFLICT "           \
      "(conv_id, sender_id, client_id) DO NOTHING RETURNING id")                                   \
    /* the same and its conversation's last id and activity in one trip */                         \
    X(MSG_INSERT_LAST,                                                                             \
      "WITH ins AS (INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, "        \
      "masked, verdict, justification, forward_of, forward_origin_id, "                            \
      "forward_author_id, forward_depth, scope_external, kind, meta, burn, burn_deadline, "        \
      "inbound_warning) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) "   \
      "RETURNING id), up AS (UPDATE conversations c SET last_message_id = ins.id, "                \
      "activity_at = $4 FROM ins WHERE c.id = $1 AND c.last_message_id < ins.id) "                 \
      "SELECT id FROM ins")                                                                        \
    /* a batch moves each conversation on once, at its end: every UPDATE of                        \
     * the one row in the same transaction adds a row version PostgreSQL                           \
     * walks on the next (measured: twice the appends a second) */                                 \
    X(CONV_LAST, "UPDATE conversations SET last_message_id = $2, activity_at = $3 "                \
                 "WHERE id = $1 AND last_message_id < $2")                                         \
    X(MSG_GET, "SELECT " PG_MSG_COLS " FROM messages m WHERE m.id = $1")                           \
    X(MSG_HISTORY, "SELECT " PG_MSG_COLS " FROM messages m WHERE m.conv_id = $1 AND m.id < $2 "    \
                   "ORDER BY m.id DESC LIMIT $3")                                                  \
    X(MSG_SINCE, "SELECT " PG_MSG_COLS " FROM messages m WHERE m.conv_id = $1 AND m.id > $2 "      \
                 "ORDER BY m.id LIMIT $3")                                                         \
    X(MSG_AFTER, "SELECT " PG_MSG_COLS " FROM messages m WHERE m.id > $1 ORDER BY m.id "           \
                 "LIMIT $2")                                                                       \
    X(MSG_MAX_ID, "SELECT coalesce(max(id), $1) FROM messages")                                    \
    X(MSG_RECALL,                                                                                  \
      "UPDATE messages SET body = NULL, justification = NULL, inbound_warning = NULL, "            \
      "recalled_at = $2 WHERE id = $1 AND recalled_at = 0")                                        \
    X(RECEIPT_DELIVERED, "UPDATE members SET delivered_id = $3 WHERE conv_id = $1 AND "            \
                         "user_id = $2 AND delivered_id < $3")                                     \
    X(RECEIPT_READ, "UPDATE members SET read_id = $3, delivered_id = greatest(delivered_id, $3) "  \
                    "WHERE conv_id = $1 AND user_id = $2 AND read_id < $3")                        \
    X(ALERT_INSERT, "INSERT INTO alerts(created_at, user_id, conv_id, message_id, category, "      \
                    "verdict, rule, findings, justification, kind, reporter_id, note, evidence) "  \
                    "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id")             \
    X(ALERT_GET, "SELECT " PG_ALERT_COLS " FROM alerts WHERE id = $1")                             \
    X(ALERT_LIST,                                                                                  \
      "SELECT " PG_ALERT_COLS " FROM alerts WHERE id < $1 AND "                                    \
      "($2::bigint = 0 OR created_at >= $2) AND ($3::bigint = 0 OR created_at < $3) AND "          \
      "($4::text IS NULL OR category = $4) AND ($5::bigint = 0 OR user_id = $5) AND "              \
      "($6::bigint = 0 OR conv_id = $6) AND ($7::bigint < 0 OR status = $7) AND "                  \
      "($9::text IS NULL OR coalesce(kind, 'guard') = $9) AND "                                    \
      "($10::bigint = 0 OR reporter_id = $10) ORDER BY id DESC LIMIT $8")                          \
    X(ALERT_STATUS, "SELECT status FROM alerts WHERE id = $1")                                     \
    X(ALERT_ACK, "UPDATE alerts SET status = 1, acked_by = $2, acked_at = $3, ack_comment = $4 "   \
                 "WHERE id = $1 AND status = 0")                                                   \
    X(ALERT_RESOLVE, "UPDATE alerts SET status = 2, resolved_by = $2, resolved_at = $3, "          \
                     "resolve_comment = $4 WHERE id = $1 AND status < 2")                          \
    X(ACCT_CHANGES, "SELECT seq, user_id, session_id FROM account_changes WHERE seq > $1 "         \
                    "ORDER BY seq LIMIT $2")                                                       \
    X(ACCT_CHANGES_HEAD, "SELECT coalesce(max(seq), 0) FROM account_changes")                      \
    X(ACCT_CHANGES_PRUNE, "DELETE FROM account_changes WHERE at < $1")

enum {
#define PG_ENUM(name, sql) PG_##name,
    PG_STATEMENTS(PG_ENUM)
#undef PG_ENUM
        PG_N
};

/* Not a prepared statement: run the SQL text given with the call. */
#define PG_ADHOC (-1)

/* Parameters of one call: values as text (numbers formatted into num[]),
 * or binary with a length (bytea, message bodies). */
#define PG_MAXARGS 20

typedef struct pg_args {
    int n;
    const char *val[PG_MAXARGS];
    int len[PG_MAXARGS];
    int fmt[PG_MAXARGS];
    char num[PG_MAXARGS][24];
} pg_args;

void pa_i64(pg_args *a, int64_t v);
void pa_id(pg_args *a, int64_t v); /* 0 binds NULL (foreign keys) */
void pa_bool(pg_args *a, bool v);
void pa_text(pg_args *a, const char *s);          /* NULL binds NULL */
void pa_bin(pg_args *a, const void *p, size_t n); /* binary format: bytea or text bytes */

/* The handle: `store` first, so a store * is a pg *. */
typedef struct pg {
    store base;
    PGconn *conn;
    bool prepared[PG_N];
    bool in_tx; /* inside store_tx_begin */
    int depth;  /* open transaction levels: 0 none, 1 BEGIN, more = savepoints */
    bool read_only;
    bool oom; /* a column copy failed while reading rows */
    char err[256];
} pg;

/* Reads row `row` of r into `item` (a zeroed slot of the caller's type). */
typedef int pg_row_fn(pg *q, PGresult *r, int row, void *item);

/* Records the failure of r (or of the connection when r is NULL) in
 * q->err and maps its SQLSTATE to a store_rc. */
int pg_rc(pg *q, const PGresult *r);

/* Runs prepared statement id (or, with id PG_ADHOC, the SQL text sql)
 * with the arguments a (may be NULL). Returns the result on success (the
 * caller PQclear()s it), NULL with *rc set otherwise. */
PGresult *pg_exec(pg *q, int id, const char *sql, const pg_args *a, int *rc);

/* A statement with no rows wanted; *changes (may be NULL) = rows affected. */
int pg_run(pg *q, int id, const char *sql, const pg_args *a, int64_t *changes);
/* The same as a store operation of its own: inside store_tx it runs in a
 * savepoint so that its failure rolls back only itself. */
int pg_run1(pg *q, int id, const char *sql, const pg_args *a, int64_t *changes);
/* Pipeline mode (libpq 14+): n statements sent in one write, one sync,
 * their results read in order — one round trip for all of them instead of
 * one each. They run in the connection's transaction as sent; the first
 * that fails aborts the ones after it (up to the sync). At most
 * PG_PIPE_MAX a call: the results wait in the socket's buffer while the
 * rest is sent, so a bounded number never fills it. */
#define PG_PIPE_MAX 128

typedef struct pg_call {
    int id;           /* prepared statement, or PG_ADHOC with sql */
    const char *sql;  /* PG_ADHOC only */
    const pg_args *a; /* may be NULL */
    PGresult *res;    /* OUT: the result when it succeeded (caller PQclear()s) */
    int rc;           /* OUT: STORE_OK, its error, or STORE_IO when aborted by an earlier one */
} pg_call;

/* Returns STORE_OK when every statement succeeded; otherwise the first
 * failure's code, with *failed its index (n when the failure was the
 * connection's or a statement could not be prepared, before anything ran). */
int pg_pipeline(pg *q, pg_call *calls, size_t n, size_t *failed);

/* Column 0 of the first row: STORE_NOTFOUND when there is no row. */
int pg_int(pg *q, int id, const char *sql, const pg_args *a, int64_t *out);
/* The first row read with `read`: STORE_NOTFOUND when none. */
int pg_one(pg *q, int id, const char *sql, const pg_args *a, pg_row_fn *read, void *item);
/* Every row appended to the growing array *items / *n (slots of size). */
int pg_list(pg *q, int id, const char *sql, const pg_args *a, void **items, size_t *n, size_t size,
            pg_row_fn *read);

/* Column readers: a heap copy (NULL when NULL; sets q->oom on failure),
 * integers (NULL reads as 0, a boolean as 0/1), booleans, and bytea of exactly n bytes
 * (false and zeroed otherwise). */
char *pg_text(pg *q, const PGresult *r, int row, int col);
int64_t pg_i64(const PGresult *r, int row, int col);
bool pg_bool(const PGresult *r, int row, int col);
bool pg_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t n);

/* Write bracket: BEGIN, or a savepoint inside one. pg_end commits /
 * releases when rc is STORE_OK and rolls back otherwise; returns the final
 * rc. Read bracket: one snapshot for several SELECTs (a no-op inside). */
int pg_begin(pg *q);
int pg_end(pg *q, int rc);
int pg_begin_read(pg *q);
void pg_end_read(pg *q);

/* Appends one zeroed slot to a growing array; NULL when out of memory. */
void *pg_grow(void **items, size_t *n, size_t *cap, size_t size);

void pg_read_user(pg *q, const PGresult *r, int row, int col, store_user *u);

/* store_pg_migrate.c: brings the schema to STORE_SCHEMA_VERSION (read-only
 * handles only check it). */
int pg_migrate(pg *q);

/* store_pg_chat.c */
int pg_conv_create(store *s, store_conv_kind kind, const char *title, int64_t creator,
                   const int64_t *member_ids, size_t n_members, int64_t now, int64_t *id_out,
                   bool *created);
int pg_conv_get(store *s, int64_t id, store_conv *out);
int pg_conv_list_for_user(store *s, int64_t user_id, store_conv_summaries *out);
int pg_conv_rename(store *s, int64_t id, const char *title, int64_t now);
int pg_member_add(store *s, int64_t conv_id, int64_t user_id, store_member_role role, int64_t now);
int pg_member_remove(store *s, int64_t conv_id, int64_t user_id, int64_t now);
int pg_member_set_role(store *s, int64_t conv_id, int64_t user_id, store_member_role role);
int pg_member_check(store *s, int64_t conv_id, int64_t user_id, store_member_role *out);
int pg_member_list(store *s, int64_t conv_id, store_members *out);
int pg_member_get(store *s, int64_t conv_id, int64_t user_id, store_member *out);
int pg_conv_set_shared_history(store *s, int64_t id, bool shared, int64_t now);
int pg_message_append(store *s, const store_message_new *m, store_message *out, bool *duplicate);
int pg_message_append_batch(store *s, const store_message_new *m, size_t n, store_message *out,
                            int *rcs, bool *duplicate);
int pg_message_get(store *s, int64_t id, store_message *out);
int pg_message_history(store *s, int64_t conv_id, int64_t before_id, int limit,
                       store_messages *out);
int pg_message_since(store *s, int64_t conv_id, int64_t after_id, int limit, store_messages *out);
int pg_message_after(store *s, int64_t after_id, int limit, store_messages *out);
int pg_message_max_id(store *s, int64_t *out);
int pg_message_recalled_since(store *s, int64_t since, int64_t max_id, int limit,
                              store_messages *out);
int pg_message_recall(store *s, int64_t id, int64_t now);
int pg_message_forward_chain(store *s, int64_t id, store_messages *out);
int pg_receipt_set(store *s, int64_t conv_id, int64_t user_id, bool read, int64_t message_id,
                   bool *advanced);
int pg_alert_create(store *s, const store_alert_new *a, int64_t *id_out);
int pg_alert_get(store *s, int64_t id, store_alert *out);
int pg_alert_list(store *s, const store_alert_filter *f, store_alerts *out);
int pg_alert_ack(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);
int pg_alert_resolve(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);
/* Reads a message row (PG_MSG_COLS) into a store_message. */
int pg_row_message(pg *q, PGresult *r, int row, void *item);
/* What a recall does to a message's alerts: findings without their
 * context, an override's justification emptied; with held, the held
 * attempts the message was the justified resend of too (store_sqlite_int.h
 * ALERT_REDACT / ALERT_REDACT_HELD, done here in C with jansson). */
int pg_alerts_redact(pg *q, int64_t id, bool held);

/* store_pg_trace.c */
int pg_message_spread(store *s, const store_spread_query *q, store_messages *out);
int pg_message_export(store *s, const store_export_query *q, store_messages *out);
int pg_audit_covering(store *s, const store_export_query *q, store_audit_entries *out);
int pg_message_contain(store *s, int64_t id, store_contain_action action, int64_t actor,
                       int64_t now, bool *changed);
int pg_erase_flush(store *s);
int pg_quarantine_text(store *s, int64_t id, char **text, size_t *len);
int pg_spread_members(store *s, int64_t root_id, store_spread_member_rows *out);
int pg_spread_conversations(store *s, int64_t root_id, int64_t since, int64_t *out);
int pg_alert_count(store *s, const store_alert_count_query *q, int64_t *out);
int pg_personal_findings(store *s, int64_t user_id, int64_t since, store_personal_rows *out);
int pg_alert_groups(store *s, int64_t from, int64_t to, store_alert_group_rows *out);
int pg_alert_stats(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                   store_alert_stat_rows *out);
/* store_pg.c: an audit page row reader (PG_AUDIT_COLS). */
int pg_row_audit(pg *q, PGresult *r, int row, void *item);

/* store_pg_work.c */
int pg_reminder_create(store *s, const store_reminder_new *r, int64_t *id_out);
int pg_reminder_get(store *s, int64_t id, store_reminder *out);
int pg_reminder_list(store *s, int64_t conv_id, store_reminders *out);
int pg_reminder_update(store *s, int64_t id, const store_reminder_new *r);
int pg_reminder_delete(store *s, int64_t id);
int pg_reminder_due(store *s, int64_t now, int limit, store_reminders *out);
int pg_reminder_delivered(pg *q, int64_t id, int64_t next_at, int64_t now);
int pg_burn_open(store *s, int64_t msg_id, int64_t user_id, int64_t now, int64_t destroy_after,
                 bool *first);
int pg_burn_due(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out);
int pg_burn_destroy(store *s, int64_t msg_id);

/* store_pg_files.c */
extern const struct store_files_methods pg_files_methods;
/* store_pg_work.c: burn images and watermark deliveries (store_work.h) */
extern const struct store_work_methods pg_work_methods;

#endif
