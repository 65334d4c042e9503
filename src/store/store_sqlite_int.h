/*
 * store_sqlite_int.h — the SQLite backend's private pieces, shared by
 * store_sqlite.c (handle, transactions, users, sessions, audit, settings),
 * store_sqlite_chat.c (conversations, messages, receipts, alerts) and
 * store_migrate.c (the schema and its migrations).
 *
 * Every statement is prepared once per handle (SQLITE_PREPARE_PERSISTENT)
 * on first use and kept until close: the SQL is in the table below, indexed
 * by the SQ_* enum, so each file names statements, not strings.
 */
#ifndef CORDON_STORE_SQLITE_INT_H
#define CORDON_STORE_SQLITE_INT_H

#include "store/store.h"
#include "store/store_backend.h"

#include <sqlite3.h>

#define SQ_USER_COLS                                                                               \
    "u.id, u.login, u.display_name, u.role, u.external, u.disabled, u.must_change_password, "      \
    "u.password_hash, u.totp_secret, u.totp_enabled, u.totp_last_step, u.failed_logins, "          \
    "u.locked_until, u.created_at, u.updated_at, u.phone, u.department"
#define SQ_USER_NCOLS 17

#define SQ_SESS_COLS                                                                               \
    "s.id, s.user_id, s.token_hash, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, "    \
    "s.address"
#define SQ_SESS_NCOLS 8

/* An alert's findings without the text around each (context_before,
 * context_after): what is kept once the message is recalled. */
#define SQ_NO_CONTEXT                                                                              \
    "(SELECT json_group_array(json_remove(value, '$.context_before', '$.context_after')) "         \
    "FROM json_each(alerts.findings))"

#define SQ_MSG_COLS                                                                                \
    "m.id, m.conv_id, m.sender_id, m.client_id, m.created_at, m.body, m.masked, m.verdict, "       \
    "m.justification, m.recalled_at, m.forward_of, m.forward_origin_id, m.forward_author_id, "     \
    "m.forward_depth, m.scope_external, m.contained, m.kind, m.meta, m.burn, m.burn_deadline, "    \
    "m.inbound_warning, " SQ_MSG_ATTACHMENTS
/* A message's attachments (schema 5) as the API's JSON array, NULL when
 * none: what the chat shows of a file (docs/API.md, "Attachments"). */
#define SQ_MSG_ATTACHMENTS                                                                         \
    "(SELECT json_group_array(json_object('id', f.id, 'name', f.name, 'size', f.size, "            \
    "'mime', f.mime, 'kind', CASE WHEN f.image THEN 'image' ELSE 'file' END, "                     \
    "'width', f.width, 'height', f.height, 'thumbnail', json(CASE WHEN f.thumb_hash IS NULL "      \
    "THEN 'false' ELSE 'true' END), 'location_removed', json(CASE WHEN f.location_removed "        \
    "THEN 'true' ELSE 'false' END))) FROM (SELECT * FROM message_files mf WHERE mf.message_id = "  \
    "m.id ORDER BY mf.position) mf JOIN files f ON f.id = mf.file_id HAVING count(*) > 0)"

#define SQ_CONV_COLS                                                                               \
    "c.id, c.kind, c.title, c.external, c.created_by, c.created_at, c.updated_at, "                \
    "c.last_message_id, (SELECT count(*) FROM members mm WHERE mm.conv_id = c.id), "               \
    "c.shared_history"
#define SQ_CONV_NCOLS 10

#define SQ_ALERT_COLS                                                                              \
    "id, created_at, user_id, conv_id, message_id, category, verdict, rule, findings, "            \
    "justification, status, acked_by, acked_at, ack_comment, resolved_by, resolved_at, "           \
    "resolve_comment, kind, reporter_id, note, evidence"

#define SQ_AUDIT_COLS "seq, time, actor_id, actor, event, target, detail, prev_hash, hash"

/* X(name, sql) */
#define SQ_STATEMENTS(X)                                                                           \
    X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                              \
    X(BEGIN_READ, "BEGIN")                                                                         \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(SAVEPOINT, "SAVEPOINT op")                                                                   \
    X(RELEASE, "RELEASE op")                                                                       \
    X(ROLLBACK_TO, "ROLLBACK TO op")                                                               \
    X(SCHEMA_VERSION, "SELECT coalesce(max(version), 0) FROM schema_migrations")                   \
    X(USER_INSERT, "INSERT INTO users(login, display_name, role, external, password_hash, "        \
                   "must_change_password, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?)")        \
    X(USER_GET, "SELECT " SQ_USER_COLS " FROM users u WHERE u.id = ?")                             \
    X(USER_GET_LOGIN, "SELECT " SQ_USER_COLS " FROM users u WHERE u.login = ?")                    \
    X(USER_LIST, "SELECT " SQ_USER_COLS " FROM users u WHERE ?1 OR NOT u.disabled ORDER BY u.id")  \
    X(USER_COUNT, "SELECT count(*) FROM users")                                                    \
    X(USER_EXISTS, "SELECT external FROM users WHERE id = ?")                                      \
    X(USER_SET_DISPLAY, "UPDATE users SET display_name = ?2, updated_at = ?3 WHERE id = ?1")       \
    X(USER_SET_PHONE, "UPDATE users SET phone = ?2, updated_at = ?3 WHERE id = ?1")                \
    X(USER_SET_DEPARTMENT, "UPDATE users SET department = ?2, updated_at = ?3 WHERE id = ?1")      \
    X(USER_SET_ROLE, "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1")                  \
    X(USER_SET_DISABLED, "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1")          \
    X(USER_SET_EXTERNAL, "UPDATE users SET external = ?2, updated_at = ?3 WHERE id = ?1")          \
    X(USER_SET_PASSWORD, "UPDATE users SET password_hash = ?2, must_change_password = ?4, "        \
                         "updated_at = ?3 WHERE id = ?1")                                          \
    X(USER_SET_TOTP, "UPDATE users SET totp_secret = ?2, totp_enabled = ?4, totp_last_step = 0, "  \
                     "updated_at = ?3 WHERE id = ?1")                                              \
    X(USER_SET_LOCKOUT, "UPDATE users SET failed_logins = ?2, locked_until = ?4, "                 \
                        "updated_at = ?3 WHERE id = ?1")                                           \
    X(USER_TOTP_STEP,                                                                              \
      "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2")                \
    X(USER_CONVS_EXTERNAL,                                                                         \
      "UPDATE conversations SET external = EXISTS(SELECT 1 FROM members m JOIN users u ON "        \
      "u.id = m.user_id WHERE m.conv_id = conversations.id AND u.external) WHERE id IN "           \
      "(SELECT conv_id FROM members WHERE user_id = ?1)")                                          \
    X(SESS_INSERT, "INSERT INTO sessions(user_id, token_hash, created_at, last_seen_at, "          \
                   "expires_at, user_agent, address) VALUES(?,?,?,?,?,?,?)")                       \
    X(SESS_LOOKUP, "SELECT " SQ_SESS_COLS ", " SQ_USER_COLS " FROM sessions s JOIN users u ON "    \
                   "u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2")               \
    X(SESS_TOUCH, "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1")                           \
    X(SESS_LIST, "SELECT " SQ_SESS_COLS " FROM sessions s WHERE s.user_id = ?1 AND "               \
                 "s.expires_at > ?2 ORDER BY s.id DESC")                                           \
    X(SESS_REVOKE, "DELETE FROM sessions WHERE id = ?1 AND (?2 = 0 OR user_id = ?2)")              \
    X(SESS_REVOKE_USER, "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2")                    \
    X(SESS_EXPIRE, "DELETE FROM sessions WHERE expires_at <= ?1")                                  \
    X(KV_GET, "SELECT value FROM settings WHERE key = ?")                                          \
    X(KV_SET, "INSERT INTO settings(key, value) VALUES(?1, ?2) "                                   \
              "ON CONFLICT(key) DO UPDATE SET value = excluded.value")                             \
    X(KV_DELETE, "DELETE FROM settings WHERE key = ?")                                             \
    X(AUDIT_HEAD, "SELECT seq, hash FROM audit_head WHERE id = 1")                                 \
    X(AUDIT_HEAD_SET, "INSERT INTO audit_head(id, seq, hash) VALUES(1, ?1, ?2) "                   \
                      "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")    \
    X(AUDIT_INSERT, "INSERT INTO audit(" SQ_AUDIT_COLS ") VALUES(?,?,?,?,?,?,?,?,?)")              \
    X(AUDIT_PAGE, "SELECT " SQ_AUDIT_COLS " FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2")      \
    X(CONV_INSERT, "INSERT INTO conversations(kind, title, created_by, created_at, updated_at, "   \
                   "activity_at, direct_key) VALUES(?1, ?2, ?3, ?4, ?4, ?4, ?5)")                  \
    X(CONV_BY_DIRECT, "SELECT id FROM conversations WHERE direct_key = ?")                         \
    X(CONV_EXTERNAL, "UPDATE conversations SET external = EXISTS(SELECT 1 FROM members m JOIN "    \
                     "users u ON u.id = m.user_id WHERE m.conv_id = ?1 AND u.external) "           \
                     "WHERE id = ?1")                                                              \
    X(CONV_GET, "SELECT " SQ_CONV_COLS " FROM conversations c WHERE c.id = ?")                     \
    X(CONV_KIND, "SELECT kind FROM conversations WHERE id = ?")                                    \
    X(CONV_IS_EXTERNAL, "SELECT external FROM conversations WHERE id = ?")                         \
    X(CONV_LIST_USER,                                                                              \
      "SELECT " SQ_CONV_COLS ", m.role, m.read_id, m.history_from FROM members m JOIN "            \
      "conversations c ON c.id = m.conv_id WHERE m.user_id = ?1 "                                  \
      "ORDER BY c.activity_at DESC, c.id DESC")                                                    \
    X(CONV_UNREAD, "SELECT count(*) FROM messages WHERE conv_id = ?1 AND id > ?2 AND "             \
                   "sender_id <> ?3 AND recalled_at = 0")                                          \
    X(CONV_RENAME, "UPDATE conversations SET title = ?2, updated_at = ?3 WHERE id = ?1")           \
    X(CONV_TOUCH, "UPDATE conversations SET updated_at = ?2 WHERE id = ?1")                        \
    X(CONV_LAST, "UPDATE conversations SET last_message_id = ?2, activity_at = ?3 "                \
                 "WHERE id = ?1 AND last_message_id < ?2")                                         \
    X(MEMBER_INSERT, "INSERT INTO members(conv_id, user_id, role, joined_at, history_from, "       \
                     "delivered_id, read_id) SELECT ?1, ?2, ?3, ?4, v, v, v FROM (SELECT "         \
                     "coalesce(max(id), 0) AS v FROM messages WHERE conv_id = ?1)")                \
    X(CONV_SET_SHARED, "UPDATE conversations SET shared_history = ?2, updated_at = ?3 "            \
                       "WHERE id = ?1")                                                            \
    X(MEMBER_DELETE, "DELETE FROM members WHERE conv_id = ?1 AND user_id = ?2")                    \
    X(MEMBER_SET_ROLE, "UPDATE members SET role = ?3 WHERE conv_id = ?1 AND user_id = ?2")         \
    X(MEMBER_ROLE, "SELECT role FROM members WHERE conv_id = ?1 AND user_id = ?2")                 \
    X(MEMBER_LIST, "SELECT m.user_id, m.role, m.joined_at, m.delivered_id, m.read_id, "            \
                   "u.external, m.history_from FROM members m JOIN users u ON u.id = m.user_id "   \
                   "WHERE m.conv_id = ? ORDER BY m.user_id")                                       \
    X(MEMBER_GET, "SELECT m.user_id, m.role, m.joined_at, m.delivered_id, m.read_id, "             \
                  "u.external, m.history_from FROM members m JOIN users u ON u.id = m.user_id "    \
                  "WHERE m.conv_id = ?1 AND m.user_id = ?2")                                       \
    X(MSG_BY_CLIENT, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.conv_id = ?1 AND "            \
                     "m.sender_id = ?2 AND m.client_id = ?3")                                      \
    X(MSG_INSERT,                                                                                  \
      "INSERT INTO messages(conv_id, sender_id, client_id, created_at, body, "                     \
      "masked, verdict, justification, forward_of, forward_origin_id, "                            \
      "forward_author_id, forward_depth, scope_external, kind, meta, burn, burn_deadline, "        \
      "inbound_warning) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")                              \
    X(MSG_GET, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id = ?")                            \
    X(MSG_HISTORY, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.conv_id = ?1 AND m.id < ?2 "    \
                   "ORDER BY m.id DESC LIMIT ?3")                                                  \
    X(MSG_SINCE, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.conv_id = ?1 AND m.id > ?2 "      \
                 "ORDER BY m.id LIMIT ?3")                                                         \
    X(MSG_AFTER, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id > ?1 ORDER BY m.id "           \
                 "LIMIT ?2")                                                                       \
    X(MSG_MAX_ID, "SELECT coalesce(max(id), ?1) FROM messages")                                    \
    X(MSG_RECALLED_SINCE, "SELECT " SQ_MSG_COLS                                                    \
                          " FROM messages m WHERE m.recalled_at > 0 AND m.recalled_at >= ?1 AND "  \
                          "m.id <= ?2 ORDER BY m.id LIMIT ?3")                                     \
    X(MSG_RECALL,                                                                                  \
      "UPDATE messages SET body = NULL, justification = NULL, inbound_warning = NULL, "            \
      "recalled_at = ?2 "                                                                          \
      "WHERE id = ?1 AND recalled_at = 0")                                                         \
    /* What an alert keeps of a recalled message: the findings without the                         \
     * text around them, and an override's justification emptied, not NULL,                        \
     * so the alert still reads as an override (docs/AUDIT.md). */                                 \
    X(ALERT_REDACT, "UPDATE alerts SET justification = iif(justification IS NULL, NULL, ''), "     \
                    "findings = " SQ_NO_CONTEXT " WHERE message_id = ?1")                          \
    /* The same for the held attempts the message was the justified resend                         \
     * of: confirm alerts with no message, same sender and conversation, not                       \
     * later, whose findings are the message's (so the same text). Run after                       \
     * ALERT_REDACT, which gives the message's findings their bare form. */                        \
    X(ALERT_REDACT_HELD, "UPDATE alerts SET findings = " SQ_NO_CONTEXT " WHERE "                   \
                         "(message_id IS NULL OR message_id = 0) AND verdict = 'confirm' AND "     \
                         "(user_id, conv_id) = (SELECT sender_id, conv_id FROM messages WHERE "    \
                         "id = ?1) AND created_at <= (SELECT created_at FROM messages WHERE "      \
                         "id = ?1) AND " SQ_NO_CONTEXT " IN (SELECT findings FROM alerts WHERE "   \
                         "message_id = ?1)")                                                       \
    /* Trace and contain (store_sqlite_trace.c). */                                                \
    X(MSG_SPREAD,                                                                                  \
      "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id = ?1 UNION ALL SELECT " SQ_MSG_COLS       \
      " FROM messages m WHERE m.forward_origin_id = ?1 AND m.id <> ?1 "                            \
      "ORDER BY 1 LIMIT ?2")                                                                       \
    /* The compliance export (store_sqlite_trace.c, store_sqlite.c). */                            \
    X(MSG_EXPORT_CONV, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.conv_id = ?1 AND "          \
                       "m.id > ?2 AND m.created_at >= ?3 AND m.created_at < ?4 ORDER BY m.id "     \
                       "LIMIT ?5")                                                                 \
    X(MSG_EXPORT_USER, "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.sender_id = ?1 AND "        \
                       "m.id > ?2 AND m.created_at >= ?3 AND m.created_at < ?4 ORDER BY m.id "     \
                       "LIMIT ?5")                                                                 \
    X(AUDIT_EXPORT_CONV,                                                                           \
      "SELECT " SQ_AUDIT_COLS " FROM audit WHERE seq > ?2 AND time >= ?3 AND time < ?4 AND "       \
      "(target = 'conversation:' || ?1 OR (target LIKE 'message:%' AND "                           \
      "CAST(substr(target, 9) AS INTEGER) IN (SELECT id FROM messages WHERE conv_id = ?1))) "      \
      "ORDER BY seq LIMIT ?5")                                                                     \
    X(AUDIT_EXPORT_USER,                                                                           \
      "SELECT " SQ_AUDIT_COLS " FROM audit WHERE seq > ?2 AND time >= ?3 AND time < ?4 AND "       \
      "(actor_id = ?1 OR target = 'user:' || ?1 OR (target LIKE 'message:%' AND "                  \
      "CAST(substr(target, 9) AS INTEGER) IN (SELECT id FROM messages WHERE sender_id = ?1))) "    \
      "ORDER BY seq LIMIT ?5")                                                                     \
    X(MSG_STATE, "SELECT recalled_at, contained FROM messages WHERE id = ?1")                      \
    X(QUAR_INSERT, "INSERT INTO message_quarantine(message_id, body, justification, at, by_user) " \
                   "SELECT id, body, justification, ?2, ?3 FROM messages WHERE id = ?1")           \
    X(QUAR_HIDE, "UPDATE messages SET body = NULL, justification = NULL, recalled_at = ?2, "       \
                 "contained = 1 WHERE id = ?1")                                                    \
    X(QUAR_RESTORE, "UPDATE messages SET body = (SELECT body FROM message_quarantine WHERE "       \
                    "message_id = ?1), justification = (SELECT justification FROM "                \
                    "message_quarantine WHERE message_id = ?1), recalled_at = 0, contained = 0 "   \
                    "WHERE id = ?1")                                                               \
    X(QUAR_DELETE, "DELETE FROM message_quarantine WHERE message_id = ?1")                         \
    X(QUAR_TEXT, "SELECT body FROM message_quarantine WHERE message_id = ?1")                      \
    X(SPREAD_MEMBERS, "SELECT c.id, c.kind, c.title, c.external, c.shared_history, mb.user_id, "   \
                      "mb.history_from, mb.read_id FROM conversations c JOIN members mb ON "       \
                      "mb.conv_id = c.id WHERE c.id IN (SELECT conv_id FROM messages WHERE id = "  \
                      "?1 OR forward_origin_id = ?1) ORDER BY c.id, mb.user_id LIMIT ?2")          \
    X(MSG_REMOVE,                                                                                  \
      "UPDATE messages SET body = NULL, justification = NULL, inbound_warning = NULL, "            \
      "recalled_at = iif(recalled_at = 0, ?2, recalled_at), contained = 2 "                        \
      "WHERE id = ?1")                                                                             \
    X(SPREAD_CONVS, "SELECT count(DISTINCT conv_id) FROM messages WHERE (id = ?1 OR "              \
                    "forward_origin_id = ?1) AND created_at >= ?2")                                \
    X(ALERT_COUNT, "SELECT count(*) FROM alerts WHERE created_at >= ?1 AND "                       \
                   "(?2 = 0 OR user_id = ?2) AND (?3 = 0 OR conv_id = ?3) AND "                    \
                   "(?4 = 0 OR message_id = ?4) AND (?5 IS NULL OR category = ?5) AND "            \
                   "(?6 = 0 OR verdict IN ('block', 'confirm') OR category = 'guard.probing') "    \
                   "AND (?7 = 0 OR (message_id IS NOT NULL AND category NOT LIKE 'warning.%'))")   \
    X(ALERT_STATS, "SELECT (created_at + ?3) / 86400000 * 86400000 - ?3 AS day, category, rule, "  \
                   "verdict, count(*) FROM alerts WHERE created_at >= ?1 AND created_at < ?2 "     \
                   "GROUP BY day, category, rule, verdict ORDER BY day, category, rule, verdict "  \
                   "LIMIT ?4")                                                                     \
    /* The bulk-personal-data warning and statistics by department/group                           \
     * (schema 9, store_sqlite_trace.c). */                                                        \
    X(PERSONAL_FINDINGS,                                                                           \
      "SELECT message_id, conv_id, id, n FROM (SELECT a.id, a.message_id, a.conv_id, "             \
      "(SELECT count(*) FROM json_each(a.findings) j WHERE "                                       \
      "json_extract(j.value, '$.category') = 'pii') AS n FROM alerts a WHERE a.user_id = ?1 AND "  \
      "a.created_at >= ?2 AND a.message_id IS NOT NULL AND a.kind IS NULL AND "                    \
      "a.verdict <> 'mask' AND a.category NOT LIKE 'warning.%') WHERE n > 0 ORDER BY id LIMIT ?3") \
    X(ALERT_GROUPS,                                                                                \
      "SELECT u.department, coalesce(a.conv_id, 0), c.title, coalesce(c.kind, 0), a.category, "    \
      "count(*) FROM alerts a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN conversations c "    \
      "ON c.id = a.conv_id WHERE a.created_at >= ?1 AND a.created_at < ?2 GROUP BY 1, 2, 5 "       \
      "ORDER BY 6 DESC LIMIT ?3")                                                                  \
    X(RECEIPT_DELIVERED, "UPDATE members SET delivered_id = ?3 WHERE conv_id = ?1 AND "            \
                         "user_id = ?2 AND delivered_id < ?3")                                     \
    X(RECEIPT_READ, "UPDATE members SET read_id = ?3, delivered_id = max(delivered_id, ?3) "       \
                    "WHERE conv_id = ?1 AND user_id = ?2 AND read_id < ?3")                        \
    X(ALERT_INSERT, "INSERT INTO alerts(created_at, user_id, conv_id, message_id, category, "      \
                    "verdict, rule, findings, justification, kind, reporter_id, note, evidence) "  \
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)")                                           \
    X(ALERT_GET, "SELECT " SQ_ALERT_COLS " FROM alerts WHERE id = ?")                              \
    X(ALERT_LIST, "SELECT " SQ_ALERT_COLS " FROM alerts WHERE id < ?1 AND "                        \
                  "(?2 = 0 OR created_at >= ?2) AND (?3 = 0 OR created_at < ?3) AND "              \
                  "(?4 IS NULL OR category = ?4) AND (?5 = 0 OR user_id = ?5) AND "                \
                  "(?6 = 0 OR conv_id = ?6) AND (?7 < 0 OR status = ?7) AND "                      \
                  "(?9 IS NULL OR coalesce(kind, 'guard') = ?9) AND "                              \
                  "(?10 = 0 OR reporter_id = ?10) ORDER BY id DESC LIMIT ?8")                      \
    X(ALERT_STATUS, "SELECT status FROM alerts WHERE id = ?")                                      \
    X(ALERT_ACK, "UPDATE alerts SET status = 1, acked_by = ?2, acked_at = ?3, ack_comment = ?4 "   \
                 "WHERE id = ?1 AND status = 0")                                                   \
    X(ALERT_RESOLVE, "UPDATE alerts SET status = 2, resolved_by = ?2, resolved_at = ?3, "          \
                     "resolve_comment = ?4 WHERE id = ?1 AND status < 2")                          \
    X(ACCT_CHANGES, "SELECT seq, user_id, session_id FROM account_changes WHERE seq > ?1 "         \
                    "ORDER BY seq LIMIT ?2")                                                       \
    X(ACCT_CHANGES_HEAD, "SELECT coalesce(max(seq), 0) FROM account_changes")                      \
    X(ACCT_CHANGES_PRUNE, "DELETE FROM account_changes WHERE at < ?1")

enum {
#define SQ_ENUM(name, sql) SQ_##name,
    SQ_STATEMENTS(SQ_ENUM)
#undef SQ_ENUM
        SQ_N
};

/* Backstops for when the checkpointer thread cannot keep up: the writer's
 * commit checkpoints by itself once the thread is SQ_WAL_BACKSTOP pages
 * behind (store_sqlite_ckpt.c, on_commit), and any handle's commit once
 * the log is SQ_WAL_LIMIT pages long (400 MB of 4 KiB pages), whoever is
 * behind. A long log the thread has copied costs disk space, and a commit
 * that lengthens the file syncs its size too, but no pause: a reader looks
 * up frames after the copied ones only. */
#define SQ_WAL_BACKSTOP 20000
#define SQ_WAL_LIMIT    100000

typedef struct sq_ckpt sq_ckpt;
typedef struct sq_turn sq_turn;

/* The handle: `store` first, so a store * is an sq *. */
typedef struct sq {
    store base;
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_N];
    bool in_tx;  /* inside store_tx_begin */
    int busy_ms; /* the busy timeout */
    int depth;   /* open transaction levels: 0 none, 1 BEGIN, more = savepoints */
    bool read_only;
    bool oom;      /* a column copy failed while reading rows */
    sq_ckpt *ckpt; /* STORE_MAINT_BACKGROUND: the checkpointer (store_sqlite_ckpt.c) */
    sq_turn *turn; /* this process's queue for the write lock (store_sqlite_turn.c) */
    bool turn_held;
    /* The last outermost write transaction's timing (store_last_tx_timing):
     * tx_mark is when its current phase began (base_now_ns). */
    store_tx_timing tx;
    uint64_t tx_mark;
    /* Housekeeping steps are told here (store_options.on_maint). */
    void (*on_maint)(void *arg, const store_maint_event *ev);
    void *maint_arg;
    char err[256];
} sq;

/* store_sqlite_ckpt.c: starts the checkpointer of handle q (its own thread
 * and connection to path, told of q's commits by a WAL hook) / stops it. */
int sq_ckpt_start(sq *q, const char *path);
void sq_ckpt_stop(sq *q);
/* The time the writer's own housekeeping took inside its last COMMIT (the
 * "finish" or the backstop, from the WAL hook), then reset; 0 without a
 * checkpointer. Writer's thread. */
uint64_t sq_ckpt_take_inline_ns(sq *q);
/* store_maintain: the writer's finishing checkpoint, at an idle moment of
 * its thread (store_sqlite_ckpt.c). STORE_OK without a checkpointer. */
int sq_ckpt_maintain(store *s);

/* store_sqlite_turn.c: the turn of the database file at path, shared by
 * this process's handles on it (NULL: none, e.g. it cannot be stat()ed) /
 * released at close. sq_turn_take waits in arrival order, at most the busy
 * timeout (then STORE_BUSY); both are no-ops without a turn, and take is
 * one while q already holds it. */
sq_turn *sq_turn_get(const char *path);
void sq_turn_put(sq_turn *t);
int sq_turn_take(sq *q);
void sq_turn_give(sq *q);

/* Maps an SQLite result code to a store_rc, recording the message. */
int sq_rc(sq *q, int sqlite_rc);

/* The prepared statement id (prepared on first use), reset and unbound;
 * NULL with q->err set when preparing failed (sq_prep_rc tells which rc). */
sqlite3_stmt *sq_stmt(sq *q, int id);
int sq_prep_rc(sq *q);

/* Runs a statement to completion (no rows expected); resets it. */
int sq_exec(sq *q, sqlite3_stmt *st);
/* Runs statement id_stmt with its first nargs (1..3) parameters bound to
 * a, b, c as integers (store_sqlite_chat.c). */
int sq_run_ids(sq *q, int id_stmt, int64_t a, int64_t b, int64_t c, int nargs);

/* Write bracket for an operation of several statements: BEGIN IMMEDIATE,
 * or a savepoint inside store_tx. sq_end commits / releases when rc is
 * STORE_OK and rolls back otherwise; returns the final rc. */
int sq_begin(sq *q);
int sq_end(sq *q, int rc);

/* Read bracket: one snapshot for several SELECTs (a no-op inside a tx). */
int sq_begin_read(sq *q);
void sq_end_read(sq *q);

/* Binding and reading helpers. */
void sq_bind_id(sqlite3_stmt *st, int i, int64_t id);      /* 0 binds NULL (foreign keys) */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */
char *sq_col_text(sq *q, sqlite3_stmt *st, int i);         /* heap copy; NULL when NULL */
int64_t sq_col_id(sqlite3_stmt *st, int i);                /* NULL reads as 0 */

/* Steps a statement expected to yield one row: STORE_OK on the row (read
 * it, then sq_done), STORE_NOTFOUND when none. */
int sq_step_row(sq *q, sqlite3_stmt *st);
/* Resets and unbinds a statement (NULL allowed). */
void sq_done(sqlite3_stmt *st);
/* Appends one zeroed slot of `size` bytes to a growing array; NULL when out
 * of memory (the array stays valid). */
void *sq_grow(void **items, size_t *n, size_t *cap, size_t size);

void sq_read_user(sq *q, sqlite3_stmt *st, int col, store_user *u);

/* Reads the row st is on into `item` (a zeroed slot of the caller's type).
 * Returns STORE_OK or an error; a failed column copy may instead just set
 * q->oom, which the callers below turn into STORE_NOMEM. */
typedef int sq_row_fn(sq *q, sqlite3_stmt *st, void *item);

/* Steps a statement (parameters bound) expected to yield at most one row
 * and reads it with `read`: STORE_OK, STORE_NOTFOUND when there is none,
 * STORE_NOMEM, or the mapped SQLite error. Resets the statement. On error
 * `item` may hold a partly read row: the caller clears it. */
int sq_one(sq *q, sqlite3_stmt *st, sq_row_fn *read, void *item);

/* Steps a statement (parameters bound) to the end, appending each row to
 * the growing array *items / *n (slots of `size` bytes, *n 0 on entry)
 * read with `read`. Returns STORE_OK, STORE_NOMEM, the reader's error or
 * the mapped SQLite error; stops at the first error. Resets the statement.
 * On error the array may hold partly read rows: the caller frees the list. */
int sq_list(sq *q, sqlite3_stmt *st, void **items, size_t *n, size_t size, sq_row_fn *read);

/* store_migrate.c: brings the schema to STORE_SCHEMA_VERSION (read-only
 * handles only check it). */
int sq_migrate(sq *q);

/* store_sqlite_work.c: reminders and burn-after-reading (schema version 7). */
int sq_reminder_create(store *s, const store_reminder_new *r, int64_t *id_out);
int sq_reminder_get(store *s, int64_t id, store_reminder *out);
int sq_reminder_list(store *s, int64_t conv_id, store_reminders *out);
int sq_reminder_update(store *s, int64_t id, const store_reminder_new *r);
int sq_reminder_delete(store *s, int64_t id);
int sq_reminder_due(store *s, int64_t now, int limit, store_reminders *out);
/* Inside the message's write bracket: moves the reminder it delivers on. */
int sq_reminder_delivered(sq *q, int64_t id, int64_t next_at, int64_t now);
int sq_burn_open(store *s, int64_t msg_id, int64_t user_id, int64_t now, int64_t destroy_after,
                 bool *first);
int sq_burn_due(store *s, int64_t now, int64_t *ids, size_t cap, size_t *n_out);
int sq_burn_destroy(store *s, int64_t msg_id);

/* store_sqlite_chat.c: the conversation/message/receipt/alert methods. */
int sq_conv_create(store *s, store_conv_kind kind, const char *title, int64_t creator,
                   const int64_t *member_ids, size_t n_members, int64_t now, int64_t *id_out,
                   bool *created);
int sq_conv_get(store *s, int64_t id, store_conv *out);
int sq_conv_list_for_user(store *s, int64_t user_id, store_conv_summaries *out);
int sq_conv_rename(store *s, int64_t id, const char *title, int64_t now);
int sq_member_add(store *s, int64_t conv_id, int64_t user_id, store_member_role role, int64_t now);
int sq_member_remove(store *s, int64_t conv_id, int64_t user_id, int64_t now);
int sq_member_set_role(store *s, int64_t conv_id, int64_t user_id, store_member_role role);
int sq_member_check(store *s, int64_t conv_id, int64_t user_id, store_member_role *out);
int sq_member_list(store *s, int64_t conv_id, store_members *out);
int sq_member_get(store *s, int64_t conv_id, int64_t user_id, store_member *out);
int sq_conv_set_shared_history(store *s, int64_t id, bool shared, int64_t now);
int sq_message_append(store *s, const store_message_new *m, store_message *out, bool *duplicate);
int sq_message_append_batch(store *s, const store_message_new *m, size_t n, store_message *out,
                            int *rcs, bool *duplicate);
int sq_message_get(store *s, int64_t id, store_message *out);
int sq_message_history(store *s, int64_t conv_id, int64_t before_id, int limit,
                       store_messages *out);
int sq_message_since(store *s, int64_t conv_id, int64_t after_id, int limit, store_messages *out);
int sq_message_after(store *s, int64_t after_id, int limit, store_messages *out);
int sq_message_max_id(store *s, int64_t *out);
int sq_message_recalled_since(store *s, int64_t since, int64_t max_id, int limit,
                              store_messages *out);
int sq_message_recall(store *s, int64_t id, int64_t now);
int sq_message_forward_chain(store *s, int64_t id, store_messages *out);
/* Reads a message row (SQ_MSG_COLS) into a store_message. */
int sq_row_message(sq *q, sqlite3_stmt *st, void *item);
/* Runs ALERT_REDACT and ALERT_REDACT_HELD for message id (what a recall
 * does to its alerts). */
int sq_alerts_redact(sq *q, int64_t id);

/* store_sqlite_trace.c: trace and contain (schema version 6). */
int sq_message_spread(store *s, const store_spread_query *q, store_messages *out);
int sq_message_export(store *s, const store_export_query *q, store_messages *out);
int sq_audit_covering(store *s, const store_export_query *q, store_audit_entries *out);
int sq_personal_findings(store *s, int64_t user_id, int64_t since, store_personal_rows *out);
int sq_alert_groups(store *s, int64_t from, int64_t to, store_alert_group_rows *out);
/* Binds a valid export query to ?1..?5 of st; STORE_INVAL when invalid. */
int sq_export_bind(sqlite3_stmt *st, const store_export_query *q);
int sq_message_contain(store *s, int64_t id, store_contain_action action, int64_t actor,
                       int64_t now, bool *changed);
int sq_erase_flush(store *s);
int sq_quarantine_text(store *s, int64_t id, char **text, size_t *len);
int sq_spread_members(store *s, int64_t root_id, store_spread_member_rows *out);
int sq_spread_conversations(store *s, int64_t root_id, int64_t since, int64_t *out);
int sq_alert_count(store *s, const store_alert_count_query *q, int64_t *out);
int sq_alert_stats(store *s, int64_t from, int64_t to, int64_t tz_offset_ms,
                   store_alert_stat_rows *out);
int sq_receipt_set(store *s, int64_t conv_id, int64_t user_id, bool read, int64_t message_id,
                   bool *advanced);
int sq_alert_create(store *s, const store_alert_new *a, int64_t *id_out);
int sq_alert_get(store *s, int64_t id, store_alert *out);
int sq_alert_list(store *s, const store_alert_filter *f, store_alerts *out);
int sq_alert_ack(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);
int sq_alert_resolve(store *s, int64_t id, int64_t actor, const char *comment, int64_t now);

/* store_sqlite_files.c: uploads, files, attachments (store_files.h). */
extern const struct store_files_methods sq_files_methods;
/* store_sqlite_deliver.c: burn images and watermark deliveries (store_work.h) */
extern const struct store_work_methods sq_work_methods;

#endif
